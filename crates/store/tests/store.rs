#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The store's contract: journal round trip across reopen, snapshots, time ranges, pruning, pragmas,
//! migrations, concurrency and the error cases.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use jiff::Timestamp;
use store::{JournalLine, KEEP_SNAPSHOTS, Kind, SCHEMA_VERSION, Store, StoreError};

/// A fresh directory per test, removed when the guard drops (unless a test failed and wants to look).
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("store-it-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_772_000_000 + second).unwrap()
}

fn input(second: i64, n: i64) -> JournalLine {
    let t = at(second);
    JournalLine::new(
        t,
        Kind::Input,
        Some(7),
        format!(r#"{{"t":"{t}","kind":"clock","n":{n}}}"#),
    )
}

fn texts(lines: &[(i64, JournalLine)]) -> Vec<String> {
    lines.iter().map(|(_, l)| l.line.clone()).collect()
}

#[test]
fn journal_survives_reopen_and_recovers_after_the_latest_snapshot() {
    let dir = TempDir::new("roundtrip");
    let first: Vec<JournalLine> = (0..5).map(|i| input(i, i)).collect();
    {
        let store = Store::open(dir.path()).unwrap();
        let empty = store.recover().unwrap();
        assert_eq!(empty.snapshot, None);
        assert_eq!(empty.snapshot_seq, 0);
        assert!(empty.lines_after.is_empty());
        assert_eq!(store.append(first[..2].to_vec()).unwrap(), 2);
        assert_eq!(store.append(first[2..].to_vec()).unwrap(), 5);
        // An empty append answers the last seq without writing.
        assert_eq!(store.append(Vec::new()).unwrap(), 5);
    }
    let store = Store::open(dir.path()).unwrap();
    let rec = store.recover().unwrap();
    assert_eq!(rec.snapshot, None);
    assert_eq!(
        rec.lines_after.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(
        rec.lines_after
            .iter()
            .map(|(_, l)| l.clone())
            .collect::<Vec<_>>(),
        first
    );

    // A decision line keeps its exact text, kind and account.
    let mixed = vec![
        JournalLine::new(
            at(6),
            Kind::Decision,
            Some(7),
            r#"{"t":"x","account":7,"rule":"admin"}"#,
        ),
        JournalLine::new(
            at(6),
            Kind::Outcome,
            None,
            r#"{"kind":"outcome","ok":true}"#,
        ),
        JournalLine::new(at(7), Kind::Admin, Some(9), r#"{"kind":"admin","data":{}}"#),
    ];
    store.save_snapshot(3, b"snap-3".to_vec()).unwrap();
    assert_eq!(store.append(mixed.clone()).unwrap(), 8);
    drop(store);

    let store = Store::open(dir.path()).unwrap();
    let rec = store.recover().unwrap();
    assert_eq!(rec.snapshot.as_deref(), Some(&b"snap-3"[..]));
    assert_eq!(rec.snapshot_seq, 3);
    assert_eq!(
        rec.lines_after.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![4, 5, 6, 7, 8]
    );
    assert_eq!(rec.lines_after[2].1, mixed[0]);
    assert_eq!(rec.lines_after[3].1, mixed[1]);
    assert_eq!(rec.lines_after[4].1, mixed[2]);
}

#[test]
fn only_the_latest_snapshots_are_kept() {
    let dir = TempDir::new("snapshots");
    let store = Store::open(dir.path()).unwrap();
    store
        .append((0..10).map(|i| input(i, i)).collect())
        .unwrap();
    for seq in 1..=6 {
        store
            .save_snapshot(seq, format!("snap-{seq}").into_bytes())
            .unwrap();
    }
    // An older snapshot saved late does not become "the latest".
    store.save_snapshot(2, b"late".to_vec()).unwrap();
    let rec = store.recover().unwrap();
    assert_eq!(rec.snapshot_seq, 6);
    assert_eq!(rec.snapshot.as_deref(), Some(&b"snap-6"[..]));
    assert_eq!(rec.lines_after.first().map(|(s, _)| *s), Some(7));
    drop(store);

    let conn = rusqlite::Connection::open(dir.path().join(store::DB_FILE)).unwrap();
    let kept: Vec<i64> = conn
        .prepare("SELECT seq FROM snapshots ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(kept.len() as i64, KEEP_SNAPSHOTS);
    assert_eq!(kept, vec![4, 5, 6]);
}

#[test]
fn a_snapshot_cannot_claim_lines_not_yet_journaled() {
    let dir = TempDir::new("snapshot-ahead");
    let store = Store::open(dir.path()).unwrap();
    store.append(vec![input(0, 0)]).unwrap();
    let err = store.save_snapshot(2, b"x".to_vec()).unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "invalid store request: a snapshot up to seq 2, but the journal's last seq is 1"
    );
    assert!(matches!(
        store.save_snapshot(-1, b"x".to_vec()),
        Err(StoreError::Invalid(_))
    ));
    // A snapshot of the empty journal is fine.
    let empty = TempDir::new("snapshot-empty");
    let s2 = Store::open(empty.path()).unwrap();
    s2.save_snapshot(0, b"initial".to_vec()).unwrap();
    assert_eq!(
        s2.recover().unwrap().snapshot.as_deref(),
        Some(&b"initial"[..])
    );
}

#[test]
fn lines_between_picks_a_half_open_time_range_in_seq_order() {
    let dir = TempDir::new("between");
    let store = Store::open(dir.path()).unwrap();
    // Times not monotonic in seq (an outcome journaled late with an earlier t) must still come in seq order.
    let lines = vec![
        input(0, 0),
        input(10, 1),
        input(20, 2),
        input(15, 3),
        input(30, 4),
    ];
    store.append(lines.clone()).unwrap();
    let got = store.lines_between(at(10), at(30)).unwrap();
    assert_eq!(
        got,
        vec![lines[1].clone(), lines[2].clone(), lines[3].clone()]
    );
    assert_eq!(
        store.lines_between(at(30), at(31)).unwrap(),
        vec![lines[4].clone()]
    );
    assert!(store.lines_between(at(31), at(99)).unwrap().is_empty());
    assert!(store.lines_between(at(20), at(10)).unwrap().is_empty());

    // Sub-millisecond bounds are exact, not rounded to the millisecond index.
    let t = Timestamp::from_nanosecond(1_772_000_100_000_000_500).unwrap();
    let fine = JournalLine::new(t, Kind::Input, None, "{}");
    store.append(vec![fine.clone()]).unwrap();
    let just_after = Timestamp::from_nanosecond(1_772_000_100_000_000_501).unwrap();
    let just_before = Timestamp::from_nanosecond(1_772_000_100_000_000_499).unwrap();
    assert!(store.lines_between(just_after, at(200)).unwrap().is_empty());
    assert_eq!(
        store.lines_between(just_before, just_after).unwrap(),
        vec![fine.clone()]
    );
    assert!(store.lines_between(just_before, t).unwrap().is_empty());
}

#[test]
fn prune_keeps_every_line_after_the_latest_snapshot() {
    let dir = TempDir::new("prune");
    let store = Store::open(dir.path()).unwrap();
    let lines: Vec<JournalLine> = (0..10).map(|i| input(i * 10, i)).collect();
    store.append(lines.clone()).unwrap();

    // No snapshot: nothing may go, however old.
    assert_eq!(store.prune_before(at(1000)).unwrap(), 0);

    store.save_snapshot(4, b"s4".to_vec()).unwrap();
    // Older than t=25s: seqs 1..3 (t 0, 10, 20), all covered by the snapshot.
    assert_eq!(store.prune_before(at(25)).unwrap(), 3);
    // Everything is older than t=1000s, but only seq 4 is left that the snapshot covers.
    assert_eq!(store.prune_before(at(1000)).unwrap(), 1);
    let rec = store.recover().unwrap();
    assert_eq!(rec.snapshot_seq, 4);
    assert_eq!(
        texts(&rec.lines_after),
        lines[4..]
            .iter()
            .map(|l| l.line.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        store.lines_between(at(0), at(1000)).unwrap(),
        lines[4..].to_vec()
    );

    // Seqs are never reused, even when the journal was pruned to its tail.
    store.save_snapshot(10, b"s10".to_vec()).unwrap();
    assert_eq!(store.prune_before(at(1000)).unwrap(), 6);
    assert_eq!(store.append(vec![input(2000, 99)]).unwrap(), 11);
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.append(vec![input(2001, 100)]).unwrap(), 12);
    let rec = store.recover().unwrap();
    assert_eq!(
        rec.lines_after.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![11, 12]
    );
}

#[test]
fn meta_round_trips() {
    let dir = TempDir::new("meta");
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.meta("trading_day").unwrap(), None);
    store.set_meta("trading_day", "2026-03-02").unwrap();
    store.set_meta("trading_day", "2026-03-03").unwrap();
    store.set_meta("other", "").unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.meta("trading_day").unwrap().as_deref(),
        Some("2026-03-03")
    );
    assert_eq!(store.meta("other").unwrap().as_deref(), Some(""));
}

#[test]
fn wal_and_synchronous_normal_are_really_set() {
    let dir = TempDir::new("pragmas");
    let store = Store::open(dir.path()).unwrap();
    let s = store.settings().unwrap();
    assert_eq!(s.journal_mode, "wal");
    assert_eq!(s.synchronous, "normal");
    assert_eq!(s.busy_timeout_ms, 5000);
    assert_eq!(s.schema_version, SCHEMA_VERSION);
    assert!(!s.read_only);
    // WAL is a property of the file: another connection sees it too.
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_fresh_database_gets_the_latest_schema_and_a_newer_one_is_refused() {
    let dir = TempDir::new("migrations");
    drop(Store::open(dir.path()).unwrap());
    let path = dir.path().join(store::DB_FILE);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    const { assert!(SCHEMA_VERSION >= 1) };
    // Reopening an up-to-date database changes nothing.
    drop(Store::open(dir.path()).unwrap());
    let v: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);

    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 6)
        .unwrap();
    drop(conn);
    let err = Store::open(dir.path()).unwrap_err();
    assert_eq!(
        err,
        StoreError::TooNew {
            found: SCHEMA_VERSION + 6,
            known: SCHEMA_VERSION
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "database was written by a newer riskguard (schema {} > {SCHEMA_VERSION})",
            SCHEMA_VERSION + 6
        )
    );
    assert!(matches!(
        Store::open_read_only(dir.path()),
        Err(StoreError::TooNew { .. })
    ));
}

