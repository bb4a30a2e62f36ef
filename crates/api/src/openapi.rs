//! `GET /openapi.json`: a hand-written OpenAPI 3.1 description of every route, the bearer scheme and the wire
//! types' schemas. A test checks that every route of the router appears in it.
//!
//! It needs no token: the server is bound to loopback and the document holds no data.

use axum::Json;
use serde_json::{Value, json};

fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn array_of(name: &str) -> Value {
    json!({ "type": "array", "items": r(name) })
}

fn ok(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn error(description: &str) -> Value {
    ok(description, r("ErrorBody"))
}

fn read(summary: &str, schema: Value) -> Value {
    json!({ "get": {
        "summary": summary,
        "security": [{ "bearer": [] }],
        "responses": { "200": ok(summary, schema), "401": error("no, unknown or expired token") }
    }})
}

fn action(summary: &str, body: Value) -> Value {
    json!({ "post": {
        "summary": summary,
        "security": [{ "bearer": [] }],
        "requestBody": { "required": true, "content": { "application/json": { "schema": body } } },
        "responses": {
            "200": ok("done", r("AdminDone")),
            "400": error("bad request, blank reason, or the daemon refused it (config errors in details)"),
            "401": error("no, unknown or expired token"),
            "403": error("the trader token cannot act"),
            "404": error("no such account or lock"),
            "409": error("needs_confirmation: a loosening during the trading day; details list what loosens; send again with confirm"),
            "413": error("body larger than 64 KiB"),
            "422": error("unknown field, missing field or wrong type"),
            "503": error("the daemon is unavailable or did not answer within 10 s")
        }
    }})
}

fn body(properties: Value, required: &[&str]) -> Value {
    json!({ "type": "object", "additionalProperties": false, "properties": properties, "required": required })
}

fn object(properties: Value) -> Value {
    let required: Vec<String> = properties
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    json!({ "type": "object", "properties": properties, "required": required })
}

fn schemas() -> Value {
    let decimal =
        json!({ "type": "string", "description": "a decimal number as text, e.g. \"-320.50\"" });
    let decimal_opt =
        json!({ "type": ["string", "null"], "description": "a decimal number as text" });
    let instant = json!({ "type": "string", "format": "date-time" });
    let instant_opt = json!({ "type": ["string", "null"], "format": "date-time" });
    json!({
        "ErrorBody": {
            "type": "object",
            "properties": { "error": { "type": "string" }, "details": { "type": "array", "items": { "type": "string" } } },
            "required": ["error"]
        },
        "HubState": object(json!({
            "login": { "type": "string" }, "hub": { "type": "string", "enum": ["user", "market"] },
            "up": { "type": "boolean" }, "since": instant_opt, "reconnects": { "type": "integer" }
        })),
        "Status": object(json!({
            "version": { "type": "string" }, "startedAt": instant, "uptimeSecs": { "type": "integer" },
            "dryRun": { "type": "boolean" }, "hubs": array_of("HubState"),
            "lastEventAt": instant_opt, "lastEventAgeMs": { "type": ["integer", "null"] },
            "enforcementOnline": { "type": "boolean" }, "journalDegraded": { "type": "boolean" },
            "malformedPayloads": { "type": "integer" }, "restErrors": { "type": "integer" }
        })),
        "RuleUsage": object(json!({
            "rule": { "type": "string" }, "used": decimal, "limit": decimal,
            "unit": { "type": "string", "enum": ["contracts", "usd", "trades", "positions", "seconds"] },
            "fraction": decimal, "text": { "type": "string" }
        })),
        "Account": object(json!({
            "id": { "type": "integer" }, "canTrade": { "type": ["boolean", "null"] },
            "state": { "type": "string", "enum": ["ok", "cooldown", "locked"] },
            "stateReason": { "type": ["string", "null"] }, "stateUntil": instant_opt,
            "realizedPnl": decimal, "unrealizedPnl": decimal, "netPnl": decimal,
            "openPositions": { "type": "integer" }, "workingOrders": { "type": "integer" },
            "usage": array_of("RuleUsage")
        })),
        "Position": object(json!({
            "account": { "type": "integer" }, "contract": { "type": "string" }, "size": { "type": "integer" },
            "averagePrice": decimal, "lastPrice": decimal_opt, "unrealizedPnl": decimal_opt,
            "hasStop": { "type": "boolean" }, "stopGraceUntil": instant_opt, "openedAt": instant
        })),
        "Order": object(json!({
            "account": { "type": "integer" }, "order": { "type": "integer" }, "contract": { "type": "string" },
            "status": { "type": "string" }, "orderType": { "type": "string" }, "side": { "type": "string" },
            "size": { "type": "integer" }, "limitPrice": decimal_opt, "stopPrice": decimal_opt
        })),
        "Lock": object(json!({
            "account": { "type": "integer" }, "rule": { "type": "string" },
            "kind": { "type": "string", "enum": ["cooldown", "until_reset", "until_can_trade", "permanent"] },
            "reason": { "type": "string" }, "since": instant, "until": instant_opt
        })),
        "View": object(json!({
            "at": instant, "status": r("Status"), "accounts": array_of("Account"),
            "positions": array_of("Position"), "orders": array_of("Order"), "locks": array_of("Lock"),
            "pending": array_of("PendingChange")
        })),
        "PendingChange": object(json!({
            "id": { "type": "integer" }, "kind": { "type": "string", "enum": ["clear_lock", "config", "dry_run"] },
            "account": { "type": ["integer", "null"] }, "description": { "type": "string" },
            "loosens": { "type": "array", "items": { "type": "string" } }, "reason": { "type": "string" },
            "by": { "type": "string" }, "requestedAt": instant, "effectiveAt": instant
        })),
        "DecisionRecord": object(json!({
            "t": instant, "account": { "type": "integer" }, "rule": { "type": "string" },
            "action": { "type": "string" }, "details": {}, "reason": { "type": "string" },
            "dryRun": { "type": "boolean" }
        })),
        "AccountRules": object(json!({ "account": { "type": "integer" }, "rules": { "type": "object" } })),
        "Holiday": object(json!({
            "date": { "type": "string", "format": "date" }, "name": { "type": "string" },
            "kind": { "type": "string", "description": "`closed` or the early close time HH:MM" }
        })),
        "Holidays": {
            "type": "object",
            "properties": {
                "timezone": { "type": "string" }, "holidays": array_of("Holiday"),
                "next": { "oneOf": [r("Holiday"), { "type": "null" }] }, "sessions": {}
            },
            "required": ["timezone", "holidays", "next", "sessions"]
        },
        "LoginRequest": {
            "type": "object", "additionalProperties": false,
            "properties": { "password": { "type": "string" }, "name": { "type": ["string", "null"], "description": "who logs in, for the journal (default admin)" } },
            "required": ["password"]
        },
        "LoginAnswer": object(json!({ "token": { "type": "string" }, "expiresAt": instant })),
        "AdminDone": {
            "type": "object",
            "properties": { "message": { "type": "string" }, "pending": r("PendingChange") },
            "required": ["message"]
        },
        "StreamEvent": {
            "description": "One Server-Sent Event of /v1/stream: the SSE `event:` field is the name, `data:` the JSON below.",
            "oneOf": [
                { "title": "snapshot", "$ref": "#/components/schemas/View" },
                { "title": "decision", "$ref": "#/components/schemas/DecisionRecord" },
                { "title": "status", "$ref": "#/components/schemas/Status" },
                { "title": "account", "$ref": "#/components/schemas/Account" },
                { "title": "positions", "type": "array", "items": r("Position") },
                { "title": "orders", "type": "array", "items": r("Order") },
                { "title": "locks", "type": "array", "items": r("Lock") },
                { "title": "pending", "type": "array", "items": r("PendingChange") }
            ]
        }
    })
}

/// The whole document.
pub fn document() -> Value {
    let reason = json!({ "type": "string", "minLength": 1, "description": "why (journaled); must not be blank" });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "riskguard internal API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Loopback-only API of the riskguard daemon. Money is decimal text, instants RFC 3339 UTC. Errors are ErrorBody JSON."
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http", "scheme": "bearer",
                    "description": "The trader token (<data_dir>/api/trader.token) reads; an admin token from POST /v1/admin/login (15 minutes) reads and acts."
                }
            },
            "schemas": schemas()
        },
        "paths": {
            "/v1/status": read("the daemon's status (uptimeSecs and lastEventAgeMs as of the answer)", r("Status")),
            "/v1/accounts": read("the watched accounts", array_of("Account")),
            "/v1/positions": read("open positions", array_of("Position")),
            "/v1/orders": read("working orders", array_of("Order")),
            "/v1/locks": read("account locks", array_of("Lock")),
            "/v1/decisions": {
                "get": {
                    "summary": "the trading day's decisions, newest last",
                    "security": [{ "bearer": [] }],
                    "parameters": [
                        { "name": "since", "in": "query", "required": false, "schema": { "type": "string", "format": "date-time" } },
                        { "name": "account", "in": "query", "required": false, "schema": { "type": "integer" } }
                    ],
                    "responses": {
                        "200": ok("decisions", array_of("DecisionRecord")),
                        "400": error("bad query parameter"),
                        "401": error("no, unknown or expired token")
                    }
                }
            },
            "/v1/rules": read("the effective rules per account", array_of("AccountRules")),
            "/v1/holidays": read("holidays and session windows", r("Holidays")),
            "/v1/pending": read("changes waiting out their cooling-off delay", array_of("PendingChange")),
            "/v1/trader/done-for-today": {
                "post": {
                    "summary": "the trader's self-lock: every account locked until the next daily reset (trader token is enough)",
                    "security": [{ "bearer": [] }],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": body(
                        json!({ "reason": { "type": ["string", "null"] } }), &[]) } } },
                    "responses": {
                        "200": ok("done", r("AdminDone")),
                        "401": error("no, unknown or expired token"),
                        "503": error("the daemon is unavailable or did not answer within 10 s")
                    }
                }
            },
            "/v1/stream": {
                "get": {
                    "summary": "live feed (Server-Sent Events): a snapshot, then decision/status/account/positions/orders/locks deltas; keep-alive comments every 15 s",
                    "security": [{ "bearer": [] }],
                    "responses": {
                        "200": { "description": "an SSE stream of StreamEvent", "content": { "text/event-stream": { "schema": r("StreamEvent") } } },
                        "401": error("no, unknown or expired token")
                    }
                }
            },
            "/v1/admin/login": {
                "post": {
                    "summary": "exchange the admin password for a 15-minute admin token",
                    "security": [],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": r("LoginRequest") } } },
                    "responses": {
                        "200": ok("an admin token", r("LoginAnswer")),
                        "401": error("wrong password (counted: 5 within 60 s lock the login for 5 minutes)"),
                        "403": error("no admin password is set"),
                        "429": error("login locked; see Retry-After")
                    }
                }
            },
            "/v1/admin/locks/clear": action("clear one lock of one account (during the trading day: confirm, then a cooling-off delay)", body(
                json!({ "account": { "type": "integer" }, "rule": { "type": "string" }, "reason": reason, "confirm": { "type": "boolean" } }),
                &["account", "rule", "reason"])),
            "/v1/admin/reload": action("re-read and validate risk_config.yaml (loosening during the trading day: confirm, then a cooling-off delay)", body(
                json!({ "confirm": { "type": "boolean" } }), &[])),
            "/v1/admin/rules/set": action("set one key of risk_config.yaml, keeping its comments; validated, then reloaded", body(
                json!({ "key": { "type": "string", "description": "RULE.KEY, global.KEY or accounts.ID.RULE.KEY" },
                        "value": { "type": "string", "description": "a YAML value" }, "reason": reason,
                        "confirm": { "type": "boolean" } }),
                &["key", "value", "reason"])),
            "/v1/admin/pending/cancel": action("withdraw a pending change", body(
                json!({ "id": { "type": "integer" }, "reason": reason }), &["id", "reason"])),
            "/v1/admin/dry-run": action("switch dry-run on or off (on, during the trading day: confirm, then a cooling-off delay)", body(
                json!({ "enabled": { "type": "boolean" }, "reason": reason, "confirm": { "type": "boolean" } }), &["enabled", "reason"])),
            "/v1/admin/flatten": action("close every position and cancel every working order of an account", body(
                json!({ "account": { "type": "integer" }, "reason": reason }), &["account", "reason"])),
            "/metrics": {
                "get": {
                    "summary": "Prometheus text exposition (no token: loopback only, counts, no secrets)",
                    "security": [],
                    "responses": { "200": { "description": "metrics", "content": { "text/plain; version=0.0.4": { "schema": { "type": "string" } } } } }
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "this document (no token)",
                    "security": [],
                    "responses": { "200": { "description": "OpenAPI 3.1", "content": { "application/json": { "schema": { "type": "object" } } } } }
                }
            }
        }
    })
}

/// `GET /openapi.json`.
pub async fn handler() -> Json<Value> {
    Json(document())
}
