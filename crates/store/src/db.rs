//! The SQLite side of the store: the requests, and [`Db`], which owns the one `rusqlite::Connection` and carries
//! out a batch of requests in order. Writes that are batched together share one transaction (group commit); a
//! read first commits the writes batched before it, so every caller reads its own writes. Who runs a batch, and
//! on which thread, is [`crate::combine`]'s business.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::error::{StoreError, from_sqlite};
use crate::{JournalLine, Kind, Recovered};

/// How many engine snapshots are kept; older ones are deleted when a new one is saved.
pub const KEEP_SNAPSHOTS: i64 = 3;

pub(crate) type Reply<T> = SyncSender<Result<T, StoreError>>;

pub(crate) enum Req {
    Write(Write),
    Read(Read),
}

pub(crate) enum Write {
    Append {
        lines: Vec<JournalLine>,
        /// `None`: queued lines nobody waits for (no channel is made for each quote).
        reply: Option<Reply<i64>>,
        last_seq: i64,
    },
    Snapshot {
        /// `None`: everything journaled before it in the queue (the last seq assigned when it is written).
        upto_seq: Option<i64>,
        t_ms: i64,
        data: Vec<u8>,
        /// `None`: queued, nobody waits.
        reply: Option<Reply<()>>,
    },
    SetMeta {
        key: String,
        value: String,
        reply: Reply<()>,
    },
    Prune {
        before_ms: i64,
        reply: Reply<usize>,
        deleted: usize,
    },
}

pub(crate) enum Read {
    Recover {
        reply: Reply<Recovered>,
    },
    Between {
        from: Timestamp,
        to: Timestamp,
        reply: Reply<Vec<JournalLine>>,
    },
    Meta {
        key: String,
        reply: Reply<Option<String>>,
    },
    Settings {
        reply: Reply<crate::Settings>,
    },
    /// A barrier: answered once everything queued before it is committed.
    Flush {
        reply: Reply<()>,
    },
}

/// Counters for metrics and tests.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Requests queued (incremented once the request is in the queue).
    pub(crate) queued: AtomicU64,
    /// Write transactions committed.
    pub(crate) commits: AtomicU64,
    /// Journal lines committed.
    pub(crate) lines: AtomicU64,
}

/// The connection, and what carrying out requests on it needs.
pub(crate) struct Db {
    pub(crate) conn: Connection,
    pub(crate) read_only: bool,
    pub(crate) counters: Arc<Counters>,
}

const JOURNAL: &str = "writing the journal";

fn last_assigned_seq(conn: &Connection) -> Result<i64, rusqlite::Error> {
    conn.query_row(
        "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'journal'), 0)",
        [],
        |r| r.get(0),
    )
}

