//! `riskguard credentials set --login NAME` and `riskguard credentials check`: store a login's gateway user
//! name and API key where the service can read them and other users cannot (the `service` crate's
//! credential store under `<config dir>/credentials/`), and log in once with what `accounts.yaml` refers
//! to, listing the accounts each login sees.
//!
//! Both values are read without echo from a terminal; when standard input is not a terminal (a script, a
//! test) they are its first two lines. Neither value is ever printed.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use service::credentials::{Store, StoredCredential};

#[derive(Debug, Args)]
pub struct CredentialsArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Ask for a login's user name and API key (not echoed) and store them; accounts.yaml then names them
    /// with `credential: NAME`.
    Set {
        /// The credential's name (use the login's name from accounts.yaml).
        #[arg(long)]
        login: String,
        /// The config dir (default: the service's, /etc/riskguard or %ProgramData%\riskguard\config).
        #[arg(long)]
        config_dir: Option<PathBuf>,
    },
    /// Log in once with every login of accounts.yaml (or just --login) and list the accounts it sees.
    Check {
        #[arg(long)]
        login: Option<String>,
        #[arg(long)]
        config_dir: Option<PathBuf>,
    },
}

pub fn main(args: CredentialsArgs) -> ExitCode {
    match args.action {
        Action::Set { login, config_dir } => set(
            &login,
            &config_dir.unwrap_or_else(|| crate::service_cmd::default_dirs().0),
        ),
        Action::Check { login, config_dir } => check(
            login.as_deref(),
            &config_dir.unwrap_or_else(|| crate::service_cmd::default_dirs().0),
        ),
    }
}

/// One value: without echo from a terminal, else the next line of standard input.
fn ask(prompt: &str, lines: &mut impl Iterator<Item = io::Result<String>>) -> io::Result<String> {
    if io::stdin().is_terminal() {
        return rpassword::prompt_password(prompt);
    }
    eprint!("{prompt}");
    let _ = io::stderr().flush();
    let line = lines.next().transpose()?.unwrap_or_default();
    eprintln!();
    Ok(line)
}

fn set(name: &str, config_dir: &std::path::Path) -> ExitCode {
    if !config::valid_credential_name(name) {
        eprintln!(
            "riskguard credentials set: `{name}` is not a credential name (1 to 64 letters, digits, `.`, `_`, `-`)"
        );
        return ExitCode::from(2);
    }
    let stdin = io::stdin();
    let mut lines = stdin.lock().lines();
    let user = ask(
        &format!("gateway user name for `{name}` (not shown): "),
        &mut lines,
    );
    let key = ask(&format!("API key for `{name}` (not shown): "), &mut lines);
    let (user, key) = match (user, key) {
        (Ok(u), Ok(k)) => (u.trim().to_string(), k.trim().to_string()),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("riskguard credentials set: cannot read the answer: {e}");
            return ExitCode::FAILURE;
        }
    };
    let store = Store::new(config_dir, None);
    match store.save(name, &StoredCredential::new(user, key)) {
        Ok(path) => {
            println!("stored credential `{name}` in {}", path.display());
            println!(
                "accounts.yaml: give the login `credential: {name}` (instead of user_name_env/api_key_env)"
            );
            println!(
                "check it with: riskguard credentials check --login {name} --config-dir {}",
                config_dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("riskguard credentials set: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check(only: Option<&str>, config_dir: &std::path::Path) -> ExitCode {
    let accounts = match config::load_accounts_config(&config_dir.join("accounts.yaml")) {
        Ok(a) => a,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            return ExitCode::from(2);
        }
    };
    let store = Store::for_config_dir(config_dir);
    let plan = match daemon::setup::plan(
        model::config::RiskConfig::default(),
        None,
        &accounts,
        std::env::temp_dir(),
        &|v| std::env::var(v).ok(),
        Some(&store),
    ) {
        Ok(p) => p,
        Err(errors) => {
            eprintln!("riskguard credentials check:");
            for e in &errors.0 {
                eprintln!("  {e}");
            }
            return ExitCode::from(2);
        }
    };
    let logins: Vec<_> = plan
        .logins
        .iter()
        .filter(|l| only.is_none_or(|n| n == l.name))
        .collect();
    if logins.is_empty() {
        eprintln!(
            "riskguard credentials check: no such login with watched accounts in accounts.yaml"
        );
        return ExitCode::from(2);
    }
    let Ok(rt) = tokio::runtime::Runtime::new() else {
        eprintln!("cannot start the runtime");
        return ExitCode::FAILURE;
    };
    let mut failed = false;
    for login in logins {
        match rt.block_on(daemon::setup::check_login(login)) {
            Ok(seen) => {
                println!(
                    "login `{}`: ok, {} account(s) visible",
                    login.name,
                    seen.len()
                );
                for (id, name, can_trade) in seen {
                    let watched = if login.accounts.contains(&id) {
                        "watched"
                    } else {
                        "not in accounts.yaml"
                    };
                    let trade = match can_trade {
                        Some(true) => "can trade",
                        Some(false) => "cannot trade",
                        None => "canTrade unknown",
                    };
                    println!("  {id}  {name}  ({trade}; {watched})");
                }
            }
            Err(e) => {
                failed = true;
                eprintln!("riskguard credentials check: {e:#}");
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
