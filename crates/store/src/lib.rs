//! The daemon's SQLite store (DESIGN.md principle 4, "journal first"; CONFIG.md §6 "Journal").
//!
//! * A **journal** of every input, decision and outcome line, in the REPLAY.md JSONL format, appended before the
//!   line has effects. Each line gets a `seq` that only grows (`AUTOINCREMENT`: never reused, even after pruning).
//! * **Engine snapshots** ([`Store::queue_snapshot`], or [`Store::save_snapshot`] at an explicit seq), the last
//!   [`KEEP_SNAPSHOTS`] kept. Restart = [`Store::recover`]: the latest snapshot and every journal line after it,
//!   to be re-fed to a restored engine.
//! * A small key/value **meta** table.
//!
//! [`Store`] is a `Send + Sync` handle to one `rusqlite::Connection`. Its calls block (call it from a blocking
//! context or `spawn_blocking`): a caller that waits carries out its own request, and everything queued before
//! it, on its own thread ([`combine`], flat combining); appends and snapshots nobody waits for are committed by
//! the next caller that waits or by a background thread. Appends carried out together share one transaction
//! (group commit). The database is `riskguard.db` in the data dir, in WAL mode with `synchronous=NORMAL`: a
//! committed append survives a crash of the process (a power cut may lose the last moments). Schema changes are
//! versioned migrations tracked by `PRAGMA user_version`; a database from a newer riskguard is refused.

mod combine;
mod db;
mod error;
mod latency;
mod schema;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Instant;

use jiff::Timestamp;
use model::decision::Decision;
use rusqlite::{Connection, MAIN_DB, OpenFlags};

pub use db::KEEP_SNAPSHOTS;
pub use error::StoreError;
pub use latency::{AppendLatency, LATENCY_WINDOW};
pub use schema::SCHEMA_VERSION;

use combine::Combiner;
use db::{Counters, Db, Read, Reply, Req, Write};
use error::{io_reason, open_error};

/// WAL frames (pages) after which the checkpointer thread is woken (SQLite's own default is 1000).
const CHECKPOINT_PAGES: i64 = 1000;

/// The database file's name inside the data dir.
pub const DB_FILE: &str = "riskguard.db";

/// What a journal line is. Stored as its lower-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An input line (`account`, `position`, `order`, `trade`, `quote`, `contract`, `clock`, `restart`).
    Input,
    /// A decision line ([`Decision::to_json_line`]).
    Decision,
    /// The outcome of carrying out a decision (a REST call's result).
    Outcome,
    /// An admin action (clear a lock, flatten).
    Admin,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Input => "input",
            Kind::Decision => "decision",
            Kind::Outcome => "outcome",
            Kind::Admin => "admin",
        }
    }
}

impl FromStr for Kind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "input" => Ok(Kind::Input),
            "decision" => Ok(Kind::Decision),
            "outcome" => Ok(Kind::Outcome),
            "admin" => Ok(Kind::Admin),
            _ => Err(()),
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One journal line: the exact JSONL text, with the instant, kind and account it is indexed by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalLine {
    /// The line's instant (its `t`: arrival for inputs, decision time for decisions).
    pub t: Timestamp,
    pub kind: Kind,
    pub account: Option<i64>,
    /// The exact JSONL text, without a trailing newline.
    pub line: String,
}

impl JournalLine {
    pub fn new(
        t: Timestamp,
        kind: Kind,
        account: Option<i64>,
        line: impl Into<String>,
    ) -> JournalLine {
        JournalLine {
            t,
            kind,
            account,
            line: line.into(),
        }
    }

    /// A decision as REPLAY.md writes it.
    pub fn decision(d: &Decision) -> JournalLine {
        JournalLine {
            t: d.t,
            kind: Kind::Decision,
            account: Some(d.account.0),
            line: d.to_json_line(),
        }
    }
}

/// What a restart starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The latest engine snapshot (`Engine::snapshot().0`), if one was saved.
    pub snapshot: Option<Vec<u8>>,
    /// The last journal seq the snapshot includes; 0 without a snapshot.
    pub snapshot_seq: i64,
    /// Every journal line after `snapshot_seq`, in seq order.
    pub lines_after: Vec<(i64, JournalLine)>,
}

