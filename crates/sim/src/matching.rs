//! The matching model: accounts, contracts, market prices, orders, netted positions and fills, as one
//! synchronous, clock-free value ([`Book`]). Every operation takes `now` and returns the events it caused,
//! in the order the real gateway sends them (order, then trade, then position, then the account's new
//! balance); the caller fans them out. Nothing here does I/O.
//!
//! Rules: market orders fill at once (buys at the best ask, sells at the best bid; both default to the last
//! price); limit orders rest until the opposite side reaches the limit, stop orders until the last price
//! reaches the stop; bracket legs wait as Suspended (8) until their entry fills and then one cancels the
//! other; a position is netted per (account, contract) with a volume-weighted average price that a
//! reduction keeps and a reversal resets; every fill carries `profitAndLoss` (null on opening fills) and
//! `fees`.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde::Serialize;

use crate::config::SimConfig;
use crate::wire::{num, ts};

/// Largest order size accepted; with [`MAX_PRICE`] it keeps every decimal product far from overflow.
pub const MAX_SIZE: i64 = 100_000;
/// Largest price accepted.
pub const MAX_PRICE: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// OrderSide: 0 = Bid (buy).
pub const SIDE_BID: i32 = 0;
/// OrderSide: 1 = Ask (sell).
pub const SIDE_ASK: i32 = 1;

/// OrderType wire values.
pub mod order_type {
    /// Limit.
    pub const LIMIT: i32 = 1;
    /// Market.
    pub const MARKET: i32 = 2;
    /// Stop-limit (treated as a stop).
    pub const STOP_LIMIT: i32 = 3;
    /// Stop.
    pub const STOP: i32 = 4;
    /// Trailing stop (treated as a stop at its `trailPrice`).
    pub const TRAILING_STOP: i32 = 5;
    /// Join the best bid (a limit at the bid).
    pub const JOIN_BID: i32 = 6;
    /// Join the best ask (a limit at the ask).
    pub const JOIN_ASK: i32 = 7;
}

/// OrderStatus wire values.
pub mod status {
    /// Working.
    pub const OPEN: i32 = 1;
    /// Completely filled.
    pub const FILLED: i32 = 2;
    /// Cancelled.
    pub const CANCELLED: i32 = 3;
    /// Rejected.
    pub const REJECTED: i32 = 5;
    /// Waiting for its bracket parent to fill.
    pub const SUSPENDED: i32 = 8;
}

/// PositionType wire values.
pub mod position_type {
    /// Long.
    pub const LONG: i32 = 1;
    /// Short.
    pub const SHORT: i32 = 2;
}

/// Why an operation was refused. The REST layer turns it into the endpoint's own error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    /// The account does not exist (or belongs to another user).
    #[error("account not found")]
    AccountNotFound,
    /// The contract does not exist.
    #[error("contract not found")]
    ContractNotFound,
    /// The order does not exist in that account.
    #[error("order not found")]
    OrderNotFound,
    /// The order is no longer working.
    #[error("order is not working")]
    NotWorking,
    /// No open position in that contract.
    #[error("position not found")]
    PositionNotFound,
    /// The contract has no price to fill a market order at.
    #[error("no market price for the contract")]
    NoPrice,
    /// The size is not acceptable.
    #[error("invalid size")]
    InvalidSize,
    /// Anything else the order entry refuses, with the reason.
    #[error("{0}")]
    Invalid(String),
}

/// An account as `Account/search` and `GatewayUserAccount` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Balance, moved by realized P&L and fees.
    #[serde(with = "num")]
    pub balance: Decimal,
    /// May trade.
    pub can_trade: bool,
    /// Visible.
    pub is_visible: bool,
    /// Simulated account.
    pub simulated: bool,
}

/// A contract as `Contract/*` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Contract {
    /// `CON.F.US.<ROOT>.<EXPIRY>`.
    pub id: String,
    /// Ticker, e.g. `ESZ5`.
    pub name: String,
    /// Description.
    pub description: String,
    /// Tick size.
    #[serde(with = "num")]
    pub tick_size: Decimal,
    /// Tick value.
    #[serde(with = "num")]
    pub tick_value: Decimal,
    /// Front contract.
    pub active_contract: bool,
    /// `F.US.<ROOT>`.
    pub symbol_id: String,
}

/// The market of one contract.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Market {
    /// Last trade price.
    #[serde(with = "num::option")]
    pub last: Option<Decimal>,
    /// Best bid.
    #[serde(with = "num::option")]
    pub bid: Option<Decimal>,
    /// Best ask.
    #[serde(with = "num::option")]
    pub ask: Option<Decimal>,
    /// First price of the session.
    #[serde(with = "num::option")]
    pub open: Option<Decimal>,
    /// Session high.
    #[serde(with = "num::option")]
    pub high: Option<Decimal>,
    /// Session low.
    #[serde(with = "num::option")]
    pub low: Option<Decimal>,
    /// Contracts traded by simulated fills.
    pub volume: i64,
}

