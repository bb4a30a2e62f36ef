//! Unit tests of the matching model: averaging, realized P&L, reversal, brackets (OCO), resting stops and
//! limits, event order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rust_decimal_macros::dec;

use super::*;

const MNQ: &str = "CON.F.US.MNQ.Z25";
const ES: &str = "CON.F.US.EP.Z25";
const ACC: i64 = 7001;

fn now() -> jiff::Timestamp {
    "2025-06-02T14:30:00Z".parse().unwrap()
}

fn book() -> Book {
    Book::new(&SimConfig::default())
}

fn req(side: i32, order_type: i32, size: i64) -> PlaceRequest {
    PlaceRequest {
        account_id: ACC,
        contract_id: ES.into(),
        order_type,
        side,
        size,
        limit_price: None,
        stop_price: None,
        trail_price: None,
        custom_tag: None,
        stop_loss: None,
        take_profit: None,
    }
}

fn market(b: &mut Book, side: i32, size: i64) -> Vec<Event> {
    b.place(req(side, order_type::MARKET, size), now())
        .unwrap()
        .1
}

fn trades(events: &[Event]) -> Vec<&Trade> {
    events
        .iter()
        .filter_map(|e| {
            if let Event::Trade(t) = e {
                Some(t)
            } else {
                None
            }
        })
        .collect()
}

fn position(b: &Book, contract: &str) -> Position {
    b.positions
        .get(&(ACC, contract.to_owned()))
        .unwrap()
        .clone()
}

#[test]
fn netted_average_reduce_and_reverse() {
    let (tick, value) = (dec!(0.25), dec!(12.50));
    let mut n = Netted::default();
    assert_eq!(n.apply(SIDE_BID, 1, dec!(5000), tick, value), None);
    assert_eq!(n.apply(SIDE_BID, 3, dec!(5004), tick, value), None);
    assert_eq!((n.net, n.avg), (4, dec!(5003)));
    // reduce 1 at 5005: (5005-5003)/0.25*12.5 = 100
    assert_eq!(
        n.apply(SIDE_ASK, 1, dec!(5005), tick, value),
        Some(dec!(100))
    );
    assert_eq!((n.net, n.avg), (3, dec!(5003)));
    // reverse: sell 5 at 5002 closes 3 (loss 3*4*12.5=-150), leaves short 2 at 5002
    assert_eq!(
        n.apply(SIDE_ASK, 5, dec!(5002), tick, value),
        Some(dec!(-150))
    );
    assert_eq!((n.net, n.avg), (-2, dec!(5002)));
    // covering a short at a lower price is a gain
    assert_eq!(
        n.apply(SIDE_BID, 2, dec!(5000), tick, value),
        Some(dec!(200))
    );
    assert_eq!(n.net, 0);
}

#[test]
fn market_order_without_price_is_refused() {
    let mut b = book();
    assert_eq!(
        b.place(req(SIDE_BID, order_type::MARKET, 1), now()),
        Err(Reject::NoPrice)
    );
    assert!(b.orders.is_empty());
}

#[test]
fn market_orders_fill_at_the_touch_and_emit_order_trade_position() {
    let mut b = book();
    b.set_price(
        ES,
        dec!(5000),
        Some(dec!(4999.75)),
        Some(dec!(5000.25)),
        now(),
    )
    .unwrap();
    let events = market(&mut b, SIDE_BID, 2);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            Event::Order(_) => "order",
            Event::Trade(_) => "trade",
            Event::Position(_) => "position",
            Event::Account(_) => "account",
            _ => "market",
        })
        .collect();
    assert_eq!(kinds, ["order", "trade", "position", "account", "market"]);
    let t = trades(&events)[0];
    assert_eq!(
        (t.price, t.size, t.profit_and_loss, t.fees),
        (dec!(5000.25), 2, None, dec!(2.8))
    );
    let p = position(&b, ES);
    assert_eq!(
        (p.size, p.position_type, p.average_price),
        (2, position_type::LONG, dec!(5000.25))
    );

    let events = market(&mut b, SIDE_ASK, 2);
    let t = trades(&events)[0];
    // sold at the bid 4999.75: -0.5 points = -2 ticks * 12.5 * 2 = -50
    assert_eq!(
        (t.price, t.profit_and_loss),
        (dec!(4999.75), Some(dec!(-50)))
    );
    assert_eq!(position(&b, ES).size, 0);
    assert_eq!(b.accounts[&ACC].balance, dec!(50000) - dec!(50) - dec!(5.6));
}

#[test]
fn last_price_is_used_when_no_bid_or_ask_given() {
    let mut b = book();
    b.set_price(MNQ, dec!(21000.5), None, None, now()).unwrap();
    let mut r = req(SIDE_ASK, order_type::MARKET, 1);
    r.contract_id = MNQ.into();
    let (_, events) = b.place(r, now()).unwrap();
    assert_eq!(trades(&events)[0].price, dec!(21000.5));
    assert_eq!(position(&b, MNQ).position_type, position_type::SHORT);
}

