//! From a config directory to a [`DaemonConfig`]: validate `risk_config.yaml` and `accounts.yaml` (every
//! error named), then resolve each login's secrets from the environment or from the credential store
//! (`credential: NAME`, written by `riskguard credentials set`). A missing variable or credential names the
//! login, the key and where it was looked for (and for a credential, the command that stores it), never a
//! value.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gateway::{Credentials, Endpoints};
use model::config::{AccountsConfig, GatewayEndpoints, RiskConfig, SecretRef, StoredField};
use model::ids::AccountId;
use service::credentials::Store;

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
    /// The text `risk` was parsed from, when it came from `risk_path`.
    pub risk_text: Option<String>,
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
            risk_text: None,
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
    store: Option<&Store>,
) -> Result<String, String> {
    match secret {
        SecretRef::Stored {
            name,
            field,
            key_path,
        } => {
            let Some(store) = store else {
                return Err(format!(
                    "login `{login}`: {key_path}: stored credentials need a config dir"
                ));
            };
            let cred = store
                .load(name)
                .map_err(|e| format!("login `{login}`: {key_path}: {e}"))?;
            Ok(match field {
                StoredField::UserName => cred.user_name().to_string(),
                StoredField::ApiKey => cred.api_key().to_string(),
            })
        }
        SecretRef::Env { var, key_path } => env(var).filter(|v| !v.is_empty()).ok_or_else(|| {
            format!("login `{login}`: {key_path}: the environment variable {var} is not set (set it, or store the login with `riskguard credentials set` and name it with `credential:`)")
        }),
        SecretRef::Keyring { entry, key_path } => Err(format!(
            "login `{login}`: {key_path}: OS keyring entries (`{entry}`) are not supported by this build yet; use `credential:` (see `riskguard credentials set`) or an environment variable"
        )),
    }
}

/// Build the plan from validated configs, reading secrets through `env` (the process environment in
/// production, a map in tests) and `store` (the credential store of the config dir).
pub fn plan(
    risk: RiskConfig,
    risk_path: Option<PathBuf>,
    accounts: &AccountsConfig,
    data_dir: PathBuf,
    env: &dyn Fn(&str) -> Option<String>,
    store: Option<&Store>,
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
        let user = resolve(&login.user_name, &login.name, env, store);
        let key = resolve(&login.api_key, &login.name, env, store);
        // One stored credential holds both halves: one error for it is enough.
        let key = match (&user, key) {
            (Err(u), Err(k)) if *u == k => Ok(String::new()),
            (_, k) => k,
        };
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
        risk_text: None,
        logins,
        data_dir,
        api_listen: accounts.api.listen.clone(),
    })
}

/// Load `risk_config.yaml` and `accounts.yaml` from `config_dir` and resolve secrets from the environment
/// and the config dir's credential store (systemd's `$CREDENTIALS_DIRECTORY` first).
pub fn from_dir(config_dir: &Path, data_dir: PathBuf) -> Result<DaemonConfig, SetupErrors> {
    let risk_path = config_dir.join("risk_config.yaml");
    let risk = config::load_risk_config_with_text(&risk_path);
    let accounts = config::load_accounts_config(&config_dir.join("accounts.yaml"));
    match (risk, accounts) {
        (Ok((risk, text)), Ok(accounts)) => plan(
            risk,
            Some(risk_path),
            &accounts,
            data_dir,
            &|var| std::env::var(var).ok(),
            Some(&Store::for_config_dir(config_dir)),
        )
        .map(|config| DaemonConfig {
            risk_text: Some(text),
            ..config
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

/// Log `login` in once and list the accounts the gateway shows it (id, name, canTrade), for
/// `riskguard credentials check`. Errors name the login, never a secret.
pub async fn check_login(
    login: &LoginPlan,
) -> anyhow::Result<Vec<(AccountId, String, Option<bool>)>> {
    let (feed, _rx) = tokio::sync::mpsc::channel(64);
    let session = gateway::Session::start(
        login.endpoints.clone(),
        login.credentials.clone(),
        Vec::new(),
        feed,
    )
    .await
    .map_err(|e| anyhow::anyhow!("login `{}`: {e}", login.name))?;
    let accounts = session.accounts().await;
    session.shutdown().await;
    accounts.map_err(|e| anyhow::anyhow!("login `{}`: cannot list accounts: {e}", login.name))
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use service::credentials::StoredCredential;

    const KEY: &str = "sk-SETUP-SECRET-5150";

    /// `text` as a validated accounts.yaml, written under the test's own config dir (tests run in parallel).
    fn accounts(dir: &Path, text: &str) -> AccountsConfig {
        let path = dir.join("accounts.yaml");
        std::fs::write(&path, text).unwrap();
        config::load_accounts_config(&path).unwrap()
    }

    fn config_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rg-setup-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    const TWO: &str = "logins:\n  - name: main\n    credential: main\n  - name: env\n    user_name_env: RG_U\n    api_key_env: RG_K\naccounts: [{ id: 1, login: main }, { id: 2, login: env }]\n";

    #[test]
    fn stored_and_environment_secrets_both_resolve() {
        let dir = config_dir("ok");
        let store = Store::new(&dir, None);
        store
            .save("main", &StoredCredential::new("stored-user", KEY))
            .unwrap();
        let env = |v: &str| (v == "RG_U" || v == "RG_K").then(|| format!("{v}-value"));
        let c = plan(
            RiskConfig::default(),
            None,
            &accounts(&dir, TWO),
            dir.clone(),
            &env,
            Some(&store),
        )
        .unwrap();
        assert_eq!(c.logins.len(), 2);
        assert_eq!(c.logins[0].name, "main");
        assert_eq!(c.logins[0].accounts, vec![AccountId(1)]);
        // The plan's Debug (it may reach a log) shows neither secret.
        let shown = format!("{c:?}");
        assert!(
            !shown.contains(KEY) && !shown.contains("stored-user"),
            "{shown}"
        );
    }

    #[test]
    fn a_missing_credential_names_the_login_and_the_fix_once() {
        let dir = config_dir("missing");
        let env = |v: &str| Some(format!("{v}-value"));
        let errors = plan(
            RiskConfig::default(),
            None,
            &accounts(&dir, TWO),
            dir.clone(),
            &env,
            Some(&Store::new(&dir, None)),
        )
        .unwrap_err()
        .0;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0]
                .starts_with("login `main`: logins[0].credential: no stored credential `main`"),
            "{}",
            errors[0]
        );
        assert!(
            errors[0].contains(&format!(
                "riskguard credentials set --login main --config-dir {}",
                dir.display()
            )),
            "{}",
            errors[0]
        );
    }
}
