//! `riskguard export-journal --day`: one trading day of the journal as replayable JSONL.
//!
//! Input lines are written as journaled (they are REPLAY.md lines already); decision lines get
//! `"kind":"decision"` so that `riskguard replay` recognises and skips them; outcome lines are kept.

use std::io::Write;

use jiff::civil::Date;
use model::config::Global;
use store::{Kind, Store};

/// The instants a trading day named by `date` (the date it ends on) covers: [previous reset, reset).
pub fn day_bounds(global: &Global, date: Date) -> (jiff::Timestamp, jiff::Timestamp) {
    let end = global
        .timezone
        .to_ambiguous_timestamp(date.to_datetime(global.reset_time))
        .compatible()
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let start = engine::trading_day_start(
        &global.timezone,
        global.reset_time,
        end - jiff::SignedDuration::from_secs(1),
    );
    (start, end)
}

/// Write the day; returns the number of lines.
pub fn day(
    store: &Store,
    global: &Global,
    date: Date,
    out: &mut impl Write,
) -> anyhow::Result<usize> {
    let (from, to) = day_bounds(global, date);
    let lines = store.lines_between(from, to)?;
    writeln!(
        out,
        "# riskguard journal, trading day {date}: {from} .. {to}"
    )?;
    for line in &lines {
        if line.kind == Kind::Decision {
            let mut v: serde_json::Value = serde_json::from_str(&line.line)?;
            if let Some(obj) = v.as_object_mut() {
                obj.insert("kind".into(), serde_json::Value::from("decision"));
            }
            writeln!(out, "{v}")?;
        } else {
            writeln!(out, "{}", line.line)?;
        }
    }
    Ok(lines.len())
}