#[test]
fn resting_limit_and_stop_trigger_on_price_moves() {
    let mut b = book();
    b.set_price(ES, dec!(5000), None, None, now()).unwrap();
    let mut limit = req(SIDE_BID, order_type::LIMIT, 1);
    limit.limit_price = Some(dec!(4990));
    let (limit_id, events) = b.place(limit, now()).unwrap();
    assert!(trades(&events).is_empty());
    assert_eq!(b.orders[&limit_id].status, status::OPEN);
    let mut stop = req(SIDE_ASK, order_type::STOP, 1);
    stop.stop_price = Some(dec!(4980));
    let (stop_id, _) = b.place(stop, now()).unwrap();

    let events = b.set_price(ES, dec!(4995), None, None, now()).unwrap();
    assert!(trades(&events).is_empty());
    let events = b.set_price(ES, dec!(4989), None, None, now()).unwrap();
    let t = trades(&events);
    assert_eq!(
        (t.len(), t[0].order_id, t[0].price),
        (1, limit_id, dec!(4990))
    );
    assert_eq!(b.orders[&limit_id].status, status::FILLED);
    assert_eq!(b.orders[&stop_id].status, status::OPEN);
    let events = b.set_price(ES, dec!(4979.5), None, None, now()).unwrap();
    let t = trades(&events);
    assert_eq!((t[0].order_id, t[0].price), (stop_id, dec!(4979.5)));
    // (4979.5-4990)/0.25*12.5 = -525
    assert_eq!(t[0].profit_and_loss, Some(dec!(-525)));
    assert_eq!(position(&b, ES).size, 0);
}

#[test]
fn marketable_limit_fills_at_once_and_off_tick_prices_are_refused() {
    let mut b = book();
    b.set_price(ES, dec!(5000), None, None, now()).unwrap();
    let mut limit = req(SIDE_BID, order_type::LIMIT, 1);
    limit.limit_price = Some(dec!(5010));
    let (_, events) = b.place(limit.clone(), now()).unwrap();
    assert_eq!(trades(&events)[0].price, dec!(5000));
    limit.limit_price = Some(dec!(5000.1));
    assert!(matches!(b.place(limit, now()), Err(Reject::Invalid(_))));
}

#[test]
fn brackets_wait_suspended_then_one_cancels_the_other() {
    let mut b = book();
    b.set_price(ES, dec!(5000), None, None, now()).unwrap();
    let mut r = req(SIDE_BID, order_type::LIMIT, 2);
    r.limit_price = Some(dec!(4995));
    r.stop_loss = Some(BracketSpec {
        ticks: -8,
        order_type: order_type::STOP,
    });
    r.take_profit = Some(BracketSpec {
        ticks: 16,
        order_type: order_type::LIMIT,
    });
    let (entry, _) = b.place(r, now()).unwrap();
    let legs = b.orders[&entry].legs.clone();
    assert_eq!(legs.len(), 2);
    assert!(legs.iter().all(|l| b.orders[l].status == status::SUSPENDED));

    b.set_price(ES, dec!(4995), None, None, now()).unwrap();
    assert_eq!(b.orders[&entry].status, status::FILLED);
    let (sl, tp) = (b.orders[&legs[0]].clone(), b.orders[&legs[1]].clone());
    assert_eq!(
        (sl.status, sl.stop_price, sl.side, sl.size),
        (status::OPEN, Some(dec!(4993)), SIDE_ASK, 2)
    );
    assert_eq!(
        (tp.status, tp.limit_price),
        (status::OPEN, Some(dec!(4999)))
    );

    let events = b.set_price(ES, dec!(4999.5), None, None, now()).unwrap();
    let t = trades(&events);
    assert_eq!(
        (t[0].order_id, t[0].price, t[0].profit_and_loss),
        (tp.id, dec!(4999), Some(dec!(400)))
    );
    assert_eq!(b.orders[&tp.id].status, status::FILLED);
    assert_eq!(b.orders[&sl.id].status, status::CANCELLED);
    assert_eq!(position(&b, ES).size, 0);
}

#[test]
fn bracket_tick_signs_follow_the_real_gateway() {
    let mut b = book();
    b.set_price(ES, dec!(5000), None, None, now()).unwrap();
    let mut r = req(SIDE_BID, order_type::MARKET, 1);
    r.stop_loss = Some(BracketSpec {
        ticks: 8,
        order_type: order_type::STOP,
    });
    let err = b.place(r, now()).unwrap_err();
    assert!(
        err.to_string().contains("less than zero when longing"),
        "{err}"
    );
}

