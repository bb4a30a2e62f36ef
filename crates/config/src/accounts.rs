//! `accounts.yaml` (CONFIG.md §5): gateway endpoints, logins with references to their secrets, the accounts
//! to watch, and the internal API's address. Validated like risk_config.yaml: every problem at once, each
//! with file, key path and line.
//!
//! Checks: unknown keys, wrong types; `http://` only for loopback hosts (the simulator), else `https://`;
//! each login names exactly one source for its user name and one for its API key (`*_env` or `*_keyring`), or
//! one stored `credential` (written by `riskguard credentials set`) that holds both;
//! login names unique; an account's `login` must name a login; no duplicate account ids; `api.listen` must be
//! a loopback address with a port. Whether the environment variables exist is checked when the daemon
//! starts, not here (they belong to the service's environment, not to the file).

use std::collections::BTreeSet;
use std::path::Path;

use model::config::{
    AccountsConfig, ApiSettings, GatewayEndpoints, Login, SecretRef, StoredField, WatchedAccount,
};
use model::ids::AccountId;

use crate::error::ConfigError;
use crate::tree::{At, Ctx, Entry, FILE_PATH, boolean, entries, items, load, string, unknown_key};

const TOP: &[&str] = &["gateway", "logins", "accounts", "api"];
const GATEWAY: &[&str] = &["api_url", "realtime_url"];
const LOGIN: &[&str] = &[
    "name",
    "user_name_env",
    "user_name_keyring",
    "api_key_env",
    "api_key_keyring",
    "credential",
    "gateway",
];
/// The per-field secret keys a `credential` replaces.
const SECRET_KEYS: &[&str] = &[
    "user_name_env",
    "user_name_keyring",
    "api_key_env",
    "api_key_keyring",
];

/// Whether `name` can name a stored credential: 1 to 64 of letters, digits, `.`, `_`, `-`, not starting
/// with `.` (it becomes a file name).
pub fn valid_credential_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}
const ACCOUNT: &[&str] = &["id", "login", "enabled"];
const API: &[&str] = &["listen"];

pub(crate) fn parse(text: &str, file: &Path) -> Result<AccountsConfig, Vec<ConfigError>> {
    let mut ctx = Ctx::new(file);
    let config = read(&mut ctx, text);
    match config {
        Some(c) if ctx.errors.is_empty() => Ok(c),
        _ => Err(ctx.into_sorted()),
    }
}

fn read(ctx: &mut Ctx, text: &str) -> Option<AccountsConfig> {
    let Some(doc) = load(ctx, text)? else {
        ctx.err(
            FILE_PATH,
            1,
            "the file is empty: expected `logins:` and `accounts:`",
        );
        return None;
    };
    let root = At {
        path: String::new(),
        line: 1,
        node: &doc,
    };
    let mut gateway = GatewayEndpoints::default();
    let mut logins: Vec<Login> = Vec::new();
    // Every login name with where it was written, valid login or not, for the duplicate check.
    let mut login_names: Vec<(String, usize, String)> = Vec::new();
    let mut accounts: Vec<(WatchedAccount, usize, String, bool)> = Vec::new();
    let mut api = ApiSettings::default();
    let mut saw_logins = false;
    let mut saw_accounts = false;
    for e in &entries(ctx, &root)? {
        match e.key.as_str() {
            "gateway" => gateway = read_gateway(ctx, &e.value).unwrap_or_default(),
            "logins" => {
                saw_logins = true;
                for item in items(ctx, &e.value).unwrap_or_default() {
                    let (login, name) = read_login(ctx, &item);
                    if let Some(name) = name {
                        login_names.push((name, item.line, item.path.clone()));
                    }
                    logins.extend(login);
                }
            }
            "accounts" => {
                saw_accounts = true;
                for item in items(ctx, &e.value).unwrap_or_default() {
                    if let Some(a) = read_account(ctx, &item) {
                        accounts.push(a);
                    }
                }
            }
            "api" => api = read_api(ctx, &e.value).unwrap_or_default(),
            _ => unknown_key(ctx, e, TOP),
        }
    }
    if !saw_logins {
        ctx.err("logins", 1, "missing: at least one login is required");
    }
    if !saw_accounts {
        ctx.err(
            "accounts",
            1,
            "missing: at least one account to watch is required",
        );
    }
    let mut names = BTreeSet::new();
    for (name, line, path) in &login_names {
        if !names.insert(name.clone()) {
            ctx.err(
                &format!("{path}.name"),
                *line,
                format!("duplicate login name `{name}`"),
            );
        }
    }
    let mut ids = BTreeSet::new();
    for (a, line, path, _) in &accounts {
        if !names.contains(&a.login) {
            ctx.err(
                &format!("{path}.login"),
                *line,
                format!("names no login: `{}`", a.login),
            );
        }
        if !ids.insert(a.id) {
            ctx.err(
                &format!("{path}.id"),
                *line,
                format!("duplicate account id {}", a.id),
            );
        }
    }
    Some(AccountsConfig {
        gateway,
        logins,
        accounts: accounts
            .into_iter()
            .filter(|(_, _, _, enabled)| *enabled)
            .map(|(a, ..)| a)
            .collect(),
        api,
    })
}

