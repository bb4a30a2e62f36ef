//! Secret hygiene: no API key, session token or password reaches a log line, an error, the journal or an
//! export. The simulator runs with a distinctive login (`trader-zeta` / `sk-SECRET-4242`); `riskguard run`
//! is started once without its API key variable, once with a wrong key, and once properly, through
//! enforcements, a token expiry with dropped hubs (re-login, reconnect with `?access_token=`), a 500 on an
//! enforcement call (read-back) and a lock; then SIGTERM. Everything it wrote is grepped: stderr of every run,
//! `<data-dir>/logs/*`, every journal line, `riskguard export-journal`, and the raw bytes of every file in the
//! data dir.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{ACCOUNT, BIN, POLL, Proc, Sim, read, wait_for};

const USER: &str = "trader-zeta";
const API_KEY: &str = "sk-SECRET-4242";
const WRONG_KEY: &str = "sk-WRONG-7777";
const USER_VAR: &str = "RG_SECRETS_TEST_USER";
const KEY_VAR: &str = "RG_SECRETS_TEST_KEY";
const MNQ: &str = "CON.F.US.MNQ.Z25";
const RTY: &str = "CON.F.US.RTY.Z25";
const GC: &str = "CON.F.US.GC.G26";
const DEADLINE: Duration = Duration::from_secs(20);

impl Sim {
    fn fault(&self, body: Value) {
        let r = self.post("/sim/fault", body);
        assert_eq!(r["success"], true, "{r}");
    }

    fn wait_flat(&self, what: &str, log: &Path) {
        let start = Instant::now();
        loop {
            let state = self.state();
            let open: Vec<&Value> = state["positions"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["accountId"] == ACCOUNT)
                .collect();
            if open.is_empty() {
                return;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "{what}: still open: {open:?}\n--- daemon log ---\n{}",
                read(log)
            );
            std::thread::sleep(POLL);
        }
    }

    /// Ids of the daemon's user-hub connections subscribed to the account's positions.
    fn user_hubs(&self) -> Vec<u64> {
        self.state()["hubConnections"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| {
                c["hub"] == "user"
                    && c["subscriptions"]["positions"]
                        .as_array()
                        .is_some_and(|p| p.contains(&json!(ACCOUNT)))
            })
            .map(|c| c["id"].as_u64().unwrap())
            .collect()
    }
}

struct Dirs {
    root: PathBuf,
    config: PathBuf,
    data: PathBuf,
}

fn dirs(sim_base: &str) -> Dirs {
    let root = std::env::temp_dir().join(format!("riskguard-secrets-{}", std::process::id()));
    let config = root.join("config");
    let data = root.join("data");
    fs::create_dir_all(&config).unwrap();
    fs::create_dir_all(&data).unwrap();
    fs::write(
        config.join("risk_config.yaml"),
        r#"rules:
  daily_realized_loss: { enabled: true, loss_limit: 50.00, warn_at: [] }
  max_contracts: { enabled: true, limit: 2, action: close_all }
  symbol_blocks: { enabled: true, blocked_symbols: [RTY] }
"#,
    )
    .unwrap();
    fs::write(
        config.join("accounts.yaml"),
        format!(
            "gateway:\n  api_url: \"{sim_base}\"\n  realtime_url: \"{sim_base}\"\nlogins:\n  - name: main\n    \
             user_name_env: {USER_VAR}\n    api_key_env: {KEY_VAR}\naccounts:\n  - id: {ACCOUNT}\n    login: main\n"
        ),
    )
    .unwrap();
    Dirs { root, config, data }
}

/// `riskguard run` with the given API key (`None`: the variable is not set), stderr to `<root>/<name>.stderr`.
fn run(d: &Dirs, name: &str, key: Option<&str>) -> (Proc, PathBuf) {
    let stderr = d.root.join(format!("{name}.stderr"));
    let mut cmd = Command::new(BIN);
    cmd.arg("run")
        .arg("--config-dir")
        .arg(&d.config)
        .arg("--data-dir")
        .arg(&d.data)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .env(USER_VAR, USER)
        .env_remove(KEY_VAR)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&stderr).unwrap());
    if let Some(key) = key {
        cmd.env(KEY_VAR, key);
    }
    (Proc::new(name, cmd.spawn().unwrap()), stderr)
}

