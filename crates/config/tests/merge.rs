//! Per-account overrides are merged key by key into the base rules; requirements are checked on the result.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::str::FromStr;

use model::config::*;
use model::ids::AccountId;
use rust_decimal::Decimal;
use support::{ok, one, where_};

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

const BASE: &str = r#"rules:
  daily_realized_loss:
    enabled: true
    loss_limit: 500.00
    action: close_all
    warn_at: [0.5]
  trade_frequency_limit:
    enabled: true
    per_minute: 3
    cooldown_seconds: { per_minute: 60 }
  trade_management:
    auto_breakeven: { trigger_ticks: 8 }
  max_contracts_per_instrument:
    enabled: true
    limits: { MNQ: 2, ES: 1 }
"#;

#[test]
fn override_only_loss_limit_inherits_the_rest() {
    let c = ok(&format!(
        "{BASE}accounts:\n  \"123456\":\n    daily_realized_loss: {{ loss_limit: 250.00 }}\n"
    ));
    let a = &c.accounts[&AccountId(123456)];
    assert_eq!(a.daily_realized_loss.loss_limit, dec("250.00"));
    assert!(a.daily_realized_loss.enabled);
    assert_eq!(a.daily_realized_loss.action, RealizedLossAction::CloseAll);
    assert_eq!(a.daily_realized_loss.warn_at, vec![dec("0.5")]);
    // Blocks the override does not touch are the base's.
    assert_eq!(
        a.trade_frequency_limit.windows,
        c.rules.trade_frequency_limit.windows
    );
    assert_eq!(
        a.max_contracts_per_instrument.limits,
        c.rules.max_contracts_per_instrument.limits
    );
    // The base is untouched; other accounts use it.
    assert_eq!(c.rules.daily_realized_loss.loss_limit, dec("500"));
    assert_eq!(
        c.rules_for(AccountId(1)).daily_realized_loss.loss_limit,
        dec("500")
    );
    assert_eq!(c.accounts.len(), 1);
}

#[test]
fn structural_sub_blocks_merge_key_by_key_and_collections_are_replaced() {
    let c = ok(&format!(
        "{BASE}accounts:\n  \"7\":\n    trade_frequency_limit:\n      per_hour: 10\n      cooldown_seconds: {{ per_hour: 900 }}\n    trade_management:\n      auto_breakeven: {{ offset_ticks: 2 }}\n    max_contracts_per_instrument:\n      limits: {{ MES: 5 }}\n"
    ));
    let a = c.rules_for(AccountId(7));
    assert_eq!(
        a.trade_frequency_limit.windows,
        vec![
            FrequencyLimit {
                window: FrequencyWindow::Minute,
                limit: 3,
                cooldown_seconds: 60
            },
            FrequencyLimit {
                window: FrequencyWindow::Hour,
                limit: 10,
                cooldown_seconds: 900
            },
        ]
    );
    assert_eq!(a.trade_management.auto_breakeven.trigger_ticks, 8);
    assert_eq!(a.trade_management.auto_breakeven.offset_ticks, 2);
    assert_eq!(
        a.max_contracts_per_instrument
            .limits
            .keys()
            .collect::<Vec<_>>(),
        vec!["MES"]
    );
}

#[test]
fn enabling_a_block_in_an_override_requires_its_limit_there() {
    let t = "rules:\n  max_contracts: { action: reduce_to_limit }\naccounts:\n  \"9\":\n    max_contracts: { enabled: true }\n";
    assert_eq!(
        one(
            t,
            "accounts.\"9\".max_contracts.limit",
            "required when the block is enabled"
        ),
        5
    );
    // The limit may come from the base and `enabled` from the override.
    let c = ok(
        "rules:\n  max_contracts: { limit: 4 }\naccounts:\n  \"9\":\n    max_contracts: { enabled: true }\n",
    );
    assert!(!c.rules.max_contracts.enabled);
    let a = c.rules_for(AccountId(9));
    assert!(a.max_contracts.enabled);
    assert_eq!(a.max_contracts.limit, 4);
}

#[test]
fn override_errors_are_reported_under_the_account_path() {
    let t = format!(
        "{BASE}accounts:\n  \"55\":\n    trade_frequency_limit: {{ per_session: 20 }}\n    daily_unrealized_loss: {{ scope: per_position, lockout: true }}\n"
    );
    assert_eq!(
        where_(&t),
        vec![
            (
                18,
                "accounts.\"55\".trade_frequency_limit.per_session".to_string()
            ),
            (
                19,
                "accounts.\"55\".daily_unrealized_loss.lockout".to_string()
            ),
        ]
    );
}

#[test]
fn an_account_block_can_disable_a_base_rule() {
    let c = ok(&format!(
        "{BASE}accounts:\n  \"3\":\n    daily_realized_loss: {{ enabled: false }}\n"
    ));
    assert!(!c.rules_for(AccountId(3)).daily_realized_loss.enabled);
    assert!(c.rules.daily_realized_loss.enabled);
}

#[test]
fn session_timezone_defaults_to_global_and_override_can_replace_it() {
    let t = "global: { timezone: \"Europe/London\" }\nrules:\n  session_block_outside: { enabled: false }\naccounts:\n  \"1\":\n    session_block_outside: { timezone: \"Asia/Tokyo\" }\n";
    let c = ok(t);
    assert_eq!(c.rules.session_block_outside.timezone_name, "Europe/London");
    assert_eq!(
        c.rules_for(AccountId(1))
            .session_block_outside
            .timezone_name,
        "Asia/Tokyo"
    );
    // Absent block: still the global zone.
    let c = ok("global: { timezone: \"Europe/London\" }\n");
    assert_eq!(c.rules.session_block_outside.timezone_name, "Europe/London");
}
