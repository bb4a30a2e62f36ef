//! `riskguard admin ...`: administration on this machine. `set-password` sets or changes the admin password
//! of the internal API (an Argon2id hash in `<data_dir>/api/admin.argon2`, mode 0600). Passwords are read
//! without echo from the terminal; when standard input is not a terminal (scripts, tests) one password per
//! line is read from it. No password is ever printed.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Set the admin password of the internal API (asks for the old one when a password is set).
    SetPassword {
        /// The daemon's data dir (default: the platform's data dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

/// Run an admin subcommand.
pub fn run(command: AdminCommand) -> ExitCode {
    match command {
        AdminCommand::SetPassword { data_dir } => {
            set_password(&data_dir.unwrap_or_else(daemon::setup::default_data_dir))
        }
    }
}

/// Where passwords come from: the terminal without echo, or lines of standard input.
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

    fn ask(&mut self, prompt: &str) -> Result<String, String> {
        if self.terminal {
            return rpassword::prompt_password(prompt).map_err(|e| format!("cannot read: {e}"));
        }
        match self.lines.next() {
            Some(Ok(line)) => Ok(line.trim_end_matches(['\r', '\n']).to_owned()),
            Some(Err(e)) => Err(format!("cannot read standard input: {e}")),
            None => Err("standard input ended before every password was given".to_owned()),
        }
    }
}

fn set_password(data_dir: &std::path::Path) -> ExitCode {
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
            Some(prompter.ask("Current admin password: ")?)
        } else {
            None
        };
        let new = prompter.ask("New admin password: ")?;
        let again = prompter.ask("New admin password again: ")?;
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