/// Every place a secret could end up, as (where, text).
fn everything_written(
    d: &Dirs,
    stderrs: &[PathBuf],
    day_labels: &[String],
) -> Vec<(String, String)> {
    let mut texts = Vec::new();
    for p in stderrs {
        texts.push((p.display().to_string(), read(p)));
    }
    let logs = d.data.join("logs");
    let mut log_files = 0;
    for entry in fs::read_dir(&logs).unwrap() {
        let p = entry.unwrap().path();
        texts.push((p.display().to_string(), read(&p)));
        log_files += 1;
    }
    assert!(log_files > 0, "no log file under {}", logs.display());
    let store = store::Store::open_read_only(&d.data).unwrap();
    let lines = store
        .lines_between(jiff::Timestamp::UNIX_EPOCH, jiff::Timestamp::MAX)
        .unwrap();
    assert!(lines.len() > 10, "only {} journal lines", lines.len());
    for (i, l) in lines.iter().enumerate() {
        texts.push((format!("journal line {i} ({})", l.kind), l.line.clone()));
    }
    drop(store);
    for day in day_labels {
        let out = Command::new(BIN)
            .args(["export-journal", "--day", day, "--data-dir"])
            .arg(&d.data)
            .arg("--config-dir")
            .arg(&d.config)
            .output()
            .unwrap();
        assert!(out.status.success(), "export-journal --day {day}: {out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            stdout.lines().count() > 10,
            "export of {day} is nearly empty: {stdout}"
        );
        texts.push((format!("export-journal --day {day} (stdout)"), stdout));
        texts.push((
            format!("export-journal --day {day} (stderr)"),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    // The raw bytes of every file in the data dir (database, WAL, logs, anything else).
    let mut stack = vec![d.data.clone()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = fs::read(&p).unwrap_or_default();
                texts.push((
                    format!("raw file {}", p.display()),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ));
            }
        }
    }
    texts
}

/// `access_token=` or `Bearer ` followed by a value (anything but the redaction `***` or a delimiter).
fn token_in_url(text: &str) -> Option<String> {
    ["access_token=", "Bearer ", "bearer "]
        .into_iter()
        .find_map(|marker| value_after(text, marker).map(|v| format!("{marker}{v}")))
}

fn value_after(text: &str, marker: &str) -> Option<String> {
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let after = &rest[at + marker.len()..];
        let value: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "-_.~%".contains(*c))
            .collect();
        if !value.is_empty() {
            return Some(value);
        }
        rest = after;
    }
    None
}

fn trading_day_label(t: jiff::Timestamp) -> String {
    let tz = jiff::tz::TimeZone::get("America/Chicago").unwrap();
    let reset = jiff::civil::time(17, 0, 0, 0);
    let start = engine::trading_day_start(&tz, reset, t);
    engine::trading_day_label(&tz, reset, start).to_string()
}