impl Write {
    fn apply(&mut self, conn: &Connection) -> Result<(), StoreError> {
        match self {
            Write::Append {
                lines, last_seq, ..
            } => {
                if lines.is_empty() {
                    *last_seq = last_assigned_seq(conn).map_err(|e| from_sqlite(&e, JOURNAL))?;
                    return Ok(());
                }
                let mut stmt = conn
                    .prepare_cached("INSERT INTO journal (t, t_ms, kind, account, line) VALUES (?1, ?2, ?3, ?4, ?5)")
                    .map_err(|e| from_sqlite(&e, JOURNAL))?;
                for l in lines.iter() {
                    stmt.execute(params![
                        l.t.to_string(),
                        l.t.as_millisecond(),
                        l.kind.as_str(),
                        l.account,
                        l.line
                    ])
                    .map_err(|e| from_sqlite(&e, JOURNAL))?;
                }
                *last_seq = conn.last_insert_rowid();
                Ok(())
            }
            Write::Snapshot {
                upto_seq,
                t_ms,
                data,
                ..
            } => {
                const DOING: &str = "saving an engine snapshot";
                let last = last_assigned_seq(conn).map_err(|e| from_sqlite(&e, DOING))?;
                let upto = upto_seq.unwrap_or(last);
                if upto < 0 || upto > last {
                    return Err(StoreError::Invalid(format!(
                        "a snapshot up to seq {upto}, but the journal's last seq is {last}"
                    )));
                }
                conn.execute(
                    "INSERT OR REPLACE INTO snapshots (seq, t_ms, data) VALUES (?1, ?2, ?3)",
                    params![upto, *t_ms, data.as_slice()],
                )
                .map_err(|e| from_sqlite(&e, DOING))?;
                conn.execute(
                    "DELETE FROM snapshots WHERE seq NOT IN (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?1)",
                    [KEEP_SNAPSHOTS],
                )
                .map_err(|e| from_sqlite(&e, DOING))?;
                Ok(())
            }
            Write::SetMeta { key, value, .. } => {
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    params![key.as_str(), value.as_str()],
                )
                .map_err(|e| from_sqlite(&e, "saving a setting"))?;
                Ok(())
            }
            Write::Prune {
                before_ms, deleted, ..
            } => {
                // Never a line after the latest snapshot: restart replays them. No snapshot: keep everything.
                *deleted = conn
                    .execute(
                        "DELETE FROM journal WHERE t_ms < ?1
                           AND seq <= COALESCE((SELECT MAX(seq) FROM snapshots), 0)",
                        [*before_ms],
                    )
                    .map_err(|e| from_sqlite(&e, "pruning the journal"))?;
                Ok(())
            }
        }
    }

    fn line_count(&self) -> u64 {
        match self {
            Write::Append { lines, .. } => lines.len() as u64,
            _ => 0,
        }
    }

    // A caller that gave up waiting has dropped its receiver; nothing to do then.
    fn succeed(self) {
        match self {
            Write::Append {
                reply, last_seq, ..
            } => drop(reply.map(|r| r.send(Ok(last_seq)))),
            Write::Snapshot { reply, .. } => drop(reply.map(|r| r.send(Ok(())))),
            Write::SetMeta { reply, .. } => drop(reply.send(Ok(()))),
            Write::Prune { reply, deleted, .. } => drop(reply.send(Ok(deleted))),
        }
    }

    fn fail(self, e: StoreError) {
        match self {
            Write::Append { reply, .. } => drop(reply.map(|r| r.send(Err(e)))),
            Write::Snapshot { reply, .. } => drop(reply.map(|r| r.send(Err(e)))),
            Write::SetMeta { reply, .. } => drop(reply.send(Err(e))),
            Write::Prune { reply, .. } => drop(reply.send(Err(e))),
        }
    }
}

impl Db {
    /// Carry out `batch` in order: consecutive writes as one transaction, each read after the writes before it.
    pub(crate) fn process(&mut self, batch: Vec<Req>) {
        let mut group = Vec::new();
        for req in batch {
            match req {
                Req::Write(w) => group.push(w),
                Req::Read(r) => {
                    self.commit_group(std::mem::take(&mut group));
                    self.serve(r);
                }
            }
        }
        self.commit_group(group);
    }

    fn commit_group(&mut self, mut group: Vec<Write>) {
        if group.is_empty() {
            return;
        }
        match self.transaction(&mut group) {
            Ok(()) => self.succeeded(group),
            Err(e) if group.len() == 1 => {
                for w in group {
                    w.fail(e.clone());
                }
            }
            Err(_) => {
                // Something in the group failed: give every request its own transaction and its own answer.
                for mut w in group {
                    match self.transaction(std::slice::from_mut(&mut w)) {
                        Ok(()) => self.succeeded(vec![w]),
                        Err(e) => w.fail(e),
                    }
                }
            }
        }
    }

    fn succeeded(&self, group: Vec<Write>) {
        self.counters.commits.fetch_add(1, Ordering::Relaxed);
        let lines: u64 = group.iter().map(Write::line_count).sum();
        self.counters.lines.fetch_add(lines, Ordering::Relaxed);
        for w in group {
            w.succeed();
        }
    }

