//! Each kind of impossible value is an error at the right key path and line (CONFIG.md §6).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{errs, ok, one, where_};

/// `rules:` with one block, written at line 2.
fn rule(block: &str) -> String {
    format!("rules:\n{block}")
}

#[test]
fn negative_and_zero_money_limits() {
    let t = rule("  daily_realized_loss:\n    enabled: true\n    loss_limit: -500\n");
    assert_eq!(
        one(
            &t,
            "rules.daily_realized_loss.loss_limit",
            "positive dollar amount"
        ),
        4
    );
    let t = rule("  daily_unrealized_loss:\n    loss_limit: 0\n");
    assert_eq!(
        one(
            &t,
            "rules.daily_unrealized_loss.loss_limit",
            "positive dollar amount"
        ),
        3
    );
    let t = rule("  max_unrealized_profit:\n    profit_target: 0.00\n");
    assert_eq!(
        one(&t, "rules.max_unrealized_profit.profit_target", "positive"),
        3
    );
    let t = rule("  cooldown_after_loss:\n    tiers:\n      - { loss: -1, cooldown_seconds: 5 }\n");
    assert_eq!(
        one(&t, "rules.cooldown_after_loss.tiers[0].loss", "positive"),
        4
    );
}

#[test]
fn money_is_exact_and_must_be_a_plain_number() {
    let c = ok("rules:\n  daily_realized_loss: { loss_limit: 0.1 }\n");
    assert_eq!(c.rules.daily_realized_loss.loss_limit.to_string(), "0.1");
    let t = rule("  daily_realized_loss: { loss_limit: 1e3 }\n");
    one(&t, "rules.daily_realized_loss.loss_limit", "plain decimal");
    let t = rule("  daily_realized_loss: { loss_limit: .inf }\n");
    one(&t, "rules.daily_realized_loss.loss_limit", "plain decimal");
    let t = rule("  daily_realized_loss: { loss_limit: \"500\" }\n");
    one(
        &t,
        "rules.daily_realized_loss.loss_limit",
        "expected a number, found a string",
    );
}

#[test]
fn count_limits() {
    // max_contracts.limit must be >= 1.
    let t = rule("  max_contracts: { limit: 0 }\n");
    assert_eq!(one(&t, "rules.max_contracts.limit", "1 or more"), 2);
    let t = rule("  max_contracts: { limit: 2.5 }\n");
    one(&t, "rules.max_contracts.limit", "whole number");
    let t = rule("  max_contracts: { limit: 99999999999 }\n");
    one(&t, "rules.max_contracts.limit", "too large");
    // Per-instrument limits may be 0 (none allowed) but not negative.
    let c = ok("rules:\n  max_contracts_per_instrument: { limits: { MES: 0 } }\n");
    assert_eq!(c.rules.max_contracts_per_instrument.limits["MES"], 0);
    let t = rule("  max_contracts_per_instrument: { limits: { MES: -1 } }\n");
    one(
        &t,
        "rules.max_contracts_per_instrument.limits.MES",
        "0 or more",
    );
    // Seconds and windows are >= 1.
    let t = rule("  no_stop_loss_grace: { grace_period_seconds: 0 }\n");
    one(
        &t,
        "rules.no_stop_loss_grace.grace_period_seconds",
        "1 or more",
    );
    let t = rule("  trade_frequency_limit: { per_hour: 0, cooldown_seconds: { per_hour: 60 } }\n");
    one(&t, "rules.trade_frequency_limit.per_hour", "1 or more");
    let t = rule("  trade_frequency_limit: { per_hour: 5, cooldown_seconds: { per_hour: 0 } }\n");
    one(
        &t,
        "rules.trade_frequency_limit.cooldown_seconds.per_hour",
        "1 or more",
    );
    let t = "global:\n  journal_retention_days: 0\n";
    one(t, "global.journal_retention_days", "1 or more");
}