#[test]
fn another_programs_database_is_refused() {
    let dir = TempDir::new("foreign");
    let conn = rusqlite::Connection::open(dir.path().join(store::DB_FILE)).unwrap();
    conn.execute_batch("PRAGMA application_id = 1234; CREATE TABLE x (y);")
        .unwrap();
    drop(conn);
    let err = Store::open(dir.path()).unwrap_err();
    assert!(
        matches!(err, StoreError::Foreign { found: 1234, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .ends_with("is not a riskguard database (application_id 0x4d2)"),
        "{err}"
    );

    let junk = TempDir::new("junk");
    std::fs::write(junk.path().join(store::DB_FILE), vec![b'z'; 8192]).unwrap();
    let err = Store::open(junk.path()).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("not an SQLite database"), "{err}");
}

#[test]
fn eight_threads_appending_get_every_line_once_with_increasing_seqs() {
    const THREADS: i64 = 8;
    const PER_THREAD: i64 = 250;
    let dir = TempDir::new("concurrent");
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let handles: Vec<_> = (0..THREADS)
        .map(|th| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let mut seqs = Vec::new();
                for i in 0..PER_THREAD {
                    let t = at(i);
                    let l = JournalLine::new(
                        t,
                        Kind::Input,
                        Some(th),
                        format!(r#"{{"thread":{th},"i":{i}}}"#),
                    );
                    seqs.push(store.append(vec![l]).unwrap());
                }
                seqs
            })
        })
        .collect();
    let per_thread: Vec<Vec<i64>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for seqs in &per_thread {
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "a thread's seqs must increase: {seqs:?}"
        );
    }
    let all: HashSet<i64> = per_thread.iter().flatten().copied().collect();
    assert_eq!(all.len() as i64, THREADS * PER_THREAD);

    let rec = store.recover().unwrap();
    assert_eq!(rec.lines_after.len() as i64, THREADS * PER_THREAD);
    assert!(rec.lines_after.windows(2).all(|w| w[0].0 < w[1].0));
    let got: HashSet<&str> = rec
        .lines_after
        .iter()
        .map(|(_, l)| l.line.as_str())
        .collect();
    assert_eq!(
        got.len() as i64,
        THREADS * PER_THREAD,
        "every line exactly once"
    );
    // Each line sits at the seq its append returned.
    for (seq, l) in &rec.lines_after {
        let v: serde_json::Value = serde_json::from_str(&l.line).unwrap();
        let (th, i) = (v["thread"].as_i64().unwrap(), v["i"].as_i64().unwrap());
        assert_eq!(per_thread[th as usize][i as usize], *seq);
        assert_eq!(l.account, Some(th));
    }
    let stats = store.stats();
    assert_eq!(stats.lines as i64, THREADS * PER_THREAD);
    assert!(stats.commits as i64 <= THREADS * PER_THREAD);
    let lat = store.append_latency();
    assert_eq!(
        lat.samples,
        store::LATENCY_WINDOW.min((THREADS * PER_THREAD) as usize)
    );
    assert!(lat.p50 <= lat.p99 && lat.p99 <= lat.max);
    store.flush().unwrap();
}