    fn transaction(&mut self, group: &mut [Write]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| from_sqlite(&e, JOURNAL))?;
        for w in group.iter_mut() {
            w.apply(&tx)?; // dropping `tx` rolls back
        }
        tx.commit().map_err(|e| from_sqlite(&e, JOURNAL))
    }

    fn serve(&mut self, read: Read) {
        match read {
            Read::Recover { reply } => {
                let _ = reply.send(self.recover());
            }
            Read::Between { from, to, reply } => {
                let _ = reply.send(self.between(from, to));
            }
            Read::Meta { key, reply } => {
                let r = self
                    .conn
                    .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                    .optional()
                    .map_err(|e| from_sqlite(&e, "reading a setting"));
                let _ = reply.send(r);
            }
            Read::Settings { reply } => {
                let r = self
                    .settings()
                    .map_err(|e| from_sqlite(&e, "reading the database settings"));
                let _ = reply.send(r);
            }
            Read::Flush { reply } => {
                if !self.read_only {
                    // Move the WAL into the database file (fsynced): after a clean shutdown even a power cut
                    // loses nothing. PASSIVE never waits for readers; a failure here loses nothing either.
                    let _ = self
                        .conn
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
                let _ = reply.send(Ok(()));
            }
        }
    }

    fn settings(&self) -> Result<crate::Settings, rusqlite::Error> {
        let pragma = |name: &str| {
            self.conn
                .pragma_query_value(None, name, |r| r.get::<_, rusqlite::types::Value>(0))
        };
        let text = |v: rusqlite::types::Value| match v {
            rusqlite::types::Value::Text(s) => s,
            other => format!("{other:?}"),
        };
        let int = |v: rusqlite::types::Value| match v {
            rusqlite::types::Value::Integer(i) => i,
            _ => -1,
        };
        let synchronous = match int(pragma("synchronous")?) {
            0 => "off",
            1 => "normal",
            2 => "full",
            3 => "extra",
            _ => "unknown",
        };
        Ok(crate::Settings {
            journal_mode: text(pragma("journal_mode")?).to_ascii_lowercase(),
            synchronous: synchronous.to_owned(),
            busy_timeout_ms: int(pragma("busy_timeout")?),
            schema_version: int(pragma("user_version")?),
            read_only: self.read_only,
        })
    }

    fn recover(&mut self) -> Result<Recovered, StoreError> {
        const DOING: &str = "reading the journal";
        // One read transaction: the snapshot and the lines after it are from the same moment.
        let tx = self
            .conn
            .transaction()
            .map_err(|e| from_sqlite(&e, DOING))?;
        let latest: Option<(i64, Vec<u8>)> = tx
            .query_row(
                "SELECT seq, data FROM snapshots ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| from_sqlite(&e, DOING))?;
        let (snapshot_seq, snapshot) = match latest {
            Some((seq, data)) => (seq, Some(data)),
            None => (0, None),
        };
        let mut stmt = tx
            .prepare("SELECT seq, t, kind, account, line FROM journal WHERE seq > ?1 ORDER BY seq")
            .map_err(|e| from_sqlite(&e, DOING))?;
        let rows = stmt
            .query_map([snapshot_seq], raw_row)
            .map_err(|e| from_sqlite(&e, DOING))?;
        let mut lines_after = Vec::new();
        for row in rows {
            let raw = row.map_err(|e| from_sqlite(&e, DOING))?;
            lines_after.push((raw.0, journal_line(raw)?));
        }
        drop(stmt);
        tx.commit().map_err(|e| from_sqlite(&e, DOING))?;
        Ok(Recovered {
            snapshot,
            snapshot_seq,
            lines_after,
        })
    }

    fn between(&mut self, from: Timestamp, to: Timestamp) -> Result<Vec<JournalLine>, StoreError> {
        const DOING: &str = "reading the journal";
        if to <= from {
            return Ok(Vec::new());
        }
        // The index narrows to whole milliseconds; the exact bounds are applied on the parsed `t`.
        let mut stmt = self
            .conn
            .prepare("SELECT seq, t, kind, account, line FROM journal WHERE t_ms >= ?1 AND t_ms <= ?2 ORDER BY seq")
            .map_err(|e| from_sqlite(&e, DOING))?;
        let rows = stmt
            .query_map([from.as_millisecond(), to.as_millisecond()], raw_row)
            .map_err(|e| from_sqlite(&e, DOING))?;
        let mut out = Vec::new();
        for row in rows {
            let line = journal_line(row.map_err(|e| from_sqlite(&e, DOING))?)?;
            if from <= line.t && line.t < to {
                out.push(line);
            }
        }
        Ok(out)
    }
}

/// The checkpointer thread: a PASSIVE checkpoint each time the writer's WAL hook says the WAL is long. PASSIVE
/// never blocks the writer; SQLite restarts the WAL from its start once a checkpoint has copied all of it.
pub(crate) fn run_checkpointer(conn: Connection, wake: Receiver<()>) {
    while wake.recv().is_ok() {
        // A failed checkpoint loses nothing: the frames stay in the WAL and the next wake-up retries.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}

type RawRow = (i64, String, String, Option<i64>, String);

fn raw_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn journal_line((seq, t, kind, account, line): RawRow) -> Result<JournalLine, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        doing: "reading the journal",
        reason,
    };
    let t: Timestamp = t
        .parse()
        .map_err(|e| corrupt(format!("journal seq {seq}: bad time {t:?}: {e}")))?;
    let kind: Kind = kind
        .parse()
        .map_err(|()| corrupt(format!("journal seq {seq}: unknown kind {kind:?}")))?;
    Ok(JournalLine {
        t,
        kind,
        account,
        line,
    })
}
