//! Clean input events: what the engine sees after the border has normalised the gateway's payloads.
//!
//! Positions carry a signed size (positive long, negative short); enums keep unknown wire values as
//! `Unknown(code)` so nothing is guessed.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::decision::RuleId;
use crate::ids::{AccountId, ContractId, OrderId, TradeId};

/// One input to the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    Account(AccountUpdate),
    Position(PositionUpdate),
    Order(OrderUpdate),
    Trade(Fill),
    Quote(Quote),
    Contract(ContractInfo),
    Admin(AdminCommand),
    Outcome(Outcome),
}

impl Event {
    /// The account the event is about; quotes and contracts belong to no account.
    pub fn account(&self) -> Option<AccountId> {
        match self {
            Event::Account(a) => Some(a.account),
            Event::Position(p) => Some(p.account),
            Event::Order(o) => Some(o.account),
            Event::Trade(t) => Some(t.account),
            Event::Admin(a) => Some(a.account()),
            Event::Outcome(o) => Some(o.account),
            Event::Quote(_) | Event::Contract(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountUpdate {
    pub account: AccountId,
    /// `None` when the payload did not say; the engine then leaves its view unchanged.
    pub can_trade: Option<bool>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionUpdate {
    pub account: AccountId,
    pub contract: ContractId,
    /// Signed net size: positive long, negative short, zero flat.
    pub size: i64,
    pub average_price: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Side {
    Buy,
    Sell,
    Unknown(i64),
}

impl Side {
    pub fn from_wire(code: i64) -> Self {
        match code {
            0 => Side::Buy,
            1 => Side::Sell,
            other => Side::Unknown(other),
        }
    }

    /// The gateway's OrderSide number.
    pub fn wire(self) -> i64 {
        match self {
            Side::Buy => 0,
            Side::Sell => 1,
            Side::Unknown(c) => c,
        }
    }

    /// The side that reduces a position of this sign (long → sell, short → buy).
    pub fn reducing(position_size: i64) -> Side {
        if position_size > 0 {
            Side::Sell
        } else {
            Side::Buy
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderStatus {
    None,
    Open,
    Filled,
    Cancelled,
    Expired,
    Rejected,
    Pending,
    PendingCancellation,
    Suspended,
    Unknown(i64),
}

impl OrderStatus {
    pub fn from_wire(code: i64) -> Self {
        match code {
            0 => OrderStatus::None,
            1 => OrderStatus::Open,
            2 => OrderStatus::Filled,
            3 => OrderStatus::Cancelled,
            4 => OrderStatus::Expired,
            5 => OrderStatus::Rejected,
            6 => OrderStatus::Pending,
            7 => OrderStatus::PendingCancellation,
            8 => OrderStatus::Suspended,
            other => OrderStatus::Unknown(other),
        }
    }

    /// The gateway's OrderStatus number (the inverse of [`OrderStatus::from_wire`]).
    pub fn wire(self) -> i64 {
        match self {
            OrderStatus::None => 0,
            OrderStatus::Open => 1,
            OrderStatus::Filled => 2,
            OrderStatus::Cancelled => 3,
            OrderStatus::Expired => 4,
            OrderStatus::Rejected => 5,
            OrderStatus::Pending => 6,
            OrderStatus::PendingCancellation => 7,
            OrderStatus::Suspended => 8,
            OrderStatus::Unknown(code) => code,
        }
    }

    /// Working: Open, Pending or Suspended (CONFIG.md §4). Unknown statuses are not assumed to be working.
    pub fn is_working(self) -> bool {
        matches!(
            self,
            OrderStatus::Open | OrderStatus::Pending | OrderStatus::Suspended
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderType {
    Unknown,
    Limit,
    Market,
    StopLimit,
    Stop,
    TrailingStop,
    JoinBid,
    JoinAsk,
    Other(i64),
}

impl OrderType {
    pub fn from_wire(code: i64) -> Self {
        match code {
            0 => OrderType::Unknown,
            1 => OrderType::Limit,
            2 => OrderType::Market,
            3 => OrderType::StopLimit,
            4 => OrderType::Stop,
            5 => OrderType::TrailingStop,
            6 => OrderType::JoinBid,
            7 => OrderType::JoinAsk,
            other => OrderType::Other(other),
        }
    }

    /// The gateway's OrderType number (the inverse of [`OrderType::from_wire`]).
    pub fn wire(self) -> i64 {
        match self {
            OrderType::Unknown => 0,
            OrderType::Limit => 1,
            OrderType::Market => 2,
            OrderType::StopLimit => 3,
            OrderType::Stop => 4,
            OrderType::TrailingStop => 5,
            OrderType::JoinBid => 6,
            OrderType::JoinAsk => 7,
            OrderType::Other(code) => code,
        }
    }

    /// StopLimit, Stop or TrailingStop. An unknown type is never taken for a stop.
    pub fn is_stop(self) -> bool {
        matches!(
            self,
            OrderType::StopLimit | OrderType::Stop | OrderType::TrailingStop
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderUpdate {
    pub account: AccountId,
    pub order: OrderId,
    pub contract: ContractId,
    pub status: OrderStatus,
    pub order_type: OrderType,
    pub side: Side,
    pub size: i64,
    pub limit_price: Option<Decimal>,
    pub stop_price: Option<Decimal>,
    pub custom_tag: Option<String>,
}

/// The prefix of every `customTag` the daemon puts on its own orders: `riskguard:<account>:<seq>`.
pub const OWN_TAG_PREFIX: &str = "riskguard:";

impl OrderUpdate {
    /// Whether the daemon placed this order itself.
    pub fn is_own(&self) -> bool {
        self.custom_tag
            .as_deref()
            .is_some_and(|t| t.starts_with(OWN_TAG_PREFIX))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fill {
    pub account: AccountId,
    pub trade: TradeId,
    pub order: OrderId,
    pub contract: ContractId,
    pub price: Decimal,
    /// `None` on an opening (half-turn) fill.
    pub pnl: Option<Decimal>,
    pub fees: Decimal,
    pub side: Side,
    pub size: i64,
    pub voided: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    /// The contract id the quote was subscribed under (market-hub argument 1).
    pub contract: ContractId,
    /// `None` means unchanged (quotes are sparse).
    pub last: Option<Decimal>,
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractInfo {
    pub id: ContractId,
    /// Exchange-style ticker such as `ESZ5`.
    pub name: String,
    pub tick_size: Decimal,
    pub tick_value: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum AdminCommand {
    ClearLock {
        account: AccountId,
        rule: RuleId,
        reason: String,
    },
    Flatten {
        account: AccountId,
        reason: String,
    },
    /// The trader's "done for today": lock the account until the next daily reset.
    SelfLock {
        account: AccountId,
        reason: String,
    },
}

impl AdminCommand {
    pub fn account(&self) -> AccountId {
        match self {
            AdminCommand::ClearLock { account, .. }
            | AdminCommand::Flatten { account, .. }
            | AdminCommand::SelfLock { account, .. } => *account,
        }
    }
}

/// What an enforcement call was about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum Target {
    Position { contract: ContractId },
    Order { order: OrderId },
}

/// The result of an enforcement call, fed back to the engine. A failure re-arms the target so that the engine
/// may decide it again (REPLAY.md, "once per target").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub account: AccountId,
    pub target: Target,
    pub ok: bool,
    pub detail: String,
    /// A whole-position close that the gateway carried out: the position is flat there, so the next position
    /// event for the contract is a new position, whatever its size.
    #[serde(default)]
    pub closed: bool,
}
