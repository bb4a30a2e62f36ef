//! holidays.yaml: validated with its own file name, merged (sorted, without repeats) into every account's rules.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use config::parse_risk_config;
use jiff::civil::date;
use model::ids::AccountId;

const RISK: &str = "rules:\n  session_block_outside:\n    holidays: [\"2026-12-25\", \"2026-07-03\"]\naccounts:\n  \"5\":\n    session_block_outside: { holidays: [\"2026-11-26\"] }\n  \"6\":\n    max_contracts: { limit: 1 }\n";

#[test]
fn holidays_file_is_merged_into_base_and_every_account() {
    let h = "holidays:\n  - \"2026-12-25\"\n  - \"2026-01-01\"\n";
    let c = parse_risk_config(
        RISK,
        Path::new("risk_config.yaml"),
        Some((h, Path::new("holidays.yaml"))),
    )
    .unwrap();
    assert_eq!(
        c.rules.session_block_outside.holidays,
        vec![date(2026, 1, 1), date(2026, 7, 3), date(2026, 12, 25)]
    );
    // Account 5 replaces the rule's own list, and still gets holidays.yaml.
    assert_eq!(
        c.rules_for(AccountId(5)).session_block_outside.holidays,
        vec![date(2026, 1, 1), date(2026, 11, 26), date(2026, 12, 25)]
    );
    assert_eq!(
        c.rules_for(AccountId(6)).session_block_outside.holidays,
        c.rules.session_block_outside.holidays
    );
}

#[test]
fn holidays_file_errors_name_that_file_and_come_after_risk_errors() {
    let h = "holidays:\n  - \"2026-12-25\"\n  - \"2026-02-30\"\n  - 20260101\nnotes: x\n";
    let risk = "rules:\n  max_contracts: { limit: 0 }\n";
    let errors = parse_risk_config(
        risk,
        Path::new("risk_config.yaml"),
        Some((h, Path::new("conf/holidays.yaml"))),
    )
    .unwrap_err();
    let got: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(got.len(), 4, "{got:#?}");
    assert!(
        got[0].starts_with("risk_config.yaml:2: rules.max_contracts.limit:"),
        "{got:#?}"
    );
    assert!(
        got[1].starts_with("conf/holidays.yaml:3: holidays[1]: expected a date"),
        "{got:#?}"
    );
    assert!(
        got[2].starts_with("conf/holidays.yaml:4: holidays[2]: expected a date"),
        "{got:#?}"
    );
    assert!(
        got[3].starts_with("conf/holidays.yaml:5: notes: unknown key"),
        "{got:#?}"
    );
}

#[test]
fn a_valid_risk_config_fails_when_holidays_file_is_bad() {
    let errors = parse_risk_config(
        "rules: {}\n",
        Path::new("r.yaml"),
        Some(("holidays: \"2026-12-25\"\n", Path::new("h.yaml"))),
    )
    .unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].file, Path::new("h.yaml"));
    assert_eq!(errors[0].key_path, "holidays");
    assert!(errors[0].message.contains("expected a list"));
}

#[test]
fn an_empty_holidays_file_means_no_holidays() {
    let c = parse_risk_config(
        "rules: {}\n",
        Path::new("r.yaml"),
        Some(("# none\n", Path::new("h.yaml"))),
    )
    .unwrap();
    assert!(c.rules.session_block_outside.holidays.is_empty());
}
