//! Hub payloads, in every shape the live gateway has been seen to send (GATEWAY.md §12.1/12.2), into
//! `model::wire` types and then through `model::normalize` into clean events.
//!
//! The input is the exact JSON text projectx-client keeps for each invocation (`SignalRInvocation::payload`),
//! so numbers reach `model::wire` without a detour through `serde_json::Value`. Nothing here panics on input:
//! every failure is a [`Bad`] that the session turns into `Feed::Malformed`.

use model::event::{Event, Quote};
use model::ids::ContractId;
use model::normalize;
use model::wire::{WireAccount, WireOrder, WirePosition, WireQuote, WireTrade};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// What an invocation target means, matched case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    User(UserKind),
    Quote,
    /// `GatewayTrade` / `GatewayDepth`: market tape and depth, not used by the daemon.
    MarketOther,
    /// `GatewayLogout`: the same login was used elsewhere; the connection is lost.
    Logout,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserKind {
    Account,
    Order,
    Position,
    Trade,
}

impl UserKind {
    pub fn name(self) -> &'static str {
        match self {
            UserKind::Account => "GatewayUserAccount",
            UserKind::Order => "GatewayUserOrder",
            UserKind::Position => "GatewayUserPosition",
            UserKind::Trade => "GatewayUserTrade",
        }
    }
}

/// What a hub invocation's target names, compared without regard to ASCII case (and without copying it: this
/// runs for every quote).
pub fn classify(target: &str) -> Target {
    const TARGETS: [(&str, Target); 8] = [
        ("GatewayQuote", Target::Quote),
        ("GatewayUserAccount", Target::User(UserKind::Account)),
        ("GatewayUserOrder", Target::User(UserKind::Order)),
        ("GatewayUserPosition", Target::User(UserKind::Position)),
        ("GatewayUserTrade", Target::User(UserKind::Trade)),
        ("GatewayTrade", Target::MarketOther),
        ("GatewayDepth", Target::MarketOther),
        ("GatewayLogout", Target::Logout),
    ];
    TARGETS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(target))
        .map_or(Target::Unknown, |(_, t)| *t)
}

/// A payload that could not be used: which payload, and why (no payload text, so no data leaks into logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bad {
    pub what: String,
    pub error: String,
}

fn bad(what: &str, error: impl Into<String>) -> Bad {
    Bad {
        what: what.to_owned(),
        error: error.into(),
    }
}

const MAX_DEPTH: u8 = 4;

#[derive(Deserialize)]
struct DataEnvelope<'a> {
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

fn first_byte(raw: &RawValue) -> Option<u8> {
    raw.get().trim_start().bytes().next()
}

fn is_container(raw: &RawValue) -> bool {
    matches!(first_byte(raw), Some(b'{' | b'['))
}

fn is_scalar_id(raw: &RawValue) -> bool {
    matches!(first_byte(raw), Some(b'"' | b'-' | b'0'..=b'9'))
}

/// The entities of a user-hub payload: a bare object, a list of objects (nulls skipped), `[id, object]`, or
/// `{action, data}` (recursively, a few levels deep).
pub fn user_entities(raw: &RawValue) -> Result<Vec<&RawValue>, String> {
    let mut out = Vec::new();
    collect(raw, 0, &mut out)?;
    Ok(out)
}

fn collect<'a>(raw: &'a RawValue, depth: u8, out: &mut Vec<&'a RawValue>) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("payload nested too deeply".into());
    }
    match first_byte(raw) {
        Some(b'{') => {
            let envelope: DataEnvelope<'a> =
                serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
            match envelope.data {
                Some(data) if is_container(data) => collect(data, depth + 1, out),
                _ => {
                    out.push(raw);
                    Ok(())
                }
            }
        }
        Some(b'[') => {
            let items: Vec<&'a RawValue> =
                serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
            if let [id, entity] = items.as_slice()
                && is_scalar_id(id)
                && first_byte(entity) == Some(b'{')
            {
                return collect(entity, depth + 1, out);
            }
            for item in items {
                if item.get().trim() != "null" {
                    collect(item, depth + 1, out)?;
                }
            }
            Ok(())
        }
        Some(_) => Err("expected an object or a list of objects".into()),
        None => Err("empty payload".into()),
    }
}

