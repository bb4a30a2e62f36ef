//! Absent blocks and keys take the defaults of CONFIG.md §2 and §6.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::str::FromStr;

use jiff::civil::Time;
use model::config::*;
use rust_decimal::Decimal;
use support::ok;

#[test]
fn absent_blocks_are_disabled_with_option_defaults() {
    let c = ok("global: {}\nrules: {}\n");
    let g = &c.global;
    assert!(!g.dry_run && !g.strict_mode && g.subtract_fees);
    assert_eq!(g.reset_time, Time::constant(17, 0, 0, 0));
    assert_eq!(g.timezone_name, "America/Chicago");
    assert_eq!(g.journal_retention_days, 30);
    assert!(c.accounts.is_empty());

    let r = &c.rules;
    assert!(!r.max_contracts.enabled);
    assert_eq!(r.max_contracts.action, MaxContractsAction::CloseAll);
    assert!(!r.max_contracts_per_instrument.enabled);
    assert_eq!(
        r.max_contracts_per_instrument.action,
        PerInstrumentAction::ReduceToLimit
    );
    assert_eq!(
        r.max_contracts_per_instrument.unknown_symbol_action,
        UnknownSymbolAction::AllowUnlimited
    );
    let d = &r.daily_realized_loss;
    assert!(!d.enabled && !d.include_unrealized);
    assert_eq!(d.action, RealizedLossAction::CloseAllAndLockout);
    assert_eq!(d.lockout_until, LockoutUntil::DailyReset);
    let fr = |s| Decimal::from_str(s).unwrap();
    assert_eq!(d.warn_at, vec![fr("0.5"), fr("0.75"), fr("0.9")]);
    for u in [&r.daily_unrealized_loss, &r.max_unrealized_profit] {
        assert!(!u.enabled && !u.lockout);
        assert_eq!(u.scope, Scope::PerPosition);
    }
    assert!(!r.trade_frequency_limit.enabled && r.trade_frequency_limit.windows.is_empty());
    assert!(!r.cooldown_after_loss.enabled && r.cooldown_after_loss.tiers.is_empty());
    assert!(!r.no_stop_loss_grace.enabled);
    let s = &r.session_block_outside;
    assert!(
        !s.enabled
            && s.respect_holidays
            && s.close_positions_at_session_end
            && s.lockout_outside_session
    );
    assert_eq!(s.timezone_name, "America/Chicago");
    assert!(s.sessions.is_empty() && s.holidays.is_empty());
    assert!(!r.auth_loss_guard.enabled && r.auth_loss_guard.flatten);
    assert!(!r.symbol_blocks.enabled && r.symbol_blocks.blocked_symbols.is_empty());
    let t = &r.trade_management;
    assert!(!t.enabled && t.auto_breakeven.enabled && t.trailing_stop.enabled);
    assert_eq!(
        (
            t.auto_breakeven.trigger_ticks,
            t.auto_breakeven.offset_ticks
        ),
        (10, 0)
    );
    assert_eq!(
        (
            t.trailing_stop.activation_ticks,
            t.trailing_stop.distance_ticks
        ),
        (20, 10)
    );
}

#[test]
fn a_block_with_only_enabled_false_keeps_the_option_defaults() {
    let c = ok(
        "rules:\n  auth_loss_guard: { enabled: true }\n  daily_realized_loss:\n    enabled: true\n    loss_limit: 100\n",
    );
    assert!(c.rules.auth_loss_guard.enabled && c.rules.auth_loss_guard.flatten);
    assert_eq!(
        c.rules.daily_realized_loss.action,
        RealizedLossAction::CloseAllAndLockout
    );
    assert_eq!(c.rules.daily_realized_loss.warn_at.len(), 3);
}

#[test]
fn empty_sections_are_empty_maps() {
    let c = ok("global:\nrules:\naccounts:\n");
    assert!(!c.rules.max_contracts.enabled);
    assert!(c.accounts.is_empty());
}

#[test]
fn symbols_are_upper_cased_and_default_stays_default() {
    let c = ok(
        "rules:\n  symbol_blocks: { blocked_symbols: [rty, Mbt] }\n  session_block_outside:\n    sessions:\n      default: { start: \"08:30\", end: \"15:00\", days: [mon] }\n      mnq: { start: \"17:00\", end: \"16:00\", days: [sun] }\n  max_contracts_per_instrument: { limits: { mes: 3 } }\n",
    );
    assert_eq!(c.rules.symbol_blocks.blocked_symbols, vec!["RTY", "MBT"]);
    assert_eq!(
        c.rules
            .session_block_outside
            .sessions
            .keys()
            .collect::<Vec<_>>(),
        vec!["MNQ", "default"]
    );
    assert_eq!(
        c.rules
            .max_contracts_per_instrument
            .limits
            .keys()
            .collect::<Vec<_>>(),
        vec!["MES"]
    );
}
