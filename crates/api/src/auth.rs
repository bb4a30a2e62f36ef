//! Who may do what: the two roles, bearer tokens, admin login and its lockout.
//!
//! Everything under `/v1` except the login wants `Authorization: Bearer <token>`. The trader token (from
//! `trader.token`) may read; an admin token (from `POST /v1/admin/login`, valid 15 minutes, kept in memory
//! only) may read and act. Tokens are compared in constant time. Five wrong passwords within 60 seconds lock
//! the login for 5 minutes (429 with `Retry-After`), even for the right password. Password hashes are
//! verified on tokio's blocking pool (Argon2 is slow on purpose) and one login is verified at a time, so
//! parallel guesses cannot outrun the counter. Neither passwords nor tokens are ever logged.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Extension;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::error::{ApiError, JsonBody};
use crate::files;
use crate::server::AppState;
use crate::types::{LoginAnswer, LoginRequest};

/// How long an admin token lives.
pub const ADMIN_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
/// Wrong passwords within [`FAILURE_WINDOW`] that lock the login.
pub const MAX_FAILURES: usize = 5;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// How long the login stays locked.
pub const LOCKOUT: Duration = Duration::from_secs(5 * 60);

/// The caller's role, put in the request's extensions by [`require_token`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Trader,
    Admin { name: String },
}

#[derive(Debug)]
struct Session {
    token: String,
    name: String,
    expires: Instant,
}

#[derive(Debug, Default)]
struct LoginGuard {
    failures: VecDeque<Instant>,
    locked_until: Option<Instant>,
}

