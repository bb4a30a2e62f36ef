//! The rule engine: a pure, deterministic function of configuration, state, event and time.
//!
//! [`Engine::handle`] takes one [`Event`] and the instant it arrived and returns the [`Decision`]s it leads
//! to. Timers (grace periods, lock expiries, session ends, the daily reset) fire inside `handle` and
//! [`Engine::advance`] at their own due instants, before the event. The engine reads no clock and does no
//! I/O; its whole state serialises ([`Engine::snapshot`]) and a restored engine decides exactly as the
//! original would have.

mod calendar;
mod intent;
mod merge;
mod rules;
pub mod state;
mod timers;
pub mod usage;

use std::sync::Arc;

use jiff::Timestamp;
use model::config::RiskConfig;
use model::decision::Decision;
use model::event::Event;
use thiserror::Error;

pub use calendar::{next_reset_after, trading_day_label, trading_day_start};
use intent::Intents;
use state::State;

/// The rule engine. One owner, one thread: feed it events in arrival order.
#[derive(Debug)]
pub struct Engine {
    config: Arc<RiskConfig>,
    state: State,
    intents: Intents,
    /// The earliest pending timer, when known; `None` in the option means "recompute".
    due_cache: Option<Option<Timestamp>>,
}

/// A serialised engine state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot(pub Vec<u8>);

#[derive(Debug, Error)]
#[error("cannot restore the engine snapshot: {0}")]
pub struct RestoreError(#[from] serde_json::Error);

impl Engine {
    pub fn new(config: Arc<RiskConfig>) -> Self {
        Engine {
            config,
            state: State::default(),
            intents: Intents::default(),
            due_cache: None,
        }
    }

    pub fn config(&self) -> &RiskConfig {
        &self.config
    }

    /// Swap in a new, already validated configuration. Active locks stay as they are; new limits apply from
    /// the next event; a changed reset time applies from the next boundary.
    pub fn set_config(&mut self, config: Arc<RiskConfig>) {
        self.config = config;
        self.due_cache = None;
    }

    /// Read-only view of the state, for status displays.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Handle one event that arrived at `now`: first fire every timer due at or before `now`, each at its own
    /// instant, then apply the event and evaluate the rules.
    pub fn handle(&mut self, event: &Event, now: Timestamp) -> Vec<Decision> {
        let mut out = Vec::new();
        self.handle_into(event, now, &mut out);
        out
    }

    /// [`Engine::handle`] appending to a caller-owned buffer (no allocation on the quiet path).
    pub fn handle_into(&mut self, event: &Event, now: Timestamp, out: &mut Vec<Decision>) {
        self.advance(now, out);
        let now = self.state.now.unwrap_or(now);
        if !matches!(event, Event::Quote(_)) {
            self.due_cache = None;
        }
        rules::route(&self.config, &mut self.state, &mut self.intents, event, now);
        self.finish(now, out);
    }

    /// Fire every timer due at or before `now`, in due order, each at its own instant.
    pub fn advance(&mut self, now: Timestamp, out: &mut Vec<Decision>) {
        if self.state.day_start.is_none() {
            let g = &self.config.global;
            self.state.day_start =
                Some(calendar::trading_day_start(&g.timezone, g.reset_time, now));
            self.state.next_reset =
                Some(calendar::next_reset_after(&g.timezone, g.reset_time, now));
            self.due_cache = None;
        }
        while let Some(due) = self.next_due() {
            if due > now {
                break;
            }
            self.state.now = Some(self.state.now.map_or(due, |n| n.max(due)));
            timers::fire(&self.config, &mut self.state, &mut self.intents, due);
            self.due_cache = None;
            self.finish(due, out);
        }
        self.state.now = Some(self.state.now.map_or(now, |n| n.max(now)));
    }

    /// The instant of the earliest pending timer.
    pub fn next_due(&mut self) -> Option<Timestamp> {
        if let Some(cached) = self.due_cache {
            return cached;
        }
        let due = timers::next_due(&self.state);
        self.due_cache = Some(due);
        due
    }

    fn finish(&mut self, t: Timestamp, out: &mut Vec<Decision>) {
        if self.intents.0.is_empty() {
            return;
        }
        let intents = std::mem::take(&mut self.intents.0);
        let changed = merge::finish(&self.config, &mut self.state, intents, t, out);
        if changed {
            self.due_cache = None;
        }
    }

    /// After a process restart nothing is in flight any more: every close or cancel decided before it and not
    /// confirmed is forgotten, and a position whose close was decided is marked so that the next event showing
    /// it still there, of any size, decides the close again under the same rule. (Without this, a position
    /// reduced by a half-done close, or re-opened smaller after a close whose flat event was lost, would be
    /// taken for "the close is still in progress" forever.) The daemon calls this after recovery.
    ///
    /// Prices are forgotten too: the last quotes before the restart may be minutes or hours old, and a
    /// position must not be judged on them; open-P&L rules wait for the first fresh quote.
    pub fn forget_in_flight(&mut self) {
        self.state.quotes.clear();
        for acct in self.state.accounts.values_mut() {
            for p in acct.positions.values_mut() {
                p.unrealized = None;
                if p.close_decided.take().is_some() {
                    p.reclose = p.close_rule.or(Some(model::decision::RuleId::LockoutGuard));
                }
                p.partial_decided = false;
            }
            for o in acct.orders.values_mut() {
                o.cancel_decided = false;
            }
        }
    }

    /// The complete state, serialised.
    pub fn snapshot(&self) -> Snapshot {
        // Serialising plain data with string keys cannot fail; an empty snapshot would be refused on restore.
        Snapshot(serde_json::to_vec(&self.state).unwrap_or_default())
    }

    /// An engine that continues exactly where the snapshot's engine stopped.
    pub fn restore(config: Arc<RiskConfig>, snapshot: &Snapshot) -> Result<Self, RestoreError> {
        let state: State = serde_json::from_slice(&snapshot.0)?;
        Ok(Engine {
            config,
            state,
            intents: Intents::default(),
            due_cache: None,
        })
    }
}
