//! `riskguard replay`: the engine over a JSONL event script, with the clock driven by the events.
//!
//! [`format`] reads and writes the line format of REPLAY.md, which is also the daemon's journal format, so a
//! recorded live day replays as it is. [`run`] drives an engine with it and writes every decision as one
//! JSON line.

pub mod format;

use std::io::{BufRead, Write};
use std::sync::Arc;

use engine::Engine;
use model::config::RiskConfig;
use thiserror::Error;

use format::{Item, parse_line};

#[derive(Debug, Error)]
pub enum ReplayError {
    /// A line that is not valid input: the run stops there; decisions before it were written.
    #[error("{input} line {line}: {reason}")]
    BadLine {
        input: String,
        line: usize,
        reason: String,
    },
    #[error("{input}: {source}")]
    Io {
        input: String,
        #[source]
        source: std::io::Error,
    },
}

/// What a run went through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub lines: usize,
    pub events: usize,
    pub decisions: usize,
}

/// Replay `input` against `config`, writing one decision per line to `out`.
pub fn run<R: BufRead, W: Write>(
    config: &RiskConfig,
    input: R,
    input_name: &str,
    out: &mut W,
) -> Result<RunSummary, ReplayError> {
    let config = Arc::new(config.clone());
    let mut engine = Engine::new(config.clone());
    let mut summary = RunSummary::default();
    let mut decisions = Vec::new();
    let mut last_t = None;
    let io_err = |source| ReplayError::Io {
        input: input_name.to_string(),
        source,
    };
    for (index, line) in input.lines().enumerate() {
        let line_no = index + 1;
        let text = line.map_err(io_err)?;
        summary.lines = line_no;
        let bad = |reason: String| ReplayError::BadLine {
            input: input_name.to_string(),
            line: line_no,
            reason,
        };
        let Some(parsed) = parse_line(&text).map_err(bad)? else {
            continue;
        };
        // Decision and outcome lines of an exported journal are skipped; they do not move the clock.
        if matches!(parsed.item, Item::Skip) {
            continue;
        }
        if let Some(prev) = last_t
            && parsed.t < prev
        {
            return Err(bad(format!(
                "time goes backwards: {} is before {prev}",
                parsed.t
            )));
        }
        last_t = Some(parsed.t);
        decisions.clear();
        match parsed.item {
            Item::Event(event) => {
                summary.events += 1;
                engine.handle_into(&event, parsed.t, &mut decisions);
            }
            Item::Clock => engine.advance(parsed.t, &mut decisions),
            Item::Restart => {
                let snapshot = engine.snapshot();
                engine =
                    Engine::restore(config.clone(), &snapshot).map_err(|e| bad(e.to_string()))?;
            }
            Item::Skip => {}
        }
        for d in &decisions {
            writeln!(out, "{}", d.to_json_line()).map_err(io_err)?;
        }
        summary.decisions += decisions.len();
    }
    out.flush().map_err(io_err)?;
    Ok(summary)
}