/// What a bracket leg is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// An ordinary order (possibly the entry of a bracket).
    Entry,
    /// The stop-loss leg of `parent`.
    StopLoss {
        /// Entry order id.
        parent: i64,
        /// Signed tick offset from the entry's fill price.
        ticks: i32,
    },
    /// The take-profit leg of `parent`.
    TakeProfit {
        /// Entry order id.
        parent: i64,
        /// Signed tick offset from the entry's fill price.
        ticks: i32,
    },
}

/// An order, serialised exactly as `GatewayUserOrder` / `Order/search` rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// Id.
    pub id: i64,
    /// Account.
    pub account_id: i64,
    /// Contract.
    pub contract_id: String,
    /// `F.US.<ROOT>`.
    pub symbol_id: String,
    /// Created.
    #[serde(with = "ts")]
    pub creation_timestamp: jiff::Timestamp,
    /// Last changed.
    #[serde(with = "ts")]
    pub update_timestamp: jiff::Timestamp,
    /// OrderStatus.
    pub status: i32,
    /// OrderType.
    #[serde(rename = "type")]
    pub order_type: i32,
    /// OrderSide.
    pub side: i32,
    /// Ordered quantity.
    pub size: i64,
    /// Limit price.
    #[serde(with = "num::option")]
    pub limit_price: Option<Decimal>,
    /// Stop price.
    #[serde(with = "num::option")]
    pub stop_price: Option<Decimal>,
    /// Filled quantity so far.
    pub fill_volume: i64,
    /// Average fill price.
    #[serde(with = "num::option")]
    pub filled_price: Option<Decimal>,
    /// Caller's tag.
    pub custom_tag: Option<String>,
    /// Bracket role (not a gateway field; hidden from the wire).
    #[serde(skip)]
    pub role: Role,
    /// Leg ids of a bracket entry.
    #[serde(skip)]
    pub legs: Vec<i64>,
}

impl Order {
    /// Open or Suspended.
    pub fn is_working(&self) -> bool {
        self.status == status::OPEN || self.status == status::SUSPENDED
    }

    fn remaining(&self) -> i64 {
        self.size - self.fill_volume
    }
}

/// A netted position, serialised as `GatewayUserPosition` / `Position/searchOpen` rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Position {
    /// Id (kept while the position is open, new after it was flat).
    pub id: i64,
    /// Account.
    pub account_id: i64,
    /// Contract.
    pub contract_id: String,
    /// Opened.
    #[serde(with = "ts")]
    pub creation_timestamp: jiff::Timestamp,
    /// PositionType (1 long, 2 short).
    #[serde(rename = "type")]
    pub position_type: i32,
    /// Absolute size; 0 once flat.
    pub size: i64,
    /// Average entry price.
    #[serde(with = "num")]
    pub average_price: Decimal,
}

/// One fill, serialised as `GatewayUserTrade` / `Trade/search` rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Trade {
    /// Id.
    pub id: i64,
    /// Account.
    pub account_id: i64,
    /// Contract.
    pub contract_id: String,
    /// Time of the fill.
    #[serde(with = "ts")]
    pub creation_timestamp: jiff::Timestamp,
    /// Fill price.
    #[serde(with = "num")]
    pub price: Decimal,
    /// Realized P&L of the closed part; null on an opening (half-turn) fill.
    #[serde(with = "num::option")]
    pub profit_and_loss: Option<Decimal>,
    /// Fees.
    #[serde(with = "num")]
    pub fees: Decimal,
    /// OrderSide.
    pub side: i32,
    /// Quantity.
    pub size: i64,
    /// Voided by `/sim/void`.
    pub voided: bool,
    /// The order that filled.
    pub order_id: i64,
}

/// Something subscribers must hear about, in emission order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `GatewayUserAccount`.
    Account(Account),
    /// `GatewayUserOrder`.
    Order(Order),
    /// `GatewayUserTrade`.
    Trade(Trade),
    /// `GatewayUserPosition`.
    Position(Position),
    /// `GatewayQuote` for the contract, from its market.
    Quote {
        /// Contract id.
        contract_id: String,
        /// Symbol id.
        symbol_id: String,
        /// Symbol name.
        symbol_name: String,
        /// The market after the change.
        market: Market,
        /// When.
        at: jiff::Timestamp,
    },
    /// `GatewayTrade` (market tape) for the contract.
    MarketTrade {
        /// Contract id.
        contract_id: String,
        /// Symbol id.
        symbol_id: String,
        /// Price.
        price: Decimal,
        /// Aggressor side (TradeLogType 0 buy, 1 sell).
        side: i32,
        /// Volume.
        volume: i64,
        /// When.
        at: jiff::Timestamp,
    },
    /// `GatewayDepth` best bid/ask levels for the contract.
    Depth {
        /// Contract id.
        contract_id: String,
        /// DomType.
        dom_type: i32,
        /// Price.
        price: Decimal,
        /// When.
        at: jiff::Timestamp,
    },
}

impl Event {
    /// The account a user-hub event belongs to.
    pub fn account_id(&self) -> Option<i64> {
        match self {
            Event::Account(a) => Some(a.id),
            Event::Order(o) => Some(o.account_id),
            Event::Trade(t) => Some(t.account_id),
            Event::Position(p) => Some(p.account_id),
            _ => None,
        }
    }
}

