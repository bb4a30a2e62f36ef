//! Loading and validating riskguard's configuration files: `risk_config.yaml` and `holidays.yaml`
//! (CONFIG.md §1, §2, §6; DESIGN.md principle 7, "raw → validated").
//!
//! The YAML is parsed into a tree that keeps line positions ([`tree`]), walked while collecting *every*
//! problem (unknown keys, wrong types, impossible values, missing limits of enabled rules), and only when
//! there is none is the typed [`model::config::RiskConfig`] built. Errors carry the file, a dotted key path
//! and the 1-based line, and are sorted by line (risk_config.yaml first, then holidays.yaml).
//!
//! Module map: [`error`] (the error type), `tree` (YAML loading and typed readers), `symbols` (symbol keys,
//! ticker ↔ product code table), `rules` (the twelve rule blocks and per-account overlay), `risk` (the top
//! level), `holidays` (holidays.yaml).

mod accounts;
pub mod edit;
pub mod error;
mod holidays;
mod risk;
mod rules;
mod symbols;
mod tree;

use std::path::{Path, PathBuf};

pub use accounts::valid_credential_name;
pub use error::ConfigError;
use model::config::{AccountsConfig, RiskConfig};

/// The file name of the holidays file, looked for beside risk_config.yaml (`holidays.yml` is accepted too).
pub const HOLIDAYS_FILE: &str = "holidays.yaml";

/// Parse and validate risk config text. `file` is only used in error messages. `holidays` = optional
/// (text, file) of holidays.yaml, whose dates are merged into `session_block_outside.holidays` of the base rules
/// and of every account.
pub fn parse_risk_config(
    text: &str,
    file: &Path,
    holidays: Option<(&str, &Path)>,
) -> Result<RiskConfig, Vec<ConfigError>> {
    risk::parse(text, file, holidays)
}

/// Parse and validate accounts.yaml text (CONFIG.md §5).
pub fn parse_accounts_config(text: &str, file: &Path) -> Result<AccountsConfig, Vec<ConfigError>> {
    accounts::parse(text, file)
}

/// Read and validate an accounts.yaml.
pub fn load_accounts_config(path: &Path) -> Result<AccountsConfig, Vec<ConfigError>> {
    let text = read(path).map_err(|e| vec![e])?;
    parse_accounts_config(&text, path)
}

/// Read a risk_config.yaml and the holidays.yaml beside it (if present). I/O errors become a [`ConfigError`]
/// with line 0.
pub fn load_risk_config(path: &Path) -> Result<RiskConfig, Vec<ConfigError>> {
    load_risk_config_with_text(path).map(|(config, _)| config)
}

/// [`load_risk_config`], with the file's text it was built from (what the daemon compares the file with
/// before it applies a waiting change).
pub fn load_risk_config_with_text(path: &Path) -> Result<(RiskConfig, String), Vec<ConfigError>> {
    let text = read(path).map_err(|e| vec![e])?;
    parse_risk_config_for(&text, path).map(|config| (config, text))
}

/// Validate `text` as the new content of the risk_config.yaml at `path`, with the holidays.yaml beside it (if
/// present): what the file would give if it held `text`.
pub fn parse_risk_config_for(text: &str, path: &Path) -> Result<RiskConfig, Vec<ConfigError>> {
    match holidays_beside(path) {
        Some(h_path) => {
            let h_text = read(&h_path).map_err(|e| vec![e])?;
            parse_risk_config(text, path, Some((&h_text, &h_path)))
        }
        None => parse_risk_config(text, path, None),
    }
}

