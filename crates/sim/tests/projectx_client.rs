//! The simulator driven by an independent client, `projectx-client` 8, pointed at it with
//! `Endpoints::custom`: log in, list accounts, look up a contract, subscribe on both hubs, place a market
//! order and see order → trade → position, move the price and see the quote, close the contract and see the
//! position go to zero, and rotate the token with `Auth/validate`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use projectx_client::{
    AccountId, Client, CloseContract, ContractId, Credentials, Endpoints, Hub, MarketQuote,
    OrderStatus, OrderType, PlaceOrder, Position, PositionType, RealtimeEvent,
    RealtimeEventReceiver, Side, SignalRInvocation, Trade,
};
use rust_decimal_macros::dec;
use serde_json::json;

pub fn client(base: &str) -> Client {
    let endpoints = Endpoints::custom(base, base).unwrap();
    Client::builder(Credentials::new("demo", "demo").unwrap())
        .endpoints(endpoints)
        .build()
        .unwrap()
}

/// The next invocation named `target`, skipping everything else.
pub async fn next_invocation(
    events: &mut RealtimeEventReceiver,
    target: &str,
) -> SignalRInvocation {
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Some(RealtimeEvent::Invocation(inv)) if inv.target() == target => return inv,
                Some(_) => {}
                None => panic!("event stream ended"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {target} before the deadline"))
}

/// The next user-hub invocation of any target.
async fn next_user_event(events: &mut RealtimeEventReceiver) -> SignalRInvocation {
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Some(RealtimeEvent::Invocation(inv)) => return inv,
                Some(RealtimeEvent::TransportGap) => {
                    panic!("transport gap: the client could not parse a record")
                }
                Some(_) => {}
                None => panic!("event stream ended"),
            }
        }
    })
    .await
    .expect("no user event before the deadline")
}

