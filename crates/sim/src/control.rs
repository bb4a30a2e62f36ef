//! The control surface (`/sim/*`, not part of the real gateway): set prices and accounts, inject faults,
//! read the whole state, fill or void by hand, reset. No token, no rate limit, not counted as REST calls;
//! valid calls answer 200 with a JSON body, invalid ones 400 (or 404 for an unknown id) with
//! `{"success": false, "error": …}`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::matching::Reject;
use crate::state::App;
use crate::wire::num;

fn done(extra: Value) -> Response {
    let mut body = json!({ "success": true });
    if let (Some(map), Value::Object(extra)) = (body.as_object_mut(), extra) {
        map.extend(extra);
    }
    (StatusCode::OK, Json(body)).into_response()
}

fn failed(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "success": false, "error": error }))).into_response()
}

fn rejected(reject: &Reject) -> Response {
    let status = match reject {
        Reject::AccountNotFound
        | Reject::ContractNotFound
        | Reject::OrderNotFound
        | Reject::PositionNotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    failed(status, &reject.to_string())
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(failed(
            StatusCode::BAD_REQUEST,
            &format!("invalid request: {e}"),
        ))
    })
}

/// One price update.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceUpdate {
    /// Contract.
    pub contract_id: String,
    /// Last price.
    #[serde(with = "num")]
    pub last_price: Decimal,
    /// Best bid (defaults to the last price).
    #[serde(default, with = "num::option")]
    pub best_bid: Option<Decimal>,
    /// Best ask (defaults to the last price).
    #[serde(default, with = "num::option")]
    pub best_ask: Option<Decimal>,
}

/// `POST /sim/price` with one update or an array of them.
pub async fn price(State(app): State<Arc<App>>, body: Bytes) -> Response {
    // Not an untagged enum: serde's buffering would lose the exact decimal digits.
    let is_array = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let parsed = if is_array {
        parse::<Vec<PriceUpdate>>(&body)
    } else {
        parse::<PriceUpdate>(&body).map(|u| vec![u])
    };
    let updates = match parsed {
        Ok(u) => u,
        Err(r) => return *r,
    };
    for u in &updates {
        if let Err(reject) = app.change(|book, now| {
            book.set_price(&u.contract_id, u.last_price, u.best_bid, u.best_ask, now)
                .map(|e| ((), e))
        }) {
            return rejected(&reject);
        }
    }
    done(json!({ "updates": updates.len() }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountChange {
    account_id: i64,
    can_trade: bool,
}

/// `POST /sim/account {"accountId", "canTrade"}`.
pub async fn account(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let req: AccountChange = match parse(&body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    match app.change(|book, _| {
        book.set_can_trade(req.account_id, req.can_trade)
            .map(|e| ((), e))
    }) {
        Ok(()) => done(Value::Null),
        Err(reject) => rejected(&reject),
    }
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Fault {
    DropConnections,
    RestErrors { status: u16, count: u32 },
    ExpireTokens,
    Latency { ms: u64 },
}

/// `POST /sim/fault {"kind": …}`.
pub async fn fault(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let fault: Fault = match parse(&body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    match fault {
        Fault::DropConnections => {
            let dropped = app.hubs().kill_all();
            done(json!({ "dropped": dropped }))
        }
        Fault::RestErrors { status, count } => {
            if !(400..=599).contains(&status) {
                return failed(
                    StatusCode::BAD_REQUEST,
                    "status must be an HTTP error status (400-599)",
                );
            }
            let mut inner = app.lock();
            inner.faults.rest_error_status = status;
            inner.faults.rest_errors_left = count;
            done(Value::Null)
        }
        Fault::ExpireTokens => {
            app.lock().tokens.expire_all();
            done(Value::Null)
        }
        Fault::Latency { ms } => {
            app.lock().faults.latency_ms = ms.min(60_000);
            done(Value::Null)
        }
    }
}

/// `GET /sim/state`.
pub async fn state(State(app): State<Arc<App>>) -> Response {
    let inner = app.lock();
    let book = &inner.book;
    let body = json!({
        "accounts": book.accounts.values().collect::<Vec<_>>(),
        "positions": book.open_positions().collect::<Vec<_>>(),
        "workingOrders": book.working_orders().collect::<Vec<_>>(),
        "fills": book.trades,
        "markets": book.markets,
        "restCalls": inner.rest_calls,
        "faults": inner.faults,
        "hubConnections": app.hubs().views(),
    });
    drop(inner);
    (StatusCode::OK, Json(body)).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fill {
    order_id: i64,
    #[serde(default)]
    size: Option<i64>,
}

/// `POST /sim/fill {"orderId", "size"}`.
pub async fn fill(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let req: Fill = match parse(&body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    match app.change(|book, now| {
        book.force_fill(req.order_id, req.size, now)
            .map(|e| ((), e))
    }) {
        Ok(()) => done(Value::Null),
        Err(reject) => rejected(&reject),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Void {
    trade_id: i64,
}

/// `POST /sim/void {"tradeId"}`.
pub async fn void(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let req: Void = match parse(&body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    match app.change(|book, _| book.void(req.trade_id).map(|e| ((), e))) {
        Ok(()) => done(Value::Null),
        Err(reject) => rejected(&reject),
    }
}

/// `POST /sim/reset`.
pub async fn reset(State(app): State<Arc<App>>) -> Response {
    app.reset();
    done(Value::Null)
}
