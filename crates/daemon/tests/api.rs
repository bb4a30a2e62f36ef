//! The internal API against a real daemon on the simulator: every endpoint reports what the simulator shows
//! after a scripted session, the stream delivers decisions and lock changes, and admin actions (clear a lock,
//! reload, dry-run) do what they say, are journaled with their reason, and refuse bad input without changing
//! anything.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use api::client::{Client, ClientError};
use api::{StreamEvent, TradingState};
use common::*;
use futures_util::StreamExt as _;
use model::decision::RuleId;
use serde_json::json;

// Loosening (clearing a lock included) needs a confirmation at every hour, and then applies at once: the
// cooling-off delay has its own tests (cooling_off.rs).
const RULES: &str = "global: { tighten_only: always, cooling_off_minutes: 0 }
rules:
  max_contracts: { enabled: true, limit: 2, action: close_all }
  daily_realized_loss: { enabled: true, loss_limit: 500 }
  symbol_blocks: { enabled: true, blocked_symbols: [RTY] }
";

fn trader(rig: &Rig) -> Client {
    Client::from_data_dir(&rig.data_dir).expect("a client from the data dir")
}

/// Poll `f` until it gives `Some`, with a deadline.
async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = deadline(10);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < end,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_reports_what_the_simulator_shows() {
    let mut rig = rig(RULES, "api-reads").await;
    let client = trader(&rig);
    rig.price(MNQ, 21000).await;
    rig.price(RTY, 2050).await;
    rig.market(MNQ, 0, 1).await;
    let order = rig.limit(MNQ, 0, 1, json!(20000)).await;
    // A blocked symbol: the daemon closes it.
    rig.market(RTY, 0, 1).await;
    rig.decision(RuleId::SymbolBlocks).await;
    rig.until_flat(RTY).await;

    let positions = eventually("the MNQ position and no RTY", || async {
        let p = client.positions().await.ok()?;
        (p.len() == 1 && p[0].contract == MNQ).then_some(p)
    })
    .await;
    let sim = rig.state().await;
    assert_eq!(positions[0].account, ACCOUNT);
    assert_eq!(positions[0].size, size_in(&sim, MNQ));
    assert_eq!(positions[0].average_price.to_string(), "21000");
    assert!(!positions[0].has_stop);

    let orders = eventually("the working limit order", || async {
        let o = client.orders().await.ok()?;
        (o.len() == 1).then_some(o)
    })
    .await;
    assert_eq!(orders[0].order, order);
    assert!(working_order(&sim, order).is_some());
    assert_eq!(orders[0].order_type, "limit");
    assert_eq!(orders[0].limit_price, None, "limit prices are not tracked");

    let accounts = client.accounts().await.unwrap();
    assert_eq!(accounts.len(), 1);
    let a = &accounts[0];
    assert_eq!(a.id, ACCOUNT);
    assert_eq!(a.state, TradingState::Ok);
    assert_eq!(a.can_trade, Some(true));
    assert_eq!(a.open_positions, 1);
    let max = a.usage.iter().find(|u| u.rule == "max_contracts").unwrap();
    assert_eq!(max.text, "1 of 2 contracts");
    let loss = a
        .usage
        .iter()
        .find(|u| u.rule == "daily_realized_loss")
        .unwrap();
    assert_eq!(loss.limit.to_string(), "-500");

    let decisions = client.decisions(None, Some(ACCOUNT)).await.unwrap();
    let close = decisions
        .iter()
        .find(|d| d.rule == "symbol_blocks" && d.action == "close_position")
        .expect("the RTY close in the history");
    assert_eq!(close.details["contractId"], RTY);
    assert!(close.reason.contains("RTY"), "{}", close.reason);
    assert!(client.decisions(None, Some(1)).await.unwrap().is_empty());

    let status = client.status().await.unwrap();
    assert_eq!(status.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(status.hubs.len(), 2);
    assert!(status.hubs.iter().all(|h| h.up), "{:?}", status.hubs);
    assert!(status.enforcement_online);
    assert!(!status.dry_run);
    assert!(status.last_event_at.is_some());

    let rules = client.rules().await.unwrap();
    assert_eq!(rules[0].account, ACCOUNT);
    assert_eq!(rules[0].rules["max_contracts"]["limit"], 2);
    assert!(client.locks().await.unwrap().is_empty());
    let holidays = client.holidays().await.unwrap();
    assert_eq!(holidays.timezone, "America/Chicago");

    // The decisions survive a restart: the history is read back from the journal.
    rig.restart().await;
    let client = trader(&rig);
    let again = client.decisions(None, Some(ACCOUNT)).await.unwrap();
    assert!(again.iter().any(|d| d.rule == "symbol_blocks"), "{again:?}");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_and_admin_actions_work_on_a_live_daemon() {
    let rig = rig(RULES, "api-admin").await;
    let client = trader(&rig);
    let mut stream = Box::pin(client.stream().await.unwrap());
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let StreamEvent::Snapshot(view) = first else {
        panic!("the first event is a snapshot, not {first:?}")
    };
    assert_eq!(view.accounts[0].id, ACCOUNT);

    // A realized loss of $600 on MNQ ($2 a point): daily_realized_loss locks the account.
    rig.price(MNQ, 21000).await;
    rig.market(MNQ, 0, 1).await;
    rig.until_size(MNQ, 1).await;
    rig.price(MNQ, 20700).await;
    rig.market(MNQ, 1, 1).await;
    let mut saw_decision = false;
    let mut saw_lock = false;
    let end = deadline(10);
    while !(saw_decision && saw_lock) {
        let ev = tokio::time::timeout_at(end, stream.next())
            .await
            .expect("the decision and the lock on the stream")
            .unwrap()
            .unwrap();
        match ev {
            StreamEvent::Decision(d)
                if d.rule == "daily_realized_loss" && d.action == "lockout" =>
            {
                // -600.00 of price movement and the simulator's fees.
                assert!(
                    d.reason.contains("reached the -500.00 limit"),
                    "{}",
                    d.reason
                );
                saw_decision = true;
            }
            StreamEvent::Locks(locks) if locks.iter().any(|l| l.rule == "daily_realized_loss") => {
                // The decision goes out in the loop turn that takes it; the view that shows its lock is
                // built after it, when the loop is idle.
                assert!(
                    saw_decision,
                    "the lock showed up before the decision that set it"
                );
                saw_lock = true;
            }
            _ => {}
        }
    }
    let a = &client.accounts().await.unwrap()[0];
    assert_eq!(a.state, TradingState::Locked);
    assert!(
        a.realized_pnl <= rust_decimal::Decimal::from(-600),
        "{}",
        a.realized_pnl
    );
    assert_eq!(
        a.state_reason.as_deref().map(|r| r.contains("-500.00")),
        Some(true)
    );

    // The trader token cannot act; no token cannot even read.
    let refused = client
        .clear_lock(ACCOUNT, "daily_realized_loss", "please", false)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ClientError::Api { status: 403, .. }),
        "{refused}"
    );
    let anonymous = Client::new(rig.api, String::new()).unwrap();
    let refused = anonymous.status().await.unwrap_err();
    assert!(
        matches!(refused, ClientError::Api { status: 401, .. }),
        "{refused}"
    );

    // An admin: no reason is refused, a reason clears the lock and is journaled.
    api::set_admin_password(&rig.data_dir, None, "correct horse").unwrap();
    let mut admin = trader(&rig);
    admin.login("correct horse", Some("ops")).await.unwrap();
    let refused = admin
        .clear_lock(ACCOUNT, "daily_realized_loss", "  ", false)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ClientError::Api { status: 400, .. }),
        "{refused}"
    );
    assert_eq!(
        client.locks().await.unwrap().len(),
        1,
        "a refused unlock changes nothing"
    );
    let missing = admin
        .clear_lock(ACCOUNT, "max_contracts", "why not", false)
        .await
        .unwrap_err();
    assert!(
        matches!(missing, ClientError::Api { status: 404, .. }),
        "{missing}"
    );
    // Clearing a lock loosens: the first ask is answered with what needs confirming, and changes nothing.
    let unconfirmed = admin
        .clear_lock(
            ACCOUNT,
            "daily_realized_loss",
            "reviewed with the desk",
            false,
        )
        .await
        .unwrap_err();
    let ClientError::Api { status, body } = &unconfirmed else {
        panic!("{unconfirmed}")
    };
    assert_eq!(*status, 409, "{body:?}");
    assert!(body.error.contains("confirm"), "{body:?}");
    assert_eq!(client.locks().await.unwrap().len(), 1);
    admin
        .clear_lock(
            ACCOUNT,
            "daily_realized_loss",
            "reviewed with the desk",
            true,
        )
        .await
        .unwrap();
    assert!(client.locks().await.unwrap().is_empty());
    let history = client.decisions(None, Some(ACCOUNT)).await.unwrap();
    let unlock = history.iter().find(|d| d.action == "unlock").unwrap();
    assert!(
        unlock.reason.contains("reviewed with the desk (by ops)"),
        "{}",
        unlock.reason
    );

    // A broken config is refused with its errors; the running rules stay.
    let risk_path = rig.data_dir.join("risk_config.yaml");
    std::fs::write(
        &risk_path,
        "rules:\n  max_contracts: { enabled: true, limit: -3 }\n",
    )
    .unwrap();
    let refused = admin.reload(false).await.unwrap_err();
    let ClientError::Api { status, body } = &refused else {
        panic!("{refused}")
    };
    assert_eq!(*status, 400);
    assert!(!body.details.is_empty(), "{body:?}");
    assert!(body.details.iter().any(|d| d.contains("limit")), "{body:?}");
    assert_eq!(
        client.rules().await.unwrap()[0].rules["max_contracts"]["limit"],
        2
    );
    // A good one applies at once.
    std::fs::write(&risk_path, RULES.replace("limit: 2", "limit: 1")).unwrap();
    admin.reload(false).await.unwrap();
    assert_eq!(
        client.rules().await.unwrap()[0].rules["max_contracts"]["limit"],
        1
    );

    // Bad input is refused with a clear message, and enforcement goes on meanwhile.
    let token = std::fs::read_to_string(rig.data_dir.join("api").join("trader.token")).unwrap();
    let http = reqwest::Client::new();
    let base = format!("http://{}", rig.api);
    let login = http
        .post(format!("{base}/v1/admin/login"))
        .header("content-type", "application/json")
        .body("{\"password\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(login.status().as_u16(), 400);
    let oversize = http
        .post(format!("{base}/v1/admin/login"))
        .header("content-type", "application/json")
        .body(format!("{{\"password\": \"{}\"}}", "x".repeat(100_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(oversize.status().as_u16(), 413);
    let unknown = http
        .get(format!("{base}/v1/decisions?acount=7001"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 400);
    let body = unknown.text().await.unwrap();
    assert!(body.contains("acount"), "{body}");
    rig.price(RTY, 2050).await;
    rig.market(RTY, 0, 1).await;
    rig.until_flat(RTY).await;
    // The metrics saw all of it, and never a token.
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("riskguard_events_total{kind=\"position\"}"),
        "{metrics}"
    );
    // (The day's loss is still past its limit, so the next event locked the account again and the gate
    // closed RTY: clearing a lock does not clear the breach.)
    assert!(
        metrics.contains(
            "riskguard_decisions_total{rule=\"lockout_guard\",action=\"close_position\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("riskguard_admin_actions_total{action=\"clear_lock\"} 1"));
    assert!(metrics.contains("riskguard_enforcement_latency_seconds_count"));
    // Every call started counts its reaction time (arrival of the input to the call starting).
    let reactions: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("riskguard_reaction_seconds_count "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(reactions >= 1, "{metrics}");
    assert!(metrics.contains("endpoint=\"Position/closeContract\""));
    assert!(!metrics.contains(token.trim()));

    admin
        .set_dry_run(true, "testing the screens", true)
        .await
        .unwrap();
    assert!(client.status().await.unwrap().dry_run);

    let data_dir = rig.stop().await;
    // The journal keeps the admin's reason and the daemon-level actions.
    let store = store::Store::open_read_only(&data_dir).unwrap();
    let lines = store
        .lines_between(jiff::Timestamp::MIN, jiff::Timestamp::MAX)
        .unwrap();
    let admin_lines: Vec<&str> = lines
        .iter()
        .filter(|l| l.kind == store::Kind::Admin)
        .map(|l| l.line.as_str())
        .collect();
    assert!(
        admin_lines
            .iter()
            .any(|l| l.contains("reviewed with the desk (by ops)")),
        "{admin_lines:?}"
    );
    assert!(admin_lines.iter().any(|l| l.contains("\"reload\"")));
    assert!(
        admin_lines
            .iter()
            .any(|l| l.contains("testing the screens"))
    );
    assert!(!admin_lines.iter().any(|l| l.contains("correct horse")));
}
