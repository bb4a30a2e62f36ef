//! Service start to `READY=1`, and stop with an enforcement in flight, against the simulator with 10
//! accounts (docs/PERFORMANCE.md, "Service"). The daemon runs in-process with its ready and pulse hooks
//! driven by `service::notify::supervise` and a fake `NOTIFY_SOCKET` (a datagram socket of this program).
//! Run: `cargo run --release -p daemon --example ready_bench`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(unix)]
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    use std::os::unix::net::UnixDatagram;
    use std::time::{Duration, Instant};

    use model::ids::AccountId;
    use tokio::sync::{mpsc, oneshot};

    const RUNS: usize = 5;
    let ids: Vec<i64> = (0..10).map(|i| 8001 + i).collect();
    let mut sim_config = sim::SimConfig::default();
    sim_config.users[0].account_ids.extend(&ids);
    for &id in &ids {
        let mut a = sim_config.accounts[0].clone();
        a.id = id;
        a.name = format!("SIM-BENCH-{id}");
        sim_config.accounts.push(a);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = sim::spawn(sim_config, listener).await.unwrap();
    let base = sim.base_url().to_string();
    let http = reqwest::Client::new();
    let mut ready_times = Vec::new();
    let mut stop_times = Vec::new();
    for run in 0..RUNS {
        let path =
            std::env::temp_dir().join(format!("rg-ready-bench-{}-{run}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let sock = UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let data_dir =
            std::env::temp_dir().join(format!("rg-ready-bench-data-{}-{run}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data_dir);
        let rules = "rules: { max_contracts: { enabled: true, limit: 1, action: close_all } }\n";
        let risk = config::parse_risk_config(rules, std::path::Path::new("r.yaml"), None).unwrap();
        let login = daemon::LoginPlan::at(
            &base,
            "demo",
            "demo",
            ids.iter().map(|&i| AccountId(i)).collect(),
        );
        let config = daemon::DaemonConfig::in_code(risk, vec![login], data_dir);
        let (ready_tx, ready_rx) = oneshot::channel();
        let (pulse_tx, pulse_rx) = mpsc::channel(1);
        let (dec_tx, mut decisions) = tokio::sync::broadcast::channel(64);
        let start = Instant::now();
        let notifier = service::notify::Notifier::connect(&path.display().to_string()).unwrap();
        tokio::spawn(service::notify::supervise(
            notifier,
            ready_rx,
            pulse_tx,
            Some(Duration::from_secs(30)),
        ));
        let hooks = daemon::Hooks {
            ready: Some(ready_tx),
            pulse: Some(pulse_rx),
            decisions: Some(dec_tx),
            ..daemon::Hooks::default()
        };
        // The ready hook is the supervisor's: it sends READY=1.
        let daemon = daemon::spawn(config, hooks);
        let msg = tokio::task::spawn_blocking(move || {
            let mut buf = [0u8; 64];
            let n = sock.recv(&mut buf).expect("READY=1");
            String::from_utf8_lossy(&buf[..n]).into_owned()
        })
        .await
        .unwrap();
        assert!(msg.starts_with("READY=1"));
        ready_times.push(start.elapsed());

        // An enforcement in flight: the gateway answers slowly, a breach is decided, then stop.
        let token: serde_json::Value = http
            .post(format!("{base}/api/Auth/loginKey"))
            .json(&serde_json::json!({"userName": "demo", "apiKey": "demo"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["token"].as_str().unwrap().to_string();
        http.post(format!("{base}/sim/price"))
            .json(&serde_json::json!({"contractId": "CON.F.US.MNQ.Z25", "lastPrice": 20000}))
            .send()
            .await
            .unwrap();
        http.post(format!("{base}/sim/fault"))
            .json(&serde_json::json!({"kind": "latency", "ms": 1500}))
            .send()
            .await
            .unwrap();
        let place = http.post(format!("{base}/api/Order/place")).bearer_auth(&token)
            .json(&serde_json::json!({"accountId": ids[0], "contractId": "CON.F.US.MNQ.Z25", "type": 2, "side": 0, "size": 3}));
        tokio::spawn(place.send());
        tokio::time::timeout(Duration::from_secs(10), decisions.recv())
            .await
            .expect("a decision")
            .unwrap();
        let stopping = Instant::now();
        daemon.stop(Duration::from_secs(10)).await.unwrap();
        stop_times.push(stopping.elapsed());
        http.post(format!("{base}/sim/fault"))
            .json(&serde_json::json!({"kind": "latency", "ms": 0}))
            .send()
            .await
            .unwrap();
        http.post(format!("{base}/sim/reset")).send().await.ok();
        let _ = std::fs::remove_file(&path);
    }
    ready_times.sort();
    stop_times.sort();
    println!(
        "start to READY=1, 10 accounts, {RUNS} runs: min {:?}, median {:?}, max {:?}",
        ready_times[0],
        ready_times[RUNS / 2],
        ready_times[RUNS - 1]
    );
    println!(
        "stop with an enforcement in flight (1.5 s gateway latency): min {:?}, median {:?}, max {:?}",
        stop_times[0],
        stop_times[RUNS / 2],
        stop_times[RUNS - 1]
    );
}

#[cfg(not(unix))]
fn main() {}
