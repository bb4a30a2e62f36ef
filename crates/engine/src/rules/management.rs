//! `trade_management` (RULE-012): automatic breakeven and trailing stops.
//!
//! Profit in ticks = (last − average) / tick, negated for shorts. Breakeven moves the stop to entry ± offset
//! once the trigger is reached; trailing keeps it `distance` ticks behind the best price once activated. The
//! stop only ever tightens, is rounded to the tick in the protective direction, and is placed once per position
//! when none exists. The daemon's own stops are cancelled when the position they protect is gone.

use model::decision::{Action, RuleId};
use model::event::Side;
use model::ids::{ContractId, OrderId};
use rust_decimal::{Decimal, RoundingStrategy};

use super::World;
use crate::intent::Intents;
use crate::state::AccountState;

fn round_protective(price: Decimal, tick: Decimal, long: bool) -> Decimal {
    let ticks = price / tick;
    let strategy = if long {
        RoundingStrategy::ToNegativeInfinity
    } else {
        RoundingStrategy::ToPositiveInfinity
    };
    (ticks.round_dp_with_strategy(0, strategy) * tick).normalize()
}

/// The stop to move: the daemon's own for this position, else the trader's tightest closing-side stop.
fn current_stop(
    acct: &AccountState,
    c: &ContractId,
    size: i64,
) -> Option<(OrderId, Option<Decimal>)> {
    let long = size > 0;
    let stops = acct
        .orders
        .iter()
        .filter(|(_, o)| o.is_closing_stop(c, size));
    let own = stops.clone().find(|(_, o)| o.own);
    let chosen = own.or_else(|| {
        stops.max_by(|(_, a), (_, b)| {
            let (a, b) = (a.stop_price, b.stop_price);
            if long { a.cmp(&b) } else { b.cmp(&a) }
        })
    });
    chosen.map(|(id, o)| (*id, o.stop_price))
}

pub(crate) fn on_price(
    w: &World<'_>,
    acct: &mut AccountState,
    intents: &mut Intents,
    c: &ContractId,
) {
    let cfg = &w.rules.trade_management;
    if !cfg.enabled || !(cfg.auto_breakeven.enabled || cfg.trailing_stop.enabled) {
        return;
    }
    let Some(meta) = w
        .contracts
        .get(c)
        .filter(|m| m.known && !m.tick_size.is_zero())
    else {
        return;
    };
    let Some(last) = w.last(c) else { return };
    let stop = acct
        .positions
        .get(c)
        .and_then(|p| current_stop(acct, c, p.size));
    let Some(p) = acct.positions.get_mut(c) else {
        return;
    };
    if p.size == 0 || p.close_decided.is_some() {
        return;
    }
    let tick = meta.tick_size;
    let long = p.size > 0;
    let sign = if long {
        Decimal::ONE
    } else {
        Decimal::NEGATIVE_ONE
    };
    let ticks = (last - p.average_price) / tick * sign;
    let best = match p.mgmt.best {
        Some(b) if long => b.max(last),
        Some(b) => b.min(last),
        None => last,
    };
    p.mgmt.best = Some(best);

    // Which feature asks for the tighter stop; the reason text is only built when a decision is taken.
    #[derive(Clone, Copy)]
    enum Why {
        Breakeven,
        Trailing,
    }
    let mut desired: Option<(Decimal, Why)> = None;
    let mut consider = |price: Decimal, why: Why| {
        let price = round_protective(price, tick, long);
        let better = desired
            .as_ref()
            .is_none_or(|(d, _)| if long { price > *d } else { price < *d });
        if better {
            desired = Some((price, why));
        }
    };
    let be = &cfg.auto_breakeven;
    if be.enabled && ticks >= Decimal::from(be.trigger_ticks) {
        consider(
            p.average_price + sign * Decimal::from(be.offset_ticks) * tick,
            Why::Breakeven,
        );
    }
    let tr = &cfg.trailing_stop;
    if tr.enabled && (p.mgmt.trailing_active || ticks >= Decimal::from(tr.activation_ticks)) {
        p.mgmt.trailing_active = true;
        consider(
            best - sign * Decimal::from(tr.distance_ticks) * tick,
            Why::Trailing,
        );
    }
    let explain = |why: Why| match why {
        Why::Breakeven => format!(
            "breakeven: +{} ticks reached the {} tick trigger",
            ticks.normalize(),
            be.trigger_ticks
        ),
        Why::Trailing => format!(
            "trailing: {} ticks behind the best price {}",
            tr.distance_ticks,
            best.normalize()
        ),
    };
    let Some((price, why)) = desired else { return };
    let tighter = |than: Decimal| if long { price > than } else { price < than };
    match stop {
        Some((order, current)) => {
            let beats_current = current.is_none_or(tighter);
            let beats_requested = p.mgmt.requested.is_none_or(tighter);
            if current.is_some() && beats_current && beats_requested {
                p.mgmt.requested = Some(price);
                let from = current
                    .map(|c| c.normalize().to_string())
                    .unwrap_or_default();
                let reason = format!("{}: stop {from} → {price}", explain(why));
                intents.act(
                    acct.id,
                    RuleId::TradeManagement,
                    Action::ModifyStop {
                        order,
                        stop_price: price,
                    },
                    reason,
                );
            }
        }
        None if !p.mgmt.placed => {
            p.mgmt.placed = true;
            p.mgmt.requested = Some(price);
            let side = Side::reducing(p.size);
            let size = p.size.abs();
            let reason = format!("{}: no stop, placing one at {price}", explain(why));
            let action = Action::PlaceStop {
                contract: c.clone(),
                side,
                size,
                stop_price: price,
            };
            intents.act(acct.id, RuleId::TradeManagement, action, reason);
        }
        None => {}
    }
}

/// Cancel riskguard's own orders in `c` that no longer protect the position (it went flat or reversed), so
/// an orphaned stop can never open a new position. Runs on position and order events alike: either can be
/// the one that reveals the orphan.
fn cancel_orphans(acct: &AccountState, intents: &mut Intents, c: &ContractId) {
    let size = acct.positions.get(c).map_or(0, |p| p.size);
    for (id, o) in &acct.orders {
        if o.own && &o.contract == c && (size == 0 || !o.is_closing_stop(c, size)) {
            let reason = "the position it protected is gone: cancelling riskguard's own stop";
            let action = Action::CancelOrder { order: *id };
            intents.act(acct.id, RuleId::TradeManagement, action, reason.to_string());
        }
    }
}

pub(crate) fn on_position(
    w: &World<'_>,
    acct: &mut AccountState,
    intents: &mut Intents,
    c: &ContractId,
    size: i64,
) {
    cancel_orphans(acct, intents, c);
    if size != 0 {
        on_price(w, acct, intents, c);
    }
}

/// `stop_gone`: the event shows a stop leaving without a fill (cancelled, expired, rejected). A filled stop
/// means the position is closing, so no new stop is placed for it.
pub(crate) fn on_order(
    w: &World<'_>,
    acct: &mut AccountState,
    intents: &mut Intents,
    c: &ContractId,
    stop_gone: bool,
) {
    cancel_orphans(acct, intents, c);
    if !w.rules.trade_management.enabled {
        return;
    }
    let Some(size) = acct.positions.get(c).map(|p| p.size) else {
        return;
    };
    if stop_gone && !acct.has_closing_stop(c, size) {
        if let Some(p) = acct.positions.get_mut(c) {
            // An order event shows no stop while the position is open: a stop may be placed again.
            p.mgmt.placed = false;
            p.mgmt.requested = None;
        }
        on_price(w, acct, intents, c);
    }
}
