//! End-to-end replay throughput: `replay::run` over 1,000,000 generated JSONL lines held in memory (JSON
//! parsing, normalisation, the engine and decision serialisation included), writing to `std::io::sink()`.
//! Reported in lines/s.
//!
//! `cargo bench -p bench --bench replay`; `BENCH_EVENTS=N` changes the number of lines.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::float_arithmetic)]

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

fn lines_from_env() -> usize {
    std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(1_000_000)
}

fn bench_replay(c: &mut Criterion) {
    let n = lines_from_env();
    let text = bench::generate_text(n.saturating_sub(15), 42);
    let lines = text.lines().count();
    let config = config::parse_risk_config(
        &bench::risk_config_all_rules(),
        Path::new("bench.yaml"),
        None,
    )
    .expect("bench config is valid");

    // Untimed runs: decision count, and throughput per CPU second (robust to a loaded machine).
    let mut best: Option<(Duration, Duration)> = None;
    let mut summary = None;
    for _ in 0..3 {
        let (wall0, cpu0) = (Instant::now(), bench::thread_cpu_time());
        summary = Some(
            replay::run(
                &config,
                text.as_bytes(),
                "bench.jsonl",
                &mut std::io::sink(),
            )
            .expect("replay runs"),
        );
        let wall = wall0.elapsed();
        let cpu = cpu0
            .zip(bench::thread_cpu_time())
            .map_or(wall, |(a, b)| b - a);
        if best.is_none_or(|(_, c)| cpu < c) {
            best = Some((wall, cpu));
        }
    }
    let (summary, (wall, cpu)) = (summary.expect("three runs"), best.expect("three runs"));
    eprintln!(
        "replay bench: {} lines ({} MB), {} events, {} decisions per run; best of 3 untimed runs: wall {:.3} s, cpu {:.2} s = {:.0} lines per CPU second",
        summary.lines,
        text.len() / 1_000_000,
        summary.events,
        summary.decisions,
        wall.as_secs_f64(),
        cpu.as_secs_f64(),
        lines as f64 / cpu.as_secs_f64().max(0.01)
    );

    let mut group = c.benchmark_group("replay");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(lines as u64));
    group.bench_function("run_to_sink_all_rules", |b| {
        b.iter(|| {
            replay::run(
                &config,
                text.as_bytes(),
                "bench.jsonl",
                &mut std::io::sink(),
            )
            .expect("replay runs")
        });
    });
    group.finish();
}

criterion_group!(benches, bench_replay);
criterion_main!(benches);
