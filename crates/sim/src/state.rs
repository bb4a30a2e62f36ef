//! The simulator's shared state: the matching book, the token issuer, the rate limiter, REST call counts,
//! injected faults and the hub registry, behind two mutexes (always taken in the order state → hubs, and
//! never held across an await).
//!
//! Book changes go through [`App::change`], which dispatches the resulting events to the hubs while the
//! state lock is still held, so every subscriber sees events in the order the book produced them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::auth::{RateLimiter, Tokens};
use crate::config::SimConfig;
use crate::fanout::Registry;
use crate::matching::{Book, Event, Reject};

/// Faults injected through `/sim/fault`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Faults {
    /// HTTP status of the next failing REST calls.
    pub rest_error_status: u16,
    /// How many REST calls still fail.
    pub rest_errors_left: u32,
    /// Delay added to every REST reply.
    pub latency_ms: u64,
}

/// Mutable state other than the hub registry.
#[derive(Debug)]
pub struct Inner {
    /// Accounts, contracts, markets, orders, positions, fills.
    pub book: Book,
    /// Token issuer.
    pub tokens: Tokens,
    /// Per-token REST budget.
    pub limiter: RateLimiter,
    /// REST calls by path (every call, refused ones included).
    pub rest_calls: BTreeMap<String, u64>,
    /// Injected faults.
    pub faults: Faults,
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct App {
    /// The configuration the simulator started from (and resets to).
    pub config: SimConfig,
    inner: Mutex<Inner>,
    hubs: Mutex<Registry>,
}

impl App {
    /// Fresh state from `config`.
    pub fn new(config: SimConfig) -> Arc<App> {
        let inner = Inner {
            book: Book::new(&config),
            tokens: Tokens::new(Duration::from_secs(config.token_lifetime_secs)),
            limiter: RateLimiter::new(
                config.rate_limit_requests,
                Duration::from_secs(config.rate_limit_window_secs),
            ),
            rest_calls: BTreeMap::new(),
            faults: Faults::default(),
        };
        Arc::new(App {
            config,
            inner: Mutex::new(inner),
            hubs: Mutex::new(Registry::default()),
        })
    }

    /// Locks the state.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Locks the hub registry (never take the state lock while holding it).
    pub fn hubs(&self) -> MutexGuard<'_, Registry> {
        self.hubs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs a book operation and dispatches its events before releasing the lock.
    pub fn change<R>(
        &self,
        op: impl FnOnce(&mut Book, jiff::Timestamp) -> Result<(R, Vec<Event>), Reject>,
    ) -> Result<R, Reject> {
        let mut inner = self.lock();
        let (result, events) = op(&mut inner.book, jiff::Timestamp::now())?;
        self.hubs().dispatch(&events);
        drop(inner);
        Ok(result)
    }

    /// The accounts `user` owns.
    pub fn owned_accounts(&self, user: &str) -> BTreeSet<i64> {
        self.config
            .users
            .iter()
            .filter(|u| u.user_name == user)
            .flat_map(|u| u.account_ids.iter().copied())
            .collect()
    }

    /// Back to the initial book; clears counts, faults and rate-limit windows. Tokens and hub connections
    /// stay valid.
    pub fn reset(&self) {
        let mut inner = self.lock();
        inner.book = Book::new(&self.config);
        inner.limiter.clear();
        inner.rest_calls.clear();
        inner.faults = Faults::default();
    }
}