fn loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The host of an `http(s)://host[:port][/path]` URL.
fn url_host(rest: &str) -> &str {
    let authority = rest.split('/').next().unwrap_or(rest);
    if authority.starts_with('[') {
        return authority
            .split(']')
            .next()
            .map_or(authority, |h| h.trim_start_matches('['));
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

fn url(ctx: &mut Ctx, at: &At<'_, '_>) -> Option<String> {
    let text = string(ctx, at)?;
    if let Some(rest) = text.strip_prefix("https://") {
        if url_host(rest).is_empty() {
            ctx.err(&at.path, at.line, format!("`{text}` has no host"));
            return None;
        }
        return Some(text.trim_end_matches('/').to_string());
    }
    if let Some(rest) = text.strip_prefix("http://") {
        if loopback_host(url_host(rest)) {
            return Some(text.trim_end_matches('/').to_string());
        }
        ctx.err(
            &at.path,
            at.line,
            format!("`{text}`: plain http:// is only allowed for loopback hosts; use https://"),
        );
        return None;
    }
    ctx.err(
        &at.path,
        at.line,
        format!("`{text}` is not an https:// URL"),
    );
    None
}

fn read_gateway(ctx: &mut Ctx, at: &At<'_, '_>) -> Option<GatewayEndpoints> {
    let mut g = GatewayEndpoints::default();
    let mut ok = true;
    for e in &entries(ctx, at)? {
        match e.key.as_str() {
            "api_url" => match url(ctx, &e.value) {
                Some(u) => g.api_url = u,
                None => ok = false,
            },
            "realtime_url" => match url(ctx, &e.value) {
                Some(u) => g.realtime_url = u,
                None => ok = false,
            },
            _ => unknown_key(ctx, e, GATEWAY),
        }
    }
    ok.then_some(g)
}

fn secret(
    ctx: &mut Ctx,
    login_path: &str,
    line: usize,
    what: &str,
    env: Option<&Entry<'_, '_>>,
    keyring: Option<&Entry<'_, '_>>,
) -> Option<SecretRef> {
    match (env, keyring) {
        (Some(e), None) => {
            let var = string(ctx, &e.value)?;
            if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                ctx.err(
                    &e.value.path,
                    e.value.line,
                    format!("`{var}` is not an environment variable name (letters, digits, _)"),
                );
                return None;
            }
            Some(SecretRef::Env {
                var: var.to_string(),
                key_path: e.value.path.clone(),
            })
        }
        (None, Some(k)) => {
            let entry = string(ctx, &k.value)?;
            Some(SecretRef::Keyring {
                entry: entry.to_string(),
                key_path: k.value.path.clone(),
            })
        }
        (Some(_), Some(k)) => {
            ctx.err(
                &k.value.path,
                k.key_line,
                format!("give {what}_env or {what}_keyring, not both"),
            );
            None
        }
        (None, None) => {
            ctx.err(
                login_path,
                line,
                format!("missing {what}_env (an environment variable name) or {what}_keyring"),
            );
            None
        }
    }
}

/// A login's `credential: NAME`: a valid name, and no per-field secret key beside it.
fn stored(ctx: &mut Ctx, c: &Entry<'_, '_>, es: &[Entry<'_, '_>]) -> Option<String> {
    let name = string(ctx, &c.value)?.to_string();
    let mut ok = true;
    if !valid_credential_name(&name) {
        ctx.err(
            &c.value.path,
            c.value.line,
            format!("`{name}` is not a credential name (1 to 64 letters, digits, `.`, `_`, `-`)"),
        );
        ok = false;
    }
    for e in es.iter().filter(|e| SECRET_KEYS.contains(&e.key.as_str())) {
        ctx.err(
            &e.value.path,
            e.key_line,
            format!(
                "give `credential` (user name and API key stored together) or {}, not both",
                e.key
            ),
        );
        ok = false;
    }
    ok.then_some(name)
}

/// The login if it is valid, and its name if it has one.
fn read_login(ctx: &mut Ctx, at: &At<'_, '_>) -> (Option<Login>, Option<String>) {
    let Some(es) = entries(ctx, at) else {
        return (None, None);
    };
    let find = |k: &str| es.iter().find(|e| e.key == k);
    for e in &es {
        if !LOGIN.contains(&e.key.as_str()) {
            unknown_key(ctx, e, LOGIN);
        }
    }
    let name = match find("name") {
        Some(e) => string(ctx, &e.value).map(str::to_string),
        None => {
            ctx.err(&at.path, at.line, "missing `name`");
            None
        }
    };
    let (user_name, api_key) = match find("credential") {
        Some(c) => match stored(ctx, c, &es) {
            Some(name) => {
                let key_path = c.value.path.clone();
                let half = |field| SecretRef::Stored {
                    name: name.clone(),
                    field,
                    key_path: key_path.clone(),
                };
                (
                    Some(half(StoredField::UserName)),
                    Some(half(StoredField::ApiKey)),
                )
            }
            None => (None, None),
        },
        None => (
            secret(
                ctx,
                &at.path,
                at.line,
                "user_name",
                find("user_name_env"),
                find("user_name_keyring"),
            ),
            secret(
                ctx,
                &at.path,
                at.line,
                "api_key",
                find("api_key_env"),
                find("api_key_keyring"),
            ),
        ),
    };
    let gateway = find("gateway").map(|e| read_gateway(ctx, &e.value));
    let login = match (name.clone(), user_name, api_key, gateway) {
        (Some(name), Some(user_name), Some(api_key), None) => Some(Login {
            name,
            user_name,
            api_key,
            gateway: None,
        }),
        (Some(name), Some(user_name), Some(api_key), Some(Some(g))) => Some(Login {
            name,
            user_name,
            api_key,
            gateway: Some(g),
        }),
        _ => None,
    };
    (login, name)
}

fn read_account(ctx: &mut Ctx, at: &At<'_, '_>) -> Option<(WatchedAccount, usize, String, bool)> {
    let es = entries(ctx, at)?;
    let mut id = None;
    let mut login = None;
    let mut enabled = true;
    for e in &es {
        match e.key.as_str() {
            "id" => match crate::tree::scalar(e.value.node) {
                Some((t, _)) => match t.trim().parse::<i64>() {
                    Ok(n) if n > 0 => id = Some(AccountId(n)),
                    _ => ctx.err(
                        &e.value.path,
                        e.value.line,
                        format!("expected a positive account id, found `{t}`"),
                    ),
                },
                None => ctx.err(
                    &e.value.path,
                    e.value.line,
                    "expected a positive account id",
                ),
            },
            "login" => login = string(ctx, &e.value).map(str::to_string),
            "enabled" => enabled = boolean(ctx, &e.value).unwrap_or(true),
            _ => unknown_key(ctx, e, ACCOUNT),
        }
    }
    if !es.iter().any(|e| e.key == "id") {
        ctx.err(&at.path, at.line, "missing `id`");
    }
    if !es.iter().any(|e| e.key == "login") {
        ctx.err(&at.path, at.line, "missing `login`");
    }
    Some((
        WatchedAccount {
            id: id?,
            login: login?,
        },
        at.line,
        at.path.clone(),
        enabled,
    ))
}

fn read_api(ctx: &mut Ctx, at: &At<'_, '_>) -> Option<ApiSettings> {
    let mut api = ApiSettings::default();
    for e in &entries(ctx, at)? {
        match e.key.as_str() {
            "listen" => {
                let text = string(ctx, &e.value)?;
                match text.parse::<std::net::SocketAddr>() {
                    Ok(addr) if addr.ip().is_loopback() => api.listen = text.to_string(),
                    Ok(_) => ctx.err(&e.value.path, e.value.line, format!("`{text}` is not a loopback address: the internal API never leaves this machine")),
                    Err(_) => ctx.err(&e.value.path, e.value.line, format!("`{text}` is not an address:port such as 127.0.0.1:8787")),
                }
            }
            _ => unknown_key(ctx, e, API),
        }
    }
    Some(api)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn errors(text: &str) -> Vec<(usize, String)> {
        parse(text, Path::new("accounts.yaml"))
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.line, e.key_path))
            .collect()
    }

    #[test]
    fn a_valid_file() {
        let c = parse(
            "logins:\n  - name: main\n    user_name_env: PX_USER\n    api_key_keyring: riskguard/main\naccounts:\n  - id: 123456\n    login: main\n  - id: 7\n    login: main\n    enabled: false\napi:\n  listen: 127.0.0.1:9000\n",
            Path::new("accounts.yaml"),
        )
        .unwrap();
        assert_eq!(c.gateway, GatewayEndpoints::default());
        assert_eq!(
            c.accounts,
            vec![WatchedAccount {
                id: AccountId(123456),
                login: "main".into()
            }]
        );
        assert_eq!(c.api.listen, "127.0.0.1:9000");
        assert!(
            matches!(c.logins[0].api_key, SecretRef::Keyring { ref entry, .. } if entry == "riskguard/main")
        );
    }

    #[test]
    fn every_error_at_once() {
        let text = "gateway:\n  api_url: http://api.example.com\nlogins:\n  - name: main\n    api_key_env: KEY\n  - name: main\n    user_name_env: U\n    api_key_env: K\naccounts:\n  - id: 1\n    login: nobody\n  - id: 1\n    login: main\napi:\n  listen: 0.0.0.0:80\nbogus: 1\n";
        assert_eq!(
            errors(text),
            vec![
                (2, "gateway.api_url".to_string()),
                (4, "logins[0]".to_string()),
                (6, "logins[1].name".to_string()),
                (10, "accounts[0].login".to_string()),
                (12, "accounts[1].id".to_string()),
                (15, "api.listen".to_string()),
                (16, "bogus".to_string()),
            ]
        );
    }

    #[test]
    fn loopback_http_is_allowed_for_the_simulator() {
        let text = "gateway: { api_url: \"http://127.0.0.1:4000\", realtime_url: \"http://localhost:4000\" }\nlogins: [{ name: a, user_name_env: U, api_key_env: K }]\naccounts: [{ id: 1, login: a }]\n";
        let c = parse(text, Path::new("a.yaml")).unwrap();
        assert_eq!(c.gateway.api_url, "http://127.0.0.1:4000");
    }

    #[test]
    fn a_stored_credential_gives_both_halves() {
        let text =
            "logins:\n  - name: main\n    credential: main\naccounts: [{ id: 1, login: main }]\n";
        let c = parse(text, Path::new("a.yaml")).unwrap();
        assert_eq!(
            c.logins[0].user_name,
            SecretRef::Stored {
                name: "main".into(),
                field: StoredField::UserName,
                key_path: "logins[0].credential".into()
            }
        );
        assert!(matches!(
            c.logins[0].api_key,
            SecretRef::Stored { ref name, field: StoredField::ApiKey, .. } if name == "main"
        ));
    }

    #[test]
    fn a_credential_beside_field_secrets_or_with_a_bad_name_is_refused() {
        let text = "logins:\n  - name: main\n    credential: main\n    api_key_env: K\n  - name: b\n    credential: ../etc/passwd\naccounts: [{ id: 1, login: main }]\n";
        assert_eq!(
            errors(text),
            vec![
                (4, "logins[0].api_key_env".to_string()),
                (6, "logins[1].credential".to_string()),
            ]
        );
        assert!(valid_credential_name("main-2.x_y"));
        assert!(!valid_credential_name(".hidden"));
        assert!(!valid_credential_name("a/b"));
        assert!(!valid_credential_name(""));
    }
}
