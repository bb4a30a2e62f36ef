//! `GET /v1/stream`: the live feed as Server-Sent Events (crates/api/README.md documents it for clients).
//!
//! Each client first gets a `snapshot` (the whole view), then deltas: every decision from the daemon's
//! broadcast as soon as it arrives, and for every newly published view the difference from the last view this
//! client was sent: `status` (clock-driven fields ignored), one `account` per changed account, `positions`,
//! `orders`, `locks`, `pending` when those lists changed, and `status` at most once a second when only the last
//! gateway event's instant moved. A client that falls behind on the decision broadcast, or whose
//! account list lost an account, gets a fresh `snapshot` instead. A comment every 15 s keeps idle
//! connections open; streams end when the server stops.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use jiff::Timestamp;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;

use crate::metrics::{ApiMetrics, StreamClient};
use crate::routes::fresh_status;
use crate::server::AppState;
use crate::types::{DecisionRecord, Status, StreamEvent, View};

/// The interval of the keep-alive comments.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The view as clients see it: its status' clock-driven fields as of `now`.
fn fresh_view(view: &View, now: Timestamp) -> View {
    let mut v = view.clone();
    v.status = fresh_status(&view.status, now);
    v
}

/// Whether two statuses differ in something other than the fields that move with the clock.
fn status_changed(old: &Status, new: &Status) -> bool {
    let strip = |s: &Status| Status {
        uptime_secs: 0,
        last_event_age_ms: None,
        last_event_at: None,
        ..s.clone()
    };
    strip(old) != strip(new)
}

/// The events that take a client from `old` to `new`, as of `now`.
pub fn diff(old: &View, new: &View, now: Timestamp) -> Vec<StreamEvent> {
    let lost_account = old
        .accounts
        .iter()
        .any(|a| !new.accounts.iter().any(|b| b.id == a.id));
    if lost_account {
        return vec![StreamEvent::Snapshot(Box::new(fresh_view(new, now)))];
    }
    let mut events = Vec::new();
    if status_changed(&old.status, &new.status) {
        events.push(StreamEvent::Status(fresh_status(&new.status, now)));
    }
    for account in &new.accounts {
        if old.accounts.iter().find(|a| a.id == account.id) != Some(account) {
            events.push(StreamEvent::Account(account.clone()));
        }
    }
    if old.positions != new.positions {
        events.push(StreamEvent::Positions(new.positions.clone()));
    }
    if old.orders != new.orders {
        events.push(StreamEvent::Orders(new.orders.clone()));
    }
    if old.locks != new.locks {
        events.push(StreamEvent::Locks(new.locks.clone()));
    }
    if old.pending != new.pending {
        events.push(StreamEvent::Pending(new.pending.clone()));
    }
    events
}

/// One client's feed.
struct Feed {
    view: watch::Receiver<Arc<View>>,
    /// `None` once the daemon's broadcast has closed.
    decisions: Option<broadcast::Receiver<DecisionRecord>>,
    shutdown: watch::Receiver<bool>,
    last: Arc<View>,
    /// `lastEventAt` of the last status this client was sent (in the snapshot or a `status` event).
    status_event_at: Option<Timestamp>,
    pending: VecDeque<StreamEvent>,
    _client: StreamClient,
}

/// How often at most a client gets a `status` event only because `lastEventAt` moved (so that a screen can
/// show the age of the last gateway event without polling).
pub const LAST_EVENT_EVERY: jiff::SignedDuration = jiff::SignedDuration::from_secs(1);

/// Whether `lastEventAt` moved far enough since `sent` to be worth a `status` event of its own.
fn last_event_moved(sent: Option<Timestamp>, now: Option<Timestamp>) -> bool {
    match (sent, now) {
        (None, Some(_)) => true,
        (Some(a), Some(b)) => b.duration_since(a) >= LAST_EVENT_EVERY,
        _ => false,
    }
}

async fn recv(
    rx: &mut Option<broadcast::Receiver<DecisionRecord>>,
) -> Result<DecisionRecord, RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

impl Feed {
    fn snapshot(&mut self) -> StreamEvent {
        self.last = Arc::clone(&self.view.borrow_and_update());
        self.status_event_at = self.last.status.last_event_at;
        StreamEvent::Snapshot(Box::new(fresh_view(&self.last, Timestamp::now())))
    }

    async fn next(&mut self) -> Option<StreamEvent> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if *self.shutdown.borrow() {
                return None;
            }
            tokio::select! {
                biased;
                _ = self.shutdown.changed() => return None,
                decision = recv(&mut self.decisions) => match decision {
                    Ok(d) => return Some(StreamEvent::Decision(d)),
                    Err(RecvError::Lagged(_)) => return Some(self.snapshot()),
                    Err(RecvError::Closed) => self.decisions = None,
                },
                changed = self.view.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                    let new = Arc::clone(&self.view.borrow_and_update());
                    let now = Timestamp::now();
                    let mut events = diff(&self.last, &new, now);
                    let mut sends_status = events.iter().any(|e| matches!(e, StreamEvent::Status(_)));
                    if !sends_status && last_event_moved(self.status_event_at, new.status.last_event_at) {
                        events.push(StreamEvent::Status(fresh_status(&new.status, now)));
                        sends_status = true;
                    }
                    if sends_status {
                        self.status_event_at = new.status.last_event_at;
                    }
                    self.pending.extend(events);
                    self.last = new;
                }
            }
        }
    }
}

/// The SSE form of an event: its tag as the event name, its data as JSON.
fn to_sse(event: &StreamEvent) -> Event {
    let (name, data) = match serde_json::to_value(event) {
        Ok(serde_json::Value::Object(mut map)) => (
            map.remove("event")
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            map.remove("data").unwrap_or(serde_json::Value::Null),
        ),
        _ => (String::new(), serde_json::Value::Null),
    };
    Event::default().event(name).data(data.to_string())
}

/// `GET /v1/stream`.
pub async fn handler(
    State(state): State<Arc<AppState>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // Subscribe before the snapshot is taken: no decision falls between the two.
    let decisions = state.daemon.decisions();
    let view = state.daemon.view();
    let last = Arc::clone(&view.borrow());
    let mut feed = Feed {
        view,
        decisions: Some(decisions),
        shutdown: state.shutdown.clone(),
        last,
        status_event_at: None,
        pending: VecDeque::new(),
        _client: ApiMetrics::stream_client(&state),
    };
    let first = feed.snapshot();
    feed.pending.push_back(first);
    let stream = futures_util::stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok(to_sse(&event)), feed))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}
