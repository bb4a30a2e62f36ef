//! Every tab, the unreachable screen, the help overlay and the "done for today" dialog, drawn from one fixed
//! model at one fixed instant into ratatui's `TestBackend`, at 80×24 and 160×48, compared with the committed
//! insta snapshots (`crates/tui/tests/snapshots/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use api::*;
use jiff::Timestamp;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rust_decimal::Decimal;
use serde_json::json;
use tui::model::{Connection, Dialog, Model, Tab};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// 09:00:00 in Chicago.
fn now() -> Timestamp {
    t("2025-01-02T15:00:00Z")
}

fn d(units: i64, scale: u32) -> Decimal {
    Decimal::new(units, scale)
}

fn usage(
    rule: &str,
    used: Decimal,
    limit: Decimal,
    unit: &str,
    fraction: Decimal,
    text: &str,
) -> RuleUsage {
    RuleUsage {
        rule: rule.into(),
        used,
        limit,
        unit: unit.into(),
        fraction,
        text: text.into(),
    }
}

fn decision(at: &str, account: i64, rule: &str, action: &str, reason: &str) -> DecisionRecord {
    DecisionRecord {
        t: t(at),
        account,
        rule: rule.into(),
        action: action.into(),
        details: serde_json::Value::Null,
        reason: reason.into(),
        dry_run: false,
    }
}

fn model() -> Model {
    let reason = "day P&L -520.00 at or below the limit -500.00";
    let view = View {
        at: now(),
        status: Status {
            version: "0.1.0".into(),
            started_at: t("2025-01-02T12:30:00Z"),
            uptime_secs: 9000,
            dry_run: false,
            hubs: vec![
                HubState {
                    login: "main".into(),
                    hub: "user".into(),
                    up: true,
                    since: Some(t("2025-01-02T12:30:02Z")),
                    reconnects: 0,
                },
                HubState {
                    login: "main".into(),
                    hub: "market".into(),
                    up: false,
                    since: Some(t("2025-01-02T14:59:40Z")),
                    reconnects: 3,
                },
            ],
            last_event_at: Some(t("2025-01-02T14:59:58Z")),
            last_event_age_ms: Some(0),
            enforcement_online: false,
            journal_degraded: false,
            malformed_payloads: 2,
            rest_errors: 0,
        },
        accounts: vec![
            Account {
                id: 7001,
                can_trade: Some(true),
                state: TradingState::Locked,
                state_reason: Some(reason.into()),
                state_until: Some(t("2025-01-02T23:00:00Z")),
                realized_pnl: d(-52000, 2),
                unrealized_pnl: d(1250, 2),
                net_pnl: d(-50750, 2),
                open_positions: 1,
                working_orders: 0,
                usage: vec![
                    usage(
                        "daily_realized_loss",
                        d(-52000, 2),
                        d(-50000, 2),
                        "usd",
                        d(104, 2),
                        "-520.00 of -500.00",
                    ),
                    usage(
                        "max_contracts",
                        d(3, 0),
                        d(5, 0),
                        "contracts",
                        d(6, 1),
                        "3 of 5 contracts",
                    ),
                    usage(
                        "trade_frequency",
                        d(4, 0),
                        d(5, 0),
                        "trades",
                        d(8, 1),
                        "4 of 5 trades",
                    ),
                ],
            },
            Account {
                id: 7002,
                can_trade: Some(true),
                state: TradingState::Cooldown,
                state_reason: Some("3 trades in 60s, limit 2".into()),
                state_until: Some(t("2025-01-02T15:04:30Z")),
                realized_pnl: d(12000, 2),
                unrealized_pnl: Decimal::ZERO,
                net_pnl: d(12000, 2),
                open_positions: 0,
                working_orders: 1,
                usage: vec![usage(
                    "max_contracts",
                    d(0, 0),
                    d(5, 0),
                    "contracts",
                    d(0, 0),
                    "0 of 5 contracts",
                )],
            },
        ],
        positions: vec![
            Position {
                account: 7001,
                contract: "CON.F.US.MNQ.H25".into(),
                size: 3,
                average_price: d(2150025, 2),
                last_price: Some(d(2150450, 2)),
                unrealized_pnl: Some(d(1250, 2)),
                has_stop: false,
                stop_grace_until: Some(t("2025-01-02T15:01:30Z")),
                opened_at: t("2025-01-02T14:59:00Z"),
            },
            Position {
                account: 7002,
                contract: "CON.F.US.MES.H25".into(),
                size: -1,
                average_price: d(600000, 2),
                last_price: None,
                unrealized_pnl: None,
                has_stop: true,
                stop_grace_until: None,
                opened_at: t("2025-01-02T14:00:00Z"),
            },
        ],
        orders: vec![Order {
            account: 7002,
            order: 9001,
            contract: "CON.F.US.MES.H25".into(),
            status: "open".into(),
            order_type: "stop".into(),
            side: "buy".into(),
            size: 1,
            limit_price: None,
            stop_price: Some(d(601000, 2)),
        }],
        locks: vec![
            Lock {
                account: 7001,
                rule: "daily_realized_loss".into(),
                kind: "until_reset".into(),
                reason: reason.into(),
                since: t("2025-01-02T14:58:00Z"),
                until: Some(t("2025-01-02T23:00:00Z")),
            },
            Lock {
                account: 7002,
                rule: "trade_frequency".into(),
                kind: "cooldown".into(),
                reason: "3 trades in 60s, limit 2".into(),
                since: t("2025-01-02T14:59:30Z"),
                until: Some(t("2025-01-02T15:04:30Z")),
            },
            Lock {
                account: 7002,
                rule: "admin".into(),
                kind: "permanent".into(),
                reason: "locked by admin: talk to me".into(),
                since: t("2025-01-02T13:00:00Z"),
                until: None,
            },
        ],
        pending: vec![
            PendingChange {
                id: 1,
                kind: "clear_lock".into(),
                account: Some(7001),
                description: "clear the daily_realized_loss lock of 7001".into(),
                loosens: vec!["lock".into()],
                reason: "fat finger".into(),
                by: "admin".into(),
                requested_at: t("2025-01-02T14:59:00Z"),
                effective_at: t("2025-01-02T15:29:00Z"),
            },
            PendingChange {
                id: 2,
                kind: "config".into(),
                account: None,
                description: "max_contracts.limit 5 -> 8".into(),
                loosens: vec!["max_contracts.limit".into()],
                reason: "bigger size".into(),
                by: "admin".into(),
                requested_at: t("2025-01-02T14:59:00Z"),
                effective_at: t("2025-01-02T15:30:00Z"),
            },
        ],
    };
    let mut m = Model::new();
    m.on_connected(t("2025-01-02T14:00:00Z"));
    m.apply(StreamEvent::Snapshot(Box::new(view)), now());
    m.on_history(vec![
        decision(
            "2025-01-02T14:10:00Z",
            7001,
            "max_contracts",
            "close_all_positions",
            "6 contracts open, limit 5",
        ),
        decision(
            "2025-01-02T14:58:00Z",
            7001,
            "daily_realized_loss",
            "lockout",
            reason,
        ),
        decision(
            "2025-01-02T14:58:00Z",
            7001,
            "daily_realized_loss",
            "close_all_positions",
            reason,
        ),
        decision(
            "2025-01-02T14:59:30Z",
            7002,
            "trade_frequency",
            "cooldown",
            "3 trades in 60s, limit 2",
        ),
    ]);
    m.on_rules(vec![AccountRules {
        account: 7001,
        rules: json!({
            "global": {"reset_time": "17:00", "timezone": "America/Chicago", "subtract_fees": false},
            "rules": {
                "daily_realized_loss": {"enabled": true, "loss_limit": "500.00", "action": "close_all_and_lockout", "lockout_until": "daily_reset"},
                "max_contracts": {"enabled": true, "limit": 5, "action": "close_all"},
                "symbol_blocks": {"enabled": true, "blocked_symbols": ["RTY", "CL"]},
                "no_stop_loss_grace": {"enabled": true, "grace_period_seconds": 90},
                "trade_frequency": {"enabled": true, "max_trades": 2, "window_seconds": 60, "cooldown_seconds": 300},
                "session_block": {"enabled": false}
            }
        }),
    }]);
    m.on_holidays(Holidays {
        timezone: "America/Chicago".into(),
        holidays: vec![
            Holiday { date: "2025-01-01".into(), name: "New Year's Day".into(), kind: "closed".into() },
            Holiday { date: "2025-01-20".into(), name: "Martin Luther King Jr. Day".into(), kind: "12:00".into() },
        ],
        next: Some(Holiday { date: "2025-01-20".into(), name: "Martin Luther King Jr. Day".into(), kind: "12:00".into() }),
        sessions: json!({"default": {"start": "08:30", "end": "15:00"}, "CL": {"start": "08:00", "end": "13:30"}}),
    });
    m
}

