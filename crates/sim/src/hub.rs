//! The two SignalR hubs, `/hubs/user` and `/hubs/market`, over WebSocket.
//!
//! The token comes from `?access_token=` (or an `Authorization: Bearer` header, which Node's SignalR client
//! sends instead); an invalid one gets HTTP 401 before the upgrade. After the JSON handshake, one task per
//! connection reads client records (answering invocations with completions, errors included, and pings with
//! pings), drains the connection's event queue into batched text frames, sends a ping every 15 s, and drops
//! the socket at once when the `drop_connections` fault fires. Nothing a client sends can end the task other
//! than a close.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{
    Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};

use crate::fanout::{HubKind, Subscriptions};
use crate::signalr::{self, Incoming};
use crate::state::App;

/// Largest WebSocket message accepted from a client.
const MAX_MESSAGE: usize = 1 << 20;
/// Keep-alive ping interval.
const PING_EVERY: Duration = Duration::from_secs(15);
/// How long a client has to send its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);
/// Upper bound on the bytes batched into one outgoing frame.
const BATCH_BYTES: usize = 64 * 1024;
/// How much tungstenite reads from a client at a time. It zeroes this much before every read attempt, a
/// would-block one included, and the connection task polls its socket each time it wakes to send: with the
/// default 128 KiB that memset was a tenth of the simulator's thread in a 20,000 quotes/s flood. Clients send
/// small records; a larger message is read in several pieces.
const READ_BUFFER: usize = 4 * 1024;

/// `GET /hubs/user`.
pub async fn user_hub(
    State(app): State<Arc<App>>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    upgrade(app, HubKind::User, &query, &headers, ws)
}

/// `GET /hubs/market`.
pub async fn market_hub(
    State(app): State<Arc<App>>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    upgrade(app, HubKind::Market, &query, &headers, ws)
}

/// `POST /hubs/{hub}/negotiate`: a WebSocket-only answer for clients that do not skip negotiation.
pub async fn negotiate() -> Response {
    let id = format!("{:016x}", jiff::Timestamp::now().as_nanosecond());
    axum::Json(json!({
        "negotiateVersion": 1,
        "connectionId": id,
        "connectionToken": id,
        "availableTransports": [{ "transport": "WebSockets", "transferFormats": ["Text"] }]
    }))
    .into_response()
}

fn upgrade(
    app: Arc<App>,
    hub: HubKind,
    query: &[(String, String)],
    headers: &HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let token = query
        .iter()
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.clone())
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let Some(user) = app.lock().tokens.verify(&token, jiff::Timestamp::now()) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    ws.max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| connection(app, hub, user, socket))
}

async fn connection(app: Arc<App>, hub: HubKind, user: String, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let mut buffer = String::new();
    // Handshake: the first record must be {"protocol":"json","version":1}.
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
        loop {
            match stream.next().await {
                Some(Ok(message)) => {
                    if let Some(text) = message_text(&message) {
                        buffer.push_str(&text);
                        let mut records = signalr::take_records(&mut buffer);
                        if !records.is_empty() {
                            let first = records.remove(0);
                            return Some((first, records));
                        }
                    } else if matches!(message, Message::Close(_)) {
                        return None;
                    }
                }
                _ => return None,
            }
        }
    })
    .await;
    let Ok(Some((first, pending))) = handshake else {
        return;
    };
    if let Err(error) = signalr::check_handshake(&first) {
        let _ = sink
            .send(Message::text(signalr::handshake_error(&error)))
            .await;
        let _ = sink.close().await;
        return;
    }
    if sink
        .send(Message::text(signalr::HANDSHAKE_OK))
        .await
        .is_err()
    {
        return;
    }
    let owned = app.owned_accounts(&user);
    let registration = app.hubs().register(hub, user, owned.clone());
    let (id, mut rx, kill) = (registration.id, registration.rx, registration.kill);
    let conn = ConnCtx {
        app: &app,
        id,
        hub,
        owned: &owned,
    };
    let mut out = String::new();
    for record in pending {
        conn.handle(&record, &mut out);
    }
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    let end = loop {
        if !out.is_empty() {
            if sink
                .send(Message::text(std::mem::take(&mut out)))
                .await
                .is_err()
            {
                break End::Abrupt;
            }
            continue;
        }
        tokio::select! {
            biased;
            () = kill.notified() => break End::Abrupt,
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Close(_))) => break End::WebSocketClose,
                None | Some(Err(_)) => break End::Abrupt,
                Some(Ok(message)) => {
                    if let Some(text) = message_text(&message) {
                        buffer.push_str(&text);
                        if buffer.len() > MAX_MESSAGE {
                            buffer.clear();
                        }
                        let mut close = false;
                        for record in signalr::take_records(&mut buffer) {
                            close |= conn.handle(&record, &mut out);
                        }
                        if close {
                            break End::SignalRClose;
                        }
                    }
                }
            },
            record = rx.recv() => match record {
                Some(record) => {
                    out.push_str(&record);
                    while out.len() < BATCH_BYTES {
                        match rx.try_recv() {
                            Ok(more) => out.push_str(&more),
                            Err(_) => break,
                        }
                    }
                }
                None => break End::Abrupt,
            },
            _ = ping.tick() => out.push_str(signalr::PING),
        }
    };
    app.hubs().unregister(id);
    match end {
        End::SignalRClose => {
            let _ = sink.send(Message::text(signalr::close(None, false))).await;
            let _ = sink.close().await;
        }
        // Answer the client's close frame.
        End::WebSocketClose => {
            let _ = sink.close().await;
        }
        // The socket is simply dropped: an abrupt end, as a network failure looks.
        End::Abrupt => {}
    }
}

