//! One file with many distinct mistakes: every one is reported in a single run, with its key path and line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

const BROKEN: &str = r#"global:
  dry_run: maybe
  reset_time: "25:00"
  timezone: "America/Chicagoo"
  colour: blue
rules:
  max_contracts:
    enabled: true
    limit: -5
    action: close_everything
  max_contracts_per_instrument:
    enabled: true
    limits: { ES: 1, EP: 2, MNQ: x }
    unknown_symbol_action: allow_with_limit:x
  daily_realized_loss:
    enabled: true
    loss_limit: "500"
    lockout_until: forever
    warn_at: [0.5, 1.5]
  daily_unrealized_loss:
    enabled: true
  trade_frequency_limit:
    enabled: true
    per_minute: 3
    cooldown_seconds: { per_hour: 60 }
  cooldown_after_loss:
    enabled: true
    tiers:
      - { loss: 100, cooldown_seconds: 300 }
      - { loss: 100.00, cooldown_seconds: 900 }
  session_block_outside:
    enabled: true
    sessions:
      default: { start: "09:00", end: "09:00", days: [mon, funday] }
  symbol_blocks: [RTY]
  made_up_rule: { enabled: true }
accounts:
  "abc":
    max_contracts: { limit: 2 }
  "42":
    max_contracts: { limit: 0, typo: 1 }
"#;

#[test]
fn every_mistake_is_reported_once_with_path_and_line() {
    let got = support::where_(BROKEN);
    let want: Vec<(usize, &str)> = vec![
        (2, "global.dry_run"),
        (3, "global.reset_time"),
        (4, "global.timezone"),
        (5, "global.colour"),
        (9, "rules.max_contracts.limit"),
        (10, "rules.max_contracts.action"),
        (13, "rules.max_contracts_per_instrument.limits.EP"),
        (13, "rules.max_contracts_per_instrument.limits.MNQ"),
        (
            14,
            "rules.max_contracts_per_instrument.unknown_symbol_action",
        ),
        (17, "rules.daily_realized_loss.loss_limit"),
        (18, "rules.daily_realized_loss.lockout_until"),
        (19, "rules.daily_realized_loss.warn_at[1]"),
        (20, "rules.daily_unrealized_loss.loss_limit"),
        (24, "rules.trade_frequency_limit.per_minute"),
        (25, "rules.trade_frequency_limit.cooldown_seconds.per_hour"),
        (30, "rules.cooldown_after_loss.tiers[1].loss"),
        (34, "rules.session_block_outside.sessions.default.days[1]"),
        (34, "rules.session_block_outside.sessions.default.end"),
        (35, "rules.symbol_blocks"),
        (36, "rules.made_up_rule"),
        (38, "accounts.\"abc\""),
        (41, "accounts.\"42\".max_contracts.limit"),
        (41, "accounts.\"42\".max_contracts.typo"),
    ];
    let want: Vec<(usize, String)> = want.into_iter().map(|(l, p)| (l, p.to_string())).collect();
    assert_eq!(
        got,
        want,
        "\n{}",
        support::errs(BROKEN)
            .iter()
            .map(|e| format!("{e:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn error_display_is_file_line_path_message() {
    let errors =
        config::parse_risk_config(BROKEN, Path::new("conf/risk_config.yaml"), None).unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        "conf/risk_config.yaml:2: global.dry_run: expected true or false, found a string"
    );
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "errors are sorted by line");
}