#[test]
fn wrong_types() {
    let t = rule("  max_contracts: { enabled: yes }\n");
    one(
        &t,
        "rules.max_contracts.enabled",
        "expected true or false, found a string",
    );
    let t = rule("  max_contracts_per_instrument: { limits: [MNQ, ES] }\n");
    one(
        &t,
        "rules.max_contracts_per_instrument.limits",
        "expected a mapping, found a list",
    );
    let t = rule("  symbol_blocks: { blocked_symbols: RTY }\n");
    one(
        &t,
        "rules.symbol_blocks.blocked_symbols",
        "expected a list, found a string",
    );
    let t = "global:\n  timezone: 5\n";
    one(t, "global.timezone", "expected a string, found a number");
    let t = "rules: [max_contracts]\n";
    one(t, "rules", "expected a mapping, found a list");
    let t = "- a\n- b\n";
    assert_eq!(one(t, "(file)", "expected a mapping, found a list"), 1);
}

#[test]
fn unknown_keys_at_every_level() {
    assert_eq!(one("globl: {}\n", "globl", "unknown key"), 1);
    one("global: { dryrun: true }\n", "global.dryrun", "unknown key");
    one(
        &rule("  max_contract: {}\n"),
        "rules.max_contract",
        "unknown key",
    );
    one(
        &rule("  max_contracts: { limt: 3 }\n"),
        "rules.max_contracts.limt",
        "unknown key",
    );
    one(
        &rule(
            "  session_block_outside:\n    sessions:\n      default: { start: \"08:00\", end: \"09:00\", days: [mon], tz: x }\n",
        ),
        "rules.session_block_outside.sessions.default.tz",
        "unknown key",
    );
    one(
        &rule(
            "  cooldown_after_loss:\n    tiers:\n      - { loss: 1, cooldown_seconds: 5, note: x }\n",
        ),
        "rules.cooldown_after_loss.tiers[0].note",
        "unknown key",
    );
    one(
        &rule("  trade_management:\n    auto_breakeven: { trigger: 3 }\n"),
        "rules.trade_management.auto_breakeven.trigger",
        "unknown key",
    );
    one(
        &rule("  trade_management:\n    trailing_stop: { distance: 3 }\n"),
        "rules.trade_management.trailing_stop.distance",
        "unknown key",
    );
    one(
        &rule(
            "  trade_frequency_limit:\n    per_minute: 2\n    cooldown_seconds: { per_minute: 5, per_day: 9 }\n",
        ),
        "rules.trade_frequency_limit.cooldown_seconds.per_day",
        "unknown key",
    );
    one(
        "accounts:\n  \"7\":\n    max_contracts: { limit: 2, lmit: 3 }\n",
        "accounts.\"7\".max_contracts.lmit",
        "unknown key",
    );
    one(
        "accounts:\n  \"7\":\n    maxcontracts: {}\n",
        "accounts.\"7\".maxcontracts",
        "unknown key",
    );
}

#[test]
fn time_zones_and_times() {
    one(
        "global: { timezone: \"Mars/Olympus\" }\n",
        "global.timezone",
        "unknown IANA time zone",
    );
    one(
        &rule("  session_block_outside: { timezone: \"Europe/Londn\" }\n"),
        "rules.session_block_outside.timezone",
        "unknown IANA",
    );
    for bad in [
        "\"8:30\"",
        "\"24:00\"",
        "\"12:61\"",
        "\"noon\"",
        "\"08:30:00\"",
    ] {
        one(
            &format!("global: {{ reset_time: {bad} }}\n"),
            "global.reset_time",
            "HH:MM",
        );
    }
    let t = rule(
        "  session_block_outside:\n    sessions:\n      ES: { start: \"07:00\", end: \"7pm\", days: [mon] }\n",
    );
    assert_eq!(
        one(&t, "rules.session_block_outside.sessions.ES.end", "HH:MM"),
        4
    );
}

