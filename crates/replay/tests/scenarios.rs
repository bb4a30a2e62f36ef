//! Data-driven rule tests: every directory under `tests/scenarios/` holds a `config.yaml` (a risk_config.yaml),
//! an `events.jsonl` (replay input, REPLAY.md) and an `expected.jsonl` (the decisions, in order).
//!
//! An expected line matches an actual decision when both have the same keys and every value is equal, except
//! `reason`: it may be left out, and when present it must be a substring of the actual reason. Numbers compare by
//! value (`21000` equals `21000.0`). The number of decisions must match; an empty `expected.jsonl` means "no
//! decision at all". Blank lines and `#` lines are skipped in both files.
//!
//! All scenarios run in one test that reports every failing scenario, with a readable diff. Set
//! `SCENARIO=<substring>` to run only the scenarios whose directory name contains it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// The guard: fewer scenarios than this means the walk is broken (wrong path, files moved).
const MIN_SCENARIOS: usize = 30;

fn scenarios_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios")
}

/// Every scenario directory (one holding at least one of the three files), sorted by name.
fn scenario_dirs() -> Vec<PathBuf> {
    let root = scenarios_root();
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", root.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn name_of(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

/// One JSONL line: its 1-based line number and the object on it.
type Line = (usize, Map<String, Value>);

/// The JSON objects of a JSONL text, with their 1-based line numbers; blank and `#` lines are skipped.
fn parse_jsonl(text: &str, what: &str) -> Result<Vec<Line>, String> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(map)) => out.push((i + 1, map)),
            Ok(other) => return Err(format!("{what} line {}: not a JSON object: {other}", i + 1)),
            Err(e) => return Err(format!("{what} line {}: invalid JSON: {e}", i + 1)),
        }
    }
    Ok(out)
}

fn values_equal(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(e), Value::Number(a)) => match (e.as_f64(), a.as_f64()) {
            #[allow(clippy::float_cmp)]
            (Some(e), Some(a)) => e == a,
            _ => e == a,
        },
        _ => expected == actual,
    }
}

/// The differences between one expected line and one actual decision; empty when they match.
fn line_differences(expected: &Map<String, Value>, actual: &Map<String, Value>) -> Vec<String> {
    let mut diffs = Vec::new();
    for (key, want) in expected {
        match (key.as_str(), actual.get(key)) {
            ("reason", Some(Value::String(got))) => {
                let needle = want.as_str().unwrap_or_default();
                if !got.contains(needle) {
                    diffs.push(format!("reason {got:?} does not contain {needle:?}"));
                }
            }
            (_, None) => diffs.push(format!("missing key `{key}` (expected {want})")),
            (_, Some(got)) if !values_equal(want, got) => {
                diffs.push(format!("`{key}`: expected {want}, got {got}"));
            }
            _ => {}
        }
    }
    for (key, got) in actual {
        if key != "reason" && !expected.contains_key(key) {
            diffs.push(format!("unexpected key `{key}` = {got}"));
        }
    }
    diffs
}

fn compact(map: &Map<String, Value>) -> String {
    serde_json::to_string(map).unwrap()
}

/// Runs one scenario; `Err` holds the readable report of what went wrong.
fn run_scenario(dir: &Path) -> Result<usize, String> {
    let config_path = dir.join("config.yaml");
    let events_path = dir.join("events.jsonl");
    let expected_path = dir.join("expected.jsonl");
    for p in [&config_path, &events_path, &expected_path] {
        if !p.is_file() {
            return Err(format!("missing file {}", p.display()));
        }
    }

    let config = config::load_risk_config(&config_path)
        .map_err(|errors| format!("config.yaml does not load: {errors:#?}"))?;

    let expected_text = fs::read_to_string(&expected_path).unwrap();
    let expected = parse_jsonl(&expected_text, "expected.jsonl")?;

    let input = BufReader::new(fs::File::open(&events_path).unwrap());
    let mut out: Vec<u8> = Vec::new();
    let result = replay::run(&config, input, "events.jsonl", &mut out);
    let output = String::from_utf8(out).map_err(|e| format!("output is not UTF-8: {e}"))?;

    let mut report = String::new();
    if let Err(e) = &result {
        let _ = writeln!(report, "replay::run failed: {e:?}");
    }
    let actual = match parse_jsonl(&output, "output") {
        Ok(lines) => lines,
        Err(e) => {
            let _ = writeln!(report, "{e}\n--- raw output ---\n{output}");
            return Err(report);
        }
    };

    let mut mismatched = false;
    let mut table = String::new();
    for i in 0..expected.len().max(actual.len()) {
        match (expected.get(i), actual.get(i)) {
            (Some((line, want)), Some((_, got))) => {
                let diffs = line_differences(want, got);
                if diffs.is_empty() {
                    let _ = writeln!(table, "  ok  #{:<3} {}", i + 1, compact(got));
                } else {
                    mismatched = true;
                    let _ = writeln!(
                        table,
                        "  !!  #{:<3} expected (line {line}): {}",
                        i + 1,
                        compact(want)
                    );
                    let _ = writeln!(table, "            actual: {}", compact(got));
                    for d in diffs {
                        let _ = writeln!(table, "            - {d}");
                    }
                }
            }
            (Some((line, want)), None) => {
                mismatched = true;
                let _ = writeln!(
                    table,
                    "  --  #{:<3} missing (expected line {line}): {}",
                    i + 1,
                    compact(want)
                );
            }
            (None, Some((_, got))) => {
                mismatched = true;
                let _ = writeln!(table, "  ++  #{:<3} unexpected: {}", i + 1, compact(got));
            }
            (None, None) => {}
        }
    }
    if mismatched {
        let _ = writeln!(
            report,
            "{} expected decision(s), {} actual:\n{table}",
            expected.len(),
            actual.len()
        );
    }
    if report.is_empty() {
        Ok(actual.len())
    } else {
        Err(report)
    }
}

