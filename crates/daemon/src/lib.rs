//! riskguard's daemon: the thin shell around the pure engine.
//!
//! [`setup`] validates the config directory and resolves secrets; [`runner`] owns the engine and runs the
//! main loop; [`executor`] turns decisions into gateway calls and outcomes; [`journal`] writes every input,
//! decision and outcome to the store before it has effects and rebuilds the engine on start;
//! [`logging`] sets up console and rotating-file logs; [`guard`] decides which config changes loosen protection
//! and when they must wait out the cooling-off delay; [`pending`] keeps those that wait.

pub mod control;
pub mod executor;
pub mod export;
pub mod guard;
pub mod journal;
pub mod logging;
pub mod metrics;
pub mod pending;
pub mod runner;
pub mod setup;
pub mod spawned;
pub mod view;

pub use runner::{Hooks, run};
pub use setup::{DaemonConfig, LoginPlan, from_dir};
pub use spawned::{Spawned, spawn};

/// The tokio runtime the daemon runs on (`riskguard run`, the service, the demo): one worker per core.
///
/// A single-threaded runtime was measured against it (`enforcement_bench` with the daemon on a runtime of its own,
/// docs/PERFORMANCE.md "Fourth session"): no better on a quiet machine, and worse under a 20,000 quotes/s flood
/// (p99 5.1 against 4.0 ms over 495 pooled probes). A second worker also keeps the internal API from queueing
/// behind the loop.
///
/// # Errors
/// The OS refused the runtime's resources (threads, an epoll instance).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}
