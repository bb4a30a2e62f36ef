//! The one error type of the crate: a problem found in a config file, located by file, key path and line.
//!
//! Validation never stops at the first problem: every check pushes a [`ConfigError`] and the caller gets the
//! whole list, sorted by file and line. Line 0 means "the file as a whole" (it could not be read, or the
//! problem has no single position).

use std::fmt;
use std::path::PathBuf;

/// One problem in a config file.
///
/// Displayed as `{file}:{line}: {key_path}: {message}`, e.g.
/// `risk_config.yaml:12: rules.daily_realized_loss.loss_limit: must be a positive dollar amount, found -500`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file the problem is in.
    pub file: PathBuf,
    /// Dotted key path, e.g. `rules.max_contracts.limit`, `accounts."123456".max_contracts.limit`, list items as
    /// `[2]` (0-based). Keys that are not plain identifiers are quoted. Empty for the document as a whole.
    pub key_path: String,
    /// 1-based line; 0 when the problem concerns the whole file (I/O errors, a missing file).
    pub line: usize,
    /// What is wrong, in lower case.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.key_path,
            self.message
        )
    }
}
