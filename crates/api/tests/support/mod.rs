//! A fake [`Daemon`] for the API's tests: a watch of a view the test can change, a decision broadcast, admin
//! requests recorded and answered with a canned result; and a harness that starts the server on it in a
//! fresh data dir.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api::*;
use jiff::{SignedDuration, Timestamp};
use rust_decimal_macros::dec;
use tokio::sync::{broadcast, oneshot, watch};

pub struct Fake {
    pub view: watch::Sender<Arc<View>>,
    pub decisions: broadcast::Sender<DecisionRecord>,
    pub admin_seen: Mutex<Vec<AdminRequest>>,
    /// What admin requests get; `None`: the request is dropped unanswered.
    pub admin_answer: Mutex<Option<AdminResult>>,
    pub history_asked: Mutex<Vec<(Option<Timestamp>, Option<i64>)>>,
}

impl Fake {
    pub fn new(view: View) -> Arc<Fake> {
        let (decisions, _) = broadcast::channel(4);
        Arc::new(Fake {
            view: watch::Sender::new(Arc::new(view)),
            decisions,
            admin_seen: Mutex::new(Vec::new()),
            admin_answer: Mutex::new(Some(Ok(AdminDone {
                message: "done".into(),
                pending: None,
            }))),
            history_asked: Mutex::new(Vec::new()),
        })
    }

    pub fn current(&self) -> View {
        (**self.view.borrow()).clone()
    }

    /// Publish a changed view.
    pub fn update(&self, change: impl FnOnce(&mut View)) {
        let mut v = self.current();
        change(&mut v);
        self.view.send_replace(Arc::new(v));
    }

    pub fn admin_requests(&self) -> Vec<AdminRequest> {
        self.admin_seen.lock().unwrap().clone()
    }
}

impl Daemon for Fake {
    fn view(&self) -> watch::Receiver<Arc<View>> {
        self.view.subscribe()
    }
    fn decisions(&self) -> broadcast::Receiver<DecisionRecord> {
        self.decisions.subscribe()
    }
    fn decision_history(
        &self,
        since: Option<Timestamp>,
        account: Option<i64>,
    ) -> Vec<DecisionRecord> {
        self.history_asked.lock().unwrap().push((since, account));
        vec![decision(account.unwrap_or(7001), "daily_realized_loss")]
    }
    fn rules(&self) -> Vec<AccountRules> {
        vec![AccountRules {
            account: 7001,
            rules: serde_json::json!({"max_contracts": {"enabled": true, "limit": 5}}),
        }]
    }
    fn holidays(&self) -> Holidays {
        let h = Holiday {
            date: "2025-12-25".into(),
            name: "Christmas".into(),
            kind: "closed".into(),
        };
        Holidays {
            timezone: "America/Chicago".into(),
            holidays: vec![h.clone()],
            next: Some(h),
            sessions: serde_json::json!({}),
        }
    }
    fn admin(&self, request: AdminRequest) -> oneshot::Receiver<AdminResult> {
        self.admin_seen.lock().unwrap().push(request);
        let (tx, rx) = oneshot::channel();
        if let Some(answer) = self.admin_answer.lock().unwrap().clone() {
            let _ = tx.send(answer);
        }
        rx
    }
    fn metrics(&self) -> String {
        "# TYPE riskguard_decisions_total counter\nriskguard_decisions_total 3\n".into()
    }
}

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub fn decision(account: i64, rule: &str) -> DecisionRecord {
    DecisionRecord {
        t: ts("2025-03-14T15:00:00Z"),
        account,
        rule: rule.into(),
        action: "lockout".into(),
        details: serde_json::json!({"until": "2025-03-14T22:00:00Z"}),
        reason: "day P&L -520.00 at or below -500.00".into(),
        dry_run: false,
    }
}

pub fn account(id: i64, realized: rust_decimal::Decimal) -> Account {
    Account {
        id,
        can_trade: Some(true),
        state: TradingState::Ok,
        state_reason: None,
        state_until: None,
        realized_pnl: realized,
        unrealized_pnl: dec!(12.50),
        net_pnl: realized + dec!(12.50),
        open_positions: 1,
        working_orders: 1,
        usage: vec![RuleUsage {
            rule: "max_contracts".into(),
            used: dec!(3),
            limit: dec!(5),
            unit: "contracts".into(),
            fraction: dec!(0.6),
            text: "3 of 5 contracts".into(),
        }],
    }
}