/// A bracket request: signed ticks from the entry fill and the leg's order type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BracketSpec {
    /// Signed tick distance (negative below the entry price).
    pub ticks: i32,
    /// OrderType of the leg.
    pub order_type: i32,
}

/// `Order/place` after parsing.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceRequest {
    /// Account.
    pub account_id: i64,
    /// Contract.
    pub contract_id: String,
    /// OrderType.
    pub order_type: i32,
    /// OrderSide.
    pub side: i32,
    /// Quantity.
    pub size: i64,
    /// Limit price.
    pub limit_price: Option<Decimal>,
    /// Stop price.
    pub stop_price: Option<Decimal>,
    /// Trailing-stop starting price.
    pub trail_price: Option<Decimal>,
    /// Tag, unique per account.
    pub custom_tag: Option<String>,
    /// Stop-loss leg.
    pub stop_loss: Option<BracketSpec>,
    /// Take-profit leg.
    pub take_profit: Option<BracketSpec>,
}

/// Signed net quantity and average price; the pure part of position keeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Netted {
    /// Positive long, negative short.
    pub net: i64,
    /// Average entry price (meaningless when flat).
    pub avg: Decimal,
}

impl Netted {
    /// Applies one fill; returns the realized P&L of the part that closed, or `None` for an opening fill.
    /// Adding averages the price, reducing keeps it, a reversal resets it to the fill price.
    pub fn apply(
        &mut self,
        side: i32,
        qty: i64,
        price: Decimal,
        tick_size: Decimal,
        tick_value: Decimal,
    ) -> Option<Decimal> {
        let signed = if side == SIDE_BID { qty } else { -qty };
        if self.net == 0 || self.net.signum() == signed.signum() {
            let old = Decimal::from(self.net.abs());
            let add = Decimal::from(qty);
            self.avg = if self.net == 0 {
                price
            } else {
                ((self.avg * old + price * add) / (old + add))
                    .round_dp(9)
                    .normalize()
            };
            self.net += signed;
            return None;
        }
        let closed = qty.min(self.net.abs());
        let direction = Decimal::from(self.net.signum());
        let pnl = ((price - self.avg) / tick_size * tick_value * Decimal::from(closed) * direction)
            .round_dp(2);
        self.net += signed;
        if self.net != 0 && self.net.signum() == signed.signum() {
            self.avg = price;
        }
        Some(pnl.normalize())
    }
}

/// The whole trading world of the simulator.
#[derive(Debug, Clone)]
pub struct Book {
    /// Accounts by id.
    pub accounts: BTreeMap<i64, Account>,
    /// Contracts by id.
    pub contracts: BTreeMap<String, Contract>,
    /// Markets by contract id.
    pub markets: HashMap<String, Market>,
    /// Every order ever placed, by id.
    pub orders: BTreeMap<i64, Order>,
    /// Positions by (account, contract), including flat ones.
    pub positions: BTreeMap<(i64, String), Position>,
    /// Every fill, in order.
    pub trades: Vec<Trade>,
    fee_per_contract: Decimal,
    next_order_id: i64,
    next_trade_id: i64,
    next_position_id: i64,
}

/// How an order executes, from its bracket role first and its type second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sem {
    Market,
    Limit,
    Stop,
}

fn semantics(order: &Order) -> Sem {
    match order.role {
        Role::StopLoss { .. } => Sem::Stop,
        Role::TakeProfit { .. } => Sem::Limit,
        Role::Entry => match order.order_type {
            order_type::MARKET => Sem::Market,
            order_type::STOP | order_type::STOP_LIMIT | order_type::TRAILING_STOP => Sem::Stop,
            _ => Sem::Limit,
        },
    }
}

impl Book {
    /// The initial world described by `config`.
    pub fn new(config: &SimConfig) -> Self {
        let accounts = config
            .accounts
            .iter()
            .map(|a| {
                (
                    a.id,
                    Account {
                        id: a.id,
                        name: a.name.clone(),
                        balance: a.balance,
                        can_trade: a.can_trade,
                        is_visible: a.is_visible,
                        simulated: a.simulated,
                    },
                )
            })
            .collect();
        let mut markets = HashMap::new();
        let contracts = config
            .contracts
            .iter()
            .map(|c| {
                if let Some(last) = c.last_price {
                    markets.insert(
                        c.id.clone(),
                        Market {
                            last: Some(last),
                            bid: Some(last),
                            ask: Some(last),
                            open: Some(last),
                            high: Some(last),
                            low: Some(last),
                            volume: 0,
                        },
                    );
                }
                (
                    c.id.clone(),
                    Contract {
                        id: c.id.clone(),
                        name: c.name.clone(),
                        description: c.description.clone(),
                        tick_size: c.tick_size,
                        tick_value: c.tick_value,
                        active_contract: c.active_contract,
                        symbol_id: c.symbol_id(),
                    },
                )
            })
            .collect();
        Book {
            accounts,
            contracts,
            markets,
            orders: BTreeMap::new(),
            positions: BTreeMap::new(),
            trades: Vec::new(),
            fee_per_contract: config.fee_per_contract,
            next_order_id: 1_000_001,
            next_trade_id: 5_000_001,
            next_position_id: 1,
        }
    }

