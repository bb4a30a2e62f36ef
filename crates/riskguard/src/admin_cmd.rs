//! `riskguard admin ...`: administration of the running daemon, over its internal API only (no back door into
//! the daemon's files besides the API's own endpoint and token files).
//!
//! `set-password` sets or changes the admin password (an Argon2id hash in `<data_dir>/api/admin.argon2`, mode
//! 0600). Every other command that acts logs in with the password (asked without echo) unless a short-lived
//! admin token from an earlier command is still valid: it is kept in `<data_dir>/api/admin.session` (0600)
//! until it expires (15 minutes) or `admin logout`. Passwords and confirmations are read from the terminal;
//! when standard input is not a terminal (scripts, tests), one answer per line is read from it. No password or
//! token is ever printed.
//!
//! A loosening during the trading day (clearing a lock, a higher limit, a disabled rule) is answered by the
//! daemon with what it loosens; the command shows that and asks for a second confirmation (`yes`), then the
//! change waits out the cooling-off delay. Tightening applies at once.
//!
//! Exit codes: 0 done (or scheduled), 1 the daemon is unreachable, 2 refused (wrong password, bad input,
//! invalid config, not confirmed).

use std::io::{BufRead, IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use api::client::{Client, ClientError};
use api::{AdminDone, PendingChange};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};

