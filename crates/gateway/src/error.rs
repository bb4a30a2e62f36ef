//! The adapter's error type and the redaction every message goes through.
//!
//! No error carries a secret: projectx-client's errors never print tokens, credentials or the provider's
//! free-form message; the provider message we do keep (on rejections) is cleaned of control characters,
//! shortened, and passed through [`redact`], which hides `access_token=` values and bearer tokens.

use model::normalize::PayloadError;
use thiserror::Error;

use crate::feed::HubKind;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// Bad endpoints or credentials shape; nothing was sent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// `Auth/loginKey` failed (refused credentials, transport, ...).
    #[error("login failed: {0}")]
    Login(String),
    /// A read failed: transport, HTTP status, throttling, undecodable body.
    #[error("{endpoint}: {detail}")]
    Rest {
        endpoint: &'static str,
        detail: String,
    },
    /// The gateway answered `success: false` to a read.
    #[error("{endpoint}: rejected with code {code}: {message}")]
    Rejected {
        endpoint: &'static str,
        code: i64,
        message: String,
    },
    /// A success envelope without its list: not evidence of an empty list, so an error.
    #[error("{endpoint}: the answer carried no `{field}` list")]
    Absent {
        endpoint: &'static str,
        field: &'static str,
    },
    /// A row the normaliser refused; the whole read fails rather than silently dropping the row.
    #[error("{endpoint}: {error}")]
    Payload {
        endpoint: &'static str,
        error: PayloadError,
    },
    /// A hub connection or invocation failed.
    #[error("{hub} hub: {detail}")]
    Hub { hub: HubKind, detail: String },
    /// The session was shut down.
    #[error("the session is shut down")]
    Closed,
}

/// Hides `access_token=<value>` and `Bearer <value>` in a message meant for a log line or an error.
pub fn redact(text: &str) -> String {
    let mut out = redact_after(text, "access_token=", |c: char| {
        c == '&' || c == '"' || c == '\'' || c.is_whitespace()
    });
    for prefix in ["Bearer ", "bearer "] {
        out = redact_after(&out, prefix, |c: char| {
            c == '"' || c == '\'' || c == ',' || c.is_whitespace()
        });
    }
    out
}

fn redact_after(text: &str, marker: &str, end: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let (head, tail) = rest.split_at(at + marker.len());
        out.push_str(head);
        let stop = tail.find(&end).unwrap_or(tail.len());
        if stop > 0 {
            out.push_str("***");
        }
        rest = &tail[stop..];
    }
    out.push_str(rest);
    out
}

/// Untrusted provider text made fit for a log line: control characters dropped, at most 200 characters,
/// tokens redacted.
pub fn clean_untrusted(text: &str) -> String {
    let cleaned: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
    redact(&cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_redacted() {
        assert_eq!(
            redact("wss://rtc/hubs/user?access_token=eyJabc.def&x=1 and Bearer eyJ.z.q, ok"),
            "wss://rtc/hubs/user?access_token=***&x=1 and Bearer ***, ok"
        );
        assert_eq!(redact("nothing here"), "nothing here");
        assert_eq!(redact("access_token="), "access_token=");
    }

    #[test]
    fn untrusted_text_is_cleaned() {
        let dirty = format!("bad\u{1b}[31m price\n{}", "x".repeat(500));
        let clean = clean_untrusted(&dirty);
        assert!(!clean.contains('\u{1b}') && !clean.contains('\n'));
        assert_eq!(clean.chars().count(), 200);
    }
}
