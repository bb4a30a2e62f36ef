//! Admin actions: bad bodies are refused with a clear JSON message before anything reaches the daemon, and
//! the daemon's answers map to the documented statuses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use api::*;
use serde_json::json;
use support::*;

#[tokio::test]
async fn bad_bodies_are_4xx_with_a_clear_message_and_reach_nothing() {
    let h = Harness::start_with("badinput", true).await;
    let admin = h.admin_token().await;
    let a = Some(admin.as_str());
    let big = format!(r#"{{"account":7001,"reason":"{}"}}"#, "x".repeat(70 * 1024));
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "/v1/admin/flatten",
            "{\"account\": 7001,".into(),
            400,
            "malformed JSON",
        ),
        (
            "/v1/admin/flatten",
            r#"{"account":7001,"reason":"x","force":true}"#.into(),
            422,
            "unknown field `force`",
        ),
        (
            "/v1/admin/flatten",
            r#"{"account":"7001","reason":"x"}"#.into(),
            422,
            "invalid type",
        ),
        (
            "/v1/admin/flatten",
            r#"{"account":7001}"#.into(),
            422,
            "missing field `reason`",
        ),
        (
            "/v1/admin/flatten",
            r#"{"account":7001,"reason":"   "}"#.into(),
            400,
            "`reason` must not be empty",
        ),
        (
            "/v1/admin/locks/clear",
            r#"{"account":7001,"rule":"daily_realized_loss","reason":""}"#.into(),
            400,
            "`reason` must not be empty",
        ),
        (
            "/v1/admin/dry-run",
            r#"{"enabled":true}"#.into(),
            422,
            "missing field `reason`",
        ),
        (
            "/v1/admin/reload",
            r#"{"now":true}"#.into(),
            422,
            "unknown field `now`",
        ),
        ("/v1/admin/flatten", big, 413, "too large"),
        (
            "/v1/admin/login",
            r#"{"password":"x","role":"root"}"#.into(),
            422,
            "unknown field `role`",
        ),
    ];
    for (path, body, status, message) in cases {
        let (got, answer) = h.post_raw(path, a, &body).await;
        assert_eq!(
            got,
            status,
            "{path} {}: {answer}",
            &body[..body.len().min(60)]
        );
        let error = answer["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no JSON error: {answer}"));
        assert!(
            error.contains(message),
            "{path}: {error:?} should say {message:?}"
        );
    }
    // Without a JSON content type.
    let resp = h
        .http
        .post(h.url("/v1/admin/reload"))
        .bearer_auth(&admin)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 415);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("application/json"),
        "{body}"
    );

    assert!(
        h.fake.admin_requests().is_empty(),
        "the daemon received {:?}",
        h.fake.admin_requests()
    );
    h.server.shutdown().await;
}

#[tokio::test]
async fn the_daemons_answers_map_to_statuses() {
    let h = Harness::start_with("answers", true).await;
    let admin = h.admin_token().await;
    let cases = [
        ("bad_request", 400),
        ("invalid_config", 400),
        ("not_found", 404),
        ("unavailable", 503),
    ];
    for (kind, status) in cases {
        *h.fake.admin_answer.lock().unwrap() = Some(Err(AdminError {
            kind: kind.into(),
            message: format!("{kind} happened"),
            errors: vec![
                "risk_config.yaml: rules.max_contracts.limit (line 4): must be positive".into(),
            ],
        }));
        let (got, body) = h.post("/v1/admin/reload", Some(&admin), json!({})).await;
        assert_eq!(got, status, "{kind}: {body}");
        assert_eq!(body["error"], format!("{kind} happened"));
        assert_eq!(
            body["details"][0],
            "risk_config.yaml: rules.max_contracts.limit (line 4): must be positive"
        );
    }
    // The daemon drops the request (stopping): 503.
    *h.fake.admin_answer.lock().unwrap() = None;
    let (got, body) = h
        .post(
            "/v1/admin/flatten",
            Some(&admin),
            json!({"account": 7001, "reason": "eod"}),
        )
        .await;
    assert_eq!(got, 503, "{body}");
    assert!(body["error"].as_str().unwrap().contains("daemon"), "{body}");
    assert_eq!(h.fake.admin_requests().len(), 5);
    h.server.shutdown().await;
}
