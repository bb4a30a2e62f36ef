//! The `riskguard` command line: thin subcommands over the library crates.
//!
//! Exit codes: 0 success, 2 bad input or bad config (with every error named), anything else a bug or an
//! environment failure.

use std::fs::File;
use std::io::{self, BufReader, BufWriter};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod admin_cmd;
mod credentials_cmd;
mod service_cmd;
mod status_cmd;
mod trader_cmd;

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
    /// Start the simulator and the daemon in-process and let a scripted trader breach five rules (no
    /// account or network needed). Exit 0 when every enforcement happened.
    Demo,
    /// Watch the accounts of accounts.yaml and enforce risk_config.yaml (both in --config-dir).
    Run {
        #[arg(long)]
        config_dir: PathBuf,
        /// Where the journal, logs and tokens live (default: the platform's data dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Write one trading day of the journal as replayable JSONL (REPLAY.md) to standard output.
    ExportJournal {
        /// The trading day, named by the date it ends on (YYYY-MM-DD, in the config's time zone).
        #[arg(long)]
        day: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The config dir whose risk_config.yaml gives the reset time and time zone (default: 17:00 Chicago).
        #[arg(long)]
        config_dir: Option<PathBuf>,
    },
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
    /// Print a one-screen summary of the running daemon (over its internal API).
    Status {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// The trader's live terminal screen: state, P&L, rule usage, positions, locks, history, connections
    /// (keys: Tab, 1-7, ? for help, q to quit).
    Trader {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Administration of the daemon on this machine.
    Admin {
        #[command(subcommand)]
        command: admin_cmd::AdminCommand,
    },
    /// Run riskguard as a service: install, uninstall, start, stop, status (systemd or Windows).
    Service(service_cmd::ServiceArgs),
    /// Store a login's user name and API key for the service (`set`), or log in once with them (`check`).
    Credentials(credentials_cmd::CredentialsArgs),
}

/// The small runtime of a command that talks to the daemon's API (status, trader, admin); `None` after saying
/// why it cannot start.
fn client_runtime(command: &str) -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("{command}: cannot start the runtime: {e}");
            None
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo => demo(),
        Command::Run {
            config_dir,
            data_dir,
        } => run(&config_dir, data_dir),
        Command::ExportJournal {
            day,
            data_dir,
            config_dir,
        } => export_journal(&day, data_dir, config_dir.as_deref()),
        Command::Replay { config, events } => replay(&config, &events),
        Command::CheckConfig { path } => check_config(&path),
        Command::Sim { listen, config } => sim(&listen, config.as_deref()),
        Command::Status { data_dir } => status_cmd::run(data_dir),
        Command::Trader { data_dir } => trader_cmd::run(data_dir),
        Command::Admin { command } => admin_cmd::run(command),
        Command::Service(args) => service_cmd::main(args),
        Command::Credentials(args) => credentials_cmd::main(args),
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

/// The daemon's runtime ([`daemon::runtime`]), for `run` and `demo`.
fn runtime() -> Option<tokio::runtime::Runtime> {
    match daemon::runtime() {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            None
        }
    }
}

fn demo() -> ExitCode {
    let Some(rt) = runtime() else {
        return ExitCode::FAILURE;
    };
    match rt.block_on(demo::run()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("riskguard demo: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(config_dir: &std::path::Path, data_dir: Option<PathBuf>) -> ExitCode {
    let data_dir = data_dir.unwrap_or_else(daemon::setup::default_data_dir);
    let config = match daemon::from_dir(config_dir, data_dir.clone()) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("riskguard refuses to start:");
            for e in &errors.0 {
                eprintln!("  {e}");
            }
            return ExitCode::from(2);
        }
    };
    let _logs = match daemon::logging::init(&data_dir) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("riskguard: {e:#}");
            return ExitCode::from(2);
        }
    };
    let Some(rt) = runtime() else {
        return ExitCode::FAILURE;
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let shutdown = async {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return shutdown.await,
            };
        tokio::select! {
            () = shutdown => {}
            _ = term.recv() => {}
        }
    };
    // Under systemd (Type=notify): READY=1 after reconciliation, WATCHDOG=1 while the loop turns.
    let hooks = service_cmd::systemd_hooks(&rt);
    match rt.block_on(daemon::run(config, shutdown, hooks)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("riskguard: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn export_journal(
    day: &str,
    data_dir: Option<PathBuf>,
    config_dir: Option<&std::path::Path>,
) -> ExitCode {
    let Ok(date) = day.parse::<jiff::civil::Date>() else {
        eprintln!("--day {day}: expected YYYY-MM-DD");
        return ExitCode::from(2);
    };
    let risk = match config_dir.map(|d| config::load_risk_config(&d.join("risk_config.yaml"))) {
        Some(Ok(r)) => r,
        Some(Err(errors)) => {
            print_config_errors(&errors);
            return ExitCode::from(2);
        }
        None => model::config::RiskConfig::default(),
    };
    let data_dir = data_dir.unwrap_or_else(daemon::setup::default_data_dir);
    let store = match store::Store::open_read_only(&data_dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("riskguard export-journal: {e}");
            return ExitCode::from(2);
        }
    };
    match daemon::export::day(&store, &risk.global, date, &mut io::stdout().lock()) {
        Ok(n) => {
            eprintln!("{n} lines written");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("riskguard export-journal: {e:#}");
            ExitCode::FAILURE
        }
    }
}
