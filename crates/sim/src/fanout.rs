//! The registry of open hub connections, their subscriptions, and the fan-out of matching events to them.
//!
//! Each connection has an unbounded queue of ready-to-send SignalR records (its socket task drains and
//! batches it) and a kill switch used by the `drop_connections` fault. An event is serialised once, and
//! only when at least one connection wants it; user-hub events go only to connections of the user that owns
//! the account.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::Serialize;
use tokio::sync::{Notify, mpsc};

use crate::matching::{Event, Market};
use crate::signalr;
use crate::wire::{format_ts, num};

/// Which hub a connection is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HubKind {
    /// `/hubs/user`.
    User,
    /// `/hubs/market`.
    Market,
}

/// What a connection subscribed to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscriptions {
    /// `SubscribeAccounts`.
    pub accounts: bool,
    /// `SubscribeOrders(accountId)`.
    pub orders: BTreeSet<i64>,
    /// `SubscribePositions(accountId)`.
    pub positions: BTreeSet<i64>,
    /// `SubscribeTrades(accountId)`.
    pub trades: BTreeSet<i64>,
    /// `SubscribeContractQuotes(contractId)`.
    pub quotes: BTreeSet<String>,
    /// `SubscribeContractTrades(contractId)`.
    pub market_trades: BTreeSet<String>,
    /// `SubscribeContractMarketDepth(contractId)`.
    pub depth: BTreeSet<String>,
}

/// One open connection.
#[derive(Debug)]
pub struct Conn {
    /// Hub.
    pub hub: HubKind,
    /// Logged-in user.
    pub user: String,
    /// Accounts the user owns.
    pub owned: BTreeSet<i64>,
    /// Subscriptions.
    pub subs: Subscriptions,
    tx: mpsc::UnboundedSender<Arc<str>>,
    kill: Arc<Notify>,
}

/// A connection as `/sim/state` lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnView {
    /// Connection number.
    pub id: u64,
    /// Hub.
    pub hub: HubKind,
    /// User.
    pub user: String,
    /// Subscriptions.
    pub subscriptions: Subscriptions,
}

/// All open connections.
#[derive(Debug, Default)]
pub struct Registry {
    conns: BTreeMap<u64, Conn>,
    next_id: u64,
}

/// What a new connection gets back from [`Registry::register`].
#[derive(Debug)]
pub struct Registration {
    /// Connection number.
    pub id: u64,
    /// Records to send.
    pub rx: mpsc::UnboundedReceiver<Arc<str>>,
    /// Fires when the connection must be dropped.
    pub kill: Arc<Notify>,
}

impl Registry {
    /// Adds a connection.
    pub fn register(&mut self, hub: HubKind, user: String, owned: BTreeSet<i64>) -> Registration {
        self.next_id += 1;
        let id = self.next_id;
        let (tx, rx) = mpsc::unbounded_channel();
        let kill = Arc::new(Notify::new());
        self.conns.insert(
            id,
            Conn {
                hub,
                user,
                owned,
                subs: Subscriptions::default(),
                tx,
                kill: kill.clone(),
            },
        );
        Registration { id, rx, kill }
    }

    /// Removes a connection.
    pub fn unregister(&mut self, id: u64) {
        self.conns.remove(&id);
    }

    /// A connection, to change its subscriptions.
    pub fn get_mut(&mut self, id: u64) -> Option<&mut Conn> {
        self.conns.get_mut(&id)
    }

    /// Drops every connection abruptly (no close message).
    pub fn kill_all(&mut self) -> usize {
        let count = self.conns.len();
        for conn in std::mem::take(&mut self.conns).into_values() {
            conn.kill.notify_one();
        }
        count
    }

    /// The open connections for `/sim/state`.
    pub fn views(&self) -> Vec<ConnView> {
        self.conns
            .iter()
            .map(|(id, c)| ConnView {
                id: *id,
                hub: c.hub,
                user: c.user.clone(),
                subscriptions: c.subs.clone(),
            })
            .collect()
    }

    /// Sends each event to the connections subscribed to it, in order.
    pub fn dispatch(&self, events: &[Event]) {
        for event in events {
            self.dispatch_one(event);
        }
    }

