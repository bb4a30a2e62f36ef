//! The gateway's payloads as they arrive on the wire, parsed defensively.
//!
//! Every field is optional and unknown fields are ignored: the live gateway has been seen to send ids as JSON
//! floats, nulls where numbers belong and enum values nobody documented (GATEWAY.md §7.4, §12). These types
//! only hold what was sent; [`crate::normalize`] decides whether it is usable.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

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

/// Deserialises a price or an amount from the JSON number's own text, so that no `f64` rounds it on the way
/// (nor is formatted and parsed again); a numeric string is accepted too, and null is `None`. Trailing zeros
/// are dropped (`6065.250` is `6065.25`). Reads borrowed JSON text (`serde_json::from_str` or `from_slice`),
/// which is how every payload is read.
pub fn exact_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let Some(raw) = Option::<&'de RawValue>::deserialize(d)? else {
        return Ok(None);
    };
    let text = raw.get();
    let owned;
    let text = if text.starts_with('"') {
        owned = serde_json::from_str::<String>(text).map_err(serde::de::Error::custom)?;
        owned.trim()
    } else {
        text
    };
    let parsed = if text.contains(['e', 'E']) {
        Decimal::from_scientific(text)
    } else {
        text.parse::<Decimal>()
    };
    parsed.map(|d| Some(d.normalize())).map_err(|e| {
        serde::de::Error::custom(format!("expected a decimal number, got {text}: {e}"))
    })
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
    #[serde(deserialize_with = "exact_decimal")]
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
    #[serde(deserialize_with = "exact_decimal")]
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
    #[serde(deserialize_with = "exact_decimal")]
    pub limit_price: Option<Decimal>,
    #[serde(deserialize_with = "exact_decimal")]
    pub stop_price: Option<Decimal>,
    #[serde(deserialize_with = "exact_decimal")]
    pub trail_price: Option<Decimal>,
    #[serde(deserialize_with = "flex_i64")]
    pub fill_volume: Option<i64>,
    #[serde(deserialize_with = "exact_decimal")]
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
    #[serde(deserialize_with = "exact_decimal")]
    pub price: Option<Decimal>,
    #[serde(deserialize_with = "exact_decimal")]
    pub profit_and_loss: Option<Decimal>,
    #[serde(deserialize_with = "exact_decimal")]
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
/// Only what the engine uses is read (the rest is skipped unparsed): inputs are stamped on arrival, so the
/// gateway's `timestamp` is not needed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WireQuote {
    pub symbol: Option<String>,
    #[serde(deserialize_with = "exact_decimal")]
    pub last_price: Option<Decimal>,
    #[serde(deserialize_with = "exact_decimal")]
    pub best_bid: Option<Decimal>,
    #[serde(deserialize_with = "exact_decimal")]
    pub best_ask: Option<Decimal>,
}

/// A contract as `Contract/searchById` returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WireContract {
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(deserialize_with = "exact_decimal")]
    pub tick_size: Option<Decimal>,
    #[serde(deserialize_with = "exact_decimal")]
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

    fn last(json: &str) -> Result<Option<String>, String> {
        serde_json::from_str::<WireQuote>(json)
            .map(|q| q.last_price.map(|d| d.to_string()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn prices_are_read_from_the_number_text_not_through_a_float() {
        // 20 significant digits: an f64 keeps about 16, so this would come back rounded.
        assert_eq!(
            last(r#"{"lastPrice": 21000.123456789012345678}"#),
            Ok(Some("21000.123456789012345678".into()))
        );
        assert_eq!(last(r#"{"lastPrice": 0.1}"#), Ok(Some("0.1".into())));
        assert_eq!(last(r#"{"lastPrice": 2.1E4}"#), Ok(Some("21000".into())));
        assert_eq!(last(r#"{"lastPrice": -5}"#), Ok(Some("-5".into())));
        assert_eq!(
            last(r#"{"lastPrice": " 6065.50 "}"#),
            Ok(Some("6065.5".into()))
        );
        assert_eq!(last(r#"{"lastPrice": null}"#), Ok(None));
        assert_eq!(last(r#"{"bestBid": 1}"#), Ok(None));
        let bad = last(r#"{"lastPrice": "abc"}"#).err().unwrap_or_default();
        assert!(bad.contains("expected a decimal number, got abc"), "{bad}");
        assert!(last(r#"{"lastPrice": true}"#).is_err());
        assert!(last(r#"{"lastPrice": 1e400}"#).is_err());
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
