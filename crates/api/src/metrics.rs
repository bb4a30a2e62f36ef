//! `GET /metrics`: the daemon's own exposition followed by the API's counters, in Prometheus text format
//! (version 0.0.4). The API's counters are kept here by hand (a few atomics and a map), not in a registry:
//! HTTP requests by route template and status, connected stream clients, and failed admin logins.
//!
//! `/metrics` needs no token: the server is bound to loopback, and the exposition carries counts, never a
//! secret or an account's money.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Extension;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::server::AppState;

/// The API's counters.
#[derive(Debug, Default)]
pub struct ApiMetrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    stream_clients: AtomicI64,
    login_failures: AtomicU64,
}

/// Counts one connected stream client while it lives.
#[derive(Debug)]
pub struct StreamClient(Arc<AppState>);

impl Drop for StreamClient {
    fn drop(&mut self) {
        self.0
            .metrics
            .stream_clients
            .fetch_sub(1, Ordering::Relaxed);
    }
}

impl ApiMetrics {
    pub fn login_failed(&self) {
        self.login_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stream_client(state: &Arc<AppState>) -> StreamClient {
        state.metrics.stream_clients.fetch_add(1, Ordering::Relaxed);
        StreamClient(Arc::clone(state))
    }

    fn request(&self, route: &str, status: u16) {
        let mut map = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *map.entry((route.to_owned(), status)).or_default() += 1;
    }

    /// The API's counters as Prometheus text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP riskguard_api_requests_total HTTP requests answered, by route and status.\n",
        );
        out.push_str("# TYPE riskguard_api_requests_total counter\n");
        {
            let map = self
                .requests
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for ((route, status), n) in map.iter() {
                let _ = writeln!(
                    out,
                    "riskguard_api_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP riskguard_api_stream_clients Clients connected to /v1/stream.\n");
        out.push_str("# TYPE riskguard_api_stream_clients gauge\n");
        let _ = writeln!(
            out,
            "riskguard_api_stream_clients {}",
            self.stream_clients.load(Ordering::Relaxed)
        );
        out.push_str("# HELP riskguard_api_admin_login_failures_total Admin logins refused for a wrong password.\n");
        out.push_str("# TYPE riskguard_api_admin_login_failures_total counter\n");
        let _ = writeln!(
            out,
            "riskguard_api_admin_login_failures_total {}",
            self.login_failures.load(Ordering::Relaxed)
        );
        out
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Counts every answer by its route template (`unmatched` for unknown paths, so they cannot grow the map).
pub async fn count_requests(
    Extension(state): Extension<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics.request(&route, response.status().as_u16());
    response
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut text = state.daemon.metrics();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&state.metrics.render());
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
