//! The binary's contract: exit codes, messages with line numbers, and the shipped example.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn riskguard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_riskguard"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run riskguard")
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("riskguard-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn example_session_trips_several_rules() {
    let out = riskguard(&[
        "replay",
        "--config",
        "examples/risk_config.yaml",
        "examples/session.jsonl",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let rules: std::collections::BTreeSet<String> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["rule"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for expected in [
        "max_contracts_per_instrument",
        "no_stop_loss_grace",
        "symbol_blocks",
        "daily_unrealized_loss",
        "cooldown_after_loss",
        "lockout_guard",
        "daily_realized_loss",
        "reset",
    ] {
        assert!(
            rules.contains(expected),
            "{expected} missing from:\n{stdout}"
        );
    }
}

#[test]
fn bad_line_exits_2_naming_the_line_and_keeps_earlier_decisions() {
    let cfg = temp_file(
        "cfg.yaml",
        "rules: { symbol_blocks: { enabled: true, blocked_symbols: [RTY] } }\n",
    );
    let events = temp_file(
        "bad.jsonl",
        concat!(
            "# comment\n",
            r#"{"t":"2026-03-02T15:00:00Z","kind":"position","data":{"accountId":1,"contractId":"CON.F.US.RTY.H26","type":1,"size":1,"averagePrice":2000}}"#,
            "\n",
            r#"{"t":"2026-03-02T15:00:01Z","kind":"position","data":{"#,
            "\n",
            r#"{"t":"2026-03-02T15:00:02Z","kind":"clock"}"#,
            "\n"
        ),
    );
    let out = riskguard(&[
        "replay",
        "--config",
        cfg.to_str().unwrap(),
        events.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.jsonl line 3: invalid JSON"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().count(),
        1,
        "the decision of line 2 is kept: {stdout}"
    );
    assert!(stdout.contains("symbol_blocks"));
}

#[test]
fn time_going_backwards_is_bad_input() {
    let cfg = temp_file("empty.yaml", "rules: {}\n");
    let events = temp_file(
        "back.jsonl",
        "{\"t\":\"2026-03-02T15:00:05Z\",\"kind\":\"clock\"}\n{\"t\":\"2026-03-02T15:00:00Z\",\"kind\":\"clock\"}\n",
    );
    let out = riskguard(&[
        "replay",
        "--config",
        cfg.to_str().unwrap(),
        events.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2: time goes backwards"));
}

#[test]
fn check_config_prints_ok_or_every_error() {
    let ok = riskguard(&["check-config", "examples/risk_config.yaml"]);
    assert!(ok.status.success());
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "ok");

    let broken = temp_file(
        "broken.yaml",
        "global:\n  timezone: Mars/Olympus\n  bogus: 1\nrules:\n  max_contracts: { enabled: true, limit: -3 }\n",
    );
    let out = riskguard(&["check-config", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "broken.yaml:2",
        "global.timezone",
        "broken.yaml:3",
        "global.bogus",
        "broken.yaml:5",
        "rules.max_contracts.limit",
    ] {
        assert!(stderr.contains(needle), "missing {needle} in:\n{stderr}");
    }
}

#[test]
fn the_demo_enforces_every_rule_and_checks_itself() {
    let out = riskguard(&["demo"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("demo OK: every enforcement happened"),
        "{stdout}"
    );
    assert!(stdout.contains("simulator: 0 open position(s)"), "{stdout}");
    for rule in [
        "max_contracts",
        "symbol_blocks",
        "no_stop_loss_grace",
        "cooldown_after_loss",
        "lockout_guard",
        "daily_realized_loss",
    ] {
        assert!(
            stdout.contains(&format!("riskguard [{rule}]")),
            "{rule} not narrated:\n{stdout}"
        );
    }
}