    /// Orders that are Open or Suspended.
    pub fn working_orders(&self) -> impl Iterator<Item = &Order> {
        self.orders.values().filter(|o| o.is_working())
    }

    /// Positions with a non-zero size.
    pub fn open_positions(&self) -> impl Iterator<Item = &Position> {
        self.positions.values().filter(|p| p.size != 0)
    }

    /// Changes `canTrade`; emits the account.
    pub fn set_can_trade(
        &mut self,
        account_id: i64,
        can_trade: bool,
    ) -> Result<Vec<Event>, Reject> {
        let account = self
            .accounts
            .get_mut(&account_id)
            .ok_or(Reject::AccountNotFound)?;
        account.can_trade = can_trade;
        Ok(vec![Event::Account(account.clone())])
    }

    /// Sets the market of a contract (bid and ask default to the last price), emits the quote and depth,
    /// then fills whatever resting orders the new prices reach.
    pub fn set_price(
        &mut self,
        contract_id: &str,
        last: Decimal,
        bid: Option<Decimal>,
        ask: Option<Decimal>,
        now: jiff::Timestamp,
    ) -> Result<Vec<Event>, Reject> {
        let contract = self
            .contracts
            .get(contract_id)
            .ok_or(Reject::ContractNotFound)?;
        let bad = |p: Decimal| p <= Decimal::ZERO || p > MAX_PRICE;
        if bad(last) || bid.is_some_and(bad) || ask.is_some_and(bad) {
            return Err(Reject::Invalid(format!(
                "prices must be positive and at most {MAX_PRICE}"
            )));
        }
        let (symbol_id, symbol_name) = (contract.symbol_id.clone(), contract.name.clone());
        let market = self.markets.entry(contract_id.to_owned()).or_default();
        market.last = Some(last);
        market.bid = Some(bid.unwrap_or(last));
        market.ask = Some(ask.unwrap_or(last));
        market.open.get_or_insert(last);
        market.high = Some(market.high.map_or(last, |h| h.max(last)));
        market.low = Some(market.low.map_or(last, |l| l.min(last)));
        let mut events = vec![Event::Quote {
            contract_id: contract_id.to_owned(),
            symbol_id,
            symbol_name,
            market: market.clone(),
            at: now,
        }];
        for (dom_type, price) in [(4, market.bid), (3, market.ask)] {
            if let Some(price) = price {
                events.push(Event::Depth {
                    contract_id: contract_id.to_owned(),
                    dom_type,
                    price,
                    at: now,
                });
            }
        }
        self.trigger_resting(contract_id, now, &mut events);
        Ok(events)
    }

