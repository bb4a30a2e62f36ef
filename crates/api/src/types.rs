//! The API's wire types: what `/v1/*` answers and the stream carries. JSON field names are camelCase; money and
//! prices are decimals written as strings (`"-320.50"`), never floats; instants are RFC 3339 UTC.
//!
//! These types are the contract with every client (the TUI and the admin commands deserialize them), so a
//! change here is an API change: add fields, don't rename them.

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Everything the read endpoints and the stream serve, as of `at`. Published by the daemon's loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct View {
    /// The instant the view was built (the engine's clock).
    pub at: Timestamp,
    pub status: Status,
    pub accounts: Vec<Account>,
    pub positions: Vec<Position>,
    pub orders: Vec<Order>,
    pub locks: Vec<Lock>,
    /// Loosening changes and lock clearings waiting out their cooling-off delay (soonest first).
    #[serde(default)]
    pub pending: Vec<PendingChange>,
}

/// A change that loosens protection during the trading day, confirmed by an admin and waiting out its
/// cooling-off delay (`GET /v1/pending`, and the view). Tightening changes never wait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingChange {
    /// Unique within this daemon's data dir.
    pub id: u64,
    /// `clear_lock`, `config` or `dry_run`.
    pub kind: String,
    /// The account a lock clearing is for (`None` for config changes).
    pub account: Option<i64>,
    /// For people: "daily_realized_loss.loss_limit 500 -> 800", "clear the self_lock lock of 7001".
    pub description: String,
    /// Each loosening the change contains.
    pub loosens: Vec<String>,
    pub reason: String,
    pub by: String,
    pub requested_at: Timestamp,
    /// When it takes effect.
    pub effective_at: Timestamp,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub version: String,
    pub started_at: Timestamp,
    /// Seconds since `started_at`, at `View::at` (the server recomputes it when it answers).
    pub uptime_secs: i64,
    pub dry_run: bool,
    pub hubs: Vec<HubState>,
    /// The last gateway event the daemon handled (any kind), and its age when the view was built.
    pub last_event_at: Option<Timestamp>,
    pub last_event_age_ms: Option<i64>,
    /// Enforcement calls can reach the gateway: every hub of every login is up.
    pub enforcement_online: bool,
    /// The journal cannot be written (disk full, read-only): enforcement goes on without it.
    pub journal_degraded: bool,
    /// Malformed gateway payloads skipped since the start.
    pub malformed_payloads: u64,
    /// REST errors since the start, all endpoints.
    pub rest_errors: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HubState {
    /// The login (accounts.yaml) the hub belongs to.
    pub login: String,
    /// `user` or `market`.
    pub hub: String,
    pub up: bool,
    /// When it last went up or down.
    pub since: Option<Timestamp>,
    pub reconnects: u64,
}

/// What a trader can do right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TradingState {
    /// No lock.
    Ok,
    /// Only cooldown locks (they end by themselves).
    Cooldown,
    /// A lockout: until the reset, until canTrade returns, or until an admin clears it.
    Locked,
}

/// `GET /v1/accounts`: one watched account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: i64,
    /// The gateway's `canTrade`; `None` until the gateway said.
    pub can_trade: Option<bool>,
    pub state: TradingState,
    /// The lock that decides `state` (the one ending last), with its reason.
    pub state_reason: Option<String>,
    /// When `state` ends by itself (`None`: it does not, or the state is `ok`).
    pub state_until: Option<Timestamp>,
    /// The day's realized P&L (net of fees when the config says so), the open P&L of every position with a
    /// price, and their sum.
    pub realized_pnl: Decimal,
    pub unrealized_pnl: Decimal,
    pub net_pnl: Decimal,
    pub open_positions: u32,
    pub working_orders: u32,
    /// Every enabled rule's current usage against its limit.
    pub usage: Vec<RuleUsage>,
}

/// One rule's usage, e.g. "3 of 5 contracts" or "-320.00 of -500.00".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleUsage {
    /// The rule's config key (`max_contracts`, `daily_realized_loss`, ...).
    pub rule: String,
    pub used: Decimal,
    pub limit: Decimal,
    /// `contracts`, `usd`, `trades`, `positions`, or `seconds`.
    pub unit: String,
    /// `used / limit`, 0 when the limit is 0 (for bars: amber at 0.75, red at 0.9).
    pub fraction: Decimal,
    /// For people: "3 of 5 contracts".
    pub text: String,
}

/// `GET /v1/positions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Position {
    pub account: i64,
    pub contract: String,
    /// Signed: positive long, negative short.
    pub size: i64,
    pub average_price: Decimal,
    pub last_price: Option<Decimal>,
    pub unrealized_pnl: Option<Decimal>,
    /// A working stop order protects it.
    pub has_stop: bool,
    /// Without a stop, when the no-stop grace period runs out.
    pub stop_grace_until: Option<Timestamp>,
    pub opened_at: Timestamp,
}

/// `GET /v1/orders`: working orders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub account: i64,
    pub order: i64,
    pub contract: String,
    /// `open`, `pending`, `suspended`, ...
    pub status: String,
    /// `limit`, `market`, `stop`, ...
    pub order_type: String,
    /// `buy` or `sell`.
    pub side: String,
    pub size: i64,
    pub limit_price: Option<Decimal>,
    pub stop_price: Option<Decimal>,
}

