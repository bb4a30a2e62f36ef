//! The REPLAY.md line format: `{"t", "kind", "data", "contractId"?}` per line, parsed into engine events.
//!
//! Parsing is strict about the line (a missing `t`, an unknown `kind`, bad JSON are errors that name the
//! problem) and defensive about payloads (see `model::normalize`).

use jiff::Timestamp;
use model::event::{AdminCommand, Event};
use model::normalize;
use model::wire::{WireAccount, WireContract, WireOrder, WirePosition, WireQuote, WireTrade};
use serde::Deserialize;
use serde_json::value::RawValue;

/// One meaningful input line.
#[derive(Debug)]
pub struct Parsed {
    pub t: Timestamp,
    pub item: Item,
}

#[derive(Debug)]
pub enum Item {
    Event(Event),
    /// Only moves time forward.
    Clock,
    /// The daemon restarted here: snapshot and restore.
    Restart,
    /// `decision` and `outcome` lines written by the journal export.
    Skip,
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    t: Option<&'a str>,
    #[serde(borrow)]
    kind: Option<&'a str>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    #[serde(rename = "contractId", borrow)]
    contract_id: Option<std::borrow::Cow<'a, str>>,
}

/// Parse one physical line. `Ok(None)` for blank and `#` comment lines.
pub fn parse_line(text: &str) -> Result<Option<Parsed>, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let line: Line<'_> = serde_json::from_str(trimmed).map_err(|e| format!("invalid JSON: {e}"))?;
    let t_text = line.t.ok_or("missing field `t`")?;
    let t: Timestamp = t_text
        .parse()
        .map_err(|e| format!("invalid `t` {t_text:?}: {e}"))?;
    let kind = line.kind.ok_or("missing field `kind`")?;
    let data = || {
        line.data
            .map(RawValue::get)
            .ok_or_else(|| format!("missing field `data` for kind `{kind}`"))
    };
    let item = match kind {
        "clock" => Item::Clock,
        "restart" => Item::Restart,
        // `note`: an admin action outside the engine (dry-run switched, config reloaded), kept for the audit.
        "decision" | "outcome" | "note" => Item::Skip,
        "account" => Item::Event(Event::Account(
            normalize::account(&payload::<WireAccount>(data()?)?).map_err(s)?,
        )),
        "position" => Item::Event(Event::Position(
            normalize::position(&payload::<WirePosition>(data()?)?).map_err(s)?,
        )),
        "order" => Item::Event(Event::Order(
            normalize::order(&payload::<WireOrder>(data()?)?).map_err(s)?,
        )),
        "trade" => Item::Event(Event::Trade(
            normalize::trade(&payload::<WireTrade>(data()?)?).map_err(s)?,
        )),
        "contract" => Item::Event(Event::Contract(
            normalize::contract(&payload::<WireContract>(data()?)?).map_err(s)?,
        )),
        "quote" => {
            let contract = line
                .contract_id
                .as_deref()
                .ok_or("missing field `contractId` for kind `quote`")?;
            Item::Event(Event::Quote(normalize::quote(
                contract,
                &payload::<WireQuote>(data()?)?,
            )))
        }
        "admin" => Item::Event(Event::Admin(payload::<AdminCommand>(data()?)?)),
        other => return Err(format!("unknown kind `{other}`")),
    };
    Ok(Some(Parsed { t, item }))
}

fn s(e: impl ToString) -> String {
    e.to_string()
}

