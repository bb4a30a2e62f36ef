//! Events and an engine for the hand-written engine tests: one account (1), one contract (MNQ), Monday
//! 2026-03-02.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use engine::Engine;
use jiff::Timestamp;
use model::event::{ContractInfo, Event, Fill, PositionUpdate, Quote, Side};
use model::ids::{AccountId, ContractId, OrderId, TradeId};
use rust_decimal::Decimal;

pub const MNQ: &str = "CON.F.US.MNQ.H26";

/// An engine on the rules of a risk_config.yaml text.
pub fn engine(rules: &str) -> Engine {
    Engine::new(Arc::new(
        config::parse_risk_config(rules, Path::new("t.yaml"), None).unwrap(),
    ))
}

/// A time of the day, `HH:MM:SS` (UTC).
pub fn t(s: &str) -> Timestamp {
    format!("2026-03-02T{s}Z").parse().unwrap()
}

pub fn contract() -> Event {
    Event::Contract(ContractInfo {
        id: ContractId::new(MNQ),
        name: "MNQH6".into(),
        tick_size: Decimal::new(25, 2),
        tick_value: Decimal::new(50, 2),
    })
}

/// Account 1's MNQ position, signed, averaged at 21000.
pub fn position(size: i64) -> Event {
    Event::Position(PositionUpdate {
        account: AccountId(1),
        contract: ContractId::new(MNQ),
        size,
        average_price: Decimal::from(21000),
    })
}

pub fn quote(last: i64) -> Event {
    Event::Quote(Quote {
        contract: ContractId::new(MNQ),
        last: Some(Decimal::from(last)),
        bid: None,
        ask: None,
    })
}

/// A fill of account 1 in MNQ: `pnl` `None` opens (a half-turn), `Some` closes.
pub fn fill(trade: i64, side: Side, size: i64, pnl: Option<i64>) -> Event {
    Event::Trade(Fill {
        account: AccountId(1),
        trade: TradeId(trade),
        order: OrderId(trade),
        contract: ContractId::new(MNQ),
        price: Decimal::from(21000),
        pnl: pnl.map(Decimal::from),
        fees: Decimal::ZERO,
        side,
        size,
        voided: false,
    })
}
