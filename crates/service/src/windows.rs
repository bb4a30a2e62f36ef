//! The Windows side: what is registered with the service control manager ([`ScmSettings`], pure and tested
//! on every platform), and on Windows the calls that register, start, stop, query and remove the service
//! and the service main that runs the daemon ([`scm`]).
//!
//! The service: `riskguard`, own process, LocalSystem, delayed automatic start (after the network and the
//! other automatic services), failure actions restart after 5 s, 10 s and 30 s with the failure count reset
//! after a day (also on a non-crash failure, an exit with an error). It accepts Stop and Preshutdown (which
//! Windows sends before Shutdown, with time to finish: the daemon drains in-flight enforcement under the same
//! deadline as Ctrl-C and flushes its store before the machine powers off). Paths live under
//! `%ProgramData%\riskguard`: `config` (accounts.yaml, risk_config.yaml, credentials) and `data` (the journal
//! and `logs`).

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The service's name in the SCM.
pub const SERVICE_NAME: &str = "riskguard";
/// The hidden subcommand the SCM launches: `riskguard service run-windows ...`.
pub const RUN_SUBCOMMAND: [&str; 2] = ["service", "run-windows"];

/// `%ProgramData%\riskguard`, from the value of `ProgramData` (`C:\ProgramData` when unset).
pub fn program_data_root(program_data: Option<OsString>) -> PathBuf {
    program_data
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(r"C:\ProgramData"), PathBuf::from)
        .join("riskguard")
}

/// The default config and data dirs of the Windows service under `root`.
pub fn default_dirs(root: &Path) -> (PathBuf, PathBuf) {
    (root.join("config"), root.join("data"))
}

/// How the service is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartType {
    /// Automatic, delayed until shortly after the boot's other automatic services.
    DelayedAuto,
}

/// Everything registered with the SCM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScmSettings {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub executable: PathBuf,
    pub arguments: Vec<OsString>,
    pub start_type: StartType,
    /// Restart after each of these delays, for the first, second and later failures.
    pub restart_delays: Vec<Duration>,
    /// The failure count resets after this long without failures.
    pub failure_reset: Duration,
    /// Failure actions apply also when the service stops with an error exit code.
    pub failure_actions_on_non_crash: bool,
    /// How long Windows waits, at shutdown, for the service to stop after Preshutdown.
    pub preshutdown_timeout: Duration,
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
}

/// The settings for a binary at `executable` with its config and data dirs.
pub fn scm_settings(executable: &Path, config_dir: &Path, data_dir: &Path) -> ScmSettings {
    let arguments = RUN_SUBCOMMAND
        .iter()
        .map(OsString::from)
        .chain([
            OsString::from("--config-dir"),
            config_dir.as_os_str().to_owned(),
            OsString::from("--data-dir"),
            data_dir.as_os_str().to_owned(),
        ])
        .collect();
    ScmSettings {
        name: SERVICE_NAME.into(),
        display_name: "riskguard risk enforcement".into(),
        description: "Enforces futures risk rules on ProjectX accounts (riskguard).".into(),
        executable: executable.to_path_buf(),
        arguments,
        start_type: StartType::DelayedAuto,
        restart_delays: vec![
            Duration::from_secs(5),
            Duration::from_secs(10),
            Duration::from_secs(30),
        ],
        failure_reset: Duration::from_secs(24 * 60 * 60),
        failure_actions_on_non_crash: true,
        preshutdown_timeout: Duration::from_secs(15),
        config_dir: config_dir.to_path_buf(),
        data_dir: data_dir.to_path_buf(),
    }
}

impl fmt::Display for ScmSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let args: Vec<String> = self
            .arguments
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        writeln!(f, "service name:     {}", self.name)?;
        writeln!(f, "display name:     {}", self.display_name)?;
        writeln!(
            f,
            "command:          {} {}",
            self.executable.display(),
            args.join(" ")
        )?;
        writeln!(f, "account:          LocalSystem")?;
        writeln!(f, "start type:       automatic (delayed start)")?;
        let delays: Vec<String> = self
            .restart_delays
            .iter()
            .map(|d| format!("{} s", d.as_secs()))
            .collect();
        writeln!(
            f,
            "on failure:       restart after {}; failure count reset after {} h",
            delays.join(", "),
            self.failure_reset.as_secs() / 3600
        )?;
        writeln!(
            f,
            "shutdown:         Preshutdown accepted, {} s to drain and flush",
            self.preshutdown_timeout.as_secs()
        )?;
        writeln!(f, "config dir:       {}", self.config_dir.display())?;
        writeln!(f, "data dir:         {}", self.data_dir.display())?;
        write!(
            f,
            "logs:             {}",
            self.data_dir.join("logs").display()
        )
    }
}

