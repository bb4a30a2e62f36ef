//! The systemd side: the unit text ([`unit_text`], pure) and the steps that install, start, stop and remove
//! it ([`install_steps`] and friends, pure lists of [`Step`]s that `--dry-run` prints and [`run_steps`]
//! carries out).
//!
//! The unit: `Type=notify` (the daemon sends `READY=1` after reconciling), `WatchdogSec=30` (it pings only
//! while its event loop turns), `Restart=always` after 2 s, a dedicated system user `riskguard`, the journal
//! and logs in `StateDirectory=riskguard` (`/var/lib/riskguard`), the stored credentials handed over with
//! `LoadCredential=`, and the hardening `NoNewPrivileges`, `ProtectSystem=strict`, `ProtectHome`,
//! `PrivateTmp`. Stop is SIGTERM, which the daemon turns into its clean shutdown (4 s deadline), well inside
//! `TimeoutStopSec`.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::credentials;

/// The unit's name.
pub const UNIT_NAME: &str = "riskguard.service";
/// Where the unit is written.
pub const UNIT_DIR: &str = "/etc/systemd/system";
/// The service's own system user.
pub const USER: &str = "riskguard";
/// The default config dir of the service.
pub const CONFIG_DIR: &str = "/etc/riskguard";
/// The state dir systemd creates for the service (`StateDirectory=riskguard`).
pub const STATE_DIR: &str = "/var/lib/riskguard";
/// `WatchdogSec=`.
pub const WATCHDOG_SECS: u32 = 30;

/// What the unit is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitSpec {
    /// The riskguard binary (absolute).
    pub exec: PathBuf,
    pub config_dir: PathBuf,
    /// The data dir; the default is the `StateDirectory`.
    pub data_dir: PathBuf,
    pub user: String,
}

impl UnitSpec {
    /// The defaults: `/etc/riskguard`, `/var/lib/riskguard`, user `riskguard`.
    pub fn new(exec: PathBuf, config_dir: Option<PathBuf>, data_dir: Option<PathBuf>) -> UnitSpec {
        UnitSpec {
            exec,
            config_dir: config_dir.unwrap_or_else(|| PathBuf::from(CONFIG_DIR)),
            data_dir: data_dir.unwrap_or_else(|| PathBuf::from(STATE_DIR)),
            user: USER.to_string(),
        }
    }

    /// Why this spec cannot work as a service, if it cannot: relative paths, or a binary or config under a
    /// home directory, which `ProtectHome=` hides from the service.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (what, p) in [
            ("the riskguard binary", &self.exec),
            ("the config dir", &self.config_dir),
            ("the data dir", &self.data_dir),
        ] {
            if !p.is_absolute() {
                out.push(format!("{what} {} is not an absolute path", p.display()));
            } else if under_home(p) {
                out.push(format!(
                    "{what} {} is under a home directory, which the service cannot see (ProtectHome=); \
                     copy it elsewhere first (the binary to /usr/local/bin)",
                    p.display()
                ));
            }
            if p.to_string_lossy()
                .chars()
                .any(|c| c.is_whitespace() || c == '"' || c == '\\')
            {
                out.push(format!(
                    "{what} {} has spaces, quotes or backslashes; choose a plain path",
                    p.display()
                ));
            }
        }
        out
    }
}

fn under_home(p: &Path) -> bool {
    ["/home", "/root", "/run/user"]
        .iter()
        .any(|h| p.starts_with(h))
}

/// The unit file text.
pub fn unit_text(spec: &UnitSpec) -> String {
    let state_default = spec.data_dir == Path::new(STATE_DIR);
    let mut rw = String::new();
    if !state_default {
        rw = format!("ReadWritePaths={}\n", spec.data_dir.display());
    }
    format!(
        "\
# Written by `riskguard service install`; `riskguard service uninstall` removes it.
[Unit]
Description=riskguard: risk enforcement for ProjectX futures accounts
Wants=network-online.target
After=network-online.target

[Service]
Type=notify
NotifyAccess=main
ExecStart={exec} run --config-dir {config} --data-dir {data}
User={user}
Group={user}
StateDirectory=riskguard
StateDirectoryMode=0700
{rw}LoadCredential={cred_id}:{creds}
Restart=always
RestartSec=2
WatchdogSec={watchdog}
TimeoutStartSec=120
TimeoutStopSec=20
KillSignal=SIGTERM
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
UMask=0077

[Install]
WantedBy=multi-user.target
",
        exec = spec.exec.display(),
        config = spec.config_dir.display(),
        data = spec.data_dir.display(),
        user = spec.user,
        cred_id = credentials::SYSTEMD_ID,
        creds = credentials::dir_of(&spec.config_dir).display(),
        watchdog = WATCHDOG_SECS,
    )
}

