//! `riskguard trader` end to end, in a real terminal: the simulator and the daemon run in-process (the daemon
//! tests' rig, `crates/daemon/tests/common`), the built binary runs inside a detached tmux session of 100×30,
//! keys go in with `tmux send-keys`, and the screen comes back with `tmux capture-pane -p`.
//!
//! The trader opens 2 MES without a stop (Positions shows the grace time left), then takes a loss past the
//! daily limit: the Overview shows LOCKED with a countdown that decreases between two captures, History lists
//! the decision with its numbers. With the UI idle and the countdown running, its CPU time over a few
//! seconds (from /proc) must stay under 2% of one core; the redraw after a stream event is measured; "done
//! for today" (D, y) puts a self_lock on the Locks tab. Stopping the daemon shows "unreachable"; a daemon
//! restarted on the same data dir (on a new port, with a new simulator) brings the screen back, still
//! LOCKED. Every wait polls the screen under a deadline. Skipped (with a message) only when tmux is missing
//! and `CI` is unset.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../daemon/tests/common/mod.rs"]
mod common;
mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const MES: &str = "CON.F.US.MES.Z25";
const DEADLINE: Duration = Duration::from_secs(20);

/// A tmux server of its own (`-L`), killed on drop so a failing test leaves no session behind.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str) -> Tmux {
        let tmux = Tmux {
            socket: format!("riskguard-tui-{}", std::process::id()),
        };
        let ok = tmux
            .cmd(&[
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "tui",
                "-x",
                "100",
                "-y",
                "30",
            ])
            .arg(command)
            .status()
            .expect("run tmux")
            .success();
        assert!(ok, "tmux new-session failed");
        // Keep the pane after the UI exits, so that a crash can be read and the exit seen.
        tmux.run(&["set-option", "-t", "tui", "remain-on-exit", "on"]);
        tmux
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]).args(args);
        c
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("run tmux");
        assert!(out.status.success(), "tmux {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "tui"])
    }

    fn keys(&self, keys: &str) {
        self.run(&["send-keys", "-t", "tui", keys]);
    }

    fn pane(&self, format: &str) -> String {
        self.run(&["display-message", "-p", "-t", "tui", format])
            .trim()
            .to_owned()
    }

    /// Poll the screen until `f` finds what it wants; on timeout, fail with the last screen.
    fn until<T>(&self, what: &str, mut f: impl FnMut(&str) -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if let Some(v) = f(&screen) {
                return v;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "timed out after {DEADLINE:?} waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(support::POLL * 5);
        }
    }

    fn until_shows(&self, what: &[&str]) -> String {
        self.until(&format!("{what:?}"), |s| {
            what.iter().all(|w| s.contains(w)).then(|| s.to_owned())
        })
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]).status();
    }
}

fn rules() -> String {
    // The latency probe switches dry-run on and off, confirmed, without a wait.
    support::global_reset_half_a_day_away()
        + "  cooling_off_minutes: 0\n"
        + r#"rules:
  daily_realized_loss:
    enabled: true
    loss_limit: 50.00
    action: close_all_and_lockout
    lockout_until: daily_reset
    warn_at: []
  no_stop_loss_grace:
    enabled: true
    grace_period_seconds: 600
"#
}

