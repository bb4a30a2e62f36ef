#![allow(clippy::float_arithmetic)] // throughput figures, no money
//! Append latency: `cargo run --release -p store --example append_bench [DIR]`.
//! Single-line appends from one thread, then from 8 threads at once (group commit), on the given dir's disk.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use store::{JournalLine, Kind, Store, StoreError};

fn line(i: i64) -> JournalLine {
    let t = Timestamp::from_second(1_772_000_000 + i).unwrap_or(Timestamp::UNIX_EPOCH);
    let text = format!(
        r#"{{"t":"{t}","kind":"position","data":{{"id":{i},"accountId":7,"contractId":"CON.F.US.EP.H26","type":1,"size":2,"averagePrice":5000.25}}}}"#
    );
    JournalLine::new(t, Kind::Input, Some(7), text)
}

fn main() -> Result<(), StoreError> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::temp_dir().join(format!("store-bench-{}", std::process::id()))
        });
    let _ = std::fs::remove_dir_all(&dir);
    let store = Arc::new(Store::open(&dir)?);

    const N: i64 = 5_000;
    let start = Instant::now();
    let mut slow = Vec::new();
    for i in 0..N {
        let t0 = Instant::now();
        store.append(vec![line(i)])?;
        let d = t0.elapsed();
        if d.as_micros() > 1000 {
            slow.push((i, d));
        }
    }
    let elapsed = start.elapsed();
    println!(
        "appends over 1 ms: {} {:?}",
        slow.len(),
        &slow[..slow.len().min(10)]
    );
    let lat = store.append_latency();
    println!(
        "1 thread : {N} single-line appends in {elapsed:.2?} ({:.0}/s); last {}: p50 {:?} p99 {:?} max {:?}; commits {}",
        N as f64 / elapsed.as_secs_f64(),
        lat.samples,
        lat.p50,
        lat.p99,
        lat.max,
        store.stats().commits
    );

    let before = store.stats();
    let start = Instant::now();
    let threads: Vec<_> = (0..8)
        .map(|th| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || -> Result<(), StoreError> {
                for i in 0..N / 8 {
                    store.append(vec![line(th * N + i)])?;
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join().map_err(|_| StoreError::Closed)??;
    }
    let elapsed = start.elapsed();
    let lat = store.append_latency();
    let after = store.stats();
    println!(
        "8 threads: {N} single-line appends in {elapsed:.2?} ({:.0}/s); last {}: p50 {:?} p99 {:?} max {:?}; {} commits ({:.1} lines/commit)",
        N as f64 / elapsed.as_secs_f64(),
        lat.samples,
        lat.p50,
        lat.p99,
        lat.max,
        after.commits - before.commits,
        (after.lines - before.lines) as f64 / (after.commits - before.commits).max(1) as f64
    );
    store.flush()?;
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