/// One thing `service install`/`uninstall`/... does to the system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Create the system user if it does not exist.
    CreateUser { name: String },
    /// Create a directory (and its parents) with this mode.
    CreateDir { path: PathBuf, mode: u32 },
    /// Write a file with this mode.
    WriteFile {
        path: PathBuf,
        text: String,
        mode: u32,
    },
    /// Remove a file if it exists.
    RemoveFile { path: PathBuf },
    /// Run a command; `tolerate_failure` for steps that may find nothing to do.
    Run {
        argv: Vec<String>,
        tolerate_failure: bool,
    },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::CreateUser { name } => write!(
                f,
                "create the system user `{name}` if missing: useradd --system --no-create-home --shell /usr/sbin/nologin {name}"
            ),
            Step::CreateDir { path, mode } => {
                write!(f, "create directory {} (mode {mode:04o})", path.display())
            }
            Step::WriteFile { path, text, mode } => write!(
                f,
                "write {} (mode {mode:04o}):\n{}",
                path.display(),
                text.trim_end()
            ),
            Step::RemoveFile { path } => write!(f, "remove {}", path.display()),
            Step::Run { argv, .. } => write!(f, "run: {}", argv.join(" ")),
        }
    }
}

fn systemctl(args: &[&str], tolerate_failure: bool) -> Step {
    Step::Run {
        argv: std::iter::once("systemctl")
            .chain(args.iter().copied())
            .map(str::to_string)
            .collect(),
        tolerate_failure,
    }
}

/// Install: the user, the config and credentials dirs (root-only credentials), the unit, enable it.
pub fn install_steps(spec: &UnitSpec) -> Vec<Step> {
    vec![
        Step::CreateUser {
            name: spec.user.clone(),
        },
        Step::CreateDir {
            path: spec.config_dir.clone(),
            mode: 0o755,
        },
        Step::CreateDir {
            path: credentials::dir_of(&spec.config_dir),
            mode: 0o700,
        },
        Step::WriteFile {
            path: Path::new(UNIT_DIR).join(UNIT_NAME),
            text: unit_text(spec),
            mode: 0o644,
        },
        systemctl(&["daemon-reload"], false),
        systemctl(&["enable", UNIT_NAME], false),
    ]
}

/// Uninstall: stop, disable, remove the unit. The config, credentials, journal and user stay.
pub fn uninstall_steps() -> Vec<Step> {
    vec![
        systemctl(&["stop", UNIT_NAME], true),
        systemctl(&["disable", UNIT_NAME], true),
        Step::RemoveFile {
            path: Path::new(UNIT_DIR).join(UNIT_NAME),
        },
        systemctl(&["daemon-reload"], false),
    ]
}

pub fn start_steps() -> Vec<Step> {
    vec![systemctl(&["start", UNIT_NAME], false)]
}

pub fn stop_steps() -> Vec<Step> {
    vec![systemctl(&["stop", UNIT_NAME], false)]
}

