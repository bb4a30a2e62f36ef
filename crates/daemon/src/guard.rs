//! Tighten-only while trading (issue 6): which config changes loosen protection, and when the cooling-off
//! delay applies. Pure functions of two configs and an instant; the admin actions in `runner::admin` use them.
//!
//! **What loosens.** The two configs are compared as each watched account's *effective* rules (global
//! settings and per-account overrides applied, [`crate::view::account_rules`]), leaf by leaf. A change is
//! tightening only when riskguard can tell that it protects more: a lower loss limit or contract cap, fewer
//! trades per window, a longer cooldown, a rule or option switched on, a stricter action, more blocked symbols
//! or holidays. **Every other change counts as loosening**, including ones whose direction is a matter of
//! opinion (session hours, time zone, the reset time, a new tier): a needless wait costs an admin 15 minutes,
//! a wrong guess could cost the trader the account.
//!
//! **When it applies.** During a trading day: from the daily reset until the next one, on days named Monday to
//! Friday (CONFIG.md §3 names a trading day by the date it ends; Friday 17:00 → Sunday 17:00 is the weekend)
//! that are not configured holidays. Outside that, every change applies at once.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::civil::Weekday;
use model::config::RiskConfig;
use model::ids::AccountId;
use serde_json::Value;

use crate::view;

/// Whether loosening must be confirmed and wait at `now`: inside a trading day of `config`, or always when
/// `global.tighten_only: always`.
pub fn loosening_waits(config: &RiskConfig, now: Timestamp) -> bool {
    let g = &config.global;
    if g.tighten_only == model::config::TightenOnly::Always {
        return true;
    }
    let start = engine::trading_day_start(&g.timezone, g.reset_time, now);
    let day = engine::trading_day_label(&g.timezone, g.reset_time, start);
    let weekend = matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday);
    let holiday = config.rules.session_block_outside.holidays.contains(&day);
    !weekend && !holiday
}

/// Every loosening from `old` to `new` for the watched accounts, for people:
/// `account 7001: daily_realized_loss.loss_limit 500.00 -> 800.00`. Empty: the change only tightens (or
/// changes nothing that protects).
pub fn loosenings(old: &RiskConfig, new: &RiskConfig, accounts: &[AccountId]) -> Vec<String> {
    let before = view::account_rules(old, accounts);
    let after = view::account_rules(new, accounts);
    let mut out: Vec<String> = Vec::new();
    for (a, b) in before.iter().zip(&after) {
        let mut found = Vec::new();
        walk("", &a.rules, &b.rules, &mut found);
        for f in found {
            let line = if accounts.len() > 1 {
                format!("account {}: {f}", a.account)
            } else {
                f
            };
            if !out.contains(&line) {
                out.push(line);
            }
        }
    }
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "(none)".to_owned(),
        other => other.to_string(),
    }
}

fn walk(path: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = join(path, k);
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => walk(&p, x, y, out),
                    (Some(x), None) => out.push(format!("{p} {} removed", show(x))),
                    (None, Some(y)) => out.push(format!("{p} {} added", show(y))),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if is_protective_set(path) => {
            let before: BTreeSet<String> = a.iter().map(show).collect();
            let after: BTreeSet<String> = b.iter().map(show).collect();
            let removed: Vec<&String> = before.difference(&after).collect();
            if !removed.is_empty() {
                let names: Vec<&str> = removed.iter().map(|s| s.as_str()).collect();
                out.push(format!("{path}: {} removed", names.join(", ")));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                walk(&format!("{path}[{i}]"), x, y, out);
            }
        }
        _ => {
            if !tightens(path, old, new) {
                out.push(format!("{path} {} -> {}", show(old), show(new)));
            }
        }
    }
}

/// Lists where every member adds protection: removing one loosens, adding one tightens.
fn is_protective_set(path: &str) -> bool {
    path.ends_with("blocked_symbols") || path.ends_with("holidays")
}

fn last_key(path: &str) -> &str {
    let tail = path.rsplit('.').next().unwrap_or(path);
    tail.split('[').next().unwrap_or(tail)
}

