//! `holidays.yaml`: `holidays: ["2026-12-25", ...]`, dates in the session time zone (CONFIG.md §1). Validated
//! like risk_config.yaml (unknown keys, wrong types, bad dates), with its own file name in the errors. The dates
//! are merged into every `session_block_outside.holidays`.

use std::path::Path;

use jiff::civil::Date;

use crate::error::ConfigError;
use crate::rules::date_list;
use crate::tree::{At, Ctx, entries, load, unknown_key};

/// The sorted, deduplicated dates of a holidays.yaml, or every problem in it. An empty file means no holidays.
pub(crate) fn parse(text: &str, file: &Path) -> Result<Vec<Date>, Vec<ConfigError>> {
    let mut ctx = Ctx::new(file);
    let dates = read(&mut ctx, text);
    if ctx.errors.is_empty() {
        Ok(dates)
    } else {
        Err(ctx.into_sorted())
    }
}

fn read(ctx: &mut Ctx, text: &str) -> Vec<Date> {
    let Some(doc) = load(ctx, text) else {
        return Vec::new();
    };
    let Some(doc) = doc else {
        return Vec::new();
    };
    let root = At {
        path: String::new(),
        line: 1,
        node: &doc,
    };
    let Some(es) = entries(ctx, &root) else {
        return Vec::new();
    };
    let mut dates = Vec::new();
    for e in &es {
        match e.key.as_str() {
            "holidays" => dates = date_list(ctx, &e.value).unwrap_or_default(),
            _ => unknown_key(ctx, e, &["holidays"]),
        }
    }
    dates
}