/// Carry out the steps in order, stopping at the first that fails (unless it may). Returns what was done.
#[cfg(unix)]
pub fn run_steps(steps: &[Step]) -> Result<Vec<String>, String> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    use std::process::Command;
    let mut done = Vec::new();
    for step in steps {
        match step {
            Step::CreateUser { name } => {
                let exists = Command::new("id")
                    .arg("-u")
                    .arg(name)
                    .output()
                    .is_ok_and(|o| o.status.success());
                if !exists {
                    let status = Command::new("useradd")
                        .args([
                            "--system",
                            "--no-create-home",
                            "--shell",
                            "/usr/sbin/nologin",
                        ])
                        .arg(name)
                        .status()
                        .map_err(|e| format!("cannot run useradd: {e}"))?;
                    if !status.success() {
                        return Err(format!("useradd {name} failed ({status})"));
                    }
                }
            }
            Step::CreateDir { path, mode } => {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(*mode)
                    .create(path)
                    .and_then(|()| {
                        std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode))
                    })
                    .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            }
            Step::WriteFile { path, text, mode } => {
                std::fs::write(path, text)
                    .and_then(|()| {
                        std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode))
                    })
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            Step::RemoveFile { path } => match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("cannot remove {}: {e}", path.display())),
            },
            Step::Run {
                argv,
                tolerate_failure,
            } => {
                let Some((program, args)) = argv.split_first() else {
                    continue;
                };
                let status = Command::new(program)
                    .args(args)
                    .status()
                    .map_err(|e| format!("cannot run {program}: {e}"))?;
                if !status.success() && !tolerate_failure {
                    return Err(format!("`{}` failed ({status})", argv.join(" ")));
                }
            }
        }
        done.push(step.to_string());
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn spec() -> UnitSpec {
        UnitSpec::new(PathBuf::from("/usr/local/bin/riskguard"), None, None)
    }

    fn lines(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    #[test]
    fn the_unit_has_every_setting_the_issue_asks_for() {
        let text = unit_text(&spec());
        let l = lines(&text);
        for want in [
            "Type=notify",
            "WatchdogSec=30",
            "Restart=always",
            "RestartSec=2",
            "User=riskguard",
            "StateDirectory=riskguard",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "ProtectHome=yes",
            "PrivateTmp=yes",
            "ExecStart=/usr/local/bin/riskguard run --config-dir /etc/riskguard --data-dir /var/lib/riskguard",
            "LoadCredential=riskguard:/etc/riskguard/credentials",
            "WantedBy=multi-user.target",
        ] {
            assert!(l.contains(&want), "missing `{want}` in\n{text}");
        }
        // The default data dir is the StateDirectory: no extra writable path.
        assert!(!text.contains("ReadWritePaths"));
        // Every setting line is inside a section, and sections come in order.
        let sections: Vec<&str> = l.iter().copied().filter(|x| x.starts_with('[')).collect();
        assert_eq!(sections, vec!["[Unit]", "[Service]", "[Install]"]);
    }

    #[test]
    fn another_data_dir_is_made_writable() {
        let s = UnitSpec::new(
            PathBuf::from("/opt/rg/riskguard"),
            Some(PathBuf::from("/srv/rg/config")),
            Some(PathBuf::from("/srv/rg/data")),
        );
        let text = unit_text(&s);
        assert!(lines(&text).contains(&"ReadWritePaths=/srv/rg/data"));
        assert!(lines(&text).contains(&"LoadCredential=riskguard:/srv/rg/config/credentials"));
        assert!(s.problems().is_empty());
    }

    #[test]
    fn paths_the_service_cannot_see_are_named() {
        let s = UnitSpec::new(
            PathBuf::from("/root/.cargo/bin/riskguard"),
            Some(PathBuf::from("config")),
            Some(PathBuf::from("/home/ann/data dir")),
        );
        let p = s.problems();
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(p[0].contains("/root/.cargo/bin/riskguard") && p[0].contains("ProtectHome"));
        assert!(p[1].contains("not an absolute path"));
        assert!(p[3].contains("spaces"));
        assert!(spec().problems().is_empty());
    }

    #[test]
    fn install_writes_the_unit_and_keeps_credentials_root_only() {
        let steps = install_steps(&spec());
        assert!(steps.contains(&Step::CreateDir {
            path: PathBuf::from("/etc/riskguard/credentials"),
            mode: 0o700
        }));
        assert!(steps.iter().any(|s| matches!(s,
            Step::WriteFile { path, text, mode: 0o644 }
                if path == Path::new("/etc/systemd/system/riskguard.service") && *text == unit_text(&spec()))));
        assert_eq!(
            steps.last().unwrap().to_string(),
            "run: systemctl enable riskguard.service"
        );
        let un: Vec<String> = uninstall_steps().iter().map(ToString::to_string).collect();
        assert_eq!(
            un,
            vec![
                "run: systemctl stop riskguard.service",
                "run: systemctl disable riskguard.service",
                "remove /etc/systemd/system/riskguard.service",
                "run: systemctl daemon-reload",
            ]
        );
    }
}
