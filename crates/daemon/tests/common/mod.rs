//! The shared rig of the daemon's end-to-end tests: the simulator on 127.0.0.1 port 0, a daemon on a temp
//! data dir, a trader who acts through the simulator's ordinary REST API, and waits that are conditions with
//! deadlines.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::Path;
use std::time::Duration;

use model::decision::{Decision, RuleId};
use serde_json::{Value, json};
use tokio::sync::{broadcast, oneshot};

pub const ACCOUNT: i64 = 7001;
pub const MNQ: &str = "CON.F.US.MNQ.Z25";
pub const RTY: &str = "CON.F.US.RTY.Z25";

pub struct Rig {
    pub rules: String,
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
    pub decisions: broadcast::Receiver<Decision>,
    daemon: Option<daemon::Spawned>,
    pub sim: sim::SimHandle,
    pub data_dir: std::path::PathBuf,
    /// The daemon's internal API.
    pub api: std::net::SocketAddr,
}

/// A started daemon: its decisions, its handle, and its internal API's address.
pub type Started = (
    broadcast::Receiver<Decision>,
    daemon::Spawned,
    std::net::SocketAddr,
);

/// Start a daemon on `data_dir` against the simulator at `base`; returns once it is ready.
pub async fn start_daemon(rules: &str, base: &str, data_dir: &Path) -> Started {
    let base = base.to_string();
    let data_dir = data_dir.to_path_buf();
    let risk = config::parse_risk_config(rules, Path::new("rules.yaml"), None).unwrap();
    let login = daemon::LoginPlan::at(&base, "demo", "demo", vec![model::ids::AccountId(ACCOUNT)]);
    let mut config = daemon::DaemonConfig::in_code(risk, vec![login], data_dir.clone());
    // The rules also live in a file, so that an admin reload has something to read.
    std::fs::create_dir_all(&data_dir).unwrap();
    let risk_path = data_dir.join("risk_config.yaml");
    if !risk_path.exists() {
        std::fs::write(&risk_path, rules).unwrap();
    }
    config.risk_path = Some(risk_path);
    // The running rules come from `rules`, whatever the file holds by now (as `riskguard run` keeps the
    // text it loaded).
    config.risk_text = Some(rules.to_owned());
    let (tx, decisions) = broadcast::channel(1024);
    let (api_tx, api_rx) = oneshot::channel();
    let hooks = daemon::Hooks {
        decisions: Some(tx),
        api_addr: Some(api_tx),
        ..daemon::Hooks::default()
    };
    let mut daemon = daemon::spawn(config, hooks);
    daemon.ready(Duration::from_secs(10)).await.unwrap();
    let api = tokio::time::timeout(Duration::from_secs(10), api_rx)
        .await
        .expect("the API listens in time")
        .expect("the API started");
    (decisions, daemon, api)
}

