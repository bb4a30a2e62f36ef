//! Helpers: a simulator on 127.0.0.1 port 0, a session against it, raw REST / control calls, and waiting on
//! the feed with deadlines (never sleeps).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gateway::{Credentials, Endpoints, Feed, Session, SessionOptions};
use jiff::Timestamp;
use model::event::Event;
use model::ids::AccountId;
use serde_json::{Value, json};
use sim::{SimConfig, SimHandle};
use tokio::sync::mpsc;

/// For things that happen at once.
pub const WAIT: Duration = Duration::from_secs(10);
/// For reconnects: projectx-client's watchdog ticks every 5 s, our supervisor checks after 6 s.
pub const RECONNECT_WAIT: Duration = Duration::from_secs(40);

pub const ACCOUNT: AccountId = AccountId(7001);
pub const ES: &str = "CON.F.US.EP.Z25";
pub const MNQ: &str = "CON.F.US.MNQ.Z25";

pub struct Harness {
    pub sim: SimHandle,
    pub base: String,
    pub session: Session,
    pub feed: mpsc::Receiver<(Timestamp, Feed)>,
}

pub async fn start_sim(config: SimConfig) -> (SimHandle, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = sim::spawn(config, listener).await.unwrap();
    let base = sim.base_url();
    (sim, base)
}

pub fn endpoints(base: &str) -> Endpoints {
    Endpoints {
        api_url: base.to_owned(),
        realtime_url: base.to_owned(),
    }
}

pub async fn harness() -> Harness {
    harness_with(SessionOptions::default()).await
}

pub async fn harness_with(options: SessionOptions) -> Harness {
    let (sim, base) = start_sim(SimConfig::default()).await;
    let (tx, feed) = mpsc::channel(10_000);
    let session = Session::start_with(
        endpoints(&base),
        Credentials::new("demo", "demo"),
        vec![ACCOUNT],
        tx,
        options,
    )
    .await
    .unwrap();
    Harness {
        sim,
        base,
        session,
        feed,
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(WAIT)
        .build()
        .unwrap()
}

pub async fn post(base: &str, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = http().post(format!("{base}{path}")).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A token of our own, for placing orders the way a trader's platform would.
pub async fn login(base: &str) -> String {
    let (status, body) = post(
        base,
        "/api/Auth/loginKey",
        None,
        json!({"userName": "demo", "apiKey": "demo"}),
    )
    .await;
    assert_eq!((status, &body["success"]), (200, &json!(true)), "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// `Order/place` over raw REST; returns the order id.
pub async fn place(base: &str, token: &str, order: Value) -> i64 {
    let (status, body) = post(base, "/api/Order/place", Some(token), order).await;
    assert_eq!((status, &body["success"]), (200, &json!(true)), "{body}");
    body["orderId"].as_i64().unwrap()
}

pub async fn market_buy(base: &str, token: &str, contract: &str, size: i64) -> i64 {
    place(
        base,
        token,
        json!({"accountId": ACCOUNT.0, "contractId": contract, "type": 2, "side": 0, "size": size}),
    )
    .await
}

pub async fn set_price(base: &str, contract: &str, last: &str) {
    let body: Value = serde_json::from_str(&format!(
        r#"{{"contractId":"{contract}","lastPrice":{last}}}"#
    ))
    .unwrap();
    let (status, body) = post(base, "/sim/price", None, body).await;
    assert_eq!(status, 200, "{body}");
}

pub async fn fault(base: &str, body: Value) -> Value {
    let (status, body) = post(base, "/sim/fault", None, body).await;
    assert_eq!(status, 200, "{body}");
    body
}

pub async fn sim_state(base: &str) -> Value {
    let response = http()
        .get(format!("{base}/sim/state"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

pub async fn rest_calls(base: &str, path: &str) -> u64 {
    sim_state(base).await["restCalls"][path]
        .as_u64()
        .unwrap_or(0)
}

/// The next feed item that satisfies `pred`, skipping the rest; panics after `deadline`.
pub async fn next_feed(
    feed: &mut mpsc::Receiver<(Timestamp, Feed)>,
    what: &str,
    deadline: Duration,
    pred: impl Fn(&Feed) -> bool,
) -> Feed {
    tokio::time::timeout(deadline, async {
        loop {
            match feed.recv().await {
                Some((_, item)) if pred(&item) => return item,
                Some(_) => {}
                None => panic!("the feed ended while waiting for {what}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} before the deadline"))
}

pub async fn next_event(
    feed: &mut mpsc::Receiver<(Timestamp, Feed)>,
    what: &str,
    pred: impl Fn(&Event) -> bool,
) -> Event {
    match next_feed(feed, what, WAIT, |f| matches!(f, Feed::Event(e) if pred(e))).await {
        Feed::Event(e) => e,
        other => panic!("not an event: {other:?}"),
    }
}
