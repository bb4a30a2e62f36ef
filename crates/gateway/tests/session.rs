//! The adapter against the simulator: events, quotes, money-moving calls, reconcile.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use gateway::{CallOutcome, ConnectionState, Feed, HubKind, HubStatus};
use model::event::{Event, OrderStatus, OrderType, Side};
use model::ids::{ContractId, OrderId};
use rust_decimal_macros::dec;
use serde_json::json;

#[tokio::test]
async fn a_market_order_arrives_as_order_trade_and_position_events() {
    let mut h = harness().await;
    set_price(&h.base, ES, "5000.25").await;
    let token = login(&h.base).await;
    let id = market_buy(&h.base, &token, ES, 2).await;

    let order = next_event(
        &mut h.feed,
        "filled order",
        |e| matches!(e, Event::Order(o) if o.order.0 == id),
    )
    .await;
    let Event::Order(order) = order else {
        unreachable!()
    };
    assert_eq!(order.account, ACCOUNT);
    assert_eq!(order.status, OrderStatus::Filled);
    assert_eq!(order.order_type, OrderType::Market);
    assert_eq!(order.side, Side::Buy);
    assert_eq!(order.contract.as_str(), ES);

    let Event::Trade(fill) =
        next_event(&mut h.feed, "fill", |e| matches!(e, Event::Trade(_))).await
    else {
        unreachable!()
    };
    assert_eq!(
        (fill.order.0, fill.size, fill.price),
        (id, 2, dec!(5000.25))
    );
    assert_eq!((fill.pnl, fill.fees), (None, dec!(2.8)));

    let Event::Position(position) =
        next_event(&mut h.feed, "position", |e| matches!(e, Event::Position(_))).await
    else {
        unreachable!()
    };
    assert_eq!((position.size, position.average_price), (2, dec!(5000.25)));
    h.session.shutdown().await;
}

