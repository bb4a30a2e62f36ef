//! A local stand-in for the ProjectX Gateway (SIM.md): the REST endpoints, both SignalR hubs, a matching
//! model and a control surface, served over plain HTTP/WebSocket on a loopback address.
//!
//! Entry points: [`spawn`] serves on a listener the caller bound (tests bind `127.0.0.1:0`) and returns a
//! [`SimHandle`]; [`run_cli`] is what `riskguard sim --listen … [--config …]` calls. Modules: `config`
//! (YAML config and defaults), `auth` (tokens, rate limit), `matching` (the pure book), `state` (shared
//! state and event dispatch), `fanout` (hub connections and subscriptions), `signalr` (protocol text),
//! `hub` (WebSocket connections), `rest` (the gateway endpoints), `control` (`/sim/*`), `wire` (JSON
//! helpers).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::routing::{get, post};
use rust_decimal::Decimal;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

mod auth;
pub mod config;
mod control;
mod fanout;
mod hub;
pub mod matching;
mod rest;
mod signalr;
mod state;
mod wire;

pub use config::{AccountConfig, ContractConfig, SimConfig, UserConfig};
pub use fanout::{ConnView, HubKind, Subscriptions};

use state::App;

/// A running simulator.
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT` (no trailing slash); REST is under `/api`, hubs under `/hubs`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sets a contract's market in-process, exactly as `POST /sim/price` does (used by benchmarks).
    pub fn set_price(
        &self,
        contract_id: &str,
        last: Decimal,
        bid: Option<Decimal>,
        ask: Option<Decimal>,
    ) -> anyhow::Result<()> {
        self.app
            .change(|book, now| {
                book.set_price(contract_id, last, bid, ask, now)
                    .map(|e| ((), e))
            })
            .map_err(|e| anyhow::anyhow!("set price: {e}"))
    }

    /// The open hub connections and their subscriptions, as `GET /sim/state` lists them under
    /// `hubConnections`, without building the rest of the state (benchmarks poll this between breaches,
    /// and the full state grows with every order and fill).
    pub fn hub_connections(&self) -> Vec<ConnView> {
        self.app.hubs().views()
    }

    /// Stops serving: drops every hub connection and waits for the server task.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.stop_now();
        if let Some(task) = self.task.take() {
            task.await
                .context("simulator task panicked")?
                .context("simulator server failed")?;
        }
        Ok(())
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.app.hubs().kill_all();
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop_now();
    }
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/api/{*path}", post(rest::api))
        .route("/hubs/user", get(hub::user_hub))
        .route("/hubs/market", get(hub::market_hub))
        .route("/hubs/{hub}/negotiate", post(hub::negotiate))
        .route("/sim/price", post(control::price))
        .route("/sim/account", post(control::account))
        .route("/sim/fault", post(control::fault))
        .route("/sim/state", get(control::state))
        .route("/sim/fill", post(control::fill))
        .route("/sim/void", post(control::void))
        .route("/sim/reset", post(control::reset))
        .with_state(app)
}

/// Serves the simulator on `listener` until [`SimHandle::shutdown`] (or drop).
pub async fn spawn(
    config: SimConfig,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<SimHandle> {
    config.validate()?;
    let addr = listener
        .local_addr()
        .context("reading the listener address")?;
    let app = App::new(config);
    let (stop, stopped) = oneshot::channel::<()>();
    let service = router(app.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, service)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    Ok(SimHandle {
        addr,
        app,
        stop: Some(stop),
        task: Some(task),
    })
}

/// `riskguard sim`: loads the config (or the default), listens on `listen`, prints the base URL on stdout
/// and serves until Ctrl-C.
pub async fn run_cli(listen: &str, config_path: Option<&Path>) -> anyhow::Result<()> {
    let config = match config_path {
        Some(path) => SimConfig::load(path)?,
        None => SimConfig::default(),
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let handle = spawn(config, listener).await?;
    println!("{}", handle.base_url());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    handle.shutdown().await
}
