//! The border: wire payloads in, clean [`Event`]s out, or a [`PayloadError`] that names what was wrong.
//!
//! Nothing here panics on input. Unknown enum values survive as `Unknown(code)`; missing fields that the
//! engine cannot do without are errors, counted and reported by the caller.

use rust_decimal::Decimal;
use thiserror::Error;

use crate::event::{
    AccountUpdate, ContractInfo, Fill, OrderStatus, OrderType, OrderUpdate, PositionUpdate, Quote,
    Side,
};
use crate::ids::{AccountId, ContractId, OrderId, TradeId};
use crate::wire::{WireAccount, WireContract, WireOrder, WirePosition, WireQuote, WireTrade};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PayloadError {
    #[error("{payload}: missing or null field `{field}`")]
    Missing {
        payload: &'static str,
        field: &'static str,
    },
    #[error("{payload}: invalid `{field}`: {reason}")]
    Invalid {
        payload: &'static str,
        field: &'static str,
        reason: String,
    },
}

fn need<T>(v: Option<T>, payload: &'static str, field: &'static str) -> Result<T, PayloadError> {
    v.ok_or(PayloadError::Missing { payload, field })
}

pub fn account(w: &WireAccount) -> Result<AccountUpdate, PayloadError> {
    const P: &str = "GatewayUserAccount";
    Ok(AccountUpdate {
        account: AccountId(need(w.id, P, "id")?),
        can_trade: w.can_trade,
        name: w.name.clone(),
    })
}

pub fn position(w: &WirePosition) -> Result<PositionUpdate, PayloadError> {
    const P: &str = "GatewayUserPosition";
    let account = AccountId(need(w.account_id, P, "accountId")?);
    let contract = ContractId::new(need(w.contract_id.as_deref(), P, "contractId")?);
    let size = need(w.size, P, "size")?;
    if size < 0 {
        return Err(PayloadError::Invalid {
            payload: P,
            field: "size",
            reason: format!("{size} is negative"),
        });
    }
    let signed = if size == 0 {
        0
    } else {
        match need(w.position_type, P, "type")? {
            1 => size,
            2 => -size,
            other => {
                return Err(PayloadError::Invalid {
                    payload: P,
                    field: "type",
                    reason: format!("{other} is neither Long (1) nor Short (2)"),
                });
            }
        }
    };
    let average_price = if signed == 0 {
        w.average_price.unwrap_or_default()
    } else {
        need(w.average_price, P, "averagePrice")?
    };
    Ok(PositionUpdate {
        account,
        contract,
        size: signed,
        average_price,
    })
}

pub fn order(w: &WireOrder) -> Result<OrderUpdate, PayloadError> {
    const P: &str = "GatewayUserOrder";
    let size = need(w.size, P, "size")?;
    if size < 0 {
        return Err(PayloadError::Invalid {
            payload: P,
            field: "size",
            reason: format!("{size} is negative"),
        });
    }
    Ok(OrderUpdate {
        account: AccountId(need(w.account_id, P, "accountId")?),
        order: OrderId(need(w.id, P, "id")?),
        contract: ContractId::new(need(w.contract_id.as_deref(), P, "contractId")?),
        status: OrderStatus::from_wire(need(w.status, P, "status")?),
        order_type: OrderType::from_wire(need(w.order_type, P, "type")?),
        side: Side::from_wire(need(w.side, P, "side")?),
        size,
        limit_price: w.limit_price,
        stop_price: w.stop_price,
        custom_tag: w.custom_tag.clone(),
    })
}

pub fn trade(w: &WireTrade) -> Result<Fill, PayloadError> {
    const P: &str = "GatewayUserTrade";
    Ok(Fill {
        account: AccountId(need(w.account_id, P, "accountId")?),
        trade: TradeId(need(w.id, P, "id")?),
        order: OrderId(need(w.order_id, P, "orderId")?),
        contract: ContractId::new(need(w.contract_id.as_deref(), P, "contractId")?),
        price: w.price.unwrap_or_default(),
        pnl: w.profit_and_loss,
        fees: w.fees.unwrap_or(Decimal::ZERO),
        side: Side::from_wire(w.side.unwrap_or(-1)),
        size: w.size.unwrap_or(0),
        voided: w.voided.unwrap_or(false),
    })
}

/// A quote keyed by the contract id it was subscribed under. Non-positive prices are dropped field by field
/// (a zero is never a price).
pub fn quote(contract: &str, w: &WireQuote) -> Quote {
    let positive = |d: Option<Decimal>| d.filter(|p| p.is_sign_positive() && !p.is_zero());
    Quote {
        contract: ContractId::new(contract),
        last: positive(w.last_price),
        bid: positive(w.best_bid),
        ask: positive(w.best_ask),
    }
}

pub fn contract(w: &WireContract) -> Result<ContractInfo, PayloadError> {
    const P: &str = "Contract";
    let tick_size = need(w.tick_size, P, "tickSize")?;
    if tick_size <= Decimal::ZERO {
        return Err(PayloadError::Invalid {
            payload: P,
            field: "tickSize",
            reason: "must be positive".into(),
        });
    }
    Ok(ContractInfo {
        id: ContractId::new(need(w.id.as_deref(), P, "id")?),
        name: need(w.name.clone(), P, "name")?,
        tick_size,
        tick_value: need(w.tick_value, P, "tickValue")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire_order(json: &str) -> WireOrder {
        serde_json::from_str(json).unwrap_or_default()
    }

    #[test]
    fn short_position_is_negative() {
        let w: WirePosition = serde_json::from_str(
            r#"{"accountId":1,"contractId":"CON.F.US.MNQ.Z25","type":2,"size":3,"averagePrice":21000.25}"#,
        )
        .unwrap_or_default();
        let p = position(&w).ok();
        assert_eq!(p.map(|p| p.size), Some(-3));
    }

    #[test]
    fn missing_fields_are_named() {
        let w: WirePosition =
            serde_json::from_str(r#"{"accountId":1,"type":1,"size":1}"#).unwrap_or_default();
        assert_eq!(
            position(&w),
            Err(PayloadError::Missing {
                payload: "GatewayUserPosition",
                field: "contractId"
            })
        );
    }

    #[test]
    fn unknown_order_type_is_never_a_stop() {
        let o = order(&wire_order(
            r#"{"id":5,"accountId":1,"contractId":"C","status":1,"type":42,"side":1,"size":1,"stopPrice":100}"#,
        ));
        let o = o.ok();
        assert_eq!(o.as_ref().map(|o| o.order_type), Some(OrderType::Other(42)));
        assert_eq!(o.map(|o| o.order_type.is_stop()), Some(false));
    }

    #[test]
    fn null_size_is_an_error_not_zero() {
        let o = order(&wire_order(
            r#"{"id":5,"accountId":1,"contractId":"C","status":1,"type":4,"side":1,"size":null}"#,
        ));
        assert_eq!(
            o,
            Err(PayloadError::Missing {
                payload: "GatewayUserOrder",
                field: "size"
            })
        );
    }

    #[test]
    fn non_positive_quote_prices_are_ignored() {
        let w: WireQuote =
            serde_json::from_str(r#"{"lastPrice":0,"bestBid":-1,"bestAsk":5}"#).unwrap_or_default();
        let q = quote("C", &w);
        assert_eq!((q.last, q.bid), (None, None));
        assert_eq!(q.ask, Some(Decimal::from(5)));
    }
}
