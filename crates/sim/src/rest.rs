//! The gateway's REST surface (`POST /api/<Controller>/<action>`, JSON in and out, the
//! `{success, errorCode, errorMessage}` envelope).
//!
//! Every call goes through the same gate, in this order: counted by path, delayed by the latency fault,
//! failed by the rest_errors fault, then (except `Auth/loginKey`) bearer-token check (HTTP 401) and the
//! per-token rate limit (HTTP 429), then body parsing (HTTP 400 with the envelope on malformed JSON or a
//! missing required field). Business refusals are HTTP 200 with `success: false` and the endpoint's own
//! error code, numbered as the gateway publishes them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::matching::{BracketSpec, PlaceRequest, Reject};
use crate::state::App;
use crate::wire::{envelope, num, ts};

/// A finished REST answer.
fn reply(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

fn ok(body: Value) -> Response {
    reply(StatusCode::OK, envelope(0, None, body))
}

fn refused(code: i32, message: &str, body: Value) -> Response {
    reply(StatusCode::OK, envelope(code, Some(message), body))
}

fn bad_request(message: &str) -> Response {
    reply(
        StatusCode::BAD_REQUEST,
        envelope(400, Some(message), Value::Null),
    )
}

/// `POST /api/{*path}`.
pub async fn api(
    State(app): State<Arc<App>>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (latency, injected) = {
        let mut inner = app.lock();
        *inner.rest_calls.entry(format!("/api/{path}")).or_default() += 1;
        let faults = &mut inner.faults;
        let injected = if faults.rest_errors_left > 0 {
            faults.rest_errors_left -= 1;
            Some(faults.rest_error_status)
        } else {
            None
        };
        (faults.latency_ms, injected)
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    if let Some(status) = injected {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return reply(
            status,
            envelope(
                i32::from(status.as_u16()),
                Some("injected fault"),
                Value::Null,
            ),
        );
    }
    if path == "Auth/loginKey" {
        return login(&app, &body);
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    let user = {
        let mut inner = app.lock();
        let Some(user) = inner.tokens.verify(&token, jiff::Timestamp::now()) else {
            return StatusCode::UNAUTHORIZED.into_response();
        };
        if !inner.limiter.admit(&token, Instant::now()) {
            let window = app.config.rate_limit_window_secs.to_string();
            let mut response = reply(
                StatusCode::TOO_MANY_REQUESTS,
                envelope(429, Some("Too Many Requests"), Value::Null),
            );
            if let Ok(value) = header::HeaderValue::from_str(&window) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
        user
    };
    let ctx = Ctx {
        app: &app,
        user: &user,
        body: &body,
    };
    match path.as_str() {
        "Auth/validate" => validate(&ctx),
        "Account/search" => ctx.run(account_search),
        "Contract/available" => ctx.run(contract_available),
        "Contract/search" => ctx.run(contract_search),
        "Contract/searchById" => ctx.run(contract_by_id),
        "Order/place" => ctx.run(order_place),
        "Order/cancel" => ctx.run(order_cancel),
        "Order/modify" => ctx.run(order_modify),
        "Order/search" => ctx.run(order_search),
        "Order/searchOpen" => ctx.run(order_search_open),
        "Position/searchOpen" => ctx.run(position_search_open),
        "Position/closeContract" => ctx.run(close_contract),
        "Position/partialCloseContract" => ctx.run(partial_close_contract),
        "Trade/search" => ctx.run(trade_search),
        _ => reply(
            StatusCode::NOT_FOUND,
            envelope(404, Some("no such endpoint"), Value::Null),
        ),
    }
}

struct Ctx<'a> {
    app: &'a App,
    user: &'a str,
    body: &'a [u8],
}

impl Ctx<'_> {
    /// Parses the body into `T` (400 on failure) and runs the endpoint.
    fn run<T: DeserializeOwned>(&self, endpoint: impl FnOnce(&Self, T) -> Response) -> Response {
        match serde_json::from_slice::<T>(self.body) {
            Ok(request) => endpoint(self, request),
            Err(e) if e.is_syntax() || e.is_eof() => {
                bad_request(&format!("malformed JSON body: {e}"))
            }
            Err(e) => bad_request(&format!("invalid request: {e}")),
        }
    }

    fn owns(&self, account_id: i64) -> bool {
        self.app.owned_accounts(self.user).contains(&account_id)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginKey {
    user_name: String,
    api_key: String,
}

fn login(app: &App, body: &[u8]) -> Response {
    let request: LoginKey = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) if e.is_syntax() || e.is_eof() => {
            return bad_request(&format!("malformed JSON body: {e}"));
        }
        Err(e) => return bad_request(&format!("invalid request: {e}")),
    };
    let known = app
        .config
        .users
        .iter()
        .any(|u| u.user_name == request.user_name && u.api_key == request.api_key);
    if !known {
        return refused(3, "Invalid credentials", json!({ "token": null }));
    }
    let token = app
        .lock()
        .tokens
        .issue(&request.user_name, jiff::Timestamp::now());
    ok(json!({ "token": token }))
}

fn validate(ctx: &Ctx<'_>) -> Response {
    let token = ctx
        .app
        .lock()
        .tokens
        .issue(ctx.user, jiff::Timestamp::now());
    ok(json!({ "newToken": token }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountSearch {
    only_active_accounts: bool,
}

fn account_search(ctx: &Ctx<'_>, req: AccountSearch) -> Response {
    let owned = ctx.app.owned_accounts(ctx.user);
    let inner = ctx.app.lock();
    let accounts: Vec<_> = inner
        .book
        .accounts
        .values()
        .filter(|a| owned.contains(&a.id) && (!req.only_active_accounts || a.is_visible))
        .collect();
    ok(json!({ "accounts": accounts }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Available {
    #[allow(dead_code)]
    live: bool,
}

fn contract_available(ctx: &Ctx<'_>, _req: Available) -> Response {
    let inner = ctx.app.lock();
    let contracts: Vec<_> = inner.book.contracts.values().collect();
    ok(json!({ "contracts": contracts }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Search {
    #[serde(default)]
    search_text: Option<String>,
    #[allow(dead_code)]
    live: bool,
}

fn contract_search(ctx: &Ctx<'_>, req: Search) -> Response {
    let needle = req.search_text.unwrap_or_default().to_ascii_uppercase();
    let inner = ctx.app.lock();
    let contracts: Vec<_> = inner
        .book
        .contracts
        .values()
        .filter(|c| {
            needle.is_empty()
                || c.name.to_ascii_uppercase().contains(&needle)
                || c.id.to_ascii_uppercase().contains(&needle)
                || c.description.to_ascii_uppercase().contains(&needle)
        })
        .take(20)
        .collect();
    ok(json!({ "contracts": contracts }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ById {
    contract_id: String,
}

fn contract_by_id(ctx: &Ctx<'_>, req: ById) -> Response {
    let inner = ctx.app.lock();
    match inner.book.contracts.get(&req.contract_id) {
        Some(c) => ok(json!({ "contract": c })),
        None => refused(1, "Contract not found", json!({ "contract": null })),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bracket {
    ticks: i32,
    #[serde(rename = "type")]
    order_type: i32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Place {
    account_id: i64,
    contract_id: String,
    #[serde(rename = "type")]
    order_type: i32,
    side: i32,
    size: i64,
    #[serde(default, with = "num::option")]
    limit_price: Option<Decimal>,
    #[serde(default, with = "num::option")]
    stop_price: Option<Decimal>,
    #[serde(default, with = "num::option")]
    trail_price: Option<Decimal>,
    #[serde(default)]
    custom_tag: Option<String>,
    #[serde(default)]
    stop_loss_bracket: Option<Bracket>,
    #[serde(default)]
    take_profit_bracket: Option<Bracket>,
}

fn order_place(ctx: &Ctx<'_>, req: Place) -> Response {
    if !ctx.owns(req.account_id) {
        return refused(1, "Account not found", json!({ "orderId": null }));
    }
    let place = PlaceRequest {
        account_id: req.account_id,
        contract_id: req.contract_id,
        order_type: req.order_type,
        side: req.side,
        size: req.size,
        limit_price: req.limit_price,
        stop_price: req.stop_price,
        trail_price: req.trail_price,
        custom_tag: req.custom_tag.filter(|t| !t.is_empty()),
        stop_loss: req.stop_loss_bracket.map(|b| BracketSpec {
            ticks: b.ticks,
            order_type: b.order_type,
        }),
        take_profit: req.take_profit_bracket.map(|b| BracketSpec {
            ticks: b.ticks,
            order_type: b.order_type,
        }),
    };
    match ctx.app.change(|book, now| book.place(place, now)) {
        Ok(id) => ok(json!({ "orderId": id })),
        Err(reject) => {
            let code = match reject {
                Reject::AccountNotFound => 1,
                Reject::ContractNotFound => 8,
                _ => 2,
            };
            refused(code, &reject.to_string(), json!({ "orderId": null }))
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cancel {
    account_id: i64,
    order_id: i64,
}

fn order_cancel(ctx: &Ctx<'_>, req: Cancel) -> Response {
    if !ctx.owns(req.account_id) {
        return refused(1, "Account not found", Value::Null);
    }
    match ctx.app.change(|book, now| {
        book.cancel(req.account_id, req.order_id, now)
            .map(|e| ((), e))
    }) {
        Ok(()) => ok(Value::Null),
        Err(reject) => {
            let code = match reject {
                Reject::AccountNotFound => 1,
                Reject::OrderNotFound => 2,
                _ => 3,
            };
            refused(code, &reject.to_string(), Value::Null)
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Modify {
    account_id: i64,
    order_id: i64,
    #[serde(default)]
    size: Option<i64>,
    #[serde(default, with = "num::option")]
    limit_price: Option<Decimal>,
    #[serde(default, with = "num::option")]
    stop_price: Option<Decimal>,
    #[serde(default, with = "num::option")]
    trail_price: Option<Decimal>,
}

fn order_modify(ctx: &Ctx<'_>, req: Modify) -> Response {
    if !ctx.owns(req.account_id) {
        return refused(1, "Account not found", Value::Null);
    }
    let stop = req.stop_price.or(req.trail_price);
    match ctx.app.change(|book, now| {
        book.modify(
            req.account_id,
            req.order_id,
            req.size,
            req.limit_price,
            stop,
            now,
        )
        .map(|e| ((), e))
    }) {
        Ok(()) => ok(Value::Null),
        Err(reject) => {
            let code = match reject {
                Reject::AccountNotFound => 1,
                Reject::OrderNotFound => 2,
                Reject::ContractNotFound => 7,
                _ => 3,
            };
            refused(code, &reject.to_string(), Value::Null)
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RangeSearch {
    account_id: i64,
    #[serde(default, with = "ts::option")]
    start_timestamp: Option<jiff::Timestamp>,
    #[serde(default, with = "ts::option")]
    end_timestamp: Option<jiff::Timestamp>,
}

fn in_range(at: jiff::Timestamp, req: &RangeSearch) -> bool {
    req.start_timestamp.is_none_or(|s| at >= s) && req.end_timestamp.is_none_or(|e| at <= e)
}

fn order_search(ctx: &Ctx<'_>, req: RangeSearch) -> Response {
    if req.start_timestamp.is_none() {
        return bad_request("startTimestamp is required");
    }
    if !ctx.owns(req.account_id) {
        return refused(1, "Account not found", json!({ "orders": [] }));
    }
    let inner = ctx.app.lock();
    let orders: Vec<_> = inner
        .book
        .orders
        .values()
        .filter(|o| o.account_id == req.account_id && in_range(o.creation_timestamp, &req))
        .collect();
    ok(json!({ "orders": orders }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ForAccount {
    account_id: i64,
}

fn order_search_open(ctx: &Ctx<'_>, req: ForAccount) -> Response {
    if !ctx.owns(req.account_id) {
        return refused(1, "Account not found", json!({ "orders": [] }));
    }
    let inner = ctx.app.lock();
    let orders: Vec<_> = inner
        .book
        .orders
        .values()
        .filter(|o| o.account_id == req.account_id && o.status == crate::matching::status::OPEN)
        .collect();
    ok(json!({ "orders": orders }))
}

fn position_search_open(ctx: &Ctx<'_>, req: ForAccount) -> Response {
    if !ctx.owns(req.account_id) {
        return refused(1, "Account not found", json!({ "positions": [] }));
    }
    let inner = ctx.app.lock();
    let positions: Vec<_> = inner
        .book
        .open_positions()
        .filter(|p| p.account_id == req.account_id)
        .collect();
    ok(json!({ "positions": positions }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Close {
    account_id: i64,
    contract_id: String,
}

fn close_contract(ctx: &Ctx<'_>, req: Close) -> Response {
    if !ctx.owns(req.account_id) {
        return refused(1, "Account not found", Value::Null);
    }
    match ctx.app.change(|book, now| {
        book.close(req.account_id, &req.contract_id, None, now)
            .map(|e| ((), e))
    }) {
        Ok(()) => ok(Value::Null),
        Err(reject) => {
            let code = match reject {
                Reject::AccountNotFound => 1,
                Reject::PositionNotFound => 2,
                Reject::ContractNotFound => 3,
                _ => 5,
            };
            refused(code, &reject.to_string(), Value::Null)
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PartialClose {
    account_id: i64,
    contract_id: String,
    size: i64,
}

fn partial_close_contract(ctx: &Ctx<'_>, req: PartialClose) -> Response {
    if !ctx.owns(req.account_id) {
        return refused(1, "Account not found", Value::Null);
    }
    let size = Some(req.size);
    match ctx.app.change(|book, now| {
        book.close(req.account_id, &req.contract_id, size, now)
            .map(|e| ((), e))
    }) {
        Ok(()) => ok(Value::Null),
        Err(reject) => {
            let code = match reject {
                Reject::AccountNotFound => 1,
                Reject::PositionNotFound => 2,
                Reject::ContractNotFound => 3,
                Reject::InvalidSize => 5,
                _ => 6,
            };
            refused(code, &reject.to_string(), Value::Null)
        }
    }
}

fn trade_search(ctx: &Ctx<'_>, req: RangeSearch) -> Response {
    if !ctx.owns(req.account_id) {
        return refused(1, "Account not found", json!({ "trades": [] }));
    }
    let inner = ctx.app.lock();
    let trades: Vec<_> = inner
        .book
        .trades
        .iter()
        .filter(|t| t.account_id == req.account_id && in_range(t.creation_timestamp, &req))
        .collect();
    ok(json!({ "trades": trades }))
}
