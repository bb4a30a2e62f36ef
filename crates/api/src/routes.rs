//! The read endpoints under `/v1`: answered from the daemon's latest published [`View`] and its cheap getters,
//! never waiting on the daemon's loop. `uptimeSecs` and `lastEventAgeMs` are recomputed from the wall clock
//! when the answer is built, since the view may be minutes old on a quiet market.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use serde::Deserialize;

use crate::error::{ApiError, QueryParams};
use crate::server::AppState;
use crate::types::{
    Account, AccountRules, DecisionRecord, Holidays, Lock, Order, PendingChange, Position, Status,
    View,
};

type Shared = State<Arc<AppState>>;

/// `status` with its clock-dependent fields as of `now`.
pub fn fresh_status(status: &Status, now: Timestamp) -> Status {
    let mut s = status.clone();
    s.uptime_secs = (now.as_second() - status.started_at.as_second()).max(0);
    s.last_event_age_ms = status
        .last_event_at
        .map(|t| (now.as_millisecond() - t.as_millisecond()).max(0));
    s
}

/// The latest view (a cheap `Arc` clone; the watch's lock is held only for the clone).
pub fn current_view(state: &AppState) -> Arc<View> {
    Arc::clone(&state.daemon.view().borrow())
}

pub async fn status(State(state): Shared) -> Json<Status> {
    Json(fresh_status(&current_view(&state).status, Timestamp::now()))
}

pub async fn accounts(State(state): Shared) -> Json<Vec<Account>> {
    Json(current_view(&state).accounts.clone())
}

pub async fn positions(State(state): Shared) -> Json<Vec<Position>> {
    Json(current_view(&state).positions.clone())
}

pub async fn orders(State(state): Shared) -> Json<Vec<Order>> {
    Json(current_view(&state).orders.clone())
}

pub async fn locks(State(state): Shared) -> Json<Vec<Lock>> {
    Json(current_view(&state).locks.clone())
}

/// `GET /v1/decisions?since=<RFC 3339>&account=<id>`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionsQuery {
    since: Option<String>,
    account: Option<String>,
}

pub async fn decisions(
    State(state): Shared,
    QueryParams(query): QueryParams<DecisionsQuery>,
) -> Result<Json<Vec<DecisionRecord>>, ApiError> {
    let since = match query.since.as_deref() {
        None | Some("") => None,
        Some(text) => Some(text.parse::<Timestamp>().map_err(|_| {
            ApiError::bad_request(format!(
                "`since` must be an RFC 3339 instant such as 2025-03-14T13:30:00Z, not {text:?}"
            ))
        })?),
    };
    let account = match query.account.as_deref() {
        None | Some("") => None,
        Some(text) => Some(text.trim().parse::<i64>().map_err(|_| {
            ApiError::bad_request(format!(
                "`account` must be an account id (an integer), not {text:?}"
            ))
        })?),
    };
    Ok(Json(state.daemon.decision_history(since, account)))
}

pub async fn rules(State(state): Shared) -> Json<Vec<AccountRules>> {
    Json(state.daemon.rules())
}

pub async fn holidays(State(state): Shared) -> Json<Holidays> {
    Json(state.daemon.holidays())
}

pub async fn pending(State(state): Shared) -> Json<Vec<PendingChange>> {
    Json(current_view(&state).pending.clone())
}