    /// Places an order: validates it, creates its bracket legs as Suspended, and fills it at once when it
    /// is a market order or already marketable. Returns the order id and the events.
    pub fn place(
        &mut self,
        req: PlaceRequest,
        now: jiff::Timestamp,
    ) -> Result<(i64, Vec<Event>), Reject> {
        let account = self
            .accounts
            .get(&req.account_id)
            .ok_or(Reject::AccountNotFound)?;
        let contract = self
            .contracts
            .get(&req.contract_id)
            .ok_or(Reject::ContractNotFound)?
            .clone();
        if !account.can_trade {
            return Err(Reject::Invalid("account is not allowed to trade".into()));
        }
        if req.size <= 0 || req.size > MAX_SIZE {
            return Err(Reject::InvalidSize);
        }
        if req.side != SIDE_BID && req.side != SIDE_ASK {
            return Err(Reject::Invalid(format!("invalid side {}", req.side)));
        }
        if let Some(tag) = &req.custom_tag
            && self
                .orders
                .values()
                .any(|o| o.account_id == req.account_id && o.custom_tag.as_ref() == Some(tag))
        {
            return Err(Reject::Invalid(format!(
                "customTag '{tag}' is already in use for this account"
            )));
        }
        let market = self
            .markets
            .get(&req.contract_id)
            .cloned()
            .unwrap_or_default();
        let (limit_price, stop_price) = match req.order_type {
            order_type::MARKET => (None, None),
            order_type::LIMIT => (
                Some(
                    req.limit_price
                        .ok_or_else(|| Reject::Invalid("limitPrice is required".into()))?,
                ),
                None,
            ),
            order_type::JOIN_BID => (Some(market.bid.ok_or(Reject::NoPrice)?), None),
            order_type::JOIN_ASK => (Some(market.ask.ok_or(Reject::NoPrice)?), None),
            order_type::STOP | order_type::STOP_LIMIT => (
                req.limit_price,
                Some(
                    req.stop_price
                        .ok_or_else(|| Reject::Invalid("stopPrice is required".into()))?,
                ),
            ),
            order_type::TRAILING_STOP => (
                None,
                Some(
                    req.trail_price
                        .or(req.stop_price)
                        .ok_or_else(|| Reject::Invalid("trailPrice is required".into()))?,
                ),
            ),
            other => return Err(Reject::Invalid(format!("unsupported order type {other}"))),
        };
        for price in [limit_price, stop_price].into_iter().flatten() {
            check_price(price, &contract)?;
        }
        if req.order_type == order_type::MARKET {
            let fill = if req.side == SIDE_BID {
                market.ask
            } else {
                market.bid
            };
            if fill.or(market.last).is_none() {
                return Err(Reject::NoPrice);
            }
        }
        let longing = req.side == SIDE_BID;
        let when = if longing { "longing" } else { "shorting" };
        if let Some(sl) = req.stop_loss
            && (sl.ticks == 0 || (sl.ticks < 0) != longing)
        {
            let want = if longing { "less" } else { "greater" };
            return Err(Reject::Invalid(format!(
                "Invalid stop loss ticks ({}). Ticks should be {want} than zero when {when}.",
                sl.ticks
            )));
        }
        if let Some(tp) = req.take_profit
            && (tp.ticks == 0 || (tp.ticks > 0) != longing)
        {
            let want = if longing { "greater" } else { "less" };
            return Err(Reject::Invalid(format!(
                "Invalid take profit ticks ({}). Ticks should be {want} than zero when {when}.",
                tp.ticks
            )));
        }

        let id = self.take_order_id();
        let mut order = Order {
            id,
            account_id: req.account_id,
            contract_id: req.contract_id.clone(),
            symbol_id: contract.symbol_id.clone(),
            creation_timestamp: now,
            update_timestamp: now,
            status: status::OPEN,
            order_type: req.order_type,
            side: req.side,
            size: req.size,
            limit_price,
            stop_price,
            fill_volume: 0,
            filled_price: None,
            custom_tag: req.custom_tag.clone(),
            role: Role::Entry,
            legs: Vec::new(),
        };
        let reference = limit_price.or(stop_price).or(market.last);
        let mut leg_events = Vec::new();
        for (spec, is_sl) in [(req.stop_loss, true), (req.take_profit, false)] {
            let Some(spec) = spec else { continue };
            let leg_id = self.take_order_id();
            let role = if is_sl {
                Role::StopLoss {
                    parent: id,
                    ticks: spec.ticks,
                }
            } else {
                Role::TakeProfit {
                    parent: id,
                    ticks: spec.ticks,
                }
            };
            let price = reference.map(|p| p + Decimal::from(spec.ticks) * contract.tick_size);
            let leg = Order {
                id: leg_id,
                account_id: req.account_id,
                contract_id: req.contract_id.clone(),
                symbol_id: contract.symbol_id.clone(),
                creation_timestamp: now,
                update_timestamp: now,
                status: status::SUSPENDED,
                order_type: spec.order_type,
                side: opposite(req.side),
                size: req.size,
                limit_price: if is_sl { None } else { price },
                stop_price: if is_sl { price } else { None },
                fill_volume: 0,
                filled_price: None,
                custom_tag: None,
                role,
                legs: Vec::new(),
            };
            order.legs.push(leg_id);
            leg_events.push(Event::Order(leg.clone()));
            self.orders.insert(leg_id, leg);
        }
        let mut events = Vec::new();
        if req.order_type != order_type::MARKET {
            events.push(Event::Order(order.clone()));
        }
        events.extend(leg_events);
        self.orders.insert(id, order);
        if let Some(price) = self.immediate_price(id) {
            let qty = self.orders.get(&id).map_or(0, Order::remaining);
            self.execute(id, qty, price, now, &mut events);
        }
        self.trigger_resting(&req.contract_id, now, &mut events);
        Ok((id, events))
    }

    /// Cancels a working order (and the suspended legs of a bracket entry).
    pub fn cancel(
        &mut self,
        account_id: i64,
        order_id: i64,
        now: jiff::Timestamp,
    ) -> Result<Vec<Event>, Reject> {
        if !self.accounts.contains_key(&account_id) {
            return Err(Reject::AccountNotFound);
        }
        let order = self
            .orders
            .get(&order_id)
            .filter(|o| o.account_id == account_id)
            .ok_or(Reject::OrderNotFound)?;
        if !order.is_working() {
            return Err(Reject::NotWorking);
        }
        let mut ids = vec![order_id];
        ids.extend(order.legs.iter().copied());
        let mut events = Vec::new();
        for id in ids {
            if let Some(o) = self.orders.get_mut(&id)
                && (o.id == order_id || o.status == status::SUSPENDED)
            {
                o.status = status::CANCELLED;
                o.update_timestamp = now;
                events.push(Event::Order(o.clone()));
            }
        }
        Ok(events)
    }

