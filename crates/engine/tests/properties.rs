//! Property tests of engine invariants over random event streams:
//! snapshot/restore equivalence, locks that never shorten, day P&L = sum of the day's fills, and no
//! destructive decision without a breach that explains it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use engine::Engine;
use jiff::{SignedDuration, Timestamp};
use model::config::RiskConfig;
use model::decision::{Action, Decision, RuleId};
use model::event::{
    AccountUpdate, ContractInfo, Event, Fill, OrderStatus, OrderType, OrderUpdate, PositionUpdate,
    Quote, Side,
};
use model::ids::{AccountId, ContractId, OrderId, TradeId};
use proptest::prelude::*;
use rust_decimal::Decimal;

const ALL_RULES: &str = r#"
global: { timezone: "America/Chicago", reset_time: "17:00", subtract_fees: true }
rules:
  max_contracts: { enabled: true, limit: 4, action: close_all }
  max_contracts_per_instrument: { enabled: true, limits: { MNQ: 3, ES: 2 }, action: reduce_to_limit }
  daily_realized_loss: { enabled: true, loss_limit: 500, include_unrealized: false }
  daily_unrealized_loss: { enabled: true, loss_limit: 300, scope: per_position }
  max_unrealized_profit: { enabled: true, profit_target: 600, scope: total, lockout: true }
  trade_frequency_limit: { enabled: true, per_minute: 3, per_hour: 10, cooldown_seconds: { per_minute: 60, per_hour: 600 } }
  cooldown_after_loss: { enabled: true, tiers: [ { loss: 100, cooldown_seconds: 120 }, { loss: 200, cooldown_seconds: 300 } ] }
  no_stop_loss_grace: { enabled: true, grace_period_seconds: 30 }
  session_block_outside:
    enabled: true
    sessions: { default: { start: "08:30", end: "15:00", days: [mon, tue, wed, thu, fri] } }
  auth_loss_guard: { enabled: true, flatten: true }
  symbol_blocks: { enabled: true, blocked_symbols: [RTY] }
  trade_management:
    enabled: true
    auto_breakeven: { enabled: true, trigger_ticks: 8, offset_ticks: 0 }
    trailing_stop: { enabled: true, activation_ticks: 16, distance_ticks: 8 }
"#;

fn config(text: &str) -> Arc<RiskConfig> {
    Arc::new(
        config::parse_risk_config(text, Path::new("test.yaml"), None).expect("valid test config"),
    )
}

const CONTRACTS: [(&str, &str, i64, i64); 3] = [
    ("CON.F.US.MNQ.H26", "MNQH6", 25, 50),
    ("CON.F.US.EP.H26", "ESH6", 25, 1250),
    ("CON.F.US.RTY.H26", "RTYH6", 10, 500),
];

fn contract(i: usize) -> ContractId {
    ContractId::new(CONTRACTS[i % CONTRACTS.len()].0)
}

fn cents(c: i64) -> Decimal {
    Decimal::new(c, 2)
}

/// One random step: how far time moves, and what happens.
fn step() -> impl Strategy<Value = (u32, Event)> {
    let account = (1i64..=2).prop_map(AccountId);
    let position =
        (account.clone(), 0usize..2, -4i64..=4, 0i64..40).prop_map(|(a, c, size, px)| {
            Event::Position(PositionUpdate {
                account: a,
                contract: contract(c),
                size,
                average_price: cents(2_100_000 + px * 25),
            })
        });
    let order = (
        account.clone(),
        0usize..3,
        1i64..8,
        1u8..9,
        0i64..6,
        0i64..2,
        1i64..4,
        0i64..80,
    )
        .prop_map(|(a, c, id, status, ty, side, size, px)| {
            Event::Order(OrderUpdate {
                account: a,
                order: OrderId(id),
                contract: contract(c),
                status: OrderStatus::from_wire(i64::from(status)),
                order_type: OrderType::from_wire(ty),
                side: Side::from_wire(side),
                size,
                limit_price: None,
                stop_price: Some(cents(2_099_000 + px * 25)),
                custom_tag: (id == 7).then(|| format!("riskguard:{}:1", a.0)),
            })
        });
    let trade = (
        account.clone(),
        1i64..40,
        1i64..8,
        prop::option::of(-40_000i64..20_000),
        0i64..300,
        prop::bool::weighted(0.1),
    )
        .prop_map(|(a, id, order, pnl, fees, voided)| {
            Event::Trade(Fill {
                account: a,
                trade: TradeId(id),
                order: OrderId(order),
                contract: contract(0),
                price: cents(2_100_000),
                pnl: pnl.map(cents),
                fees: cents(fees),
                side: Side::Sell,
                size: 1,
                voided,
            })
        });
    let quote = (0usize..2, -200i64..200).prop_map(|(c, d)| {
        Event::Quote(Quote {
            contract: contract(c),
            last: Some(cents(2_100_000 + d * 25)),
            bid: None,
            ask: None,
        })
    });
    let account_ev = (account, any::<bool>()).prop_map(|(a, t)| {
        Event::Account(AccountUpdate {
            account: a,
            can_trade: Some(t),
            name: None,
        })
    });
    let event = prop_oneof![3 => position, 3 => order, 3 => trade, 4 => quote, 1 => account_ev];
    (
        prop_oneof![3 => 0u32..5, 2 => 5u32..120, 1 => 120u32..7200],
        event,
    )
}

fn preamble() -> Vec<Event> {
    CONTRACTS
        .iter()
        .map(|(id, name, tick, value)| {
            Event::Contract(ContractInfo {
                id: ContractId::new(id),
                name: name.to_string(),
                tick_size: cents(*tick),
                tick_value: cents(*value),
            })
        })
        .collect()
}