impl LoginGuard {
    /// `Err(remaining)` while locked.
    fn check(&mut self, now: Instant) -> Result<(), Duration> {
        match self.locked_until {
            Some(until) if until > now => Err(until - now),
            Some(_) => {
                self.locked_until = None;
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn fail(&mut self, now: Instant) {
        while self
            .failures
            .front()
            .is_some_and(|t| now.duration_since(*t) > FAILURE_WINDOW)
        {
            self.failures.pop_front();
        }
        self.failures.push_back(now);
        if self.failures.len() >= MAX_FAILURES {
            self.failures.clear();
            self.locked_until = Some(now + LOCKOUT);
        }
    }
}

/// The tokens and the login state.
#[derive(Debug)]
pub struct Auth {
    trader_token: String,
    data_dir: PathBuf,
    sessions: Mutex<Vec<Session>>,
    guard: Mutex<LoginGuard>,
    /// Held while a password is verified: one login at a time.
    verifying: tokio::sync::Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

impl Auth {
    pub fn new(trader_token: String, data_dir: PathBuf) -> Auth {
        Auth {
            trader_token,
            data_dir,
            sessions: Mutex::new(Vec::new()),
            guard: Mutex::new(LoginGuard::default()),
            verifying: tokio::sync::Mutex::new(()),
        }
    }

    /// The role of a bearer token, `None` for an unknown or expired one.
    pub fn role(&self, token: &str) -> Option<Role> {
        if same(token, &self.trader_token) {
            return Some(Role::Trader);
        }
        let now = Instant::now();
        let mut sessions = lock(&self.sessions);
        sessions.retain(|s| s.expires > now);
        // Compare with every session (no early exit), so the time taken says nothing about the token.
        let mut found = None;
        for s in sessions.iter() {
            if same(token, &s.token) {
                found = Some(Role::Admin {
                    name: s.name.clone(),
                });
            }
        }
        found
    }

    fn new_session(&self, name: String) -> Result<LoginAnswer, ApiError> {
        let token = files::random_hex(32).map_err(|e| {
            tracing::error!("admin login: {e}");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "cannot create a token")
        })?;
        let now = Instant::now();
        let expires_at = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::try_from(ADMIN_TOKEN_TTL).unwrap_or_default())
            .unwrap_or_else(|_| jiff::Timestamp::now());
        let mut sessions = lock(&self.sessions);
        sessions.retain(|s| s.expires > now);
        sessions.push(Session {
            token: token.clone(),
            name,
            expires: now + ADMIN_TOKEN_TTL,
        });
        Ok(LoginAnswer { token, expires_at })
    }

    fn locked(&self) -> Result<(), ApiError> {
        lock(&self.guard).check(Instant::now()).map_err(|left| {
            let secs = left.as_secs() + 1;
            ApiError {
                retry_after_secs: Some(secs),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!(
                        "admin login locked after {MAX_FAILURES} wrong passwords; try again in {secs} s"
                    ),
                )
            }
        })
    }
}

/// `Authorization: Bearer <token>` → the caller's [`Role`] in the request's extensions, or 401.
pub async fn require_token(
    Extension(state): Extension<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(token) = token else {
        return ApiError::unauthorized("missing `Authorization: Bearer <token>` header")
            .into_response();
    };
    match state.auth.role(token) {
        Some(role) => {
            request.extensions_mut().insert(role);
            next.run(request).await
        }
        None => ApiError::unauthorized("unknown or expired token").into_response(),
    }
}

/// Admin actions: 403 for the trader token.
pub async fn require_admin(request: Request, next: Next) -> Response {
    match request.extensions().get::<Role>() {
        Some(Role::Admin { .. }) => next.run(request).await,
        _ => ApiError::new(
            StatusCode::FORBIDDEN,
            "admin actions need an admin token (POST /v1/admin/login)",
        )
        .into_response(),
    }
}

/// `POST /v1/admin/login`.
pub async fn login(
    State(state): State<Arc<AppState>>,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<axum::Json<LoginAnswer>, ApiError> {
    let auth = &state.auth;
    auth.locked()?;
    let name = body
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("admin")
        .to_owned();
    if name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "`name` must be at most 64 printable characters",
        ));
    }
    let _one_at_a_time = auth.verifying.lock().await;
    // A login that waited for the previous one may find the login locked now.
    auth.locked()?;
    let data_dir = auth.data_dir.clone();
    let password = body.password;
    let verified = tokio::task::spawn_blocking(move || {
        files::read_admin_hash(&data_dir)
            .map(|hash| hash.map(|hash| files::verify_password(&hash, &password)))
    })
    .await
    .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "password check failed"))?;
    match verified {
        Ok(Some(true)) => {
            lock(&auth.guard).failures.clear();
            tracing::info!(admin = %name, "admin login");
            auth.new_session(name).map(axum::Json)
        }
        Ok(Some(false)) => {
            lock(&auth.guard).fail(Instant::now());
            state.metrics.login_failed();
            tracing::warn!(admin = %name, "admin login: wrong password");
            Err(ApiError::unauthorized("wrong password"))
        }
        Ok(None) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "no admin password is set: run `riskguard admin set-password` first",
        )),
        Err(e) => {
            tracing::error!("admin login: {e}");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot read the admin password hash: {e}"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_in_a_minute_lock_for_five_minutes() {
        let mut g = LoginGuard::default();
        let t0 = Instant::now();
        for i in 0..4 {
            g.fail(t0 + Duration::from_secs(i));
            assert!(g.check(t0 + Duration::from_secs(i)).is_ok());
        }
        g.fail(t0 + Duration::from_secs(10));
        assert!(g.check(t0 + Duration::from_secs(11)).is_err());
        assert!(g.check(t0 + Duration::from_secs(10 + 299)).is_err());
        assert!(g.check(t0 + Duration::from_secs(10 + 301)).is_ok());
    }

    #[test]
    fn failures_spread_over_more_than_a_minute_do_not_lock() {
        let mut g = LoginGuard::default();
        let t0 = Instant::now();
        for i in 0..10 {
            g.fail(t0 + Duration::from_secs(i * 20));
            assert!(g.check(t0 + Duration::from_secs(i * 20)).is_ok(), "{i}");
        }
    }

    #[test]
    fn session_tokens_resolve_to_their_admin_and_others_do_not() {
        let auth = Auth::new("t".repeat(64), PathBuf::from("/nonexistent"));
        let answer = auth
            .new_session("ops".into())
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            auth.role(&answer.token),
            Some(Role::Admin { name: "ops".into() })
        );
        assert_eq!(auth.role(&"t".repeat(64)), Some(Role::Trader));
        assert_eq!(auth.role("nope"), None);
    }
}
