//! The daemon's per-quote work outside the engine, both run for every quote of a held contract:
//! - the market hub's parse: a `GatewayQuote` payload as the simulator sends it (every field the live gateway
//!   sends, prices as JSON numbers) read into `model::wire::WireQuote` and normalised into a
//!   `model::event::Quote`;
//! - its journal line (`replay::format::event_line`).
//!
//! `cargo bench -p bench --bench quote`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jiff::Timestamp;
use model::event::Event;
use model::normalize;
use model::wire::WireQuote;

const PAYLOAD: &str = r#"{"symbol":"F.US.MNQ","symbolName":"MNQ","lastPrice":21012.25,"bestBid":21012,"bestAsk":21012.25,"change":12.25,"changePercent":0.0584,"open":21000,"high":21030.75,"low":20950.5,"volume":123456,"lastUpdated":"2026-03-02T15:00:00.123456+00:00","timestamp":"2026-03-02T15:00:00.123456+00:00"}"#;

fn bench_quote(c: &mut Criterion) {
    let mut g = c.benchmark_group("quote");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse and normalise", |b| {
        b.iter(|| {
            let w: WireQuote = serde_json::from_str(black_box(PAYLOAD)).unwrap();
            black_box(normalize::quote("CON.F.US.MNQ.H26", &w))
        })
    });
    let w: WireQuote = serde_json::from_str(PAYLOAD).unwrap();
    let quote = Event::Quote(normalize::quote("CON.F.US.MNQ.H26", &w));
    let t: Timestamp = "2026-03-02T15:00:00.123456Z".parse().unwrap();
    g.bench_function("journal line", |b| {
        b.iter(|| black_box(replay::format::event_line(black_box(t), black_box(&quote))))
    });
    g.finish();
}

criterion_group!(benches, bench_quote);
criterion_main!(benches);