/// `check-config`: validate a file or every config file of a directory. Returns the files checked.
///
/// * A file named `holidays.yaml`/`.yml` is checked as a holidays file. A file named `accounts.yaml`/`.yml` is
///   refused (this crate does not validate accounts.yaml yet, and saying "ok" would be a lie). Any other file is
///   checked as a risk config, together with the holidays.yaml beside it, if there is one.
/// * A directory: `risk_config.yaml` (with the holidays.yaml beside it), or `holidays.yaml` alone when there
///   is no risk config; `accounts.yaml` is skipped (not yet validated, not listed in the result). Any other
///   `*.yaml`/`*.yml` file is an error ("not a riskguard config file"): a misspelt `risk_confg.yaml` must not
///   pass silently. A directory with no config file at all is an error.
pub fn check_path(path: &Path) -> Result<Vec<PathBuf>, Vec<ConfigError>> {
    if path.is_dir() {
        return check_dir(path);
    }
    match kind_of(path) {
        Some(Kind::Holidays) => {
            check_holidays(path)?;
            Ok(vec![path.to_path_buf()])
        }
        Some(Kind::Accounts) => {
            load_accounts_config(path)?;
            Ok(vec![path.to_path_buf()])
        }
        _ => check_risk(path),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Risk,
    Holidays,
    Accounts,
}

fn kind_of(path: &Path) -> Option<Kind> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let (stem, ext) = name.rsplit_once('.')?;
    if ext != "yaml" && ext != "yml" {
        return None;
    }
    match stem {
        "risk_config" => Some(Kind::Risk),
        "holidays" => Some(Kind::Holidays),
        "accounts" => Some(Kind::Accounts),
        _ => None,
    }
}

fn is_yaml(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

fn check_risk(path: &Path) -> Result<Vec<PathBuf>, Vec<ConfigError>> {
    load_risk_config(path)?;
    let mut checked = vec![path.to_path_buf()];
    checked.extend(holidays_beside(path));
    Ok(checked)
}

fn check_dir(dir: &Path) -> Result<Vec<PathBuf>, Vec<ConfigError>> {
    let listing = std::fs::read_dir(dir)
        .map_err(|e| vec![whole_file(dir, format!("cannot read the directory: {e}"))])?;
    let mut files: Vec<PathBuf> = listing
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && is_yaml(p))
        .collect();
    files.sort();

    let mut errors = Vec::new();
    let mut risk = None;
    let mut holidays = Vec::new();
    let mut accounts_ok = Vec::new();
    for f in &files {
        match kind_of(f) {
            Some(Kind::Risk) if risk.is_none() => risk = Some(f.clone()),
            Some(Kind::Risk) => errors.push(whole_file(
                f,
                "both risk_config.yaml and risk_config.yml exist; keep one",
            )),
            Some(Kind::Holidays) => holidays.push(f.clone()),
            Some(Kind::Accounts) => match load_accounts_config(f) {
                Ok(_) => accounts_ok.push(f.clone()),
                Err(e) => errors.extend(e),
            },
            None => errors.push(whole_file(
                f,
                "not a riskguard config file (expected risk_config.yaml, holidays.yaml or accounts.yaml)",
            )),
        }
    }
    if holidays.len() > 1 {
        errors.push(whole_file(
            dir,
            "both holidays.yaml and holidays.yml exist; keep one",
        ));
    }
    let mut checked = Vec::new();
    match (&risk, holidays.first()) {
        (Some(r), _) => match check_risk(r) {
            Ok(files) => checked.extend(files),
            Err(e) => errors.extend(e),
        },
        (None, Some(h)) => match check_holidays(h) {
            Ok(()) => checked.push(h.clone()),
            Err(e) => errors.extend(e),
        },
        (None, None) if errors.is_empty() && accounts_ok.is_empty() => errors.push(whole_file(
            dir,
            "no riskguard config file (risk_config.yaml, holidays.yaml) in this directory",
        )),
        (None, None) => {}
    }
    checked.extend(accounts_ok);
    if errors.is_empty() {
        Ok(checked)
    } else {
        Err(errors)
    }
}

fn check_holidays(path: &Path) -> Result<(), Vec<ConfigError>> {
    let text = read(path).map_err(|e| vec![e])?;
    holidays::parse(&text, path).map(|_| ())
}

fn holidays_beside(path: &Path) -> Option<PathBuf> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    ["holidays.yaml", "holidays.yml"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map_err(|e| whole_file(path, format!("cannot read the file: {e}")))
}

fn whole_file(path: &Path, message: impl Into<String>) -> ConfigError {
    ConfigError {
        file: path.to_path_buf(),
        key_path: tree::FILE_PATH.to_string(),
        line: 0,
        message: message.into(),
    }
}
