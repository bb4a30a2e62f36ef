//! Process management shared by the integration tests that drive the `riskguard` binary: a child-process
//! guard, a deadline poll, and the simulator (`riskguard sim`) with a trader logged in to it over REST.
#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub mod daemon;

pub const BIN: &str = env!("CARGO_BIN_EXE_riskguard");
/// The trader's account on the simulator.
pub const ACCOUNT: i64 = 7001;
pub const POLL: Duration = Duration::from_millis(20);

/// Run `riskguard ARGS` to the end with `stdin` piped in (prompts read it when it is not a terminal).
pub fn run_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("riskguard starts");
    child
        .stdin
        .take()
        .expect("a piped stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    child.wait_with_output().expect("riskguard ends")
}

/// A child process that is killed (SIGKILL) and reaped when dropped, unless it already ended, so a failing
/// test leaves nothing behind.
pub struct Proc {
    name: String,
    child: Child,
    done: bool,
}

impl Proc {
    pub fn new(name: impl Into<String>, child: Child) -> Proc {
        Proc {
            name: name.into(),
            child,
            done: false,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL (std's `Child::kill` on Unix) and reap.
    pub fn sigkill(&mut self) -> ExitStatus {
        let _ = self.child.kill();
        let status = self.child.wait().expect("reap the child");
        self.done = true;
        status
    }

    /// Send SIGTERM through kill(1) (the workspace forbids `unsafe`, so no libc call); see `wait_exit`.
    pub fn sigterm(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill(1)");
        assert!(sent.success(), "kill -TERM {} failed", self.pid());
    }

    /// The exit status if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        let status = self.child.try_wait().expect("try_wait");
        if status.is_some() {
            self.done = true;
        }
        status
    }

    /// The exit status once the process has ended, or `None` if it is still running after `deadline`.
    pub fn wait_exit(&mut self, deadline: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < deadline {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            std::thread::sleep(POLL);
        }
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.child.kill();
            let _ = self.child.wait();
            eprintln!("(killed {} on drop)", self.name);
        }
    }
}

/// Poll `f` until it returns `Some`, or panic naming `what` after `deadline`.
pub fn wait_for<T>(what: &str, deadline: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(POLL);
    }
}

/// The file's text, empty if it cannot be read (yet).
pub fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

/// The simulator as a child process, and a trader logged in to it over REST.
pub struct Sim {
    pub base: String,
    http: reqwest::blocking::Client,
    token: String,
    user: String,
    api_key: String,
    _proc: Proc,
    _stdout: BufReader<ChildStdout>,
}

impl Sim {
    /// Start `riskguard sim` (with `--config <config>` if given) and log the trader in as `user` / `api_key`.
    pub fn start(config: Option<&Path>, user: &str, api_key: &str) -> Sim {
        let mut cmd = Command::new(BIN);
        cmd.args(["sim", "--listen", "127.0.0.1:0"]);
        if let Some(config) = config {
            cmd.arg("--config").arg(config);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start riskguard sim");
        let mut stdout = BufReader::new(child.stdout.take().expect("sim stdout"));
        let proc = Proc::new("riskguard sim", child);
        let mut first = String::new();
        stdout.read_line(&mut first).expect("read the sim's URL");
        let base = first.trim().to_owned();
        assert!(
            base.starts_with("http://127.0.0.1:"),
            "unexpected first line from riskguard sim: {first:?}"
        );
        let http = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let mut sim = Sim {
            base,
            http,
            token: String::new(),
            user: user.to_owned(),
            api_key: api_key.to_owned(),
            _proc: proc,
            _stdout: stdout,
        };
        sim.login();
        sim
    }

    /// The trader's own login (a token of its own), again after a token expiry.
    pub fn login(&mut self) {
        self.token.clear();
        let login = self.post(
            "/api/Auth/loginKey",
            json!({"userName": self.user, "apiKey": self.api_key}),
        );
        assert_eq!(login["success"], true, "{login}");
        self.token = login["token"].as_str().unwrap().to_owned();
    }

    pub fn post(&self, path: &str, body: Value) -> Value {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(&body);
        if path.starts_with("/api/") && !self.token.is_empty() {
            request = request.bearer_auth(&self.token);
        }
        let response = request.send().expect("POST to the simulator");
        let status = response.status();
        let body: Value = response.json().unwrap_or(Value::Null);
        assert!(status.is_success(), "POST {path}: HTTP {status}: {body}");
        body
    }

    pub fn state(&self) -> Value {
        self.http
            .get(format!("{}/sim/state", self.base))
            .send()
            .expect("GET /sim/state")
            .json()
            .expect("/sim/state JSON")
    }

    pub fn price(&self, contract: &str, last: i64) {
        let r = self.post(
            "/sim/price",
            json!({"contractId": contract, "lastPrice": last}),
        );
        assert_eq!(r["success"], true, "{r}");
    }

    /// A market order of the trader (side 0 buy, 1 sell).
    pub fn market(&self, contract: &str, side: i64, size: i64) {
        let r = self.post(
            "/api/Order/place",
            json!({"accountId": ACCOUNT, "contractId": contract, "type": 2, "side": side, "size": size}),
        );
        assert_eq!(r["success"], true, "order refused: {r}");
    }

    /// How many times the simulator has served the REST `path`, in a `/sim/state` snapshot.
    pub fn calls(state: &Value, path: &str) -> u64 {
        state["restCalls"][path].as_u64().unwrap_or(0)
    }
}

/// The head of a risk config whose daily reset (Chicago time) is half a day away, so that a lock a test sets
/// cannot end at a real reset while the test runs: `global:` with `reset_time`, `timezone` and
/// `subtract_fees: false`, each on its own line, ready for more `global` keys.
pub fn global_reset_half_a_day_away() -> String {
    let reset = jiff::Timestamp::now()
        .in_tz("America/Chicago")
        .expect("the bundled tz database has Chicago")
        .checked_add(jiff::SignedDuration::from_hours(12))
        .expect("a representable instant");
    format!(
        "global:\n  reset_time: \"{:02}:{:02}\"\n  timezone: \"America/Chicago\"\n  subtract_fees: false\n",
        reset.hour(),
        reset.minute()
    )
}
