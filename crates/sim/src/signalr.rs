//! The SignalR JSON hub protocol, as text: the handshake, records ended by the 0x1E record separator
//! (several per WebSocket message), and the message types the simulator speaks — 1 Invocation,
//! 3 Completion, 6 Ping, 7 Close. Parsing never fails hard: a record that cannot be understood becomes
//! [`Incoming::Malformed`], carrying the invocation id when one can be recovered so the hub can answer it.

use serde_json::Value;

/// The record separator.
pub const RS: char = '\u{1e}';

/// The server's successful handshake answer.
pub const HANDSHAKE_OK: &str = "{}\u{1e}";

/// A ping record.
pub const PING: &str = "{\"type\":6}\u{1e}";

/// Splits complete records off the front of `buffer`, leaving an unterminated tail in it.
pub fn take_records(buffer: &mut String) -> Vec<String> {
    let Some(end) = buffer.rfind(RS) else {
        return Vec::new();
    };
    let tail = buffer.split_off(end + RS.len_utf8());
    let complete = std::mem::replace(buffer, tail);
    complete
        .split(RS)
        .filter(|r| !r.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// Checks a handshake request: `{"protocol":"json","version":1}`.
pub fn check_handshake(record: &str) -> Result<(), String> {
    let value: Value =
        serde_json::from_str(record).map_err(|_| "handshake was not valid JSON".to_owned())?;
    let protocol = value.get("protocol").and_then(Value::as_str);
    let version = value.get("version").and_then(Value::as_u64);
    match (protocol, version) {
        (Some("json"), Some(1)) => Ok(()),
        (Some(p), _) if p != "json" => Err(format!("The protocol '{p}' is not supported.")),
        (Some(_), Some(v)) => Err(format!(
            "The server does not support version {v} of the 'json' protocol."
        )),
        _ => Err("handshake request is missing protocol or version".to_owned()),
    }
}

/// A handshake failure answer.
pub fn handshake_error(message: &str) -> String {
    let mut text = serde_json::json!({ "error": message }).to_string();
    text.push(RS);
    text
}

/// One understood client record.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// Type 1 (or 4, stream invocation, answered the same way).
    Invocation {
        /// Present when the client waits for a completion.
        invocation_id: Option<String>,
        /// Hub method name.
        target: String,
        /// Arguments.
        arguments: Vec<Value>,
    },
    /// Type 6.
    Ping,
    /// Type 7.
    Close,
    /// Types the hub ignores (completions, stream items, cancels, acks).
    Ignored,
    /// Could not be understood.
    Malformed {
        /// The invocation id, when it could be recovered.
        invocation_id: Option<String>,
        /// What was wrong.
        error: String,
    },
}

/// Parses one record (without its separator).
pub fn parse_record(record: &str) -> Incoming {
    let value: Value = match serde_json::from_str(record) {
        Ok(v) => v,
        Err(e) => {
            return Incoming::Malformed {
                invocation_id: salvage_invocation_id(record),
                error: format!("invalid JSON: {e}"),
            };
        }
    };
    let invocation_id = value
        .get("invocationId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let Some(kind) = value.get("type").and_then(Value::as_u64) else {
        return Incoming::Malformed {
            invocation_id,
            error: "message type is missing or not an integer".into(),
        };
    };
    match kind {
        1 | 4 => {
            let Some(target) = value.get("target").and_then(Value::as_str) else {
                return Incoming::Malformed {
                    invocation_id,
                    error: "invocation has no target".into(),
                };
            };
            let arguments = match value.get("arguments") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a.clone(),
                Some(_) => {
                    return Incoming::Malformed {
                        invocation_id,
                        error: "invocation arguments are not an array".into(),
                    };
                }
            };
            Incoming::Invocation {
                invocation_id,
                target: target.to_owned(),
                arguments,
            }
        }
        6 => Incoming::Ping,
        7 => Incoming::Close,
        2 | 3 | 5 | 8 | 9 => Incoming::Ignored,
        other => Incoming::Malformed {
            invocation_id,
            error: format!("unknown message type {other}"),
        },
    }
}