// ---- errors -------------------------------------------------------------------------------------------------

#[test]
fn a_regular_file_where_the_data_dir_should_be_is_a_clear_error() {
    let dir = TempDir::new("file-as-dir");
    let file = dir.path().join("data");
    std::fs::write(&file, b"not a dir").unwrap();
    let err = Store::open(&file).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot open the data dir {}: it is not a directory",
            file.display()
        )
    );

    // A data dir below a regular file cannot be created.
    let below = file.join("riskguard");
    let err = Store::open(&below).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot open the data dir {}: not a directory",
            below.display()
        )
    );

    // A directory where the database file should be.
    let dir2 = TempDir::new("dir-as-db");
    std::fs::create_dir(dir2.path().join(store::DB_FILE)).unwrap();
    let err = Store::open(dir2.path()).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("cannot open the database "),
        "{err}"
    );
}

#[test]
fn a_read_only_handle_refuses_writes_with_a_clear_error() {
    let dir = TempDir::new("read-only-handle");
    let store = Store::open(dir.path()).unwrap();
    store.append(vec![input(0, 0)]).unwrap();
    // While the writer is open (as `export-journal` would read during trading).
    let ro = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(ro.lines_between(at(0), at(1)).unwrap(), vec![input(0, 0)]);
    let err = ro.append(vec![input(1, 1)]).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::ReadOnly {
                doing: "writing the journal",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("the database is read-only while writing the journal"),
        "{err}"
    );
    assert!(err.is_write_failure());
    assert!(ro.settings().unwrap().read_only);
    drop(ro);
    // The writable store is unaffected.
    assert_eq!(store.append(vec![input(2, 2)]).unwrap(), 2);

    let missing = TempDir::new("read-only-missing");
    let err = Store::open_read_only(missing.path()).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("riskguard.db: no such database file"),
        "{err}"
    );
}