    /// Changes size, limit or stop price of a working order; fills it if that makes it marketable.
    pub fn modify(
        &mut self,
        account_id: i64,
        order_id: i64,
        size: Option<i64>,
        limit_price: Option<Decimal>,
        stop_price: Option<Decimal>,
        now: jiff::Timestamp,
    ) -> Result<Vec<Event>, Reject> {
        if !self.accounts.contains_key(&account_id) {
            return Err(Reject::AccountNotFound);
        }
        let order = self
            .orders
            .get(&order_id)
            .filter(|o| o.account_id == account_id)
            .ok_or(Reject::OrderNotFound)?;
        if !order.is_working() {
            return Err(Reject::NotWorking);
        }
        let contract = self
            .contracts
            .get(&order.contract_id)
            .ok_or(Reject::ContractNotFound)?
            .clone();
        if let Some(size) = size
            && (size <= order.fill_volume || size > MAX_SIZE)
        {
            return Err(Reject::InvalidSize);
        }
        if limit_price.is_some() && order.limit_price.is_none() {
            return Err(Reject::Invalid("the order has no limit price".into()));
        }
        if stop_price.is_some() && order.stop_price.is_none() {
            return Err(Reject::Invalid("the order has no stop price".into()));
        }
        for price in [limit_price, stop_price].into_iter().flatten() {
            check_price(price, &contract)?;
        }
        let legs = order.legs.clone();
        let contract_id = order.contract_id.clone();
        let mut events = Vec::new();
        if let Some(o) = self.orders.get_mut(&order_id) {
            if let Some(size) = size {
                o.size = size;
            }
            if limit_price.is_some() {
                o.limit_price = limit_price;
            }
            if stop_price.is_some() {
                o.stop_price = stop_price;
            }
            o.update_timestamp = now;
            events.push(Event::Order(o.clone()));
        }
        if let Some(size) = size {
            for leg in legs {
                if let Some(l) = self
                    .orders
                    .get_mut(&leg)
                    .filter(|l| l.status == status::SUSPENDED)
                {
                    l.size = size;
                    l.update_timestamp = now;
                    events.push(Event::Order(l.clone()));
                }
            }
        }
        self.trigger_resting(&contract_id, now, &mut events);
        Ok(events)
    }

    /// Flattens (`size: None`) or reduces a position with a market order on the reducing side.
    pub fn close(
        &mut self,
        account_id: i64,
        contract_id: &str,
        size: Option<i64>,
        now: jiff::Timestamp,
    ) -> Result<Vec<Event>, Reject> {
        if !self.accounts.contains_key(&account_id) {
            return Err(Reject::AccountNotFound);
        }
        if !self.contracts.contains_key(contract_id) {
            return Err(Reject::ContractNotFound);
        }
        let position = self
            .positions
            .get(&(account_id, contract_id.to_owned()))
            .filter(|p| p.size != 0)
            .ok_or(Reject::PositionNotFound)?;
        let qty = match size {
            None => position.size,
            Some(s) if s > 0 && s <= position.size => s,
            Some(_) => return Err(Reject::InvalidSize),
        };
        let side = if position.position_type == position_type::LONG {
            SIDE_ASK
        } else {
            SIDE_BID
        };
        let market = self.markets.get(contract_id).cloned().unwrap_or_default();
        let price = if side == SIDE_BID {
            market.ask
        } else {
            market.bid
        }
        .or(market.last)
        .ok_or(Reject::NoPrice)?;
        let symbol_id = self
            .contracts
            .get(contract_id)
            .ok_or(Reject::ContractNotFound)?
            .symbol_id
            .clone();
        let id = self.take_order_id();
        let order = Order {
            id,
            account_id,
            contract_id: contract_id.to_owned(),
            symbol_id,
            creation_timestamp: now,
            update_timestamp: now,
            status: status::OPEN,
            order_type: order_type::MARKET,
            side,
            size: qty,
            limit_price: None,
            stop_price: None,
            fill_volume: 0,
            filled_price: None,
            custom_tag: None,
            role: Role::Entry,
            legs: Vec::new(),
        };
        self.orders.insert(id, order);
        let mut events = Vec::new();
        self.execute(id, qty, price, now, &mut events);
        self.trigger_resting(contract_id, now, &mut events);
        Ok(events)
    }

    /// Fills `size` of a working order now, at its limit or stop price (the market for a market order).
    pub fn force_fill(
        &mut self,
        order_id: i64,
        size: Option<i64>,
        now: jiff::Timestamp,
    ) -> Result<Vec<Event>, Reject> {
        let order = self.orders.get(&order_id).ok_or(Reject::OrderNotFound)?;
        if order.status != status::OPEN {
            return Err(Reject::NotWorking);
        }
        let qty = size.unwrap_or(order.remaining());
        if qty <= 0 || qty > order.remaining() {
            return Err(Reject::InvalidSize);
        }
        let market = self
            .markets
            .get(&order.contract_id)
            .cloned()
            .unwrap_or_default();
        let market_price = if order.side == SIDE_BID {
            market.ask
        } else {
            market.bid
        }
        .or(market.last);
        let price = order
            .limit_price
            .or(order.stop_price)
            .or(market_price)
            .ok_or(Reject::NoPrice)?;
        let contract_id = order.contract_id.clone();
        let mut events = Vec::new();
        self.execute(order_id, qty, price, now, &mut events);
        self.trigger_resting(&contract_id, now, &mut events);
        Ok(events)
    }

