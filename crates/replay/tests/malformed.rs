//! Malformed payloads never panic: they are reported as bad lines, or normalised with unknown values kept.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use engine::Engine;
use proptest::prelude::*;
use replay::format::{Item, parse_line};

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        (-1.0e12f64..1.0e12).prop_map(serde_json::Value::from),
        "[a-zA-Z0-9 .:-]{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop::collection::vec(inner, 0..3).prop_map(serde_json::Value::from)
    })
}

const FIELDS: &[&str] = &[
    "id",
    "accountId",
    "contractId",
    "type",
    "size",
    "averagePrice",
    "status",
    "side",
    "stopPrice",
    "limitPrice",
    "profitAndLoss",
    "fees",
    "voided",
    "orderId",
    "canTrade",
    "lastPrice",
    "bestBid",
    "tickSize",
    "tickValue",
    "name",
    "customTag",
    "price",
];

fn payload() -> impl Strategy<Value = serde_json::Value> {
    prop::collection::btree_map(prop::sample::select(FIELDS), json_value(), 0..10).prop_map(|m| {
        serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    })
}

proptest! {
    #[test]
    fn any_payload_is_parsed_or_reported_never_a_panic(
        kind in prop::sample::select(vec!["position", "order", "trade", "quote", "account", "contract", "admin"]),
        data in payload(),
    ) {
        let line = serde_json::json!({"t": "2026-03-02T15:00:00Z", "kind": kind, "contractId": "CON.F.US.MNQ.H26", "data": data});
        let mut engine = Engine::new(Arc::new(model::config::RiskConfig::default()));
        match parse_line(&line.to_string()) {
            Ok(Some(parsed)) => {
                if let Item::Event(e) = parsed.item {
                    let _ = engine.handle(&e, parsed.t);
                }
            }
            Ok(None) => prop_assert!(false, "a JSON line is never skipped"),
            Err(reason) => prop_assert!(!reason.is_empty()),
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,80}") {
        let _ = parse_line(&text);
    }
}

#[test]
fn unknown_enum_values_are_kept_and_an_unknown_type_is_not_a_stop() {
    // A long position with a "stop" of unknown type 42: no_stop_loss_grace must still close it.
    let cfg = config::parse_risk_config(
        "rules: { no_stop_loss_grace: { enabled: true, grace_period_seconds: 30 } }",
        std::path::Path::new("t.yaml"),
        None,
    )
    .unwrap();
    let input = [
        r#"{"t":"2026-03-02T15:00:00Z","kind":"order","data":{"id":5,"accountId":1,"contractId":"CON.F.US.MNQ.H26","status":1,"type":42,"side":1,"size":1,"stopPrice":20950}}"#,
        r#"{"t":"2026-03-02T15:00:01Z","kind":"position","data":{"accountId":1,"contractId":"CON.F.US.MNQ.H26","type":1,"size":1,"averagePrice":21000}}"#,
        r#"{"t":"2026-03-02T15:00:31Z","kind":"clock"}"#,
    ]
    .join("\n");
    let mut out = Vec::new();
    replay::run(&cfg, input.as_bytes(), "t", &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains(r#""rule":"no_stop_loss_grace","action":"close_position""#),
        "{out}"
    );
    assert!(out.contains(r#""t":"2026-03-02T15:00:31Z""#), "{out}");
}