fn parse<T: DeserializeOwned>(raw: &RawValue) -> Result<T, String> {
    serde_json::from_str(raw.get()).map_err(|e| e.to_string())
}

/// One user-hub entity through `model::wire` and `model::normalize`.
pub fn user_event(kind: UserKind, raw: &RawValue) -> Result<Event, Bad> {
    let what = kind.name();
    let wrap = |e: String| bad(what, e);
    match kind {
        UserKind::Account => {
            let w: WireAccount = parse(raw).map_err(wrap)?;
            normalize::account(&w).map(Event::Account)
        }
        UserKind::Order => {
            let w: WireOrder = parse(raw).map_err(wrap)?;
            normalize::order(&w).map(Event::Order)
        }
        UserKind::Position => {
            let w: WirePosition = parse(raw).map_err(wrap)?;
            normalize::position(&w).map(Event::Position)
        }
        UserKind::Trade => {
            let w: WireTrade = parse(raw).map_err(wrap)?;
            normalize::trade(&w).map(Event::Trade)
        }
    }
    .map_err(|e| bad(what, e.to_string()))
}

/// Every event of one user-hub invocation; a shape that cannot be unwrapped is one [`Bad`].
pub fn user_events(kind: UserKind, payload: &RawValue) -> Vec<Result<Event, Bad>> {
    match user_entities(payload) {
        Ok(entities) => entities
            .into_iter()
            .map(|raw| user_event(kind, raw))
            .collect(),
        Err(e) => vec![Err(bad(kind.name(), e))],
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyedQuote<'a> {
    #[serde(default)]
    contract_id: Option<String>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// A `GatewayQuote`. `arg_contract` is the invocation's first argument when the hub sent
/// `(contractId, data)`; otherwise the contract comes from a `[contractId, data]` payload, a `contractId`
/// field, or, failing those, from `symbol_lookup` (the quote's `symbol` is a symbol id such as `F.US.EP`, which
/// only identifies a contract when exactly one subscribed contract has it). `Ok(None)`: a quote with no usable
/// price (quotes are sparse; nothing changed).
pub fn quote(
    arg_contract: Option<&str>,
    payload: &RawValue,
    symbol_lookup: impl Fn(&str) -> Option<ContractId>,
) -> Result<Option<Quote>, Bad> {
    const WHAT: &str = "GatewayQuote";
    let (contract, data) = match arg_contract {
        Some(c) => (
            Some(c.to_owned()),
            unwrap_data(payload).map_err(|e| bad(WHAT, e))?,
        ),
        None => match first_byte(payload) {
            Some(b'[') => {
                let items: Vec<&RawValue> =
                    serde_json::from_str(payload.get()).map_err(|e| bad(WHAT, e.to_string()))?;
                match items.as_slice() {
                    [id, data] if first_byte(id) == Some(b'"') => {
                        let id: String = parse(id).map_err(|e| bad(WHAT, e))?;
                        (Some(id), unwrap_data(data).map_err(|e| bad(WHAT, e))?)
                    }
                    [single] => (None, unwrap_data(single).map_err(|e| bad(WHAT, e))?),
                    _ => return Err(bad(WHAT, "expected [contractId, data]")),
                }
            }
            Some(b'{') => {
                let keyed: KeyedQuote<'_> =
                    serde_json::from_str(payload.get()).map_err(|e| bad(WHAT, e.to_string()))?;
                let data = match keyed.data {
                    Some(d) if first_byte(d) == Some(b'{') => d,
                    _ => payload,
                };
                (keyed.contract_id, data)
            }
            _ => return Err(bad(WHAT, "expected an object")),
        },
    };
    let wire: WireQuote = parse(data).map_err(|e| bad(WHAT, e))?;
    let contract = match contract {
        Some(c) if !c.trim().is_empty() => ContractId::new(c.trim()),
        _ => wire
            .symbol
            .as_deref()
            .and_then(&symbol_lookup)
            .ok_or_else(|| {
                bad(
                    WHAT,
                    "no contract id (argument 1) and no unambiguous symbol",
                )
            })?,
    };
    let q = normalize::quote(contract.as_str(), &wire);
    if q.last.is_none() && q.bid.is_none() && q.ask.is_none() {
        return Ok(None);
    }
    Ok(Some(q))
}

fn unwrap_data(raw: &RawValue) -> Result<&RawValue, String> {
    if first_byte(raw) != Some(b'{') {
        return Err("expected an object".into());
    }
    // Nearly every payload is the bare object, and only one whose text holds `"data"` can be an envelope: a
    // byte search spares the quote path a second JSON parse (a key spelt with escapes is not recognised).
    if !raw.get().contains(r#""data""#) {
        return Ok(raw);
    }
    let envelope: DataEnvelope<'_> = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
    Ok(match envelope.data {
        Some(d) if first_byte(d) == Some(b'{') => d,
        _ => raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::event::{OrderStatus, Side};
    use rust_decimal_macros::dec;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap_or_else(|_| panic!("bad test json {json}"))
    }

    const ORDER: &str = r#"{"id":11,"accountId":7001,"contractId":"CON.F.US.EP.Z25","status":8,"type":4,"side":1,"size":1,"stopPrice":4990.25,"customTag":"t"}"#;

    fn order_ids(events: Vec<Result<Event, Bad>>) -> Vec<i64> {
        events
            .into_iter()
            .map(|e| match e {
                Ok(Event::Order(o)) => o.order.0,
                other => panic!("not an order: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn every_user_shape_gives_the_same_order() {
        let shapes = [
            ORDER.to_owned(),
            format!("[{ORDER}]"),
            format!("[{ORDER}, null]"),
            format!("[11, {ORDER}]"),
            format!("[\"11\", {ORDER}]"),
            format!(r#"{{"action":1,"data":{ORDER}}}"#),
            format!(r#"{{"action":1,"data":[{ORDER}]}}"#),
        ];
        for shape in shapes {
            let events = user_events(UserKind::Order, &raw(&shape));
            assert_eq!(order_ids(events), vec![11], "{shape}");
        }
        let two = format!("[{ORDER}, {}]", ORDER.replace("\"id\":11", "\"id\":12.0"));
        assert_eq!(
            order_ids(user_events(UserKind::Order, &raw(&two))),
            vec![11, 12]
        );
    }

    #[test]
    fn order_fields_survive_normalisation() {
        let events = user_events(UserKind::Order, &raw(ORDER));
        let Some(Ok(Event::Order(o))) = events.into_iter().next() else {
            panic!("no order");
        };
        assert_eq!(o.status, OrderStatus::Suspended);
        assert_eq!(o.side, Side::Sell);
        assert_eq!(o.stop_price, Some(dec!(4990.25)));
        assert_eq!(o.custom_tag.as_deref(), Some("t"));
    }

    #[test]
    fn broken_payloads_are_bad_not_panics() {
        for shape in [
            "42",
            "\"x\"",
            r#"{"id":1}"#,
            r#"[{"id":1.5,"accountId":1}]"#,
            "[[[[[[[1]]]]]]]",
        ] {
            let events = user_events(UserKind::Order, &raw(shape));
            assert!(
                events.iter().all(Result::is_err) && !events.is_empty(),
                "{shape}: {events:?}"
            );
        }
        let unknown = user_events(
            UserKind::Order,
            &raw(
                r#"{"id":5,"accountId":1,"contractId":"C","status":99,"type":42,"side":7,"size":1}"#,
            ),
        );
        let Some(Ok(Event::Order(o))) = unknown.into_iter().next() else {
            panic!("unknown enum values must survive");
        };
        assert_eq!(o.status, OrderStatus::Unknown(99));
        assert_eq!(o.side, Side::Unknown(7));
    }

    #[test]
    fn positions_trades_accounts() {
        let p = user_events(
            UserKind::Position,
            &raw(
                r#"{"id":1,"accountId":7001,"contractId":"C","type":2,"size":3,"averagePrice":100.5}"#,
            ),
        );
        assert!(matches!(p.as_slice(), [Ok(Event::Position(p))] if p.size == -3));
        let t = user_events(
            UserKind::Trade,
            &raw(
                r#"[{"id":9,"accountId":7001,"contractId":"C","orderId":3,"price":1.25,"profitAndLoss":null,"fees":1.4,"side":0,"size":1,"voided":false}]"#,
            ),
        );
        assert!(
            matches!(t.as_slice(), [Ok(Event::Trade(f))] if f.pnl.is_none() && f.fees == dec!(1.4))
        );
        let a = user_events(
            UserKind::Account,
            &raw(r#"{"action":0,"data":{"id":7001,"canTrade":false}}"#),
        );
        assert!(matches!(a.as_slice(), [Ok(Event::Account(a))] if a.can_trade == Some(false)));
    }

    #[test]
    fn targets_match_case_insensitively() {
        assert_eq!(classify("gatewayuserorder"), Target::User(UserKind::Order));
        assert_eq!(classify("GATEWAYQUOTE"), Target::Quote);
        assert_eq!(classify("gatewaylogout"), Target::Logout);
        assert_eq!(classify("GatewayDepth"), Target::MarketOther);
        assert_eq!(classify("Something"), Target::Unknown);
    }

    const ES: &str = "CON.F.US.EP.Z25";

    fn no_lookup(_: &str) -> Option<ContractId> {
        None
    }

    #[test]
    fn quote_shapes() {
        let data = r#"{"symbol":"F.US.EP","lastPrice":5000.25,"bestBid":5000,"bestAsk":5000.5}"#;
        let expected = Quote {
            contract: ContractId::new(ES),
            last: Some(dec!(5000.25)),
            bid: Some(dec!(5000)),
            ask: Some(dec!(5000.5)),
        };
        let cases: Vec<(Option<&str>, String)> = vec![
            (Some(ES), data.to_owned()),
            (Some(ES), format!(r#"{{"data":{data}}}"#)),
            (None, format!(r#"["{ES}", {data}]"#)),
            (
                None,
                data.replace('{', &format!(r#"{{"contractId":"{ES}","#)),
            ),
            (None, format!(r#"{{"contractId":"{ES}","data":{data}}}"#)),
        ];
        for (arg, payload) in cases {
            let q = quote(arg, &raw(&payload), no_lookup);
            assert_eq!(q, Ok(Some(expected.clone())), "{payload}");
        }
        // A single object without a contract id: only an unambiguous symbol identifies the contract.
        assert!(quote(None, &raw(data), no_lookup).is_err());
        let by_symbol = quote(None, &raw(data), |s| {
            (s == "F.US.EP").then(|| ContractId::new(ES))
        });
        assert_eq!(by_symbol, Ok(Some(expected)));
    }

    #[test]
    fn sparse_and_zero_quotes() {
        let q = quote(Some(ES), &raw(r#"{"bestBid":1.5}"#), no_lookup);
        assert!(matches!(q, Ok(Some(ref q)) if q.last.is_none() && q.bid == Some(dec!(1.5))));
        assert_eq!(
            quote(Some(ES), &raw(r#"{"lastPrice":0}"#), no_lookup),
            Ok(None)
        );
        assert!(quote(Some(ES), &raw("17"), no_lookup).is_err());
    }
}
