//! End to end, one test per rule family: the daemon against the simulator on 127.0.0.1 port 0, each with its
//! own minimal risk config. The trader acts through the simulator's ordinary REST API; the simulator's state
//! (positions, working orders, REST call counts) shows the enforcement. Every wait is a condition with a
//! deadline; where a test shows that something did NOT happen, it waits on a later decision instead (see
//! `Rig::barrier`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{MNQ, RTY, calls_in, rig, size_in, working_order};
use model::decision::{Action, Decision, RuleId};
use model::ids::{ContractId, OrderId};
use serde_json::json;

const MES: &str = "CON.F.US.MES.Z25";
const CLOSE: &str = "/api/Position/closeContract";
const PARTIAL: &str = "/api/Position/partialCloseContract";

fn closes(d: &Decision, contract: &str) -> bool {
    matches!(&d.action, Action::ClosePosition { contract: c } if c.as_str() == contract)
}

fn gate_closes(d: &Decision, contract: &str) -> bool {
    d.rule == RuleId::LockoutGuard && closes(d, contract)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_contracts_per_instrument_reduces_to_the_limit() {
    let mut rig = rig(
        "rules:\n  max_contracts_per_instrument: { enabled: true, limits: { MNQ: 2 }, action: reduce_to_limit }\n",
        "per-instrument",
    )
    .await;
    rig.price(MNQ, 21000).await;
    rig.market(MNQ, 0, 3).await;
    let d = rig.decision(RuleId::MaxContractsPerInstrument).await;
    assert_eq!(
        d.action,
        Action::PartialClose {
            contract: ContractId::from(MNQ),
            size: 1
        },
        "{}",
        d.reason
    );
    let s = rig.until_size(MNQ, 2).await;
    assert_eq!(calls_in(&s, PARTIAL), 1, "one partial close for one breach");
    assert_eq!(
        calls_in(&s, CLOSE),
        0,
        "the position is reduced, not closed"
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_unrealized_loss_closes_the_position_at_the_limit() {
    let mut rig = rig(
        "rules:\n  daily_unrealized_loss: { enabled: true, loss_limit: 50.00, scope: per_position }\n",
        "unrealized-loss",
    )
    .await;
    rig.price(MNQ, 21000).await;
    rig.market(MNQ, 0, 1).await;
    rig.until_quotes(MNQ).await;
    rig.price(MNQ, 20990).await; // -$20: inside the limit
    rig.price(MNQ, 20975).await; // -25 points × $2 = -$50: the limit itself (inclusive)
    let d = rig.decision(RuleId::DailyUnrealizedLoss).await;
    assert!(closes(&d, MNQ), "{d:?}");
    assert!(d.reason.contains("-50"), "{}", d.reason);
    rig.until_flat(MNQ).await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_unrealized_profit_closes_the_position_at_the_target() {
    let mut rig = rig(
        "rules:\n  max_unrealized_profit: { enabled: true, profit_target: 50.00, scope: per_position }\n",
        "unrealized-profit",
    )
    .await;
    rig.price(MNQ, 21000).await;
    rig.market(MNQ, 0, 1).await;
    rig.until_quotes(MNQ).await;
    rig.price(MNQ, 21010).await; // +$20
    rig.price(MNQ, 21025).await; // +$50: the target
    let d = rig.decision(RuleId::MaxUnrealizedProfit).await;
    assert!(closes(&d, MNQ), "{d:?}");
    assert!(d.reason.contains("50"), "{}", d.reason);
    rig.until_flat(MNQ).await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trade_frequency_limit_sets_a_cooldown_and_the_gate_closes() {
    let mut rig = rig(
        "rules:\n  trade_frequency_limit: { enabled: true, per_minute: 2, cooldown_seconds: { per_minute: 60 } }\n",
        "frequency",
    )
    .await;
    rig.price(MNQ, 21000).await;
    rig.market(MNQ, 0, 1).await;
    rig.market(MNQ, 0, 1).await;
    rig.until_size(MNQ, 2).await;
    rig.market(MNQ, 0, 1).await; // the third opening order in a minute
    let (before, d) = rig
        .decisions_until("a frequency cooldown", 10, |d| {
            d.rule == RuleId::TradeFrequencyLimit
        })
        .await;
    assert!(before.is_empty(), "two trades are allowed: {before:?}");
    let Action::Cooldown { until } = d.action else {
        panic!("{d:?}")
    };
    let secs = until.duration_since(d.t).as_secs_f64();
    assert!((59.0..=61.0).contains(&secs), "cooldown of {secs} s");
    // The position event of that third trade grows the position under the lock: the gate closes it.
    let d = rig.decision(RuleId::LockoutGuard).await;
    assert!(gate_closes(&d, MNQ), "{d:?}");
    assert!(d.reason.contains("trade_frequency_limit"), "{}", d.reason);
    rig.until_flat(MNQ).await;
    // A new entry during the cooldown is closed too.
    rig.market(MNQ, 0, 1).await;
    let d = rig.decision(RuleId::LockoutGuard).await;
    assert!(gate_closes(&d, MNQ), "{d:?}");
    rig.until_flat(MNQ).await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooldown_after_loss_closes_an_entry_during_the_cooldown() {
    let mut rig = rig(
        "rules:\n  cooldown_after_loss: { enabled: true, tiers: [ { loss: 10.00, cooldown_seconds: 300 }, { loss: 500.00, cooldown_seconds: 900 } ] }\n",
        "cooldown-after-loss",
    )
    .await;
    rig.price(MNQ, 21000).await;
    rig.market(MNQ, 0, 1).await;
    rig.price(MNQ, 20990).await;
    rig.market(MNQ, 1, 1).await; // -10 points = -$20, fees -$2.80: tier 10 reached, tier 500 not
    let d = rig.decision(RuleId::CooldownAfterLoss).await;
    let Action::Cooldown { until } = d.action else {
        panic!("{d:?}")
    };
    let secs = until.duration_since(d.t).as_secs_f64();
    assert!((299.0..=301.0).contains(&secs), "the 300 s tier: {secs} s");
    rig.until_flat(MNQ).await;
    rig.market(MNQ, 0, 1).await;
    let d = rig.decision(RuleId::LockoutGuard).await;
    assert!(gate_closes(&d, MNQ), "{d:?}");
    assert!(d.reason.contains("cooldown_after_loss"), "{}", d.reason);
    rig.until_flat(MNQ).await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_stop_loss_grace_closes_only_the_position_without_a_stop() {
    let mut rig = rig(
        "rules:\n  no_stop_loss_grace: { enabled: true, grace_period_seconds: 2 }\n",
        "grace",
    )
    .await;
    rig.price(MES, 5000).await;
    rig.price(MNQ, 21000).await;
    // MES: the closing-side stop is placed before the entry; MNQ: no stop at all. MES opens first, so its
    // grace (had it one) would end before MNQ's.
    let stop = rig.stop_order(MES, 1, 1, json!(4990)).await;
    rig.market(MES, 0, 1).await;
    let entered = jiff::Timestamp::now();
    rig.market(MNQ, 0, 1).await;
    let (before, d) = rig
        .decisions_until("the grace close", 10, |d| d.rule == RuleId::NoStopLossGrace)
        .await;
    assert!(before.is_empty(), "{before:?}");
    assert!(closes(&d, MNQ), "{d:?}");
    let waited = d.t.duration_since(entered).as_secs_f64();
    assert!(
        (2.0..5.0).contains(&waited),
        "closed {waited} s after the entry"
    );
    rig.until_flat(MNQ).await;
    // Nothing about MES was decided, before or with MNQ's close, and the simulator still holds it and its stop.
    while let Ok(d) = rig.decisions.try_recv() {
        assert!(!closes(&d, MES), "the stopped position was closed: {d:?}");
    }
    let s = rig.state().await;
    assert_eq!(size_in(&s, MES), 1, "{}", s["positions"]);
    assert!(working_order(&s, stop).is_some(), "{}", s["workingOrders"]);
    assert_eq!(calls_in(&s, CLOSE), 1, "only MNQ was closed");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_loss_guard_flattens_and_unlocks_when_can_trade_returns() {
    let mut rig = rig(
        "rules:\n  auth_loss_guard: { enabled: true, flatten: true }\n  symbol_blocks: { enabled: true, blocked_symbols: [RTY] }\n",
        "auth-loss",
    )
    .await;
    rig.price(MNQ, 21000).await;
    rig.price(MES, 5000).await;
    rig.price(RTY, 2050).await;
    rig.market(MNQ, 0, 1).await;
    let entry = rig.limit(MES, 0, 1, json!(4900)).await;
    rig.until("the position and the resting entry", 10, |s| {
        size_in(s, MNQ) == 1 && working_order(s, entry).is_some()
    })
    .await;
    rig.can_trade(false).await;
    let (before, d) = rig
        .decisions_until("the canTrade lock", 10, |d| {
            d.rule == RuleId::AuthLossGuard && matches!(d.action, Action::Lockout { .. })
        })
        .await;
    assert_eq!(
        d.action,
        Action::Lockout { until: None },
        "until canTrade returns"
    );
    for want in [Action::CloseAllPositions, Action::CancelAllOrders] {
        assert!(
            before
                .iter()
                .any(|d| d.rule == RuleId::AuthLossGuard && d.action == want),
            "{want:?} in {before:?}"
        );
    }
    rig.until("flat and no working orders", 10, |s| {
        s["positions"].as_array().unwrap().is_empty()
            && s["workingOrders"].as_array().unwrap().is_empty()
    })
    .await;

    rig.can_trade(true).await;
    let d = rig
        .decision_where("the unlock", |d| d.action == Action::Unlock)
        .await;
    assert_eq!(d.rule, RuleId::AuthLossGuard, "{d:?}");
    let closes_before = calls_in(&rig.state().await, CLOSE);
    rig.market(MNQ, 0, 1).await;
    let before = rig.barrier().await;
    assert!(
        !before.iter().any(|d| d.rule == RuleId::LockoutGuard),
        "a new position after the unlock was closed: {before:?}"
    );
    let s = rig.state().await;
    assert_eq!(size_in(&s, MNQ), 1, "{}", s["positions"]);
    assert_eq!(calls_in(&s, CLOSE), closes_before);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symbol_blocks_cancels_a_resting_order() {
    let mut rig = rig(
        "rules: { symbol_blocks: { enabled: true, blocked_symbols: [RTY] } }",
        "blocked-order",
    )
    .await;
    rig.price(RTY, 2050).await;
    let order = rig.limit(RTY, 0, 1, json!(2000)).await;
    let d = rig.decision(RuleId::SymbolBlocks).await;
    assert_eq!(
        d.action,
        Action::CancelOrder {
            order: OrderId(order)
        },
        "{}",
        d.reason
    );
    let s = rig
        .until("the RTY order gone", 10, |s| {
            working_order(s, order).is_none()
        })
        .await;
    assert_eq!(calls_in(&s, "/api/Order/cancel"), 1);
    rig.stop().await;
}

/// A one-minute `default` window twelve hours from now (America/Chicago), every day, and when it opens.
fn far_window() -> (String, String, jiff::Timestamp) {
    use jiff::ToSpan;
    let tz = "America/Chicago";
    let later = jiff::Timestamp::now()
        .in_tz(tz)
        .unwrap()
        .checked_add(12.hours())
        .unwrap();
    let opens = later
        .date()
        .at(later.hour(), later.minute(), 0, 0)
        .in_tz(tz)
        .unwrap();
    let end = opens.checked_add(1.minute()).unwrap();
    (
        format!("{:02}:{:02}", opens.hour(), opens.minute()),
        format!("{:02}:{:02}", end.hour(), end.minute()),
        opens.timestamp(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_block_outside_closes_locks_until_the_window_and_the_gate_holds() {
    let (start, end, opens) = far_window();
    let rules = format!(
        "global: {{ timezone: America/Chicago }}\nrules:\n  session_block_outside:\n    enabled: true\n    timezone: America/Chicago\n    sessions:\n      default: {{ start: \"{start}\", end: \"{end}\", days: [mon, tue, wed, thu, fri, sat, sun] }}\n    respect_holidays: false\n    close_positions_at_session_end: true\n    lockout_outside_session: true\n"
    );
    let mut rig = rig(&rules, "session").await;
    rig.price(MNQ, 21000).await;
    rig.market(MNQ, 0, 1).await;
    // The close and the lock until the window opens again are decided at the same instant.
    let mut close = None;
    let mut lock = None;
    while close.is_none() || lock.is_none() {
        let d = rig
            .decision_where("the session close and lock", |d| {
                d.rule == RuleId::SessionBlockOutside
            })
            .await;
        match d.action {
            Action::Lockout { .. } => lock = Some(d),
            _ if closes(&d, MNQ) => close = Some(d),
            _ => {}
        }
    }
    let (close, lock) = (close.unwrap(), lock.unwrap());
    assert!(close.reason.contains("MNQ"), "{}", close.reason);
    assert_eq!(close.t, lock.t);
    assert_eq!(
        lock.action,
        Action::Lockout { until: Some(opens) },
        "window {start}-{end}: {}",
        lock.reason
    );
    rig.until_flat(MNQ).await;
    rig.market(MNQ, 0, 1).await;
    let d = rig.decision(RuleId::LockoutGuard).await;
    assert!(gate_closes(&d, MNQ), "{d:?}");
    assert!(d.reason.contains("session_block_outside"), "{}", d.reason);
    rig.until_flat(MNQ).await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trade_management_places_a_breakeven_stop_and_cancels_it_when_flat() {
    let mut rig = rig(
        "rules:\n  trade_management:\n    enabled: true\n    auto_breakeven: { enabled: true, trigger_ticks: 4, offset_ticks: 0 }\n    trailing_stop: { enabled: false }\n",
        "breakeven",
    )
    .await;
    rig.price(MNQ, 21000).await;
    rig.market(MNQ, 0, 1).await;
    rig.until_quotes(MNQ).await;
    rig.set_price(MNQ, json!(21000.75)).await; // +3 ticks: not yet
    rig.set_price(MNQ, json!(21001.25)).await; // +5 ticks ≥ the 4-tick trigger
    let d = rig.decision(RuleId::TradeManagement).await;
    assert!(matches!(d.action, Action::PlaceStop { .. }), "{d:?}");
    let own_stop = |s: &serde_json::Value| {
        s["workingOrders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| {
                o["customTag"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("riskguard:"))
            })
            .cloned()
    };
    let s = rig
        .until("riskguard's own stop", 10, |s| own_stop(s).is_some())
        .await;
    let stop = own_stop(&s).unwrap();
    assert_eq!(stop["type"], json!(4), "a stop order: {stop}");
    assert_eq!(stop["side"], json!(1), "on the closing side (sell): {stop}");
    assert_eq!(stop["size"], json!(1), "{stop}");
    assert_eq!(
        stop["stopPrice"].to_string().parse::<f64>().unwrap(),
        21000.0,
        "at the entry price: {stop}"
    );
    // The trader closes the position: the daemon's stop is cancelled.
    rig.market(MNQ, 1, 1).await;
    rig.until_flat(MNQ).await;
    let s = rig
        .until("the own stop cancelled", 10, |s| {
            s["workingOrders"].as_array().unwrap().is_empty()
        })
        .await;
    assert_eq!(calls_in(&s, "/api/Order/cancel"), 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_decides_but_sends_nothing() {
    let mut rig = rig(
        "global: { dry_run: true }\nrules:\n  max_contracts: { enabled: true, limit: 2, action: close_all }\n  symbol_blocks: { enabled: true, blocked_symbols: [RTY] }\n",
        "dry-run",
    )
    .await;
    rig.price(MNQ, 21000).await;
    rig.price(RTY, 2050).await;
    rig.market(MNQ, 0, 3).await;
    let d = rig.decision(RuleId::MaxContracts).await;
    assert!(d.dry_run, "{d:?}");
    assert!(d.action.is_destructive(), "{d:?}");
    // The barrier's own cancel is a dry-run decision too; once it is taken the close would have been sent.
    let before = rig.barrier().await;
    assert!(before.iter().all(|d| d.dry_run), "{before:?}");
    let s = rig.state().await;
    assert_eq!(
        size_in(&s, MNQ),
        3,
        "the position stays open: {}",
        s["positions"]
    );
    assert_eq!(calls_in(&s, CLOSE), 0, "{}", s["restCalls"]);
    assert_eq!(calls_in(&s, "/api/Order/cancel"), 0, "{}", s["restCalls"]);
    assert_eq!(
        s["workingOrders"].as_array().unwrap().len(),
        1,
        "the RTY order stays"
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_blocks_new_positions_until_it_ends() {
    let mut rig = rig(
        "rules:\n  cooldown_after_loss: { enabled: true, tiers: [ { loss: 10.00, cooldown_seconds: 3 } ] }\n  symbol_blocks: { enabled: true, blocked_symbols: [RTY] }\n",
        "lock-ends",
    )
    .await;
    rig.price(MNQ, 21000).await;
    rig.price(RTY, 2050).await;
    rig.market(MNQ, 0, 1).await;
    rig.price(MNQ, 20990).await;
    rig.market(MNQ, 1, 1).await;
    let d = rig.decision(RuleId::CooldownAfterLoss).await;
    assert!(matches!(d.action, Action::Cooldown { .. }), "{d:?}");
    rig.until_flat(MNQ).await;
    // During the cooldown: closed.
    rig.market(MNQ, 0, 1).await;
    let d = rig.decision(RuleId::LockoutGuard).await;
    assert!(gate_closes(&d, MNQ), "{d:?}");
    rig.until_flat(MNQ).await;
    // The cooldown ends on its own.
    let d = rig
        .decision_where("the unlock", |d| d.action == Action::Unlock)
        .await;
    assert_eq!(d.rule, RuleId::CooldownAfterLoss, "{d:?}");
    // After it: an entry stays.
    let closes_before = calls_in(&rig.state().await, CLOSE);
    rig.market(MNQ, 0, 1).await;
    let before = rig.barrier().await;
    assert!(
        !before.iter().any(|d| d.rule == RuleId::LockoutGuard),
        "an entry after the unlock was closed: {before:?}"
    );
    let s = rig.state().await;
    assert_eq!(size_in(&s, MNQ), 1, "{}", s["positions"]);
    assert_eq!(calls_in(&s, CLOSE), closes_before);
    rig.stop().await;
}
