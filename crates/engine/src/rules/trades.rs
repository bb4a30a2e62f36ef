//! Fills: the day's book (P&L, opening orders, closing orders, voids), `trade_frequency_limit` (RULE-006)
//! and `cooldown_after_loss` (RULE-007).
//!
//! A trade, for frequency, is one order that opened or added to a position: distinct orderIds of non-voided
//! fills with a null profitAndLoss. A closing order's loss is the running total of its fills, so a split exit
//! is judged on what it has lost so far.

use jiff::{SignedDuration, Timestamp};
use model::config::FrequencyWindow;
use model::decision::RuleId;
use model::event::Fill;
use rust_decimal::Decimal;

use super::{World, money};
use crate::intent::Intents;
use crate::state::{AccountState, FillRecord};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FillKind {
    /// The first fill of an order that opens or adds: a new trade for frequency limits.
    NewOpeningOrder,
    /// A fill with realized P&L.
    Closing,
    /// A further opening fill of a known order, or a void.
    Other,
}

/// Book a fill. `None` when it changes nothing (a duplicate, or a void of an unknown fill).
pub(crate) fn record(w: &World<'_>, acct: &mut AccountState, f: &Fill) -> Option<FillKind> {
    let day = &mut acct.day;
    if let Some(rec) = day.fills.get_mut(&f.trade) {
        if !f.voided || rec.voided {
            return None;
        }
        // A voided fill is removed from every count it entered.
        rec.voided = true;
        let rec = rec.clone();
        day.realized -= rec.net;
        if rec.opening {
            let left = day.opening_fill_counts.get_mut(&rec.order).map(|n| {
                *n -= 1;
                *n
            });
            if left == Some(0) {
                day.opening_fill_counts.remove(&rec.order);
                day.opening_orders.retain(|(_, o)| *o != rec.order);
            }
        } else if let Some(co) = day.closing_orders.get_mut(&rec.order) {
            co.net -= rec.net;
        }
        return Some(FillKind::Other);
    }
    if f.voided {
        let rec = FillRecord {
            order: f.order,
            net: Decimal::ZERO,
            opening: f.pnl.is_none(),
            voided: true,
        };
        day.fills.insert(f.trade, rec);
        return None;
    }
    let fees = if w.config.global.subtract_fees {
        f.fees
    } else {
        Decimal::ZERO
    };
    let net = f.pnl.unwrap_or(Decimal::ZERO) - fees;
    day.realized += net;
    day.fills.insert(
        f.trade,
        FillRecord {
            order: f.order,
            net,
            opening: f.pnl.is_none(),
            voided: false,
        },
    );
    if f.pnl.is_none() {
        let n = day.opening_fill_counts.entry(f.order).or_insert(0);
        *n += 1;
        if *n == 1 {
            day.opening_orders.push((w.now, f.order));
            return Some(FillKind::NewOpeningOrder);
        }
        Some(FillKind::Other)
    } else {
        day.closing_orders.entry(f.order).or_default().net += net;
        Some(FillKind::Closing)
    }
}

fn window_name(window: FrequencyWindow) -> &'static str {
    match window {
        FrequencyWindow::Minute => "in the last minute",
        FrequencyWindow::Hour => "in the last hour",
        FrequencyWindow::Session => "this trading day",
    }
}

/// Trades (opening orders) the frequency rule counts in `window` at `now`; the day starts at `day_start`.
pub(crate) fn trades_in(
    acct: &AccountState,
    window: FrequencyWindow,
    now: Timestamp,
    day_start: Timestamp,
) -> usize {
    let since = match window {
        FrequencyWindow::Minute => now - SignedDuration::from_secs(60),
        FrequencyWindow::Hour => now - SignedDuration::from_secs(3600),
        FrequencyWindow::Session => {
            return acct
                .day
                .opening_orders
                .iter()
                .filter(|(t, _)| *t >= day_start)
                .count();
        }
    };
    acct.day
        .opening_orders
        .iter()
        .filter(|(t, _)| *t > since)
        .count()
}

pub(crate) fn frequency(w: &World<'_>, acct: &mut AccountState, intents: &mut Intents) {
    let cfg = &w.rules.trade_frequency_limit;
    let now = w.now;
    let hour_ago = now - SignedDuration::from_secs(3600);
    let day_start = w.day_start.unwrap_or(Timestamp::MIN);
    // Keep what any window can still count.
    acct.day
        .opening_orders
        .retain(|(t, _)| *t > hour_ago || *t >= day_start);
    if !cfg.enabled {
        return;
    }
    let mut worst: Option<(u32, String)> = None;
    for win in &cfg.windows {
        let count = trades_in(acct, win.window, now, day_start);
        if count as u64 > u64::from(win.limit)
            && worst
                .as_ref()
                .is_none_or(|(s, _)| win.cooldown_seconds > *s)
        {
            let reason = format!(
                "{count} trades {}, above the limit of {}: {} s cooldown",
                window_name(win.window),
                win.limit,
                win.cooldown_seconds
            );
            worst = Some((win.cooldown_seconds, reason));
        }
    }
    if let Some((secs, reason)) = worst {
        let until = now + SignedDuration::from_secs(i64::from(secs));
        intents.cooldown(acct.id, RuleId::TradeFrequencyLimit, until, reason);
    }
}

pub(crate) fn cooldown_after_loss(
    w: &World<'_>,
    acct: &mut AccountState,
    intents: &mut Intents,
    f: &Fill,
) {
    let cfg = &w.rules.cooldown_after_loss;
    if !cfg.enabled {
        return;
    }
    let Some(co) = acct.day.closing_orders.get_mut(&f.order) else {
        return;
    };
    let loss = -co.net;
    // Tiers are sorted ascending: the largest reached wins.
    let Some(tier) = cfg.tiers.iter().rposition(|t| loss >= t.loss) else {
        return;
    };
    if co.tier.is_some_and(|reached| reached >= tier) {
        return;
    }
    co.tier = Some(tier);
    let t = cfg.tiers[tier];
    let until = w.now + SignedDuration::from_secs(i64::from(t.cooldown_seconds));
    let reason = format!(
        "order {} lost {}, reaching the {} tier: {} s cooldown",
        f.order,
        money(loss),
        money(t.loss),
        t.cooldown_seconds
    );
    intents.cooldown(acct.id, RuleId::CooldownAfterLoss, until, reason);
}
