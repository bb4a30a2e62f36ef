//! Helpers shared by the integration tests: start a simulator on 127.0.0.1 port 0, call REST and control
//! endpoints with reqwest, and speak raw SignalR over tokio-tungstenite. Every wait has a deadline.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use sim::{SimConfig, SimHandle};
use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

/// Generous deadline for anything that should happen "at once".
pub const WAIT: Duration = Duration::from_secs(10);

pub const ACCOUNT: i64 = 7001;
pub const ES: &str = "CON.F.US.EP.Z25";
pub const MNQ: &str = "CON.F.US.MNQ.Z25";

pub async fn start() -> SimHandle {
    start_with(SimConfig::default()).await
}

pub async fn start_with(config: SimConfig) -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    sim::spawn(config, listener).await.unwrap()
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(WAIT)
        .build()
        .unwrap()
}

/// POST a JSON body; returns status and parsed body (Null when empty or not JSON).
pub async fn post(base: &str, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    post_raw(base, path, token, body.to_string()).await
}

pub async fn post_raw(base: &str, path: &str, token: Option<&str>, body: String) -> (u16, Value) {
    let mut request = http()
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub async fn login(base: &str) -> String {
    let (status, body) = post(
        base,
        "/api/Auth/loginKey",
        None,
        json!({"userName": "demo", "apiKey": "demo"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

pub async fn state(base: &str) -> Value {
    let response = http()
        .get(format!("{base}/sim/state"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

/// Sets the last price (`last` is the JSON number's text, e.g. "5000.25").
pub async fn set_price(base: &str, contract: &str, last: &str) {
    let body = format!(r#"{{"contractId":"{contract}","lastPrice":{last}}}"#);
    let (status, body) = post_raw(base, "/sim/price", None, body).await;
    assert_eq!(status, 200, "{body}");
}

/// A raw SignalR JSON-protocol client.
pub struct RawHub {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pending: Vec<Value>,
}

impl RawHub {
    pub async fn connect(base: &str, hub: &str, token: &str) -> RawHub {
        let url = format!(
            "{}/hubs/{hub}?access_token={token}",
            base.replacen("http", "ws", 1)
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        ws.send(Message::text("{\"protocol\":\"json\",\"version\":1}\u{1e}"))
            .await
            .unwrap();
        let first = tokio::time::timeout(WAIT, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(first.to_text().unwrap(), "{}\u{1e}");
        RawHub {
            ws,
            pending: Vec::new(),
        }
    }

    pub async fn send(&mut self, text: &str) {
        self.ws.send(Message::text(text.to_owned())).await.unwrap();
    }

    pub async fn invoke(&mut self, id: &str, target: &str, args: Value) {
        let text =
            json!({"type": 1, "invocationId": id, "target": target, "arguments": args}).to_string();
        self.send(&format!("{text}\u{1e}")).await;
    }

    /// The next record that satisfies `pred`, skipping others (pings, unrelated events).
    pub async fn next_matching(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(i) = self.pending.iter().position(&pred) {
                    return self.pending.remove(i);
                }
                let message = self
                    .ws
                    .next()
                    .await
                    .expect("socket ended")
                    .expect("socket error");
                if let Ok(text) = message.to_text() {
                    for record in text.split('\u{1e}').filter(|r| !r.is_empty()) {
                        self.pending.push(serde_json::from_str(record).unwrap());
                    }
                }
            }
        })
        .await
        .expect("no matching SignalR record before the deadline")
    }

    /// True when the socket ends (EOF, error or close) before the deadline.
    pub async fn ended(&mut self) -> bool {
        tokio::time::timeout(WAIT, async {
            loop {
                match self.ws.next().await {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await
        .is_ok()
    }

    pub async fn completion(&mut self, id: &str) -> Value {
        let id = id.to_owned();
        self.next_matching(move |v| v["type"] == 3 && v["invocationId"] == id.as_str())
            .await
    }

    pub async fn event(&mut self, target: &str) -> Value {
        let target = target.to_owned();
        self.next_matching(move |v| v["type"] == 1 && v["target"] == target.as_str())
            .await
    }
}
