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
        "decision" | "outcome" => Item::Skip,
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