#[test]
fn session_windows() {
    // start == end is an error, reported at `end`.
    let t = rule(
        "  session_block_outside:\n    sessions:\n      default:\n        start: \"09:00\"\n        end: \"09:00\"\n        days: [mon]\n",
    );
    assert_eq!(
        one(
            &t,
            "rules.session_block_outside.sessions.default.end",
            "end equals start"
        ),
        6
    );
    // start > end is an overnight window and valid.
    let c = ok(
        "rules:\n  session_block_outside:\n    sessions:\n      mnq: { start: \"17:00\", end: \"16:00\", days: [SUN] }\n",
    );
    let w = &c.rules.session_block_outside.sessions["MNQ"];
    assert!(w.start > w.end);
    assert_eq!(w.days, vec![jiff::civil::Weekday::Sunday]);
    // Bad, repeated and missing days; missing keys.
    let t = rule(
        "  session_block_outside:\n    sessions:\n      default: { start: \"08:00\", end: \"09:00\", days: [mon, mon, xyz] }\n",
    );
    assert_eq!(
        where_(&t),
        vec![
            (
                4,
                "rules.session_block_outside.sessions.default.days[1]".to_string()
            ),
            (
                4,
                "rules.session_block_outside.sessions.default.days[2]".to_string()
            ),
        ]
    );
    let t = rule(
        "  session_block_outside:\n    sessions:\n      default: { start: \"08:00\", days: [] }\n",
    );
    let e = errs(&t);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(e[0].1.ends_with("default.days") && e[0].2.contains("at least one day"));
    assert!(e[1].1.ends_with("sessions.default") && e[1].2.contains("missing key end"));
}

#[test]
fn enum_strings() {
    one(
        &rule("  max_contracts: { action: flatten }\n"),
        "rules.max_contracts.action",
        "close_all | reduce_to_limit",
    );
    one(
        &rule("  max_contracts_per_instrument: { action: reduce }\n"),
        "rules.max_contracts_per_instrument.action",
        "reduce_to_limit | close_all",
    );
    one(
        &rule("  daily_realized_loss: { action: lock }\n"),
        "rules.daily_realized_loss.action",
        "close_all_and_lockout",
    );
    one(
        &rule("  daily_realized_loss: { lockout_until: tomorrow }\n"),
        "rules.daily_realized_loss.lockout_until",
        "daily_reset | permanent",
    );
    one(
        &rule("  daily_unrealized_loss: { scope: account }\n"),
        "rules.daily_unrealized_loss.scope",
        "per_position | total",
    );
    one(
        &rule("  max_unrealized_profit: { scope: 1 }\n"),
        "rules.max_unrealized_profit.scope",
        "found a number",
    );
}

#[test]
fn unknown_symbol_action_forms() {
    use model::config::UnknownSymbolAction::*;
    let get = |v: &str| {
        ok(&format!(
            "rules:\n  max_contracts_per_instrument: {{ unknown_symbol_action: {v} }}\n"
        ))
        .rules
        .max_contracts_per_instrument
        .unknown_symbol_action
    };
    assert_eq!(get("block"), Block);
    assert_eq!(get("allow_unlimited"), AllowUnlimited);
    assert_eq!(get("allow_with_limit:0"), AllowWithLimit(0));
    assert_eq!(get("allow_with_limit:3"), AllowWithLimit(3));
    for bad in [
        "allow_with_limit:x",
        "allow_with_limit:",
        "allow_with_limit:-1",
        "allow",
        "allow_with_limit:1.5",
    ] {
        one(
            &format!(
                "rules:\n  max_contracts_per_instrument: {{ unknown_symbol_action: \"{bad}\" }}\n"
            ),
            "rules.max_contracts_per_instrument.unknown_symbol_action",
            "allow_with_limit:N",
        );
    }
}

#[test]
fn warn_at_fractions() {
    let c = ok("rules:\n  daily_realized_loss: { warn_at: [0.9, 0.25] }\n");
    assert_eq!(
        c.rules
            .daily_realized_loss
            .warn_at
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>(),
        vec!["0.25", "0.9"]
    );
    for bad in ["0", "1", "1.0", "-0.5", "2"] {
        one(
            &format!("rules:\n  daily_realized_loss: {{ warn_at: [0.5, {bad}] }}\n"),
            "rules.daily_realized_loss.warn_at[1]",
            "strictly between 0 and 1",
        );
    }
    one(
        &rule("  daily_realized_loss: { warn_at: [0.5, 0.50] }\n"),
        "rules.daily_realized_loss.warn_at[1]",
        "listed twice",
    );
}

