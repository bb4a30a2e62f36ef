//! Injected faults: a failing money-moving call is Ambiguous and sent once; dropped hubs come back with
//! `Feed::Resynced`; revoked tokens are replaced by a new login; secrets never show.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use gateway::{
    CallOutcome, ConnectionState, Credentials, Feed, GatewayError, HubKind, HubStatus, Session,
    SessionOptions, UNAUTHORIZED,
};
use model::event::Event;
use model::ids::{ContractId, OrderId};
use serde_json::json;
use sim::{SimConfig, UserConfig};
use tokio::sync::mpsc;

#[tokio::test]
async fn a_500_on_close_is_ambiguous_and_sent_exactly_once() {
    let h = harness().await;
    set_price(&h.base, ES, "5000").await;
    let token = login(&h.base).await;
    market_buy(&h.base, &token, ES, 1).await;
    let path = "/api/Position/closeContract";
    let before = rest_calls(&h.base, path).await;
    fault(
        &h.base,
        json!({"kind": "rest_errors", "status": 500, "count": 1}),
    )
    .await;
    let outcome = h
        .session
        .close_contract(ACCOUNT, &ContractId::new(ES))
        .await;
    assert!(
        matches!(outcome, CallOutcome::Ambiguous { .. }),
        "{outcome:?}"
    );
    assert_eq!(rest_calls(&h.base, path).await, before + 1, "never retried");
    let stats = h.session.rest_stats();
    assert_eq!(
        (
            stats.calls("Position/closeContract"),
            stats.errors("Position/closeContract")
        ),
        (1, 1)
    );
    // The read-back says the position is still open: the executor decides from there.
    assert_eq!(h.session.open_positions(ACCOUNT).await.unwrap().len(), 1);

    // A 429 is ambiguous too, and not retried either.
    fault(
        &h.base,
        json!({"kind": "rest_errors", "status": 429, "count": 1}),
    )
    .await;
    let outcome = h
        .session
        .close_contract(ACCOUNT, &ContractId::new(ES))
        .await;
    assert!(
        matches!(outcome, CallOutcome::Ambiguous { .. }),
        "{outcome:?}"
    );
    assert_eq!(rest_calls(&h.base, path).await, before + 2);
    h.session.shutdown().await;
}

#[tokio::test]
async fn a_failed_read_is_an_error_never_an_empty_list() {
    let options = SessionOptions::default();
    let h = harness_with(options).await;
    // More failures than projectx-client's read retries (3) absorb.
    fault(
        &h.base,
        json!({"kind": "rest_errors", "status": 500, "count": 8}),
    )
    .await;
    let read = h.session.open_positions(ACCOUNT).await;
    assert!(matches!(read, Err(GatewayError::Rest { .. })), "{read:?}");
    post(&h.base, "/sim/reset", None, json!({})).await;
    h.session.shutdown().await;
}

#[tokio::test]
async fn dropped_hubs_resubscribe_and_resync() {
    let mut h = harness().await;
    let es = ContractId::new(ES);
    h.session.subscribe_quotes(&es).await.unwrap();
    let dropped = fault(&h.base, json!({"kind": "drop_connections"})).await;
    assert_eq!(dropped["dropped"], 2);
    let mut lost = Vec::new();
    let mut resynced = 0;
    tokio::time::timeout(RECONNECT_WAIT, async {
        while resynced < 2 {
            match h.feed.recv().await.map(|(_, f)| f) {
                Some(Feed::Resynced) => resynced += 1,
                Some(Feed::Connection(ConnectionState {
                    hub,
                    status: HubStatus::Reconnecting { .. },
                })) => lost.push(hub),
                Some(_) => {}
                None => panic!("feed ended"),
            }
        }
    })
    .await
    .expect("both hubs resynced");
    lost.sort();
    assert_eq!(lost, vec![HubKind::User, HubKind::Market]);

    // Both hubs are subscribed again, the quote subscription included.
    set_price(&h.base, ES, "5003").await;
    next_event(
        &mut h.feed,
        "quote after reconnect",
        |e| matches!(e, Event::Quote(q) if q.contract == es),
    )
    .await;
    let token = login(&h.base).await;
    let id = market_buy(&h.base, &token, ES, 1).await;
    next_event(
        &mut h.feed,
        "order after reconnect",
        |e| matches!(e, Event::Order(o) if o.order.0 == id),
    )
    .await;
    h.session.shutdown().await;
}

