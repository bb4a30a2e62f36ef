//! JSON encoding helpers shared by the REST and hub layers: decimals written as JSON numbers (never through
//! f64), decimals read from numbers or strings exactly, gateway-style timestamps, and the
//! `{success, errorCode, errorMessage}` envelope.

use std::str::FromStr as _;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serializer};
use serde_json::value::RawValue;

/// Formats an instant the way the gateway does: `2025-04-21T19:45:52.105808+00:00`.
pub fn format_ts(ts: jiff::Timestamp) -> String {
    let text = format!("{ts:.6}");
    match text.strip_suffix('Z') {
        Some(body) => format!("{body}+00:00"),
        None => text,
    }
}

/// Parses any RFC 3339 instant (`Z` or an offset, any sub-second precision), or a date-time without an
/// offset taken as UTC (the real API accepts both).
pub fn parse_ts(text: &str) -> Option<jiff::Timestamp> {
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Some(ts);
    }
    text.parse::<jiff::civil::DateTime>().ok()?;
    format!("{text}Z").parse::<jiff::Timestamp>().ok()
}

/// Parses the text of a JSON number or string as an exact decimal.
pub fn parse_decimal(raw: &str) -> Option<Decimal> {
    let text = raw.trim().trim_matches('"');
    Decimal::from_str(text)
        .ok()
        .or_else(|| Decimal::from_scientific(text).ok())
}

/// Serde helpers that write a [`Decimal`] as a JSON number token and read one from a number or a string.
pub mod num {
    use super::*;

    /// The JSON number token of a decimal: its exact digits, without trailing zeros.
    pub fn token(value: &Decimal) -> Decimal {
        value.normalize()
    }

    /// Writes the decimal's exact digits as a JSON number.
    pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        let raw =
            RawValue::from_string(token(value).to_string()).map_err(serde::ser::Error::custom)?;
        serde::Serialize::serialize(&raw, serializer)
    }

    /// Reads a JSON number or numeric string without an f64 round trip.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        parse_decimal(raw.get())
            .ok_or_else(|| serde::de::Error::custom("expected a decimal number"))
    }

    /// The same for `Option<Decimal>` (`null` ↔ `None`).
    pub mod option {
        use super::*;

        /// Writes `null` or the number.
        pub fn serialize<S: Serializer>(
            value: &Option<Decimal>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(v) => super::serialize(v, serializer),
                None => serializer.serialize_none(),
            }
        }

        /// Reads `null`, a number or a numeric string.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Decimal>, D::Error> {
            let raw = Option::<Box<RawValue>>::deserialize(deserializer)?;
            match raw {
                None => Ok(None),
                Some(raw) if raw.get() == "null" => Ok(None),
                Some(raw) => parse_decimal(raw.get())
                    .map(Some)
                    .ok_or_else(|| serde::de::Error::custom("expected a decimal number")),
            }
        }
    }
}

/// Serde helper writing a `jiff::Timestamp` in the gateway's format.
pub mod ts {
    use super::*;

    /// Writes `2025-04-21T19:45:52.105808+00:00`.
    pub fn serialize<S: Serializer>(
        value: &jiff::Timestamp,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_ts(*value))
    }

    /// Optional timestamps in requests.
    pub mod option {
        use super::*;

        /// Reads `null`, absent or an ISO-8601 string.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<jiff::Timestamp>, D::Error> {
            let text = Option::<String>::deserialize(deserializer)?;
            match text {
                None => Ok(None),
                Some(text) => parse_ts(&text)
                    .map(Some)
                    .ok_or_else(|| serde::de::Error::custom("expected an ISO-8601 timestamp")),
            }
        }
    }
}

/// Builds the standard envelope, merging `body`'s fields into it.
pub fn envelope(
    error_code: i32,
    error_message: Option<&str>,
    body: serde_json::Value,
) -> serde_json::Value {
    let mut object = match body {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    object.insert("success".into(), serde_json::Value::Bool(error_code == 0));
    object.insert("errorCode".into(), serde_json::Value::from(error_code));
    object.insert(
        "errorMessage".into(),
        error_message.map_or(serde_json::Value::Null, |m| {
            serde_json::Value::String(m.to_owned())
        }),
    );
    serde_json::Value::Object(object)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize)]
    struct P {
        #[serde(with = "num")]
        p: Decimal,
        #[serde(with = "num::option", default)]
        q: Option<Decimal>,
    }

    #[test]
    fn decimals_round_trip_as_numbers() {
        let p: P = serde_json::from_str(r#"{"p": 5138.250000000, "q": "0.1"}"#).unwrap();
        assert_eq!(p.p, Decimal::new(513825, 2));
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"p":5138.25,"q":0.1}"#
        );
        let p: P = serde_json::from_str(r#"{"p": 1e2}"#).unwrap();
        assert_eq!(p.p, Decimal::new(100, 0));
        assert!(p.q.is_none());
    }

    #[test]
    fn timestamps_look_like_the_gateway() {
        let ts: jiff::Timestamp = "2025-04-21T19:45:52.105808Z".parse().unwrap();
        assert_eq!(format_ts(ts), "2025-04-21T19:45:52.105808+00:00");
        assert_eq!(parse_ts("2025-04-21T19:45:52.105808+00:00"), Some(ts));
        assert!(parse_ts("2025-04-21T00:00:00").is_some());
        assert!(parse_ts("yesterday").is_none());
    }
}