fn draw(model: &Model, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|f| tui::render::render(f, model, now()))
        .unwrap();
    terminal.backend().to_string()
}

fn both(name: &str, model: &Model) {
    insta::assert_snapshot!(format!("{name}_80x24"), draw(model, 80, 24));
    insta::assert_snapshot!(format!("{name}_160x48"), draw(model, 160, 48));
}

#[test]
fn every_tab_at_both_sizes() {
    for (tab, name) in [
        (Tab::Overview, "1_overview"),
        (Tab::Positions, "2_positions"),
        (Tab::Rules, "3_rules"),
        (Tab::Locks, "4_locks"),
        (Tab::History, "5_history"),
        (Tab::Connections, "6_connections"),
        (Tab::Holidays, "7_holidays"),
    ] {
        let mut m = model();
        m.tab = tab;
        both(name, &m);
    }
}

#[test]
fn history_with_filters() {
    let mut m = model();
    m.tab = Tab::History;
    m.account_filter = Some(7001);
    m.rule_filter = Some("daily_realized_loss".into());
    both("5_history_filtered", &m);
}

#[test]
fn unreachable_screen() {
    let mut m = model();
    m.connection = Connection::Unreachable {
        error: "http://127.0.0.1:41234: error sending request (connection refused)".into(),
        retry_at: t("2025-01-02T15:00:03Z"),
        reconnects: 1,
    };
    both("unreachable", &m);
    let mut first = Model::new();
    first.on_unreachable(
        "cannot read /var/lib/riskguard/api/endpoint (No such file or directory (os error 2)); is the daemon running with this data dir?".into(),
        t("2025-01-02T15:00:01Z"),
    );
    insta::assert_snapshot!("unreachable_never_connected_80x24", draw(&first, 80, 24));
    insta::assert_snapshot!("connecting_80x24", draw(&Model::new(), 80, 24));
}

#[test]
fn help_overlay() {
    let mut m = model();
    m.help = true;
    both("help", &m);
}

#[test]
fn done_for_today_dialog() {
    let mut m = model();
    m.dialog = Some(Dialog::Confirm);
    both("done_confirm", &m);
    m.dialog = Some(Dialog::Answer(Err(
        "HTTP 501: done for today is not built yet".into(),
    )));
    insta::assert_snapshot!("done_error_80x24", draw(&m, 80, 24));
    m.dialog = Some(Dialog::Answer(Ok(
        "every account locked until the reset at 17:00".into(),
    )));
    insta::assert_snapshot!("done_ok_80x24", draw(&m, 80, 24));
}
