//! A daemon running as a task of the caller's tokio runtime: what the demo, the tests and the benchmarks
//! embed. [`spawn`] starts [`crate::run`] with a stop switch; [`Spawned::ready`] waits until it enforces
//! (after the start-up reconciliation), and [`Spawned::stop`] asks for the graceful shutdown and waits for
//! it, so every embedder stops the daemon the way Ctrl-C does.

use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{DaemonConfig, Hooks};

/// A daemon started by [`spawn`].
#[derive(Debug)]
pub struct Spawned {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
    /// `None` when the caller kept the `ready` hook for itself (a service supervisor).
    ready: Option<oneshot::Receiver<()>>,
}

/// Start the daemon in a task of the current runtime. When `hooks.ready` is empty, [`Spawned::ready`] waits
/// on it; a caller that set its own `ready` hook waits there instead.
pub fn spawn(config: DaemonConfig, mut hooks: Hooks) -> Spawned {
    let ready = if hooks.ready.is_none() {
        let (tx, rx) = oneshot::channel();
        hooks.ready = Some(tx);
        Some(rx)
    } else {
        None
    };
    let (stop, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(crate::run(
        config,
        async {
            let _ = stop_rx.await;
        },
        hooks,
    ));
    Spawned {
        stop: Some(stop),
        task,
        ready,
    }
}

impl Spawned {
    /// Wait until the daemon enforces, for at most `within`.
    ///
    /// # Errors
    /// The daemon stopped first (its own error is returned), the deadline passed, or the caller kept the
    /// `ready` hook.
    pub async fn ready(&mut self, within: Duration) -> anyhow::Result<()> {
        let Some(ready) = self.ready.take() else {
            anyhow::bail!("the ready hook was given to spawn: wait on it there");
        };
        match tokio::time::timeout(within, ready).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => {
                // The daemon dropped the hook: it ended before it was ready. Say why.
                match (&mut self.task).await {
                    Ok(Ok(())) => anyhow::bail!("the daemon stopped before it was ready"),
                    Ok(Err(e)) => Err(e.context("the daemon stopped before it was ready")),
                    Err(e) => Err(anyhow::anyhow!(e).context("the daemon task failed")),
                }
            }
            Err(_) => anyhow::bail!("the daemon was not ready within {within:?}"),
        }
    }

    /// Whether the daemon's task has ended (it stopped by itself or failed).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Ask for the graceful shutdown (inputs stop, calls in flight finish or are journaled, the store is
    /// flushed) and wait for it, for at most `within`.
    ///
    /// # Errors
    /// The daemon's own error, a panic of its task, or the deadline.
    pub async fn stop(mut self, within: Duration) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(within, &mut self.task)
            .await
            .with_context(|| format!("the daemon did not stop within {within:?}"))?
            .context("the daemon task failed")?
    }
}
