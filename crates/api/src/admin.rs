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
}

/// `POST /v1/admin/reload` (an empty object).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReloadBody {}

/// `POST /v1/admin/dry-run`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DryRunBody {
    enabled: bool,
    reason: String,
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
    let answer = state.daemon.admin(AdminRequest {
        by: name.clone(),
        action,
    });
    match tokio::time::timeout(ADMIN_TIMEOUT, answer).await {
        Ok(Ok(Ok(done))) => Ok(Json(done)),
        Ok(Ok(Err(e))) => {
            let status = match e.kind.as_str() {
                "not_found" => StatusCode::NOT_FOUND,
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
    };
    send(&state, &role, action).await
}

pub async fn reload(
    State(state): State<Arc<AppState>>,
    Extension(role): Extension<Role>,
    JsonBody(ReloadBody {}): JsonBody<ReloadBody>,
) -> Result<Json<AdminDone>, ApiError> {
    send(&state, &role, AdminAction::Reload).await
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
