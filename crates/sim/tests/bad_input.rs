//! Bad input keeps the simulator up: malformed JSON gets 400 with the envelope, malformed SignalR records
//! and unknown hub methods get error completions on a connection that stays usable, orders for unknown
//! contracts or accounts get `success: false` with an error code. Also the REST rules around orders:
//! searchOpen leaves out Suspended legs, Order/search needs startTimestamp, customTag is unique.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn malformed_json_gets_400_with_the_envelope() {
    let sim = start().await;
    let base = sim.base_url();
    let token = login(&base).await;
    for (path, token) in [
        ("/api/Order/place", Some(token.as_str())),
        ("/api/Auth/loginKey", None),
    ] {
        let (status, body) = post_raw(&base, path, token, "{\"accountId\": 7001,".into()).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(body["success"], false);
        assert_ne!(body["errorCode"], 0);
        assert!(body["errorMessage"].is_string());
    }
    // A missing required field is a 400 too.
    let (status, body) = post(
        &base,
        "/api/Order/search",
        Some(&token),
        json!({"accountId": ACCOUNT}),
    )
    .await;
    assert_eq!((status, body["success"].as_bool()), (400, Some(false)));
    // And the simulator is still there.
    let (status, _) = post(
        &base,
        "/api/Account/search",
        Some(&token),
        json!({"onlyActiveAccounts": false}),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn orders_for_unknown_contracts_or_accounts_are_refused_with_a_code() {
    let sim = start().await;
    let base = sim.base_url();
    let token = login(&base).await;
    let order = |account: i64, contract: &str| json!({"accountId": account, "contractId": contract, "type": 2, "side": 0, "size": 1});
    let (status, body) = post(
        &base,
        "/api/Order/place",
        Some(&token),
        order(ACCOUNT, "CON.F.US.NOPE.Z25"),
    )
    .await;
    assert_eq!(
        (
            status,
            body["success"].as_bool(),
            body["errorCode"].as_i64()
        ),
        (200, Some(false), Some(8))
    );
    let (status, body) = post(&base, "/api/Order/place", Some(&token), order(424242, ES)).await;
    assert_eq!(
        (
            status,
            body["success"].as_bool(),
            body["errorCode"].as_i64()
        ),
        (200, Some(false), Some(1))
    );
    // No price yet for ES: a market order is refused too.
    let (_, body) = post(&base, "/api/Order/place", Some(&token), order(ACCOUNT, ES)).await;
    assert_eq!(
        (body["success"].as_bool(), body["errorCode"].as_i64()),
        (Some(false), Some(2))
    );
    let (_, body) = post(
        &base,
        "/api/Position/closeContract",
        Some(&token),
        json!({"accountId": ACCOUNT, "contractId": ES}),
    )
    .await;
    assert_eq!(
        (body["success"].as_bool(), body["errorCode"].as_i64()),
        (Some(false), Some(2))
    );
}

#[tokio::test]
async fn malformed_records_and_unknown_methods_get_error_completions_and_the_connection_stays() {
    let sim = start().await;
    let base = sim.base_url();
    let token = login(&base).await;
    let mut hub = RawHub::connect(&base, "market", &token).await;

    hub.invoke("1", "NoSuchMethod", json!([])).await;
    let c = hub.completion("1").await;
    assert!(
        c["error"]
            .as_str()
            .unwrap()
            .contains("Method does not exist"),
        "{c}"
    );

    hub.invoke("2", "SubscribeContractQuotes", json!([42]))
        .await;
    assert!(hub.completion("2").await["error"].is_string());
    hub.invoke("3", "SubscribeContractQuotes", json!([])).await;
    assert!(hub.completion("3").await["error"].is_string());
    hub.invoke("4", "SubscribeOrders", json!([ACCOUNT])).await; // a user-hub method on the market hub
    assert!(hub.completion("4").await["error"].is_string());

    // Broken JSON that still shows its invocation id, then plain garbage, then a record without a type.
    hub.send("{\"type\":1,\"invocationId\":\"5\",\"target\":\"SubscribeContractQuotes\",\"arguments\":[\u{1e}").await;
    assert!(hub.completion("5").await["error"].is_string());
    hub.send("\u{1}\u{2}not json at all\u{1e}{\"invocationId\":\"6\"}\u{1e}")
        .await;
    assert!(hub.completion("6").await["error"].is_string());

    // The connection still works: subscribe for real and receive a quote.
    hub.invoke("7", "SubscribeContractQuotes", json!([ES]))
        .await;
    let c = hub.completion("7").await;
    assert!(c.get("error").is_none(), "{c}");
    set_price(&base, ES, "4321.75").await;
    let quote = hub.event("GatewayQuote").await;
    assert_eq!(quote["arguments"][0], ES);
    assert_eq!(quote["arguments"][1]["lastPrice"].to_string(), "4321.75");
    assert_eq!(quote["arguments"][1]["symbol"], "F.US.EP");

    // Pings are answered; a 1 MiB-ish message is accepted.
    hub.send("{\"type\":6}\u{1e}").await;
    hub.next_matching(|v| v["type"] == 6).await;
    let big = format!(
        "{{\"type\":1,\"invocationId\":\"8\",\"target\":\"X\",\"arguments\":[\"{}\"]}}\u{1e}",
        "a".repeat(900_000)
    );
    hub.send(&big).await;
    assert!(hub.completion("8").await["error"].is_string());
}

#[tokio::test]
async fn hub_refuses_a_bad_token_and_a_bad_handshake() {
    let sim = start().await;
    let base = sim.base_url();
    let ws = format!(
        "{}/hubs/market?access_token=forged",
        base.replacen("http", "ws", 1)
    );
    match tokio_tungstenite::connect_async(ws).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 401)
        }
        other => panic!("expected HTTP 401, got {other:?}"),
    }
    // Negotiation is optional, but answered for clients that do it.
    let response = http()
        .post(format!("{base}/hubs/user/negotiate?negotiateVersion=1"))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["availableTransports"][0]["transport"], "WebSockets");
}