#[tokio::test]
async fn projectx_client_end_to_end() {
    let sim = start().await;
    let base = sim.base_url();
    let client = client(&base);
    client.authenticate().await.unwrap();

    let accounts = client
        .search_active_accounts()
        .await
        .unwrap()
        .into_listed()
        .unwrap();
    assert_eq!(accounts.len(), 2);
    let account = accounts.iter().find(|a| a.id.get() == 7001).unwrap();
    assert!(account.can_trade);
    assert_eq!(account.balance, Some(dec!(50000)));
    let account_id = AccountId::new(7001).unwrap();

    let es = ContractId::new(ES).unwrap();
    let contract = client.contract_by_id(&es).await.unwrap();
    assert_eq!(contract.name, "ESZ5");
    assert_eq!(contract.tick_size, dec!(0.25));
    assert_eq!(contract.tick_value, dec!(12.50));
    assert_eq!(contract.symbol_id.as_str(), "F.US.EP");

    let user = client.realtime(Hub::User);
    let mut user_events = user.take_event_receiver().unwrap();
    user.connect().await.unwrap();
    user.subscribe_accounts().await.unwrap();
    user.subscribe_orders(account_id).await.unwrap();
    user.subscribe_positions(account_id).await.unwrap();
    user.subscribe_trades(account_id).await.unwrap();

    let market = client.realtime(Hub::Market);
    let mut market_events = market.take_event_receiver().unwrap();
    market.connect().await.unwrap();
    market.subscribe_contract_quotes(&es).await.unwrap();

    // Move the price through the control surface; the quote arrives with (contractId, data).
    set_price(&base, ES, "5000.25").await;
    let quote = next_invocation(&mut market_events, "GatewayQuote").await;
    assert_eq!(quote.contract_id(), Some(&es));
    let data: MarketQuote = quote.decode().unwrap();
    assert_eq!(data.last_price, Some(dec!(5000.25)));
    assert_eq!(data.raw_symbol.as_str(), "F.US.EP");

    // A market order: order, then trade, then position, each as one argument.
    let order = PlaceOrder::builder(account_id, es.clone(), OrderType::Market, Side::Bid, 2)
        .build()
        .unwrap();
    let placed = client.place_order(&order).await.unwrap();
    let first = next_user_event(&mut user_events).await;
    assert_eq!(first.target(), "GatewayUserOrder");
    let o: projectx_client::Order = first.decode().unwrap();
    assert_eq!(
        (o.id, o.status, o.fill_volume, o.filled_price),
        (
            placed.order_id,
            OrderStatus::Filled,
            Some(2),
            Some(dec!(5000.25))
        )
    );
    let second = next_user_event(&mut user_events).await;
    assert_eq!(second.target(), "GatewayUserTrade");
    let t: Trade = second.decode().unwrap();
    assert_eq!(
        (t.order_id, t.size, t.price, t.profit_and_loss, t.fees),
        (placed.order_id, 2, dec!(5000.25), None, dec!(2.8))
    );
    let third = next_user_event(&mut user_events).await;
    assert_eq!(third.target(), "GatewayUserPosition");
    let p: Position = third.decode().unwrap();
    assert_eq!(
        (p.size, p.position_type, p.average_price),
        (2, PositionType::Long, dec!(5000.25))
    );
    let fourth = next_user_event(&mut user_events).await;
    assert_eq!(fourth.target(), "GatewayUserAccount");

    let open = client
        .search_open_positions(account_id)
        .await
        .unwrap()
        .into_listed()
        .unwrap();
    assert_eq!(open.len(), 1);

    // Price up 2 points, then close: realized (5002.25-5000.25)/0.25*12.5*2 = 200.
    set_price(&base, ES, "5002.25").await;
    let quote: MarketQuote = next_invocation(&mut market_events, "GatewayQuote")
        .await
        .decode()
        .unwrap();
    assert_eq!(quote.last_price, Some(dec!(5002.25)));
    client
        .close_contract(&CloseContract {
            account_id,
            contract_id: es.clone(),
        })
        .await
        .unwrap();
    let close_trade: Trade = next_invocation(&mut user_events, "GatewayUserTrade")
        .await
        .decode()
        .unwrap();
    assert_eq!(
        (close_trade.side, close_trade.profit_and_loss),
        (Side::Ask, Some(dec!(200)))
    );
    let flat: Position = next_invocation(&mut user_events, "GatewayUserPosition")
        .await
        .decode()
        .unwrap();
    assert_eq!((flat.id, flat.size), (p.id, 0));
    let open = client
        .search_open_positions(account_id)
        .await
        .unwrap()
        .into_listed()
        .unwrap();
    assert!(open.is_empty());

    // Token rotation: the client swaps in newToken and keeps working.
    client.validate_session().await.unwrap();
    let again = client
        .search_active_accounts()
        .await
        .unwrap()
        .into_listed()
        .unwrap();
    assert_eq!(again.len(), 2);

    user.disconnect().await.unwrap();
    market.disconnect().await.unwrap();
    sim.shutdown().await.unwrap();
}

/// projectx-client keeps its token private, so that validate really returns a *different* token and that
/// both the old and the new one work is shown over raw HTTP.
#[tokio::test]
async fn validate_returns_a_new_token_and_the_old_one_stays_valid() {
    let sim = start().await;
    let base = sim.base_url();
    let old = login(&base).await;
    let (status, body) = post_raw(&base, "/api/Auth/validate", Some(&old), String::new()).await;
    assert_eq!(status, 200);
    assert_eq!(body["success"], true);
    let new = body["newToken"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(new.split('.').count(), 3, "a JWT has three parts");
    for token in [&old, &new] {
        let (status, body) = post(
            &base,
            "/api/Account/search",
            Some(token),
            json!({"onlyActiveAccounts": true}),
        )
        .await;
        assert_eq!((status, body["success"].as_bool()), (200, Some(true)));
    }
}