/// Counters since the store was opened, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreStats {
    /// Write transactions committed (one group commit is one).
    pub commits: u64,
    /// Journal lines committed.
    pub lines: u64,
}

/// The writer connection's settings, as SQLite reports them (for `status` and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `wal` for a writable store.
    pub journal_mode: String,
    /// `normal` for a writable store.
    pub synchronous: String,
    pub busy_timeout_ms: i64,
    /// `PRAGMA user_version`: [`SCHEMA_VERSION`] once migrated.
    pub schema_version: i64,
    pub read_only: bool,
}

/// The handle to the store. Dropping it commits what is queued and closes the database.
pub struct Store {
    /// `None` only while dropping.
    combiner: Option<Arc<Combiner>>,
    background: Option<JoinHandle<()>>,
    checkpointer: Option<JoinHandle<()>>,
    path: PathBuf,
    latency: latency::LatencyWindow,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Open (creating if missing) `data_dir/riskguard.db`: WAL, `synchronous=NORMAL`, a busy timeout, migrations.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        let dir_error = |reason: String| StoreError::DataDir {
            path: data_dir.display().to_string(),
            reason,
        };
        if data_dir.exists() && !data_dir.is_dir() {
            return Err(dir_error("it is not a directory".to_owned()));
        }
        std::fs::create_dir_all(data_dir).map_err(|e| dir_error(io_reason(&e)))?;
        let path = data_dir.join(DB_FILE);
        let conn = match Connection::open(&path) {
            Ok(conn) => conn,
            Err(e) => return Err(explain_open_failure(&e, &path)),
        };
        // SQLite quietly falls back to read-only when the file cannot be opened for writing.
        if conn.is_readonly(MAIN_DB).unwrap_or(false) {
            return Err(StoreError::Open {
                path: path.display().to_string(),
                reason: "the file is read-only".to_owned(),
            });
        }
        schema::prepare(&conn, &path, true)?;
        Self::start(conn, path, false)
    }

    /// Open an existing database for reading only (`export-journal`, `status` while the daemon runs). Writes
    /// through this handle fail with [`StoreError::ReadOnly`].
    pub fn open_read_only(data_dir: &Path) -> Result<Store, StoreError> {
        let path = data_dir.join(DB_FILE);
        if !path.is_file() {
            return Err(StoreError::Open {
                path: path.display().to_string(),
                reason: "no such database file".to_owned(),
            });
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(|e| open_error(&e, &path))?;
        schema::prepare(&conn, &path, false)?;
        Self::start(conn, path, true)
    }

    fn start(mut conn: Connection, path: PathBuf, read_only: bool) -> Result<Store, StoreError> {
        let spawn_error = |e: std::io::Error| StoreError::Open {
            path: path.display().to_string(),
            reason: format!("cannot start the store's threads: {}", io_reason(&e)),
        };
        let checkpointer = if read_only {
            None
        } else {
            // Checkpoints (copying the WAL into the database, with fsyncs) run on their own connection and
            // thread, so a commit never waits for one; the WAL hook replaces SQLite's automatic checkpoint.
            let ckpt = Connection::open(&path).map_err(|e| open_error(&e, &path))?;
            ckpt.busy_timeout(schema::BUSY_TIMEOUT)
                .map_err(|e| open_error(&e, &path))?;
            let (wake, wake_rx) = mpsc::sync_channel::<()>(1);
            conn.wal_hook(Some(
                move |_: &mut rusqlite::hooks::Wal, pages: std::ffi::c_int| {
                    if i64::from(pages) >= CHECKPOINT_PAGES {
                        let _ = wake.try_send(()); // one wake-up pending is enough
                    }
                    Ok(())
                },
            ))
            .map_err(|e| open_error(&e, &path))?;
            let handle = std::thread::Builder::new()
                .name("riskguard-store-checkpoint".to_owned())
                .spawn(move || db::run_checkpointer(ckpt, wake_rx))
                .map_err(spawn_error)?;
            Some(handle)
        };
        let counters = Arc::new(Counters::default());
        let combiner = Arc::new(Combiner::new(Db {
            conn,
            read_only,
            counters: Arc::clone(&counters),
        }));
        let background = Arc::clone(&combiner);
        let handle = std::thread::Builder::new()
            .name("riskguard-store".to_owned())
            .spawn(move || background.run_background())
            .map_err(spawn_error)?;
        Ok(Store {
            combiner: Some(combiner),
            background: Some(handle),
            checkpointer,
            path,
            latency: latency::LatencyWindow::default(),
            counters,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn combiner(&self) -> Result<&Combiner, StoreError> {
        self.combiner.as_deref().ok_or(StoreError::Closed)
    }

    fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Req) -> Result<T, StoreError> {
        self.combiner()?.call(make)
    }

    /// Append lines to the journal, in order; returns the seq of the last one (with no lines: the last seq
    /// assigned so far). When it returns `Ok`, the lines are committed and survive a crash of the process.
    /// Appends queued together share one transaction.
    pub fn append(&self, lines: Vec<JournalLine>) -> Result<i64, StoreError> {
        let started = Instant::now();
        let r = self.call(|reply| {
            Req::Write(Write::Append {
                lines,
                reply: Some(reply),
                last_seq: 0,
            })
        });
        if r.is_ok() {
            self.latency.record(started.elapsed());
        }
        r
    }

    /// Queue lines for the journal without waiting for their commit. The queue is first-in first-out, so a
    /// later [`Store::append`] returns only once these lines are committed too: callers that must journal
    /// before acting (decisions) wait there, while high-rate inputs (quotes) do not wait one commit each.
    /// A failure to commit queued lines is counted in [`Store::stats`] but reported to nobody; only a closed
    /// store is an error here. Runs of queued lines commit at most once a millisecond (at thousands of quotes
    /// per second, a transaction each is most of the work), unless a caller that waits commits them sooner.
    pub fn append_queued(&self, lines: Vec<JournalLine>) -> Result<(), StoreError> {
        self.combiner()?.queue(Req::Write(Write::Append {
            lines,
            reply: None,
            last_seq: 0,
        }));
        Ok(())
    }

    /// Save an engine snapshot that includes every journal line up to `upto_seq` (which must already be
    /// journaled). Only the last [`KEEP_SNAPSHOTS`] snapshots are kept.
    pub fn save_snapshot(&self, upto_seq: i64, snapshot: Vec<u8>) -> Result<(), StoreError> {
        self.call(|reply| snapshot_req(Some(upto_seq), snapshot, Some(reply)))
    }

    /// Queue an engine snapshot without waiting for it: the engine as it stands after every line queued before
    /// this call, committed or not. Its seq is decided when it is written, after those lines (the queue is
    /// first-in first-out), so a snapshot taken after queued quotes covers them exactly and the restart re-feeds
    /// only what came later. A snapshot that fails is reported to nobody; recovery then starts from an
    /// earlier one and re-feeds more.
    pub fn queue_snapshot(&self, snapshot: Vec<u8>) -> Result<(), StoreError> {
        self.combiner()?.queue(snapshot_req(None, snapshot, None));
        Ok(())
    }

    /// The latest snapshot and every journal line after it.
    pub fn recover(&self) -> Result<Recovered, StoreError> {
        self.call(|reply| Req::Read(Read::Recover { reply }))
    }

    /// The journal lines with `from <= t < to`, in seq order (`export-journal --day`).
    pub fn lines_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<JournalLine>, StoreError> {
        self.call(|reply| Req::Read(Read::Between { from, to, reply }))
    }

    /// Delete journal lines older than `t` (at millisecond precision) that the latest snapshot includes; lines
    /// after the latest snapshot are never deleted, and without a snapshot nothing is. Returns how many went.
    pub fn prune_before(&self, t: Timestamp) -> Result<usize, StoreError> {
        let before_ms = t.as_millisecond();
        self.call(|reply| {
            Req::Write(Write::Prune {
                before_ms,
                reply,
                deleted: 0,
            })
        })
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.call(|reply| Req::Write(Write::SetMeta { key, value, reply }))
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let key = key.to_owned();
        self.call(|reply| Req::Read(Read::Meta { key, reply }))
    }

    /// Wait until everything queued before this call is committed, and checkpoint the WAL (shutdown).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.call(|reply| Req::Read(Read::Flush { reply }))
    }

    /// The connection's journal mode, synchronous level, busy timeout and schema version.
    pub fn settings(&self) -> Result<Settings, StoreError> {
        self.call(|reply| Req::Read(Read::Settings { reply }))
    }

    /// Latency of the recent successful appends (call to return, queueing and group commit included).
    pub fn append_latency(&self) -> AppendLatency {
        self.latency.summary()
    }

    /// Commits and lines since open.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            commits: self.counters.commits.load(Ordering::Relaxed),
            lines: self.counters.lines.load(Ordering::Relaxed),
        }
    }
}