#[test]
fn tiers_duplicate_losses_and_sorting() {
    let t = rule(
        "  cooldown_after_loss:\n    tiers:\n      - { loss: 300, cooldown_seconds: 1 }\n      - { loss: 300.0, cooldown_seconds: 2 }\n",
    );
    assert_eq!(
        one(&t, "rules.cooldown_after_loss.tiers[1].loss", "same loss"),
        5
    );
    let c = ok(
        "rules:\n  cooldown_after_loss:\n    tiers:\n      - { loss: 300, cooldown_seconds: 3 }\n      - { loss: 100, cooldown_seconds: 1 }\n",
    );
    let got: Vec<u32> = c
        .rules
        .cooldown_after_loss
        .tiers
        .iter()
        .map(|t| t.cooldown_seconds)
        .collect();
    assert_eq!(got, vec![1, 3]);
    let t = rule("  cooldown_after_loss:\n    tiers:\n      - { loss: 100 }\n");
    assert_eq!(
        one(
            &t,
            "rules.cooldown_after_loss.tiers[0]",
            "missing key cooldown_seconds"
        ),
        4
    );
}

#[test]
fn holidays_in_the_rule_must_be_dates() {
    for bad in [
        "\"2026-13-01\"",
        "\"2026-02-30\"",
        "\"26-12-25\"",
        "\"2026/12/25\"",
        "20261225",
    ] {
        one(
            &format!("rules:\n  session_block_outside: {{ holidays: [\"2026-12-24\", {bad}] }}\n"),
            "rules.session_block_outside.holidays[1]",
            "YYYY-MM-DD",
        );
    }
}

#[test]
fn frequency_windows_and_cooldowns_must_pair() {
    let t = rule(
        "  trade_frequency_limit:\n    per_minute: 3\n    per_hour: 10\n    cooldown_seconds: { per_minute: 60 }\n",
    );
    assert_eq!(
        one(
            &t,
            "rules.trade_frequency_limit.per_hour",
            "no cooldown_seconds.per_hour"
        ),
        4
    );
    let t = rule(
        "  trade_frequency_limit:\n    per_minute: 3\n    cooldown_seconds:\n      per_minute: 60\n      per_session: 60\n",
    );
    assert_eq!(
        one(
            &t,
            "rules.trade_frequency_limit.cooldown_seconds.per_session",
            "not configured"
        ),
        6
    );
    // Enabled with no window at all, reported at the block.
    let t = rule("  trade_frequency_limit:\n    enabled: true\n");
    assert_eq!(
        one(&t, "rules.trade_frequency_limit", "at least one window"),
        2
    );
    // Disabled: no window is fine.
    assert!(
        ok(&rule("  trade_frequency_limit: { enabled: false }\n"))
            .rules
            .trade_frequency_limit
            .windows
            .is_empty()
    );
}

#[test]
fn enabled_blocks_need_their_limits() {
    let cases = [
        ("max_contracts", "limit"),
        ("max_contracts_per_instrument", "limits"),
        ("daily_realized_loss", "loss_limit"),
        ("daily_unrealized_loss", "loss_limit"),
        ("max_unrealized_profit", "profit_target"),
        ("cooldown_after_loss", "tiers"),
        ("no_stop_loss_grace", "grace_period_seconds"),
        ("session_block_outside", "sessions"),
        ("symbol_blocks", "blocked_symbols"),
    ];
    for (block, key) in cases {
        let t = format!("global: {{}}\nrules:\n  {block}:\n    enabled: true\n");
        assert_eq!(
            one(
                &t,
                &format!("rules.{block}.{key}"),
                "required when the block is enabled"
            ),
            3,
            "{block}"
        );
        // The same block disabled needs nothing.
        ok(&format!("rules:\n  {block}:\n    enabled: false\n"));
    }
    // Present but empty collections are refused when enabled, at the collection's line.
    let t = rule("  symbol_blocks:\n    enabled: true\n    blocked_symbols: []\n");
    assert_eq!(
        one(
            &t,
            "rules.symbol_blocks.blocked_symbols",
            "must not be empty"
        ),
        4
    );
    let t = rule("  session_block_outside:\n    enabled: true\n    sessions: {}\n");
    assert_eq!(
        one(
            &t,
            "rules.session_block_outside.sessions",
            "must not be empty"
        ),
        4
    );
    // A bad limit is reported once, not also as missing.
    let t = rule("  max_contracts:\n    enabled: true\n    limit: many\n");
    assert_eq!(one(&t, "rules.max_contracts.limit", "whole number"), 4);
}

