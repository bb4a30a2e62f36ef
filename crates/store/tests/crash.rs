#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Crash safety: a child process (this test binary, re-invoked with an env var) appends from several threads and
//! reports every seq whose `append` returned, then aborts mid-stream without flushing or dropping the store.
//! Every reported line must be in the reopened journal.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use store::{JournalLine, Kind, Store};

const CHILD_ENV: &str = "RISKGUARD_STORE_CRASH_CHILD_DIR";
const THREADS: usize = 4;
/// The child aborts once this many appends have returned (others are still in flight then).
const ABORT_AFTER: usize = 400;

fn line(thread: usize, i: usize) -> JournalLine {
    let t = Timestamp::from_second(1_772_000_000 + i as i64).unwrap();
    JournalLine::new(
        t,
        Kind::Input,
        Some(thread as i64),
        format!(r#"{{"thread":{thread},"i":{i}}}"#),
    )
}

/// The child half: does nothing unless the parent set the env var.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let store = Arc::new(Store::open(&PathBuf::from(dir)).unwrap());
    let acked = Arc::new(Mutex::new(0usize));
    let threads: Vec<_> = (0..THREADS)
        .map(|th| {
            let (store, acked) = (Arc::clone(&store), Arc::clone(&acked));
            std::thread::spawn(move || {
                for i in 0.. {
                    let seq = store.append(vec![line(th, i)]).unwrap();
                    let mut n = acked.lock().unwrap();
                    // Written straight to fd 1 (not captured by the test harness) before anyone may abort.
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "acked {seq} {th} {i}").unwrap();
                    out.flush().unwrap();
                    *n += 1;
                    if *n >= ABORT_AFTER {
                        // No flush, no drop: other threads' appends are queued or mid-commit right now.
                        std::process::abort();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn every_acknowledged_append_survives_an_abort() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("store-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "the child must die by abort");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let acked: BTreeMap<i64, (usize, usize)> = stdout
        .lines()
        // The first ack may share a line with the harness's "test crash_child ... ".
        .filter_map(|l| l.split_once("acked ").map(|(_, rest)| rest))
        .map(|rest| {
            let f: Vec<usize> = rest.split(' ').map(|x| x.parse().unwrap()).collect();
            (f[0] as i64, (f[1], f[2]))
        })
        .collect();
    assert!(
        acked.len() >= ABORT_AFTER,
        "the child acknowledged only {} appends:\n{stdout}",
        acked.len()
    );

    let store = Store::open(&dir).unwrap();
    let rec = store.recover().unwrap();
    let journal: BTreeMap<i64, String> = rec
        .lines_after
        .into_iter()
        .map(|(s, l)| (s, l.line))
        .collect();
    for (seq, (th, i)) in &acked {
        assert_eq!(
            journal.get(seq),
            Some(&line(*th, *i).line),
            "acknowledged seq {seq} lost"
        );
    }
    // The journal has no holes (in-flight appends either committed whole or not at all).
    let seqs: Vec<i64> = journal.keys().copied().collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}
