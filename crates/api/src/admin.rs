//! The admin actions (`POST /v1/admin/*`, admin token only): each JSON body is checked (unknown fields
//! refused, a reason that is not blank) before anything reaches the daemon, then sent as an
//! [`AdminRequest`] signed with the admin's login name, and the daemon's answer awaited for at most 10 s.
//!
//! Answers: 200 with [`AdminDone`]; the daemon's [`crate::AdminError`] as 400 (`bad_request`,
//! `invalid_config`, with every error in `details`), 404 (`not_found`) or 503 (`unavailable`); 503 when the
//! daemon does not answer in time or has stopped.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;

use crate::auth::Role;
use crate::error::{ApiError, JsonBody};
use crate::server::AppState;
use crate::types::{AdminAction, AdminDone, AdminRequest};

/// How long an admin action may take in the daemon before the answer is 503.
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// `POST /v1/admin/locks/clear`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClearLockBody {
    account: i64,
    rule: String,
    reason: String,
    #[serde(default)]
    confirm: bool,
}

/// `POST /v1/admin/reload` (an empty object, or `{"confirm": true}`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReloadBody {
    #[serde(default)]
    confirm: bool,
}

/// `POST /v1/admin/rules/set`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRuleBody {
    key: String,
    value: String,
    reason: String,
    #[serde(default)]
    confirm: bool,
}

/// `POST /v1/admin/pending/cancel`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelPendingBody {
    id: u64,
    reason: String,
}

/// `POST /v1/trader/done-for-today` (trader or admin token).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelfLockBody {
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /v1/admin/dry-run`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DryRunBody {
    enabled: bool,
    reason: String,
    #[serde(default)]
    confirm: bool,
}

/// `POST /v1/admin/flatten`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlattenBody {
    account: i64,
    reason: String,
}

fn reason(text: String) -> Result<String, ApiError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ApiError::bad_request(
            "`reason` must not be empty: say why (it is journaled)",
        ));
    }
    Ok(trimmed.to_owned())
}

async fn send(
    state: &AppState,
    role: &Role,
    action: AdminAction,
) -> Result<Json<AdminDone>, ApiError> {
    let Role::Admin { name } = role else {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "admin token required"));
    };
    forward(state, name.clone(), action).await
}

/// Hand an action to the daemon as `by` and turn its answer into HTTP.
async fn forward(
    state: &AppState,
    by: String,
    action: AdminAction,
) -> Result<Json<AdminDone>, ApiError> {
    let answer = state.daemon.admin(AdminRequest { by, action });
    match tokio::time::timeout(ADMIN_TIMEOUT, answer).await {
        Ok(Ok(Ok(done))) => Ok(Json(done)),
        Ok(Ok(Err(e))) => {
            let status = match e.kind.as_str() {
                "not_found" => StatusCode::NOT_FOUND,
                "needs_confirmation" => StatusCode::CONFLICT,
                "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            };
            Err(ApiError::new(status, e.message).with_details(e.errors))
        }
        Ok(Err(_)) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the daemon dropped the request (is it stopping?)",
        )),
        Err(_) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the daemon did not answer within {} s; the action may still happen",
                ADMIN_TIMEOUT.as_secs()
            ),
        )),
    }
}

pub async fn clear_lock(
    State(state): State<Arc<AppState>>,
    Extension(role): Extension<Role>,
    JsonBody(body): JsonBody<ClearLockBody>,
) -> Result<Json<AdminDone>, ApiError> {
    let reason = reason(body.reason)?;
    let rule = body.rule.trim().to_owned();
    if rule.is_empty() {
        return Err(ApiError::bad_request("`rule` must not be empty"));
    }
    let action = AdminAction::ClearLock {
        account: body.account,
        rule,
        reason,
        confirm: body.confirm,
    };
    send(&state, &role, action).await
}

pub async fn reload(
    State(state): State<Arc<AppState>>,
    Extension(role): Extension<Role>,
    JsonBody(body): JsonBody<ReloadBody>,
) -> Result<Json<AdminDone>, ApiError> {
    let action = AdminAction::Reload {
        confirm: body.confirm,
    };
    send(&state, &role, action).await
}

pub async fn set_rule(
    State(state): State<Arc<AppState>>,
    Extension(role): Extension<Role>,
    JsonBody(body): JsonBody<SetRuleBody>,
) -> Result<Json<AdminDone>, ApiError> {
    let reason = reason(body.reason)?;
    let key = body.key.trim().to_owned();
    if key.is_empty() {
        return Err(ApiError::bad_request(
            "`key` must name a setting, e.g. daily_realized_loss.loss_limit",
        ));
    }
    let action = AdminAction::SetRule {
        key,
        value: body.value,
        reason,
        confirm: body.confirm,
    };
    send(&state, &role, action).await
}

pub async fn cancel_pending(
    State(state): State<Arc<AppState>>,
    Extension(role): Extension<Role>,
    JsonBody(body): JsonBody<CancelPendingBody>,
) -> Result<Json<AdminDone>, ApiError> {
    let reason = reason(body.reason)?;
    let action = AdminAction::CancelPending {
        id: body.id,
        reason,
    };
    send(&state, &role, action).await
}

/// The trader's self-lock: allowed with the trader token, since it only adds protection.
pub async fn done_for_today(
    State(state): State<Arc<AppState>>,
    Extension(role): Extension<Role>,
    JsonBody(body): JsonBody<SelfLockBody>,
) -> Result<Json<AdminDone>, ApiError> {
    let by = match &role {
        Role::Admin { name } => name.clone(),
        Role::Trader => "trader".to_owned(),
    };
    let reason = body
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "done for today".to_owned());
    forward(&state, by, AdminAction::SelfLock { reason }).await
}

pub async fn dry_run(
    State(state): State<Arc<AppState>>,
    Extension(role): Extension<Role>,
    JsonBody(body): JsonBody<DryRunBody>,
) -> Result<Json<AdminDone>, ApiError> {
    let reason = reason(body.reason)?;
    let action = AdminAction::SetDryRun {
        enabled: body.enabled,
        reason,
        confirm: body.confirm,
    };
    send(&state, &role, action).await
}

pub async fn flatten(
    State(state): State<Arc<AppState>>,
    Extension(role): Extension<Role>,
    JsonBody(body): JsonBody<FlattenBody>,
) -> Result<Json<AdminDone>, ApiError> {
    let reason = reason(body.reason)?;
    let action = AdminAction::Flatten {
        account: body.account,
        reason,
    };
    send(&state, &role, action).await
}