/// Seconds in the first `ends in 11h59m58s` of the screen.
fn countdown(screen: &str) -> Option<i64> {
    let at = screen.find("ends in ")? + "ends in ".len();
    let text: String = screen[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let mut secs = 0;
    let mut n = 0;
    for c in text.chars() {
        match c {
            '0'..='9' => n = n * 10 + i64::from(c.to_digit(10)?),
            'd' => (secs, n) = (secs + n * 86_400, 0),
            'h' => (secs, n) = (secs + n * 3600, 0),
            'm' => (secs, n) = (secs + n * 60, 0),
            's' => (secs, n) = (secs + n, 0),
            _ => return None,
        }
    }
    Some(secs)
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    let after = &stat[stat.rfind(')').expect("comm ends") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `after` starts at field 3.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn clock_ticks_per_second() -> u64 {
    let out = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("getconf");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(100)
}

fn tmux_missing() -> bool {
    Command::new("tmux").arg("-V").output().is_err()
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

#[test]
fn the_trader_screen_follows_a_breach_the_daemon_going_away_and_coming_back() {
    if tmux_missing() {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is required in CI (.ci/run installs it)"
        );
        eprintln!(
            "SKIPPED: tmux is not installed (apt-get install tmux); this test needs a terminal"
        );
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rules = rules();
    let rig = rt.block_on(common::rig(&rules, "tui-tmux"));
    let data_dir = rig.data_dir.clone();
    let tmux = Tmux::start(&format!(
        "{} trader --data-dir {}",
        support::BIN,
        shell_quote(&data_dir)
    ));

    tmux.until_shows(&["Account 7001", "     OK     ", "trading allowed", "● live"]);

    // 2 MES without a stop: the grace time shows on the Positions tab.
    rt.block_on(rig.price(MES, 6_000));
    rt.block_on(rig.market(MES, 0, 2));
    tmux.keys("2");
    let positions = tmux.until_shows(&[MES, "+2", "NO", "m", "left"]);
    eprintln!("--- Positions ---\n{positions}");

    // A loss of $200 against a $50 limit: LOCKED, with a countdown that runs.
    rt.block_on(rig.price(MES, 5_960));
    rt.block_on(rig.market(MES, 1, 1));
    tmux.keys("1");
    let locked = tmux.until_shows(&["LOCKED", "ends in", "-200.00"]);
    eprintln!("--- Overview ---\n{locked}");
    let first = countdown(&locked).expect("a countdown");
    let later = tmux.until("the countdown to move", |s| {
        countdown(s).filter(|c| *c != first)
    });
    assert!(
        later < first,
        "the countdown went from {first}s to {later}s"
    );

    // The decision, with its numbers, in History.
    tmux.keys("5");
    let history = tmux.until_shows(&["daily_realized_loss", "lockout", "-200.00", "-50.00"]);
    eprintln!("--- History ---\n{history}");

    // Idle, with the countdown running: the UI's own CPU time over a few seconds.
    tmux.keys("1");
    tmux.until_shows(&["LOCKED", "ends in"]);
    let pid = tmux.pane("#{pane_pid}");
    let ticks = clock_ticks_per_second();
    let wall = Duration::from_secs(5);
    let before = cpu_ticks(&pid);
    let started = Instant::now();
    // A measurement window, not a synchronisation: nothing waits on this.
    std::thread::sleep(wall);
    let used = cpu_ticks(&pid) - before;
    let elapsed = started.elapsed();
    // In hundredths of a percent of one core.
    let percent = u128::from(used) * 10_000_000_000 / (u128::from(ticks) * elapsed.as_micros());
    eprintln!(
        "idle CPU of riskguard trader: {used} ticks of 1/{ticks} s in {elapsed:?} = {}.{:02}% of one core",
        percent / 100,
        percent % 100
    );
    assert!(
        percent < 200,
        "idle CPU {used} ticks in {elapsed:?} is 2% or more"
    );

    // Redraw latency: an admin switches dry-run (a `status` event on the stream); the time from sending the
    // switch to the Connections tab showing it, polled without pauses. It bounds from above the stream's
    // delivery plus the UI's redraw (it also holds the admin call and tmux's capture). Reported, not asserted:
    // docs/PERFORMANCE.md records it.
    tmux.keys("6");
    tmux.until_shows(&["Dry-run", "off"]);
    api::set_admin_password(&data_dir, None, "latency-probe").unwrap();
    let mut admin = api::client::Client::from_data_dir(&data_dir).unwrap();
    rt.block_on(admin.login("latency-probe", None)).unwrap();
    let mut samples = Vec::new();
    for i in 0..10 {
        let on = i % 2 == 0;
        let sent = Instant::now();
        rt.block_on(admin.set_dry_run(on, "redraw latency probe", true))
            .unwrap();
        loop {
            let shows_on = tmux.screen().contains("ON: decisions are recorded");
            if shows_on == on {
                break;
            }
            assert!(sent.elapsed() < DEADLINE, "dry-run {on} never showed");
        }
        samples.push(sent.elapsed());
    }
    samples.sort();
    eprintln!(
        "switch sent -> screen shows it, 10 samples: min {:?}, median {:?}, max {:?}",
        samples[0], samples[5], samples[9]
    );

    // "Done for today": D, then y. The daemon answers, and every account carries a self_lock.
    tmux.keys("D");
    tmux.until_shows(&["Lock every account until the next reset?", "Press y"]);
    tmux.keys("y");
    let answer = tmux.until_shows(&["locked until", "Press any key"]);
    eprintln!("--- done for today ---\n{answer}");
    tmux.keys("x");
    tmux.keys("4");
    tmux.until_shows(&["self_lock", "done for today", "daily_realized_loss"]);
    tmux.keys("1");

    // The daemon goes away (and its simulator with it): the screen says so.
    let data_dir = rt.block_on(rig.stop());
    let gone = tmux.until_shows(&["The riskguard daemon is unreachable", "Retrying in"]);
    eprintln!("--- daemon stopped ---\n{gone}");

    // A new daemon on the same data dir (a new port, a new simulator): the screen recovers, still LOCKED.
    let _restarted = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = sim::spawn(sim::SimConfig::default(), listener)
            .await
            .unwrap();
        let daemon = common::start_daemon(&rules, &sim.base_url(), &data_dir).await;
        (sim, daemon)
    });
    let back = tmux.until_shows(&["● live", "Account 7001", "LOCKED", "ends in"]);
    eprintln!("--- daemon restarted ---\n{back}");

    tmux.keys("q");
    tmux.until("the UI to quit", |_| {
        (tmux.pane("#{pane_dead}") == "1").then_some(())
    });
}
