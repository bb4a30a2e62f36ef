//! Session tokens and the per-token REST rate limit.
//!
//! Tokens are real-looking JWTs (`header.payload.signature`, base64url, HS256 over a random per-process key)
//! carrying `sub` (the user), `jti`, `iat` and `exp`. A token is valid while its signature checks, its `exp`
//! is in the future and it was issued since the last `expire_tokens` fault (each token records the
//! generation it was issued in). `Auth/validate` issues a new token; the old one stays valid until its
//! own expiry.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use data_encoding::BASE64URL_NOPAD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    jti: u64,
    #[serde(rename = "gen")]
    generation: u64,
    iat: i64,
    exp: i64,
}

/// Issues and checks tokens.
#[derive(Debug)]
pub struct Tokens {
    key: [u8; 32],
    lifetime: Duration,
    generation: u64,
    next_jti: u64,
}

impl Tokens {
    /// A token issuer with a fresh random key.
    pub fn new(lifetime: Duration) -> Self {
        let mut key = [0_u8; 32];
        if getrandom::fill(&mut key).is_err() {
            // No OS randomness: fall back to a time-derived key (still per-process).
            let nanos = jiff::Timestamp::now().as_nanosecond().to_le_bytes();
            key[..16].copy_from_slice(&nanos);
        }
        Tokens {
            key,
            lifetime,
            generation: 0,
            next_jti: 1,
        }
    }

    /// Issues a token for `user`.
    pub fn issue(&mut self, user: &str, now: jiff::Timestamp) -> String {
        let iat = now.as_second();
        let lifetime = i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = Claims {
            sub: user.to_owned(),
            jti: self.next_jti,
            generation: self.generation,
            iat,
            exp: iat.saturating_add(lifetime),
        };
        self.next_jti += 1;
        let header = BASE64URL_NOPAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = BASE64URL_NOPAD.encode(&serde_json::to_vec(&claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let signature = BASE64URL_NOPAD.encode(&self.sign(signing_input.as_bytes()));
        format!("{signing_input}.{signature}")
    }

    /// The user a valid token belongs to; `None` for a forged, malformed, expired or revoked token.
    pub fn verify(&self, token: &str, now: jiff::Timestamp) -> Option<String> {
        let (signing_input, signature) = token.rsplit_once('.')?;
        let (_header, payload) = signing_input.split_once('.')?;
        let signature = BASE64URL_NOPAD.decode(signature.as_bytes()).ok()?;
        let mut mac = HmacSha256::new_from_slice(&self.key).ok()?;
        mac.update(signing_input.as_bytes());
        mac.verify_slice(&signature).ok()?;
        let claims: Claims =
            serde_json::from_slice(&BASE64URL_NOPAD.decode(payload.as_bytes()).ok()?).ok()?;
        (claims.exp > now.as_second() && claims.generation == self.generation).then_some(claims.sub)
    }

    /// Makes every token issued so far invalid.
    pub fn expire_all(&mut self) {
        self.generation += 1;
    }

    fn sign(&self, input: &[u8]) -> Vec<u8> {
        match HmacSha256::new_from_slice(&self.key) {
            Ok(mut mac) => {
                mac.update(input);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    }
}

/// Sliding-window request counter per token.
#[derive(Debug)]
pub struct RateLimiter {
    limit: usize,
    window: Duration,
    calls: HashMap<String, VecDeque<Instant>>,
}

impl RateLimiter {
    /// `limit` requests per `window` per token.
    pub fn new(limit: u32, window: Duration) -> Self {
        RateLimiter {
            limit: limit as usize,
            window,
            calls: HashMap::new(),
        }
    }

    /// Counts a request; `false` when the token is over its budget (the refused request is not counted).
    pub fn admit(&mut self, token: &str, now: Instant) -> bool {
        if self.calls.len() > 10_000 {
            let window = self.window;
            self.calls
                .retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let queue = self.calls.entry(token.to_owned()).or_default();
        while queue
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            queue.pop_front();
        }
        if queue.len() >= self.limit {
            return false;
        }
        queue.push_back(now);
        true
    }

    /// Forgets every count.
    pub fn clear(&mut self) {
        self.calls.clear();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn tokens_verify_expire_and_revoke() {
        let mut tokens = Tokens::new(Duration::from_secs(60));
        let now = jiff::Timestamp::now();
        let t = tokens.issue("demo", now);
        assert_eq!(t.split('.').count(), 3);
        assert_eq!(tokens.verify(&t, now).as_deref(), Some("demo"));
        assert_eq!(
            tokens.verify(&t, now + jiff::SignedDuration::from_secs(61)),
            None
        );
        let mut forged = t.clone();
        forged.push('A');
        assert_eq!(tokens.verify(&forged, now), None);
        assert_eq!(tokens.verify("garbage", now), None);
        let other = Tokens::new(Duration::from_secs(60));
        assert_eq!(other.verify(&t, now), None);
        tokens.expire_all();
        assert_eq!(tokens.verify(&t, now), None);
        let t2 = tokens.issue("demo", now);
        assert!(tokens.verify(&t2, now).is_some());
    }

    #[test]
    fn rate_limit_is_per_token_and_slides() {
        let mut rl = RateLimiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(rl.admit("a", t0));
        assert!(rl.admit("a", t0));
        assert!(!rl.admit("a", t0));
        assert!(rl.admit("b", t0));
        assert!(rl.admit("a", t0 + Duration::from_secs(60)));
    }
}
