//! Crash recovery: the `riskguard run` binary is SIGKILLed at random moments during enforcement, many times
//! in one test, against the simulator (`riskguard sim`, a child process too) and one data dir that persists
//! across the restarts. After every restart, once the daemon has reconciled:
//!
//! - every lock set before a kill is still in force (after the losing round trip has locked the account, every
//!   later entry is closed by the locked-account gate, so the simulator must show the account flat);
//! - no position that a rule requires closed stays open (flat within a deadline);
//! - no breach is closed twice (`Position/closeContract` calls ≤ breaches that needed a close, per iteration
//!   and in total).
//!
//! The kill delays come from a seeded generator (`RISKGUARD_CRASH_SEED` overrides the seed, which is printed).
//! Every wait is a condition polled under a deadline; the random kill delay is the one deliberate sleep.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::daemon::{self, Daemon, Dirs};
use support::{ACCOUNT, POLL, Sim, read, wait_for};

const MNQ: &str = "CON.F.US.MNQ.Z25";
const MES: &str = "CON.F.US.MES.Z25";
const RTY: &str = "CON.F.US.RTY.Z25";
const GC: &str = "CON.F.US.GC.G26";
/// How many times the daemon is SIGKILLed.
const KILLS: usize = 24;
/// The longest random delay between the trader's last call and the kill.
const MAX_KILL_DELAY_MS: u64 = 30;
const READY_DEADLINE: Duration = Duration::from_secs(30);
const FLAT_DEADLINE: Duration = Duration::from_secs(15);

/// splitmix64: a tiny seeded generator, enough for kill delays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

