//! `riskguard credentials` and `riskguard service` through the real binary: a credential stored from
//! standard input is owner-only and never printed (not by `set`, `service status`, `run` or its logs); a
//! missing credential names the login and the command that stores it; `credentials check` logs in to the
//! simulator and lists the accounts; `riskguard run` under a fake `NOTIFY_SOCKET` sends `READY=1` and
//! `WATCHDOG=1` and stops within 5 s of SIGTERM; the unit `service install --dry-run` prints passes
//! `systemd-analyze verify`.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{BIN, Proc, Sim, read};

const USER: &str = "trader-omega";
const API_KEY: &str = "sk-SERVICE-SECRET-6061";

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rg-svc-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn riskguard(args: &[&str], stdin: &str) -> Output {
    support::run_with_stdin(args, stdin)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn set(config: &Path, user: &str, key: &str) -> Output {
    riskguard(
        &[
            "credentials",
            "set",
            "--login",
            "main",
            "--config-dir",
            config.to_str().unwrap(),
        ],
        &format!("{user}\n{key}\n"),
    )
}

fn write_config(config: &Path, gateway: &str) {
    std::fs::write(config.join("risk_config.yaml"), "rules: {}\n").unwrap();
    std::fs::write(
        config.join("accounts.yaml"),
        format!(
            "gateway: {{ api_url: \"{gateway}\", realtime_url: \"{gateway}\" }}\nlogins:\n  - name: main\n    credential: main\naccounts:\n  - id: 7001\n    login: main\napi:\n  listen: 127.0.0.1:0\n"
        ),
    )
    .unwrap();
}

#[test]
fn a_stored_credential_is_owner_only_and_never_printed() {
    let config = temp("set");
    let out = set(&config, USER, API_KEY);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(!shown.contains(API_KEY) && !shown.contains(USER), "{shown}");
    let file = config.join("credentials/main");
    assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(config.join("credentials"))
            .unwrap()
            .mode()
            & 0o777,
        0o700
    );
    // Another user: no read bit for group or others on the file, no access to the directory.
    assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o077, 0);

    let data = temp("set-data");
    let status = riskguard(
        &[
            "service",
            "status",
            "--config-dir",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        "",
    );
    let shown = text(&status);
    assert!(status.status.success(), "{shown}");
    assert!(
        shown.contains("main: stored (user name and API key hidden)"),
        "{shown}"
    );
    assert!(
        shown.contains(&data.join("logs").display().to_string()),
        "{shown}"
    );
    assert!(!shown.contains(API_KEY) && !shown.contains(USER), "{shown}");

    // An empty answer is refused, and the old credential stays.
    let out = set(&config, USER, "");
    assert!(!out.status.success());
    assert!(text(&out).contains("must not be empty"), "{}", text(&out));
}

#[test]
fn a_missing_credential_names_the_login_and_the_command() {
    let config = temp("missing");
    write_config(&config, "http://127.0.0.1:9");
    let data = temp("missing-data");
    let out = riskguard(
        &[
            "run",
            "--config-dir",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        "",
    );
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(shown.contains("login `main`"), "{shown}");
    assert!(
        shown.contains(&format!(
            "riskguard credentials set --login main --config-dir {}",
            config.display()
        )),
        "{shown}"
    );
}

#[test]
fn check_then_run_under_a_fake_notify_socket() {
    let sim = Sim::start(None, "demo", "demo");
    let config = temp("run");
    write_config(&config, &sim.base);
    assert!(set(&config, "demo", "demo").status.success());

    let check = riskguard(
        &[
            "credentials",
            "check",
            "--config-dir",
            config.to_str().unwrap(),
        ],
        "",
    );
    let shown = text(&check);
    assert!(check.status.success(), "{shown}");
    assert!(shown.contains("login `main`: ok"), "{shown}");
    assert!(
        shown.contains("7001") && shown.contains("watched"),
        "{shown}"
    );

    // A wrong key: the check fails, naming the login and not the key.
    let bad = temp("run-bad");
    write_config(&bad, &sim.base);
    assert!(set(&bad, "demo", API_KEY).status.success());
    let out = riskguard(
        &[
            "credentials",
            "check",
            "--config-dir",
            bad.to_str().unwrap(),
        ],
        "",
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("login `main`"), "{}", text(&out));
    assert!(!text(&out).contains(API_KEY), "{}", text(&out));

    let sock_path = config.join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let data = temp("run-data");
    let started = Instant::now();
    let child = Command::new(BIN)
        .args(["run", "--config-dir", config.to_str().unwrap()])
        .arg("--data-dir")
        .arg(&data)
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "600000")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut proc = Proc::new("riskguard run", child);
    let mut buf = [0u8; 256];
    let n = sock.recv(&mut buf).expect("READY=1 from riskguard run");
    let ready = started.elapsed();
    assert_eq!(&buf[..n], b"READY=1\nSTATUS=enforcing");
    let n = sock.recv(&mut buf).expect("WATCHDOG=1 from riskguard run");
    assert_eq!(&buf[..n], b"WATCHDOG=1");
    eprintln!("riskguard run: READY=1 {ready:?} after spawn");

    proc.sigterm();
    let stop = Instant::now();
    let status = proc
        .wait_exit(Duration::from_secs(5))
        .expect("riskguard run exits within 5 s of SIGTERM");
    assert!(status.success(), "{status}");
    eprintln!("riskguard run: exited {:?} after SIGTERM", stop.elapsed());
    let logs: String = std::fs::read_dir(data.join("logs"))
        .unwrap()
        .flatten()
        .map(|e| read(&e.path()))
        .collect();
    assert!(logs.contains("riskguard is enforcing"), "{logs}");
    assert!(!logs.contains(API_KEY), "a secret reached the logs");
}

#[test]
fn the_dry_run_unit_passes_systemd_analyze_verify() {
    let config = temp("unit");
    let out = riskguard(
        &[
            "service",
            "install",
            "--dry-run",
            "--config-dir",
            config.to_str().unwrap(),
        ],
        "",
    );
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    let start = shown
        .find("[Unit]")
        .unwrap_or_else(|| panic!("no unit in:\n{shown}"));
    let unit: String = shown[start..]
        .lines()
        .take_while(|l| !l.starts_with("- "))
        .map(|l| format!("{l}\n"))
        .collect();
    for want in [
        "Type=notify",
        "WatchdogSec=30",
        "Restart=always",
        "RestartSec=2",
    ] {
        assert!(unit.lines().any(|l| l == want), "{want} missing:\n{unit}");
    }
    assert!(
        unit.contains(&format!(
            "ExecStart={BIN} run --config-dir {}",
            config.display()
        )),
        "{unit}"
    );
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "systemd-analyze is missing in CI (.ci/run installs the systemd package)"
        );
        eprintln!("systemd-analyze not installed: verify skipped");
        return;
    };
    assert!(version.status.success());
    let dir = temp("unit-verify");
    let file = dir.join("riskguard.service");
    std::fs::write(&file, &unit).unwrap();
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&file)
        .output()
        .unwrap();
    let said = text(&verify);
    assert!(
        verify.status.success(),
        "systemd-analyze verify failed:\n{said}\n{unit}"
    );
    // Warnings about the unit file itself (unknown keys, bad values) fail too.
    assert!(
        !said.contains("riskguard.service:"),
        "systemd-analyze verify complained:\n{said}"
    );
}
