//! `/v1/stream`: a snapshot first, decisions as they come, deltas per changed part of the view, a fresh
//! snapshot after falling behind. Runs on tokio's current-thread runtime, so "the server has not read the
//! broadcast yet" is a fact, not a race.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use api::*;
use futures_util::{Stream, StreamExt};
use rust_decimal_macros::dec;
use support::*;

const DEADLINE: Duration = Duration::from_secs(5);

async fn next(
    s: &mut (impl Stream<Item = Result<StreamEvent, api::client::ClientError>> + Unpin),
) -> StreamEvent {
    within("the next stream event", DEADLINE, s.next())
        .await
        .expect("stream ended")
        .unwrap()
}

/// The view with the clock-driven status fields taken from `got` (the server recomputes them).
fn expect_snapshot(got: &StreamEvent, expected: &View) {
    let StreamEvent::Snapshot(got) = got else {
        panic!("expected a snapshot, got {got:?}")
    };
    let mut expected = expected.clone();
    expected.status.uptime_secs = got.status.uptime_secs;
    expected.status.last_event_age_ms = got.status.last_event_age_ms;
    assert_eq!(**got, expected);
}

#[tokio::test]
async fn snapshot_then_decisions_then_one_delta_per_change() {
    let h = Harness::start("stream").await;
    let mut s = Box::pin(h.client().stream().await.unwrap());
    expect_snapshot(&next(&mut s).await, &h.fake.current());

    h.fake
        .decisions
        .send(decision(7001, "max_contracts"))
        .unwrap();
    assert_eq!(
        next(&mut s).await,
        StreamEvent::Decision(decision(7001, "max_contracts"))
    );

    // One account's P&L changes (and the clock-driven status fields move, the last event by less than a
    // second): one `account` event only.
    let first_event = h.fake.current().status.last_event_at.unwrap();
    h.fake.update(|v| {
        v.accounts[0].realized_pnl = dec!(-300);
        v.status.last_event_at = Some(first_event + jiff::SignedDuration::from_millis(500));
        v.status.uptime_secs += 100;
    });
    let changed = h.fake.current().accounts[0].clone();
    assert_eq!(next(&mut s).await, StreamEvent::Account(changed));

    // The last gateway event moves a second past the one the client last saw: a `status` event carries it
    // (a screen shows its age), even though nothing else in the status changed.
    let later = first_event + jiff::SignedDuration::from_secs(1);
    h.fake.update(|v| v.status.last_event_at = Some(later));
    let StreamEvent::Status(status) = next(&mut s).await else {
        panic!("expected status")
    };
    assert_eq!(status.last_event_at, Some(later));

    // A lock appears: `locks` with the whole list (and not a stray account or status event before it).
    h.fake.update(|v| v.locks.push(lock(7002)));
    assert_eq!(next(&mut s).await, StreamEvent::Locks(vec![lock(7002)]));

    // Dry-run switches: `status`; positions and orders go: one event each.
    h.fake.update(|v| {
        v.status.dry_run = true;
        v.positions.clear();
        v.orders.clear();
    });
    let StreamEvent::Status(status) = next(&mut s).await else {
        panic!("expected status")
    };
    assert!(status.dry_run);
    assert_eq!(next(&mut s).await, StreamEvent::Positions(Vec::new()));
    assert_eq!(next(&mut s).await, StreamEvent::Orders(Vec::new()));

    // A late client starts from a snapshot of the view as it is now.
    let mut late = Box::pin(h.client().stream().await.unwrap());
    expect_snapshot(&next(&mut late).await, &h.fake.current());

    let metrics = h.metrics().await;
    assert!(
        metrics.contains("riskguard_api_stream_clients 2\n"),
        "{metrics}"
    );
    drop(late);
    drop(s);
    h.server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_falls_behind_the_broadcast_gets_a_fresh_snapshot() {
    let h = Harness::start("lag").await;
    let mut s = Box::pin(h.client().stream().await.unwrap());
    expect_snapshot(&next(&mut s).await, &h.fake.current());
    // The broadcast holds 4; ten sent without yielding overflow this client's receiver.
    h.fake.update(|v| v.locks.push(lock(7001)));
    for i in 0..10 {
        h.fake
            .decisions
            .send(decision(7000 + i, "max_contracts"))
            .unwrap();
    }
    expect_snapshot(&next(&mut s).await, &h.fake.current());
    // Then the decisions still held, newest last.
    let mut accounts = Vec::new();
    for _ in 0..4 {
        match next(&mut s).await {
            StreamEvent::Decision(d) => accounts.push(d.account),
            other => panic!("expected a decision, got {other:?}"),
        }
    }
    assert_eq!(accounts, vec![7006, 7007, 7008, 7009]);
    drop(s);
    h.server.shutdown().await;
}

#[tokio::test]
async fn the_stream_is_sse_with_event_names_and_needs_a_token() {
    let h = Harness::start("sse").await;
    let (status, _) = h.get("/v1/stream", None).await;
    assert_eq!(status, 401);
    let mut resp = h
        .http
        .get(h.url("/v1/stream"))
        .bearer_auth(&h.trader)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let chunk = within("the first SSE bytes", DEADLINE, resp.chunk())
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&chunk);
    assert!(text.starts_with("event: snapshot\ndata: {"), "{text}");
    drop(resp);
    h.server.shutdown().await;
}

#[tokio::test]
async fn shutdown_ends_open_streams() {
    let h = Harness::start("shutdown").await;
    let mut s = Box::pin(h.client().stream().await.unwrap());
    next(&mut s).await;
    within(
        "the server to stop with a stream open",
        DEADLINE,
        h.server.shutdown(),
    )
    .await;
    let end = within("the stream to end", DEADLINE, s.next()).await;
    assert!(!matches!(end, Some(Ok(_))), "{end:?}");
}