/// `chattr +i` makes a file or directory immutable even for root (tests run as root, so permission bits would
/// not stop them). Returns false when the file system or the container does not allow it; the test then checks
/// nothing more and says so.
fn immutable(path: &Path, on: bool) -> bool {
    let flag = if on { "+i" } else { "-i" };
    matches!(Command::new("chattr").arg(flag).arg(path).output(), Ok(o) if o.status.success())
}

struct Immutable(PathBuf);

impl Drop for Immutable {
    fn drop(&mut self) {
        immutable(&self.0, false);
    }
}

#[test]
fn an_unwritable_data_dir_or_database_file_is_a_clear_error() {
    // A run killed half-way leaves its files immutable; unlock them before the cleanup in `TempDir::new`.
    let old = std::env::temp_dir().join(format!("store-it-immutable-{}/data", std::process::id()));
    immutable(&old.join(store::DB_FILE), false);
    immutable(&old, false);
    let dir = TempDir::new("immutable");
    // A data dir in which no file can be created.
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    if !immutable(&data, true) {
        eprintln!("chattr +i is not available here: the immutable-dir case is not checked");
        return;
    }
    let guard = Immutable(data.clone());
    let err = Store::open(&data).unwrap_err();
    drop(guard);
    let db = data.join(store::DB_FILE);
    assert_eq!(
        err.to_string(),
        format!(
            "cannot open the database {}: operation not permitted",
            db.display()
        )
    );

    // An existing database file that cannot be written: SQLite would quietly open it read-only.
    drop(Store::open(&data).unwrap());
    assert!(immutable(&db, true));
    let guard = Immutable(db.clone());
    let err = Store::open(&data).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot open the database {}: the file is read-only",
            db.display()
        )
    );
    drop(guard);
    assert!(Store::open(&data).is_ok());
}

