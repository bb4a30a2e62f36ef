//! Timers: the daily reset, lock expiries, no-stop grace deadlines and session ends.
//!
//! Timers are not stored separately: they are derived from the state (a lock's `until`, a position's grace
//! deadline), so a restored snapshot carries them for free. [`next_due`] finds the earliest; [`fire`] runs
//! every timer due at exactly that instant.

use std::collections::BTreeMap;

use jiff::Timestamp;
use model::config::RiskConfig;
use model::decision::{Action, RuleId};
use model::ids::ContractId;

use crate::calendar;
use crate::intent::Intents;
use crate::rules::session;
use crate::state::{DayBook, LockKind, State};

pub(crate) fn next_due(state: &State) -> Option<Timestamp> {
    let mut due = state.next_reset;
    let mut consider = |t: Option<Timestamp>| {
        if let Some(t) = t {
            due = Some(due.map_or(t, |d| d.min(t)));
        }
    };
    for acct in state.accounts.values() {
        for lock in acct.locks.values() {
            if lock.kind == LockKind::Timed {
                consider(lock.until);
            }
        }
        for p in acct.positions.values() {
            consider(p.grace_deadline);
            consider(p.session_close.as_ref().map(|(t, _)| *t));
        }
    }
    due
}

pub(crate) fn fire(config: &RiskConfig, state: &mut State, intents: &mut Intents, t: Timestamp) {
    if state.next_reset.is_some_and(|r| r <= t) {
        daily_reset(config, state, intents, t);
    }
    for acct in state.accounts.values_mut() {
        let id = acct.id;
        // Lock expiries.
        let expired: Vec<RuleId> = acct
            .locks
            .iter()
            .filter(|(_, l)| l.kind == LockKind::Timed && l.until.is_some_and(|u| u <= t))
            .map(|(r, _)| *r)
            .collect();
        for rule in expired {
            if let Some(lock) = acct.locks.remove(&rule) {
                intents.act(
                    id,
                    rule,
                    Action::Unlock,
                    format!("{} ended ({})", lock_noun(rule), lock.reason),
                );
            }
        }
        // Grace deadlines.
        let rules = config.rules_for(id);
        let grace = rules.no_stop_loss_grace.grace_period_seconds;
        let mut due_grace: Vec<ContractId> = Vec::new();
        for (c, p) in acct.positions.iter_mut() {
            if p.grace_deadline.is_some_and(|d| d <= t) {
                p.grace_deadline = None;
                p.grace_expired = true;
                due_grace.push(c.clone());
            }
        }
        for c in due_grace {
            if rules.no_stop_loss_grace.enabled {
                let size = acct.positions.get(&c).map_or(0, |p| p.size);
                if size != 0 && !acct.has_closing_stop(&c, size) {
                    let reason = format!("no stop-loss {grace} s after the position opened");
                    intents.act(
                        id,
                        RuleId::NoStopLossGrace,
                        Action::ClosePosition { contract: c },
                        reason,
                    );
                }
            }
        }
        // Session ends, grouped by window.
        let mut ends: BTreeMap<String, Vec<ContractId>> = BTreeMap::new();
        for (c, p) in acct.positions.iter_mut() {
            if let Some((close, window)) = p.session_close.take_if(|(close, _)| *close <= t) {
                let _ = close;
                ends.entry(window).or_default().push(c.clone());
            }
        }
        for (window, contracts) in ends {
            session::window_end(
                config,
                &state.contracts,
                acct,
                intents,
                &window,
                &contracts,
                t,
            );
        }
    }
}

fn lock_noun(rule: RuleId) -> &'static str {
    match rule {
        RuleId::TradeFrequencyLimit | RuleId::CooldownAfterLoss => "cooldown",
        _ => "lock",
    }
}

/// A new trading day: zero the day's P&L and counts, end `daily_reset` locks, one `reset` line per account.
fn daily_reset(config: &RiskConfig, state: &mut State, intents: &mut Intents, t: Timestamp) {
    let g = &config.global;
    state.day_start = Some(t);
    state.next_reset = Some(calendar::next_reset_after(&g.timezone, g.reset_time, t));
    for acct in state.accounts.values_mut() {
        let id = acct.id;
        let realized = acct.day.realized;
        // Opening orders of the last hour stay: rolling minute/hour windows do not stop at the reset.
        let recent = std::mem::take(&mut acct.day.opening_orders);
        acct.day = DayBook {
            opening_orders: recent,
            ..DayBook::default()
        };
        intents.act(
            id,
            RuleId::Reset,
            Action::Reset,
            format!("new trading day; previous day P&L {realized:.2}"),
        );
        let ended: Vec<RuleId> = acct
            .locks
            .iter()
            .filter(|(_, l)| l.kind == LockKind::DailyReset)
            .map(|(r, _)| *r)
            .collect();
        for rule in ended {
            if let Some(lock) = acct.locks.remove(&rule) {
                intents.act(
                    id,
                    rule,
                    Action::Unlock,
                    format!("daily reset ended the lock ({})", lock.reason),
                );
            }
        }
    }
}