#[tokio::test]
async fn quotes_are_keyed_by_the_subscribed_contract() {
    let mut h = harness().await;
    let es = ContractId::new(ES);
    h.session.subscribe_quotes(&es).await.unwrap();
    h.session.subscribe_quotes(&es).await.unwrap(); // idempotent
    set_price(&h.base, ES, "5001.75").await;
    let Event::Quote(quote) =
        next_event(&mut h.feed, "quote", |e| matches!(e, Event::Quote(_))).await
    else {
        unreachable!()
    };
    assert_eq!(quote.contract, es);
    assert_eq!(quote.last, Some(dec!(5001.75)));

    h.session.unsubscribe_quotes(&es).await.unwrap();
    let state = sim_state(&h.base).await;
    let market = state["hubConnections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["hub"] == "market")
        .unwrap()
        .clone();
    assert_eq!(market["subscriptions"]["quotes"], json!([]), "{market}");

    // The contract cache answers the second time without a REST call.
    let info = h.session.contract(&es).await.unwrap();
    assert_eq!((info.name.as_str(), info.tick_size), ("ESZ5", dec!(0.25)));
    h.session.contract(&es).await.unwrap();
    assert_eq!(h.session.rest_stats().calls("Contract/searchById"), 1);
    let missing = h
        .session
        .contract(&ContractId::new("CON.F.US.NOPE.Z25"))
        .await;
    assert!(
        matches!(
            missing,
            Err(gateway::GatewayError::Rejected { code: 1, .. })
        ),
        "{missing:?}"
    );
    h.session.shutdown().await;
}

#[tokio::test]
async fn close_cancel_place_and_modify() {
    let mut h = harness().await;
    let es = ContractId::new(ES);
    set_price(&h.base, ES, "5000").await;
    let token = login(&h.base).await;
    market_buy(&h.base, &token, ES, 1).await;
    next_event(
        &mut h.feed,
        "open position",
        |e| matches!(e, Event::Position(p) if p.size == 1),
    )
    .await;

    // A protective stop with our tag: placed, visible in the read-back, moved.
    let tag = "riskguard:7001:1";
    let placed = h
        .session
        .place_stop(ACCOUNT, &es, Side::Sell, 1, dec!(4990), tag)
        .await;
    assert_eq!(placed, CallOutcome::Done);
    let working = h.session.working_orders(ACCOUNT).await.unwrap();
    let stop = working
        .iter()
        .find(|o| o.custom_tag.as_deref() == Some(tag))
        .expect("the tagged stop is working");
    assert!(stop.is_own());
    assert_eq!(
        (stop.order_type, stop.stop_price, stop.status),
        (OrderType::Stop, Some(dec!(4990)), OrderStatus::Open)
    );
    let stop_id = stop.order;
    assert_eq!(
        h.session.modify_stop(ACCOUNT, stop_id, dec!(4995.5)).await,
        CallOutcome::Done
    );
    let working = h.session.working_orders(ACCOUNT).await.unwrap();
    let moved = working.iter().find(|o| o.order == stop_id).unwrap();
    assert_eq!(moved.stop_price, Some(dec!(4995.5)));
    // The same tag again is a definite refusal.
    let again = h
        .session
        .place_stop(ACCOUNT, &es, Side::Sell, 1, dec!(4990), tag)
        .await;
    assert!(
        matches!(again, CallOutcome::Rejected { code: 2, .. }),
        "{again:?}"
    );

    // Cancel it: an order event says so.
    assert_eq!(
        h.session.cancel_order(ACCOUNT, stop_id).await,
        CallOutcome::Done
    );
    next_event(&mut h.feed, "cancelled stop", |e| {
        matches!(e, Event::Order(o) if o.order == stop_id && o.status == OrderStatus::Cancelled)
    })
    .await;
    let bogus = h.session.cancel_order(ACCOUNT, OrderId(999_999)).await;
    assert!(
        matches!(bogus, CallOutcome::Rejected { code: 2, .. }),
        "{bogus:?}"
    );

    // Close the position: flat.
    assert_eq!(
        h.session.close_contract(ACCOUNT, &es).await,
        CallOutcome::Done
    );
    next_event(
        &mut h.feed,
        "flat position",
        |e| matches!(e, Event::Position(p) if p.contract == es && p.size == 0),
    )
    .await;
    assert!(h.session.open_positions(ACCOUNT).await.unwrap().is_empty());
    h.session.shutdown().await;
}

#[tokio::test]
async fn partial_close_reduces_the_position() {
    let mut h = harness().await;
    let mnq = ContractId::new(MNQ);
    set_price(&h.base, MNQ, "21000").await;
    let token = login(&h.base).await;
    market_buy(&h.base, &token, MNQ, 3).await;
    assert_eq!(
        h.session.partial_close(ACCOUNT, &mnq, 2).await,
        CallOutcome::Done
    );
    next_event(
        &mut h.feed,
        "reduced position",
        |e| matches!(e, Event::Position(p) if p.size == 1),
    )
    .await;
    let too_big = h.session.partial_close(ACCOUNT, &mnq, 5).await;
    assert!(
        matches!(too_big, CallOutcome::Rejected { code: 5, .. }),
        "{too_big:?}"
    );
    let zero = h.session.partial_close(ACCOUNT, &mnq, 0).await;
    assert!(
        matches!(
            zero,
            CallOutcome::Rejected {
                code: gateway::NOT_SENT,
                ..
            }
        ),
        "{zero:?}"
    );
    h.session.shutdown().await;
}

#[tokio::test]
async fn reconcile_sees_positions_suspended_bracket_legs_can_trade_and_trades() {
    let mut h = harness().await;
    set_price(&h.base, ES, "5000").await;
    let token = login(&h.base).await;
    market_buy(&h.base, &token, ES, 1).await;
    // A resting limit entry with both brackets: its legs stay Suspended until it fills.
    let entry = place(
        &h.base,
        &token,
        json!({
            "accountId": ACCOUNT.0, "contractId": ES, "type": 1, "side": 0, "size": 1, "limitPrice": 4990,
            "stopLossBracket": {"ticks": -8, "type": 4}, "takeProfitBracket": {"ticks": 8, "type": 1}
        }),
    )
    .await;
    let (_, open_only) = post(
        &h.base,
        "/api/Order/searchOpen",
        Some(&token),
        json!({"accountId": ACCOUNT.0}),
    )
    .await;
    assert_eq!(
        open_only["orders"].as_array().unwrap().len(),
        1,
        "searchOpen leaves the suspended legs out: {open_only}"
    );

    let day_start = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(1))
        .unwrap();
    let r = h.session.reconcile(ACCOUNT, day_start).await.unwrap();
    assert_eq!(r.positions.len(), 1);
    assert_eq!(
        (r.positions[0].contract.as_str(), r.positions[0].size),
        (ES, 1)
    );
    assert!(
        r.orders
            .iter()
            .any(|o| o.order.0 == entry && o.status == OrderStatus::Open)
    );
    let suspended: Vec<_> = r
        .orders
        .iter()
        .filter(|o| o.status == OrderStatus::Suspended)
        .collect();
    assert_eq!(suspended.len(), 2, "{:?}", r.orders);
    assert_eq!(r.orders.len(), 3, "deduplicated: {:?}", r.orders);
    assert_eq!(r.account.as_ref().and_then(|a| a.can_trade), Some(true));
    assert_eq!(r.trades.len(), 1);
    assert_eq!(r.trades[0].size, 1);

    // canTrade comes from the account row.
    post(
        &h.base,
        "/sim/account",
        None,
        json!({"accountId": ACCOUNT.0, "canTrade": false}),
    )
    .await;
    next_event(
        &mut h.feed,
        "account event",
        |e| matches!(e, Event::Account(a) if a.can_trade == Some(false)),
    )
    .await;
    let r = h.session.reconcile(ACCOUNT, day_start).await.unwrap();
    assert_eq!(r.account.and_then(|a| a.can_trade), Some(false));

    let accounts = h.session.accounts().await.unwrap();
    assert!(
        accounts
            .iter()
            .any(|(id, name, _)| *id == ACCOUNT && name == "SIM-DEMO-1")
    );
    h.session.shutdown().await;
}

