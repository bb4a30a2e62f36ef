//! check_path and load_risk_config on real files: a single file, a directory, and I/O errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use config::{check_path, load_risk_config};

/// A fresh, empty directory under the target tmp dir, unique per test.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("config-check-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

const GOOD: &str = "rules:\n  max_contracts: { enabled: true, limit: 3 }\n";

fn names(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_directory_checks_risk_config_with_its_holidays_and_accounts() {
    let d = scratch("dir-ok");
    fs::write(d.join("risk_config.yaml"), GOOD).unwrap();
    fs::write(d.join("holidays.yaml"), "holidays: [\"2026-12-25\"]\n").unwrap();
    fs::write(
        d.join("accounts.yaml"),
        "logins: [{ name: m, user_name_env: U, api_key_env: K }]\naccounts: [{ id: 1, login: m }]\n",
    )
    .unwrap();
    fs::write(d.join("notes.txt"), "not yaml").unwrap();
    assert_eq!(
        names(&check_path(&d).unwrap()),
        vec!["risk_config.yaml", "holidays.yaml", "accounts.yaml"]
    );
    // A broken accounts.yaml beside them is reported too.
    fs::write(d.join("accounts.yaml"), "whatever: 1\n").unwrap();
    let errors = check_path(&d).unwrap_err();
    assert!(
        errors.iter().any(|e| e.key_path == "whatever"),
        "{errors:?}"
    );
}

#[test]
fn a_directory_reports_errors_of_every_file_and_stray_yaml() {
    let d = scratch("dir-bad");
    fs::write(
        d.join("risk_config.yaml"),
        "rules:\n  max_contracts: { limit: -1 }\n",
    )
    .unwrap();
    fs::write(d.join("holidays.yaml"), "holidays: [\"2026-13-01\"]\n").unwrap();
    fs::write(d.join("risk_confg.yaml"), GOOD).unwrap();
    let errors = check_path(&d).unwrap_err();
    let got: Vec<(String, usize, String)> = errors
        .iter()
        .map(|e| {
            (
                e.file.file_name().unwrap().to_string_lossy().into_owned(),
                e.line,
                e.key_path.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("risk_confg.yaml".into(), 0, "(file)".into()),
            (
                "risk_config.yaml".into(),
                2,
                "rules.max_contracts.limit".into()
            ),
            ("holidays.yaml".into(), 1, "holidays[0]".into()),
        ]
    );
    assert!(errors[0].message.contains("not a riskguard config file"));
}

#[test]
fn a_directory_with_only_holidays_checks_it_alone() {
    let d = scratch("dir-holidays");
    fs::write(d.join("holidays.yml"), "holidays: [\"2026-12-25\"]\n").unwrap();
    assert_eq!(names(&check_path(&d).unwrap()), vec!["holidays.yml"]);
    let d = scratch("dir-empty");
    let errors = check_path(&d).unwrap_err();
    assert!(errors[0].message.contains("no riskguard config file"));
}

#[test]
fn single_files() {
    let d = scratch("files");
    let risk = d.join("my_risk.yaml");
    fs::write(&risk, GOOD).unwrap();
    assert_eq!(check_path(&risk).unwrap(), vec![risk.clone()]);
    let h = d.join("holidays.yaml");
    fs::write(&h, "holidays: [bad]\n").unwrap();
    let errors = check_path(&h).unwrap_err();
    assert_eq!(
        (errors[0].line, errors[0].key_path.as_str()),
        (1, "holidays[0]")
    );
    // The risk file now fails too, because the holidays.yaml beside it is bad.
    let errors = check_path(&risk).unwrap_err();
    assert_eq!(errors[0].file, h);
    let acc = d.join("accounts.yaml");
    fs::write(&acc, "logins: []\n").unwrap();
    // `logins: []` has no login to refer to, and no accounts: both named.
    let errors = check_path(&acc).unwrap_err();
    assert!(
        errors.iter().any(|e| e.key_path == "accounts"),
        "{errors:?}"
    );
}

#[test]
fn io_errors_are_line_zero() {
    let missing = Path::new("/nonexistent/riskguard/risk_config.yaml");
    let errors = load_risk_config(missing).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 0);
    assert_eq!(errors[0].file, missing);
    assert!(errors[0].message.contains("cannot read"));
    assert!(
        check_path(missing).unwrap_err()[0]
            .message
            .contains("cannot read")
    );
}

#[test]
fn load_risk_config_merges_the_holidays_beside_it() {
    let d = scratch("load");
    fs::write(d.join("risk_config.yaml"), GOOD).unwrap();
    fs::write(
        d.join("holidays.yaml"),
        "holidays: [\"2026-12-25\", \"2026-12-25\"]\n",
    )
    .unwrap();
    let c = load_risk_config(&d.join("risk_config.yaml")).unwrap();
    assert_eq!(
        c.rules.session_block_outside.holidays,
        vec![jiff::civil::date(2026, 12, 25)]
    );
    assert_eq!(c.rules.max_contracts.limit, 3);
}