#[tokio::test]
async fn expired_tokens_are_replaced_by_a_new_login() {
    let mut h = harness().await;
    fault(&h.base, json!({"kind": "expire_tokens"})).await;

    // A money-moving call that meets the 401 is a definite refusal, not retried; the session logs in again.
    let refused = h.session.cancel_order(ACCOUNT, OrderId(42)).await;
    assert!(
        matches!(
            refused,
            CallOutcome::Rejected {
                code: UNAUTHORIZED,
                ..
            }
        ),
        "{refused:?}"
    );
    // Reads recover by themselves.
    let accounts = h.session.accounts().await.unwrap();
    assert_eq!(accounts.len(), 2);
    assert_eq!(h.session.rest_stats().calls("Auth/loginKey"), 2);

    // Revoke again, then drop the hubs without any REST call in between: the reconnect with the revoked token
    // is refused, so the session must notice, log in, and reconnect by itself.
    fault(&h.base, json!({"kind": "expire_tokens"})).await;
    fault(&h.base, json!({"kind": "drop_connections"})).await;
    let mut resynced = 0;
    tokio::time::timeout(RECONNECT_WAIT, async {
        while resynced < 2 {
            if let Some((_, Feed::Resynced)) = h.feed.recv().await {
                resynced += 1;
            }
        }
    })
    .await
    .expect("both hubs back after a re-login");
    assert!(h.session.rest_stats().calls("Auth/loginKey") >= 3);

    set_price(&h.base, ES, "5000").await;
    let token = login(&h.base).await;
    let id = market_buy(&h.base, &token, ES, 1).await;
    next_event(
        &mut h.feed,
        "order after re-login",
        |e| matches!(e, Event::Order(o) if o.order.0 == id),
    )
    .await;
    assert_eq!(
        h.session
            .close_contract(ACCOUNT, &ContractId::new(ES))
            .await,
        CallOutcome::Done
    );
    h.session.shutdown().await;
}

#[tokio::test]
async fn the_token_keeper_validates_and_reconnects() {
    let options = SessionOptions {
        validate_every: Duration::from_millis(500),
        ..SessionOptions::default()
    };
    let mut h = harness_with(options).await;
    next_feed(&mut h.feed, "resync after a token refresh", WAIT, |f| {
        *f == Feed::Resynced
    })
    .await;
    assert!(h.session.rest_stats().calls("Auth/validate") >= 1);
    h.session.shutdown().await;
}

const USER: &str = "trader-zeta";
const KEY: &str = "sk-SECRET-42";

fn secret_config() -> SimConfig {
    SimConfig {
        users: vec![UserConfig {
            user_name: USER.into(),
            api_key: KEY.into(),
            account_ids: vec![7001, 7002],
        }],
        ..SimConfig::default()
    }
}

fn assert_clean(text: &str) {
    assert!(!text.contains(KEY), "api key leaked: {text}");
    assert!(!text.contains(USER), "user name leaked: {text}");
}

#[tokio::test]
async fn secrets_never_show() {
    let (_sim, base) = start_sim(secret_config()).await;
    let creds = Credentials::new(USER, KEY);
    assert_clean(&format!("{creds:?}"));

    // A refused login.
    let (tx, _rx) = mpsc::channel(100);
    let wrong = Session::start(
        endpoints(&base),
        Credentials::new(USER, "sk-SECRET-43"),
        vec![ACCOUNT],
        tx,
    )
    .await;
    let err = wrong.expect_err("wrong key");
    assert!(matches!(err, GatewayError::Login(_)), "{err:?}");
    assert_clean(&err.to_string());
    assert_clean(&format!("{err:?}"));
    assert!(!err.to_string().contains("sk-SECRET-43"));

    // An insecure endpoint.
    let (tx, _rx) = mpsc::channel(100);
    let insecure = Session::start(
        endpoints("http://example.com"),
        Credentials::new(USER, KEY),
        vec![ACCOUNT],
        tx,
    )
    .await;
    let err = insecure.expect_err("plain http to a remote host");
    assert!(matches!(err, GatewayError::Config(_)), "{err:?}");
    assert_clean(&err.to_string());

    // A working session, and the errors it can produce.
    let (tx, _rx) = mpsc::channel(10_000);
    let session = Session::start(endpoints(&base), creds, vec![ACCOUNT], tx)
        .await
        .unwrap();
    assert_clean(&format!("{session:?}"));
    let missing = session
        .contract(&ContractId::new("CON.F.US.NOPE.Z25"))
        .await
        .expect_err("unknown contract");
    assert_clean(&missing.to_string());
    fault(
        &base,
        json!({"kind": "rest_errors", "status": 500, "count": 8}),
    )
    .await;
    let failed = session.open_positions(ACCOUNT).await.expect_err("500s");
    assert_clean(&failed.to_string());
    assert_clean(&format!("{failed:?}"));
    let outcome = session.close_contract(ACCOUNT, &ContractId::new(ES)).await;
    assert_clean(&format!("{outcome:?}"));
    post(&base, "/sim/reset", None, json!({})).await;
    fault(&base, json!({"kind": "expire_tokens"})).await;
    let refused = session.cancel_order(ACCOUNT, OrderId(1)).await;
    assert_clean(&format!("{refused:?}"));
    session.shutdown().await;
}

#[tokio::test]
async fn an_account_of_another_user_fails_the_start() {
    let (_sim, base) = start_sim(SimConfig::default()).await;
    let (tx, _rx) = mpsc::channel(100);
    let result = Session::start(
        endpoints(&base),
        Credentials::new("demo", "demo"),
        vec![model::ids::AccountId(424_242)],
        tx,
    )
    .await;
    let err = result.expect_err("not this user's account");
    assert!(
        matches!(
            err,
            GatewayError::Hub {
                hub: HubKind::User,
                ..
            }
        ),
        "{err:?}"
    );
}