#[cfg(windows)]
pub mod scm {
    //! The SCM calls (Windows only).

    use std::ffi::OsString;
    use std::sync::Mutex;
    use std::time::Duration;

    use tokio::sync::oneshot;
    use windows_service::service::{
        ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept,
        ServiceErrorControl, ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod,
        ServiceInfo, ServiceStartType, ServiceState, ServiceStatus, ServiceType,
    };
    use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
    use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
    use windows_service::{define_windows_service, service_dispatcher};

    use super::{SERVICE_NAME, ScmSettings, StartType};

    type Error = windows_service::Error;

    fn manager(access: ServiceManagerAccess) -> Result<ServiceManager, Error> {
        ServiceManager::local_computer(None::<&str>, access)
    }

    /// Register the service with its start type, failure actions and preshutdown timeout.
    pub fn install(s: &ScmSettings) -> Result<(), Error> {
        let m = manager(ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE)?;
        let info = ServiceInfo {
            name: OsString::from(&s.name),
            display_name: OsString::from(&s.display_name),
            service_type: ServiceType::OWN_PROCESS,
            start_type: match s.start_type {
                StartType::DelayedAuto => ServiceStartType::AutoStart,
            },
            error_control: ServiceErrorControl::Normal,
            executable_path: s.executable.clone(),
            launch_arguments: s.arguments.clone(),
            dependencies: vec![],
            account_name: None,
            account_password: None,
        };
        let service = m.create_service(
            &info,
            ServiceAccess::CHANGE_CONFIG | ServiceAccess::START | ServiceAccess::QUERY_STATUS,
        )?;
        service.set_description(&s.description)?;
        service.set_delayed_auto_start(matches!(s.start_type, StartType::DelayedAuto))?;
        service.update_failure_actions(ServiceFailureActions {
            reset_period: ServiceFailureResetPeriod::After(s.failure_reset),
            reboot_msg: None,
            command: None,
            actions: Some(
                s.restart_delays
                    .iter()
                    .map(|d| ServiceAction {
                        action_type: ServiceActionType::Restart,
                        delay: *d,
                    })
                    .collect(),
            ),
        })?;
        service.set_failure_actions_on_non_crash_failures(s.failure_actions_on_non_crash)?;
        service.set_preshutdown_timeout(s.preshutdown_timeout)?;
        Ok(())
    }

    /// Stop (if running) and remove the service.
    pub fn uninstall() -> Result<(), Error> {
        let m = manager(ServiceManagerAccess::CONNECT)?;
        let service = m.open_service(
            SERVICE_NAME,
            ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE,
        )?;
        if service.query_status()?.current_state != ServiceState::Stopped {
            let _ = service.stop();
        }
        service.delete()
    }

    pub fn start() -> Result<(), Error> {
        let m = manager(ServiceManagerAccess::CONNECT)?;
        m.open_service(SERVICE_NAME, ServiceAccess::START)?
            .start::<&str>(&[])
    }

    pub fn stop() -> Result<(), Error> {
        let m = manager(ServiceManagerAccess::CONNECT)?;
        m.open_service(SERVICE_NAME, ServiceAccess::STOP)?
            .stop()
            .map(|_| ())
    }

    /// The service's state, as a word (`running`, `stopped`, ...).
    pub fn status() -> Result<String, Error> {
        let m = manager(ServiceManagerAccess::CONNECT)?;
        let st = m
            .open_service(SERVICE_NAME, ServiceAccess::QUERY_STATUS)?
            .query_status()?;
        Ok(match st.current_state {
            ServiceState::Stopped => "stopped",
            ServiceState::StartPending => "starting",
            ServiceState::StopPending => "stopping",
            ServiceState::Running => "running",
            ServiceState::ContinuePending => "continuing",
            ServiceState::PausePending => "pausing",
            ServiceState::Paused => "paused",
        }
        .to_string())
    }