fn number(v: &Value) -> Option<rust_decimal::Decimal> {
    match v {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// The strictness of an action or option value: higher protects more.
fn rank(value: &str) -> Option<u32> {
    Some(match value {
        "alert" => 0,
        "reduce_to_limit" => 1,
        "close_all" => 2,
        "close_all_and_lockout" => 3,
        "daily_reset" => 1,
        "permanent" => 2,
        "allow_unlimited" => 0,
        "block" => 9,
        "trading_day" => 0,
        "always" => 1,
        _ => return None,
    })
}

/// Whether changing `path` from `old` to `new` only adds protection.
fn tightens(path: &str, old: &Value, new: &Value) -> bool {
    let key = last_key(path);
    match (old, new) {
        (Value::Bool(a), Value::Bool(b)) => match key {
            // Switching these off protects more.
            "dry_run" => *a && !*b,
            // Every other switch protects when it is on (a rule, a lockout, flattening, fees counted, ...).
            _ => !*a && *b,
        },
        _ => {
            if let (Some(a), Some(b)) = (number(old), number(new)) {
                return match key {
                    // Longer waits protect more.
                    "cooldown_seconds" | "cooling_off_minutes" => b > a,
                    // Lower limits, targets, grace and trigger distances protect more.
                    "limit"
                    | "loss_limit"
                    | "profit_target"
                    | "grace_period_seconds"
                    | "loss"
                    | "trigger_ticks"
                    | "activation_ticks"
                    | "distance_ticks" => b < a,
                    _ if path.contains(".limits.") => b < a,
                    _ => false,
                };
            }
            if let (Value::String(a), Value::String(b)) = (old, new) {
                if let (Some(x), Some(y)) = (allow_with_limit(a), allow_with_limit(b)) {
                    return y < x;
                }
                let level = |s: &str| allow_with_limit(s).map_or_else(|| rank(s), |_| Some(5));
                if let (Some(x), Some(y)) = (level(a), level(b)) {
                    return y > x;
                }
            }
            false
        }
    }
}

fn allow_with_limit(s: &str) -> Option<u64> {
    s.strip_prefix("allow_with_limit:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::path::Path;

    const BASE: &str = "
global: { timezone: America/Chicago, reset_time: \"17:00\" }
rules:
  max_contracts: { enabled: true, limit: 5, action: reduce_to_limit }
  daily_realized_loss: { enabled: true, loss_limit: 500, action: close_all_and_lockout }
  trade_frequency_limit:
    enabled: true
    per_minute: 3
    cooldown_seconds: { per_minute: 60 }
  symbol_blocks: { enabled: true, blocked_symbols: [RTY, MBT] }
  max_contracts_per_instrument:
    enabled: true
    limits: { MNQ: 2 }
    unknown_symbol_action: allow_with_limit:3
";

    fn cfg(text: &str) -> RiskConfig {
        config::parse_risk_config(text, Path::new("t.yaml"), None).unwrap()
    }

    /// The loosenings of replacing `from` with `to` in BASE.
    fn change(from: &str, to: &str) -> Vec<String> {
        assert!(BASE.contains(from), "{from}");
        loosenings(&cfg(BASE), &cfg(&BASE.replace(from, to)), &[AccountId(7)])
    }

    #[test]
    fn tightening_changes_are_not_loosenings() {
        for (from, to) in [
            ("limit: 5", "limit: 3"),
            ("loss_limit: 500", "loss_limit: 400"),
            ("per_minute: 3\n", "per_minute: 2\n"),
            ("per_minute: 60", "per_minute: 120"),
            ("action: reduce_to_limit", "action: close_all"),
            ("[RTY, MBT]", "[RTY, MBT, ES]"),
            ("MNQ: 2", "MNQ: 1"),
            ("allow_with_limit:3", "allow_with_limit:1"),
            ("allow_with_limit:3", "block"),
            ("global: {", "global: { strict_mode: true,"),
            ("global: {", "global: { tighten_only: always,"),
        ] {
            assert_eq!(change(from, to), Vec::<String>::new(), "{from} -> {to}");
        }
    }

    #[test]
    fn loosening_changes_are_named() {
        assert_eq!(
            change("loss_limit: 500", "loss_limit: 800"),
            ["daily_realized_loss.loss_limit 500 -> 800"]
        );
        for (from, to, expect) in [
            ("limit: 5", "limit: 6", "max_contracts.limit 5 -> 6"),
            (
                "max_contracts: { enabled: true",
                "max_contracts: { enabled: false",
                "max_contracts.enabled true -> false",
            ),
            (
                "per_minute: 60",
                "per_minute: 30",
                "cooldown_seconds 60 -> 30",
            ),
            ("[RTY, MBT]", "[RTY]", "blocked_symbols: MBT removed"),
            (
                "action: close_all_and_lockout",
                "action: alert",
                "daily_realized_loss.action",
            ),
            ("MNQ: 2", "MNQ: 3", "limits.MNQ 2 -> 3"),
            (
                "allow_with_limit:3",
                "allow_unlimited",
                "unknown_symbol_action",
            ),
            (
                "reset_time: \"17:00\"",
                "reset_time: \"16:00\"",
                "global.reset_time",
            ),
            (
                "global: {",
                "global: { dry_run: true,",
                "global.dry_run false -> true",
            ),
            (
                "global: {",
                "global: { cooling_off_minutes: 5,",
                "global.cooling_off_minutes 15 -> 5",
            ),
        ] {
            let found = change(from, to);
            assert!(
                found.iter().any(|f| f.contains(expect)),
                "{from} -> {to}: {found:?}"
            );
        }
    }

    #[test]
    fn the_trading_day_is_monday_to_friday_except_holidays() {
        let c = cfg(&BASE.replace(
            "symbol_blocks:",
            "session_block_outside: { enabled: false, holidays: [\"2026-12-25\"] }\n  symbol_blocks:",
        ));
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        // Wednesday 2026-12-02 10:00 CT.
        assert!(loosening_waits(&c, at("2026-12-02T16:00:00Z")));
        // Friday 18:00 CT belongs to Saturday's day: the weekend.
        assert!(!loosening_waits(&c, at("2026-12-05T00:00:00Z")));
        // Sunday 17:30 CT belongs to Monday.
        assert!(loosening_waits(&c, at("2026-12-06T23:30:00Z")));
        // Christmas Day (Friday) is a configured holiday.
        assert!(!loosening_waits(&c, at("2026-12-25T16:00:00Z")));
        // `tighten_only: always` guards the weekend too.
        let always = cfg(&BASE.replace("global: {", "global: { tighten_only: always,"));
        assert!(loosening_waits(&always, at("2026-12-05T00:00:00Z")));
    }
}