    /// Voids a fill: emits it again with `voided: true`, rebuilds the position from the remaining fills
    /// and gives back its P&L and fees.
    pub fn void(&mut self, trade_id: i64) -> Result<Vec<Event>, Reject> {
        let trade = self
            .trades
            .iter_mut()
            .find(|t| t.id == trade_id)
            .ok_or_else(|| Reject::Invalid(format!("trade {trade_id} not found")))?;
        if trade.voided {
            return Err(Reject::Invalid(format!(
                "trade {trade_id} is already voided"
            )));
        }
        trade.voided = true;
        let trade = trade.clone();
        let mut events = vec![Event::Trade(trade.clone())];
        let contract = self
            .contracts
            .get(&trade.contract_id)
            .ok_or(Reject::ContractNotFound)?
            .clone();
        let mut netted = Netted::default();
        for t in self.trades.iter().filter(|t| {
            !t.voided && t.account_id == trade.account_id && t.contract_id == trade.contract_id
        }) {
            netted.apply(
                t.side,
                t.size,
                t.price,
                contract.tick_size,
                contract.tick_value,
            );
        }
        let at = trade.creation_timestamp;
        events.push(Event::Position(self.store_position(
            trade.account_id,
            &trade.contract_id,
            netted,
            at,
        )));
        if let Some(account) = self.accounts.get_mut(&trade.account_id) {
            account.balance =
                account.balance - trade.profit_and_loss.unwrap_or_default() + trade.fees;
            events.push(Event::Account(account.clone()));
        }
        Ok(events)
    }

    fn take_order_id(&mut self) -> i64 {
        let id = self.next_order_id;
        self.next_order_id += 1;
        id
    }

    /// The price an order fills at right now, if it is marketable.
    fn immediate_price(&self, order_id: i64) -> Option<Decimal> {
        let order = self.orders.get(&order_id)?;
        if order.status != status::OPEN {
            return None;
        }
        let market = self.markets.get(&order.contract_id)?;
        let buy = order.side == SIDE_BID;
        let touch = if buy { market.ask } else { market.bid }.or(market.last)?;
        match semantics(order) {
            Sem::Market => Some(touch),
            Sem::Limit => {
                let limit = order.limit_price?;
                let reached = if buy { touch <= limit } else { touch >= limit };
                reached.then_some(touch)
            }
            Sem::Stop => self.stop_reached(order, market).then_some(touch),
        }
    }

    fn stop_reached(&self, order: &Order, market: &Market) -> bool {
        let (Some(stop), Some(last)) = (order.stop_price, market.last) else {
            return false;
        };
        if order.side == SIDE_BID {
            last >= stop
        } else {
            last <= stop
        }
    }

    /// Fills every resting order of `contract_id` the current market reaches (limits at their limit price,
    /// stops at the touch), repeating while fills activate bracket legs.
    fn trigger_resting(
        &mut self,
        contract_id: &str,
        now: jiff::Timestamp,
        events: &mut Vec<Event>,
    ) {
        for _round in 0..64 {
            let Some(market) = self.markets.get(contract_id).cloned() else {
                return;
            };
            let mut fills = Vec::new();
            for order in self
                .orders
                .values()
                .filter(|o| o.status == status::OPEN && o.contract_id == contract_id)
            {
                let buy = order.side == SIDE_BID;
                let Some(touch) = if buy { market.ask } else { market.bid }.or(market.last) else {
                    continue;
                };
                let price = match (semantics(order), order.limit_price) {
                    (Sem::Stop, _) => self.stop_reached(order, &market).then_some(touch),
                    (Sem::Limit, Some(limit)) => {
                        let reached = if buy { touch <= limit } else { touch >= limit };
                        reached.then_some(limit)
                    }
                    (Sem::Limit, None) => None,
                    (Sem::Market, _) => Some(touch),
                };
                if let Some(price) = price {
                    fills.push((order.id, order.remaining(), price));
                }
            }
            if fills.is_empty() {
                return;
            }
            for (id, qty, price) in fills {
                if self
                    .orders
                    .get(&id)
                    .is_some_and(|o| o.status == status::OPEN && o.remaining() >= qty)
                {
                    self.execute(id, qty, price, now, events);
                }
            }
        }
    }