/// A snapshot request, stamped now: up to `upto_seq`, or (`None`) up to the last line queued before it.
fn snapshot_req(upto_seq: Option<i64>, data: Vec<u8>, reply: Option<Reply<()>>) -> Req {
    Req::Write(Write::Snapshot {
        upto_seq,
        t_ms: Timestamp::now().as_millisecond(),
        data,
        reply,
    })
}

impl Drop for Store {
    fn drop(&mut self) {
        // The background thread commits what is queued and ends; dropping the last handle to the combiner
        // then closes the connection, which drops the WAL hook and with it the checkpointer's wake-up channel.
        if let Some(c) = &self.combiner {
            c.close();
        }
        if let Some(h) = self.background.take() {
            let _ = h.join();
        }
        self.combiner.take();
        if let Some(h) = self.checkpointer.take() {
            let _ = h.join();
        }
    }
}

/// SQLite says only "unable to open database file"; ask the OS why, for a message an operator can act on.
fn explain_open_failure(e: &rusqlite::Error, path: &Path) -> StoreError {
    match std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
    {
        Err(io) => StoreError::Open {
            path: path.display().to_string(),
            reason: io_reason(&io),
        },
        Ok(_) => open_error(e, path),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("store-unit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn line(i: i64) -> JournalLine {
        let t = Timestamp::from_second(1_772_000_000 + i).unwrap();
        JournalLine::new(
            t,
            Kind::Input,
            Some(1),
            format!(r#"{{"t":"{t}","kind":"clock","i":{i}}}"#),
        )
    }

    #[test]
    fn queued_appends_share_one_commit() {
        let dir = temp_dir("group");
        let store = Arc::new(Store::open(&dir).unwrap());
        // Hold the connection, let 8 appends queue up, then let go: one transaction takes them all.
        let held = store.combiner.as_ref().unwrap().hold();
        let before = store.stats();
        let queued_before = store.counters.queued.load(Ordering::SeqCst);
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || store.append(vec![line(i), line(i + 100)]).unwrap())
            })
            .collect();
        // Not a sleep: wait until all eight requests are in the queue (the count is bumped after each send).
        while store.counters.queued.load(Ordering::SeqCst) < queued_before + 8 {
            std::thread::yield_now();
        }
        drop(held);
        let seqs: Vec<i64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let after = store.stats();
        assert_eq!(after.lines - before.lines, 16);
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 8);
        assert_eq!(after.commits - before.commits, 1, "{before:?} -> {after:?}");
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_run_of_queued_appends_commits_together_and_a_waited_append_ends_the_wait() {
        let dir = temp_dir("linger");
        let store = Store::open(&dir).unwrap();
        let before = store.stats();
        // 200 quotes, one every 100 µs (a 10,000/s feed, paced by spinning): without lingering, the writer
        // is idle between them and commits nearly each on its own.
        for i in 0..200 {
            let next = std::time::Instant::now() + std::time::Duration::from_micros(100);
            store.append_queued(vec![line(i)]).unwrap();
            while std::time::Instant::now() < next {
                std::hint::spin_loop();
            }
        }
        // A waited append returns once everything before it is committed, without waiting out a linger.
        store.append(vec![line(1_000)]).unwrap();
        let after = store.stats();
        assert_eq!(after.lines - before.lines, 201);
        assert!(
            after.commits - before.commits < 50,
            "200 queued appends took {} commits",
            after.commits - before.commits
        );
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_waited_append_returns_only_once_every_line_queued_before_it_is_on_disk_in_order() {
        let dir = temp_dir("order");
        let store = Store::open(&dir).unwrap();
        let reader = Store::open_read_only(&dir).unwrap();
        let mut pushed = Vec::new();
        for round in 0..20_i64 {
            for i in 0..25 {
                let l = line(round * 100 + i);
                pushed.push(l.line.clone());
                store.append_queued(vec![l]).unwrap();
            }
            let waited = line(round * 100 + 99);
            pushed.push(waited.line.clone());
            let seq = store.append(vec![waited]).unwrap();
            // Another connection sees exactly what was pushed so far, in push order, the waited line last.
            let seen = reader.recover().unwrap().lines_after;
            let texts: Vec<&String> = seen.iter().map(|(_, l)| &l.line).collect();
            assert_eq!(texts, pushed.iter().collect::<Vec<_>>(), "round {round}");
            assert_eq!(seen.last().unwrap().0, seq);
        }
        drop((reader, store));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn queued_appends_commit_by_themselves_with_nobody_waiting() {
        let dir = temp_dir("background");
        let store = Store::open(&dir).unwrap();
        // Bursts with quiet gaps: each burst must wake the background thread again (no waited append ever
        // comes to commit them).
        for burst in 0..5_i64 {
            let before = store.stats().lines;
            for i in 0..10 {
                store.append_queued(vec![line(burst * 10 + i)]).unwrap();
            }
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while store.stats().lines < before + 10 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "burst {burst}: only {} of 10 queued lines committed",
                    store.stats().lines - before
                );
                std::thread::yield_now();
            }
        }
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A store whose database may not grow past `extra_pages` more pages: SQLite then fails with SQLITE_FULL,
    /// exactly as on a full disk.
    fn open_with_page_limit(dir: &Path, extra_pages: i64) -> Store {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join(DB_FILE);
        let conn = Connection::open(&path).unwrap();
        schema::prepare(&conn, &path, true).unwrap();
        let pages: i64 = conn
            .pragma_query_value(None, "page_count", |r| r.get(0))
            .unwrap();
        conn.pragma_update(None, "max_page_count", pages + extra_pages)
            .unwrap();
        Store::start(conn, path, false).unwrap()
    }

    #[test]
    fn a_full_disk_fails_only_the_append_that_does_not_fit() {
        let dir = temp_dir("full");
        let store = Arc::new(open_with_page_limit(&dir, 16));
        let first = store.append(vec![line(0)]).unwrap();

        let held = store.combiner.as_ref().unwrap().hold();
        let queued_before = store.counters.queued.load(Ordering::SeqCst);
        let before = store.stats();
        let big = JournalLine::new(line(1).t, Kind::Input, None, "x".repeat(1 << 20));
        let appends = [vec![line(2)], vec![big], vec![line(3)]];
        let threads: Vec<_> = appends
            .into_iter()
            .map(|lines| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || store.append(lines))
            })
            .collect();
        while store.counters.queued.load(Ordering::SeqCst) < queued_before + 3 {
            std::thread::yield_now();
        }
        drop(held);
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let err = results[1].clone().unwrap_err();
        assert_eq!(
            err,
            StoreError::DiskFull {
                doing: "writing the journal"
            }
        );
        assert_eq!(
            err.to_string(),
            "the disk is full while writing the journal"
        );
        assert!(err.is_write_failure());
        // The group failed as a whole, then every request got its own transaction and its own answer.
        assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
        assert_eq!(store.stats().commits - before.commits, 2);

        // The store goes on: reads work, small appends still fit, nothing of the failed append is there.
        let last = store.append(vec![line(4)]).unwrap();
        let rec = store.recover().unwrap();
        let texts: Vec<&str> = rec
            .lines_after
            .iter()
            .map(|(_, l)| l.line.as_str())
            .collect();
        assert_eq!(texts.len(), 4, "{texts:?}");
        assert!(texts.iter().all(|t| t.len() < 100));
        assert_eq!(rec.lines_after.first().unwrap().0, first);
        assert_eq!(rec.lines_after.last().unwrap().0, last);
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
