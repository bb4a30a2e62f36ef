//! The shipped examples validate and produce the values they document.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::str::FromStr;

use config::{check_path, load_risk_config};
use jiff::civil::{Time, Weekday, date};
use model::config::*;
use model::ids::AccountId;
use rust_decimal::Decimal;

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

#[test]
fn example_risk_config_validates_with_the_documented_values() {
    let cfg = match load_risk_config(&examples().join("risk_config.yaml")) {
        Ok(c) => c,
        Err(errors) => panic!(
            "{}",
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        ),
    };
    let g = &cfg.global;
    assert!(!g.dry_run && g.subtract_fees && !g.strict_mode);
    assert_eq!(g.reset_time, Time::constant(17, 0, 0, 0));
    assert_eq!(g.timezone_name, "America/Chicago");
    assert_eq!(g.journal_retention_days, 30);

    let r = &cfg.rules;
    assert!(r.max_contracts.enabled);
    assert_eq!(r.max_contracts.limit, 5);
    assert_eq!(r.max_contracts.action, MaxContractsAction::CloseAll);

    let pi = &r.max_contracts_per_instrument;
    assert_eq!(
        pi.limits
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        vec![("ES", 1), ("MNQ", 2), ("NQ", 1)]
    );
    assert_eq!(pi.action, PerInstrumentAction::ReduceToLimit);
    assert_eq!(
        pi.unknown_symbol_action,
        UnknownSymbolAction::AllowUnlimited
    );

    let dr = &r.daily_realized_loss;
    assert_eq!(dr.loss_limit, dec("500.00"));
    assert_eq!(dr.action, RealizedLossAction::CloseAllAndLockout);
    assert_eq!(dr.lockout_until, LockoutUntil::DailyReset);
    assert_eq!(dr.warn_at, vec![dec("0.5"), dec("0.75"), dec("0.9")]);

    assert_eq!(r.daily_unrealized_loss.limit, dec("300"));
    assert_eq!(r.daily_unrealized_loss.scope, Scope::PerPosition);
    assert_eq!(r.max_unrealized_profit.limit, dec("1000"));

    assert_eq!(
        r.trade_frequency_limit.windows,
        vec![
            FrequencyLimit {
                window: FrequencyWindow::Minute,
                limit: 3,
                cooldown_seconds: 60
            },
            FrequencyLimit {
                window: FrequencyWindow::Hour,
                limit: 10,
                cooldown_seconds: 1800
            },
            FrequencyLimit {
                window: FrequencyWindow::Session,
                limit: 50,
                cooldown_seconds: 3600
            },
        ]
    );
    assert_eq!(
        r.cooldown_after_loss
            .tiers
            .iter()
            .map(|t| (t.loss, t.cooldown_seconds))
            .collect::<Vec<_>>(),
        vec![(dec("100"), 300), (dec("200"), 900), (dec("300"), 1800)]
    );
    assert_eq!(r.no_stop_loss_grace.grace_period_seconds, 30);

    let s = &r.session_block_outside;
    assert!(
        s.enabled
            && s.respect_holidays
            && s.close_positions_at_session_end
            && s.lockout_outside_session
    );
    assert_eq!(
        s.sessions.keys().collect::<Vec<_>>(),
        vec!["MNQ", "default"]
    );
    assert_eq!(
        s.sessions["MNQ"],
        SessionWindow {
            start: Time::constant(17, 0, 0, 0),
            end: Time::constant(16, 0, 0, 0),
            days: vec![
                Weekday::Sunday,
                Weekday::Monday,
                Weekday::Tuesday,
                Weekday::Wednesday,
                Weekday::Thursday
            ],
        }
    );
    // The rule's own 2026-12-25 merged with holidays.yaml beside it (2026-01-01, 2026-12-25), no repeats.
    assert_eq!(s.holidays, vec![date(2026, 1, 1), date(2026, 12, 25)]);

    assert!(r.auth_loss_guard.enabled && r.auth_loss_guard.flatten);
    assert_eq!(r.symbol_blocks.blocked_symbols, vec!["RTY", "MBT"]);
    assert!(!r.trade_management.enabled);
    assert_eq!(r.trade_management.auto_breakeven.trigger_ticks, 10);
    assert_eq!(r.trade_management.trailing_stop.distance_ticks, 10);

    // The account override changes only loss_limit.
    let a = cfg.rules_for(AccountId(123456));
    assert_eq!(a.daily_realized_loss.loss_limit, dec("250.00"));
    assert!(a.daily_realized_loss.enabled);
    assert_eq!(a.daily_realized_loss.warn_at, dr.warn_at);
    assert_eq!(a.max_contracts.limit, 5);
    assert_eq!(a.session_block_outside.holidays, s.holidays);
    assert_eq!(
        cfg.rules_for(AccountId(1)).daily_realized_loss.loss_limit,
        dec("500")
    );
}

#[test]
fn check_path_on_the_examples_directory_checks_every_file() {
    let checked = check_path(&examples()).unwrap();
    let names: Vec<_> = checked
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        vec!["risk_config.yaml", "holidays.yaml", "accounts.yaml"]
    );
}
