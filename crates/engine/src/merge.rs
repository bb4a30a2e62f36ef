//! Merging one instant's intents into decisions (REPLAY.md: rule order, subsumption, once per target, lock
//! lines only when a lock is created or moves later).
//!
//! This is the only place that marks targets as decided and writes the lock table, so every rule gets the same
//! treatment and no rule can mask another: all of them are evaluated, then merged here.

use jiff::Timestamp;
use model::config::RiskConfig;
use model::decision::{Action, Decision, RuleId};
use model::ids::AccountId;

use crate::intent::{Intent, What};
use crate::rules::gate;
use crate::state::{AccountState, Lock, LockKind, State};

/// Returns whether timer-relevant state (locks) changed.
pub(crate) fn finish(
    config: &RiskConfig,
    state: &mut State,
    mut intents: Vec<Intent>,
    t: Timestamp,
    out: &mut Vec<Decision>,
) -> bool {
    if config.global.strict_mode {
        intents = strict(intents, state.next_reset);
    }
    intents.sort_by_key(|i| (i.account, i.rule));

    let mut changed = false;
    let start = out.len();
    let State {
        accounts,
        contracts,
        ..
    } = state;
    let mut i = 0;
    while i < intents.len() {
        let account = intents[i].account;
        let end = intents[i..]
            .iter()
            .position(|x| x.account != account)
            .map_or(intents.len(), |n| i + n);
        let group = &intents[i..end];
        let Some(acct) = accounts.get_mut(&account) else {
            i = end;
            continue;
        };
        let close_all = group
            .iter()
            .any(|x| matches!(x.what, What::Act(Action::CloseAllPositions)));
        let cancel_all = group
            .iter()
            .any(|x| matches!(x.what, What::Act(Action::CancelAllOrders)));
        let mut locked_now = false;
        let first = out.len();
        for intent in group {
            let emitted = apply(acct, intent, close_all, cancel_all, t, &mut locked_now);
            if let Some(action) = emitted {
                out.push(decision(
                    t,
                    account,
                    intent.rule,
                    action,
                    &intent.reason,
                    config,
                ));
            }
        }
        if locked_now {
            changed = true;
            let mut sweep = Vec::new();
            gate::sweep_orders(config, contracts, acct, &mut sweep);
            for (action, reason) in sweep {
                if let Some(action) = apply_cancel(acct, action) {
                    out.push(decision(
                        t,
                        account,
                        RuleId::LockoutGuard,
                        action,
                        &reason,
                        config,
                    ));
                }
            }
            out[first..].sort_by_key(|d| d.rule);
        }
        i = end;
    }
    debug_assert!(
        out[start..]
            .windows(2)
            .all(|w| (w[0].account, w[0].rule) <= (w[1].account, w[1].rule))
    );
    changed
}

fn decision(
    t: Timestamp,
    account: AccountId,
    rule: RuleId,
    action: Action,
    reason: &str,
    c: &RiskConfig,
) -> Decision {
    Decision {
        t,
        account,
        rule,
        action,
        reason: reason.to_string(),
        dry_run: c.global.dry_run,
    }
}

fn apply(
    acct: &mut AccountState,
    intent: &Intent,
    close_all: bool,
    cancel_all: bool,
    t: Timestamp,
    locked_now: &mut bool,
) -> Option<Action> {
    match &intent.what {
        What::Lock {
            kind,
            until,
            cooldown,
            window,
        } => {
            if upsert_lock(
                acct,
                intent.rule,
                *kind,
                *until,
                window.as_deref(),
                &intent.reason,
                t,
            ) {
                *locked_now = true;
                Some(match (cooldown, until) {
                    (true, Some(u)) => Action::Cooldown { until: *u },
                    _ => Action::Lockout { until: *until },
                })
            } else {
                None
            }
        }
        What::Act(action) => match action {
            Action::CloseAllPositions => {
                for p in acct.positions.values_mut().filter(|p| p.expect_flat) {
                    // Expected flat: if the next event shows it still there, close it then.
                    remember_skipped_close(p, intent.rule);
                }
                let any = acct
                    .positions
                    .values()
                    .any(|p| p.size != 0 && p.close_decided.is_none() && !p.expect_flat);
                if !any {
                    return None;
                }
                for p in acct.positions.values_mut() {
                    if !p.expect_flat && p.close_decided.is_none() {
                        p.close_decided = Some(p.size.abs());
                        p.close_rule = Some(intent.rule);
                    }
                }
                Some(action.clone())
            }
            Action::ClosePosition { contract } | Action::PartialClose { contract, .. }
                if close_all =>
            {
                let _ = contract;
                None
            }
            Action::ClosePosition { contract } => {
                let p = acct.positions.get_mut(contract)?;
                if p.expect_flat {
                    remember_skipped_close(p, intent.rule);
                    return None;
                }
                if p.size == 0 || p.close_decided.is_some() {
                    return None;
                }
                p.close_decided = Some(p.size.abs());
                p.close_rule = Some(intent.rule);
                Some(action.clone())
            }
            Action::PartialClose { contract, .. } => {
                let p = acct.positions.get_mut(contract)?;
                if p.size == 0 || p.close_decided.is_some() || p.partial_decided {
                    return None;
                }
                p.partial_decided = true;
                Some(action.clone())
            }
            Action::CancelAllOrders => {
                let any = acct.orders.values().any(|o| !o.cancel_decided);
                if !any {
                    return None;
                }
                for o in acct.orders.values_mut() {
                    o.cancel_decided = true;
                }
                Some(action.clone())
            }
            Action::CancelOrder { .. } if cancel_all => None,
            Action::CancelOrder { .. } => apply_cancel(acct, action.clone()),
            _ => Some(action.clone()),
        },
    }
}

