//! `riskguard status`: a one-screen plain-text summary of the running daemon, read over the internal API
//! with the trader token (version, uptime, dry-run, hubs, the last event's age, each account's state, P&L
//! and rule usage, the locks). Exit 1 with a plain message when the daemon cannot be reached.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use api::client::{Client, ClientError};
use api::{Account, Lock, Status, TradingState};

/// Run the command.
pub fn run(data_dir: Option<PathBuf>) -> ExitCode {
    let data_dir = data_dir.unwrap_or_else(daemon::setup::default_data_dir);
    let Some(rt) = crate::client_runtime("riskguard status") else {
        return ExitCode::FAILURE;
    };
    let read = rt.block_on(async {
        let client = Client::from_data_dir(&data_dir)?;
        let status = client.status().await?;
        let accounts = client.accounts().await?;
        let locks = client.locks().await?;
        Ok::<_, ClientError>((status, accounts, locks))
    });
    match read {
        Ok((status, accounts, locks)) => {
            print!("{}", render(&status, &accounts, &locks));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("riskguard status: {e}");
            ExitCode::from(1)
        }
    }
}

fn duration(secs: i64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s:02}s"),
        (0, _, _) => format!("{h}h{m:02}m"),
        _ => format!("{d}d{h:02}h"),
    }
}

fn state(s: TradingState) -> &'static str {
    match s {
        TradingState::Ok => "ok",
        TradingState::Cooldown => "cooldown",
        TradingState::Locked => "LOCKED",
    }
}

/// The summary text.
pub fn render(status: &Status, accounts: &[Account], locks: &[Lock]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "riskguard {}  up {}  dry-run {}  enforcement {}{}",
        status.version,
        duration(status.uptime_secs),
        if status.dry_run { "ON" } else { "off" },
        if status.enforcement_online {
            "online"
        } else {
            "OFFLINE"
        },
        if status.journal_degraded {
            "  JOURNAL DEGRADED"
        } else {
            ""
        },
    );
    let hubs: Vec<String> = status
        .hubs
        .iter()
        .map(|h| format!("{}/{} {}", h.login, h.hub, if h.up { "up" } else { "DOWN" }))
        .collect();
    let _ = writeln!(
        out,
        "hubs: {}",
        if hubs.is_empty() {
            "none".to_owned()
        } else {
            hubs.join(", ")
        }
    );
    let _ = writeln!(
        out,
        "last event: {}",
        status.last_event_age_ms.map_or_else(
            || "none yet".to_owned(),
            |ms| format!("{} ago", duration(ms / 1000))
        )
    );
    for a in accounts {
        let _ = write!(out, "\naccount {}  {}", a.id, state(a.state));
        if let Some(reason) = &a.state_reason {
            let _ = write!(out, "  ({reason})");
        }
        if let Some(until) = a.state_until {
            let _ = write!(out, "  until {until}");
        }
        if a.can_trade == Some(false) {
            out.push_str("  canTrade=false");
        }
        out.push('\n');
        let _ = writeln!(
            out,
            "  P&L realized {}  open {}  net {}   positions {}  orders {}",
            a.realized_pnl, a.unrealized_pnl, a.net_pnl, a.open_positions, a.working_orders
        );
        for u in &a.usage {
            let _ = writeln!(out, "  {:<28} {}", u.rule, u.text);
        }
    }
    out.push_str(if locks.is_empty() {
        "\nlocks: none\n"
    } else {
        "\nlocks:\n"
    });
    for l in locks {
        let until = l
            .until
            .map_or_else(|| "until cleared".to_owned(), |u| format!("until {u}"));
        let _ = writeln!(
            out,
            "  {} {} ({}) {}: {}",
            l.account, l.rule, l.kind, until, l.reason
        );
    }
    out
}