#[test]
fn a_dropped_store_has_committed_everything_queued() {
    let dir = TempDir::new("drop");
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let s2 = Arc::clone(&store);
    let h = std::thread::spawn(move || s2.append((0..100).map(|i| input(i, i)).collect()).unwrap());
    assert_eq!(h.join().unwrap(), 100);
    drop(store);
    // The last handle closed the database cleanly: the WAL was checkpointed away.
    assert!(!dir.path().join("riskguard.db-wal").exists());
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.recover().unwrap().lines_after.len(), 100);
}

#[test]
fn the_handle_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
    assert_send_sync::<StoreError>();
}

#[test]
fn a_queued_snapshot_covers_exactly_the_lines_queued_before_it() {
    let dir = TempDir::new("queued-snapshot");
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.append(vec![input(0, 0), input(1, 1)]).unwrap(), 2);
    // Quotes queued without a seq, then the snapshot of an engine that has seen them.
    for i in 2..5 {
        store.append_queued(vec![input(i, i)]).unwrap();
    }
    store.queue_snapshot(b"after-4".to_vec()).unwrap();
    store.append_queued(vec![input(5, 5)]).unwrap();
    store.flush().unwrap();
    let rec = store.recover().unwrap();
    assert_eq!(rec.snapshot.as_deref(), Some(&b"after-4"[..]));
    // Seq 5 is the last line queued before the snapshot: only the line queued after it is re-fed.
    assert_eq!(rec.snapshot_seq, 5);
    assert_eq!(texts(&rec.lines_after), texts(&[(6, input(5, 5))]));
}

#[test]
fn a_queued_snapshot_is_committed_by_the_next_waited_append() {
    let dir = TempDir::new("queued-snapshot-waited");
    let store = Store::open(dir.path()).unwrap();
    store.append_queued(vec![input(0, 0)]).unwrap();
    store.queue_snapshot(b"after-1".to_vec()).unwrap();
    assert_eq!(store.append(vec![input(1, 1)]).unwrap(), 2);
    // Read back through another handle: the waited append returned, so everything before it is on disk.
    let other = Store::open_read_only(dir.path()).unwrap();
    let rec = other.recover().unwrap();
    assert_eq!(rec.snapshot.as_deref(), Some(&b"after-1"[..]));
    assert_eq!(rec.snapshot_seq, 1);
    assert_eq!(rec.lines_after.len(), 1);
}
