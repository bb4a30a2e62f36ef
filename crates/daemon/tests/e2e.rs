//! End to end: the daemon against the simulator on 127.0.0.1 port 0. A trader acts through the simulator's
//! ordinary REST API; the simulator's state then shows the enforcement. Waits are conditions with deadlines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use model::decision::{Decision, RuleId};
use serde_json::{Value, json};
use tokio::sync::{broadcast, oneshot};

const ACCOUNT: i64 = 7001;
const MNQ: &str = "CON.F.US.MNQ.Z25";
const RTY: &str = "CON.F.US.RTY.Z25";

struct Rig {
    rules: String,
    base: String,
    http: reqwest::Client,
    token: String,
    decisions: broadcast::Receiver<Decision>,
    stop: Option<oneshot::Sender<()>>,
    daemon: tokio::task::JoinHandle<anyhow::Result<()>>,
    _sim: sim::SimHandle,
    data_dir: std::path::PathBuf,
}

type Started = (
    broadcast::Receiver<Decision>,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
);

/// Start a daemon on `data_dir` against the simulator at `base`; returns once it is ready.
async fn start_daemon(rules: &str, base: &str, data_dir: &Path) -> Started {
    let base = base.to_string();
    let data_dir = data_dir.to_path_buf();
    let risk = config::parse_risk_config(rules, Path::new("rules.yaml"), None).unwrap();
    let config = daemon::DaemonConfig {
        risk: Arc::new(risk),
        risk_path: None,
        logins: vec![daemon::LoginPlan {
            name: "demo".into(),
            endpoints: gateway::Endpoints {
                api_url: base.clone(),
                realtime_url: base.clone(),
            },
            credentials: gateway::Credentials::new("demo", "demo"),
            accounts: vec![model::ids::AccountId(ACCOUNT)],
        }],
        data_dir: data_dir.clone(),
        api_listen: "127.0.0.1:0".into(),
    };
    let (tx, decisions) = broadcast::channel(1024);
    let (ready_tx, ready_rx) = oneshot::channel();
    let (stop, stop_rx) = oneshot::channel::<()>();
    let hooks = daemon::Hooks {
        decisions: Some(tx),
        ready: Some(ready_tx),
    };
    let daemon = tokio::spawn(daemon::run(
        config,
        async {
            let _ = stop_rx.await;
        },
        hooks,
    ));
    tokio::time::timeout(Duration::from_secs(10), ready_rx)
        .await
        .expect("ready in time")
        .unwrap();
    (decisions, stop, daemon)
}

async fn rig(rules: &str, name: &str) -> Rig {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = sim::spawn(sim::SimConfig::default(), listener)
        .await
        .unwrap();
    let base = sim.base_url().to_string();
    let data_dir =
        std::env::temp_dir().join(format!("riskguard-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let (decisions, stop, daemon) = start_daemon(rules, &base, &data_dir).await;
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
        stop: Some(stop),
        daemon,
        _sim: sim,
        data_dir,
    }
}

impl Rig {
    async fn price(&self, contract: &str, last: u32) {
        self.http
            .post(format!("{}/sim/price", self.base))
            .json(&json!({"contractId": contract, "lastPrice": last}))
            .send()
            .await
            .unwrap();
    }

    async fn market(&self, contract: &str, side: i64, size: i64) {
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

    async fn state(&self) -> Value {
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
    async fn until_flat(&self, contract: &str) {
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

    async fn decision(&mut self, rule: RuleId) -> Decision {
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
    async fn restart(&mut self) {
        let _ = self.stop.take().unwrap().send(());
        let old = std::mem::replace(&mut self.daemon, tokio::spawn(async { Ok(()) }));
        tokio::time::timeout(Duration::from_secs(8), old)
            .await
            .expect("stops in time")
            .unwrap()
            .unwrap();
        let (decisions, stop, daemon) = start_daemon(&self.rules, &self.base, &self.data_dir).await;
        self.decisions = decisions;
        self.stop = Some(stop);
        self.daemon = daemon;
    }

    async fn stop(mut self) -> std::path::PathBuf {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(8), self.daemon)
            .await
            .expect("stops in time")
            .unwrap()
            .unwrap();
        self.data_dir
    }
}

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
