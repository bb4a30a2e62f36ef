//! Engine throughput: 1,000,000 generated events (parsed once, outside the timing) fed through a fresh
//! `Engine` with `handle_into` and a reused decision buffer. Reported in events/s.
//!
//! `cargo bench -p bench --bench engine`; `BENCH_EVENTS=N` changes the number of events.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::float_arithmetic)]

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use engine::Engine;
use jiff::Timestamp;
use model::event::Event;
use replay::format::{Item, parse_line};

fn events_from_env() -> usize {
    std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(1_000_000)
}

fn bench_engine(c: &mut Criterion) {
    let n = events_from_env();
    // 15 header lines (contracts, accounts) + events = n lines in total.
    let lines = bench::generate(n.saturating_sub(15), 42);
    let events: Vec<(Event, Timestamp)> = lines
        .iter()
        .map(|l| {
            match parse_line(l)
                .expect("generated line parses")
                .expect("not blank")
            {
                replay::format::Parsed {
                    t,
                    item: Item::Event(e),
                } => (e, t),
                other => panic!("generated line is not an event: {other:?}"),
            }
        })
        .collect();
    drop(lines);
    let config = config::parse_risk_config(
        &bench::risk_config_all_rules(),
        Path::new("bench.yaml"),
        None,
    )
    .expect("bench config is valid");
    let config = Arc::new(config);

    // Untimed passes: how busy the rules are, and throughput per CPU second (robust to a loaded machine).
    let mut best: Option<(Duration, Duration)> = None;
    let mut decisions = 0_usize;
    for _ in 0..3 {
        let (wall0, cpu0) = (Instant::now(), bench::thread_cpu_time());
        let mut engine = Engine::new(config.clone());
        let mut out = Vec::new();
        decisions = 0;
        for (e, t) in &events {
            out.clear();
            engine.handle_into(e, *t, &mut out);
            decisions += out.len();
        }
        let wall = wall0.elapsed();
        let cpu = cpu0
            .zip(bench::thread_cpu_time())
            .map_or(wall, |(a, b)| b - a);
        if best.is_none_or(|(_, c)| cpu < c) {
            best = Some((wall, cpu));
        }
    }
    let (wall, cpu) = best.expect("three passes");
    eprintln!(
        "engine bench: {} events, {decisions} decisions per pass; best of 3 untimed passes: wall {:.3} s, cpu {:.2} s = {:.0} events per CPU second",
        events.len(),
        wall.as_secs_f64(),
        cpu.as_secs_f64(),
        events.len() as f64 / cpu.as_secs_f64().max(0.01)
    );

    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(15));
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("handle_into_all_rules", |b| {
        let mut out = Vec::with_capacity(64);
        b.iter(|| {
            let mut engine = Engine::new(config.clone());
            let mut count = 0_usize;
            for (e, t) in &events {
                out.clear();
                engine.handle_into(black_box(e), *t, &mut out);
                count += out.len();
            }
            black_box(count)
        });
    });
    group.finish();
}

criterion_group!(benches, bench_engine);
criterion_main!(benches);
