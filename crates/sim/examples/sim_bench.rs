//! Benchmarks of the simulator on loopback (see crates/sim/PERFORMANCE.md):
//!
//! 1. quote fan-out: GatewayQuote events per second delivered to one subscribed raw SignalR client;
//! 2. market order over REST: time from the REST reply to the GatewayUserPosition event reaching the
//!    subscriber (p50 / p99 / max).
//!
//! Run: `cargo run --release -p sim --example sim_bench [QUOTES] [ORDERS]` (defaults 200000 and 2000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::float_arithmetic)]

use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sim::SimConfig;
use tokio_tungstenite::tungstenite::Message;

const MNQ: &str = "CON.F.US.MNQ.Z25";

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn login(http: &reqwest::Client, base: &str) -> String {
    let body: Value = http
        .post(format!("{base}/api/Auth/loginKey"))
        .json(&json!({"userName": "demo", "apiKey": "demo"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["token"].as_str().unwrap().to_owned()
}

async fn hub(base: &str, path: &str, token: &str, subscribe: &[(&str, Value)]) -> Ws {
    let url = format!(
        "{}/hubs/{path}?access_token={token}",
        base.replacen("http", "ws", 1)
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ws.send(Message::text("{\"protocol\":\"json\",\"version\":1}\u{1e}"))
        .await
        .unwrap();
    ws.next().await.unwrap().unwrap();
    for (i, (target, args)) in subscribe.iter().enumerate() {
        let text =
            json!({"type": 1, "invocationId": i.to_string(), "target": target, "arguments": args});
        ws.send(Message::text(format!("{text}\u{1e}")))
            .await
            .unwrap();
        loop {
            let m = ws.next().await.unwrap().unwrap();
            if m.to_text().unwrap().contains("\"type\":3") {
                break;
            }
        }
    }
    ws
}

fn count_records(message: &Message, target: &str) -> usize {
    message
        .to_text()
        .map(|t| t.matches(target).count())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let quotes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let orders: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000);

    let config = SimConfig {
        rate_limit_requests: 10_000_000,
        ..SimConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = sim::spawn(config, listener).await.unwrap();
    let base = sim.base_url();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let token = login(&http, &base).await;

    // 1. Quote fan-out.
    let mut market = hub(
        &base,
        "market",
        &token,
        &[("SubscribeContractQuotes", json!([MNQ]))],
    )
    .await;
    let reader = tokio::spawn(async move {
        let mut seen = 0;
        while seen < quotes {
            let m = market.next().await.unwrap().unwrap();
            seen += count_records(&m, "GatewayQuote");
        }
        (Instant::now(), market)
    });
    let started = Instant::now();
    for i in 0..quotes {
        let last = Decimal::new(2_100_000 + (i % 400) as i64 * 25, 2);
        sim.set_price(MNQ, last, None, None).unwrap();
        if i % 4096 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let produced = started.elapsed();
    let (finished, _market) = tokio::time::timeout(Duration::from_secs(120), reader)
        .await
        .unwrap()
        .unwrap();
    let elapsed = finished - started;
    println!(
        "quote fan-out: {quotes} GatewayQuote in {:.3} s = {:.0} events/s (produced in {:.3} s)",
        elapsed.as_secs_f64(),
        quotes as f64 / elapsed.as_secs_f64(),
        produced.as_secs_f64()
    );

    // 2. Market order: REST reply → position event at the subscriber.
    let user = hub(
        &base,
        "user",
        &token,
        &[("SubscribePositions", json!([7001]))],
    )
    .await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    tokio::spawn(async move {
        let mut user = user;
        while let Some(Ok(m)) = user.next().await {
            let at = Instant::now();
            for _ in 0..count_records(&m, "GatewayUserPosition") {
                let _ = tx.send(at);
            }
        }
    });
    let mut latencies = Vec::with_capacity(orders);
    let mut round_trips = Vec::with_capacity(orders);
    for i in 0..orders {
        let side = i % 2;
        let sent = Instant::now();
        let response = http
            .post(format!("{base}/api/Order/place"))
            .bearer_auth(&token)
            .json(
                &json!({"accountId": 7001, "contractId": MNQ, "type": 2, "side": side, "size": 1}),
            )
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        let replied = Instant::now();
        assert_eq!(body["success"], true, "{body}");
        let event = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        latencies.push(event.saturating_duration_since(replied));
        round_trips.push(replied - sent);
    }
    latencies.sort();
    round_trips.sort();
    let pct = |p: f64| {
        latencies[((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1]
    };
    println!(
        "market order: {orders} orders, REST reply → position event p50 {:?}, p99 {:?}, max {:?}",
        pct(0.50),
        pct(0.99),
        latencies[latencies.len() - 1]
    );
    let rt = |p: f64| {
        round_trips
            [((round_trips.len() as f64 * p).ceil() as usize).clamp(1, round_trips.len()) - 1]
    };
    println!(
        "market order: REST round trip p50 {:?}, p99 {:?}",
        rt(0.50),
        rt(0.99)
    );
    sim.shutdown().await.unwrap();
}
