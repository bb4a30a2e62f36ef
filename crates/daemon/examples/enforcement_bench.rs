//! Daemon benchmarks (docs/PERFORMANCE.md, "Daemon"): the real daemon (`daemon::run`) in-process against the
//! simulator (`sim::spawn`) on 127.0.0.1.
//!
//! 1. **breach**: breach-to-enforcement latency over N breaches (default 1,000). Each breach: the trader
//!    opens 1 contract long over REST, waits until the daemon holds a quote subscription for it (the daemon
//!    subscribes after its engine has seen the position), then publishes a quote that breaches
//!    `daily_unrealized_loss` (per_position) with the in-process `SimHandle::set_price`. Measured from the
//!    instant just before that call to
//!    - `fill`: the simulator's closing fill (its `creationTimestamp`, microseconds, taken when the
//!      simulator executes the `Position/closeContract` it received): **the headline figure**;
//!    - `flat`: a second, raw user-hub client receiving the flat `GatewayUserPosition` (an upper bound:
//!      adds the fill and the event fan-out);
//!    - `decided`: the decision hook (`Hooks::decisions`, sent after the decision is journaled);
//!    - `arrived`: the decision's `t`, the instant the daemon's gateway session stamped the breaching quote on
//!      arrival (wall clock, so it splits the path into the simulator and socket half and the daemon half).
//!
//!    Breaches rotate over 10 accounts and 9 contracts, so each is fresh.
//! 2. **load**: 10 accounts × 5 contracts all held, 20,000 quotes/s published from a dedicated thread for
//!    60 s, breach probes (same measurement, on 4 other contracts) every 500 ms meanwhile, a last probe
//!    after the flood (it can only complete once the daemon has worked through every quote before it), then
//!    the journal is counted: quotes of held contracts are journaled one by one, so "journaled quotes of the
//!    load contracts" = quotes the daemon saw.
//! 3. resident memory (VmRSS / VmHWM of this process, which holds the simulator too) at each stage.
//!
//! Threads, as two processes on one machine would have them: the daemon on its own runtime (`daemon::runtime`,
//! as `riskguard run`), the simulator and the measuring clients on `main`'s single-threaded runtime, the load
//! phase's quote publisher on a thread of its own, and the store's writer thread. (The simulator on two
//! workers of its own costs more CPU and wake-ups than the daemon it serves: on 2 cores it tripled the flood's
//! p99. A real gateway is on other machines.)
//!
//! The simulator's REST limit is raised to 1,000,000 per 60 s (SimConfig.rate_limit_requests; the real
//! gateway allows 200). The daemon's own client (projectx-client 8) still limits itself to 200 general calls
//! per 60 s per login, which `gateway` does not let a caller change, so the breach phase gives each account
//! its own login (100 closes per login) and the load phase keeps the probes under 200 calls per minute.
//!
//! 4. with `--api-load`, the same while 10 clients hold the internal API's stream open and `/v1/accounts` is
//!    polled 100 times per second (issue 5: enforcement p99 may rise by at most 20%).
//!
//! Run: `cargo run --release -p daemon --example enforcement_bench -- [all|breach|load] [--breaches N]
//! [--rate QUOTES_PER_S] [--secs S] [--probe-ms MS] [--api-load] [--dump FILE]`. `--dump` appends every
//! breach's quote → fill and quote → arrival (µs) to FILE, so that several runs can be pooled.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::float_arithmetic,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use jiff::Timestamp;
use model::decision::{Action, Decision};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sim::{AccountConfig, SimConfig, SimHandle, UserConfig};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

const LOSS_LIMIT: i64 = 500;
const RULES: &str =
    "rules:\n  daily_unrealized_loss: { enabled: true, loss_limit: 500.00, scope: per_position }\n";
const SIM_RATE_LIMIT: u32 = 1_000_000;
const ACCOUNTS: std::ops::Range<i64> = 7001..7011;
const KEY: &str = "bench";
/// Contracts of `SimConfig::default()` and the price the benchmark trades them at.
const BASES: &[(&str, i64)] = &[
    ("CON.F.US.MNQ.Z25", 21_000),
    ("CON.F.US.MES.Z25", 6_000),
    ("CON.F.US.EP.Z25", 6_000),
    ("CON.F.US.ENQ.Z25", 21_000),
    ("CON.F.US.M2K.Z25", 2_400),
    ("CON.F.US.RTY.Z25", 2_400),
    ("CON.F.US.CL.F26", 60),
    ("CON.F.US.GC.G26", 2_000),
    ("CON.F.US.MBT.Z25", 100_000),
];
/// The load phase streams quotes of the first five and probes breaches on the other four.
const LOAD_CONTRACTS: usize = 5;
/// How far (in ticks) the load stream wanders from the entry price: at most $250 (ES), under the limit.
const WALK_TICKS: i64 = 20;
/// How long a wait may take before the benchmark gives up (a daemon behind a backlog is slow, not stuck).
const WAIT: Duration = Duration::from_secs(300);

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[derive(Clone)]
struct Contract {
    id: String,
    tick: Decimal,
    base: Decimal,
    /// `base` minus a loss of the limit plus five ticks on one contract.
    low: Decimal,
}

