//! The read endpoints answer with the daemon's data, `/openapi.json` describes every route, `/metrics`
//! carries the daemon's and the API's counters, and the server binds only to loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use api::*;
use serde_json::Value;
use support::*;

fn json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

#[tokio::test]
async fn every_read_endpoint_answers_with_the_daemons_data() {
    let h = Harness::start("reads").await;
    let t = Some(h.trader.as_str());
    let v = h.fake.current();

    let (status, body) = h.get("/v1/accounts", t).await;
    assert_eq!((status, body), (200, json(&v.accounts)));
    assert_eq!(h.get("/v1/positions", t).await, (200, json(&v.positions)));
    assert_eq!(h.get("/v1/orders", t).await, (200, json(&v.orders)));
    assert_eq!(h.get("/v1/locks", t).await, (200, json(&v.locks)));
    assert_eq!(h.get("/v1/rules", t).await, (200, json(&h.fake.rules())));
    assert_eq!(
        h.get("/v1/holidays", t).await,
        (200, json(&h.fake.holidays()))
    );
    // Money is decimal text, never a float.
    let (_, accounts) = h.get("/v1/accounts", t).await;
    assert_eq!(accounts[0]["realizedPnl"], "-120.25");

    let (status, body) = h
        .get("/v1/decisions?since=2025-03-14T13:30:00Z&account=7002", t)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json(&vec![decision(7002, "daily_realized_loss")]));
    assert_eq!(
        h.fake.history_asked.lock().unwrap().last().cloned(),
        Some((Some(ts("2025-03-14T13:30:00Z")), Some(7002)))
    );

    // The typed client reads the same.
    let c = h.client();
    assert_eq!(c.accounts().await.unwrap(), v.accounts);
    assert_eq!(c.locks().await.unwrap(), v.locks);
    assert_eq!(c.positions().await.unwrap(), v.positions);
    assert_eq!(c.orders().await.unwrap(), v.orders);
    assert_eq!(c.rules().await.unwrap(), h.fake.rules());
    assert_eq!(c.holidays().await.unwrap(), h.fake.holidays());
    assert_eq!(
        c.decisions(Some(ts("2025-03-14T13:30:00Z")), None)
            .await
            .unwrap(),
        vec![decision(7001, "daily_realized_loss")]
    );
    h.server.shutdown().await;
}

#[tokio::test]
async fn status_recomputes_uptime_and_event_age_from_the_clock() {
    let h = Harness::start("status").await;
    let started = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(7200);
    let last = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(30);
    h.fake.update(|v| {
        v.status.started_at = started;
        v.status.uptime_secs = 5; // stale: the server must not repeat it
        v.status.last_event_at = Some(last);
        v.status.last_event_age_ms = Some(1);
    });
    let s = h.client().status().await.unwrap();
    assert!((7200..7210).contains(&s.uptime_secs), "{}", s.uptime_secs);
    let age = s.last_event_age_ms.unwrap();
    assert!((30_000..40_000).contains(&age), "{age}");
    assert_eq!(s.hubs, h.fake.current().status.hubs);
    assert_eq!(s.version, "0.1.0");
    h.server.shutdown().await;
}

#[tokio::test]
async fn a_bad_decisions_query_is_a_400_saying_what_is_wrong() {
    let h = Harness::start("badquery").await;
    let t = Some(h.trader.as_str());
    let (status, body) = h.get("/v1/decisions?since=yesterday", t).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("`since` must be an RFC 3339"),
        "{body}"
    );
    let (status, body) = h.get("/v1/decisions?account=abc", t).await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("`account`"),
        "{body}"
    );
    let (status, body) = h.get("/v1/decisions?acount=7001", t).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("acount"), "{body}");
    assert!(h.fake.history_asked.lock().unwrap().is_empty());
    h.server.shutdown().await;
}

#[tokio::test]
async fn openapi_describes_every_route_and_parses() {
    let h = Harness::start("openapi").await;
    let (status, doc) = h.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let routes = route_list();
    assert!(routes.len() >= 16, "{routes:?}");
    for (method, path) in routes {
        let op = &doc["paths"][path][method.to_ascii_lowercase()];
        assert!(op.is_object(), "{method} {path} missing from /openapi.json");
        assert!(
            op["responses"]["200"].is_object(),
            "{method} {path} has no 200"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // Every $ref points at a schema that exists.
    let text = doc.to_string();
    for part in text.split("\"#/components/schemas/").skip(1) {
        let name = part.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling $ref {name}"
        );
    }
    h.server.shutdown().await;
}

#[tokio::test]
async fn unknown_routes_are_404_json() {
    let h = Harness::start("404").await;
    let (status, body) = h.get("/v1/nope", Some(&h.trader)).await;
    assert_eq!(status, 404);
    assert!(
        body["error"].as_str().unwrap().contains("no such endpoint"),
        "{body}"
    );
    let (status, body) = h.get("/v1/admin/reload", Some(&h.trader)).await;
    assert_eq!(status, 405, "{body}");
    assert!(body["error"].is_string(), "{body}");
    h.server.shutdown().await;
}

#[tokio::test]
async fn metrics_carry_the_daemons_text_and_the_apis_counters() {
    let h = Harness::start("metrics").await;
    h.get("/v1/accounts", Some(&h.trader)).await;
    h.get("/v1/accounts", None).await;
    let resp = h.http.get(h.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        resp.headers()
    );
    let text = resp.text().await.unwrap();
    assert!(text.contains("riskguard_decisions_total 3\n"), "{text}");
    assert!(
        text.contains("riskguard_api_requests_total{route=\"/v1/accounts\",status=\"200\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("riskguard_api_requests_total{route=\"/v1/accounts\",status=\"401\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("riskguard_api_stream_clients 0\n"), "{text}");
    assert!(
        text.contains("riskguard_api_admin_login_failures_total 0\n"),
        "{text}"
    );
    h.server.shutdown().await;
}

#[tokio::test]
async fn start_refuses_a_non_loopback_address_and_binds_loopback() {
    let dir = TempDir::new("bind");
    let fake = Fake::new(view());
    let err = start(
        ServerConfig {
            listen: "0.0.0.0:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
        },
        fake.clone(),
    )
    .await
    .unwrap_err();
    assert!(err.contains("loopback"), "{err}");
    assert!(
        !files::endpoint_path(dir.path()).exists(),
        "nothing written for a refused start"
    );

    let server = start(
        ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
        },
        fake as Arc<dyn Daemon>,
    )
    .await
    .unwrap();
    assert!(server.local_addr.ip().is_loopback());
    assert_ne!(server.local_addr.port(), 0);
    let endpoint = std::fs::read_to_string(files::endpoint_path(dir.path())).unwrap();
    assert_eq!(endpoint.trim(), server.local_addr.to_string());
    server.shutdown().await;
}