#[test]
fn no_secret_in_any_log_error_journal_or_export_line() {
    let started = jiff::Timestamp::now();
    let tmp = std::env::temp_dir().join(format!("riskguard-secrets-sim-{}", std::process::id()));
    fs::create_dir_all(&tmp).unwrap();
    let sim_config = tmp.join("sim.yaml");
    fs::write(
        &sim_config,
        format!(
            "users:\n  - {{ user_name: {USER}, api_key: {API_KEY}, account_ids: [7001, 7002] }}\n"
        ),
    )
    .unwrap();
    let mut sim = Sim::start(Some(&sim_config), USER, API_KEY);
    sim.price(MNQ, 20_000);
    sim.price(RTY, 2_000);
    sim.price(GC, 2_000);
    let d = dirs(&sim.base);
    let mut stderrs = Vec::new();

    // 1. The API key variable is missing: refused at start, naming the variable, exit 2.
    let (mut p, err) = run(&d, "missing-env", None);
    let status = p.wait_exit(DEADLINE).expect("missing-env run did not exit");
    let text = read(&err);
    assert_eq!(status.code(), Some(2), "{text}");
    assert!(text.contains(KEY_VAR) && text.contains("not set"), "{text}");
    stderrs.push(err);

    // 2. A wrong API key: the login fails, the error says so, the process ends with a failure.
    let (mut p, err) = run(&d, "wrong-key", Some(WRONG_KEY));
    let status = p.wait_exit(DEADLINE).expect("wrong-key run did not exit");
    let text = read(&err);
    assert!(!status.success(), "{text}");
    assert!(text.contains("login `main`"), "{text}");
    stderrs.push(err);

    // 3. The real key: enforcements, token expiry with dropped hubs, a 500 on a close, a lock; then SIGTERM.
    let (mut daemon, err) = run(&d, "good", Some(API_KEY));
    wait_for("riskguard is enforcing", DEADLINE, || {
        if let Some(s) = daemon.exited() {
            panic!("riskguard run exited early ({s}):\n{}", read(&err));
        }
        read(&err).contains("riskguard is enforcing").then_some(())
    });
    sim.market(MNQ, 0, 3);
    sim.wait_flat("max_contracts close", &err);

    let hubs_before = sim.user_hubs();
    assert!(!hubs_before.is_empty());
    let logins_before = Sim::calls(&sim.state(), "/api/Auth/loginKey");
    let trade_searches_before = Sim::calls(&sim.state(), "/api/Trade/search");
    sim.fault(json!({"kind": "expire_tokens"}));
    sim.fault(json!({"kind": "drop_connections"}));
    wait_for(
        "the daemon to log in again and resubscribe its user hub",
        DEADLINE,
        || {
            let hubs = sim.user_hubs();
            // Resubscribed, and the reconciliation after the gap has read the day's trades.
            (Sim::calls(&sim.state(), "/api/Auth/loginKey") > logins_before
                && hubs.iter().any(|h| !hubs_before.contains(h))
                && Sim::calls(&sim.state(), "/api/Trade/search") > trade_searches_before)
                .then_some(())
        },
    );
    sim.login();
    sim.market(RTY, 0, 1);
    sim.wait_flat("symbol_blocks close after the re-login", &err);

    // The fault hits any REST call, the trader's too: a resting limit order filled through the control
    // surface makes the position, so the next REST call is the daemon's close.
    let placed = sim.post(
        "/api/Order/place",
        json!({"accountId": ACCOUNT, "contractId": MNQ, "type": 1, "side": 0, "size": 3, "limitPrice": 19_999}),
    );
    assert_eq!(placed["success"], true, "{placed}");
    sim.fault(json!({"kind": "rest_errors", "status": 500, "count": 1}));
    let filled = sim.post("/sim/fill", json!({"orderId": placed["orderId"]}));
    assert_eq!(filled["success"], true, "{filled}");
    sim.wait_flat("max_contracts close after a 500", &err);

    sim.market(MNQ, 0, 1);
    sim.price(MNQ, 19_900);
    sim.market(MNQ, 1, 1);
    wait_for("the daily loss lock", DEADLINE, || {
        read(&err).contains("action=\"lockout\"").then_some(())
    });
    sim.market(GC, 0, 1);
    sim.wait_flat("the gate's close", &err);

    // Graceful stop: exit 0 within 5 s, and the log says so.
    daemon.sigterm();
    let status = daemon
        .wait_exit(Duration::from_secs(5))
        .expect("riskguard run did not exit within 5 s of SIGTERM");
    let text = read(&err);
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(text.contains("riskguard stopped cleanly"), "{text}");
    stderrs.push(err);

    // The grep.
    let mut days = vec![trading_day_label(started)];
    let now = trading_day_label(jiff::Timestamp::now());
    if !days.contains(&now) {
        days.push(now);
    }
    let texts = everything_written(&d, &stderrs, &days);
    let mut leaks = Vec::new();
    for (place, text) in &texts {
        for secret in [API_KEY, WRONG_KEY, "eyJ"] {
            if let Some(at) = text.find(secret) {
                let from = text[..at]
                    .char_indices()
                    .rev()
                    .nth(80)
                    .map_or(0, |(i, _)| i);
                let context: String = text[from..].chars().take(200).collect();
                leaks.push(format!("{place}: contains {secret:?}: …{context}…"));
            }
        }
        if let Some(value) = token_in_url(text) {
            leaks.push(format!("{place}: {value}"));
        }
    }
    let user_seen: Vec<&String> = texts
        .iter()
        .filter(|(_, t)| t.contains(USER))
        .map(|(p, _)| p)
        .collect();
    eprintln!(
        "grepped {} texts ({} journal lines); the user name appears in {} of them: {user_seen:?}",
        texts.len(),
        texts
            .iter()
            .filter(|(p, _)| p.starts_with("journal line"))
            .count(),
        user_seen.len()
    );
    assert!(leaks.is_empty(), "secrets written:\n{}", leaks.join("\n"));
    let _ = fs::remove_dir_all(&d.root);
    let _ = fs::remove_dir_all(&tmp);
}

#[test]
fn the_token_grep_tells_a_value_from_a_redaction() {
    assert_eq!(
        token_in_url("GET /hubs/user?access_token=eyJhbGc.x.y&id=1").as_deref(),
        Some("access_token=eyJhbGc.x.y")
    );
    assert_eq!(
        token_in_url("Authorization: Bearer abc123").as_deref(),
        Some("Bearer abc123")
    );
    assert_eq!(
        token_in_url("wss://rtc/hubs/user?access_token=***&x=1 and Bearer ***"),
        None
    );
    assert_eq!(token_in_url("access_token=\" Bearer \""), None);
}
