//! riskguard's internal API: the HTTP server inside the daemon (bound to loopback only) and the wire types
//! that its clients (`riskguard status`, the trader's TUI, the admin commands) share with it.
//!
//! The daemon implements [`Daemon`]; the server never touches the engine or the store directly. Reads come
//! from the latest published [`types::View`] (the loop publishes one after every change, quotes throttled),
//! admin actions go to the daemon's loop as [`types::AdminRequest`]s and come back answered.

mod admin;
mod auth;
pub mod client;
mod error;
pub mod files;
mod metrics;
pub mod openapi;
mod routes;
mod server;
mod stream;
pub mod types;

use std::sync::Arc;

pub use files::{FileError, PasswordError, set_admin_password};
pub use server::route_list;
pub use stream::diff;

use tokio::sync::{broadcast, oneshot, watch};

pub use types::*;

/// What the server needs from the daemon. Every method is cheap and non-blocking: the daemon answers from
/// published state, and admin requests are queued to its loop.
pub trait Daemon: Send + Sync + 'static {
    /// The latest view, and a receiver that sees every later one.
    fn view(&self) -> watch::Receiver<Arc<View>>;
    /// Decisions as they are taken (within the event-loop turn that took them).
    fn decisions(&self) -> broadcast::Receiver<DecisionRecord>;
    /// The trading day's decisions (newest last), filtered.
    fn decision_history(
        &self,
        since: Option<jiff::Timestamp>,
        account: Option<i64>,
    ) -> Vec<DecisionRecord>;
    /// The effective rules per account.
    fn rules(&self) -> Vec<AccountRules>;
    /// Holidays and session windows.
    fn holidays(&self) -> Holidays;
    /// Queue an admin action for the daemon's loop; the answer comes on the receiver.
    fn admin(&self, request: AdminRequest) -> oneshot::Receiver<AdminResult>;
    /// Prometheus text exposition of the daemon's metrics.
    fn metrics(&self) -> String;
}

/// Where the server listens and keeps its files.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Must be a loopback address; port 0 picks a free port.
    pub listen: std::net::SocketAddr,
    /// The daemon's data dir: the server keeps `api/` under it (trader token, admin password hash, the
    /// address it is bound to, for local clients).
    pub data_dir: std::path::PathBuf,
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    pub local_addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Stop accepting, close the streams, wait for the serving task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Bind (loopback only), prepare the token files, and serve in a task until [`Server::shutdown`].
///
/// # Errors
/// A non-loopback address, a port in use, or a data dir where the token files cannot be written.
pub async fn start(config: ServerConfig, daemon: Arc<dyn Daemon>) -> Result<Server, String> {
    server::start(config, daemon).await
}
