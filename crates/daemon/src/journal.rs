//! The journal side of the daemon: every input, decision and outcome is appended to the store before it has
//! effects, in the REPLAY.md line format; on start the engine is rebuilt from the last snapshot plus the lines
//! after it (the engine is deterministic, so re-feeding the inputs restores exactly the state it had).
//!
//! If the journal cannot be written (disk full, read-only), enforcement goes on: the journal is marked
//! degraded, the logs say why, and status shows it (CONFIG.md §6, "Journal").

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use engine::{Engine, Snapshot};
use jiff::Timestamp;
use model::config::RiskConfig;
use model::decision::Decision;
use model::event::{Event, Outcome};
use replay::format::{Item, event_line, parse_line, parse_outcome};
use store::{JournalLine, Kind, Store};

/// How many journal lines between engine snapshots.
const SNAPSHOT_EVERY: u64 = 5_000;

#[derive(Debug)]
pub struct Journal {
    store: Arc<Store>,
    degraded: AtomicBool,
    since_snapshot: std::sync::atomic::AtomicU64,
}

fn account_of(event: &Event) -> Option<i64> {
    event.account().map(|a| a.0)
}

impl Journal {
    pub fn new(store: Arc<Store>) -> Self {
        Journal {
            store,
            degraded: AtomicBool::new(false),
            since_snapshot: Default::default(),
        }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    fn append(&self, lines: Vec<JournalLine>) {
        if lines.is_empty() {
            return;
        }
        let n = lines.len() as u64;
        match self.store.append(lines) {
            Ok(_) => {
                self.since_snapshot.fetch_add(n, Ordering::Relaxed);
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::warn!("journal writable again");
                }
            }
            Err(e) => {
                if !self.degraded.swap(true, Ordering::Relaxed) {
                    tracing::error!(error = %e, "journal degraded: enforcement continues without a journal");
                }
            }
        }
    }

    /// A quote, queued without waiting for its commit: quotes come by the thousand per second, and the next
    /// waited append (the decisions they lead to) commits only after them. A quote lost in a crash is
    /// replaced by the next one.
    pub fn quote(&self, t: Timestamp, event: &Event) {
        let line = JournalLine {
            t,
            kind: Kind::Input,
            account: None,
            line: event_line(t, event),
        };
        if let Err(e) = self.store.append_queued(vec![line])
            && !self.degraded.swap(true, Ordering::Relaxed)
        {
            tracing::error!(error = %e, "journal degraded: enforcement continues without a journal");
        }
        self.since_snapshot.fetch_add(1, Ordering::Relaxed);
    }

    /// An input event, before the engine sees it.
    pub fn input(&self, t: Timestamp, event: &Event) {
        let kind = if matches!(event, Event::Admin(_)) {
            Kind::Admin
        } else {
            Kind::Input
        };
        self.append(vec![JournalLine {
            t,
            kind,
            account: account_of(event),
            line: event_line(t, event),
        }]);
    }

    /// An admin action the engine does not see (dry-run switched, config reloaded): a `note` line, which
    /// replay skips, kept so that the journal says who changed what and why.
    pub fn note(&self, t: Timestamp, data: &serde_json::Value) {
        let line =
            serde_json::json!({"t": t.to_string(), "kind": "note", "data": data}).to_string();
        self.append(vec![JournalLine {
            t,
            kind: Kind::Admin,
            account: None,
            line,
        }]);
    }

    /// Time passing with no input (a timer fired): replay needs it to fire the same timers.
    pub fn clock(&self, t: Timestamp) {
        let line = format!(r#"{{"t":"{t}","kind":"clock"}}"#);
        self.append(vec![JournalLine {
            t,
            kind: Kind::Input,
            account: None,
            line,
        }]);
    }

    /// The engine's decisions, before the executor acts on them.
    pub fn decisions(&self, decisions: &[Decision]) {
        let lines = decisions
            .iter()
            .map(|d| JournalLine {
                t: d.t,
                kind: Kind::Decision,
                account: Some(d.account.0),
                line: d.to_json_line(),
            })
            .collect();
        self.append(lines);
    }

    /// An enforcement outcome, before the engine sees it.
    pub fn outcome(&self, t: Timestamp, outcome: &Outcome) {
        let line = event_line(t, &Event::Outcome(outcome.clone()));
        self.append(vec![JournalLine {
            t,
            kind: Kind::Outcome,
            account: Some(outcome.account.0),
            line,
        }]);
    }

    /// Queue an engine snapshot when enough has been journaled since the last one (or `force`). The loop does
    /// not wait for it: the store writes it after every line queued before it, quotes included, and gives it
    /// the seq of the last of them, so the snapshot covers exactly the inputs the engine had seen.
    pub fn maybe_snapshot(&self, engine: &Engine, force: bool) {
        let due = self.since_snapshot.load(Ordering::Relaxed) >= SNAPSHOT_EVERY;
        if !(due || force) || self.is_degraded() {
            return;
        }
        match self.store.queue_snapshot(engine.snapshot().0) {
            Ok(()) => self.since_snapshot.store(0, Ordering::Relaxed),
            Err(e) => tracing::error!(error = %e, "cannot save an engine snapshot"),
        }
    }

    /// Rebuild the engine from the store: the last snapshot, then every input and outcome after it.
    /// Returns the engine and how many lines were re-fed.
    pub fn recover(&self, config: Arc<RiskConfig>) -> anyhow::Result<(Engine, usize)> {
        let recovered = self.store.recover()?;
        let mut engine = match &recovered.snapshot {
            Some(bytes) => Engine::restore(config.clone(), &Snapshot(bytes.clone()))?,
            None => Engine::new(config),
        };
        let mut refed = 0;
        let mut scratch = Vec::new();
        for (seq, line) in &recovered.lines_after {
            scratch.clear();
            match line.kind {
                Kind::Input | Kind::Admin => match parse_line(&line.line) {
                    Ok(Some(parsed)) => {
                        match parsed.item {
                            Item::Event(e) => engine.handle_into(&e, parsed.t, &mut scratch),
                            Item::Clock => engine.advance(parsed.t, &mut scratch),
                            Item::Restart | Item::Skip => {}
                        }
                        refed += 1;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(seq, error = %e, "unreadable journal line skipped in recovery")
                    }
                },
                Kind::Outcome => {
                    if let Some((t, o)) = parse_outcome(&line.line) {
                        engine.handle_into(&Event::Outcome(o), t, &mut scratch);
                        refed += 1;
                    }
                }
                Kind::Decision => {}
            }
        }
        Ok((engine, refed))
    }
}
