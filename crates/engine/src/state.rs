//! The engine's state: what it knows about each account, the contracts and the market.
//!
//! All of it is plain data that serialises, so a snapshot is the state itself and a restored engine decides
//! exactly as the original would have. Maps that decisions iterate over are ordered (`BTreeMap`) so that the
//! output never depends on hash order.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use model::decision::RuleId;
use model::event::{OrderStatus, OrderType, Side};
use model::ids::{AccountId, ContractId, OrderId, TradeId};
use model::symbol::Roots;
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// Everything the engine knows.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub accounts: BTreeMap<AccountId, AccountState>,
    pub contracts: FxHashMap<ContractId, ContractMeta>,
    pub quotes: FxHashMap<ContractId, QuoteState>,
    /// Accounts with an open position in a contract: the quote path touches only these.
    pub holders: FxHashMap<ContractId, Vec<AccountId>>,
    /// The latest instant the engine has seen.
    pub now: Option<Timestamp>,
    /// Start of the current trading day, and the next reset boundary.
    pub day_start: Option<Timestamp>,
    pub next_reset: Option<Timestamp>,
    /// A counter that orders position changes (ties in reduce_to_limit go to the most recently changed).
    pub seq: u64,
}

/// Contract metadata with the derived dollars per point.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContractMeta {
    pub roots: Roots,
    pub tick_size: Decimal,
    pub tick_value: Decimal,
    /// tick_value / tick_size, computed once.
    pub point_value: Decimal,
    /// False for a contract the engine met without metadata: P&L rules skip it.
    pub known: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct QuoteState {
    pub last: Option<Decimal>,
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountState {
    pub id: AccountId,
    pub can_trade: Option<bool>,
    pub positions: BTreeMap<ContractId, Position>,
    /// Working orders only; terminal orders are dropped.
    pub orders: BTreeMap<OrderId, Order>,
    pub day: DayBook,
    pub locks: BTreeMap<RuleId, Lock>,
    /// Contracts for which the "unknown contract" alert was raised.
    pub unknown_alerted: BTreeSet<ContractId>,
}

impl AccountState {
    pub fn new(id: AccountId) -> Self {
        AccountState {
            id,
            can_trade: None,
            positions: BTreeMap::new(),
            orders: BTreeMap::new(),
            day: DayBook::default(),
            locks: BTreeMap::new(),
            unknown_alerted: BTreeSet::new(),
        }
    }

    /// Sum of |net size| over the account's positions.
    pub fn total_contracts(&self) -> i64 {
        self.positions.values().map(|p| p.size.abs()).sum()
    }

    /// Sum of the unrealized P&L of positions that have a price.
    pub fn unrealized_total(&self) -> Decimal {
        self.positions.values().filter_map(|p| p.unrealized).sum()
    }

    /// The day's P&L from fills (net of fees when configured).
    pub fn realized(&self) -> Decimal {
        self.day.realized
    }

    /// Whether a working order is a closing-side stop for a position of `size` in `contract` (CONFIG.md §4).
    pub fn has_closing_stop(&self, contract: &ContractId, size: i64) -> bool {
        size != 0
            && self
                .orders
                .values()
                .any(|o| o.is_closing_stop(contract, size))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Position {
    /// Signed: positive long, negative short.
    pub size: i64,
    pub average_price: Decimal,
    pub opened_at: Timestamp,
    pub changed_seq: u64,
    /// Cached (price − avg) × size × point value; `None` without a price or contract metadata.
    pub unrealized: Option<Decimal>,
    /// When the no-stop grace period runs out, while the position has no stop.
    pub grace_deadline: Option<Timestamp>,
    /// The grace period ran out without a stop: a later event showing the position still there, still without
    /// a stop, decides the close again.
    #[serde(default)]
    pub grace_expired: bool,
    /// The session window the position is in, and when it closes.
    pub session_close: Option<(Timestamp, String)>,
    /// Once per target: the |size| when a full close was decided.
    pub close_decided: Option<i64>,
    pub partial_decided: bool,
    /// A rule that closes positions only when they open or grow (the gate, sessions) decided to close this
    /// one: a later event showing it still there decides the close again, grown or not.
    #[serde(default)]
    pub gated: bool,
    #[serde(default)]
    pub session_breach: bool,
    /// The gateway carried out a whole close of this position (an outcome said so). The REST answer can
    /// overtake hub events sent before the close, so position events stay stale (recorded, nothing decided)
    /// until the close's own fill arrives (`expect_flat`); after it, the next position event is a new
    /// position. Reconciliation ends the wait too: it feeds this position flat before the gateway's truth.
    #[serde(default)]
    pub flat_at_gateway: bool,
    /// The rule whose close of this position was decided last (for a re-decision after a restart).
    #[serde(default)]
    pub close_rule: Option<RuleId>,
    /// A close to decide again, under this rule, on the next event showing the position still there (of any
    /// size): set after a restart for a close decided before it and never confirmed, and for a close skipped
    /// because the position was expected to go flat.
    #[serde(default)]
    pub reclose: Option<RuleId>,
    /// Closing fills since the last position event add up to exactly this position's size: the gateway sends
    /// fills before the flat position event, so the position is on its way out and is not closed meanwhile. A
    /// close skipped for that reason is kept in `reclose`: if the next position event shows it still there,
    /// it is closed then.
    #[serde(default)]
    pub expect_flat: bool,
    /// The contracts closed by fills since the last position event (towards `expect_flat`).
    #[serde(default)]
    pub closing_fills: i64,
    pub mgmt: Management,
}

impl Position {
    pub fn new(size: i64, average_price: Decimal, at: Timestamp, seq: u64) -> Self {
        Position {
            size,
            average_price,
            opened_at: at,
            changed_seq: seq,
            unrealized: None,
            grace_deadline: None,
            grace_expired: false,
            session_close: None,
            close_decided: None,
            partial_decided: false,
            gated: false,
            session_breach: false,
            flat_at_gateway: false,
            close_rule: None,
            reclose: None,
            expect_flat: false,
            closing_fills: 0,
            mgmt: Management::default(),
        }
    }
}

/// Trade-management bookkeeping of one position.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Management {
    /// Best price seen since the position opened (high for longs, low for shorts).
    pub best: Option<Decimal>,
    pub trailing_active: bool,
    /// A place_stop was decided for this position.
    pub placed: bool,
    /// The last stop price the engine asked for (placed or modified).
    pub requested: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Order {
    pub contract: ContractId,
    pub status: OrderStatus,
    pub order_type: OrderType,
    pub side: Side,
    pub size: i64,
    pub stop_price: Option<Decimal>,
    pub own: bool,
    pub cancel_decided: bool,
}

impl Order {
    pub fn is_closing_stop(&self, contract: &ContractId, position_size: i64) -> bool {
        &self.contract == contract
            && self.status.is_working()
            && self.order_type.is_stop()
            && self.side == Side::reducing(position_size)
    }
}

/// The trading day's fills and what they add up to.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DayBook {
    /// Σ profitAndLoss (minus fees when configured) of the day's non-voided fills.
    pub realized: Decimal,
    pub fills: FxHashMap<TradeId, FillRecord>,
    /// Opening orders with the instant of their first opening fill, oldest first (for frequency windows).
    pub opening_orders: Vec<(Timestamp, OrderId)>,
    /// Non-voided opening fills per opening order.
    pub opening_fill_counts: FxHashMap<OrderId, u32>,
    /// Running net P&L of each closing order, and the largest cooldown tier it reached.
    pub closing_orders: FxHashMap<OrderId, ClosingOrder>,
    /// Which `warn_at` fractions already alerted today (by index).
    pub warned: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FillRecord {
    pub order: OrderId,
    /// This fill's contribution to the day's P&L.
    pub net: Decimal,
    pub opening: bool,
    pub voided: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClosingOrder {
    pub net: Decimal,
    pub tier: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LockKind {
    /// Ends at the next daily reset.
    DailyReset,
    /// Only an admin clears it.
    Permanent,
    /// Ends at `until` (cooldowns, session locks).
    Timed,
    /// Until the gateway's canTrade is true again.
    CanTrade,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lock {
    pub kind: LockKind,
    pub since: Timestamp,
    pub until: Option<Timestamp>,
    pub reason: String,
    /// Session locks cover only these windows' roots; empty means the whole account.
    pub windows: BTreeSet<String>,
}