fn contracts(config: &SimConfig) -> Vec<Contract> {
    BASES
        .iter()
        .map(|(id, base)| {
            let c = config.contracts.iter().find(|c| c.id == *id).unwrap();
            // Enough ticks down for a loss of the limit plus five ticks on one contract.
            let ticks = Decimal::from(LOSS_LIMIT) / c.tick_value;
            let ticks = ticks.ceil() + Decimal::from(5);
            Contract {
                id: (*id).to_owned(),
                tick: c.tick_size,
                base: Decimal::from(*base),
                low: Decimal::from(*base) - ticks * c.tick_size,
            }
        })
        .collect()
}

fn sim_config() -> SimConfig {
    let mut config = SimConfig {
        rate_limit_requests: SIM_RATE_LIMIT,
        rate_limit_window_secs: 60,
        ..SimConfig::default()
    };
    config.accounts = ACCOUNTS
        .map(|id| AccountConfig {
            id,
            name: format!("BENCH-{id}"),
            balance: Decimal::from(150_000),
            can_trade: true,
            is_visible: true,
            simulated: true,
        })
        .collect();
    let user = |name: String, ids: Vec<i64>| UserConfig {
        user_name: name,
        api_key: KEY.into(),
        account_ids: ids,
    };
    config.users = ACCOUNTS
        .map(|id| user(format!("u{id}"), vec![id]))
        .collect();
    config.users.push(user("desk".into(), ACCOUNTS.collect()));
    config.users.push(user("trader".into(), ACCOUNTS.collect()));
    config
}

/// `--nagle`: leave Nagle's algorithm on for the simulator's sockets (axum's default).
static NAGLE: AtomicBool = AtomicBool::new(false);
/// `--api-load`: 10 stream clients and 100 `/v1/accounts` polls per second against the daemon's API.
static API_LOAD: AtomicBool = AtomicBool::new(false);
/// `--dump FILE`: append each measured breach's phase, quote → fill and quote → arrival in µs, one per line, to
/// pool runs.
static DUMP: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
const API_STREAM_CLIENTS: usize = 10;
const API_POLLS_PER_SEC: u64 = 100;

/// Counters of the API load, printed at the end of a phase.
#[derive(Default)]
struct ApiLoadStats {
    polls_ok: std::sync::atomic::AtomicU64,
    polls_failed: std::sync::atomic::AtomicU64,
    stream_bytes: std::sync::atomic::AtomicU64,
}