/// `GET /v1/locks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lock {
    pub account: i64,
    /// The rule that set it.
    pub rule: String,
    /// `cooldown`, `until_reset`, `until_can_trade` or `permanent`.
    pub kind: String,
    pub reason: String,
    pub since: Timestamp,
    /// `None`: until an admin clears it (or canTrade returns).
    pub until: Option<Timestamp>,
}

/// One decision, as `/v1/decisions` and the stream carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionRecord {
    pub t: Timestamp,
    pub account: i64,
    pub rule: String,
    /// `close_position`, `lockout`, `unlock`, ... (REPLAY.md's action names).
    pub action: String,
    /// The action's details (contract, size, until, ...), as in the journal.
    pub details: serde_json::Value,
    /// The reason with its numbers.
    pub reason: String,
    pub dry_run: bool,
}

/// `GET /v1/rules`: the effective configuration for one account (global settings, the account's overrides
/// applied), in the shape of risk_config.yaml.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountRules {
    pub account: i64,
    pub rules: serde_json::Value,
}

/// `GET /v1/holidays`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Holidays {
    pub timezone: String,
    /// The configured holidays, sorted by date.
    pub holidays: Vec<Holiday>,
    /// The first holiday on or after today (in the trading timezone).
    pub next: Option<Holiday>,
    /// The session windows of the session rule, as configured (empty when it is disabled).
    pub sessions: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Holiday {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub name: String,
    /// `closed`, or the early close time `HH:MM`.
    pub kind: String,
}

/// An admin action, with who asked (the admin session's name, for the journal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminRequest {
    pub by: String,
    pub action: AdminAction,
}

/// The admin actions. Request bodies of the admin endpoints, one per variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum AdminAction {
    /// Clear one lock of one account. The reason is mandatory and journaled. During the trading day this is a
    /// loosening: without `confirm` it is refused with `needs_confirmation`; with it, it waits out the
    /// cooling-off delay.
    ClearLock {
        account: i64,
        rule: String,
        reason: String,
        #[serde(default)]
        confirm: bool,
    },
    /// Re-read and validate risk_config.yaml; on any error keep the running config. A loosening file during
    /// the trading day needs `confirm` and then waits out the cooling-off delay; tightening applies at once.
    Reload {
        #[serde(default)]
        confirm: bool,
    },
    /// Set one key of risk_config.yaml (`RULE.KEY`, `global.KEY` or `accounts.ID.RULE.KEY`) to a YAML value,
    /// keeping the file's comments; validated before anything is written, then reloaded (tightening at once,
    /// loosening during the trading day after `confirm` and the cooling-off delay).
    SetRule {
        key: String,
        value: String,
        reason: String,
        #[serde(default)]
        confirm: bool,
    },
    /// The trader's "done for today": lock every watched account until the next daily reset. Only the
    /// cooling-off path of `clear_lock` undoes it. Allowed with the trader token.
    SelfLock { reason: String },
    /// Withdraw a pending change before it takes effect (this only keeps protection in place).
    CancelPending { id: u64, reason: String },
    /// Record decisions without sending anything, or send again. Switching it on stops enforcement: during
    /// the trading day that is a loosening (`confirm`, then the cooling-off delay).
    SetDryRun {
        enabled: bool,
        reason: String,
        #[serde(default)]
        confirm: bool,
    },
    /// Close every position and cancel every working order of the account now.
    Flatten { account: i64, reason: String },
}

/// The daemon's answer to an admin action.
pub type AdminResult = Result<AdminDone, AdminError>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminDone {
    /// What happened, for people ("lock daily_realized_loss on 7001 cleared").
    pub message: String,
    /// Set when the action did not take effect yet but waits out its cooling-off delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminError {
    /// `bad_request` (nothing changed: the request itself is wrong), `invalid_config` (the reload found
    /// errors; the running config stays), `not_found` (no such account or lock), `unavailable`,
    /// `needs_confirmation` (a loosening during the trading day: `errors` lists what loosens; send it again
    /// with `confirm` to start the cooling-off delay).
    pub kind: String,
    pub message: String,
    /// Every error, e.g. each config problem with file, key path and line.
    pub errors: Vec<String>,
}

/// The live stream (`GET /v1/stream`, Server-Sent Events): the SSE event name is the variant's tag, the data
/// its JSON. A client first gets `snapshot`, then deltas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum StreamEvent {
    /// The whole view: first on every connection, and again after a client fell behind.
    Snapshot(Box<View>),
    /// A decision, as it is taken.
    Decision(DecisionRecord),
    /// Status fields changed (a hub went up or down, dry-run switched, ...).
    Status(Status),
    /// One account changed (P&L, state, usage).
    Account(Account),
    /// The open positions changed (the whole list).
    Positions(Vec<Position>),
    /// The working orders changed (the whole list).
    Orders(Vec<Order>),
    /// The locks changed (the whole list).
    Locks(Vec<Lock>),
    /// The pending (cooling-off) changes changed (the whole list).
    Pending(Vec<PendingChange>),
}

/// The error body of every 4xx and 5xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub error: String,
    /// Details, one per problem (for example each config error of a failed reload).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

/// `POST /v1/admin/login` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    pub password: String,
    /// Who is logging in, for the journal (default `admin`).
    #[serde(default)]
    pub name: Option<String>,
}

/// `POST /v1/admin/login` answer: a short-lived admin token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginAnswer {
    pub token: String,
    pub expires_at: Timestamp,
}
