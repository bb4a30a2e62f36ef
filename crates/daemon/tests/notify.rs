//! The systemd notify protocol end to end, with a fake `NOTIFY_SOCKET` (a Unix datagram socket of the test):
//! the daemon against the simulator, its ready and pulse hooks driven by `service::notify::supervise`.
//! `READY=1` arrives only after reconciliation (the simulator has served the reconciliation reads by
//! then), `WATCHDOG=1` arrives every half watchdog interval, and a stall injected into the event loop stops
//! the pings until the loop turns again.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

const WATCHDOG: Duration = Duration::from_millis(400);

/// The next datagram with its arrival time, or `None` after `wait`.
fn next(sock: &UnixDatagram, wait: Duration) -> Option<(String, Instant)> {
    sock.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 256];
    let n = sock.recv(&mut buf).ok()?;
    Some((
        String::from_utf8_lossy(&buf[..n]).into_owned(),
        Instant::now(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn ready_after_reconciliation_and_pings_only_while_the_loop_turns() {
    let path = std::env::temp_dir().join(format!("rg-notify-e2e-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let sock = UnixDatagram::bind(&path).unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = sim::spawn(sim::SimConfig::default(), listener)
        .await
        .unwrap();
    let base = sim.base_url().to_string();
    let data_dir = std::env::temp_dir().join(format!("rg-notify-e2e-data-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let risk =
        config::parse_risk_config("rules: {}\n", std::path::Path::new("r.yaml"), None).unwrap();
    let login = daemon::LoginPlan::at(&base, "demo", "demo", vec![model::ids::AccountId(7001)]);
    let config = daemon::DaemonConfig::in_code(risk, vec![login], data_dir);

    let (ready_tx, ready_rx) = oneshot::channel();
    let (pulse_tx, pulse_rx) = mpsc::channel(1);
    let (stall_tx, stall_rx) = mpsc::channel(1);
    let notifier = service::notify::Notifier::connect(&path.display().to_string()).unwrap();
    tokio::spawn(service::notify::supervise(
        notifier,
        ready_rx,
        pulse_tx,
        Some(WATCHDOG),
    ));
    let hooks = daemon::Hooks {
        ready: Some(ready_tx),
        pulse: Some(pulse_rx),
        stall: Some(stall_rx),
        ..daemon::Hooks::default()
    };
    // The ready hook is the supervisor's: it sends READY=1.
    let daemon = daemon::spawn(config, hooks);

    let state_url = format!("{base}/sim/state");
    let (sock, ready, ready_at) = tokio::task::spawn_blocking(move || {
        let (m, t) = next(&sock, Duration::from_secs(10)).expect("READY=1 in time");
        (sock, m, t)
    })
    .await
    .unwrap();
    assert_eq!(ready, "READY=1\nSTATUS=enforcing");
    // Reconciliation had happened: the simulator served its reads before READY=1 arrived.
    let state: serde_json::Value = reqwest::get(&state_url)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for endpoint in ["/api/Position/searchOpen", "/api/Order/searchOpen"] {
        assert!(
            state["restCalls"][endpoint].as_u64().unwrap_or(0) >= 1,
            "{endpoint} not called before READY: {}",
            state["restCalls"]
        );
    }

    // Pings at half the interval.
    let (sock, pings) = tokio::task::spawn_blocking(move || {
        let mut times = vec![ready_at];
        for _ in 0..6 {
            let (m, t) = next(&sock, WATCHDOG * 3).expect("WATCHDOG=1 in time");
            assert_eq!(m, "WATCHDOG=1");
            times.push(t);
        }
        (sock, times)
    })
    .await
    .unwrap();
    // One ping per half interval on average (a ping waits for the loop's answer, so single gaps jitter under
    // load), and never a gap as long as the interval itself, which is what systemd checks.
    let gaps: Vec<Duration> = pings.windows(2).skip(1).map(|w| w[1] - w[0]).collect();
    let mean = (pings[pings.len() - 1] - pings[1]) / u32::try_from(gaps.len()).unwrap();
    assert!(
        mean >= WATCHDOG * 3 / 8 && mean <= WATCHDOG * 3 / 4,
        "mean ping gap {mean:?} ({gaps:?}) is not about half of {WATCHDOG:?}"
    );
    assert!(
        gaps.iter().all(|g| *g < WATCHDOG),
        "a ping gap reached the interval: {gaps:?}"
    );

    // A stalled loop: no ping for the length of the stall, then pings again.
    let stall = WATCHDOG * 4;
    stall_tx.send(stall).await.unwrap();
    let stalled_at = Instant::now();
    let (sock, gap) = tokio::task::spawn_blocking(move || {
        // Pings answered just before the stall began may still arrive in its first half interval.
        let mut last = stalled_at;
        loop {
            let (m, t) = next(&sock, stall * 3).expect("pings resume after the stall");
            assert_eq!(m, "WATCHDOG=1");
            if t - last > WATCHDOG {
                return (sock, t - last);
            }
            last = t;
            assert!(t - stalled_at < stall * 3, "pings never paused");
        }
    })
    .await
    .unwrap();
    assert!(
        gap >= stall - WATCHDOG,
        "the pings paused only {gap:?} during a {stall:?} stall"
    );
    drop(sock);

    daemon.stop(Duration::from_secs(10)).await.unwrap();
    let _ = std::fs::remove_file(&path);
}
