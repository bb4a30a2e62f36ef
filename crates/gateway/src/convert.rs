//! projectx-client's typed REST rows into `model::wire` rows, then through `model::normalize`, so REST reads and
//! hub events go through one normaliser. Decimals stay decimals; enum codes are passed as their wire numbers,
//! so unknown values stay `Unknown(code)`.

use model::event::{AccountUpdate, ContractInfo, Fill, OrderUpdate, PositionUpdate};
use model::normalize::{self, PayloadError};
use model::wire::{WireAccount, WireContract, WireOrder, WirePosition, WireTrade};
use projectx_client as px;

pub fn position(p: &px::Position) -> Result<PositionUpdate, PayloadError> {
    normalize::position(&WirePosition {
        id: Some(i64::from(p.id.get())),
        account_id: Some(i64::from(p.account_id.get())),
        contract_id: Some(p.contract_id.as_str().to_owned()),
        creation_timestamp: Some(p.creation_timestamp.to_string()),
        position_type: Some(i64::from(p.position_type.code())),
        size: Some(i64::from(p.size)),
        average_price: Some(p.average_price),
    })
}

pub fn order(o: &px::Order) -> Result<OrderUpdate, PayloadError> {
    normalize::order(&WireOrder {
        id: Some(o.id.get()),
        account_id: Some(i64::from(o.account_id.get())),
        contract_id: Some(o.contract_id.as_str().to_owned()),
        symbol_id: o.symbol_id.as_ref().map(|s| s.as_str().to_owned()),
        creation_timestamp: Some(o.creation_timestamp.to_string()),
        update_timestamp: Some(o.update_timestamp.to_string()),
        status: Some(i64::from(o.status.code())),
        order_type: Some(i64::from(o.order_type.code())),
        side: Some(i64::from(o.side.code())),
        size: Some(i64::from(o.size)),
        limit_price: o.limit_price,
        stop_price: o.stop_price,
        trail_price: o.trail_price,
        fill_volume: o.fill_volume.map(i64::from),
        filled_price: o.filled_price,
        custom_tag: o.custom_tag.clone(),
    })
}

pub fn trade(t: &px::Trade) -> Result<Fill, PayloadError> {
    normalize::trade(&WireTrade {
        id: Some(t.id.get()),
        account_id: Some(i64::from(t.account_id.get())),
        contract_id: Some(t.contract_id.as_str().to_owned()),
        creation_timestamp: Some(t.creation_timestamp.to_string()),
        price: Some(t.price),
        profit_and_loss: t.profit_and_loss,
        fees: Some(t.fees),
        side: Some(i64::from(t.side.code())),
        size: Some(i64::from(t.size)),
        voided: Some(t.voided),
        order_id: Some(t.order_id.get()),
    })
}

pub fn account(a: &px::Account) -> Result<AccountUpdate, PayloadError> {
    normalize::account(&WireAccount {
        id: Some(i64::from(a.id.get())),
        name: Some(a.name.clone()),
        balance: a.balance,
        can_trade: Some(a.can_trade),
        is_visible: Some(a.is_visible),
        simulated: a.simulated,
    })
}

pub fn contract(c: &px::Contract) -> Result<ContractInfo, PayloadError> {
    normalize::contract(&WireContract {
        id: Some(c.id.as_str().to_owned()),
        name: Some(c.name.clone()),
        description: Some(c.description.clone()),
        tick_size: Some(c.tick_size),
        tick_value: Some(c.tick_value),
        active_contract: Some(c.active_contract),
        symbol_id: Some(c.symbol_id.as_str().to_owned()),
    })
}

pub fn side(side: model::event::Side) -> Option<px::Side> {
    match side {
        model::event::Side::Buy => Some(px::Side::Bid),
        model::event::Side::Sell => Some(px::Side::Ask),
        model::event::Side::Unknown(_) => None,
    }
}
