//! The generator is deterministic, about 80 % quotes, and every line it writes is valid REPLAY.md input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use replay::format::{Item, parse_line};

const N: usize = 20_000;

#[test]
fn same_seed_same_lines_other_seed_other_lines() {
    let a = bench::generate(N, 7);
    let b = bench::generate(N, 7);
    assert_eq!(a, b);
    assert_ne!(a, bench::generate(N, 8));
    assert_eq!(a.len(), N + bench::CONTRACTS.len() + bench::ACCOUNTS);
}

#[test]
fn every_line_parses_and_about_80_percent_are_quotes() {
    let lines = bench::generate(N, 42);
    let mut quotes = 0;
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    let mut last_t = None;
    for (i, line) in lines.iter().enumerate() {
        let parsed = parse_line(line)
            .unwrap_or_else(|e| panic!("line {}: {e}: {line}", i + 1))
            .expect("not blank");
        if let Some(prev) = last_t {
            assert!(parsed.t >= prev, "line {}: time goes backwards", i + 1);
        }
        last_t = Some(parsed.t);
        let Item::Event(event) = parsed.item else {
            panic!("line {}: not an event", i + 1)
        };
        let kind = match event {
            model::event::Event::Quote(_) => {
                quotes += 1;
                "quote"
            }
            model::event::Event::Account(_) => "account",
            model::event::Event::Position(_) => "position",
            model::event::Event::Order(_) => "order",
            model::event::Event::Trade(_) => "trade",
            model::event::Event::Contract(_) => "contract",
            model::event::Event::Admin(_) => "admin",
            model::event::Event::Outcome(_) => "outcome",
        };
        *kinds.entry(kind).or_default() += 1;
    }
    let percent = quotes * 100 / N;
    assert!((78..=82).contains(&percent), "{percent}% quotes: {kinds:?}");
    for kind in ["account", "position", "order", "trade", "contract"] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} lines: {kinds:?}"
        );
    }
}

#[test]
fn the_all_rules_config_is_valid_and_replay_accepts_the_stream() {
    let config = config::parse_risk_config(
        &bench::risk_config_all_rules(),
        Path::new("bench.yaml"),
        None,
    )
    .unwrap_or_else(|e| panic!("bench config: {e:?}"));
    let text = bench::generate_text(N, 42);
    let summary = replay::run(
        &config,
        text.as_bytes(),
        "bench.jsonl",
        &mut std::io::sink(),
    )
    .expect("replay runs");
    assert_eq!(summary.events, N + bench::CONTRACTS.len() + bench::ACCOUNTS);
    // Rules fire sometimes, but not on every event.
    assert!(
        summary.decisions > 0 && summary.decisions < N / 10,
        "{} decisions",
        summary.decisions
    );
}