fn start() -> Timestamp {
    "2026-03-02T14:00:00Z".parse().unwrap()
}

/// Run a stream, optionally snapshotting and restoring before step `restart_at`.
fn run(
    cfg: &Arc<RiskConfig>,
    steps: &[(u32, Event)],
    restart_at: Option<usize>,
) -> (Vec<Decision>, Engine) {
    let mut engine = Engine::new(cfg.clone());
    let mut out = Vec::new();
    let mut t = start();
    for e in preamble() {
        engine.handle_into(&e, t, &mut out);
    }
    for (i, (dt, e)) in steps.iter().enumerate() {
        if restart_at == Some(i) {
            engine = Engine::restore(cfg.clone(), &engine.snapshot()).expect("restore");
        }
        t += SignedDuration::from_secs(i64::from(*dt));
        engine.handle_into(e, t, &mut out);
    }
    (out, engine)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn snapshot_then_restore_decides_the_same(steps in prop::collection::vec(step(), 1..120), cut in any::<prop::sample::Index>()) {
        let cfg = config(ALL_RULES);
        let k = cut.index(steps.len());
        let (straight, _) = run(&cfg, &steps, None);
        let (restored, _) = run(&cfg, &steps, Some(k));
        prop_assert_eq!(straight, restored);
    }

    #[test]
    fn lock_expiry_never_moves_earlier(steps in prop::collection::vec(step(), 1..150)) {
        let (out, _) = run(&config(ALL_RULES), &steps, None);
        // None = until cleared, later than any instant.
        let mut active: HashMap<(AccountId, RuleId), Option<Timestamp>> = HashMap::new();
        for d in &out {
            let key = (d.account, d.rule);
            let lock_until = match &d.action {
                Action::Lockout { until } => Some(*until),
                Action::Cooldown { until } => Some(Some(*until)),
                _ => None,
            };
            match (&d.action, lock_until) {
                (_, Some(until)) => {
                    if let Some(prev) = active.get(&key) {
                        let shorter = match (prev, until) { (None, Some(_)) => true, (Some(p), Some(u)) => u <= *p, _ => false };
                        prop_assert!(!shorter, "lock of {:?} moved from {:?} to {:?}", key, prev, until);
                    }
                    active.insert(key, until);
                }
                (Action::Unlock, _) => { active.remove(&key); }
                _ => {}
            }
        }
    }

    #[test]
    fn day_pnl_equals_the_sum_of_the_days_fills(steps in prop::collection::vec(step(), 1..150)) {
        let (out, engine) = run(&config(ALL_RULES), &steps, None);
        // The fills after the last reset of each account, each trade id counted once, voids removed.
        let mut t = start();
        let last_reset: BTreeMap<AccountId, Timestamp> = out.iter().filter(|d| d.rule == RuleId::Reset).map(|d| (d.account, d.t)).collect();
        let mut fills: BTreeMap<(AccountId, TradeId), Option<Decimal>> = BTreeMap::new();
        for (dt, e) in &steps {
            t += SignedDuration::from_secs(i64::from(*dt));
            let Event::Trade(f) = e else { continue };
            if last_reset.get(&f.account).is_some_and(|r| t < *r) {
                continue;
            }
            let net = f.pnl.unwrap_or_default() - f.fees;
            match fills.get(&(f.account, f.trade)) {
                None => { fills.insert((f.account, f.trade), (!f.voided).then_some(net)); }
                Some(Some(_)) if f.voided => { fills.insert((f.account, f.trade), None); }
                _ => {}
            }
        }
        for (id, acct) in &engine.state().accounts {
            let expected: Decimal = fills.iter().filter(|((a, _), _)| a == id).filter_map(|(_, v)| *v).sum();
            prop_assert_eq!(acct.day.realized, expected, "account {}", id);
        }
    }

    #[test]
    fn no_destructive_decision_without_an_enabled_breaching_rule(steps in prop::collection::vec(step(), 1..150)) {
        // With every rule disabled, nothing is ever closed, cancelled or locked, except riskguard's own
        // orphaned stops (order 7 carries its tag here), which are cancelled so they can never open a position.
        let (out, _) = run(&config("rules: {}"), &steps, None);
        let unexplained = out.iter().find(|d| {
            d.action.is_destructive()
                && !(d.rule == RuleId::TradeManagement && d.action == Action::CancelOrder { order: OrderId(7) })
        });
        prop_assert!(unexplained.is_none(), "{:?}", unexplained);

        // With only max_contracts, a close happens exactly when the total exceeds the limit.
        let cfg = config("rules: { max_contracts: { enabled: true, limit: 4, action: close_all } }");
        let mut engine = Engine::new(cfg);
        let mut t = start();
        let mut sizes: BTreeMap<(AccountId, ContractId), i64> = BTreeMap::new();
        for (dt, e) in &steps {
            t += SignedDuration::from_secs(i64::from(*dt));
            let decisions = engine.handle(e, t);
            if let Event::Position(p) = e {
                sizes.insert((p.account, p.contract.clone()), p.size);
            }
            let cleanup = |d: &Decision| d.rule == RuleId::TradeManagement && d.action == Action::CancelOrder { order: OrderId(7) };
            for d in decisions.iter().filter(|d| d.action.is_destructive() && !cleanup(d)) {
                prop_assert_eq!(d.rule, RuleId::MaxContracts);
                let total: i64 = sizes.iter().filter(|((a, _), _)| *a == d.account).map(|(_, s)| s.abs()).sum();
                prop_assert!(total > 4, "closed at a total of {} contracts: {}", total, d.reason);
                prop_assert!(d.reason.contains(&total.to_string()), "reason lacks the number: {}", d.reason);
            }
        }
    }
}