    /// What the service main runs: given the stop signal (Stop or Preshutdown from the SCM), run the daemon
    /// until it has stopped. An `Err` makes the service stop with an error, which the failure actions
    /// restart.
    pub type Body = Box<dyn FnOnce(oneshot::Receiver<()>) -> Result<(), String> + Send>;

    static BODY: Mutex<Option<Body>> = Mutex::new(None);

    define_windows_service!(ffi_service_main, service_main);

    /// Hand this thread to the SCM's dispatcher, which calls the service main with `body` on another thread;
    /// returns when the service has stopped.
    pub fn run_dispatcher(body: Body) -> Result<(), Error> {
        if let Ok(mut slot) = BODY.lock() {
            *slot = Some(body);
        }
        service_dispatcher::start(SERVICE_NAME, ffi_service_main)
    }

    fn service_status(
        state: ServiceState,
        accept: ServiceControlAccept,
        exit: u32,
        wait: Duration,
    ) -> ServiceStatus {
        ServiceStatus {
            service_type: ServiceType::OWN_PROCESS,
            current_state: state,
            controls_accepted: accept,
            exit_code: ServiceExitCode::Win32(exit),
            checkpoint: 0,
            wait_hint: wait,
            process_id: None,
        }
    }

    fn service_main(_arguments: Vec<OsString>) {
        let Some(body) = BODY.lock().ok().and_then(|mut b| b.take()) else {
            return;
        };
        let (stop_tx, stop_rx) = oneshot::channel();
        let stop_tx = Mutex::new(Some(stop_tx));
        let handler = move |control| match control {
            ServiceControl::Stop | ServiceControl::Preshutdown | ServiceControl::Shutdown => {
                if let Some(tx) = stop_tx.lock().ok().and_then(|mut t| t.take()) {
                    let _ = tx.send(());
                }
                ServiceControlHandlerResult::NoError
            }
            ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
            _ => ServiceControlHandlerResult::NotImplemented,
        };
        let Ok(handle) = service_control_handler::register(SERVICE_NAME, handler) else {
            return;
        };
        let running = ServiceControlAccept::STOP | ServiceControlAccept::PRESHUTDOWN;
        let _ = handle.set_service_status(service_status(
            ServiceState::Running,
            running,
            0,
            Duration::default(),
        ));
        let result = body(stop_rx);
        // ERROR_SERVICE_SPECIFIC_ERROR-like: any non-zero exit makes the failure actions apply.
        let exit = if result.is_ok() { 0 } else { 1 };
        let _ = handle.set_service_status(service_status(
            ServiceState::Stopped,
            ServiceControlAccept::empty(),
            exit,
            Duration::default(),
        ));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_scm_settings_are_what_the_issue_asks_for() {
        let root = program_data_root(Some(OsString::from(r"D:\PD")));
        let (config, data) = default_dirs(&root);
        let s = scm_settings(
            Path::new(r"C:\Program Files\riskguard\riskguard.exe"),
            &config,
            &data,
        );
        assert_eq!(s.name, "riskguard");
        assert_eq!(s.start_type, StartType::DelayedAuto);
        assert_eq!(
            s.restart_delays,
            vec![
                Duration::from_secs(5),
                Duration::from_secs(10),
                Duration::from_secs(30)
            ]
        );
        assert_eq!(s.failure_reset, Duration::from_secs(86_400));
        assert!(s.failure_actions_on_non_crash);
        // Preshutdown must leave time for the daemon's 4 s drain and the store flush.
        assert!(s.preshutdown_timeout >= Duration::from_secs(10));
        let args: Vec<String> = s
            .arguments
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args[..2], ["service", "run-windows"]);
        assert_eq!(args[2], "--config-dir");
        assert!(
            args[3].starts_with(r"D:\PD") && args[3].ends_with("config"),
            "{args:?}"
        );
        assert_eq!(args[4], "--data-dir");
        assert!(args[5].ends_with("data"), "{args:?}");
        let shown = s.to_string();
        assert!(
            shown.contains("restart after 5 s, 10 s, 30 s; failure count reset after 24 h"),
            "{shown}"
        );
        assert!(shown.contains("automatic (delayed start)"));
    }

    #[test]
    fn program_data_defaults_to_c() {
        assert_eq!(
            program_data_root(None),
            PathBuf::from(r"C:\ProgramData").join("riskguard")
        );
        assert_eq!(
            program_data_root(Some(OsString::new())),
            PathBuf::from(r"C:\ProgramData").join("riskguard")
        );
    }
}