fn payload<'a, T: Deserialize<'a>>(data: &'a str) -> Result<T, String> {
    serde_json::from_str(data).map_err(|e| format!("invalid data: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(line: &str) -> String {
        parse_line(line).err().unwrap_or_default()
    }

    #[test]
    fn comments_and_blanks_are_skipped() {
        assert!(matches!(parse_line("   "), Ok(None)));
        assert!(matches!(parse_line("# a comment"), Ok(None)));
    }

    #[test]
    fn bad_lines_name_the_problem() {
        assert!(err("{").starts_with("invalid JSON:"));
        assert_eq!(err(r#"{"kind":"clock"}"#), "missing field `t`");
        assert_eq!(
            err(r#"{"t":"2026-03-02T15:00:00Z","kind":"bogus"}"#),
            "unknown kind `bogus`"
        );
        assert_eq!(
            err(r#"{"t":"2026-03-02T15:00:00Z","kind":"quote","data":{"lastPrice":1}}"#),
            "missing field `contractId` for kind `quote`"
        );
        assert_eq!(
            err(
                r#"{"t":"2026-03-02T15:00:00Z","kind":"position","data":{"accountId":1,"size":1,"type":1}}"#
            ),
            "GatewayUserPosition: missing or null field `contractId`"
        );
        assert!(err(r#"{"t":"yesterday","kind":"clock"}"#).starts_with("invalid `t`"));
    }

    #[test]
    fn admin_lines_parse() {
        let p = parse_line(
            r#"{"t":"2026-03-02T15:00:00Z","kind":"admin","data":{"action":"clear_lock","account":7,"rule":"daily_realized_loss","reason":"ok"}}"#,
        );
        assert!(matches!(
            p,
            Ok(Some(Parsed {
                item: Item::Event(Event::Admin(AdminCommand::ClearLock { .. })),
                ..
            }))
        ));
    }
}

/// One input event as a REPLAY.md line, in the gateway's field names, so the daemon's journal replays as it
/// is. The inverse of [`parse_line`] for events.
pub fn event_line(t: jiff::Timestamp, event: &Event) -> String {
    match event {
        // The daemon journals thousands of quotes a second: they skip the JSON tree (same bytes, see the test).
        Event::Quote(q) => quote_line(t, q),
        _ => value_line(t, event),
    }
}

/// A decimal as the journal writes it: its shortest text, read as a JSON number (an integer stays an integer).
fn json_number(d: &rust_decimal::Decimal) -> Option<serde_json::Number> {
    serde_json::from_str(&d.normalize().to_string()).ok()
}

/// [`event_line`] for a quote, written directly: the bytes [`value_line`] gives, without building its tree.
fn quote_line(t: jiff::Timestamp, q: &model::event::Quote) -> String {
    let mut out = String::with_capacity(160);
    // serde_json's default map sorts keys: contractId, data (bestAsk, bestBid, lastPrice), kind, t.
    out.push_str(r#"{"contractId":"#);
    push_json_str(&mut out, q.contract.as_str());
    for (i, (key, value)) in [
        ("bestAsk", &q.ask),
        ("bestBid", &q.bid),
        ("lastPrice", &q.last),
    ]
    .into_iter()
    .enumerate()
    {
        out.push_str(if i == 0 { r#","data":{""# } else { r#",""# });
        out.push_str(key);
        out.push_str(r#"":"#);
        match value {
            Some(d) => push_number(&mut out, d),
            None => out.push_str("null"),
        }
    }
    out.push_str(r#"},"kind":"quote","t":"#);
    push_json_str(&mut out, &t.to_string());
    out.push('}');
    out
}

/// A decimal as [`json_number`] writes it, without its round trip through an `f64` when the decimal's own text
/// is what that gives: an integer, or a fraction of at least 0.00001 (ryu writes smaller ones with an exponent),
/// with at most 15 significant digits (an `f64` keeps them, so its shortest text has the same digits).
fn push_number(out: &mut String, d: &rust_decimal::Decimal) {
    use std::fmt::Write as _;
    let n = d.normalize();
    let plain = !n.is_zero()
        && n.mantissa().unsigned_abs() < 1_000_000_000_000_000
        && (n.scale() == 0 || n.abs() >= rust_decimal::Decimal::new(1, 5));
    if plain {
        let _ = write!(out, "{n}");
    } else {
        match json_number(d) {
            Some(n) => {
                let _ = write!(out, "{n}");
            }
            None => out.push_str("null"),
        }
    }
}

fn push_json_str(out: &mut String, s: &str) {
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("null"), // a `&str` always serializes
    }
}

/// [`event_line`] through a `serde_json::Value` tree: every kind (the quote arm is the reference for
/// [`quote_line`]).
fn value_line(t: jiff::Timestamp, event: &Event) -> String {
    use serde_json::{Value, json};
    let dec =
        |d: &rust_decimal::Decimal| -> Value { json_number(d).map_or(Value::Null, Value::Number) };
    let opt = |d: &Option<rust_decimal::Decimal>| d.as_ref().map_or(Value::Null, dec);
    let (kind, data, contract_id): (&str, Value, Option<&str>) = match event {
        Event::Account(a) => (
            "account",
            json!({"id": a.account.0, "name": a.name, "canTrade": a.can_trade}),
            None,
        ),
        Event::Position(p) => (
            "position",
            json!({
                "accountId": p.account.0,
                "contractId": p.contract.as_str(),
                "type": if p.size > 0 { 1 } else if p.size < 0 { 2 } else { 0 },
                "size": p.size.abs(),
                "averagePrice": dec(&p.average_price),
            }),
            None,
        ),
        Event::Order(o) => (
            "order",
            json!({
                "id": o.order.0,
                "accountId": o.account.0,
                "contractId": o.contract.as_str(),
                "status": o.status.wire(),
                "type": o.order_type.wire(),
                "side": o.side.wire(),
                "size": o.size,
                "limitPrice": opt(&o.limit_price),
                "stopPrice": opt(&o.stop_price),
                "customTag": o.custom_tag,
            }),
            None,
        ),
        Event::Trade(f) => (
            "trade",
            json!({
                "id": f.trade.0,
                "accountId": f.account.0,
                "contractId": f.contract.as_str(),
                "price": dec(&f.price),
                "profitAndLoss": opt(&f.pnl),
                "fees": dec(&f.fees),
                "side": f.side.wire(),
                "size": f.size,
                "voided": f.voided,
                "orderId": f.order.0,
            }),
            None,
        ),
        Event::Quote(q) => (
            "quote",
            json!({"lastPrice": opt(&q.last), "bestBid": opt(&q.bid), "bestAsk": opt(&q.ask)}),
            Some(q.contract.as_str()),
        ),
        Event::Contract(c) => (
            "contract",
            json!({"id": c.id.as_str(), "name": c.name, "tickSize": dec(&c.tick_size), "tickValue": dec(&c.tick_value)}),
            None,
        ),
        Event::Admin(a) => (
            "admin",
            serde_json::to_value(a).unwrap_or(Value::Null),
            None,
        ),
        Event::Outcome(o) => (
            "outcome",
            serde_json::to_value(o).unwrap_or(Value::Null),
            None,
        ),
    };
    let mut line = json!({"t": t.to_string(), "kind": kind, "data": data});
    if let (Some(c), Some(obj)) = (contract_id, line.as_object_mut()) {
        obj.insert("contractId".into(), Value::from(c));
    }
    line.to_string()
}

/// An outcome line as the journal writes it; `parse_outcome` reads it back (replay skips these lines).
pub fn parse_outcome(text: &str) -> Option<(Timestamp, model::event::Outcome)> {
    #[derive(Deserialize)]
    struct OutcomeLine {
        t: Timestamp,
        kind: String,
        data: model::event::Outcome,
    }
    let line: OutcomeLine = serde_json::from_str(text).ok()?;
    (line.kind == "outcome").then_some((line.t, line.data))
}

#[cfg(test)]
mod round_trip {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn events_written_by_the_journal_parse_back_identically() {
        let lines = [
            r#"{"t":"2026-03-02T15:00:00Z","kind":"position","data":{"accountId":1,"contractId":"CON.F.US.EP.H26","type":2,"size":3,"averagePrice":5800.25}}"#,
            r#"{"t":"2026-03-02T15:00:00Z","kind":"order","data":{"id":9,"accountId":1,"contractId":"C","status":8,"type":42,"side":1,"size":2,"stopPrice":20950.5,"customTag":"riskguard:1:3"}}"#,
            r#"{"t":"2026-03-02T15:00:00Z","kind":"trade","data":{"id":4,"accountId":1,"contractId":"C","price":21000,"profitAndLoss":-12.5,"fees":1.4,"side":0,"size":1,"voided":true,"orderId":9}}"#,
            r#"{"t":"2026-03-02T15:00:00Z","kind":"quote","contractId":"C","data":{"lastPrice":21000.25}}"#,
            r#"{"t":"2026-03-02T15:00:00Z","kind":"account","data":{"id":1,"name":"A","canTrade":false}}"#,
            r#"{"t":"2026-03-02T15:00:00Z","kind":"contract","data":{"id":"C","name":"MNQH6","tickSize":0.25,"tickValue":0.5}}"#,
            r#"{"t":"2026-03-02T15:00:00Z","kind":"admin","data":{"action":"flatten","account":1,"reason":"end of day"}}"#,
        ];
        for text in lines {
            let Ok(Some(Parsed {
                t,
                item: Item::Event(e),
            })) = parse_line(text)
            else {
                panic!("does not parse: {text}");
            };
            let written = event_line(t, &e);
            let Ok(Some(Parsed {
                t: t2,
                item: Item::Event(e2),
            })) = parse_line(&written)
            else {
                panic!("written line does not parse: {written}");
            };
            assert_eq!((t, e), (t2, e2), "{written}");
        }
    }

    #[test]
    fn a_quote_line_is_byte_for_byte_the_general_writers() {
        use model::event::Quote;
        use model::ids::ContractId;
        use rust_decimal::Decimal;
        let prices = [
            None,
            Some("0"),
            Some("21000"),
            Some("21000.25"),
            Some("6065.250000000"),
            Some("-12.5"),
            Some("0.0000001"),
            Some("1.2345678901234567890"),
            Some("79228162514264337593543950335"),
            Some("0.1"),
            Some("98765.4321"),
            // Around push_number's shortcut: 15 and 16 significant digits, and the smallest plain fraction.
            Some("123456789012345"),
            Some("1234567890123456"),
            Some("-999999999999999"),
            Some("12345678901234.5"),
            Some("1234567890123.45"),
            Some("0.123456789012345"),
            Some("0.1234567890123456"),
            // 16 digits that an f64 cannot keep: it is written as 9.000000000000002.
            Some("9.000000000000001"),
            Some("0.00001"),
            Some("-0.00001"),
            Some("0.000012345"),
            Some("0.000009"),
            Some("-0.5"),
            Some("-0"),
        ];
        let t: Timestamp = "2026-03-02T15:00:00.123456789Z".parse().unwrap();
        let dec = |p: Option<&str>| p.map(|s| s.parse::<Decimal>().unwrap());
        for (i, last) in prices.iter().enumerate() {
            let q = Quote {
                contract: ContractId::new("CON.F.US.\"EP\".H26"),
                last: dec(*last),
                bid: dec(prices[(i + 3) % prices.len()]),
                ask: dec(prices[(i + 7) % prices.len()]),
            };
            let e = Event::Quote(q);
            assert_eq!(event_line(t, &e), value_line(t, &e));
        }
    }
}
