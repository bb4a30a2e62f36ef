//! `riskguard run` as a child process on a config dir of its own, against a simulator: for tests that drive
//! the binary's clients (admin commands, the trader's UI) against a real daemon.

use std::fs::{self, File};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{ACCOUNT, BIN, Proc, read, wait_for};

const USER_VAR: &str = "RG_TEST_DAEMON_USER";
const KEY_VAR: &str = "RG_TEST_DAEMON_KEY";

/// A test's directories: `root/config` (accounts.yaml pointing at the simulator with the API on a free
/// loopback port, and the given risk_config.yaml) and `root/data`.
#[derive(Debug, Clone)]
pub struct Dirs {
    pub root: PathBuf,
    pub config: PathBuf,
    pub data: PathBuf,
}

impl Dirs {
    pub fn new(test: &str, sim_base: &str, risk_config: &str) -> Dirs {
        let root = std::env::temp_dir().join(format!("riskguard-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let config = root.join("config");
        let data = root.join("data");
        fs::create_dir_all(&config).unwrap();
        fs::create_dir_all(&data).unwrap();
        fs::write(config.join("risk_config.yaml"), risk_config).unwrap();
        fs::write(
            config.join("accounts.yaml"),
            format!(
                "gateway:\n  api_url: \"{sim_base}\"\n  realtime_url: \"{sim_base}\"\nlogins:\n  - name: main\n    \
                 user_name_env: {USER_VAR}\n    api_key_env: {KEY_VAR}\naccounts:\n  - id: {ACCOUNT}\n    login: main\n\
                 api:\n  listen: \"127.0.0.1:0\"\n"
            ),
        )
        .unwrap();
        Dirs { root, config, data }
    }

    pub fn risk_config(&self) -> PathBuf {
        self.config.join("risk_config.yaml")
    }
}

/// A running `riskguard run` (killed when dropped), its stderr in a file.
pub struct Daemon {
    pub proc: Proc,
    pub stderr: PathBuf,
}

/// Start `riskguard run` on `dirs` (the simulator's `demo` login) and wait until it enforces and its API
/// answers.
pub fn start(dirs: &Dirs, n: usize) -> Daemon {
    let stderr = dirs.root.join(format!("run-{n:02}.stderr"));
    let child = Command::new(BIN)
        .arg("run")
        .arg("--config-dir")
        .arg(&dirs.config)
        .arg("--data-dir")
        .arg(&dirs.data)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .env(USER_VAR, "demo")
        .env(KEY_VAR, "demo")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&stderr).unwrap())
        .spawn()
        .expect("start riskguard run");
    let mut daemon = Daemon {
        proc: Proc::new(format!("riskguard run #{n}"), child),
        stderr,
    };
    wait_for(
        &format!("riskguard run #{n} to enforce with its API listening"),
        Duration::from_secs(30),
        || {
            if let Some(status) = daemon.proc.exited() {
                panic!(
                    "riskguard run #{n} exited early ({status}):\n{}",
                    read(&daemon.stderr)
                );
            }
            let log = read(&daemon.stderr);
            (log.contains("riskguard is enforcing") && log.contains("internal API listening"))
                .then_some(())
        },
    );
    daemon
}
