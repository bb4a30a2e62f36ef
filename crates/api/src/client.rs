//! A small async client of the internal API, for `riskguard status`, the admin commands and the TUI.
//!
//! [`Client::from_data_dir`] finds the server through `<data_dir>/api/endpoint` and reads the trader token
//! from `<data_dir>/api/trader.token` (refused when group or others can read it); [`Client::login`] swaps it
//! for an admin token. [`Client::stream`] parses the SSE feed into [`StreamEvent`]s. Plain HTTP over
//! loopback, no proxy. Errors never contain a token or a password.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::files::{self, FileError};
use crate::types::{
    Account, AccountRules, AdminDone, DecisionRecord, ErrorBody, Holidays, Lock, LoginAnswer,
    LoginRequest, Order, PendingChange, Position, Status, StreamEvent,
};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing answers at the endpoint, or there is no endpoint file (the daemon never started here).
    #[error("the daemon is unreachable: {0}")]
    Unreachable(String),
    /// A token or endpoint file is unusable.
    #[error(transparent)]
    File(#[from] FileError),
    /// The server answered with an error.
    #[error("HTTP {status}: {}", .body.error)]
    Api { status: u16, body: ErrorBody },
    /// The answer was not what the API promises.
    #[error("unexpected answer: {0}")]
    Decode(String),
}