/// How a connection ended.
enum End {
    /// Killed, or the transport failed.
    Abrupt,
    /// The client sent a WebSocket close frame.
    WebSocketClose,
    /// The client sent a SignalR close record.
    SignalRClose,
}

fn message_text(message: &Message) -> Option<String> {
    match message {
        Message::Text(t) => Some(t.as_str().to_owned()),
        Message::Binary(b) => std::str::from_utf8(b).ok().map(str::to_owned),
        _ => None,
    }
}

struct ConnCtx<'a> {
    app: &'a App,
    id: u64,
    hub: HubKind,
    owned: &'a BTreeSet<i64>,
}

impl ConnCtx<'_> {
    /// Handles one record, appending answers to `out`; true when the client closed.
    fn handle(&self, record: &str, out: &mut String) -> bool {
        match signalr::parse_record(record) {
            Incoming::Invocation {
                invocation_id,
                target,
                arguments,
            } => {
                let result = self.invoke(&target, &arguments);
                if let Some(id) = invocation_id {
                    match result {
                        Ok(()) => out.push_str(&signalr::completion_ok(&id)),
                        Err(error) => out.push_str(&signalr::completion_error(&id, &error)),
                    }
                }
                false
            }
            Incoming::Ping => {
                out.push_str(signalr::PING);
                false
            }
            Incoming::Close => true,
            Incoming::Ignored => false,
            Incoming::Malformed {
                invocation_id,
                error,
            } => {
                tracing::debug!(%error, "malformed SignalR record");
                if let Some(id) = invocation_id {
                    out.push_str(&signalr::completion_error(
                        &id,
                        &format!("Invalid message: {error}"),
                    ));
                }
                false
            }
        }
    }

    fn invoke(&self, target: &str, args: &[Value]) -> Result<(), String> {
        let fail = |why: String| {
            format!("Failed to invoke '{target}' due to an error on the server. {why}")
        };
        let count = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(fail(format!(
                    "InvalidDataException: Invocation provides {} argument(s) but target expects {n}.",
                    args.len()
                )))
            }
        };
        let account = || -> Result<i64, String> {
            count(1)?;
            let id = match &args[0] {
                Value::Number(n) => n
                    .as_i64()
                    .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
                _ => None,
            }
            .ok_or_else(|| {
                fail(
                    "InvalidDataException: Error binding arguments: accountId must be an integer."
                        .into(),
                )
            })?;
            if self.owned.contains(&id) {
                Ok(id)
            } else {
                Err(fail(format!("HubException: account {id} not found.")))
            }
        };
        let contract = || -> Result<String, String> {
            count(1)?;
            let id = args[0].as_str().ok_or_else(|| {
                fail(
                    "InvalidDataException: Error binding arguments: contractId must be a string."
                        .into(),
                )
            })?;
            if self.app.lock().book.contracts.contains_key(id) {
                Ok(id.to_owned())
            } else {
                Err(fail(format!("HubException: contract {id} not found.")))
            }
        };
        type Edit = Box<dyn FnOnce(&mut Subscriptions)>;
        let edit: Edit = match (self.hub, target) {
            (HubKind::User, "SubscribeAccounts") => {
                count(0)?;
                Box::new(|s| s.accounts = true)
            }
            (HubKind::User, "UnsubscribeAccounts") => {
                count(0)?;
                Box::new(|s| s.accounts = false)
            }
            (HubKind::User, "SubscribeOrders") => {
                let id = account()?;
                Box::new(move |s| {
                    s.orders.insert(id);
                })
            }
            (HubKind::User, "UnsubscribeOrders") => {
                let id = account()?;
                Box::new(move |s| {
                    s.orders.remove(&id);
                })
            }
            (HubKind::User, "SubscribePositions") => {
                let id = account()?;
                Box::new(move |s| {
                    s.positions.insert(id);
                })
            }
            (HubKind::User, "UnsubscribePositions") => {
                let id = account()?;
                Box::new(move |s| {
                    s.positions.remove(&id);
                })
            }
            (HubKind::User, "SubscribeTrades") => {
                let id = account()?;
                Box::new(move |s| {
                    s.trades.insert(id);
                })
            }
            (HubKind::User, "UnsubscribeTrades") => {
                let id = account()?;
                Box::new(move |s| {
                    s.trades.remove(&id);
                })
            }
            (HubKind::Market, "SubscribeContractQuotes") => {
                let id = contract()?;
                Box::new(move |s| {
                    s.quotes.insert(id);
                })
            }
            (HubKind::Market, "UnsubscribeContractQuotes") => {
                let id = contract()?;
                Box::new(move |s| {
                    s.quotes.remove(&id);
                })
            }
            (HubKind::Market, "SubscribeContractTrades") => {
                let id = contract()?;
                Box::new(move |s| {
                    s.market_trades.insert(id);
                })
            }
            (HubKind::Market, "UnsubscribeContractTrades") => {
                let id = contract()?;
                Box::new(move |s| {
                    s.market_trades.remove(&id);
                })
            }
            (HubKind::Market, "SubscribeContractMarketDepth") => {
                let id = contract()?;
                Box::new(move |s| {
                    s.depth.insert(id);
                })
            }
            (HubKind::Market, "UnsubscribeContractMarketDepth") => {
                let id = contract()?;
                Box::new(move |s| {
                    s.depth.remove(&id);
                })
            }
            _ => return Err(fail("HubException: Method does not exist.".into())),
        };
        if let Some(conn) = self.app.hubs().get_mut(self.id) {
            edit(&mut conn.subs);
        }
        Ok(())
    }
}
