//! Tokens and roles: no token 401, the trader reads but cannot act (403), wrong passwords are counted and
//! five within a minute lock the login (429) even for the right password, an admin token acts; the token
//! files are 0600 and a token file readable by others is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use api::*;
use serde_json::json;
use support::*;

const ADMIN_ACTIONS: [(&str, &str); 4] = [
    (
        "/v1/admin/locks/clear",
        r#"{"account":7001,"rule":"daily_realized_loss","reason":"ok by risk desk"}"#,
    ),
    ("/v1/admin/reload", "{}"),
    (
        "/v1/admin/dry-run",
        r#"{"enabled":true,"reason":"testing"}"#,
    ),
    (
        "/v1/admin/flatten",
        r#"{"account":7001,"reason":"end of day"}"#,
    ),
];

#[tokio::test]
async fn no_unknown_or_missing_token_is_401_on_every_v1_route() {
    let h = Harness::start("noauth").await;
    for (method, path) in route_list() {
        if !path.starts_with("/v1/") || path == "/v1/admin/login" {
            continue;
        }
        for token in [
            None,
            Some("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
        ] {
            let (status, body) = if method == "GET" {
                h.get(path, token).await
            } else {
                h.post_raw(path, token, "{}").await
            };
            assert_eq!(status, 401, "{method} {path} with {token:?}: {body}");
            assert!(body["error"].is_string(), "{body}");
        }
    }
    assert!(h.fake.admin_requests().is_empty());
    h.server.shutdown().await;
}

#[tokio::test]
async fn the_trader_token_reads_but_gets_403_on_every_admin_action() {
    let h = Harness::start("trader").await;
    assert_eq!(h.get("/v1/status", Some(&h.trader)).await.0, 200);
    for (path, body) in ADMIN_ACTIONS {
        let (status, answer) = h.post_raw(path, Some(&h.trader), body).await;
        assert_eq!(status, 403, "{path}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("admin"),
            "{answer}"
        );
    }
    assert!(
        h.fake.admin_requests().is_empty(),
        "nothing reached the daemon"
    );
    h.server.shutdown().await;
}

#[tokio::test]
async fn an_admin_token_from_login_acts_in_the_admins_name() {
    let h = Harness::start_with("admin", true).await;
    let admin = h.admin_token().await;
    assert_eq!(
        h.get("/v1/accounts", Some(&admin)).await.0,
        200,
        "admin reads too"
    );
    for (path, body) in ADMIN_ACTIONS {
        let (status, answer) = h.post_raw(path, Some(&admin), body).await;
        assert_eq!(status, 200, "{path}: {answer}");
        assert_eq!(answer["message"], "done");
    }
    let seen = h.fake.admin_requests();
    assert_eq!(
        seen,
        vec![
            AdminRequest {
                by: "ops".into(),
                action: AdminAction::ClearLock {
                    account: 7001,
                    rule: "daily_realized_loss".into(),
                    reason: "ok by risk desk".into(),
                    confirm: false,
                }
            },
            AdminRequest {
                by: "ops".into(),
                action: AdminAction::Reload { confirm: false }
            },
            AdminRequest {
                by: "ops".into(),
                action: AdminAction::SetDryRun {
                    enabled: true,
                    reason: "testing".into(),
                    confirm: false,
                }
            },
            AdminRequest {
                by: "ops".into(),
                action: AdminAction::Flatten {
                    account: 7001,
                    reason: "end of day".into()
                }
            },
        ]
    );
    // The typed client does the same after logging in.
    let mut c = h.client();
    let answer = c.login(PASSWORD, None).await.unwrap();
    assert!(answer.expires_at > jiff::Timestamp::now());
    c.reload(false).await.unwrap();
    assert_eq!(h.fake.admin_requests().last().unwrap().by, "admin");
    h.server.shutdown().await;
}

#[tokio::test]
async fn wrong_passwords_are_401_counted_and_five_lock_the_login() {
    let h = Harness::start_with("lockout", true).await;
    for i in 1..=5 {
        let (status, body) = h
            .post(
                "/v1/admin/login",
                None,
                json!({"password": format!("wrong-{i}")}),
            )
            .await;
        assert_eq!(status, 401, "attempt {i}: {body}");
        assert_eq!(body["error"], "wrong password");
        let text = body.to_string();
        assert!(
            !text.contains("wrong-"),
            "the password is never echoed: {text}"
        );
    }
    let metrics = h.metrics().await;
    assert!(
        metrics.contains("riskguard_api_admin_login_failures_total 5\n"),
        "{metrics}"
    );

    // Locked now, even with the right password.
    let resp = h
        .http
        .post(h.url("/v1/admin/login"))
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("locked"), "{body}");
    h.server.shutdown().await;
}

#[tokio::test]
async fn login_without_a_password_set_says_how_to_set_one() {
    let h = Harness::start("nopass").await;
    let (status, body) = h
        .post("/v1/admin/login", None, json!({"password": "whatever1"}))
        .await;
    assert_eq!(status, 403);
    assert!(
        body["error"].as_str().unwrap().contains("set-password"),
        "{body}"
    );
    h.server.shutdown().await;
}

#[cfg(unix)]
#[tokio::test]
async fn token_files_are_0600_and_a_readable_token_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let h = Harness::start_with("modes", true).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&files::trader_token_path(h.dir.path())), 0o600);
    assert_eq!(mode(&files::admin_hash_path(h.dir.path())), 0o600);
    assert_eq!(mode(&files::api_dir(h.dir.path())), 0o700);
    assert_eq!(h.trader.len(), 64, "32 random bytes, hex");
    let hash = std::fs::read_to_string(files::admin_hash_path(h.dir.path())).unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");

    let token = files::trader_token_path(h.dir.path());
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = files::read_trader_token(h.dir.path()).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, FileError::TooOpen { mode: 0o644, .. }),
        "{text}"
    );
    assert!(text.contains("readable by group or others"), "{text}");
    assert!(!text.contains(&h.trader), "no secret in the message");
    let err = api::client::Client::from_data_dir(h.dir.path()).unwrap_err();
    assert!(
        err.to_string().contains("readable by group or others"),
        "{err}"
    );
    // A restart refuses it too.
    h.server.shutdown().await;
    let err = start(
        ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: h.dir.path().to_path_buf(),
        },
        Fake::new(view()),
    )
    .await
    .unwrap_err();
    assert!(err.contains("readable by group or others"), "{err}");
}

#[test]
fn set_admin_password_needs_the_old_one_and_eight_characters() {
    let dir = TempDir::new("setpw");
    assert!(matches!(
        set_admin_password(dir.path(), None, "short"),
        Err(PasswordError::TooShort)
    ));
    set_admin_password(dir.path(), None, "first password").unwrap();
    assert!(matches!(
        set_admin_password(dir.path(), None, "second password"),
        Err(PasswordError::OldRequired)
    ));
    assert!(matches!(
        set_admin_password(dir.path(), Some("not it at all"), "second password"),
        Err(PasswordError::WrongOld)
    ));
    set_admin_password(dir.path(), Some("first password"), "second password").unwrap();
    let hash = files::read_admin_hash(dir.path()).unwrap().unwrap();
    assert!(files::verify_password(&hash, "second password"));
    assert!(!files::verify_password(&hash, "first password"));
}
