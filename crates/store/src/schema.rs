//! Versioned migrations, tracked by `PRAGMA user_version`, and the connection setup.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use crate::error::{StoreError, from_sqlite, open_error};

/// `PRAGMA application_id`: "RGRD". A database with another non-zero id belongs to some other program.
pub(crate) const APPLICATION_ID: i64 = 0x5247_5244;

/// How long a statement waits for another process's lock before failing with `SQLITE_BUSY`.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The migrations, in order: the database's `user_version` is the number of them applied. Append, never edit.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the journal (REPLAY.md lines), engine snapshots, and a key/value table.
    "CREATE TABLE journal (
         seq     INTEGER PRIMARY KEY AUTOINCREMENT,
         t       TEXT    NOT NULL,
         t_ms    INTEGER NOT NULL,
         kind    TEXT    NOT NULL,
         account INTEGER NULL,
         line    TEXT    NOT NULL
     );
     CREATE INDEX journal_t_ms ON journal (t_ms);
     CREATE TABLE snapshots (
         seq  INTEGER PRIMARY KEY,
         t_ms INTEGER NOT NULL,
         data BLOB    NOT NULL
     );
     CREATE TABLE meta (
         key   TEXT PRIMARY KEY,
         value TEXT NOT NULL
     ) WITHOUT ROWID;",
];

/// The schema version this binary writes (`PRAGMA user_version` of a migrated database).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

fn user_version(conn: &Connection) -> Result<i64, rusqlite::Error> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Check the file is ours and not from the future; for a writable handle, set WAL + synchronous=NORMAL and
/// apply the missing migrations.
pub(crate) fn prepare(conn: &Connection, path: &Path, writable: bool) -> Result<(), StoreError> {
    prepare_with(conn, path, writable, MIGRATIONS)
}

pub(crate) fn prepare_with(
    conn: &Connection,
    path: &Path,
    writable: bool,
    migrations: &[&str],
) -> Result<(), StoreError> {
    let known = migrations.len() as i64;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| open_error(&e, path))?;
    // The first read of the file: a non-database file fails here.
    let found = user_version(conn).map_err(|e| open_error(&e, path))?;
    let app_id: i64 = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(|e| open_error(&e, path))?;
    if app_id != 0 && app_id != APPLICATION_ID {
        return Err(StoreError::Foreign {
            path: path.display().to_string(),
            found: app_id,
        });
    }
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    if !writable {
        if found < known {
            return Err(StoreError::NeedsMigration { found, known });
        }
        return Ok(());
    }

    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(|e| from_sqlite(&e, "setting WAL mode"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Open {
            path: path.display().to_string(),
            reason: format!("the file system does not support WAL (journal_mode is {mode})"),
        });
    }
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(|e| from_sqlite(&e, "setting synchronous=NORMAL"))?;

    for (i, sql) in migrations.iter().enumerate().skip(found.max(0) as usize) {
        let version = i as i64 + 1;
        // One transaction per migration; user_version lives in the file header and commits with it.
        let script = format!(
            "BEGIN IMMEDIATE;\n{sql}\n;PRAGMA application_id = {APPLICATION_ID};\nPRAGMA user_version = {version};\nCOMMIT;"
        );
        if let Err(e) = conn.execute_batch(&script) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(from_sqlite(&e, "migrating the database"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn migrations_apply_in_order_and_resume() {
        let dir = std::env::temp_dir().join(format!("store-mig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.db");
        let _ = std::fs::remove_file(&path);
        let first = ["CREATE TABLE a (x INTEGER);"];
        let conn = Connection::open(&path).unwrap();
        prepare_with(&conn, &path, true, &first).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 1);
        drop(conn);
        // A later binary with one more migration applies only the new one.
        let second = [
            "CREATE TABLE a (x INTEGER);",
            "ALTER TABLE a ADD COLUMN y TEXT;",
        ];
        let conn = Connection::open(&path).unwrap();
        prepare_with(&conn, &path, true, &second).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 2);
        conn.execute("INSERT INTO a (x, y) VALUES (1, 'z')", [])
            .unwrap();
        drop(conn);
        // The older binary now refuses the file.
        let conn = Connection::open(&path).unwrap();
        let err = prepare_with(&conn, &path, true, &first).unwrap_err();
        assert_eq!(err, StoreError::TooNew { found: 2, known: 1 });
        drop(conn);
        // A failing migration leaves the version where it was.
        let bad = [
            "CREATE TABLE a (x INTEGER);",
            "ALTER TABLE a ADD COLUMN y TEXT;",
            "CREATE TABLE a (q);",
        ];
        let conn = Connection::open(&path).unwrap();
        let err = prepare_with(&conn, &path, true, &bad).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Sqlite {
                    doing: "migrating the database",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(user_version(&conn).unwrap(), 2);
        drop(conn);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
