//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use config::{ConfigError, parse_risk_config};
use model::config::RiskConfig;

pub const FILE: &str = "risk_config.yaml";

/// Parse text that must be valid; panics with every error otherwise.
pub fn ok(text: &str) -> RiskConfig {
    match parse_risk_config(text, Path::new(FILE), None) {
        Ok(c) => c,
        Err(errors) => panic!("unexpected errors:\n{}", render(&errors)),
    }
}

/// Parse text that must be invalid; returns (line, key path, message) of every error.
pub fn errs(text: &str) -> Vec<(usize, String, String)> {
    match parse_risk_config(text, Path::new(FILE), None) {
        Ok(_) => panic!("expected errors, the config validated:\n{text}"),
        Err(errors) => {
            for e in &errors {
                assert_eq!(e.file, Path::new(FILE));
            }
            errors
                .into_iter()
                .map(|e| (e.line, e.key_path, e.message))
                .collect()
        }
    }
}

/// (line, key path) of every error.
pub fn where_(text: &str) -> Vec<(usize, String)> {
    errs(text).into_iter().map(|(l, p, _)| (l, p)).collect()
}

/// Exactly one error, at this key path, whose message contains `needle`; returns its line.
pub fn one(text: &str, path: &str, needle: &str) -> usize {
    let e = errs(text);
    assert_eq!(e.len(), 1, "expected one error, got {e:#?}");
    assert_eq!(e[0].1, path, "{e:#?}");
    assert!(
        e[0].2.contains(needle),
        "message {:?} lacks {needle:?}",
        e[0].2
    );
    e[0].0
}

pub fn render(errors: &[ConfigError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}
