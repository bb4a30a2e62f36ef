//! `riskguard trader`: the trader's terminal UI (crates/tui) on the daemon of a data dir. Needs a terminal;
//! says so plainly when standard input or output is not one.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// Run the command.
pub fn run(data_dir: Option<PathBuf>) -> ExitCode {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        eprintln!(
            "riskguard trader: needs a terminal (try `riskguard status` for a plain summary)"
        );
        return ExitCode::from(2);
    }
    let data_dir = data_dir.unwrap_or_else(daemon::setup::default_data_dir);
    let Some(rt) = crate::client_runtime("riskguard trader") else {
        return ExitCode::FAILURE;
    };
    match rt.block_on(tui::app::run(data_dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("riskguard trader: {e}");
            ExitCode::FAILURE
        }
    }
}
