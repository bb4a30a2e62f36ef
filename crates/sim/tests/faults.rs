//! Injected faults: dropped hub connections (a client reconnects and resubscribes), exactly N failing REST
//! calls, revoked tokens, latency; plus the rate limit and 401s.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use projectx_client::{
    Client, ContractId, Credentials, Endpoints, Hub, RealtimeEvent, RealtimeEventReceiver,
};
use serde_json::json;
use sim::SimConfig;

async fn wait_for(
    events: &mut RealtimeEventReceiver,
    what: &str,
    pred: impl Fn(&RealtimeEvent) -> bool,
) {
    // projectx-client's reconnect watchdog ticks every 5 s, so allow a little more than WAIT.
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match events.recv().await {
                Some(e) if pred(&e) => return,
                Some(_) => {}
                None => panic!("event stream ended"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} before the deadline"));
}

#[tokio::test]
async fn after_drop_connections_a_client_reconnects_and_resubscribes() {
    let sim = start().await;
    let base = sim.base_url();
    let client = Client::builder(Credentials::new("demo", "demo").unwrap())
        .endpoints(Endpoints::custom(&base, &base).unwrap())
        .build()
        .unwrap();
    client.authenticate().await.unwrap();
    let market = client.realtime(Hub::Market);
    let mut events = market.take_event_receiver().unwrap();
    market.connect().await.unwrap();
    let mnq = ContractId::new(MNQ).unwrap();
    market.subscribe_contract_quotes(&mnq).await.unwrap();
    let user = client.realtime(Hub::User);
    let _user_events = user.take_event_receiver().unwrap();
    user.connect().await.unwrap();
    user.subscribe_accounts().await.unwrap();
    assert_eq!(
        state(&base).await["hubConnections"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let (status, body) = post(
        &base,
        "/sim/fault",
        None,
        json!({"kind": "drop_connections"}),
    )
    .await;
    assert_eq!((status, body["dropped"].as_u64()), (200, Some(2)));
    wait_for(&mut events, "Disconnected", |e| {
        matches!(e, RealtimeEvent::Disconnected)
    })
    .await;
    wait_for(&mut events, "Reconnected", |e| {
        matches!(e, RealtimeEvent::Reconnected)
    })
    .await;
    // Subscriptions never survive a reconnect: resubscribe, then the quotes flow again.
    market.subscribe_contract_quotes(&mnq).await.unwrap();
    set_price(&base, MNQ, "21000.5").await;
    wait_for(
        &mut events,
        "GatewayQuote",
        |e| matches!(e, RealtimeEvent::Invocation(i) if i.target() == "GatewayQuote"),
    )
    .await;
    market.disconnect().await.unwrap();
    user.disconnect().await.unwrap();
}

#[tokio::test]
async fn dropped_raw_connection_sees_the_socket_end_and_can_connect_again() {
    let sim = start().await;
    let base = sim.base_url();
    let token = login(&base).await;
    let mut hub = RawHub::connect(&base, "user", &token).await;
    hub.invoke("1", "SubscribeAccounts", json!([])).await;
    hub.completion("1").await;
    post(
        &base,
        "/sim/fault",
        None,
        json!({"kind": "drop_connections"}),
    )
    .await;
    assert!(
        hub.ended().await,
        "the socket must end after drop_connections"
    );
    let mut again = RawHub::connect(&base, "user", &token).await;
    again.invoke("2", "SubscribeAccounts", json!([])).await;
    assert!(again.completion("2").await.get("error").is_none());
    post(
        &base,
        "/sim/account",
        None,
        json!({"accountId": 7001, "canTrade": false}),
    )
    .await;
    let event = again.event("GatewayUserAccount").await;
    assert_eq!(event["arguments"][0]["canTrade"], false);
    assert_eq!(event["arguments"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn rest_errors_fail_exactly_n_calls_then_succeed() {
    let sim = start().await;
    let base = sim.base_url();
    let token = login(&base).await;
    let (status, _) = post(
        &base,
        "/sim/fault",
        None,
        json!({"kind": "rest_errors", "status": 500, "count": 3}),
    )
    .await;
    assert_eq!(status, 200);
    let search = json!({"onlyActiveAccounts": true});
    for _ in 0..3 {
        let (status, body) = post(&base, "/api/Account/search", Some(&token), search.clone()).await;
        assert_eq!(status, 500);
        assert_eq!(body["success"], false);
    }
    let (status, body) = post(&base, "/api/Account/search", Some(&token), search.clone()).await;
    assert_eq!((status, body["success"].as_bool()), (200, Some(true)));

    post(
        &base,
        "/sim/fault",
        None,
        json!({"kind": "rest_errors", "status": 429, "count": 1}),
    )
    .await;
    assert_eq!(
        post(&base, "/api/Account/search", Some(&token), search.clone())
            .await
            .0,
        429
    );
    assert_eq!(
        post(&base, "/api/Account/search", Some(&token), search)
            .await
            .0,
        200
    );
    // Every call was counted by path, the failed ones too.
    assert_eq!(state(&base).await["restCalls"]["/api/Account/search"], 6);
}

#[tokio::test]
async fn after_expire_tokens_the_old_token_gets_401_and_a_new_login_works() {
    let sim = start().await;
    let base = sim.base_url();
    let old = login(&base).await;
    post(&base, "/sim/fault", None, json!({"kind": "expire_tokens"})).await;
    let (status, _) = post(
        &base,
        "/api/Account/search",
        Some(&old),
        json!({"onlyActiveAccounts": true}),
    )
    .await;
    assert_eq!(status, 401);
    let ws = format!(
        "{}/hubs/user?access_token={old}",
        base.replacen("http", "ws", 1)
    );
    assert!(
        tokio_tungstenite::connect_async(ws).await.is_err(),
        "the hub refuses the revoked token"
    );
    let new = login(&base).await;
    let (status, body) = post(
        &base,
        "/api/Account/search",
        Some(&new),
        json!({"onlyActiveAccounts": true}),
    )
    .await;
    assert_eq!((status, body["success"].as_bool()), (200, Some(true)));
}

#[tokio::test]
async fn unknown_or_missing_tokens_get_401_and_wrong_credentials_get_success_false() {
    let sim = start().await;
    let base = sim.base_url();
    let body = json!({"onlyActiveAccounts": true});
    assert_eq!(
        post(&base, "/api/Account/search", None, body.clone())
            .await
            .0,
        401
    );
    assert_eq!(
        post(&base, "/api/Account/search", Some("a.b.c"), body)
            .await
            .0,
        401
    );
    let (status, body) = post(
        &base,
        "/api/Auth/loginKey",
        None,
        json!({"userName": "demo", "apiKey": "nope"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["success"], false);
    assert_ne!(body["errorCode"], 0);
}

#[tokio::test]
async fn the_rate_limit_is_per_token_and_answers_429() {
    let config = SimConfig {
        rate_limit_requests: 3,
        ..SimConfig::default()
    };
    let sim = start_with(config).await;
    let base = sim.base_url();
    let (a, b) = (login(&base).await, login(&base).await);
    let body = json!({"accountId": ACCOUNT});
    for _ in 0..3 {
        assert_eq!(
            post(&base, "/api/Position/searchOpen", Some(&a), body.clone())
                .await
                .0,
            200
        );
    }
    let (status, reply) = post(&base, "/api/Position/searchOpen", Some(&a), body.clone()).await;
    assert_eq!((status, reply["success"].as_bool()), (429, Some(false)));
    assert_eq!(
        post(&base, "/api/Position/searchOpen", Some(&b), body)
            .await
            .0,
        200
    );
    // The control surface is never limited.
    for _ in 0..5 {
        state(&base).await;
    }
}

#[tokio::test]
async fn latency_delays_every_rest_reply() {
    let sim = start().await;
    let base = sim.base_url();
    let token = login(&base).await;
    post(
        &base,
        "/sim/fault",
        None,
        json!({"kind": "latency", "ms": 150}),
    )
    .await;
    let started = Instant::now();
    post(
        &base,
        "/api/Position/searchOpen",
        Some(&token),
        json!({"accountId": ACCOUNT}),
    )
    .await;
    assert!(started.elapsed() >= Duration::from_millis(150));
}
