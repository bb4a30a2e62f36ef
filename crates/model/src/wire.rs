//! The gateway's payloads as they arrive on the wire, parsed defensively.
//!
//! Every field is optional and unknown fields are ignored: the live gateway has been seen to send ids as JSON
//! floats, nulls where numbers belong and enum values nobody documented (GATEWAY.md §7.4, §12). These types
//! only hold what was sent; [`crate::normalize`] decides whether it is usable.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};

/// Deserialises an integer that may arrive as an int, an integral float or a numeric string; null is `None`.
pub fn flex_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flex<'a> {
        I(i64),
        U(u64),
        F(f64),
        S(&'a str),
        Owned(String),
    }
    let parsed = Option::<Flex>::deserialize(d)?;
    let value = match parsed {
        None => return Ok(None),
        Some(Flex::I(i)) => Some(i),
        Some(Flex::U(u)) => i64::try_from(u).ok(),
        Some(Flex::F(f)) => float_to_i64(f),
        Some(Flex::S(s)) => s.trim().parse().ok(),
        Some(Flex::Owned(s)) => s.trim().parse().ok(),
    };
    value
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom("expected an integer"))
}

#[allow(clippy::float_arithmetic)]
fn float_to_i64(f: f64) -> Option<i64> {
    // Ids seen as JSON floats (`12345.0`) are integral; anything else is garbage, not an id.
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        // The range check above makes the cast exact.
        #[allow(clippy::cast_possible_truncation)]
        Some(f as i64)
    } else {
        None
    }
}

/// `GatewayUserAccount`, and one row of `Account/search`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WireAccount {
    #[serde(deserialize_with = "flex_i64")]
    pub id: Option<i64>,
    pub name: Option<String>,
    pub balance: Option<Decimal>,
    pub can_trade: Option<bool>,
    pub is_visible: Option<bool>,
    pub simulated: Option<bool>,
}

/// `GatewayUserPosition`, and one row of `Position/searchOpen`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WirePosition {
    #[serde(deserialize_with = "flex_i64")]
    pub id: Option<i64>,
    #[serde(deserialize_with = "flex_i64")]
    pub account_id: Option<i64>,
    pub contract_id: Option<String>,
    pub creation_timestamp: Option<String>,
    #[serde(rename = "type", deserialize_with = "flex_i64")]
    pub position_type: Option<i64>,
    #[serde(deserialize_with = "flex_i64")]
    pub size: Option<i64>,
    pub average_price: Option<Decimal>,
}

/// `GatewayUserOrder`, and one row of `Order/search(Open)`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WireOrder {
    #[serde(deserialize_with = "flex_i64")]
    pub id: Option<i64>,
    #[serde(deserialize_with = "flex_i64")]
    pub account_id: Option<i64>,
    pub contract_id: Option<String>,
    pub symbol_id: Option<String>,
    pub creation_timestamp: Option<String>,
    pub update_timestamp: Option<String>,
    #[serde(deserialize_with = "flex_i64")]
    pub status: Option<i64>,
    #[serde(rename = "type", deserialize_with = "flex_i64")]
    pub order_type: Option<i64>,
    #[serde(deserialize_with = "flex_i64")]
    pub side: Option<i64>,
    #[serde(deserialize_with = "flex_i64")]
    pub size: Option<i64>,
    pub limit_price: Option<Decimal>,
    pub stop_price: Option<Decimal>,
    pub trail_price: Option<Decimal>,
    #[serde(deserialize_with = "flex_i64")]
    pub fill_volume: Option<i64>,
    pub filled_price: Option<Decimal>,
    pub custom_tag: Option<String>,
}

/// `GatewayUserTrade`, and one row of `Trade/search`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WireTrade {
    #[serde(deserialize_with = "flex_i64")]
    pub id: Option<i64>,
    #[serde(deserialize_with = "flex_i64")]
    pub account_id: Option<i64>,
    pub contract_id: Option<String>,
    pub creation_timestamp: Option<String>,
    pub price: Option<Decimal>,
    pub profit_and_loss: Option<Decimal>,
    pub fees: Option<Decimal>,
    #[serde(deserialize_with = "flex_i64")]
    pub side: Option<i64>,
    #[serde(deserialize_with = "flex_i64")]
    pub size: Option<i64>,
    pub voided: Option<bool>,
    #[serde(deserialize_with = "flex_i64")]
    pub order_id: Option<i64>,
}

/// `GatewayQuote` data (the second argument on the market hub). Sparse: a missing field means "unchanged".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WireQuote {
    pub symbol: Option<String>,
    pub last_price: Option<Decimal>,
    pub best_bid: Option<Decimal>,
    pub best_ask: Option<Decimal>,
    pub timestamp: Option<String>,
}

/// A contract as `Contract/searchById` returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WireContract {
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub tick_size: Option<Decimal>,
    pub tick_value: Option<Decimal>,
    pub active_contract: Option<bool>,
    pub symbol_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_as_floats_and_strings_are_accepted() {
        let t: WireTrade = serde_json::from_str(
            r#"{"id": 12.0, "accountId": "7", "orderId": 99, "profitAndLoss": null}"#,
        )
        .unwrap_or_default();
        assert_eq!(t.id, Some(12));
        assert_eq!(t.account_id, Some(7));
        assert_eq!(t.order_id, Some(99));
        assert_eq!(t.profit_and_loss, None);
    }

    #[test]
    fn fractional_id_is_an_error_not_a_truncation() {
        let r: Result<WireTrade, _> = serde_json::from_str(r#"{"id": 12.5}"#);
        assert!(r.is_err());
    }

    #[test]
    fn prices_are_exact_decimals() {
        let q: WireQuote =
            serde_json::from_str(r#"{"lastPrice": 6065.250000000}"#).unwrap_or_default();
        assert_eq!(
            q.last_price.map(|d| d.to_string()),
            Some("6065.25".to_string())
        );
    }
}
