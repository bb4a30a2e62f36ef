//! [`StoreError`] and the mapping of SQLite and I/O failures to messages an operator can act on.

use std::path::Path;

use rusqlite::ErrorCode;

/// What went wrong in the store. Every variant carries plain text (no foreign error types), so an error can be
/// cloned, kept for the status page and sent to every caller of a failed group commit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The data dir could not be created or used (a regular file in the way, a read-only file system, ...).
    #[error("cannot open the data dir {path}: {reason}")]
    DataDir { path: String, reason: String },
    /// SQLite could not open or set up the database file.
    #[error("cannot open the database {path}: {reason}")]
    Open { path: String, reason: String },
    /// `SQLITE_FULL`: the disk (or the database's size limit) is full.
    #[error("the disk is full while {doing}")]
    DiskFull { doing: &'static str },
    /// `SQLITE_READONLY` / `SQLITE_PERM`: the database or its directory cannot be written.
    #[error("the database is read-only while {doing}: {reason}")]
    ReadOnly { doing: &'static str, reason: String },
    /// `SQLITE_BUSY` / `SQLITE_LOCKED` after the busy timeout: another process holds the database.
    #[error("the database is locked by another process while {doing}")]
    Busy { doing: &'static str },
    /// `SQLITE_CORRUPT` / `SQLITE_NOTADB`, or a row this binary cannot read.
    #[error("the database is corrupt while {doing}: {reason}")]
    Corrupt { doing: &'static str, reason: String },
    /// The database's schema version is newer than this binary's migrations.
    #[error("database was written by a newer riskguard (schema {found} > {known})")]
    TooNew { found: i64, known: i64 },
    /// A read-only handle met a database that still needs migrations.
    #[error(
        "database has schema {found}, this riskguard needs {known}: start the daemon once to migrate it"
    )]
    NeedsMigration { found: i64, known: i64 },
    /// The file is an SQLite database of some other application.
    #[error("{path} is not a riskguard database (application_id {found:#x})")]
    Foreign { path: String, found: i64 },
    /// A disk I/O error or any other SQLite failure.
    #[error("database error while {doing}: {reason}")]
    Sqlite { doing: &'static str, reason: String },
    /// An argument the store refuses (a negative snapshot seq, ...).
    #[error("invalid store request: {0}")]
    Invalid(String),
    /// A request was dropped unanswered: whoever was carrying it out panicked.
    #[error("the store stopped while carrying out a request")]
    Closed,
}

impl StoreError {
    /// True for the failures that mean "the journal cannot be written right now" (CONFIG.md §6: enforcement goes
    /// on, the status says the journal is degraded).
    pub fn is_write_failure(&self) -> bool {
        matches!(
            self,
            StoreError::DiskFull { .. }
                | StoreError::ReadOnly { .. }
                | StoreError::Busy { .. }
                | StoreError::Sqlite { .. }
                | StoreError::Closed
        )
    }
}

/// Map an SQLite failure to a [`StoreError`]; `doing` finishes "... while {doing}".
pub(crate) fn from_sqlite(err: &rusqlite::Error, doing: &'static str) -> StoreError {
    let reason = err.to_string();
    match err.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => StoreError::DiskFull { doing },
        Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied) => {
            StoreError::ReadOnly { doing, reason }
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy { doing },
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
            StoreError::Corrupt { doing, reason }
        }
        _ => StoreError::Sqlite { doing, reason },
    }
}

/// Map a failure met while opening the database file; `SQLITE_CANTOPEN` and friends become [`StoreError::Open`].
pub(crate) fn open_error(err: &rusqlite::Error, path: &Path) -> StoreError {
    match err.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => StoreError::DiskFull {
            doing: "opening the database",
        },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy {
            doing: "opening the database",
        },
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Open {
            path: path.display().to_string(),
            reason: "the file is not an SQLite database or is corrupt".to_owned(),
        },
        _ => StoreError::Open {
            path: path.display().to_string(),
            reason: lower_first(&err.to_string()),
        },
    }
}

/// "Read-only file system (os error 30)" → "read-only file system".
pub(crate) fn io_reason(err: &std::io::Error) -> String {
    let text = err.to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => &text[..i],
        _ => text.as_str(),
    };
    lower_first(text)
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use rusqlite::ffi;

    fn sqlite(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(code), None)
    }

    #[test]
    fn sqlite_full_is_disk_full() {
        let e = from_sqlite(&sqlite(ffi::SQLITE_FULL), "writing the journal");
        assert_eq!(
            e,
            StoreError::DiskFull {
                doing: "writing the journal"
            }
        );
        assert_eq!(e.to_string(), "the disk is full while writing the journal");
        assert!(e.is_write_failure());
        // Extended codes keep their primary class.
        let e = from_sqlite(&sqlite(ffi::SQLITE_READONLY_DBMOVED), "writing the journal");
        assert!(matches!(e, StoreError::ReadOnly { .. }), "{e:?}");
        let e = from_sqlite(&sqlite(ffi::SQLITE_BUSY), "writing the journal");
        assert_eq!(
            e.to_string(),
            "the database is locked by another process while writing the journal"
        );
        let e = from_sqlite(&sqlite(ffi::SQLITE_IOERR_WRITE), "writing the journal");
        assert!(matches!(e, StoreError::Sqlite { .. }), "{e:?}");
    }

    #[test]
    fn io_reasons_read_naturally() {
        let e = std::io::Error::from_raw_os_error(30);
        assert_eq!(io_reason(&e), "read-only file system");
        let e = std::io::Error::other("Custom thing");
        assert_eq!(io_reason(&e), "custom thing");
    }

    #[test]
    fn too_new_message() {
        let e = StoreError::TooNew { found: 7, known: 3 };
        assert_eq!(
            e.to_string(),
            "database was written by a newer riskguard (schema 7 > 3)"
        );
    }
}