#[tokio::test]
async fn search_open_hides_suspended_legs_and_search_shows_everything() {
    let sim = start().await;
    let base = sim.base_url();
    let token = login(&base).await;
    set_price(&base, ES, "5000").await;
    let entry = json!({
        "accountId": ACCOUNT, "contractId": ES, "type": 1, "side": 0, "size": 1, "limitPrice": 4990,
        "customTag": "entry-1",
        "stopLossBracket": {"ticks": -8, "type": 4}, "takeProfitBracket": {"ticks": 80, "type": 1}
    });
    let (_, body) = post(&base, "/api/Order/place", Some(&token), entry.clone()).await;
    assert_eq!(body["success"], true, "{body}");
    let entry_id = body["orderId"].as_i64().unwrap();
    let (_, dup) = post(&base, "/api/Order/place", Some(&token), entry).await;
    assert_eq!(
        (dup["success"].as_bool(), dup["errorCode"].as_i64()),
        (Some(false), Some(2))
    );

    let (_, open) = post(
        &base,
        "/api/Order/searchOpen",
        Some(&token),
        json!({"accountId": ACCOUNT}),
    )
    .await;
    let open = open["orders"].as_array().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["id"], entry_id);
    let (_, all) = post(
        &base,
        "/api/Order/search",
        Some(&token),
        json!({"accountId": ACCOUNT, "startTimestamp": "2020-01-01T00:00:00Z"}),
    )
    .await;
    let all = all["orders"].as_array().unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all.iter().filter(|o| o["status"] == 8).count(), 2);
    assert_eq!(
        state(&base).await["workingOrders"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Fill the entry by hand: the legs become Open and show in searchOpen.
    let (status, _) = post(
        &base,
        "/sim/fill",
        None,
        json!({"orderId": entry_id, "size": 1}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, open) = post(
        &base,
        "/api/Order/searchOpen",
        Some(&token),
        json!({"accountId": ACCOUNT}),
    )
    .await;
    assert_eq!(open["orders"].as_array().unwrap().len(), 2);

    // Trade/search by time range: everything since 2020, nothing before.
    let (_, trades) = post(
        &base,
        "/api/Trade/search",
        Some(&token),
        json!({"accountId": ACCOUNT, "startTimestamp": "2020-01-01T00:00:00Z"}),
    )
    .await;
    let trades = trades["trades"].as_array().unwrap().clone();
    assert_eq!(trades.len(), 1);
    assert!(trades[0]["profitAndLoss"].is_null());
    let (_, none) = post(
        &base,
        "/api/Trade/search",
        Some(&token),
        json!({"accountId": ACCOUNT, "startTimestamp": "2020-01-01T00:00:00Z", "endTimestamp": "2020-01-02T00:00:00Z"}),
    )
    .await;
    assert_eq!(none["trades"].as_array().unwrap().len(), 0);

    // Void the fill: the position goes away again.
    let (status, _) = post(
        &base,
        "/sim/void",
        None,
        json!({"tradeId": trades[0]["id"]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(state(&base).await["positions"].as_array().unwrap().len(), 0);

    // Reset: back to the initial state.
    post(&base, "/sim/reset", None, json!({})).await;
    let s = state(&base).await;
    assert_eq!(s["workingOrders"].as_array().unwrap().len(), 0);
    assert_eq!(s["fills"].as_array().unwrap().len(), 0);
}