/// A connection to the internal API.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    /// A client for the server listening at `addr`, with a bearer `token`.
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(addr: SocketAddr, token: String) -> Result<Client, ClientError> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| ClientError::Decode(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http,
            base: format!("http://{addr}"),
            token,
        })
    }

    /// The client of the daemon whose data dir is `data_dir`, as the trader.
    ///
    /// # Errors
    /// No endpoint file (the daemon is unreachable), or a token file that is missing or readable by others.
    pub fn from_data_dir(data_dir: &Path) -> Result<Client, ClientError> {
        let endpoint = files::endpoint_path(data_dir);
        let text = std::fs::read_to_string(&endpoint).map_err(|e| {
            ClientError::Unreachable(format!(
                "cannot read {} ({e}); is the daemon running with this data dir?",
                endpoint.display()
            ))
        })?;
        let addr: SocketAddr = text.trim().parse().map_err(|_| {
            ClientError::Decode(format!("{} does not hold host:port", endpoint.display()))
        })?;
        let token = files::read_trader_token(data_dir)?;
        Client::new(addr, token)
    }

    /// Use `token` for later calls (an admin token kept from an earlier [`Client::login`]).
    pub fn set_token(&mut self, token: String) {
        self.token = token;
    }

    /// The server's base URL (`http://127.0.0.1:port`).
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn answer<T: DeserializeOwned>(
        &self,
        sent: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<T, ClientError> {
        let response = sent
            .map_err(|e| ClientError::Unreachable(format!("{}: {}", self.base, e.without_url())))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ClientError::Unreachable(format!("{}: {}", self.base, e.without_url())))?;
        if !status.is_success() {
            let body = serde_json::from_slice::<ErrorBody>(&bytes).unwrap_or_else(|_| ErrorBody {
                error: status.canonical_reason().unwrap_or("error").to_owned(),
                details: Vec::new(),
            });
            return Err(ClientError::Api {
                status: status.as_u16(),
                body,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let sent = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        self.answer(sent).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let sent = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .timeout(Duration::from_secs(15))
            .send()
            .await;
        self.answer(sent).await
    }

    pub async fn status(&self) -> Result<Status, ClientError> {
        self.get("/v1/status").await
    }

    pub async fn accounts(&self) -> Result<Vec<Account>, ClientError> {
        self.get("/v1/accounts").await
    }

    pub async fn positions(&self) -> Result<Vec<Position>, ClientError> {
        self.get("/v1/positions").await
    }

    pub async fn orders(&self) -> Result<Vec<Order>, ClientError> {
        self.get("/v1/orders").await
    }

    pub async fn locks(&self) -> Result<Vec<Lock>, ClientError> {
        self.get("/v1/locks").await
    }

    /// The day's decisions, optionally since an instant and for one account.
    pub async fn decisions(
        &self,
        since: Option<jiff::Timestamp>,
        account: Option<i64>,
    ) -> Result<Vec<DecisionRecord>, ClientError> {
        let mut query = Vec::new();
        if let Some(since) = since {
            query.push(format!("since={}", since.to_string().replace('+', "%2B")));
        }
        if let Some(account) = account {
            query.push(format!("account={account}"));
        }
        let path = if query.is_empty() {
            "/v1/decisions".to_owned()
        } else {
            format!("/v1/decisions?{}", query.join("&"))
        };
        self.get(&path).await
    }

    pub async fn rules(&self) -> Result<Vec<AccountRules>, ClientError> {
        self.get("/v1/rules").await
    }

    pub async fn holidays(&self) -> Result<Holidays, ClientError> {
        self.get("/v1/holidays").await
    }

    /// Log in as admin (`name` for the journal, default `admin`): later calls of this client use the admin
    /// token.
    pub async fn login(
        &mut self,
        password: &str,
        name: Option<&str>,
    ) -> Result<LoginAnswer, ClientError> {
        let request = LoginRequest {
            password: password.to_owned(),
            name: name.map(str::to_owned),
        };
        let answer: LoginAnswer = self.post("/v1/admin/login", &request).await?;
        self.token.clone_from(&answer.token);
        Ok(answer)
    }

    pub async fn pending(&self) -> Result<Vec<PendingChange>, ClientError> {
        self.get("/v1/pending").await
    }

    /// Clear a lock. During the trading day the daemon answers 409 `needs_confirmation` unless `confirm`;
    /// confirmed, the clearing waits out the cooling-off delay (`AdminDone::pending`).
    pub async fn clear_lock(
        &self,
        account: i64,
        rule: &str,
        reason: &str,
        confirm: bool,
    ) -> Result<AdminDone, ClientError> {
        let body =
            json!({ "account": account, "rule": rule, "reason": reason, "confirm": confirm });
        self.post("/v1/admin/locks/clear", &body).await
    }

    /// Reload risk_config.yaml (a loosening during the trading day: as [`Client::clear_lock`]).
    pub async fn reload(&self, confirm: bool) -> Result<AdminDone, ClientError> {
        self.post("/v1/admin/reload", &json!({ "confirm": confirm }))
            .await
    }

    /// Set one key of risk_config.yaml to a YAML value (a loosening during the trading day: as
    /// [`Client::clear_lock`]).
    pub async fn set_rule(
        &self,
        key: &str,
        value: &str,
        reason: &str,
        confirm: bool,
    ) -> Result<AdminDone, ClientError> {
        let body = json!({ "key": key, "value": value, "reason": reason, "confirm": confirm });
        self.post("/v1/admin/rules/set", &body).await
    }

    /// Withdraw a pending change.
    pub async fn cancel_pending(&self, id: u64, reason: &str) -> Result<AdminDone, ClientError> {
        let body = json!({ "id": id, "reason": reason });
        self.post("/v1/admin/pending/cancel", &body).await
    }

    /// The trader's "done for today": every account locked until the next reset (trader token is enough).
    pub async fn done_for_today(&self, reason: Option<&str>) -> Result<AdminDone, ClientError> {
        self.post("/v1/trader/done-for-today", &json!({ "reason": reason }))
            .await
    }

    /// Switch dry-run (switching it on during the trading day: as [`Client::clear_lock`]).
    pub async fn set_dry_run(
        &self,
        enabled: bool,
        reason: &str,
        confirm: bool,
    ) -> Result<AdminDone, ClientError> {
        let body = json!({ "enabled": enabled, "reason": reason, "confirm": confirm });
        self.post("/v1/admin/dry-run", &body).await
    }

    pub async fn flatten(&self, account: i64, reason: &str) -> Result<AdminDone, ClientError> {
        let body = json!({ "account": account, "reason": reason });
        self.post("/v1/admin/flatten", &body).await
    }

    /// The live feed: a `snapshot` first, then deltas, until the server closes it.
    ///
    /// # Errors
    /// The connection or the answer's status, at once; later, an item per broken connection or bad event.
    pub async fn stream(
        &self,
    ) -> Result<impl Stream<Item = Result<StreamEvent, ClientError>> + Send + 'static, ClientError>
    {
        let response = self
            .http
            .get(format!("{}/v1/stream", self.base))
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(format!("{}: {}", self.base, e.without_url())))?;
        let status = response.status();
        if !status.is_success() {
            let body = response
                .json::<ErrorBody>()
                .await
                .unwrap_or_else(|_| ErrorBody {
                    error: status.to_string(),
                    details: Vec::new(),
                });
            return Err(ClientError::Api {
                status: status.as_u16(),
                body,
            });
        }
        let bytes = response.bytes_stream();
        let parser = SseParser::default();
        let events = futures_util::stream::unfold(
            (bytes, parser, std::collections::VecDeque::new()),
            |(mut bytes, mut parser, mut ready)| async move {
                loop {
                    if let Some(event) = ready.pop_front() {
                        return Some((event, (bytes, parser, ready)));
                    }
                    match bytes.next().await {
                        Some(Ok(chunk)) => ready.extend(parser.feed(&chunk)),
                        Some(Err(e)) => {
                            let err =
                                ClientError::Unreachable(format!("stream: {}", e.without_url()));
                            return Some((Err(err), (bytes, parser, ready)));
                        }
                        None => return None,
                    }
                }
            },
        );
        Ok(events)
    }
}

/// An incremental parser of `text/event-stream` (the subset the server writes: `event:`, `data:`, comments).
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: Vec<u8>,
    event: String,
    data: String,
}