#[test]
fn scenarios() {
    let dirs = scenario_dirs();
    assert!(
        dirs.len() >= MIN_SCENARIOS,
        "found only {} scenario directories under {} (expected at least {MIN_SCENARIOS})",
        dirs.len(),
        scenarios_root().display()
    );

    let filter = std::env::var("SCENARIO").ok().filter(|f| !f.is_empty());
    let mut failures = Vec::new();
    let mut passed = 0usize;
    for dir in &dirs {
        let name = name_of(dir);
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        match std::panic::catch_unwind(|| run_scenario(dir)) {
            Ok(Ok(_)) => passed += 1,
            Ok(Err(report)) => failures.push((name, report)),
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                    .unwrap_or_else(|| "(non-string panic)".into());
                failures.push((name, format!("panicked: {msg}")));
            }
        }
    }

    if !failures.is_empty() {
        let mut msg = format!(
            "{} of {} scenario(s) failed ({passed} passed):\n",
            failures.len(),
            failures.len() + passed
        );
        for (name, _) in &failures {
            let _ = writeln!(msg, "  - {name}");
        }
        for (name, report) in &failures {
            let _ = write!(msg, "\n=== {name} ===\n{report}");
        }
        panic!("{msg}");
    }
    eprintln!("{passed} scenario(s) passed");
}

/// The scenario files themselves are well-formed: every directory has its three files, every events line is JSON
/// with `t` and `kind`, times never go back, and every expected line has the keys a decision always has.
#[test]
fn scenario_files_are_well_formed() {
    let mut problems = Vec::new();
    for dir in scenario_dirs() {
        let name = name_of(&dir);
        for file in ["config.yaml", "events.jsonl", "expected.jsonl"] {
            if !dir.join(file).is_file() {
                problems.push(format!("{name}: missing {file}"));
            }
        }
        if let Ok(text) = fs::read_to_string(dir.join("events.jsonl")) {
            match parse_jsonl(&text, "events.jsonl") {
                Ok(lines) => {
                    let mut last: Option<jiff::Timestamp> = None;
                    for (line, obj) in lines {
                        let t = obj
                            .get("t")
                            .and_then(Value::as_str)
                            .and_then(|t| t.parse::<jiff::Timestamp>().ok());
                        match t {
                            None => problems
                                .push(format!("{name}: events line {line} has no valid `t`")),
                            Some(t) => {
                                if last.is_some_and(|l| t < l) {
                                    problems.push(format!(
                                        "{name}: events line {line} goes back in time"
                                    ));
                                }
                                last = Some(t);
                            }
                        }
                        if !obj.get("kind").is_some_and(Value::is_string) {
                            problems.push(format!("{name}: events line {line} has no `kind`"));
                        }
                    }
                }
                Err(e) => problems.push(format!("{name}: {e}")),
            }
        }
        if let Ok(text) = fs::read_to_string(dir.join("expected.jsonl")) {
            match parse_jsonl(&text, "expected.jsonl") {
                Ok(lines) => {
                    for (line, obj) in lines {
                        for key in ["t", "account", "rule", "action"] {
                            if !obj.contains_key(key) {
                                problems
                                    .push(format!("{name}: expected line {line} lacks `{key}`"));
                            }
                        }
                    }
                }
                Err(e) => problems.push(format!("{name}: {e}")),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "malformed scenario files:\n{}",
        problems.join("\n")
    );
}