    /// One fill of `qty` at `price`: order, trade, position and account events, market tape, bracket logic.
    fn execute(
        &mut self,
        order_id: i64,
        qty: i64,
        price: Decimal,
        now: jiff::Timestamp,
        events: &mut Vec<Event>,
    ) {
        let Some(order) = self.orders.get_mut(&order_id) else {
            return;
        };
        let Some(contract) = self.contracts.get(&order.contract_id).cloned() else {
            return;
        };
        let previous = Decimal::from(order.fill_volume) * order.filled_price.unwrap_or_default();
        order.fill_volume += qty;
        order.filled_price = Some(
            ((previous + Decimal::from(qty) * price) / Decimal::from(order.fill_volume))
                .round_dp(9)
                .normalize(),
        );
        if order.fill_volume >= order.size {
            order.status = status::FILLED;
        }
        order.update_timestamp = now;
        let order = order.clone();
        events.push(Event::Order(order.clone()));

        let key = (order.account_id, order.contract_id.clone());
        let mut netted = self
            .positions
            .get(&key)
            .map_or(Netted::default(), |p| Netted {
                net: if p.position_type == position_type::SHORT {
                    -p.size
                } else {
                    p.size
                },
                avg: p.average_price,
            });
        let pnl = netted.apply(
            order.side,
            qty,
            price,
            contract.tick_size,
            contract.tick_value,
        );
        let fees = (self.fee_per_contract * Decimal::from(qty)).normalize();
        let trade = Trade {
            id: self.next_trade_id,
            account_id: order.account_id,
            contract_id: order.contract_id.clone(),
            creation_timestamp: now,
            price,
            profit_and_loss: pnl,
            fees,
            side: order.side,
            size: qty,
            voided: false,
            order_id,
        };
        self.next_trade_id += 1;
        self.trades.push(trade.clone());
        events.push(Event::Trade(trade));
        events.push(Event::Position(self.store_position(
            order.account_id,
            &order.contract_id,
            netted,
            now,
        )));
        if let Some(account) = self.accounts.get_mut(&order.account_id) {
            account.balance = account.balance + pnl.unwrap_or_default() - fees;
            events.push(Event::Account(account.clone()));
        }
        if let Some(market) = self.markets.get_mut(&order.contract_id) {
            market.volume += qty;
        }
        events.push(Event::MarketTrade {
            contract_id: order.contract_id.clone(),
            symbol_id: order.symbol_id.clone(),
            price,
            side: if order.side == SIDE_BID { 0 } else { 1 },
            volume: qty,
            at: now,
        });
        self.bracket_after_fill(&order, qty, &contract, now, events);
    }

    /// Activates the legs of a filled entry, or cancels/reduces the sibling of a filled leg (OCO).
    fn bracket_after_fill(
        &mut self,
        order: &Order,
        qty: i64,
        contract: &Contract,
        now: jiff::Timestamp,
        events: &mut Vec<Event>,
    ) {
        match order.role {
            Role::Entry => {
                let Some(fill) = order.filled_price else {
                    return;
                };
                for leg_id in &order.legs {
                    let Some(leg) = self.orders.get_mut(leg_id).filter(|l| l.is_working()) else {
                        continue;
                    };
                    let (Role::StopLoss { ticks, .. } | Role::TakeProfit { ticks, .. }) = leg.role
                    else {
                        continue;
                    };
                    let price = fill + Decimal::from(ticks) * contract.tick_size;
                    if matches!(leg.role, Role::StopLoss { .. }) {
                        leg.stop_price = Some(price);
                    } else {
                        leg.limit_price = Some(price);
                    }
                    leg.status = status::OPEN;
                    leg.size = order.fill_volume;
                    leg.update_timestamp = now;
                    events.push(Event::Order(leg.clone()));
                }
            }
            Role::StopLoss { parent, .. } | Role::TakeProfit { parent, .. } => {
                let siblings: Vec<i64> = self
                    .orders
                    .get(&parent)
                    .map(|p| {
                        p.legs
                            .iter()
                            .copied()
                            .filter(|id| *id != order.id)
                            .collect()
                    })
                    .unwrap_or_default();
                for id in siblings {
                    let Some(sibling) = self.orders.get_mut(&id).filter(|s| s.is_working()) else {
                        continue;
                    };
                    if order.status == status::FILLED || sibling.remaining() <= qty {
                        sibling.status = status::CANCELLED;
                    } else {
                        sibling.size -= qty;
                    }
                    sibling.update_timestamp = now;
                    events.push(Event::Order(sibling.clone()));
                }
            }
        }
    }

    /// Stores the netted state of (account, contract) and returns the position as it is to be emitted.
    fn store_position(
        &mut self,
        account_id: i64,
        contract_id: &str,
        netted: Netted,
        now: jiff::Timestamp,
    ) -> Position {
        let key = (account_id, contract_id.to_owned());
        let next_id = self.next_position_id;
        let position = self.positions.entry(key).or_insert_with(|| Position {
            id: next_id,
            account_id,
            contract_id: contract_id.to_owned(),
            creation_timestamp: now,
            position_type: position_type::LONG,
            size: 0,
            average_price: Decimal::ZERO,
        });
        if position.id == next_id {
            self.next_position_id += 1;
        } else if position.size == 0 && netted.net != 0 {
            position.id = next_id;
            position.creation_timestamp = now;
            self.next_position_id += 1;
        }
        position.size = netted.net.abs();
        if netted.net != 0 {
            position.position_type = if netted.net > 0 {
                position_type::LONG
            } else {
                position_type::SHORT
            };
            position.average_price = netted.avg;
        }
        position.clone()
    }
}

fn opposite(side: i32) -> i32 {
    if side == SIDE_BID { SIDE_ASK } else { SIDE_BID }
}

fn check_price(price: Decimal, contract: &Contract) -> Result<(), Reject> {
    if price <= Decimal::ZERO || price > MAX_PRICE {
        return Err(Reject::Invalid(format!("invalid price {price}")));
    }
    if !(price % contract.tick_size).is_zero() {
        return Err(Reject::Invalid(format!(
            "invalid price {price}: not a multiple of the tick size {}",
            contract.tick_size
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
