//! The daemon keeps enforcing through bad input and a journal it cannot write: malformed gateway payloads
//! and unknown enum values are counted and skipped; a journal write failure degrades the journal, not the
//! enforcement.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{ACCOUNT, MNQ, RTY};
use gateway::Feed;
use model::decision::RuleId;
use model::event::{Event, OrderStatus, OrderType, OrderUpdate, Side};
use model::ids::{AccountId, ContractId, OrderId};
use tokio::sync::{broadcast, oneshot, watch};

const RULES: &str = "rules:\n  symbol_blocks: { enabled: true, blocked_symbols: [RTY] }\n  no_stop_loss_grace: { enabled: true, grace_period_seconds: 60 }\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_payloads_and_unknown_enums_are_counted_and_skipped() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = sim::spawn(sim::SimConfig::default(), listener)
        .await
        .unwrap();
    let base = sim.base_url().to_string();
    let data_dir =
        std::env::temp_dir().join(format!("riskguard-resilience-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let risk = config::parse_risk_config(RULES, std::path::Path::new("r.yaml"), None).unwrap();
    let login = daemon::LoginPlan::at(&base, "demo", "demo", vec![AccountId(ACCOUNT)]);
    let config = daemon::DaemonConfig::in_code(risk, vec![login], data_dir.clone());
    let (dtx, mut decisions) = broadcast::channel(256);
    let (tap_tx, tap_rx) = oneshot::channel();
    let (mtx, mut malformed) = watch::channel(0u64);
    let hooks = daemon::Hooks {
        decisions: Some(dtx),
        feed_tap: Some(tap_tx),
        malformed: Some(mtx),
        ..Default::default()
    };
    let mut running = daemon::spawn(config, hooks);
    running.ready(Duration::from_secs(10)).await.unwrap();
    let feed = tap_rx.await.unwrap();

    // What a misbehaving gateway could send: two malformed payloads, and an order with enum values nobody
    // documented (an unknown type and status must never be taken for a working stop).
    let now = jiff::Timestamp::now();
    for what in ["GatewayUserPosition", "GatewayQuote"] {
        feed.send((
            now,
            Feed::Malformed {
                what: what.into(),
                error: "size: expected an integer".into(),
            },
        ))
        .await
        .unwrap();
    }
    let odd = OrderUpdate {
        account: AccountId(ACCOUNT),
        order: OrderId(999_999),
        contract: ContractId::new(MNQ),
        status: OrderStatus::Unknown(42),
        order_type: OrderType::Other(99),
        side: Side::Unknown(7),
        size: 1,
        limit_price: None,
        stop_price: None,
        custom_tag: None,
    };
    feed.send((now, Feed::Event(Event::Order(odd))))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), malformed.wait_for(|n| *n == 2))
        .await
        .unwrap()
        .unwrap();

    // And it still enforces.
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{base}/api/Auth/loginKey"))
        .json(&serde_json::json!({"userName": "demo", "apiKey": "demo"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_string();
    http.post(format!("{base}/sim/price"))
        .json(&serde_json::json!({"contractId": RTY, "lastPrice": 2050}))
        .send()
        .await
        .unwrap();
    http.post(format!("{base}/api/Order/place"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"accountId": ACCOUNT, "contractId": RTY, "type": 2, "side": 0, "size": 1}))
        .send().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let d = tokio::time::timeout_at(deadline, decisions.recv())
            .await
            .unwrap()
            .unwrap();
        if d.rule == RuleId::SymbolBlocks {
            break;
        }
    }
    running.stop(Duration::from_secs(8)).await.unwrap();
    drop(sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_that_cannot_be_written_degrades_the_journal_not_the_enforcement() {
    if std::process::Command::new("chattr")
        .arg("--help")
        .output()
        .is_err()
    {
        eprintln!("chattr is not available: skipping (nothing checked)");
        return;
    }
    let mut rig = common::rig(RULES, "degraded").await;
    // Make the journal unwritable under the running daemon (root ignores permission bits; the immutable
    // attribute it does not).
    let wal = rig.data_dir.join("riskguard.db-wal");
    let db = rig.data_dir.join("riskguard.db");
    for f in [&wal, &db] {
        if f.exists() {
            let ok = std::process::Command::new("chattr")
                .arg("+i")
                .arg(f)
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if !ok {
                eprintln!(
                    "chattr +i failed on {}: skipping (nothing checked)",
                    f.display()
                );
                return;
            }
        }
    }
    rig.price(RTY, 2050).await;
    rig.market(RTY, 0, 1).await;
    rig.decision(RuleId::SymbolBlocks).await;
    rig.until_flat(RTY).await;
    for f in [&wal, &db] {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(f)
            .status();
    }
    let dir = rig.stop().await;
    // The enforcement above happened while the journal could not be written: its decision is not there.
    let store = store::Store::open_read_only(&dir).unwrap();
    let lines = store
        .lines_between(jiff::Timestamp::UNIX_EPOCH, jiff::Timestamp::MAX)
        .unwrap();
    assert!(
        !lines.iter().any(|l| l.line.contains("symbol_blocks")),
        "the journal was writable after all: the test did not exercise the degraded path"
    );
}