#[test]
fn cancelling_an_entry_cancels_its_suspended_legs() {
    let mut b = book();
    let mut r = req(SIDE_ASK, order_type::LIMIT, 1);
    r.limit_price = Some(dec!(5100));
    r.stop_loss = Some(BracketSpec {
        ticks: 10,
        order_type: order_type::STOP,
    });
    let (entry, _) = b.place(r, now()).unwrap();
    let events = b.cancel(ACC, entry, now()).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(b.working_orders().count(), 0);
    assert_eq!(b.cancel(ACC, entry, now()), Err(Reject::NotWorking));
    assert_eq!(b.cancel(ACC, 42, now()), Err(Reject::OrderNotFound));
}

#[test]
fn custom_tags_are_unique_per_account() {
    let mut b = book();
    let mut r = req(SIDE_BID, order_type::LIMIT, 1);
    r.limit_price = Some(dec!(4000));
    r.custom_tag = Some("t1".into());
    b.place(r.clone(), now()).unwrap();
    assert!(matches!(b.place(r.clone(), now()), Err(Reject::Invalid(_))));
    r.account_id = 7002;
    assert!(b.place(r, now()).is_ok());
}

#[test]
fn unknown_account_or_contract_is_refused() {
    let mut b = book();
    let mut r = req(SIDE_BID, order_type::MARKET, 1);
    r.account_id = 1;
    assert_eq!(b.place(r.clone(), now()), Err(Reject::AccountNotFound));
    r.account_id = ACC;
    r.contract_id = "CON.F.US.XX.Z25".into();
    assert_eq!(b.place(r, now()), Err(Reject::ContractNotFound));
}

#[test]
fn close_and_partial_close_reduce_through_a_market_order() {
    let mut b = book();
    b.set_price(ES, dec!(5000), None, None, now()).unwrap();
    market(&mut b, SIDE_ASK, 3);
    assert_eq!(b.close(ACC, ES, Some(4), now()), Err(Reject::InvalidSize));
    let events = b.close(ACC, ES, Some(1), now()).unwrap();
    assert_eq!(trades(&events)[0].side, SIDE_BID);
    assert_eq!(position(&b, ES).size, 2);
    let events = b.close(ACC, ES, None, now()).unwrap();
    let flat = events
        .iter()
        .find_map(|e| {
            if let Event::Position(p) = e {
                Some(p.clone())
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!(flat.size, 0);
    assert_eq!(b.close(ACC, ES, None, now()), Err(Reject::PositionNotFound));
}

#[test]
fn modify_changes_a_working_order_and_can_make_it_fill() {
    let mut b = book();
    b.set_price(ES, dec!(5000), None, None, now()).unwrap();
    let mut r = req(SIDE_BID, order_type::LIMIT, 1);
    r.limit_price = Some(dec!(4990));
    let (id, _) = b.place(r, now()).unwrap();
    b.modify(ACC, id, Some(3), None, None, now()).unwrap();
    assert_eq!(b.orders[&id].size, 3);
    let events = b
        .modify(ACC, id, None, Some(dec!(5000)), None, now())
        .unwrap();
    assert_eq!(trades(&events)[0].size, 3);
    assert_eq!(
        b.modify(ACC, id, Some(4), None, None, now()),
        Err(Reject::NotWorking)
    );
}

#[test]
fn partial_fill_and_void() {
    let mut b = book();
    b.set_price(ES, dec!(5000), None, None, now()).unwrap();
    let mut r = req(SIDE_BID, order_type::LIMIT, 3);
    r.limit_price = Some(dec!(4990));
    let (id, _) = b.place(r, now()).unwrap();
    let events = b.force_fill(id, Some(1), now()).unwrap();
    assert_eq!(b.orders[&id].status, status::OPEN);
    assert_eq!(b.orders[&id].fill_volume, 1);
    let trade = trades(&events)[0].clone();
    assert_eq!(position(&b, ES).size, 1);
    let balance = b.accounts[&ACC].balance;
    let events = b.void(trade.id).unwrap();
    assert!(matches!(&events[0], Event::Trade(t) if t.voided));
    assert_eq!(position(&b, ES).size, 0);
    assert_eq!(b.accounts[&ACC].balance, balance + trade.fees);
    assert!(b.void(trade.id).is_err());
}

#[test]
fn absurd_sizes_and_prices_are_refused_not_panicked_on() {
    let mut b = book();
    assert!(b.set_price(ES, dec!(1e20), None, None, now()).is_err());
    b.set_price(ES, dec!(5000), None, None, now()).unwrap();
    assert_eq!(
        b.place(req(SIDE_BID, order_type::MARKET, i64::MAX), now()),
        Err(Reject::InvalidSize)
    );
    let mut r = req(SIDE_BID, order_type::LIMIT, 1);
    r.limit_price = Some(dec!(79228162514264337593543950335));
    assert!(matches!(b.place(r, now()), Err(Reject::Invalid(_))));
}
