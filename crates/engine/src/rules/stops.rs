//! `no_stop_loss_grace` (RULE-008): a position must have a working closing-side stop within the grace period.
//!
//! The grace deadline lives on the position; the timer in `timers` closes the position when it passes without
//! a stop (breach at `elapsed >= grace`). Stops placed before the position count; when the last stop goes away,
//! a new grace period starts.

use jiff::SignedDuration;
use model::decision::{Action, RuleId};
use model::ids::ContractId;

use super::World;
use crate::intent::Intents;
use crate::state::AccountState;

pub(crate) fn on_position(
    w: &World<'_>,
    acct: &mut AccountState,
    intents: &mut Intents,
    c: &ContractId,
    opened: bool,
) {
    let cfg = &w.rules.no_stop_loss_grace;
    if !cfg.enabled {
        return;
    }
    let Some(size) = acct.positions.get(c).map(|p| p.size) else {
        return;
    };
    let has_stop = acct.has_closing_stop(c, size);
    let id = acct.id;
    let Some(p) = acct.positions.get_mut(c) else {
        return;
    };
    if has_stop {
        p.grace_deadline = None;
        p.grace_expired = false;
    } else if opened {
        p.grace_deadline =
            Some(w.now + SignedDuration::from_secs(i64::from(cfg.grace_period_seconds)));
    } else if p.grace_expired && p.close_decided.is_none() {
        // Past the grace period, still open, still without a stop: the close is decided again.
        let reason = format!(
            "still no stop-loss {} s after the position opened",
            cfg.grace_period_seconds
        );
        let action = Action::ClosePosition {
            contract: c.clone(),
        };
        intents.act(id, RuleId::NoStopLossGrace, action, reason);
    }
}

pub(crate) fn on_order(w: &World<'_>, acct: &mut AccountState, c: &ContractId) {
    let cfg = &w.rules.no_stop_loss_grace;
    if !cfg.enabled {
        return;
    }
    let Some(size) = acct.positions.get(c).map(|p| p.size) else {
        return;
    };
    let has_stop = acct.has_closing_stop(c, size);
    let Some(p) = acct.positions.get_mut(c) else {
        return;
    };
    if has_stop {
        p.grace_deadline = None;
        p.grace_expired = false;
    } else if p.grace_deadline.is_none() && !p.grace_expired && p.close_decided.is_none() {
        // The last stop went away: a new grace period starts now.
        p.grace_deadline =
            Some(w.now + SignedDuration::from_secs(i64::from(cfg.grace_period_seconds)));
    }
}