/// Start the API load against the daemon's internal API (the trader token from its data dir).
fn start_api_load(addr: std::net::SocketAddr, data_dir: &Path) -> Arc<ApiLoadStats> {
    let token = std::fs::read_to_string(data_dir.join("api").join("trader.token"))
        .expect("the trader token")
        .trim()
        .to_owned();
    let stats = Arc::new(ApiLoadStats::default());
    let http = reqwest::Client::new();
    for _ in 0..API_STREAM_CLIENTS {
        let (http, token, stats) = (http.clone(), token.clone(), stats.clone());
        tokio::spawn(async move {
            let mut r = http
                .get(format!("http://{addr}/v1/stream"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("stream");
            assert!(r.status().is_success(), "stream: {}", r.status());
            while let Ok(Some(chunk)) = r.chunk().await {
                stats
                    .stream_bytes
                    .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
        });
    }
    let s2 = stats.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / API_POLLS_PER_SEC));
        loop {
            tick.tick().await;
            let ok = http
                .get(format!("http://{addr}/v1/accounts"))
                .bearer_auth(&token)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                s2.polls_ok.fetch_add(1, Ordering::Relaxed);
            } else {
                s2.polls_failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    stats
}

fn report_api_load(stats: &ApiLoadStats) {
    println!(
        "  API load: {API_STREAM_CLIENTS} stream clients received {} KB; /v1/accounts polls ok {}, failed {}",
        stats.stream_bytes.load(Ordering::Relaxed) / 1024,
        stats.polls_ok.load(Ordering::Relaxed),
        stats.polls_failed.load(Ordering::Relaxed)
    );
}

/// The simulator's listener on 127.0.0.1, port 0. axum does not set TCP_NODELAY on accepted sockets, so a
/// small hub frame written while the previous one is unacknowledged waits for the receiver's delayed ACK
/// (up to 40 ms on Linux). Linux copies TCP_NODELAY from the listening socket to accepted ones, so setting
/// it here gives the simulator's sockets what a production server would have, without changing the sim.
fn listener() -> tokio::net::TcpListener {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    if !NAGLE.load(Ordering::Relaxed) {
        socket.set_nodelay(true).unwrap();
    }
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    socket.listen(1024).unwrap()
}

// ---------------------------------------------------------------------------------------------------------
// The process.

fn proc_status() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn print_mem(stage: &str) {
    let (rss, hwm) = proc_status();
    println!(
        "memory  {stage:<44} VmRSS {:>6.1} MB   VmHWM {:>6.1} MB",
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The host's own hand-off latency, so that a reader can tell a noisy machine from a slow daemon: two
/// threads pass a token back and forth 2,000 times through channels, idle for 50 µs between round trips
/// (each hand-off parks and wakes a thread, as the daemon's do between quotes). On a quiet host the round
/// trip's p99 is tens of microseconds; when this VM's host is busy it reaches milliseconds, and every
/// latency below rises with it.
fn machine_wake() -> String {
    let (to_echo, echo_rx) = std::sync::mpsc::channel::<()>();
    let (to_main, main_rx) = std::sync::mpsc::channel::<()>();
    let echo = std::thread::spawn(move || {
        for () in echo_rx {
            if to_main.send(()).is_err() {
                break;
            }
        }
    });
    let mut trips = Vec::with_capacity(2_000);
    for _ in 0..2_000 {
        let t = Instant::now();
        to_echo.send(()).unwrap();
        main_rx.recv().unwrap();
        trips.push(t.elapsed());
        std::thread::sleep(Duration::from_micros(50));
    }
    drop(to_echo);
    echo.join().unwrap();
    trips.sort();
    format!(
        "thread hand-off round trip p50 {} p99 {} max {}",
        us(pct(&trips, 0.5)),
        us(pct(&trips, 0.99)),
        us(pct(&trips, 1.0))
    )
}

/// Steal and busy ticks of the whole machine (`/proc/stat`), to report the share the host took.
fn cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let steal = fields.get(7).copied().unwrap_or(0);
    (steal, fields.iter().take(8).sum())
}

fn steal_since(before: (u64, u64)) -> String {
    let now = cpu_ticks();
    let total = now.1.saturating_sub(before.1).max(1);
    format!(
        "{:.1} % of the machine's CPU time stolen by the host",
        100.0 * now.0.saturating_sub(before.0) as f64 / total as f64
    )
}

/// CPU time (user + system, clock ticks) per thread name.
fn thread_cpu() -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_owned();
        let rest: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 after the name.
        let ticks = rest
            .get(11)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            + rest
                .get(12)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        *out.entry(name).or_default() += ticks;
    }
    out
}

fn print_cpu(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>, wall: Duration) {
    let hz = 100.0; // USER_HZ on Linux
    for (name, t) in after {
        let d = t.saturating_sub(before.get(name).copied().unwrap_or(0));
        if d > 0 {
            println!(
                "cpu     {name:<16} {:>6.2} s  ({:>5.1} % of one core)",
                d as f64 / hz,
                d as f64 / hz / wall.as_secs_f64() * 100.0
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Clients: the trader (REST), a raw user-hub observer, the daemon.

struct Trader {
    http: reqwest::Client,
    base: String,
    token: String,
}

async fn login(http: &reqwest::Client, base: &str, user: &str) -> String {
    let body: Value = http
        .post(format!("{base}/api/Auth/loginKey"))
        .json(&json!({"userName": user, "apiKey": KEY}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["token"].as_str().unwrap().to_owned()
}

impl Trader {
    async fn new(base: &str) -> Trader {
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let token = login(&http, base, "trader").await;
        Trader {
            http,
            base: base.to_owned(),
            token,
        }
    }

    /// A market order for 1 contract; `side` 0 buys, 1 sells.
    async fn order(&self, account: i64, contract: &str, side: i64) {
        let body: Value = self
            .http
            .post(format!("{}/api/Order/place", self.base))
            .bearer_auth(&self.token)
            .json(&json!({"accountId": account, "contractId": contract, "type": 2, "side": side, "size": 1}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["success"], json!(true), "{body}");
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

/// A position event as the observer saw it: arrival instant, account, contract, size.
type Seen = (Instant, i64, String, i64);

/// A raw user-hub client subscribed to the positions of every account; each `GatewayUserPosition` is
/// timestamped on arrival of its WebSocket message.
async fn position_observer(base: &str, token: &str) -> mpsc::UnboundedReceiver<Seen> {
    let subs: Vec<(&str, Value)> = ACCOUNTS
        .map(|a| ("SubscribePositions", json!([a])))
        .collect();
    let mut ws = hub(base, "user", token, &subs).await;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(m)) = ws.next().await {
            let at = Instant::now();
            let Ok(text) = m.to_text() else { continue };
            for record in text.split('\u{1e}').filter(|r| !r.is_empty()) {
                let Ok(v) = serde_json::from_str::<Value>(record) else {
                    continue;
                };
                if v["type"] == 1 && v["target"] == "GatewayUserPosition" {
                    let p = &v["arguments"][0];
                    let _ = tx.send((
                        at,
                        p["accountId"].as_i64().unwrap_or(0),
                        p["contractId"].as_str().unwrap_or_default().to_owned(),
                        p["size"].as_i64().unwrap_or(0),
                    ));
                }
            }
        }
    });
    rx
}

async fn wait_position(
    rx: &mut mpsc::UnboundedReceiver<Seen>,
    account: i64,
    contract: &str,
    size: i64,
) -> Instant {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (at, a, c, s) = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no position event {account} {contract} size {size}"))
            .unwrap();
        if a == account && c == contract && s == size {
            return at;
        }
    }
}

struct Daemon {
    decisions: mpsc::UnboundedReceiver<(Instant, Decision)>,
    running: daemon::Spawned,
    /// The internal API (its `/metrics` give the journal's append latency at the end).
    api: std::net::SocketAddr,
    data_dir: PathBuf,
    api_load: Option<Arc<ApiLoadStats>>,
}

/// The daemon's own runtime, as `riskguard run` has it in a process of its own ([`daemon::runtime`]). The
/// simulator, the publisher's fan-out and the measuring clients stay on `main`'s runtime, like a gateway in
/// another process.
fn daemon_runtime() -> tokio::runtime::Handle {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| daemon::runtime().expect("the daemon's runtime"))
        .handle()
        .clone()
}

async fn start_daemon(base: &str, logins: Vec<(String, Vec<i64>)>, name: &str) -> Daemon {
    let data_dir =
        std::env::temp_dir().join(format!("riskguard-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let risk = config::parse_risk_config(RULES, Path::new("rules.yaml"), None).unwrap();
    let logins = logins
        .into_iter()
        .map(|(user, accounts)| {
            let accounts = accounts.into_iter().map(model::ids::AccountId).collect();
            daemon::LoginPlan::at(base, &user, KEY, accounts)
        })
        .collect();
    let config = daemon::DaemonConfig::in_code(risk, logins, data_dir.clone());
    let (tx, mut hook) = broadcast::channel::<Decision>(4096);
    let (api_tx, api_rx) = oneshot::channel();
    let hooks = daemon::Hooks {
        decisions: Some(tx),
        api_addr: Some(api_tx),
        ..daemon::Hooks::default()
    };
    let mut running = {
        let _on = daemon_runtime().enter();
        daemon::spawn(config, hooks)
    };
    running
        .ready(Duration::from_secs(30))
        .await
        .expect("daemon ready in time");
    let api = api_rx.await.expect("the internal API listens");
    let api_load = if API_LOAD.load(Ordering::Relaxed) {
        let addr = api;
        let stats = start_api_load(addr, &data_dir);
        println!(
            "  API load on: {API_STREAM_CLIENTS} stream clients, {API_POLLS_PER_SEC} /v1/accounts polls/s at {addr}"
        );
        Some(stats)
    } else {
        None
    };
    // Timestamp decisions as the hook delivers them.
    let (dtx, decisions) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match hook.recv().await {
                Ok(d) => {
                    let _ = dtx.send((Instant::now(), d));
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    println!("warning: decision hook lagged by {n}");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    Daemon {
        decisions,
        running,
        api,
        data_dir,
        api_load,
    }
}

impl Daemon {
    /// When the hook delivered the decision, and the decision's `t` (its input's arrival at the daemon).
    async fn decided(&mut self, account: i64, contract: &str) -> (Instant, Timestamp) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let (at, d) = tokio::time::timeout_at(deadline, self.decisions.recv())
                .await
                .expect("decision in time")
                .unwrap();
            let closes = match &d.action {
                Action::ClosePosition { contract: c } => c.as_str() == contract,
                Action::CloseAllPositions => true,
                _ => false,
            };
            if d.account.0 == account && closes {
                return (at, d.t);
            }
        }
    }

    async fn stop(self) -> PathBuf {
        if let Some(stats) = &self.api_load {
            report_api_load(stats);
        }
        // The journal's own share: how long the loop waited for its appends (inputs, decisions) to commit.
        if let Ok(r) = reqwest::get(format!("http://{}/metrics", self.api)).await
            && let Ok(text) = r.text().await
        {
            for line in text
                .lines()
                .filter(|l| l.starts_with("riskguard_journal_write_seconds"))
            {
                println!("  {line}");
            }
            // The daemon's own share: input arrival to the call starting, as cumulative buckets.
            let reaction: Vec<String> = text
                .lines()
                .filter_map(|l| l.strip_prefix("riskguard_reaction_seconds_bucket{le=\""))
                .filter_map(|l| l.split_once("\"} "))
                .map(|(le, n)| format!("≤{le} s: {n}"))
                .collect();
            println!(
                "  reaction (arrival → call starts), cumulative: {}",
                reaction.join(", ")
            );
        }
        self.running
            .stop(Duration::from_secs(10))
            .await
            .expect("daemon stops in time");
        self.data_dir
    }
}

// ---------------------------------------------------------------------------------------------------------
// One breach.

struct Breach {
    account: i64,
    contract: String,
    t0: Instant,
    t0_wall: Timestamp,
    decided: Duration,
    arrived: Duration,
    flat: Duration,
    fill: Option<Duration>,
}

/// Until `user`'s market-hub connection (the daemon's) is subscribed to `contract`'s quotes. Asks the
/// simulator in-process: `GET /sim/state` lists every order and fill too, and building and parsing that
/// growing document between breaches made each breach slower than the one before (p50 +75 % over 1,000).
async fn until_subscribed(sim: &SimHandle, user: &str, contract: &str) -> bool {
    let deadline = Instant::now() + WAIT;
    let started = Instant::now();
    let mut warned = false;
    loop {
        let subscribed = sim.hub_connections().iter().any(|c| {
            c.hub == sim::HubKind::Market
                && c.user == user
                && c.subscriptions.quotes.contains(contract)
        });
        if subscribed {
            if warned {
                println!(
                    "warning: the daemon subscribed {contract} only after {:.1} s",
                    started.elapsed().as_secs_f64()
                );
            }
            return true;
        }
        if !warned && started.elapsed() > Duration::from_secs(2) {
            warned = true;
            println!("warning: waiting for the daemon to subscribe {contract}");
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
}

struct Ctx {
    sim: Arc<SimHandle>,
    trader: Trader,
    positions: mpsc::UnboundedReceiver<Seen>,
    /// Contracts whose price is at `low` now (the others are at `base`).
    at_low: HashSet<String>,
}

async fn breach(
    ctx: &mut Ctx,
    daemon: &mut Daemon,
    user: &str,
    account: i64,
    c: &Contract,
) -> Breach {
    // The market stays where the last breach left it, and that quote is the last one the daemon saw of
    // this contract (it unsubscribes when flat): at `base` go long and breach down to `low`, at `low` go
    // short and breach up to `base`. (Resetting the price while the daemon is unsubscribed would leave the
    // engine with a stale last price, and it would close the next position on its first event.)
    let low = ctx.at_low.contains(&c.id);
    let (side, to) = if low { (1, c.base) } else { (0, c.low) };
    ctx.trader.order(account, &c.id, side).await;
    wait_position(&mut ctx.positions, account, &c.id, 1).await;
    if !until_subscribed(&ctx.sim, user, &c.id).await {
        let store = store::Store::open_read_only(&daemon.data_dir).unwrap();
        let lines = store
            .lines_between(Timestamp::UNIX_EPOCH, Timestamp::MAX)
            .unwrap();
        for l in lines.iter().rev().take(12).rev() {
            println!("journal: {}", l.line);
        }
        panic!("account {account}: the daemon never subscribed {}", c.id);
    }
    let t0_wall = Timestamp::now();
    let t0 = Instant::now();
    ctx.sim.set_price(&c.id, to, None, None).unwrap();
    let flat = wait_position(&mut ctx.positions, account, &c.id, 0).await;
    let (decided, arrived) = daemon.decided(account, &c.id).await;
    if low {
        ctx.at_low.remove(&c.id);
    } else {
        ctx.at_low.insert(c.id.clone());
    }
    Breach {
        account,
        contract: c.id.clone(),
        t0,
        t0_wall,
        decided: decided.saturating_duration_since(t0),
        arrived: arrived.duration_since(t0_wall).unsigned_abs(),
        flat: flat.saturating_duration_since(t0),
        fill: None,
    }
}

/// The simulator's closing fill of each breach: the first fill with a P&L on its account and contract
/// at or after the breaching quote.
async fn match_fills(trader: &Trader, breaches: &mut [Breach]) {
    let state = trader.state().await;
    let fills: Vec<(i64, i64, String, Timestamp)> = state["fills"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["profitAndLoss"].is_null())
        .map(|f| {
            (
                f["id"].as_i64().unwrap(),
                f["accountId"].as_i64().unwrap(),
                f["contractId"].as_str().unwrap().to_owned(),
                f["creationTimestamp"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    let mut used = HashSet::new();
    for b in breaches.iter_mut() {
        // The fill time has microsecond precision: allow the breach instant's sub-microsecond part.
        let from = b.t0_wall - jiff::SignedDuration::from_micros(1);
        if let Some((id, _, _, t)) = fills.iter().find(|(id, a, c, t)| {
            *a == b.account && *c == b.contract && *t >= from && !used.contains(id)
        }) {
            used.insert(*id);
            b.fill = Some(t.duration_since(b.t0_wall).unsigned_abs());
        }
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn report(label: &str, breaches: &[Breach]) {
    if let Some(path) = DUMP.get() {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        for b in breaches {
            if let Some(fill) = b.fill {
                writeln!(
                    f,
                    "{label}\t{}\t{}",
                    fill.as_micros(),
                    b.arrived.as_micros()
                )
                .unwrap();
            }
        }
    }
    let series: [(&str, Vec<Duration>); 5] = [
        (
            "quote → closeContract fill at the sim",
            breaches.iter().filter_map(|b| b.fill).collect(),
        ),
        (
            "quote → flat position at a client",
            breaches.iter().map(|b| b.flat).collect(),
        ),
        (
            "quote → decision hook",
            breaches.iter().map(|b| b.decided).collect(),
        ),
        (
            "quote → arrival stamped by the daemon",
            breaches.iter().map(|b| b.arrived).collect(),
        ),
        (
            "arrival → fill (daemon + call + sim)",
            breaches
                .iter()
                .filter_map(|b| Some(b.fill?.saturating_sub(b.arrived)))
                .collect(),
        ),
    ];
    println!("{label}: {} breaches", breaches.len());
    for (name, mut v) in series {
        v.sort();
        println!(
            "  {name:<40} n {:>5}  p50 {:>8}  p90 {:>8}  p99 {:>8}  max {:>8}",
            v.len(),
            us(pct(&v, 0.50)),
            us(pct(&v, 0.90)),
            us(pct(&v, 0.99)),
            us(v.last().copied().unwrap_or_default())
        );
    }
    let mut slow: Vec<&Breach> = breaches.iter().collect();
    slow.sort_by_key(|b| std::cmp::Reverse(b.fill.unwrap_or(b.flat)));
    for b in slow.iter().take(5) {
        println!(
            "  slowest: {} {} arrived {} decided {} fill {} flat {}",
            b.account,
            b.contract,
            us(b.arrived),
            us(b.decided),
            b.fill.map(us).unwrap_or_else(|| "?".into()),
            us(b.flat)
        );
    }
}

async fn close_calls(trader: &Trader) -> (u64, Value) {
    let state = trader.state().await;
    (
        state["restCalls"]["/api/Position/closeContract"]
            .as_u64()
            .unwrap_or(0),
        state["restCalls"].clone(),
    )
}

// ---------------------------------------------------------------------------------------------------------
// Phase 1: breach to enforcement.

async fn phase_breach(n: usize) {
    println!(
        "== breach to enforcement: {n} breaches, loadavg {}",
        loadavg()
    );
    println!("machine: {}", machine_wake());
    let ticks = cpu_ticks();
    let config = sim_config();
    let cs = contracts(&config);
    let listener = listener();
    let sim = Arc::new(sim::spawn(config, listener).await.unwrap());
    let base = sim.base_url();
    let trader = Trader::new(&base).await;
    let positions = position_observer(&base, &trader.token).await;
    for c in &cs {
        sim.set_price(&c.id, c.base, None, None).unwrap();
    }
    let mut ctx = Ctx {
        sim,
        trader,
        positions,
        at_low: HashSet::new(),
    };
    let logins = ACCOUNTS.map(|a| (format!("u{a}"), vec![a])).collect();
    let mut daemon = start_daemon(&base, logins, "breach").await;
    print_mem("breach: sim + daemon (10 logins) ready");
    let started = Instant::now();
    let mut breaches = Vec::with_capacity(n);
    for i in 0..n {
        let account = ACCOUNTS.start + (i % 10) as i64;
        let c = &cs[(i / 10) % cs.len()];
        breaches.push(breach(&mut ctx, &mut daemon, &format!("u{account}"), account, c).await);
    }
    let wall = started.elapsed();
    match_fills(&ctx.trader, &mut breaches).await;
    let (closes, calls) = close_calls(&ctx.trader).await;
    report("breach", &breaches);
    println!(
        "  {n} breaches in {:.1} s; closeContract calls at the sim: {closes} (one per breach: {}); REST calls by path: {calls}",
        wall.as_secs_f64(),
        closes == n as u64
    );
    print_mem("breach: end");
    println!("  loadavg at the end {}; {}", loadavg(), steal_since(ticks));
    println!("  machine at the end: {}", machine_wake());
    let dir = daemon.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

// ---------------------------------------------------------------------------------------------------------
// Phase 2: sustained load.

struct Published {
    per_contract: Vec<u64>,
    elapsed: Duration,
    worst_backlog: u64,
}

/// Publish `rate` quotes/s for `secs` on the load contracts, round robin, each a random walk of whole
/// ticks within ±WALK_TICKS of the entry price.
fn publish(
    sim: Arc<SimHandle>,
    load: Vec<Contract>,
    rate: f64,
    secs: f64,
    running: Arc<AtomicBool>,
) -> Published {
    let mut per_contract = vec![0u64; load.len()];
    let mut walk = vec![0i64; load.len()];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut n: u64 = 0;
    let mut worst_backlog = 0;
    let started = Instant::now();
    loop {
        let elapsed = started.elapsed().as_secs_f64();
        if elapsed >= secs {
            break;
        }
        let target = (elapsed * rate) as u64;
        worst_backlog = worst_backlog.max(target.saturating_sub(n));
        while n < target {
            let i = (n % load.len() as u64) as usize;
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let step = if (seed >> 33) & 1 == 0 { 1 } else { -1 };
            walk[i] = (walk[i] + step).clamp(-WALK_TICKS, WALK_TICKS);
            let c = &load[i];
            let price = c.base + Decimal::from(walk[i]) * c.tick;
            sim.set_price(&c.id, price, None, None).unwrap();
            per_contract[i] += 1;
            n += 1;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    running.store(false, Ordering::SeqCst);
    Published {
        per_contract,
        elapsed: started.elapsed(),
        worst_backlog,
    }
}

/// Quote lines the daemon journaled per contract between `from` and `to` (read in one-second slices).
fn journaled_quotes(data_dir: &Path, ids: &[String], from: Timestamp, to: Timestamp) -> Vec<u64> {
    let store = store::Store::open_read_only(data_dir).unwrap();
    let mut counts = vec![0u64; ids.len()];
    let needles: Vec<String> = ids
        .iter()
        .map(|id| format!("\"contractId\":\"{id}\""))
        .collect();
    let mut t = from;
    while t < to {
        let next = t + jiff::SignedDuration::from_secs(1);
        for line in store.lines_between(t, next).unwrap() {
            if line.t >= next || !line.line.contains("\"kind\":\"quote\"") {
                continue;
            }
            if let Some(i) = needles.iter().position(|n| line.line.contains(n.as_str())) {
                counts[i] += 1;
            }
        }
        t = next;
    }
    counts
}

async fn phase_load(rate: f64, secs: f64, probe_every: Duration) {
    println!(
        "== sustained load: 10 accounts × {LOAD_CONTRACTS} contracts, {rate:.0} quotes/s for {secs:.0} s, a breach probe every {} ms; loadavg {}",
        probe_every.as_millis(),
        loadavg()
    );
    println!("machine: {}", machine_wake());
    let ticks = cpu_ticks();
    print_mem("load: process start");
    let config = sim_config();
    let cs = contracts(&config);
    let (load, probes) = cs.split_at(LOAD_CONTRACTS);
    let listener = listener();
    let sim = Arc::new(sim::spawn(config, listener).await.unwrap());
    let base = sim.base_url();
    let trader = Trader::new(&base).await;
    let mut positions = position_observer(&base, &trader.token).await;
    for c in &cs {
        sim.set_price(&c.id, c.base, None, None).unwrap();
    }
    // Every account holds 1 long in every load contract before the daemon starts (it reconciles them).
    for a in ACCOUNTS {
        for c in load {
            trader.order(a, &c.id, 0).await;
            wait_position(&mut positions, a, &c.id, 1).await;
        }
    }
    print_mem("load: sim + 50 positions, before the daemon");
    let mut daemon = start_daemon(&base, vec![("desk".into(), ACCOUNTS.collect())], "load").await;
    for c in load {
        assert!(until_subscribed(&sim, "desk", &c.id).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    print_mem("load: daemon ready (1 login, 10 accounts)");
    let mut ctx = Ctx {
        sim: sim.clone(),
        trader,
        positions,
        at_low: HashSet::new(),
    };

    let running = Arc::new(AtomicBool::new(true));
    let cpu_before = thread_cpu();
    let load_from = Timestamp::now();
    let started = Instant::now();
    let publisher = {
        let (sim, load, running) = (sim.clone(), load.to_vec(), running.clone());
        std::thread::Builder::new()
            .name("quote-publisher".into())
            .spawn(move || publish(sim, load, rate, secs, running))
            .unwrap()
    };
    let mut during = Vec::new();
    let mut k = 0usize;
    let mut next = Instant::now() + probe_every;
    let mut mid_rss = 0;
    while running.load(Ordering::SeqCst) {
        tokio::time::sleep_until(next.into()).await;
        next += probe_every;
        if !running.load(Ordering::SeqCst) {
            break;
        }
        let account = ACCOUNTS.start + (k % 10) as i64;
        let c = &probes[k % probes.len()];
        during.push(breach(&mut ctx, &mut daemon, "desk", account, c).await);
        k += 1;
        if k == 20 {
            mid_rss = proc_status().0;
        }
    }
    let published = publisher.join().unwrap();
    // The last probe's quote is behind every load quote on the daemon's market socket: it completes only
    // once the daemon has handled all of them.
    let after_at = Instant::now();
    let account = ACCOUNTS.start + (k % 10) as i64;
    let c = &probes[k % probes.len()];
    let mut after = vec![breach(&mut ctx, &mut daemon, "desk", account, c).await];
    let drained = after_at.elapsed();
    let wall = started.elapsed();
    let cpu_after = thread_cpu();
    let total: u64 = published.per_contract.iter().sum();
    println!(
        "published {total} quotes in {:.2} s = {:.0} quotes/s (publisher's worst backlog {} quotes)",
        published.elapsed.as_secs_f64(),
        total as f64 / published.elapsed.as_secs_f64(),
        published.worst_backlog
    );
    if mid_rss > 0 {
        println!(
            "memory  load: VmRSS after 20 probes {:.1} MB",
            mid_rss as f64 / 1024.0
        );
    }
    print_mem("load: end of the flood");
    print_cpu(&cpu_before, &cpu_after, wall);
    println!("  loadavg at the end {}; {}", loadavg(), steal_since(ticks));
    println!("  machine at the end: {}", machine_wake());
    match_fills(&ctx.trader, &mut during).await;
    match_fills(&ctx.trader, &mut after).await;
    let (closes, calls) = close_calls(&ctx.trader).await;
    report("probes during the flood", &during);
    report("probe right after the flood", &after);
    println!(
        "  the post-flood probe completed {:.1} ms after the flood ended; closeContract calls at the sim: {closes} for {} probes; REST calls: {calls}",
        drained.as_secs_f64() * 1e3,
        during.len() + 1
    );
    let since_start: Vec<Duration> = during.iter().map(|b| b.t0 - started).collect();
    if let (Some(first), Some(last)) = (since_start.first(), since_start.last()) {
        println!(
            "  probes from {:.1} s to {:.1} s into the flood",
            first.as_secs_f64(),
            last.as_secs_f64()
        );
    }
    let dir = daemon.stop().await;
    let ids: Vec<String> = load.iter().map(|c| c.id.clone()).collect();
    let seen = journaled_quotes(
        &dir,
        &ids,
        load_from - jiff::SignedDuration::from_secs(1),
        Timestamp::now(),
    );
    for (i, id) in ids.iter().enumerate() {
        println!(
            "  {id}: published {} journaled by the daemon {}",
            published.per_contract[i], seen[i]
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    let seen_total: u64 = seen.iter().sum();
    println!(
        "  inputs: published {total}, seen by the daemon {seen_total} ({})",
        if seen_total == total {
            "none dropped"
        } else {
            "MISMATCH"
        }
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let mut args = std::env::args().skip(1);
    let mut phase = "all".to_owned();
    let mut breaches = 1_000usize;
    let mut rate = 20_000.0;
    let mut secs = 60.0;
    let mut probe_ms = 500u64;
    while let Some(a) = args.next() {
        let mut value = || args.next().expect("a value");
        match a.as_str() {
            "--breaches" => breaches = value().parse().unwrap(),
            "--rate" => rate = value().parse().unwrap(),
            "--secs" => secs = value().parse().unwrap(),
            "--probe-ms" => probe_ms = value().parse().unwrap(),
            "--nagle" => NAGLE.store(true, Ordering::Relaxed),
            "--api-load" => API_LOAD.store(true, Ordering::Relaxed),
            "--dump" => DUMP.set(PathBuf::from(value())).unwrap(),
            "all" | "breach" | "load" => phase = a,
            other => panic!("unknown argument {other}"),
        }
    }
    println!(
        "enforcement_bench: nproc {}, loadavg {}, sim REST limit {SIM_RATE_LIMIT} per 60 s, loss limit ${LOSS_LIMIT} per position, sim sockets {}",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        loadavg(),
        if NAGLE.load(Ordering::Relaxed) {
            "with Nagle (axum default)"
        } else {
            "TCP_NODELAY"
        }
    );
    if phase == "all" || phase == "breach" {
        phase_breach(breaches).await;
    }
    if phase == "all" || phase == "load" {
        phase_load(rate, secs, Duration::from_millis(probe_ms)).await;
    }
}
