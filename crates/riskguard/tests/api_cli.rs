//! `riskguard status` against the internal API served in-process on a fake daemon, `riskguard status` with
//! nothing listening, and `riskguard admin set-password` driven through piped standard input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use api::*;
use rust_decimal::Decimal;
use tokio::sync::{broadcast, oneshot, watch};

struct Fake {
    view: watch::Sender<Arc<View>>,
    decisions: broadcast::Sender<DecisionRecord>,
}

impl Daemon for Fake {
    fn view(&self) -> watch::Receiver<Arc<View>> {
        self.view.subscribe()
    }
    fn decisions(&self) -> broadcast::Receiver<DecisionRecord> {
        self.decisions.subscribe()
    }
    fn decision_history(&self, _: Option<jiff::Timestamp>, _: Option<i64>) -> Vec<DecisionRecord> {
        Vec::new()
    }
    fn rules(&self) -> Vec<AccountRules> {
        Vec::new()
    }
    fn holidays(&self) -> Holidays {
        Holidays {
            timezone: "America/Chicago".into(),
            holidays: Vec::new(),
            next: None,
            sessions: serde_json::Value::Null,
        }
    }
    fn admin(&self, _: AdminRequest) -> oneshot::Receiver<AdminResult> {
        oneshot::channel().1
    }
    fn metrics(&self) -> String {
        String::new()
    }
}

fn view() -> View {
    let now = jiff::Timestamp::now();
    let until: jiff::Timestamp = "2030-01-01T23:00:00Z".parse().unwrap();
    View {
        at: now,
        status: Status {
            version: "9.8.7".into(),
            started_at: now - jiff::SignedDuration::from_secs(3 * 3600 + 5 * 60),
            uptime_secs: 0,
            dry_run: true,
            hubs: vec![HubState {
                login: "main".into(),
                hub: "user".into(),
                up: true,
                since: None,
                reconnects: 0,
            }],
            last_event_at: Some(now),
            last_event_age_ms: Some(0),
            enforcement_online: true,
            journal_degraded: false,
            malformed_payloads: 0,
            rest_errors: 0,
        },
        accounts: vec![Account {
            id: 7001,
            can_trade: Some(true),
            state: TradingState::Locked,
            state_reason: Some("day P&L -520.00 at or below -500.00".into()),
            state_until: Some(until),
            realized_pnl: Decimal::new(-52000, 2),
            unrealized_pnl: Decimal::new(1250, 2),
            net_pnl: Decimal::new(-50750, 2),
            open_positions: 0,
            working_orders: 0,
            usage: vec![RuleUsage {
                rule: "daily_realized_loss".into(),
                used: Decimal::new(-52000, 2),
                limit: Decimal::new(-50000, 2),
                unit: "usd".into(),
                fraction: Decimal::new(104, 2),
                text: "-520.00 of -500.00".into(),
            }],
        }],
        positions: Vec::new(),
        orders: Vec::new(),
        locks: vec![Lock {
            account: 7001,
            rule: "daily_realized_loss".into(),
            kind: "until_reset".into(),
            reason: "day P&L -520.00 at or below -500.00".into(),
            since: now,
            until: Some(until),
        }],
        pending: Vec::new(),
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("riskguard-api-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn riskguard(args: &[&str], data_dir: &Path, stdin: &str) -> Output {
    let data_dir = data_dir.to_str().expect("a UTF-8 temp path");
    let mut all = args.to_vec();
    all.extend(["--data-dir", data_dir]);
    support::run_with_stdin(&all, stdin)
}

#[test]
fn status_prints_the_summary_from_the_running_api() {
    let dir = temp_dir("status");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = Arc::new(Fake {
        view: watch::Sender::new(Arc::new(view())),
        decisions: broadcast::channel(4).0,
    });
    let server = rt
        .block_on(api::start(
            ServerConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                data_dir: dir.clone(),
            },
            fake,
        ))
        .unwrap();
    let out = riskguard(&["status"], &dir, "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    for expected in [
        "riskguard 9.8.7  up 3h05m  dry-run ON  enforcement online",
        "hubs: main/user up",
        "account 7001  LOCKED  (day P&L -520.00 at or below -500.00)  until 2030-01-01T23:00:00Z",
        "P&L realized -520.00  open 12.50  net -507.50",
        "daily_realized_loss          -520.00 of -500.00",
        "7001 daily_realized_loss (until_reset) until 2030-01-01T23:00:00Z: day P&L",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    rt.block_on(server.shutdown());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn status_exits_1_when_the_daemon_is_unreachable() {
    let dir = temp_dir("unreachable");
    // No endpoint file at all.
    let out = riskguard(&["status"], &dir, "");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unreachable"), "{stderr}");

    // An endpoint and a token, but nothing listens there any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    api::files::load_or_create_trader_token(&dir).unwrap();
    api::files::write_private(&api::files::endpoint_path(&dir), &format!("{addr}\n")).unwrap();
    let out = riskguard(&["status"], &dir, "");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unreachable"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn admin_set_password_from_piped_stdin_writes_a_private_argon2id_hash() {
    let dir = temp_dir("setpw");
    let out = riskguard(
        &["admin", "set-password"],
        &dir,
        "first secret\nfirst secret\n",
    );
    assert!(out.status.success(), "{out:?}");
    let path = api::files::admin_hash_path(&dir);
    let hash = std::fs::read_to_string(&path).unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("first secret"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let all = format!("{out:?}");
    assert!(
        !all.contains("first secret"),
        "a password was printed: {all}"
    );

    // Changing it needs the old one; a wrong old one changes nothing.
    let out = riskguard(
        &["admin", "set-password"],
        &dir,
        "not the one\nsecond secret\nsecond secret\n",
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("old password is wrong"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), hash);

    // Two different new passwords change nothing either.
    let out = riskguard(
        &["admin", "set-password"],
        &dir,
        "first secret\nsecond secret\nsecond secre\n",
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), hash);

    let out = riskguard(
        &["admin", "set-password"],
        &dir,
        "first secret\nsecond secret\nsecond secret\n",
    );
    assert!(out.status.success(), "{out:?}");
    let new_hash = std::fs::read_to_string(&path).unwrap();
    assert!(api::files::verify_password(
        new_hash.trim(),
        "second secret"
    ));
    let _ = std::fs::remove_dir_all(&dir);
}