/// A close skipped because the position is expected to go flat is decided again on the next event showing
/// it still there, for the rules that would not decide it again by themselves: the position-triggered rules
/// re-evaluate on that very event, and must be free to find no breach any more.
fn remember_skipped_close(p: &mut crate::state::Position, rule: RuleId) {
    let re_evaluates_on_positions = matches!(
        rule,
        RuleId::MaxContracts
            | RuleId::MaxContractsPerInstrument
            | RuleId::DailyUnrealizedLoss
            | RuleId::MaxUnrealizedProfit
            | RuleId::SymbolBlocks
    );
    if !re_evaluates_on_positions {
        p.reclose.get_or_insert(rule);
    }
}

fn apply_cancel(acct: &mut AccountState, action: Action) -> Option<Action> {
    let Action::CancelOrder { order } = &action else {
        return Some(action);
    };
    let o = acct.orders.get_mut(order)?;
    if o.cancel_decided {
        return None;
    }
    o.cancel_decided = true;
    Some(action)
}

/// Create a lock or move its expiry later. Returns whether a lock line is due. Locks never shorten.
fn upsert_lock(
    acct: &mut AccountState,
    rule: RuleId,
    kind: LockKind,
    until: Option<Timestamp>,
    window: Option<&str>,
    reason: &str,
    t: Timestamp,
) -> bool {
    match acct.locks.get_mut(&rule) {
        None => {
            let mut lock = Lock {
                kind,
                since: t,
                until,
                reason: reason.to_string(),
                windows: Default::default(),
            };
            if let Some(w) = window {
                lock.windows.insert(w.to_string());
            }
            acct.locks.insert(rule, lock);
            true
        }
        Some(lock) => {
            let widened = window
                .is_some_and(|w| !lock.windows.is_empty() && lock.windows.insert(w.to_string()));
            let later = match (lock.until, until) {
                (None, _) => false,
                (Some(_), None) => true,
                (Some(old), Some(new)) => new > old,
            };
            if later {
                lock.until = until;
                lock.kind = kind;
                lock.reason = reason.to_string();
            }
            later || widened
        }
    }
}

/// strict_mode: every breach becomes close-all, cancel-all and a lock until the next reset.
fn strict(intents: Vec<Intent>, next_reset: Option<Timestamp>) -> Vec<Intent> {
    let exempt = |r: RuleId| {
        matches!(
            r,
            RuleId::Reset | RuleId::LockoutGuard | RuleId::TradeManagement | RuleId::Admin
        )
    };
    let mut breaching: std::collections::BTreeMap<(AccountId, RuleId), String> = Default::default();
    for i in intents.iter().filter(|i| !exempt(i.rule)) {
        let destructive = match &i.what {
            What::Act(a) => a.is_destructive(),
            What::Lock { .. } => true,
        };
        if destructive {
            breaching
                .entry((i.account, i.rule))
                .or_insert_with(|| i.reason.clone());
        }
    }
    if breaching.is_empty() {
        return intents;
    }
    let mut kept: Vec<Intent> = Vec::with_capacity(intents.len());
    for i in intents {
        let is_breach = breaching.contains_key(&(i.account, i.rule));
        let is_unlock = matches!(i.what, What::Act(Action::Unlock));
        if !is_breach || is_unlock || matches!(i.what, What::Act(Action::Alert { .. })) {
            kept.push(i);
        }
    }
    for ((account, rule), why) in breaching {
        let reason = format!("strict mode: {why}");
        kept.push(Intent {
            account,
            rule,
            what: What::Act(Action::CloseAllPositions),
            reason: reason.clone(),
        });
        kept.push(Intent {
            account,
            rule,
            what: What::Act(Action::CancelAllOrders),
            reason: reason.clone(),
        });
        let what = What::Lock {
            kind: LockKind::DailyReset,
            until: next_reset,
            cooldown: false,
            window: None,
        };
        kept.push(Intent {
            account,
            rule,
            what,
            reason,
        });
    }
    kept
}
