//! The shared rig of the daemon's end-to-end tests: the simulator on 127.0.0.1 port 0, a daemon on a temp
//! data dir, a trader who acts through the simulator's ordinary REST API, and waits that are conditions with
//! deadlines.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::Path;
use std::sync::Arc;
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
    stop: Option<oneshot::Sender<()>>,
    daemon: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub sim: sim::SimHandle,
    pub data_dir: std::path::PathBuf,
}

pub type Started = (
    broadcast::Receiver<Decision>,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
);

/// Start a daemon on `data_dir` against the simulator at `base`; returns once it is ready.
pub async fn start_daemon(rules: &str, base: &str, data_dir: &Path) -> Started {
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

pub async fn rig(rules: &str, name: &str) -> Rig {
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
        sim,
        data_dir,
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

    pub async fn stop(mut self) -> std::path::PathBuf {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(8), self.daemon)
            .await
            .expect("stops in time")
            .unwrap()
            .unwrap();
        self.data_dir
    }
}