impl Sim {
    fn open_positions(state: &Value) -> Vec<Value> {
        state["positions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["accountId"] == ACCOUNT && p["size"].as_i64() != Some(0))
            .cloned()
            .collect()
    }
}

/// The trader's moves. Each one needs the number of position closes its breach requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Buy 3 MNQ: over `max_contracts` (limit 2, close_all) — and, once locked, the gate.
    Oversize,
    /// Buy 1 RTY: a blocked symbol — and, once locked, the gate.
    Blocked,
    /// Buy 2 MES at 6000, the market drops to 5960, sell 1: realized −$200, over the $50 daily loss limit
    /// with 1 MES still open: the lock, and one close. (A loss taken by the fill that goes flat would be
    /// followed by a close of a position already gone: see
    /// `a_daily_loss_taken_by_the_trade_that_goes_flat_sends_no_close`.)
    LosingPartialExit,
    /// Buy 1 lot: within every limit; only the daily-loss lock (the gate) closes it. Killed right after it,
    /// the restart leaves it open (the bugs shown by the ignored tests below).
    LockedEntry(&'static str),
}

impl Step {
    fn perform(self, sim: &Sim) {
        match self {
            Step::Oversize => sim.market(MNQ, 0, 3),
            Step::Blocked => sim.market(RTY, 0, 1),
            Step::LockedEntry(contract) => sim.market(contract, 0, 1),
            Step::LosingPartialExit => {
                sim.price(MES, 6_000);
                sim.market(MES, 0, 2);
                sim.price(MES, 5_960);
                sim.market(MES, 1, 1);
            }
        }
    }
}

/// Kills after two kinds of breach before the lock, the losing exit, then breaches under the lock; with
/// `probe`, a 1-lot GC entry before each step under the lock checks, with the daemon up, that the lock
/// survived the last kill (only the gate closes it).
fn plan(locked: &[Step]) -> Vec<Step> {
    let mut steps = vec![
        Step::Oversize,
        Step::Blocked,
        Step::Oversize,
        Step::LosingPartialExit,
    ];
    while steps.len() < KILLS {
        steps.push(locked[(steps.len() - 4) % locked.len()]);
    }
    steps
}

/// The test's directories, with a risk config whose daily reset is half a day away.
fn setup(sim: &Sim, test: &str) -> Dirs {
    let risk = support::global_reset_half_a_day_away()
        + r#"rules:
  daily_realized_loss:
    enabled: true
    loss_limit: 50.00
    action: close_all_and_lockout
    lockout_until: daily_reset
    warn_at: []
  max_contracts:
    enabled: true
    limit: 2
    action: close_all
  symbol_blocks:
    enabled: true
    blocked_symbols: [RTY]
"#;
    Dirs::new(&format!("crash-{test}"), &sim.base, &risk)
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Wait until the simulator shows account 7001 flat; the failure message has the daemon's last log lines.
fn wait_flat(sim: &Sim, daemon: &Daemon, what: &str) -> Value {
    let start = Instant::now();
    loop {
        let state = sim.state();
        let open = Sim::open_positions(&state);
        if open.is_empty() {
            return state;
        }
        assert!(
            start.elapsed() < FLAT_DEADLINE,
            "{what}: still open {FLAT_DEADLINE:?} after the restart was ready: {open:?}\n--- daemon log ---\n{}",
            tail(&read(&daemon.stderr), 40)
        );
        std::thread::sleep(POLL);
    }
}

/// The numbers of one run of kills.
#[derive(Debug)]
struct Kills {
    kills: usize,
    closes_needed: u64,
    closes: u64,
}

/// SIGKILL the daemon `steps.len()` times, each 0–30 ms after a trader's move, and check every restart.
fn kill_repeatedly(test: &str, steps: &[Step], probe: bool) -> Kills {
    let seed = std::env::var("RISKGUARD_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0x5EED_2025);
    eprintln!("{test}: seed {seed} (set RISKGUARD_CRASH_SEED to repeat or vary)");
    let mut rng = Rng(seed);
    let started = Instant::now();

    let sim = Sim::start(None, "demo", "demo");
    sim.price(MNQ, 20_000);
    sim.price(RTY, 2_000);
    sim.price(MES, 6_000);
    sim.price(GC, 2_000);
    let setup = setup(&sim, test);
    let closes = |state: &Value| Sim::calls(state, "/api/Position/closeContract");

    let mut daemon = daemon::start(&setup, 0);
    let mut closes_needed = 0u64;
    let mut locked = false;
    let mut report = Vec::new();
    assert_eq!(closes(&sim.state()), 0);

    for (i, step) in steps.iter().copied().enumerate() {
        let before = closes(&sim.state());
        let mut needed = 0;
        if locked && probe {
            // The lock set before the last kill is in force: an entry within every limit is closed.
            sim.market(GC, 0, 1);
            wait_flat(
                &sim,
                &daemon,
                &format!("probe before kill #{}: 1 GC on the locked account", i + 1),
            );
            needed += 1;
        }
        step.perform(&sim);
        let delay = rng.below(MAX_KILL_DELAY_MS + 1);
        std::thread::sleep(Duration::from_millis(delay));
        daemon.proc.sigkill();
        needed += 1;
        locked |= step == Step::LosingPartialExit;

        daemon = daemon::start(&setup, i + 1);
        let what = format!(
            "kill #{} ({step:?}, {delay} ms after the trade{})",
            i + 1,
            if locked { ", account locked" } else { "" }
        );
        let state = wait_flat(&sim, &daemon, &what);
        let n = closes(&state) - before;
        assert!(
            n <= needed,
            "{what}: {n} closeContract call(s) for {needed} breach(es) needing a close: a breach was closed twice\n--- daemon log ---\n{}",
            tail(&read(&daemon.stderr), 40)
        );
        assert!(
            state["workingOrders"]
                .as_array()
                .unwrap()
                .iter()
                .all(|o| o["accountId"] != ACCOUNT),
            "{what}: working orders left: {}",
            state["workingOrders"]
        );
        closes_needed += needed;
        report.push(format!(
            "#{:02} {step:?} +{delay}ms closes={n}/{needed}",
            i + 1
        ));
    }

    // The lock is still in force after the last restart too.
    let before = closes(&sim.state());
    sim.market(GC, 0, 1);
    closes_needed += 1;
    wait_flat(&sim, &daemon, "final entry on the locked account");

    // Stop gracefully: calls in flight finish, so the counts below are final.
    daemon.proc.sigterm();
    let status = daemon
        .proc
        .wait_exit(Duration::from_secs(5))
        .expect("riskguard run did not stop within 5 s of SIGTERM");
    assert!(status.success(), "graceful stop exited {status}");
    let state = sim.state();
    assert!(Sim::open_positions(&state).is_empty());
    assert!(
        closes(&state) - before <= 1,
        "the final entry was closed twice"
    );
    let total = closes(&state);
    let partial = Sim::calls(&state, "/api/Position/partialCloseContract");
    eprintln!("{}", report.join("\n"));
    eprintln!(
        "{test}: kills {}, breaches needing a close {closes_needed}, closeContract calls {total}, \
         partialCloseContract {partial}, elapsed {:?}\nrestCalls: {}",
        steps.len(),
        started.elapsed(),
        state["restCalls"]
    );
    assert!(
        total <= closes_needed,
        "{total} closeContract calls for {closes_needed} breaches needing a close"
    );
    assert_eq!(partial, 0, "nothing here calls for a partial close");
    let _ = fs::remove_dir_all(&setup.root);
    Kills {
        kills: steps.len(),
        closes_needed,
        closes: total,
    }
}

#[test]
fn sigkill_during_enforcement_keeps_locks_closes_once_and_leaves_nothing_open() {
    let steps = plan(&[Step::Oversize, Step::Blocked]);
    let k = kill_repeatedly("kills", &steps, true);
    assert!(k.kills >= 20);
    // Every breach here needs the daemon's close (the trader never closes them), and none twice.
    assert_eq!(k.closes, k.closes_needed, "{k:?}");
}

/// As above, but the kill lands right after entries that only the lock's gate closes (no probe in between):
/// fails for most seeds, with a 1-lot left open on the locked account after the restart.
#[test]
fn sigkill_right_after_entries_on_a_locked_account() {
    let steps = plan(&[
        Step::LockedEntry(MES),
        Step::Oversize,
        Step::LockedEntry(MNQ),
        Step::Blocked,
    ]);
    kill_repeatedly("gate-kills", &steps, false);
}

/// Write journal lines as the daemon does (REPLAY.md lines in the store), `t` a few ms apart, ending 2 s ago.
/// `Kind::Outcome` for `outcome` lines, `Kind::Input` for the rest. Returns how many.
fn journal(data_dir: &Path, lines: &[(&str, Value)]) -> usize {
    let t0 = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(2);
    let rows = lines
        .iter()
        .enumerate()
        .map(|(i, (kind, data))| {
            let t = t0 + jiff::SignedDuration::from_millis(i64::try_from(i).unwrap());
            let line = json!({"t": t.to_string(), "kind": kind, "data": data}).to_string();
            let k = if *kind == "outcome" {
                store::Kind::Outcome
            } else {
                store::Kind::Input
            };
            store::JournalLine::new(t, k, Some(ACCOUNT), line)
        })
        .collect();
    let store = store::Store::open(data_dir).unwrap();
    store.append(rows).unwrap();
    store.flush().unwrap();
    lines.len()
}

/// The trader's fills so far, as journal `trade` lines.
fn trade_lines(sim: &Sim) -> Vec<(&'static str, Value)> {
    let mut lines = vec![(
        "account",
        json!({"canTrade": true, "id": ACCOUNT, "name": "SIM-DEMO-1"}),
    )];
    for f in sim.state()["fills"].as_array().unwrap() {
        let mut data = f.clone();
        data.as_object_mut().unwrap().remove("creationTimestamp");
        lines.push(("trade", data));
    }
    lines
}

/// A losing round trip in MNQ (−$200, over the $50 limit): the account is locked from then on.
fn lose_200(sim: &Sim) {
    sim.price(MNQ, 20_000);
    sim.market(MNQ, 0, 1);
    sim.price(MNQ, 19_900);
    sim.market(MNQ, 1, 1);
}

/// The journal a kill leaves when it lands between a position input and the close the gate decided for it
/// (seen in `sigkill_right_after_entries_on_a_locked_account`: a 1-lot MES 2–22 ms before the kill; the journal had the
/// lock, the MES position line, and no decision or outcome after it). Recovery re-feeds the position, so the
/// engine marks its close as decided (once per target) — a close that was never sent. The reconciliation then
/// feeds the same position again; the same size lifts the mark, but the gate closes only positions that
/// *grew*, so nothing decides the close again and the locked account keeps the position.
/// Control: without the journaled position line, the same restart closes it at once.
#[test]
fn a_gate_close_lost_in_a_kill_is_sent_after_the_restart() {
    let sim = Sim::start(None, "demo", "demo");
    sim.price(MES, 6_000);
    let setup = setup(&sim, "lost-gate-close");
    lose_200(&sim);
    sim.market(MES, 0, 1);
    let mut lines = trade_lines(&sim);
    lines.retain(|(_, d)| d["contractId"] != MES);
    lines.push((
        "position",
        json!({"accountId": ACCOUNT, "contractId": MES, "size": 1, "type": 1, "averagePrice": 6000}),
    ));
    let n = journal(&setup.data, &lines);

    let daemon = daemon::start(&setup, 0);
    assert!(
        read(&daemon.stderr).contains(&format!("state recovered from the journal refed={n}")),
        "the crafted journal was not re-fed:\n{}",
        read(&daemon.stderr)
    );
    wait_flat(
        &sim,
        &daemon,
        "1 MES on the locked account after the restart",
    );
    let _ = fs::remove_dir_all(&setup.root);
}

/// The journal a kill leaves when it lands after a close was sent and its outcome journaled, but before the
/// position's flat event arrived (seen in the random test: a 1-lot MNQ entry 6 ms before the kill, right
/// after the restart had closed a 3-lot MNQ): the account is locked, the engine last saw 3 MNQ, decided to
/// close them and heard the call was sent. Meanwhile the gateway closed them and the trader bought 1 MNQ.
/// After the restart the reconciliation feeds "MNQ size 1"; the engine takes 3 → 1 for the close still under
/// way (its once-per-target mark `close_decided = 3` is lifted only when the size stays at or above 3, or on a
/// failed outcome), so the locked account keeps a position that nothing will close.
/// Control: without the journaled position and outcome lines, the same restart closes it at once.
#[test]
fn a_new_smaller_position_after_a_close_whose_flat_event_was_lost_is_closed_under_the_lock() {
    let sim = Sim::start(None, "demo", "demo");
    let setup = setup(&sim, "lost-flat");
    lose_200(&sim);
    sim.market(MNQ, 0, 3);
    // What the daemon had journaled when it was killed: those inputs and the outcome of its close call.
    let mut lines = trade_lines(&sim);
    lines.push((
        "position",
        json!({"accountId": ACCOUNT, "contractId": MNQ, "size": 3, "type": 1, "averagePrice": 19900}),
    ));
    lines.push((
        "outcome",
        json!({"account": ACCOUNT, "ok": true, "detail": "sent", "target": {"target": "position", "contract": MNQ}}),
    ));
    let n = journal(&setup.data, &lines);
    // The close the daemon sent went through (the trader sells them here: same fills), then a new 1-lot.
    sim.market(MNQ, 1, 3);
    sim.market(MNQ, 0, 1);

    let daemon = daemon::start(&setup, 0);
    assert!(
        read(&daemon.stderr).contains(&format!("state recovered from the journal refed={n}")),
        "the crafted journal was not re-fed:\n{}",
        read(&daemon.stderr)
    );
    wait_flat(
        &sim,
        &daemon,
        "1 MNQ on the locked account after the restart",
    );
    let _ = fs::remove_dir_all(&setup.root);
}

/// No kill: the trader's last position is closed at a loss over the daily limit. The gateway sends the fill
/// before the position's flat event (order, trade, position, account), so the engine decides
/// `close_all_positions` while it still counts the position open, and the daemon sends `closeContract` for a
/// position already gone (refused: PositionNotFound; the log warns "enforcement call failed"). ARCHITECTURE.md:
/// "a daily-loss breach while flat gives only the lock". Seen in the random kill test, when its
/// losing trade still went flat (half of the seeds tried): a closeContract call with no position to close.
#[test]
fn a_daily_loss_taken_by_the_trade_that_goes_flat_sends_no_close() {
    let sim = Sim::start(None, "demo", "demo");
    let setup = setup(&sim, "loss-to-flat");
    let daemon = daemon::start(&setup, 0);
    lose_200(&sim);
    let log = wait_for("the lockout decision", READY_DEADLINE, || {
        let log = read(&daemon.stderr);
        log.contains("action=\"lockout\"").then_some(log)
    });
    let closes: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("close_all_positions") || l.contains("closeContract"))
        .collect();
    assert!(
        closes.is_empty(),
        "the account was flat when the loss was taken, yet:\n{}",
        closes.join("\n")
    );
    assert_eq!(Sim::calls(&sim.state(), "/api/Position/closeContract"), 0);
    let _ = fs::remove_dir_all(&setup.root);
}