#[tokio::test]
async fn shutdown_reports_both_hubs_down() {
    let mut h = harness().await;
    let mut up = Vec::new();
    while up.len() < 2 {
        let item = next_feed(&mut h.feed, "hub up", WAIT, |f| {
            matches!(
                f,
                Feed::Connection(ConnectionState {
                    status: HubStatus::Up,
                    ..
                })
            )
        })
        .await;
        if let Feed::Connection(state) = item {
            up.push(state.hub);
        }
    }
    up.sort();
    assert_eq!(up, vec![HubKind::User, HubKind::Market]);
    h.session.shutdown().await;
    let mut down = 0;
    while let Ok(Some((_, item))) = tokio::time::timeout(WAIT, h.feed.recv()).await {
        if matches!(
            item,
            Feed::Connection(ConnectionState {
                status: HubStatus::Down { .. },
                ..
            })
        ) {
            down += 1;
        }
    }
    assert_eq!(down, 2);
}

/// The daemon spawns these calls on a multi-threaded runtime: the session and its futures must be `Send`.
#[allow(dead_code)]
fn session_futures_are_send(session: &gateway::Session) {
    fn send<T: Send>(_: T) {}
    fn sync<T: Send + Sync>() {}
    sync::<gateway::Session>();
    let es = ContractId::new(ES);
    send(session.reconcile(ACCOUNT, jiff::Timestamp::now()));
    send(session.accounts());
    send(session.contract(&es));
    send(session.subscribe_quotes(&es));
    send(session.close_contract(ACCOUNT, &es));
    send(session.place_stop(ACCOUNT, &es, Side::Sell, 1, dec!(1), "t"));
    send(session.working_orders(ACCOUNT));
}
