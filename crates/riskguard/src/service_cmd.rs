//! `riskguard service install|uninstall|start|stop|status`: riskguard as a systemd service on Linux and a
//! Windows service on Windows (the settings come from the `service` crate's pure functions; `--dry-run`
//! prints them without touching the system), the hidden `service run-windows` the Windows SCM launches, and
//! [`systemd_hooks`], which `riskguard run` uses to send `READY=1` and the watchdog pings under systemd.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct ServiceArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Clone, Args)]
struct Dirs {
    /// accounts.yaml, risk_config.yaml and credentials/ (default: /etc/riskguard; on Windows
    /// %ProgramData%\riskguard\config).
    #[arg(long)]
    config_dir: Option<PathBuf>,
    /// The journal and logs (default: /var/lib/riskguard; on Windows %ProgramData%\riskguard\data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Register the service (start with the machine, restart after a crash) without starting it.
    Install {
        #[command(flatten)]
        dirs: Dirs,
        /// Print what would be registered or written, and do nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Stop and remove the service; the config, credentials, journal and logs stay.
    Uninstall {
        #[arg(long)]
        dry_run: bool,
    },
    /// Start the installed service.
    Start {
        #[arg(long)]
        dry_run: bool,
    },
    /// Stop the service cleanly (enforcement in flight finishes or is journaled, the store is flushed).
    Stop {
        #[arg(long)]
        dry_run: bool,
    },
    /// Whether the service is installed and running, where its files and logs are, which credentials exist
    /// (names only).
    Status {
        #[command(flatten)]
        dirs: Dirs,
    },
    /// What the Windows service control manager launches; not for people.
    #[command(hide = true)]
    RunWindows {
        #[command(flatten)]
        dirs: Dirs,
    },
}

/// The service's config and data dirs, defaults filled in.
fn dirs(d: &Dirs) -> (PathBuf, PathBuf) {
    let (config, data) = default_dirs();
    (
        d.config_dir.clone().unwrap_or(config),
        d.data_dir.clone().unwrap_or(data),
    )
}

/// The platform's default service dirs.
pub fn default_dirs() -> (PathBuf, PathBuf) {
    if cfg!(windows) {
        let root = service::windows::program_data_root(std::env::var_os("ProgramData"));
        service::windows::default_dirs(&root)
    } else {
        (
            PathBuf::from(service::systemd::CONFIG_DIR),
            PathBuf::from(service::systemd::STATE_DIR),
        )
    }
}

fn exe() -> Result<PathBuf, ExitCode> {
    std::env::current_exe().map_err(|e| {
        eprintln!("riskguard service: cannot find this program's path: {e}");
        ExitCode::FAILURE
    })
}

pub fn main(args: ServiceArgs) -> ExitCode {
    match args.action {
        Action::Install { dirs: d, dry_run } => {
            let (config, data) = dirs(&d);
            match exe() {
                Ok(exe) => install(&exe, &config, &data, dry_run),
                Err(code) => code,
            }
        }
        Action::Uninstall { dry_run } => control(Control::Uninstall, dry_run),
        Action::Start { dry_run } => control(Control::Start, dry_run),
        Action::Stop { dry_run } => control(Control::Stop, dry_run),
        Action::Status { dirs: d } => {
            let (config, data) = dirs(&d);
            status(&config, &data)
        }
        Action::RunWindows { dirs: d } => {
            let (config, data) = dirs(&d);
            run_windows(&config, &data)
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Control {
    Uninstall,
    Start,
    Stop,
}

#[cfg(not(windows))]
fn install(exe: &Path, config: &Path, data: &Path, dry_run: bool) -> ExitCode {
    use service::systemd;
    let spec = systemd::UnitSpec::new(exe.to_path_buf(), Some(config.into()), Some(data.into()));
    let problems = spec.problems();
    if !problems.is_empty() && !dry_run {
        eprintln!("riskguard service install: cannot install:");
        for p in &problems {
            eprintln!("  {p}");
        }
        return ExitCode::from(2);
    }
    let steps = systemd::install_steps(&spec);
    if dry_run {
        println!("riskguard service install --dry-run: would do, in order:");
        for s in &steps {
            println!("- {s}");
        }
        for p in &problems {
            println!("warning: {p}");
        }
        return ExitCode::SUCCESS;
    }
    carry_out("install", &steps, || {
        println!(
            "installed and enabled {}; next: `riskguard credentials set --login NAME`, then `riskguard service start`",
            systemd::UNIT_NAME
        );
    })
}

#[cfg(not(windows))]
fn control(what: Control, dry_run: bool) -> ExitCode {
    use service::systemd;
    let (name, steps) = match what {
        Control::Uninstall => ("uninstall", systemd::uninstall_steps()),
        Control::Start => ("start", systemd::start_steps()),
        Control::Stop => ("stop", systemd::stop_steps()),
    };
    if dry_run {
        println!("riskguard service {name} --dry-run: would do, in order:");
        for s in &steps {
            println!("- {s}");
        }
        return ExitCode::SUCCESS;
    }
    carry_out(name, &steps, || println!("riskguard service {name}: done"))
}

#[cfg(not(windows))]
fn carry_out(name: &str, steps: &[service::systemd::Step], ok: impl FnOnce()) -> ExitCode {
    match service::systemd::run_steps(steps) {
        Ok(_) => {
            ok();
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("riskguard service {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(windows))]
fn platform_state() -> String {
    let unit = Path::new(service::systemd::UNIT_DIR).join(service::systemd::UNIT_NAME);
    if !unit.exists() {
        return format!(
            "not installed ({} does not exist; see `riskguard service install`)",
            unit.display()
        );
    }
    let ask = |verb: &str| {
        std::process::Command::new("systemctl")
            .args([verb, service::systemd::UNIT_NAME])
            .output()
            .map_or_else(
                |e| format!("unknown ({e})"),
                |o| String::from_utf8_lossy(&o.stdout).trim().to_string(),
            )
    };
    format!(
        "installed ({}), {}, {}; logs also in `journalctl -u {}`",
        unit.display(),
        ask("is-enabled"),
        ask("is-active"),
        service::systemd::UNIT_NAME
    )
}

#[cfg(windows)]
fn install(exe: &Path, config: &Path, data: &Path, dry_run: bool) -> ExitCode {
    let settings = service::windows::scm_settings(exe, config, data);
    if dry_run {
        println!("riskguard service install --dry-run: would register:\n{settings}");
        return ExitCode::SUCCESS;
    }
    for d in [config, data] {
        if let Err(e) = std::fs::create_dir_all(d) {
            eprintln!(
                "riskguard service install: cannot create {}: {e}",
                d.display()
            );
            return ExitCode::FAILURE;
        }
    }
    match service::windows::scm::install(&settings) {
        Ok(()) => {
            println!("installed:\n{settings}");
            println!(
                "next: `riskguard credentials set --login NAME`, then `riskguard service start`"
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("riskguard service install: {e} (run it from an administrator prompt)");
            ExitCode::FAILURE
        }
    }
}

#[cfg(windows)]
fn control(what: Control, dry_run: bool) -> ExitCode {
    use service::windows::scm;
    let name = match what {
        Control::Uninstall => "uninstall",
        Control::Start => "start",
        Control::Stop => "stop",
    };
    if dry_run {
        println!(
            "riskguard service {name} --dry-run: would {name} the Windows service `{}`",
            service::windows::SERVICE_NAME
        );
        return ExitCode::SUCCESS;
    }
    let result = match what {
        Control::Uninstall => scm::uninstall(),
        Control::Start => scm::start(),
        Control::Stop => scm::stop(),
    };
    match result {
        Ok(()) => {
            println!("riskguard service {name}: done");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("riskguard service {name}: {e} (run it from an administrator prompt)");
            ExitCode::FAILURE
        }
    }
}

#[cfg(windows)]
fn platform_state() -> String {
    match service::windows::scm::status() {
        Ok(state) => format!("installed, {state}"),
        Err(e) => format!("not installed or not readable ({e})"),
    }
}

fn status(config: &Path, data: &Path) -> ExitCode {
    println!("service:      {}", platform_state());
    println!("config dir:   {}", config.display());
    println!("data dir:     {}", data.display());
    println!("logs:         {}", data.join("logs").display());
    let store = service::credentials::Store::new(config, None);
    let names = store.names();
    println!(
        "credentials:  {} ({})",
        if names.is_empty() {
            "none stored".to_string()
        } else {
            names.join(", ")
        },
        store.dir().display()
    );
    for name in &names {
        let state = match store.load(name) {
            Ok(_) => "stored (user name and API key hidden)".to_string(),
            Err(e) => e.to_string(),
        };
        println!("  {name}: {state}");
    }
    ExitCode::SUCCESS
}

#[cfg(not(windows))]
fn run_windows(_config: &Path, _data: &Path) -> ExitCode {
    eprintln!(
        "riskguard service run-windows: only the Windows service control manager starts this"
    );
    ExitCode::from(2)
}

/// The Windows service main: logs under the data dir, the daemon until Stop or Preshutdown.
#[cfg(windows)]
fn run_windows(config: &Path, data: &Path) -> ExitCode {
    let config = config.to_path_buf();
    let data = data.to_path_buf();
    let body: service::windows::scm::Body = Box::new(move |stop| {
        let _logs = daemon::logging::init(&data).map_err(|e| e.to_string())?;
        let plan = daemon::from_dir(&config, data.clone()).map_err(|e| {
            let text = e.to_string();
            tracing::error!("riskguard refuses to start: {text}");
            text
        })?;
        let rt = daemon::runtime().map_err(|e| e.to_string())?;
        let shutdown = async {
            let _ = stop.await;
            tracing::info!("stop requested by the service control manager");
        };
        rt.block_on(daemon::run(plan, shutdown, daemon::Hooks::default()))
            .map_err(|e| {
                tracing::error!(error = %e, "riskguard stopped with an error");
                e.to_string()
            })
    });
    match service::windows::scm::run_dispatcher(body) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "riskguard service run-windows: {e} (only the service control manager starts this)"
            );
            ExitCode::FAILURE
        }
    }
}

/// Hooks that make the daemon send `READY=1` after reconciliation and `WATCHDOG=1` while its loop turns,
/// when systemd gave a `NOTIFY_SOCKET`; default hooks otherwise. The notifier task runs on `rt`.
pub fn systemd_hooks(rt: &tokio::runtime::Runtime) -> daemon::Hooks {
    let Some(notifier) = service::notify::Notifier::from_env() else {
        return daemon::Hooks::default();
    };
    let notifier = match notifier {
        Ok(n) => n,
        Err(e) => {
            eprintln!("riskguard: NOTIFY_SOCKET is set but unusable ({e}); not notifying systemd");
            return daemon::Hooks::default();
        }
    };
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (pulse_tx, pulse_rx) = tokio::sync::mpsc::channel(1);
    rt.spawn(service::notify::supervise(
        notifier,
        ready_rx,
        pulse_tx,
        service::notify::watchdog_interval_from_env(),
    ));
    daemon::Hooks {
        ready: Some(ready_tx),
        pulse: Some(pulse_rx),
        ..daemon::Hooks::default()
    }
}