/// Finds `"invocationId":"…"` in text that is not valid JSON.
fn salvage_invocation_id(record: &str) -> Option<String> {
    let at = record.find("\"invocationId\"")?;
    let rest = record[at + "\"invocationId\"".len()..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"')?;
    let id = &rest[..end];
    (!id.is_empty() && !id.contains('\\')).then(|| id.to_owned())
}

/// A void completion.
pub fn completion_ok(invocation_id: &str) -> String {
    let mut text =
        serde_json::json!({ "type": 3, "invocationId": invocation_id, "result": null }).to_string();
    text.push(RS);
    text
}

/// A completion with an error.
pub fn completion_error(invocation_id: &str, error: &str) -> String {
    let mut text =
        serde_json::json!({ "type": 3, "invocationId": invocation_id, "error": error }).to_string();
    text.push(RS);
    text
}

/// An invocation record with pre-serialised JSON arguments (`args` is the inside of the array).
pub fn invocation(target: &str, args: &str) -> String {
    format!("{{\"type\":1,\"target\":\"{target}\",\"arguments\":[{args}]}}{RS}")
}

/// A close record.
pub fn close(error: Option<&str>, allow_reconnect: bool) -> String {
    let mut value = serde_json::json!({ "type": 7, "allowReconnect": allow_reconnect });
    if let (Some(error), Some(map)) = (error, value.as_object_mut()) {
        map.insert("error".into(), Value::String(error.to_owned()));
    }
    let mut text = value.to_string();
    text.push(RS);
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn records_split_and_keep_the_tail() {
        let mut buf = "{\"type\":6}\u{1e}{\"type\":7}\u{1e}{\"ty".to_owned();
        let records = take_records(&mut buf);
        assert_eq!(records, ["{\"type\":6}", "{\"type\":7}"]);
        assert_eq!(buf, "{\"ty");
        assert_eq!(parse_record(&records[0]), Incoming::Ping);
        assert_eq!(parse_record(&records[1]), Incoming::Close);
    }

    #[test]
    fn handshake_checks_protocol_and_version() {
        assert!(check_handshake(r#"{"protocol":"json","version":1}"#).is_ok());
        assert!(check_handshake(r#"{"protocol":"messagepack","version":1}"#).is_err());
        assert!(check_handshake("nope").is_err());
    }

    #[test]
    fn invocations_and_malformed_records() {
        let inv = parse_record(
            r#"{"type":1,"invocationId":"3","target":"SubscribeOrders","arguments":[7001]}"#,
        );
        assert_eq!(
            inv,
            Incoming::Invocation {
                invocation_id: Some("3".into()),
                target: "SubscribeOrders".into(),
                arguments: vec![7001.into()]
            }
        );
        let bad = parse_record(r#"{"type":1,"invocationId":"9","target":"X","arguments":[1,"#);
        assert!(matches!(bad, Incoming::Malformed { invocation_id: Some(id), .. } if id == "9"));
        let bad = parse_record(r#"{"type":1,"invocationId":"4"}"#);
        assert!(matches!(bad, Incoming::Malformed { invocation_id: Some(id), .. } if id == "4"));
    }

    #[test]
    fn encoders() {
        let ok = completion_ok("1");
        let parsed: Value = serde_json::from_str(ok.trim_end_matches(RS)).unwrap_or_default();
        assert!(ok.ends_with(RS));
        assert_eq!(
            parsed,
            serde_json::json!({"type": 3, "invocationId": "1", "result": null})
        );
        assert!(completion_error("1", "boom").contains("\"error\":\"boom\""));
        assert_eq!(
            invocation("GatewayQuote", "\"A\",{}"),
            "{\"type\":1,\"target\":\"GatewayQuote\",\"arguments\":[\"A\",{}]}\u{1e}"
        );
    }
}
