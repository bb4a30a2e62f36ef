//! P&L limits: `daily_realized_loss` (RULE-003), `daily_unrealized_loss` (RULE-004) and
//! `max_unrealized_profit` (RULE-005). Money limits are inclusive: `pnl <= -limit`, `pnl >= target`.

use model::config::{LockoutUntil, RealizedLossAction, Scope, UnrealizedLimit};
use model::decision::{Action, AlertLevel, RuleId};
use model::ids::ContractId;
use rust_decimal::Decimal;

use super::{World, money};
use crate::intent::Intents;
use crate::state::{AccountState, LockKind};

/// The bit of `DayBook::warned` that records the alert-only breach alert.
const BREACH_ALERTED: u32 = 1 << 31;

/// After a position or price change of `c`.
pub(crate) fn on_price(
    w: &World<'_>,
    acct: &mut AccountState,
    intents: &mut Intents,
    c: &ContractId,
) {
    if w.rules.daily_realized_loss.enabled && w.rules.daily_realized_loss.include_unrealized {
        daily(w, acct, intents);
    }
    unrealized(
        w,
        acct,
        intents,
        c,
        RuleId::DailyUnrealizedLoss,
        &w.rules.daily_unrealized_loss,
    );
    unrealized(
        w,
        acct,
        intents,
        c,
        RuleId::MaxUnrealizedProfit,
        &w.rules.max_unrealized_profit,
    );
}

/// After a fill.
pub(crate) fn on_trade(w: &World<'_>, acct: &mut AccountState, intents: &mut Intents) {
    if w.rules.daily_realized_loss.enabled {
        daily(w, acct, intents);
    }
}

fn daily(w: &World<'_>, acct: &mut AccountState, intents: &mut Intents) {
    let cfg = &w.rules.daily_realized_loss;
    let mut pnl = acct.realized();
    if cfg.include_unrealized {
        pnl += acct.unrealized_total();
    }
    let limit = cfg.loss_limit;
    let id = acct.id;
    let what = if cfg.include_unrealized {
        "day P&L (with open positions)"
    } else {
        "day P&L"
    };
    if pnl <= -limit {
        let reason = format!("{what} {} reached the -{} limit", money(pnl), money(limit));
        match cfg.action {
            RealizedLossAction::CloseAllAndLockout => {
                intents.act(
                    id,
                    RuleId::DailyRealizedLoss,
                    Action::CloseAllPositions,
                    reason.clone(),
                );
                intents.act(
                    id,
                    RuleId::DailyRealizedLoss,
                    Action::CancelAllOrders,
                    reason.clone(),
                );
                let (kind, until) = match cfg.lockout_until {
                    LockoutUntil::DailyReset => (LockKind::DailyReset, w.next_reset),
                    LockoutUntil::Permanent => (LockKind::Permanent, None),
                };
                intents.lock(id, RuleId::DailyRealizedLoss, kind, until, reason);
            }
            RealizedLossAction::CloseAll => {
                intents.act(
                    id,
                    RuleId::DailyRealizedLoss,
                    Action::CloseAllPositions,
                    reason.clone(),
                );
                intents.act(
                    id,
                    RuleId::DailyRealizedLoss,
                    Action::CancelAllOrders,
                    reason,
                );
            }
            RealizedLossAction::Alert => {
                if acct.day.warned & BREACH_ALERTED == 0 {
                    acct.day.warned |= BREACH_ALERTED;
                    intents.act(
                        id,
                        RuleId::DailyRealizedLoss,
                        Action::Alert {
                            level: AlertLevel::Warning,
                        },
                        reason,
                    );
                }
            }
        }
    }
    for (i, fraction) in cfg.warn_at.iter().enumerate().take(31) {
        let bit = 1u32 << i;
        let level = -limit * fraction;
        if acct.day.warned & bit == 0 && pnl <= level {
            acct.day.warned |= bit;
            let pct = (fraction * Decimal::ONE_HUNDRED).normalize();
            let reason = format!(
                "{what} {} reached {pct}% of the -{} limit",
                money(pnl),
                money(limit)
            );
            intents.act(
                id,
                RuleId::DailyRealizedLoss,
                Action::Alert {
                    level: AlertLevel::Warning,
                },
                reason,
            );
        }
    }
}

fn unrealized(
    w: &World<'_>,
    acct: &AccountState,
    intents: &mut Intents,
    c: &ContractId,
    rule: RuleId,
    cfg: &UnrealizedLimit,
) {
    if !cfg.enabled {
        return;
    }
    let loss = rule == RuleId::DailyUnrealizedLoss;
    let breached = |v: Decimal| {
        if loss {
            v <= -cfg.limit
        } else {
            v >= cfg.limit
        }
    };
    // Built only on a breach: this runs for every price-moving quote of every holder.
    let bound = || {
        if loss {
            format!("the -{} limit", money(cfg.limit))
        } else {
            format!("the {} target", money(cfg.limit))
        }
    };
    match cfg.scope {
        Scope::PerPosition => {
            let Some(v) = acct.positions.get(c).and_then(|p| p.unrealized) else {
                return;
            };
            if breached(v) {
                let root = w.roots(c);
                let reason = format!(
                    "{} open P&L {} reached {}",
                    root.display(),
                    money(v),
                    bound()
                );
                intents.act(
                    acct.id,
                    rule,
                    Action::ClosePosition {
                        contract: c.clone(),
                    },
                    reason,
                );
            }
        }
        Scope::Total => {
            if !acct.positions.values().any(|p| p.unrealized.is_some()) {
                return;
            }
            let v = acct.unrealized_total();
            if breached(v) {
                let reason = format!("open P&L {} reached {}", money(v), bound());
                intents.act(acct.id, rule, Action::CloseAllPositions, reason.clone());
                if cfg.lockout {
                    intents.act(acct.id, rule, Action::CancelAllOrders, reason.clone());
                    intents.lock(acct.id, rule, LockKind::DailyReset, w.next_reset, reason);
                }
            }
        }
    }
}