impl SseParser {
    /// Feed bytes; get the events they complete.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Result<StreamEvent, ClientError>> {
        self.buffer.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buffer.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if let Some(event) = self.dispatch() {
                    out.push(event);
                }
            } else if line.starts_with(':') {
                // A comment (keep-alive).
            } else {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "event" => value.clone_into(&mut self.event),
                    "data" => {
                        if !self.data.is_empty() {
                            self.data.push('\n');
                        }
                        self.data.push_str(value);
                    }
                    _ => {}
                }
            }
        }
        out
    }

    fn dispatch(&mut self) -> Option<Result<StreamEvent, ClientError>> {
        let event = std::mem::take(&mut self.event);
        let data = std::mem::take(&mut self.data);
        if event.is_empty() && data.is_empty() {
            return None;
        }
        let data: serde_json::Value = match serde_json::from_str(&data) {
            Ok(v) => v,
            Err(e) => return Some(Err(ClientError::Decode(format!("event {event}: {e}")))),
        };
        Some(
            serde_json::from_value(json!({ "event": event, "data": data }))
                .map_err(|e| ClientError::Decode(format!("event {event}: {e}"))),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn parses_events_split_across_chunks_and_skips_comments() {
        let mut p = SseParser::default();
        assert!(p.feed(b": keep-alive\n\nevent: lo").is_empty());
        let events = p.feed(b"cks\ndata: []\n\nevent: orders\r\ndata: []\r\n\r\n");
        let events: Vec<StreamEvent> = events.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            events,
            vec![
                StreamEvent::Locks(Vec::new()),
                StreamEvent::Orders(Vec::new())
            ]
        );
    }

    #[test]
    fn an_unknown_event_is_an_error_not_a_guess() {
        let mut p = SseParser::default();
        let events = p.feed(b"event: nonsense\ndata: {}\n\n");
        assert_eq!(events.len(), 1);
        assert!(matches!(events[0], Err(ClientError::Decode(_))));
    }
}