pub async fn rig(rules: &str, name: &str) -> Rig {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = sim::spawn(sim::SimConfig::default(), listener)
        .await
        .unwrap();
    let base = sim.base_url().to_string();
    let data_dir =
        std::env::temp_dir().join(format!("riskguard-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let (decisions, daemon, api) = start_daemon(rules, &base, &data_dir).await;
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{base}/api/Auth/loginKey"))
        .json(&json!({"userName": "demo", "apiKey": "demo"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_string();
    Rig {
        rules: rules.to_string(),
        base,
        http,
        token,
        decisions,
        daemon: Some(daemon),
        sim,
        data_dir,
        api,
    }
}

impl Rig {
    pub async fn price(&self, contract: &str, last: u32) {
        self.http
            .post(format!("{}/sim/price", self.base))
            .json(&json!({"contractId": contract, "lastPrice": last}))
            .send()
            .await
            .unwrap();
    }

    pub async fn market(&self, contract: &str, side: i64, size: i64) {
        let r: Value = self
            .http
            .post(format!("{}/api/Order/place", self.base))
            .bearer_auth(&self.token)
            .json(&json!({"accountId": ACCOUNT, "contractId": contract, "type": 2, "side": side, "size": size}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["success"], json!(true), "{r}");
    }

    pub async fn state(&self) -> Value {
        self.http
            .get(format!("{}/sim/state", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Wait until the simulator shows no position in `contract`.
    pub async fn until_flat(&self, contract: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.state().await;
            let open = s["positions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["contractId"] == json!(contract));
            if !open {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{contract} still open: {}",
                s["positions"]
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn decision(&mut self, rule: RuleId) -> Decision {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let d = tokio::time::timeout_at(deadline, self.decisions.recv())
                .await
                .expect("decision in time")
                .unwrap();
            if d.rule == rule {
                return d;
            }
        }
    }

    /// Stop the daemon cleanly and start a new one on the same data dir and simulator.
    pub async fn restart(&mut self) {
        self.restart_with(|_| {}).await;
    }

    /// As [`Rig::restart`], running `while_down` on the data dir while no daemon runs.
    pub async fn restart_with(&mut self, while_down: impl FnOnce(&Path)) {
        let old = self.daemon.take().expect("a running daemon");
        old.stop(Duration::from_secs(8)).await.unwrap();
        while_down(&self.data_dir);
        let (decisions, daemon, api) = start_daemon(&self.rules, &self.base, &self.data_dir).await;
        self.api = api;
        self.decisions = decisions;
        self.daemon = Some(daemon);
    }

    pub async fn stop(mut self) -> std::path::PathBuf {
        let daemon = self.daemon.take().expect("a running daemon");
        daemon.stop(Duration::from_secs(8)).await.unwrap();
        self.data_dir
    }
}

// ---- Helpers added for families.rs and faults.rs (additions only). ----

/// A deadline a few seconds away, for the waits below.
pub fn deadline(secs: u64) -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(secs)
}

/// The position in `contract` in a `/sim/state` answer: signed size (long +, short −), 0 when flat.
pub fn size_in(state: &Value, contract: &str) -> i64 {
    state["positions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["contractId"] == json!(contract))
        .map_or(0, |p| {
            let size = p["size"].as_i64().unwrap();
            if p["type"] == json!(2) { -size } else { size }
        })
}

/// The working order with id `order` in a `/sim/state` answer.
pub fn working_order(state: &Value, order: i64) -> Option<&Value> {
    state["workingOrders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == json!(order))
}

/// How many REST calls the simulator counted on `path` (e.g. `/api/Position/closeContract`).
pub fn calls_in(state: &Value, path: &str) -> u64 {
    state["restCalls"][path].as_u64().unwrap_or(0)
}

impl Rig {
    /// `POST /api/Order/place` as the trader, with `body` plus the account; returns the whole answer
    /// (no assertion: a fault test may see a refusal).
    pub async fn try_place(&self, body: Value) -> (reqwest::StatusCode, Value) {
        let mut body = body;
        body["accountId"] = json!(ACCOUNT);
        let r = self
            .http
            .post(format!("{}/api/Order/place", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `POST /api/Order/place` as the trader; asserts success and returns the order id.
    pub async fn place(&self, body: Value) -> i64 {
        let (status, r) = self.try_place(body).await;
        assert!(status.is_success(), "HTTP {status}: {r}");
        assert_eq!(r["success"], json!(true), "{r}");
        r["orderId"].as_i64().unwrap()
    }

    /// A resting limit order (side 0 buy, 1 sell); returns its id.
    pub async fn limit(&self, contract: &str, side: i64, size: i64, price: Value) -> i64 {
        self.place(json!({"contractId": contract, "type": 1, "side": side, "size": size, "limitPrice": price}))
            .await
    }

    /// A stop order (side 0 buy, 1 sell); returns its id.
    pub async fn stop_order(&self, contract: &str, side: i64, size: i64, stop: Value) -> i64 {
        self.place(json!({"contractId": contract, "type": 4, "side": side, "size": size, "stopPrice": stop}))
            .await
    }

    /// `/sim/price` with any JSON number (ticks finer than a whole point).
    pub async fn set_price(&self, contract: &str, last: Value) {
        let r: Value = self
            .http
            .post(format!("{}/sim/price", self.base))
            .json(&json!({"contractId": contract, "lastPrice": last}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["success"], json!(true), "{r}");
    }

    /// `POST /sim/<what>` on the control surface; returns the answer.
    pub async fn control(&self, what: &str, body: Value) -> Value {
        let r: Value = self
            .http
            .post(format!("{}/sim/{what}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["success"], json!(true), "/sim/{what} {body}: {r}");
        r
    }

    /// `POST /sim/fault`.
    pub async fn fault(&self, fault: Value) -> Value {
        self.control("fault", fault).await
    }

    /// `POST /sim/account {accountId, canTrade}`.
    pub async fn can_trade(&self, can: bool) {
        self.control("account", json!({"accountId": ACCOUNT, "canTrade": can}))
            .await;
    }

    /// The trader logs in again (after `expire_tokens`).
    pub async fn relogin(&mut self) {
        let login: Value = self
            .http
            .post(format!("{}/api/Auth/loginKey", self.base))
            .json(&json!({"userName": "demo", "apiKey": "demo"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        self.token = login["token"].as_str().unwrap().to_string();
    }

    /// Poll `/sim/state` until `cond` holds, within `secs` seconds; returns the state that satisfied it.
    pub async fn until(&self, what: &str, secs: u64, cond: impl Fn(&Value) -> bool) -> Value {
        let end = deadline(secs);
        loop {
            let s = self.state().await;
            if cond(&s) {
                return s;
            }
            assert!(
                tokio::time::Instant::now() < end,
                "timed out waiting for {what}; positions {} workingOrders {} restCalls {} hubConnections {}",
                s["positions"],
                s["workingOrders"],
                s["restCalls"],
                s["hubConnections"]
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Wait until the simulator shows `size` (signed) in `contract`.
    pub async fn until_size(&self, contract: &str, size: i64) -> Value {
        self.until(&format!("{contract} at size {size}"), 10, |s| {
            size_in(s, contract) == size
        })
        .await
    }

    /// Wait until the daemon's market-hub connection is subscribed to `contract`'s quotes (a quote sent
    /// before that is not seen: the hub sends no snapshot).
    pub async fn until_quotes(&self, contract: &str) {
        self.until(&format!("a quote subscription to {contract}"), 10, |s| {
            s["hubConnections"].as_array().unwrap().iter().any(|c| {
                c["hub"] == json!("market")
                    && c["subscriptions"]["quotes"]
                        .as_array()
                        .is_some_and(|q| q.iter().any(|x| x == &json!(contract)))
            })
        })
        .await;
    }

    /// How many user-hub connections the simulator has open.
    pub async fn user_hubs(&self) -> usize {
        let s = self.state().await;
        s["hubConnections"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["hub"] == json!("user"))
            .count()
    }

    /// The next decision that satisfies `pred` (within 10 s), skipping others.
    pub async fn decision_where(
        &mut self,
        what: &str,
        pred: impl Fn(&Decision) -> bool,
    ) -> Decision {
        self.decision_within(what, 10, pred).await
    }

    /// The next decision that satisfies `pred` within `secs` seconds, skipping others; every skipped
    /// decision is returned too (in order), for assertions on what came before.
    pub async fn decision_within(
        &mut self,
        what: &str,
        secs: u64,
        pred: impl Fn(&Decision) -> bool,
    ) -> Decision {
        self.decisions_until(what, secs, pred).await.1
    }

    /// Decisions up to and including the first that satisfies `pred` (within `secs` seconds): the ones
    /// before it, and it.
    pub async fn decisions_until(
        &mut self,
        what: &str,
        secs: u64,
        pred: impl Fn(&Decision) -> bool,
    ) -> (Vec<Decision>, Decision) {
        let end = deadline(secs);
        let mut before = Vec::new();
        loop {
            let d = tokio::time::timeout_at(end, self.decisions.recv())
                .await
                .unwrap_or_else(|_| panic!("no decision {what} in {secs} s; saw {before:#?}"))
                .unwrap();
            if pred(&d) {
                return (before, d);
            }
            before.push(d);
        }
    }
}

impl Rig {
    /// A barrier on the daemon's input stream, for asserting that something did NOT happen without a
    /// sleep. Needs `symbol_blocks: [RTY]` in the rules and an RTY price: the trader rests an RTY limit
    /// order far from the market, and the daemon's decision to cancel it is awaited. The simulator sends
    /// every user-hub event in order and the daemon decides them in order, so every decision about an
    /// earlier event has been broadcast by then. Returns the decisions seen before the barrier's.
    pub async fn barrier(&mut self) -> Vec<Decision> {
        let order = self.limit(RTY, 0, 1, json!(100)).await;
        let target = model::ids::OrderId(order);
        self.decisions_until("the barrier's cancel", 10, |d| {
            d.rule == RuleId::SymbolBlocks
                && d.action == model::decision::Action::CancelOrder { order: target }
        })
        .await
        .0
    }
}
