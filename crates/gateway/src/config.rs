//! What a session needs to start: the gateway's endpoints (validated: plain `http://` only for loopback hosts),
//! the login's credentials (never printed) and the tuning knobs with their defaults.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::error::GatewayError;

/// The REST base and the real-time base of one gateway deployment (CONFIG.md §5 `gateway:`).
/// The hubs are at `<realtime_url>/hubs/user` and `<realtime_url>/hubs/market`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub api_url: String,
    pub realtime_url: String,
}

impl Endpoints {
    /// The hosted TopstepX gateway, the default of `accounts.yaml`.
    pub fn topstepx() -> Self {
        Self {
            api_url: "https://api.topstepx.com".into(),
            realtime_url: "https://rtc.topstepx.com".into(),
        }
    }

    /// Both URLs must be absolute `https://` URLs, or `http://` for a loopback host (the simulator).
    pub fn validate(&self) -> Result<(), GatewayError> {
        check_url("api_url", &self.api_url)?;
        check_url("realtime_url", &self.realtime_url)
    }
}

fn check_url(key: &str, url: &str) -> Result<(), GatewayError> {
    let bad = |why: &str| GatewayError::Config(format!("gateway.{key} `{url}`: {why}"));
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("not an absolute URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(bad("must not carry credentials"));
    }
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if is_loopback(host) => Ok(()),
        "http" => Err(bad(
            "plain http:// is accepted only for loopback hosts; use https://",
        )),
        _ => Err(bad("the scheme must be https:// (or http:// on loopback)")),
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// One login's `userName` and API key. Both are secrets: `Debug` prints `***`, and neither ever appears in a log
/// line or an error.
pub struct Credentials {
    user_name: SecretString,
    api_key: SecretString,
}

impl Credentials {
    pub fn new(user_name: impl Into<String>, api_key: impl Into<String>) -> Self {
        Self {
            user_name: SecretString::from(user_name.into()),
            api_key: SecretString::from(api_key.into()),
        }
    }

    pub(crate) fn user_name(&self) -> &str {
        self.user_name.expose_secret()
    }

    pub(crate) fn api_key(&self) -> &str {
        self.api_key.expose_secret()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user_name", &"***")
            .field("api_key", &"***")
            .finish()
    }
}

impl Clone for Credentials {
    fn clone(&self) -> Self {
        Self::new(self.user_name(), self.api_key())
    }
}

/// Tuning of a [`crate::Session`]; [`Default`] is what [`crate::Session::start`] uses.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// How often the token is checked with `Auth/validate` (it lives 24 h; a failed validate means a full
    /// re-login). Default 4 h.
    pub validate_every: Duration,
    /// After a token rotation or a re-login, reconnect both hubs so that the sockets carry the current token
    /// (GATEWAY.md §10.10). The reconnect is a gap: it ends with [`crate::Feed::Resynced`]. Default true.
    pub reconnect_after_token_refresh: bool,
    /// Per-request HTTP timeout. A money-moving call that times out is [`crate::CallOutcome::Ambiguous`].
    /// Default 10 s.
    pub request_timeout: Duration,
    /// How long a hub may stay down before the session checks its token (re-login on 401) and reconnects it
    /// itself. Default 6 s (projectx-client's own reconnect watchdog ticks every 5 s).
    pub hub_down_check: Duration,
    /// Deadline for the login, both hub connections and their first subscriptions. Default 30 s.
    pub start_timeout: Duration,
    /// The REST budget this login paces itself to (see [`crate::pacer`]). Default: the gateway's 200 calls
    /// per 60 s, 20 of them kept for closes and cancels.
    pub rate_budget: crate::pacer::RateBudget,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            validate_every: Duration::from_secs(4 * 3600),
            reconnect_after_token_refresh: true,
            request_timeout: Duration::from_secs(10),
            hub_down_check: Duration::from_secs(6),
            start_timeout: Duration::from_secs(30),
            rate_budget: crate::pacer::RateBudget::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(api: &str, rt: &str) -> Endpoints {
        Endpoints {
            api_url: api.into(),
            realtime_url: rt.into(),
        }
    }

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        assert!(Endpoints::topstepx().validate().is_ok());
        assert!(
            endpoints("http://127.0.0.1:8080", "http://localhost:9")
                .validate()
                .is_ok()
        );
        assert!(
            endpoints("http://[::1]:8080", "https://rtc.example.com")
                .validate()
                .is_ok()
        );
        assert!(
            endpoints("http://api.topstepx.com", "https://rtc.topstepx.com")
                .validate()
                .is_err()
        );
        assert!(
            endpoints("https://api.topstepx.com", "ws://rtc.topstepx.com")
                .validate()
                .is_err()
        );
        assert!(
            endpoints("api.topstepx.com", "https://rtc.topstepx.com")
                .validate()
                .is_err()
        );
        assert!(
            endpoints("http://127.0.0.1.evil.com", "https://rtc.topstepx.com")
                .validate()
                .is_err()
        );
    }

    #[test]
    fn credentials_never_print() {
        let c = Credentials::new("trader-x", "sk-SECRET-42");
        let shown = format!("{c:?} {:?}", c.clone());
        assert!(!shown.contains("sk-SECRET-42"));
        assert!(!shown.contains("trader-x"));
        assert!(shown.contains("***"));
    }
}