#[derive(Debug, Args)]
pub struct Target {
    /// The daemon's data dir (default: the platform's data dir).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Set the admin password of the internal API (asks for the old one when a password is set).
    SetPassword {
        #[command(flatten)]
        target: Target,
    },
    /// Log in with the admin password and keep the admin token for 15 minutes.
    Login {
        #[command(flatten)]
        target: Target,
    },
    /// Forget the kept admin token.
    Logout {
        #[command(flatten)]
        target: Target,
    },
    /// The daemon's status, with the changes waiting out their cooling-off delay.
    Status {
        #[command(flatten)]
        target: Target,
    },
    /// Clear one lock of one account (during the trading day: confirmed, then after the cooling-off delay).
    Unlock {
        #[arg(long)]
        account: i64,
        /// The rule that set the lock (`daily_realized_loss`, `self_lock`, ...).
        #[arg(long)]
        rule: String,
        /// Why (journaled; required).
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Close every position and cancel every working order of an account now.
    Flatten {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Record decisions without sending anything (`on`), or send again (`off`).
    DryRun {
        #[arg(value_parser = ["on", "off"])]
        state: String,
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Re-read risk_config.yaml: validated first, every error printed; loosening waits (see above).
    Reload {
        #[command(flatten)]
        target: Target,
    },
    /// Show or change the rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Withdraw a change that waits out its cooling-off delay.
    CancelPending {
        id: u64,
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// The effective rules of every account (read-only), and the changes waiting.
    Show {
        #[command(flatten)]
        target: Target,
    },
    /// Set one key of risk_config.yaml (`RULE.KEY`, `global.KEY` or `accounts.ID.RULE.KEY`) to a YAML value,
    /// keeping the file's comments; validated, then reloaded.
    Set {
        key: String,
        #[arg(allow_hyphen_values = true)]
        value: String,
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        target: Target,
    },
}

/// Where answers come from: the terminal (passwords without echo), or lines of standard input.
struct Prompter {
    terminal: bool,
    lines: std::io::Lines<std::io::StdinLock<'static>>,
}

impl Prompter {
    fn new() -> Prompter {
        let stdin = std::io::stdin();
        Prompter {
            terminal: stdin.is_terminal(),
            lines: stdin.lock().lines(),
        }
    }

    fn line(&mut self, prompt: &str) -> Result<String, String> {
        if self.terminal {
            eprint!("{prompt}");
            let _ = std::io::stderr().flush();
        }
        match self.lines.next() {
            Some(Ok(line)) => Ok(line.trim_end_matches(['\r', '\n']).to_owned()),
            Some(Err(e)) => Err(format!("cannot read standard input: {e}")),
            None => Err("standard input ended before every answer was given".to_owned()),
        }
    }

    fn secret(&mut self, prompt: &str) -> Result<String, String> {
        if self.terminal {
            return rpassword::prompt_password(prompt).map_err(|e| format!("cannot read: {e}"));
        }
        self.line(prompt)
    }
}

/// Why a command failed, and its exit code.
struct Failure {
    code: u8,
    message: String,
    details: Vec<String>,
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        match e {
            ClientError::Unreachable(_) => Failure {
                code: 1,
                message: e.to_string(),
                details: Vec::new(),
            },
            ClientError::Api { status, body } => Failure {
                code: 2,
                message: format!("refused (HTTP {status}): {}", body.error),
                details: body.details,
            },
            other => Failure {
                code: 2,
                message: other.to_string(),
                details: Vec::new(),
            },
        }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure {
            code: 2,
            message,
            details: Vec::new(),
        }
    }
}

type Outcome = Result<String, Failure>;

/// The kept admin token.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Session {
    token: String,
    expires_at: jiff::Timestamp,
}

fn session_path(data_dir: &Path) -> PathBuf {
    api::files::api_dir(data_dir).join("admin.session")
}

fn kept_session(data_dir: &Path) -> Option<Session> {
    let text = api::files::read_private(&session_path(data_dir)).ok()?;
    let session: Session = serde_json::from_str(&text).ok()?;
    // A minute's margin: a token that expires mid-command is no use.
    (session.expires_at > jiff::Timestamp::now() + jiff::SignedDuration::from_mins(1))
        .then_some(session)
}

/// One admin command's context: the data dir, the prompter, the runtime.
struct Ctx {
    data_dir: PathBuf,
    prompter: Prompter,
    rt: tokio::runtime::Runtime,
}

impl Ctx {
    fn trader(&self) -> Result<Client, Failure> {
        Ok(Client::from_data_dir(&self.data_dir)?)
    }

    /// An admin client: the kept token, or a login with the password (then kept).
    fn admin(&mut self) -> Result<Client, Failure> {
        let mut client = self.trader()?;
        if let Some(session) = kept_session(&self.data_dir) {
            client.set_token(session.token);
            // A daemon restart forgets its tokens: a cheap read tells whether the kept one is still known.
            if self.rt.block_on(client.status()).is_ok() {
                return Ok(client);
            }
        }
        self.login(client)
    }

    fn login(&mut self, mut client: Client) -> Result<Client, Failure> {
        let password = self.prompter.secret("Admin password: ")?;
        let answer = self.rt.block_on(client.login(&password, None))?;
        let session = Session {
            token: answer.token,
            expires_at: answer.expires_at,
        };
        let text = serde_json::to_string(&session).map_err(|e| e.to_string())?;
        if let Err(e) = api::files::write_private(&session_path(&self.data_dir), &text) {
            eprintln!("note: the admin token cannot be kept ({e}); the next command asks again");
        }
        Ok(client)
    }

    fn reason(&mut self, given: Option<String>) -> Result<String, Failure> {
        let reason = match given {
            Some(r) => r,
            None if self.prompter.terminal => self.prompter.line("Reason (journaled): ")?,
            None => String::new(),
        };
        let reason = reason.trim().to_owned();
        if reason.is_empty() {
            return Err(Failure::from(
                "a reason is required (--reason \"...\"): it is journaled and shown to the trader"
                    .to_owned(),
            ));
        }
        Ok(reason)
    }

    /// Send a loosening-aware action: when the daemon asks for confirmation, show what loosens and ask.
    fn confirmed<F, Fut>(&mut self, client: &Client, send: F) -> Outcome
    where
        F: Fn(Client, bool) -> Fut,
        Fut: std::future::Future<Output = Result<AdminDone, ClientError>>,
    {
        match self.rt.block_on(send(client.clone(), false)) {
            Ok(done) => Ok(describe(&done)),
            Err(ClientError::Api { status: 409, body }) => {
                eprintln!("{}", body.error);
                for d in &body.details {
                    eprintln!("  loosens: {d}");
                }
                let answer = self
                    .prompter
                    .line("Type yes to confirm and start the cooling-off delay: ")?;
                if answer.trim() != "yes" {
                    return Err(Failure::from("not confirmed: nothing changed".to_owned()));
                }
                let done = self.rt.block_on(send(client.clone(), true))?;
                Ok(describe(&done))
            }
            Err(e) => Err(e.into()),
        }
    }
}

fn describe(done: &AdminDone) -> String {
    match &done.pending {
        Some(p) => format!(
            "{}\npending change {} takes effect at {} (withdraw it with `riskguard admin cancel-pending {}`)",
            done.message, p.id, p.effective_at, p.id
        ),
        None => done.message.clone(),
    }
}

fn pending_lines(pending: &[PendingChange]) -> String {
    if pending.is_empty() {
        return "pending changes: none\n".to_owned();
    }
    let mut out = String::from("pending changes:\n");
    for p in pending {
        out.push_str(&format!(
            "  #{} at {}: {} ({}, by {})\n",
            p.id, p.effective_at, p.description, p.reason, p.by
        ));
        for l in &p.loosens {
            if *l != p.description {
                out.push_str(&format!("      loosens {l}\n"));
            }
        }
    }
    out
}

/// The effective rules as `rule.key = value` lines, per account (the trader's Rules tab shows the same).
fn rules_text(rules: &[api::AccountRules]) -> String {
    let mut out = String::new();
    for a in rules {
        out.push_str(&format!("account {}\n", a.account));
        let mut lines = Vec::new();
        tui::render::flatten("", &a.rules, &mut lines);
        for l in lines {
            out.push_str(&format!("  {l}\n"));
        }
    }
    out
}

fn target_dir(target: &Target) -> PathBuf {
    target
        .data_dir
        .clone()
        .unwrap_or_else(daemon::setup::default_data_dir)
}

/// Run an admin subcommand.
pub fn run(command: AdminCommand) -> ExitCode {
    let (name, target) = match &command {
        AdminCommand::SetPassword { target } => ("set-password", target),
        AdminCommand::Login { target } => ("login", target),
        AdminCommand::Logout { target } => ("logout", target),
        AdminCommand::Status { target } => ("status", target),
        AdminCommand::Unlock { target, .. } => ("unlock", target),
        AdminCommand::Flatten { target, .. } => ("flatten", target),
        AdminCommand::DryRun { target, .. } => ("dry-run", target),
        AdminCommand::Reload { target } => ("reload", target),
        AdminCommand::Rules {
            command: RulesCommand::Show { target },
        } => ("rules show", target),
        AdminCommand::Rules {
            command: RulesCommand::Set { target, .. },
        } => ("rules set", target),
        AdminCommand::CancelPending { target, .. } => ("cancel-pending", target),
    };
    let data_dir = target_dir(target);
    if matches!(command, AdminCommand::SetPassword { .. }) {
        return set_password(&data_dir);
    }
    let Some(rt) = crate::client_runtime(&format!("riskguard admin {name}")) else {
        return ExitCode::FAILURE;
    };
    let mut ctx = Ctx {
        data_dir,
        prompter: Prompter::new(),
        rt,
    };
    match act(&mut ctx, command) {
        Ok(text) => {
            print!("{text}");
            if !text.ends_with('\n') {
                println!();
            }
            ExitCode::SUCCESS
        }
        Err(f) => {
            eprintln!("riskguard admin {name}: {}", f.message);
            for d in &f.details {
                eprintln!("  {d}");
            }
            ExitCode::from(f.code)
        }
    }
}

fn act(ctx: &mut Ctx, command: AdminCommand) -> Outcome {
    match command {
        AdminCommand::SetPassword { .. } => Err(Failure::from("unreachable".to_owned())),
        AdminCommand::Login { .. } => {
            let client = ctx.trader()?;
            ctx.login(client)?;
            let session = kept_session(&ctx.data_dir);
            Ok(session.map_or_else(
                || "logged in".to_owned(),
                |s| format!("logged in until {}", s.expires_at),
            ))
        }
        AdminCommand::Logout { .. } => {
            let _ = std::fs::remove_file(session_path(&ctx.data_dir));
            Ok("logged out: the kept admin token is forgotten".to_owned())
        }
        AdminCommand::Status { .. } => {
            let client = ctx.trader()?;
            let (status, accounts, locks, pending) = ctx.rt.block_on(async {
                Ok::<_, ClientError>((
                    client.status().await?,
                    client.accounts().await?,
                    client.locks().await?,
                    client.pending().await?,
                ))
            })?;
            let mut out = crate::status_cmd::render(&status, &accounts, &locks);
            out.push('\n');
            out.push_str(&pending_lines(&pending));
            out.push_str(match kept_session(&ctx.data_dir) {
                Some(_) => "admin: logged in\n",
                None => "admin: not logged in\n",
            });
            Ok(out)
        }
        AdminCommand::Unlock {
            account,
            rule,
            reason,
            ..
        } => {
            let reason = ctx.reason(reason)?;
            let client = ctx.admin()?;
            ctx.confirmed(&client, |c, confirm| {
                let (rule, reason) = (rule.clone(), reason.clone());
                async move { c.clear_lock(account, &rule, &reason, confirm).await }
            })
        }
        AdminCommand::Flatten {
            account, reason, ..
        } => {
            let reason = ctx.reason(reason)?;
            let client = ctx.admin()?;
            Ok(describe(
                &ctx.rt.block_on(client.flatten(account, &reason))?,
            ))
        }
        AdminCommand::DryRun { state, reason, .. } => {
            let reason = ctx.reason(reason)?;
            let client = ctx.admin()?;
            let on = state == "on";
            ctx.confirmed(&client, |c, confirm| {
                let reason = reason.clone();
                async move { c.set_dry_run(on, &reason, confirm).await }
            })
        }
        AdminCommand::Reload { .. } => {
            let client = ctx.admin()?;
            ctx.confirmed(&client, |c, confirm| async move { c.reload(confirm).await })
        }
        AdminCommand::Rules {
            command: RulesCommand::Show { .. },
        } => {
            let client = ctx.trader()?;
            let (rules, pending) = ctx.rt.block_on(async {
                Ok::<_, ClientError>((client.rules().await?, client.pending().await?))
            })?;
            Ok(format!(
                "{}\n{}",
                rules_text(&rules),
                pending_lines(&pending)
            ))
        }
        AdminCommand::Rules {
            command: RulesCommand::Set {
                key, value, reason, ..
            },
        } => {
            let reason = ctx.reason(reason)?;
            let client = ctx.admin()?;
            ctx.confirmed(&client, |c, confirm| {
                let (key, value, reason) = (key.clone(), value.clone(), reason.clone());
                async move { c.set_rule(&key, &value, &reason, confirm).await }
            })
        }
        AdminCommand::CancelPending { id, reason, .. } => {
            let reason = ctx.reason(reason)?;
            let client = ctx.admin()?;
            Ok(describe(
                &ctx.rt.block_on(client.cancel_pending(id, &reason))?,
            ))
        }
    }
}

fn set_password(data_dir: &Path) -> ExitCode {
    let has_password = match api::files::read_admin_hash(data_dir) {
        Ok(hash) => hash.is_some(),
        Err(e) => {
            eprintln!("riskguard admin set-password: {e}");
            return ExitCode::from(2);
        }
    };
    let mut prompter = Prompter::new();
    let result = (|| {
        let old = if has_password {
            Some(prompter.secret("Current admin password: ")?)
        } else {
            None
        };
        let new = prompter.secret("New admin password: ")?;
        let again = prompter.secret("New admin password again: ")?;
        if new != again {
            return Err("the two new passwords differ; nothing changed".to_owned());
        }
        api::set_admin_password(data_dir, old.as_deref(), &new).map_err(|e| e.to_string())
    })();
    match result {
        Ok(()) => {
            println!(
                "admin password set ({})",
                api::files::admin_hash_path(data_dir).display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("riskguard admin set-password: {e}");
            ExitCode::from(2)
        }
    }
}
