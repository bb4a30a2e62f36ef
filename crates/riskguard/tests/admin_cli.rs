//! `riskguard admin ...` end to end: the binary's admin commands against `riskguard run` on the simulator,
//! with passwords and confirmations piped in. A wrong password is refused and repeated failures lock the login;
//! the admin token is kept (0600) between commands; `unlock` without a reason is refused; a loosening waits for
//! a typed confirmation and then its cooling-off delay while a tightening applies at once; `rules set` keeps
//! the file's comments and refuses an invalid value without touching the file; `reload` prints every error.
//! No password appears in any output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Output;
use std::time::Duration;

use support::daemon::{self, Dirs};
use support::{ACCOUNT, Sim, run_with_stdin, wait_for};

const MNQ: &str = "CON.F.US.MNQ.Z25";
const PASSWORD: &str = "tr0ub4dor&3-admin";

const RULES: &str = "# Desk limits: reviewed by risk every Monday.
global:
  tighten_only: always       # the guard holds at every hour in this test
  cooling_off_minutes: 15
rules:
  max_contracts:
    enabled: true
    limit: 2                 # two lots until the trader has a month of green days
    action: close_all
  daily_realized_loss:
    enabled: true
    loss_limit: 500.00       # the firm's own limit is 1000
";

struct Admin {
    dirs: Dirs,
    outputs: Vec<String>,
}

impl Admin {
    /// `riskguard admin ARGS --data-dir DATA` with `stdin` piped in.
    fn run(&mut self, args: &[&str], stdin: &str) -> Output {
        let data = self.dirs.data.to_str().unwrap().to_owned();
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        all.extend(["--data-dir", &data]);
        let out = run_with_stdin(&all, stdin);
        self.outputs.push(format!("{out:?}"));
        out
    }

    fn ok(&mut self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert!(out.status.success(), "admin {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The command fails with exit 2; its stderr.
    fn refused(&mut self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert_eq!(out.status.code(), Some(2), "admin {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

#[test]
fn admin_commands_against_a_running_daemon() {
    let sim = Sim::start(None, "demo", "demo");
    let dirs = Dirs::new("admin-cli", &sim.base, RULES);
    let _daemon = daemon::start(&dirs, 1);
    let file = dirs.risk_config();
    let mut admin = Admin {
        dirs: dirs.clone(),
        outputs: Vec::new(),
    };
    admin.ok(&["set-password"], &format!("{PASSWORD}\n{PASSWORD}\n"));

    // A wrong password is refused; the right one logs in and the token is kept, owner-only.
    let err = admin.refused(&["login"], "not-the-password\n");
    assert!(err.contains("401"), "{err}");
    let out = admin.ok(&["login"], &format!("{PASSWORD}\n"));
    assert!(out.contains("logged in until"), "{out}");
    let session = api::files::api_dir(&dirs.data).join("admin.session");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&session).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    // The trader loses past the daily limit: the account locks.
    sim.price(MNQ, 21000);
    sim.market(MNQ, 0, 1);
    sim.price(MNQ, 20500);
    sim.market(MNQ, 1, 1);
    let status = wait_for("the daily-loss lock", Duration::from_secs(20), || {
        let out = admin.ok(&["status"], "");
        out.contains(&format!("account {ACCOUNT}  LOCKED"))
            .then_some(out)
    });
    assert!(status.contains("admin: logged in"), "{status}");

    // `unlock` without a reason is refused before anything is sent.
    let err = admin.refused(
        &[
            "unlock",
            "--account",
            "7001",
            "--rule",
            "daily_realized_loss",
        ],
        "",
    );
    assert!(err.contains("a reason is required"), "{err}");

    // Clearing the lock loosens: it asks for a typed confirmation; anything but `yes` changes nothing.
    let unlock = [
        "unlock",
        "--account",
        "7001",
        "--rule",
        "daily_realized_loss",
        "--reason",
        "desk approved",
    ];
    let err = admin.refused(&unlock, "no\n");
    assert!(err.contains("not confirmed"), "{err}");
    assert!(err.contains("loosens"), "{err}");
    let out = admin.ok(&unlock, "yes\n");
    assert!(out.contains("pending change 1 takes effect at"), "{out}");
    let status = admin.ok(&["status"], "");
    assert!(
        status.contains(&format!("account {ACCOUNT}  LOCKED")),
        "{status}"
    );
    assert!(
        status.contains("#1 at") && status.contains("clearing the daily_realized_loss lock"),
        "{status}"
    );

    // A lower loss limit tightens: at once, with the file's comments kept.
    let out = admin.ok(
        &[
            "rules",
            "set",
            "daily_realized_loss.loss_limit",
            "400",
            "--reason",
            "bad week",
        ],
        "",
    );
    assert!(out.contains("applied"), "{out}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        text,
        RULES.replace("loss_limit: 500.00       #", "loss_limit: 400       #")
    );
    let shown = admin.ok(&["rules", "show"], "");
    assert!(
        shown.contains("daily_realized_loss.loss_limit = 400\n"),
        "{shown}"
    );

    // An invalid value changes nothing and names the error.
    let err = admin.refused(
        &[
            "rules",
            "set",
            "max_contracts.limit",
            "-3",
            "--reason",
            "typo",
        ],
        "",
    );
    assert!(err.contains("max_contracts.limit"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);

    // A higher contract cap loosens: confirmed, it waits; the file and the running rule stay.
    let out = admin.ok(
        &[
            "rules",
            "set",
            "max_contracts.limit",
            "5",
            "--reason",
            "scaling up",
        ],
        "yes\n",
    );
    assert!(out.contains("pending change 2"), "{out}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    let shown = admin.ok(&["rules", "show"], "");
    assert!(shown.contains("max_contracts.limit = 2\n"), "{shown}");
    assert!(shown.contains("#2 at"), "{shown}");
    let out = admin.ok(&["cancel-pending", "2", "--reason", "not today"], "");
    assert!(out.contains("withdrawn"), "{out}");

    // `reload` validates first and prints every error; the running config stays.
    std::fs::write(
        &file,
        "rules:\n  max_contracts: { enabled: true, limit: -1 }\n  bogus_rule: {}\n",
    )
    .unwrap();
    let err = admin.refused(&["reload"], "");
    assert!(err.contains("max_contracts.limit"), "{err}");
    assert!(err.contains("bogus_rule"), "{err}");
    std::fs::write(&file, &text).unwrap();

    // Dry-run on stops enforcement: a loosening like the others. Flatten acts at once.
    let err = admin.refused(&["dry-run", "on", "--reason", "testing"], "no\n");
    assert!(err.contains("dry-run on"), "{err}");
    let out = admin.ok(&["dry-run", "on", "--reason", "testing"], "yes\n");
    assert!(out.contains("pending change 3"), "{out}");
    let out = admin.ok(
        &["flatten", "--account", "7001", "--reason", "end of day"],
        "",
    );
    assert!(out.contains("closing every position"), "{out}");

    // Without the kept token, five wrong passwords lock the login: the right one is refused too.
    admin.ok(&["logout"], "");
    assert!(!session.exists());
    for _ in 0..5 {
        admin.refused(&["login"], "guess\n");
    }
    let err = admin.refused(&["login"], &format!("{PASSWORD}\n"));
    assert!(err.contains("429"), "{err}");

    // No password ever reached an output.
    for out in &admin.outputs {
        assert!(!out.contains(PASSWORD), "the password leaked: {out}");
    }
}
