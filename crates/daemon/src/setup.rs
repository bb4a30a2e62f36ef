//! From a config directory to a [`DaemonConfig`]: validate `risk_config.yaml` and `accounts.yaml` (every
//! error named), then resolve each login's secrets from the environment. A missing variable names the login,
//! the key and the variable, never a value.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gateway::{Credentials, Endpoints};
use model::config::{AccountsConfig, GatewayEndpoints, RiskConfig, SecretRef};
use model::ids::AccountId;

/// One gateway session to run: a login, its endpoints, its secrets and the accounts it watches.
#[derive(Debug, Clone)]
pub struct LoginPlan {
    pub name: String,
    pub endpoints: Endpoints,
    pub credentials: Credentials,
    pub accounts: Vec<AccountId>,
}

/// Everything `daemon::run` needs, validated.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    pub risk: Arc<RiskConfig>,
    /// Where the risk config came from (for reloads); `None` when built in code (the demo).
    pub risk_path: Option<PathBuf>,
    pub logins: Vec<LoginPlan>,
    pub data_dir: PathBuf,
    /// The internal API address (loopback).
    pub api_listen: String,
}

impl LoginPlan {
    /// A login on a gateway that serves REST and both hubs from one base URL (the simulator).
    pub fn at(base_url: &str, user: &str, api_key: &str, accounts: Vec<AccountId>) -> LoginPlan {
        LoginPlan {
            name: user.to_string(),
            endpoints: Endpoints {
                api_url: base_url.to_string(),
                realtime_url: base_url.to_string(),
            },
            credentials: Credentials::new(user, api_key),
            accounts,
        }
    }
}

impl DaemonConfig {
    /// A config built in code rather than read from files (the demo, tests, benchmarks): no risk-config path,
    /// the internal API on a free loopback port.
    pub fn in_code(risk: RiskConfig, logins: Vec<LoginPlan>, data_dir: PathBuf) -> DaemonConfig {
        DaemonConfig {
            risk: Arc::new(risk),
            risk_path: None,
            logins,
            data_dir,
            api_listen: "127.0.0.1:0".into(),
        }
    }
}

/// Every reason the daemon refuses to start, each on its own line.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct SetupErrors(pub Vec<String>);

fn endpoints(g: &GatewayEndpoints) -> Endpoints {
    Endpoints {
        api_url: g.api_url.clone(),
        realtime_url: g.realtime_url.clone(),
    }
}

fn resolve(
    secret: &SecretRef,
    login: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    match secret {
        SecretRef::Env { var, key_path } => env(var).filter(|v| !v.is_empty()).ok_or_else(|| {
            format!("login `{login}`: {key_path}: the environment variable {var} is not set (set it, or use a keyring entry)")
        }),
        SecretRef::Keyring { entry, key_path } => Err(format!(
            "login `{login}`: {key_path}: OS keyring entries (`{entry}`) are not supported by this build yet; use an environment variable"
        )),
    }
}

/// Build the plan from validated configs, reading secrets through `env` (the process environment in
/// production, a map in tests).
pub fn plan(
    risk: RiskConfig,
    risk_path: Option<PathBuf>,
    accounts: &AccountsConfig,
    data_dir: PathBuf,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<DaemonConfig, SetupErrors> {
    let mut errors = Vec::new();
    let mut logins = Vec::new();
    for login in &accounts.logins {
        let watched: Vec<AccountId> = accounts
            .accounts
            .iter()
            .filter(|a| a.login == login.name)
            .map(|a| a.id)
            .collect();
        if watched.is_empty() {
            continue;
        }
        let user = resolve(&login.user_name, &login.name, env);
        let key = resolve(&login.api_key, &login.name, env);
        match (user, key) {
            (Ok(user_name), Ok(api_key)) => logins.push(LoginPlan {
                name: login.name.clone(),
                endpoints: endpoints(login.gateway.as_ref().unwrap_or(&accounts.gateway)),
                credentials: Credentials::new(user_name, api_key),
                accounts: watched,
            }),
            (u, k) => errors.extend(u.err().into_iter().chain(k.err())),
        }
    }
    if !errors.is_empty() {
        return Err(SetupErrors(errors));
    }
    Ok(DaemonConfig {
        risk: Arc::new(risk),
        risk_path,
        logins,
        data_dir,
        api_listen: accounts.api.listen.clone(),
    })
}

/// Load `risk_config.yaml` and `accounts.yaml` from `config_dir` and resolve secrets from the environment.
pub fn from_dir(config_dir: &Path, data_dir: PathBuf) -> Result<DaemonConfig, SetupErrors> {
    let risk_path = config_dir.join("risk_config.yaml");
    let risk = config::load_risk_config(&risk_path);
    let accounts = config::load_accounts_config(&config_dir.join("accounts.yaml"));
    match (risk, accounts) {
        (Ok(risk), Ok(accounts)) => plan(risk, Some(risk_path), &accounts, data_dir, &|var| {
            std::env::var(var).ok()
        }),
        (r, a) => {
            let errors = r
                .err()
                .into_iter()
                .flatten()
                .chain(a.err().into_iter().flatten());
            Err(SetupErrors(errors.map(|e| e.to_string()).collect()))
        }
    }
}

/// The default data directory (CONFIG.md §6): `$XDG_DATA_HOME/riskguard`, else `~/.local/share/riskguard`;
/// `%ProgramData%\riskguard` on Windows.
pub fn default_data_dir() -> PathBuf {
    if cfg!(windows) {
        let base = std::env::var_os("ProgramData")
            .map_or_else(|| PathBuf::from(r"C:\ProgramData"), PathBuf::from);
        return base.join("riskguard");
    }
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("riskguard");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".local/share/riskguard")
}
