//! What the adapter pushes to the daemon, and what a money-moving call answers.
//!
//! Every [`Feed`] item travels with the instant it arrived (`jiff::Timestamp`), which is the time the rules
//! use (CONFIG.md §6 "Time").

use std::collections::BTreeMap;
use std::fmt;

use model::event::{AccountUpdate, Event, Fill, OrderUpdate, PositionUpdate};

/// One item of the session's feed.
#[derive(Debug, Clone, PartialEq)]
pub enum Feed {
    /// A normalised user-hub event or a quote (keyed by the subscribed contract id, market-hub argument 1).
    Event(Event),
    /// A payload that failed to parse or normalise: count it and log it; nothing else happened.
    Malformed { what: String, error: String },
    /// A hub went up, was lost (and is being reconnected), or was stopped.
    Connection(ConnectionState),
    /// A reconnect or a transport gap happened and the hub is subscribed again: events may have been lost,
    /// so the daemon must now call [`crate::Session::reconcile`] for every account of this session.
    Resynced,
}

/// Which of the two SignalR hubs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HubKind {
    User,
    Market,
}

impl fmt::Display for HubKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HubKind::User => "user",
            HubKind::Market => "market",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionState {
    pub hub: HubKind,
    pub status: HubStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubStatus {
    /// Connected and subscribed.
    Up,
    /// Lost (transport drop, `GatewayLogout`, failed resubscription); the session is reconnecting by itself.
    /// Enforcement is blind on this hub until the next `Up` + `Resynced`.
    Reconnecting { reason: String },
    /// Stopped for good (shutdown).
    Down { reason: String },
}

/// The result of a money-moving call. The adapter never retries one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// The gateway accepted it.
    Done,
    /// Definite: nothing happened. `code` is the gateway's `errorCode` (meaning per endpoint), or one of
    /// [`NOT_SENT`] (refused locally before sending: local rate limit, invalid request, no login) or
    /// [`UNAUTHORIZED`] (HTTP 401: the token was refused; the session logs in again by itself).
    Rejected { code: i64, message: String },
    /// Unknown: timeout, 5xx, 429, transport error, or a code the gateway documents as pending/unknown.
    /// Read back (open positions, working orders) before deciding.
    Ambiguous { reason: String },
}

/// [`CallOutcome::Rejected`] code: the request never left the process.
pub const NOT_SENT: i64 = -1;
/// [`CallOutcome::Rejected`] code: the gateway answered HTTP 401 before acting.
pub const UNAUTHORIZED: i64 = -401;

/// What [`crate::Session::reconcile`] read back from REST, normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct Reconciled {
    /// Open positions (`Position/searchOpen`); a contract missing here is flat.
    pub positions: Vec<PositionUpdate>,
    /// Working orders, Suspended bracket legs and PendingCancellation included, deduplicated by id.
    pub orders: Vec<OrderUpdate>,
    /// The account row of `Account/search` (`canTrade`), `None` if the active-account list lacks it.
    pub account: Option<AccountUpdate>,
    /// Fills since `day_start` (`Trade/search`), voided ones included (the engine ignores them).
    pub trades: Vec<Fill>,
}

/// REST calls and failures per endpoint since the session started (for metrics).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestStats {
    pub endpoints: BTreeMap<&'static str, EndpointStats>,
}

impl RestStats {
    pub fn calls(&self, endpoint: &str) -> u64 {
        self.endpoints.get(endpoint).map_or(0, |e| e.calls)
    }

    pub fn errors(&self, endpoint: &str) -> u64 {
        self.endpoints.get(endpoint).map_or(0, |e| e.errors)
    }
}

/// Calls made through the adapter (projectx-client's own retries of a read are not visible, so not counted)
/// and those that ended in an error or a non-`Done` outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndpointStats {
    pub calls: u64,
    pub errors: u64,
}
