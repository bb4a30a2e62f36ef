//! The `riskguard` command line: thin subcommands over the library crates.
//!
//! Exit codes: 0 success, 2 bad input or bad config (with every error named), anything else a bug or an
//! environment failure.

use std::fs::File;
use std::io::{self, BufReader, BufWriter};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "riskguard",
    version,
    about = "Risk-management daemon for futures traders on the ProjectX Gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the rule engine over a JSONL event script and print every decision as JSON lines.
    Replay {
        /// The risk_config.yaml to apply (holidays.yaml beside it is read too).
        #[arg(long)]
        config: PathBuf,
        /// The event script (REPLAY.md format); `-` reads standard input.
        events: PathBuf,
    },
    /// Validate a risk config file, or every config file in a directory. Prints `ok` or every error.
    CheckConfig { path: PathBuf },
    /// Run the ProjectX gateway simulator (SIM.md) and print the base URL it serves.
    Sim {
        /// Address to listen on; loopback only is sensible. Port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// Simulator config (users, accounts, contracts, limits); the built-in default has user `demo`.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Replay { config, events } => replay(&config, &events),
        Command::CheckConfig { path } => check_config(&path),
        Command::Sim { listen, config } => sim(&listen, config.as_deref()),
    }
}

fn print_config_errors(errors: &[config::ConfigError]) {
    for e in errors {
        eprintln!("{e}");
    }
    eprintln!(
        "{} error{} found",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
}

fn check_config(path: &std::path::Path) -> ExitCode {
    match config::check_path(path) {
        Ok(_) => {
            println!("ok");
            ExitCode::SUCCESS
        }
        Err(errors) => {
            print_config_errors(&errors);
            ExitCode::from(2)
        }
    }
}

fn replay(config_path: &std::path::Path, events: &std::path::Path) -> ExitCode {
    let config = match config::load_risk_config(config_path) {
        Ok(c) => c,
        Err(errors) => {
            print_config_errors(&errors);
            return ExitCode::from(2);
        }
    };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let name = events.display().to_string();
    let result = if events.as_os_str() == "-" {
        replay::run(&config, io::stdin().lock(), "stdin", &mut out)
    } else {
        match File::open(events) {
            Ok(f) => replay::run(
                &config,
                BufReader::with_capacity(1 << 16, f),
                &name,
                &mut out,
            ),
            Err(e) => {
                eprintln!("{name}: {e}");
                return ExitCode::from(2);
            }
        }
    };
    drop(out);
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e @ replay::ReplayError::BadLine { .. }) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn sim(listen: &str, config: Option<&std::path::Path>) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(sim::run_cli(listen, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("riskguard sim: {e:#}");
            ExitCode::from(2)
        }
    }
}