#[test]
fn disabled_blocks_are_still_validated() {
    let t = rule("  max_contracts:\n    enabled: false\n    limit: -1\n    action: nope\n");
    assert_eq!(
        where_(&t),
        vec![
            (4, "rules.max_contracts.limit".to_string()),
            (5, "rules.max_contracts.action".to_string())
        ]
    );
}

#[test]
fn ticker_and_product_code_in_one_map() {
    for (a, b) in [
        ("ES", "EP"),
        ("nq", "ENQ"),
        ("QM", "NQM"),
        ("6B", "BP6"),
        ("GLE", "LE"),
        ("MET", "GMET"),
    ] {
        let t = format!(
            "rules:\n  max_contracts_per_instrument:\n    limits:\n      {a}: 1\n      {b}: 2\n"
        );
        let path = format!(
            "rules.max_contracts_per_instrument.limits.{}",
            support_key(b)
        );
        assert_eq!(one(&t, &path, "same product"), 5, "{a}/{b}");
    }
    let t = rule(
        "  session_block_outside:\n    sessions:\n      ES: { start: \"08:00\", end: \"09:00\", days: [mon] }\n      EP: { start: \"08:00\", end: \"09:00\", days: [mon] }\n",
    );
    one(
        &t,
        "rules.session_block_outside.sessions.EP",
        "same product",
    );
    // MBT is its own product code; ES with MES is not a clash.
    let c = ok("rules:\n  max_contracts_per_instrument: { limits: { MBT: 1, ES: 1, MES: 4 } }\n");
    assert_eq!(c.rules.max_contracts_per_instrument.limits.len(), 3);
    // The same symbol twice (differing only in case) is an error too.
    one(
        &rule("  max_contracts_per_instrument: { limits: { mnq: 1, MNQ: 2 } }\n"),
        "rules.max_contracts_per_instrument.limits.MNQ",
        "twice",
    );
}

fn support_key(k: &str) -> String {
    if k.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        format!("\"{k}\"")
    } else {
        k.to_string()
    }
}

#[test]
fn account_override_keys_must_be_numeric_ids() {
    for bad in ["main", "12a", "-5", "0", "1.5"] {
        let t = format!("accounts:\n  \"{bad}\":\n    max_contracts: {{ limit: 1 }}\n");
        assert_eq!(
            one(&t, &format!("accounts.\"{bad}\""), "numeric account id"),
            2,
            "{bad}"
        );
    }
    // Quoted and unquoted ids are the same account.
    let t = "accounts:\n  \"42\":\n    max_contracts: { limit: 1 }\n  42:\n    max_contracts: { limit: 2 }\n";
    assert_eq!(one(t, "accounts.\"42\"", "two override blocks"), 4);
}

#[test]
fn lockout_needs_total_scope_and_breakeven_offset_below_trigger() {
    let t = rule("  daily_unrealized_loss:\n    scope: per_position\n    lockout: true\n");
    assert_eq!(
        one(&t, "rules.daily_unrealized_loss.lockout", "total only"),
        4
    );
    ok(&rule(
        "  daily_unrealized_loss:\n    scope: total\n    lockout: true\n",
    ));
    let t =
        rule("  trade_management:\n    auto_breakeven: { trigger_ticks: 4, offset_ticks: 4 }\n");
    one(
        &t,
        "rules.trade_management.auto_breakeven.offset_ticks",
        "less than trigger_ticks",
    );
}

#[test]
fn syntax_errors_and_empty_files() {
    let e = errs("rules:\n  max_contracts: { limit: 3\n");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].1, "(yaml)");
    let e = errs("rules:\n  max_contracts: {}\n  max_contracts: {}\n");
    assert_eq!((e[0].0, e[0].1.as_str()), (3, "(yaml)"));
    assert!(e[0].2.contains("duplicated key"));
    let e = errs("");
    assert_eq!((e[0].0, e[0].1.as_str()), (1, "(file)"));
    assert!(e[0].2.contains("empty"));
}
