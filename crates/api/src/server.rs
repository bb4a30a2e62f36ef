//! The server: binding (loopback only), the router and its layers, serving until shutdown.
//!
//! The router is built from one table ([`build`]) that also lists every route, so `/openapi.json` can be
//! checked against it. Layers, outside in: request counting, the 64 KiB body limit; per group: `/v1` reads
//! need a token, `/v1/admin/*` actions an admin token; `/metrics`, `/openapi.json` and the login need none.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::{Extension, Router, middleware};
use tokio::sync::{oneshot, watch};

use crate::auth::{self, Auth};
use crate::error::{self, BODY_LIMIT};
use crate::metrics::{self, ApiMetrics};
use crate::{Daemon, Server, ServerConfig, admin, files, openapi, routes, stream};

/// What every handler shares.
pub struct AppState {
    pub daemon: Arc<dyn Daemon>,
    pub auth: Auth,
    pub metrics: ApiMetrics,
    /// Turns `true` when the server stops: open streams end.
    pub shutdown: watch::Receiver<bool>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

type Shared = Arc<AppState>;

/// A router under construction and the routes it has, as (method, path).
struct Table {
    router: Router<Shared>,
    routes: Vec<(&'static str, &'static str)>,
}

impl Table {
    fn new() -> Table {
        Table {
            router: Router::new(),
            routes: Vec::new(),
        }
    }

    fn get<H, T>(mut self, path: &'static str, handler: H) -> Table
    where
        H: Handler<T, Shared>,
        T: 'static,
    {
        self.router = self.router.route(path, get(handler));
        self.routes.push(("GET", path));
        self
    }

    fn post<H, T>(mut self, path: &'static str, handler: H) -> Table
    where
        H: Handler<T, Shared>,
        T: 'static,
    {
        self.router = self.router.route(path, post(handler));
        self.routes.push(("POST", path));
        self
    }
}

/// The whole router (state still to be given) and its route list.
fn build() -> (Router<Shared>, Vec<(&'static str, &'static str)>) {
    let public = Table::new()
        .get("/metrics", metrics::metrics)
        .get("/openapi.json", openapi::handler)
        .post("/v1/admin/login", auth::login);
    let read = Table::new()
        .get("/v1/status", routes::status)
        .get("/v1/accounts", routes::accounts)
        .get("/v1/positions", routes::positions)
        .get("/v1/orders", routes::orders)
        .get("/v1/locks", routes::locks)
        .get("/v1/decisions", routes::decisions)
        .get("/v1/rules", routes::rules)
        .get("/v1/holidays", routes::holidays)
        .get("/v1/pending", routes::pending)
        .get("/v1/stream", stream::handler)
        .post("/v1/trader/done-for-today", admin::done_for_today);
    let act = Table::new()
        .post("/v1/admin/locks/clear", admin::clear_lock)
        .post("/v1/admin/reload", admin::reload)
        .post("/v1/admin/dry-run", admin::dry_run)
        .post("/v1/admin/flatten", admin::flatten)
        .post("/v1/admin/rules/set", admin::set_rule)
        .post("/v1/admin/pending/cancel", admin::cancel_pending);
    let mut list = public.routes;
    list.extend(read.routes);
    list.extend(act.routes);
    let router = public
        .router
        .merge(
            read.router
                .route_layer(middleware::from_fn(auth::require_token)),
        )
        .merge(
            act.router
                .route_layer(middleware::from_fn(auth::require_admin))
                .route_layer(middleware::from_fn(auth::require_token)),
        )
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(metrics::count_requests));
    (router, list)
}

/// Every route the server answers, as (method, path): what `/openapi.json` must describe.
pub fn route_list() -> Vec<(&'static str, &'static str)> {
    build().1
}

fn check_loopback(listen: SocketAddr) -> Result<(), String> {
    if listen.ip().is_loopback() {
        Ok(())
    } else {
        Err(format!(
            "the internal API listens on loopback only (127.0.0.1 or ::1), not {listen}: it serves account data and admin actions"
        ))
    }
}

fn write_endpoint(data_dir: &Path, addr: SocketAddr) -> Result<(), String> {
    files::write_private(&files::endpoint_path(data_dir), &format!("{addr}\n"))
        .map_err(|e| format!("cannot write the API endpoint file: {e}"))
}

pub(crate) async fn start(config: ServerConfig, daemon: Arc<dyn Daemon>) -> Result<Server, String> {
    check_loopback(config.listen)?;
    let data_dir = config.data_dir;
    let token_dir = data_dir.clone();
    let trader_token =
        tokio::task::spawn_blocking(move || files::load_or_create_trader_token(&token_dir))
            .await
            .map_err(|e| format!("cannot prepare the API's files: {e}"))?
            .map_err(|e| format!("cannot prepare the trader token: {e}"))?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let local_addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    check_loopback(local_addr)?;
    write_endpoint(&data_dir, local_addr)?;

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let state = Arc::new(AppState {
        daemon,
        auth: Auth::new(trader_token, data_dir),
        metrics: ApiMetrics::default(),
        shutdown: shutdown_rx,
    });
    let app = build()
        .0
        .layer(Extension(Arc::clone(&state)))
        .with_state(state);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let signal = async move {
            let _ = stopped.await;
            let _ = shutdown_tx.send(true);
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(signal)
            .await
        {
            tracing::error!("internal API: {e}");
        }
    });
    tracing::info!(%local_addr, "internal API listening");
    Ok(Server {
        local_addr,
        stop: Some(stop),
        task: Some(task),
    })
}