pub fn lock(account: i64) -> Lock {
    Lock {
        account,
        rule: "daily_realized_loss".into(),
        kind: "until_reset".into(),
        reason: "day P&L -520.00 at or below -500.00".into(),
        since: ts("2025-03-14T15:00:00Z"),
        until: Some(ts("2025-03-14T22:00:00Z")),
    }
}

pub fn view() -> View {
    let now = Timestamp::now();
    View {
        at: now,
        status: Status {
            version: "0.1.0".into(),
            started_at: now - SignedDuration::from_secs(3725),
            uptime_secs: 3725,
            dry_run: false,
            hubs: vec![HubState {
                login: "main".into(),
                hub: "user".into(),
                up: true,
                since: Some(now),
                reconnects: 0,
            }],
            last_event_at: Some(now - SignedDuration::from_secs(2)),
            last_event_age_ms: Some(2000),
            enforcement_online: true,
            journal_degraded: false,
            malformed_payloads: 0,
            rest_errors: 1,
        },
        accounts: vec![account(7001, dec!(-120.25)), account(7002, dec!(40))],
        positions: vec![Position {
            account: 7001,
            contract: "CON.F.US.MNQ.M25".into(),
            size: 2,
            average_price: dec!(21000.25),
            last_price: Some(dec!(21003.50)),
            unrealized_pnl: Some(dec!(13.00)),
            has_stop: true,
            stop_grace_until: None,
            opened_at: ts("2025-03-14T14:00:00Z"),
        }],
        orders: vec![Order {
            account: 7001,
            order: 99,
            contract: "CON.F.US.MNQ.M25".into(),
            status: "open".into(),
            order_type: "stop".into(),
            side: "sell".into(),
            size: 2,
            limit_price: None,
            stop_price: Some(dec!(20950)),
        }],
        locks: Vec::new(),
        pending: Vec::new(),
    }
}

static N: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under the system's temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "riskguard-api-{}-{name}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The server on a fake daemon, and a plain HTTP client for raw requests.
pub struct Harness {
    pub fake: Arc<Fake>,
    pub server: Server,
    pub base: String,
    pub trader: String,
    pub http: reqwest::Client,
    pub dir: TempDir,
}

pub const PASSWORD: &str = "correct horse battery";

impl Harness {
    pub async fn start(name: &str) -> Harness {
        Harness::start_with(name, false).await
    }

    /// `with_password`: set the admin password [`PASSWORD`] first.
    pub async fn start_with(name: &str, with_password: bool) -> Harness {
        let dir = TempDir::new(name);
        if with_password {
            set_admin_password(dir.path(), None, PASSWORD).unwrap();
        }
        let fake = Fake::new(view());
        let server = start(
            ServerConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                data_dir: dir.path().to_path_buf(),
            },
            fake.clone(),
        )
        .await
        .unwrap();
        let trader = files::read_trader_token(dir.path()).unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Harness {
            base: format!("http://{}", server.local_addr),
            fake,
            server,
            trader,
            http,
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET with a token; (status, JSON body).
    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// POST a raw body with a token; (status, JSON body).
    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> (u16, serde_json::Value) {
        let mut req = self
            .http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        self.post_raw(path, token, &body.to_string()).await
    }

    /// An admin token (the harness must have been started with a password).
    pub async fn admin_token(&self) -> String {
        let (status, body) = self
            .post(
                "/v1/admin/login",
                None,
                serde_json::json!({"password": PASSWORD, "name": "ops"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// The `/metrics` text (it needs no token).
    pub async fn metrics(&self) -> String {
        let resp = self.http.get(self.url("/metrics")).send().await.unwrap();
        resp.text().await.unwrap()
    }

    pub fn client(&self) -> api::client::Client {
        api::client::Client::from_data_dir(self.dir.path()).unwrap()
    }
}

/// Await `fut` for at most `deadline`, panicking with `what` otherwise.
pub async fn within<T>(
    what: &str,
    deadline: Duration,
    fut: impl std::future::Future<Output = T>,
) -> T {
    let start = Instant::now();
    match tokio::time::timeout(deadline, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {:?} waiting for {what}", start.elapsed()),
    }
}
