//! End to end: the daemon against the simulator on 127.0.0.1 port 0. A trader acts through the simulator's
//! ordinary REST API; the simulator's state then shows the enforcement.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{MNQ, RTY, rig};
use model::decision::RuleId;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_is_closed_and_the_close_is_journaled() {
    let mut rig = rig(
        "rules: { max_contracts: { enabled: true, limit: 2, action: close_all } }",
        "oversize",
    )
    .await;
    rig.price(MNQ, 21000).await;
    rig.market(MNQ, 0, 3).await;
    let d = rig.decision(RuleId::MaxContracts).await;
    assert!(d.reason.contains("3 contracts"), "{}", d.reason);
    rig.until_flat(MNQ).await;
    let closes = rig.state().await["restCalls"]["/api/Position/closeContract"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(closes, 1, "exactly one close for one breach");
    let dir = rig.stop().await;
    // The journal holds the input, the decision and the outcome.
    let store = store::Store::open_read_only(&dir).unwrap();
    let lines = store
        .lines_between(jiff::Timestamp::UNIX_EPOCH, jiff::Timestamp::MAX)
        .unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.line.contains("\"rule\":\"max_contracts\""))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.line.contains("\"kind\":\"outcome\"") && l.line.contains("\"ok\":true"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_symbol_is_closed() {
    let mut rig = rig(
        "rules: { symbol_blocks: { enabled: true, blocked_symbols: [RTY] } }",
        "blocked",
    )
    .await;
    rig.price(RTY, 2050).await;
    rig.market(RTY, 0, 1).await;
    rig.decision(RuleId::SymbolBlocks).await;
    rig.until_flat(RTY).await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_survives_a_restart_and_blocks_new_positions() {
    let rules = "rules:\n  daily_realized_loss: { enabled: true, loss_limit: 100.00 }\n";
    let mut rig = rig(rules, "restart").await;
    rig.price(MNQ, 21000).await;
    rig.market(MNQ, 0, 1).await;
    rig.price(MNQ, 20900).await; // -100 points = -$200 on 1 MNQ
    rig.market(MNQ, 1, 1).await;
    let d = rig.decision(RuleId::DailyRealizedLoss).await;
    assert!(
        d.reason.contains("-202.80"),
        "P&L net of fees: {}",
        d.reason
    );
    rig.until_flat(MNQ).await;

    rig.restart().await;
    // The lock came back from the journal: a new position is closed by the gate at once.
    rig.market(MNQ, 0, 1).await;
    let d = rig.decision(RuleId::LockoutGuard).await;
    assert!(d.reason.contains("daily_realized_loss"), "{}", d.reason);
    rig.until_flat(MNQ).await;
    let _ = rig.stop().await;
}

/// The journal is the replay format: the exported trading day, replayed with the same rules, gives exactly the
/// decisions the daemon took live (timer firings are journaled as `clock` lines).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exported_day_replays_to_the_same_decisions() {
    let rules = "rules:\n  max_contracts: { enabled: true, limit: 2, action: close_all }\n  cooldown_after_loss: { enabled: true, tiers: [ { loss: 50.00, cooldown_seconds: 1 } ] }\n";
    let mut rig = rig(rules, "export").await;
    rig.price(MNQ, 21000).await;
    rig.market(MNQ, 0, 3).await;
    rig.decision(RuleId::MaxContracts).await;
    rig.until_flat(MNQ).await;
    rig.market(MNQ, 0, 1).await;
    rig.price(MNQ, 20950).await;
    rig.market(MNQ, 1, 1).await;
    rig.decision(RuleId::CooldownAfterLoss).await; // the cooldown
    rig.decision(RuleId::CooldownAfterLoss).await; // its end, fired by a timer
    let dir = rig.stop().await;

    let risk = config::parse_risk_config(rules, std::path::Path::new("rules.yaml"), None).unwrap();
    let g = &risk.global;
    let day = engine::trading_day_label(
        &g.timezone,
        g.reset_time,
        engine::trading_day_start(&g.timezone, g.reset_time, jiff::Timestamp::now()),
    );
    let store = store::Store::open_read_only(&dir).unwrap();
    let mut exported = Vec::new();
    daemon::export::day(&store, g, day, &mut exported).unwrap();
    let exported = String::from_utf8(exported).unwrap();
    let live: Vec<serde_json::Value> = exported
        .lines()
        .filter(|l| l.contains("\"kind\":\"decision\""))
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("kind");
            v
        })
        .collect();
    assert!(live.len() >= 3, "{exported}");

    let mut out = Vec::new();
    replay::run(&risk, exported.as_bytes(), "export", &mut out).unwrap();
    let replayed: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(replayed, live);
}