    fn dispatch_one(&self, event: &Event) {
        let wants = |c: &Conn| -> bool {
            match event {
                Event::Account(a) => {
                    c.hub == HubKind::User && c.subs.accounts && c.owned.contains(&a.id)
                }
                Event::Order(o) => {
                    c.hub == HubKind::User
                        && c.subs.orders.contains(&o.account_id)
                        && c.owned.contains(&o.account_id)
                }
                Event::Trade(t) => {
                    c.hub == HubKind::User
                        && c.subs.trades.contains(&t.account_id)
                        && c.owned.contains(&t.account_id)
                }
                Event::Position(p) => {
                    c.hub == HubKind::User
                        && c.subs.positions.contains(&p.account_id)
                        && c.owned.contains(&p.account_id)
                }
                Event::Quote { contract_id, .. } => {
                    c.hub == HubKind::Market && c.subs.quotes.contains(contract_id)
                }
                Event::MarketTrade { contract_id, .. } => {
                    c.hub == HubKind::Market && c.subs.market_trades.contains(contract_id)
                }
                Event::Depth { contract_id, .. } => {
                    c.hub == HubKind::Market && c.subs.depth.contains(contract_id)
                }
            }
        };
        let mut record: Option<Arc<str>> = None;
        for conn in self.conns.values().filter(|c| wants(c)) {
            let text = match &record {
                Some(r) => r.clone(),
                None => match encode(event) {
                    Some(r) => record.insert(Arc::from(r)).clone(),
                    None => return,
                },
            };
            let _ = conn.tx.send(text);
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TapeData<'a> {
    symbol_id: &'a str,
    #[serde(with = "num")]
    price: rust_decimal::Decimal,
    timestamp: String,
    #[serde(rename = "type")]
    trade_type: i32,
    volume: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DepthData {
    timestamp: String,
    #[serde(rename = "type")]
    dom_type: i32,
    #[serde(with = "num")]
    price: rust_decimal::Decimal,
    volume: i64,
    current_volume: i64,
}

/// The SignalR record for an event.
pub fn encode(event: &Event) -> Option<String> {
    let one = |target: &str, data: serde_json::Result<String>| {
        data.ok().map(|d| signalr::invocation(target, &d))
    };
    let two = |target: &str, contract: &str, data: serde_json::Result<String>| {
        let contract = serde_json::to_string(contract).ok()?;
        data.ok()
            .map(|d| signalr::invocation(target, &format!("{contract},{d}")))
    };
    match event {
        Event::Account(a) => one("GatewayUserAccount", serde_json::to_string(a)),
        Event::Order(o) => one("GatewayUserOrder", serde_json::to_string(o)),
        Event::Trade(t) => one("GatewayUserTrade", serde_json::to_string(t)),
        Event::Position(p) => one("GatewayUserPosition", serde_json::to_string(p)),
        Event::Quote {
            contract_id,
            symbol_id,
            symbol_name,
            market,
            at,
        } => Some(quote_record(
            contract_id,
            symbol_id,
            symbol_name,
            market,
            *at,
        )),
        Event::MarketTrade {
            contract_id,
            symbol_id,
            price,
            side,
            volume,
            at,
        } => {
            let data = TapeData {
                symbol_id,
                price: *price,
                timestamp: format_ts(*at),
                trade_type: *side,
                volume: *volume,
            };
            two("GatewayTrade", contract_id, serde_json::to_string(&data))
        }
        Event::Depth {
            contract_id,
            dom_type,
            price,
            at,
        } => {
            let data = DepthData {
                timestamp: format_ts(*at),
                dom_type: *dom_type,
                price: *price,
                volume: 1,
                current_volume: 1,
            };
            two("GatewayDepth", contract_id, serde_json::to_string(&data))
        }
    }
}

/// A quote's `change` (last − open) and `changePercent` (rounded to 4 places; none when open is zero).
/// Checked arithmetic: a price near `Decimal::MAX` leaves the field out instead of panicking the publisher.
fn quote_changes(market: &Market) -> (Option<Decimal>, Option<Decimal>) {
    let change = market
        .last
        .zip(market.open)
        .and_then(|(l, o)| l.checked_sub(o));
    let change_percent = change
        .zip(market.open)
        .filter(|(_, o)| !o.is_zero())
        .and_then(|(c, o)| c.checked_div(o)?.checked_mul(Decimal::ONE_HUNDRED))
        .map(|p| p.round_dp(4));
    (change, change_percent)
}

/// The `GatewayQuote` record, its arguments written directly rather than derived: a flood publishes thousands a second, and the
/// derived serde encoding (a `RawValue` made and validated for each number, the stamp formatted twice) was
/// over a third of the simulator's cost per quote. The bytes are the derived encoding's:
/// `tests::quote_record_is_the_derived_encoding` holds it to them.
fn quote_record(
    contract_id: &str,
    symbol_id: &str,
    symbol_name: &str,
    market: &Market,
    at: jiff::Timestamp,
) -> String {
    let (change, change_percent) = quote_changes(market);
    let stamp = format_ts(at);
    let mut args = String::with_capacity(300);
    push_json_str(&mut args, contract_id);
    args.push_str(",{\"symbol\":");
    push_json_str(&mut args, symbol_id);
    args.push_str(",\"symbolName\":");
    push_json_str(&mut args, symbol_name);
    let numbers = [
        ("lastPrice", market.last),
        ("bestBid", market.bid),
        ("bestAsk", market.ask),
        ("change", change),
        ("changePercent", change_percent),
        ("open", market.open),
        ("high", market.high),
        ("low", market.low),
    ];
    for (key, value) in numbers {
        if let Some(value) = value {
            // Writing to a String cannot fail.
            let _ = write!(args, ",\"{key}\":{}", num::token(&value));
        }
    }
    let _ = write!(
        args,
        ",\"volume\":{},\"lastUpdated\":\"{stamp}\",\"timestamp\":\"{stamp}\"}}",
        market.volume
    );
    signalr::invocation("GatewayQuote", &args)
}

/// `text` as a JSON string, escaped as serde_json escapes it.
fn push_json_str(out: &mut String, text: &str) {
    if text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        if let Ok(quoted) = serde_json::to_string(text) {
            out.push_str(&quoted);
        }
    } else {
        out.push('"');
        out.push_str(text);
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// The encoding `quote_record` replaced, kept as its oracle.
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct QuoteData<'a> {
        symbol: &'a str,
        symbol_name: &'a str,
        #[serde(with = "num::option", skip_serializing_if = "Option::is_none")]
        last_price: Option<rust_decimal::Decimal>,
        #[serde(with = "num::option", skip_serializing_if = "Option::is_none")]
        best_bid: Option<rust_decimal::Decimal>,
        #[serde(with = "num::option", skip_serializing_if = "Option::is_none")]
        best_ask: Option<rust_decimal::Decimal>,
        #[serde(with = "num::option", skip_serializing_if = "Option::is_none")]
        change: Option<rust_decimal::Decimal>,
        #[serde(with = "num::option", skip_serializing_if = "Option::is_none")]
        change_percent: Option<rust_decimal::Decimal>,
        #[serde(with = "num::option", skip_serializing_if = "Option::is_none")]
        open: Option<rust_decimal::Decimal>,
        #[serde(with = "num::option", skip_serializing_if = "Option::is_none")]
        high: Option<rust_decimal::Decimal>,
        #[serde(with = "num::option", skip_serializing_if = "Option::is_none")]
        low: Option<rust_decimal::Decimal>,
        volume: i64,
        last_updated: String,
        timestamp: String,
    }

    fn derived(
        contract_id: &str,
        symbol_id: &str,
        symbol_name: &str,
        market: &Market,
        at: jiff::Timestamp,
    ) -> String {
        let (change, change_percent) = quote_changes(market);
        let stamp = format_ts(at);
        let data = QuoteData {
            symbol: symbol_id,
            symbol_name,
            last_price: market.last,
            best_bid: market.bid,
            best_ask: market.ask,
            change,
            change_percent,
            open: market.open,
            high: market.high,
            low: market.low,
            volume: market.volume,
            last_updated: stamp.clone(),
            timestamp: stamp,
        };
        let contract = serde_json::to_string(contract_id).unwrap();
        let data = serde_json::to_string(&data).unwrap();
        signalr::invocation("GatewayQuote", &format!("{contract},{data}"))
    }

    #[test]
    fn quote_record_is_the_derived_encoding() {
        let d = |s: &str| Some(s.parse::<Decimal>().unwrap());
        let full = Market {
            last: d("5000.25"),
            bid: d("5000.00"),
            ask: d("5000.50"),
            open: d("4990"),
            high: d("5010.75"),
            low: d("4980.125"),
            volume: 1234,
        };
        let markets = [
            full.clone(),
            // Sparse: only a bid; no change without a last and an open.
            Market {
                bid: d("0.00001"),
                ..Market::default()
            },
            // A negative change, an open of zero (no percent), trailing zeros to normalise away.
            Market {
                last: d("-1.50"),
                open: d("0.0"),
                ..full.clone()
            },
            Market {
                last: d("79228162514264337593543950335"),
                open: d("3"),
                ..Market::default()
            },
        ];
        let at = jiff::Timestamp::from_microsecond(1_764_000_000_123_456).unwrap();
        let names = [
            ("CON.F.US.EP.Z25", "F.US.EP", "/ES"),
            ("C\"1", "F.US.\\X", "tab\there \u{1}é"),
        ];
        for market in &markets {
            for (contract, symbol, name) in names {
                let fast = quote_record(contract, symbol, name, market, at);
                assert_eq!(
                    fast,
                    derived(contract, symbol, name, market, at),
                    "{market:?}"
                );
                let record = fast.strip_suffix(signalr::RS).unwrap();
                let parsed: serde_json::Value = serde_json::from_str(record).unwrap();
                assert_eq!(parsed["arguments"][1]["symbolName"], name);
            }
        }
        // The full market writes every field, in the gateway's order.
        let full = quote_record("C", "S", "N", &full, at);
        assert!(
            full.contains(r#""lastPrice":5000.25,"bestBid":5000,"bestAsk":5000.5,"change":10.25,"changePercent":0.2054,"open":4990,"high":5010.75,"low":4980.125,"volume":1234,"lastUpdated":"2025-11-24T16:00:00.123456+00:00""#),
            "{full}"
        );
    }
}
