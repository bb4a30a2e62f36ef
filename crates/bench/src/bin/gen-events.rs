//! `gen-events N OUT.jsonl [--config OUT_CONFIG.yaml] [--seed S]`: write a generated event stream (and the
//! all-rules risk config) for `riskguard replay` benchmarks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

const USAGE: &str = "usage: gen-events N OUT.jsonl [--config OUT_CONFIG.yaml] [--seed S]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut positional = Vec::new();
    let mut config = None;
    let mut seed = 42_u64;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--config" => config = it.next(),
            "--seed" => match it.next().and_then(|s| s.parse().ok()) {
                Some(s) => seed = s,
                None => {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => positional.push(a),
        }
    }
    let [n, out] = positional.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let Ok(n) = n.replace('_', "").parse::<usize>() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let lines = bench::generate(n, seed);
    let mut w = BufWriter::with_capacity(1 << 20, File::create(out).expect("create output file"));
    for l in &lines {
        w.write_all(l.as_bytes()).expect("write");
        w.write_all(b"\n").expect("write");
    }
    w.flush().expect("flush");
    if let Some(path) = config {
        std::fs::write(&path, bench::risk_config_all_rules()).expect("write config");
    }
    eprintln!(
        "wrote {} lines ({n} events, seed {seed}) to {out}",
        lines.len()
    );
    ExitCode::SUCCESS
}
