//! The systemd notify protocol (`sd_notify`): `READY=1` once the daemon has reconciled, and `WATCHDOG=1`
//! only while its event loop really turns.
//!
//! [`Notifier`] sends datagrams to `$NOTIFY_SOCKET` (a path, or `@name` for Linux's abstract namespace) with
//! std's `UnixDatagram`, so no C library is involved. [`supervise`] is the task behind it: it waits for the
//! daemon's ready signal, sends `READY=1`, then every half watchdog interval sends a probe into the event
//! loop and pings systemd only if the loop answers within that half interval. A loop that stalls stops the
//! pings, and systemd restarts the service after `WatchdogSec=`. Without `NOTIFY_SOCKET` (or off Unix) there
//! is nothing to notify and nothing is spawned.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

/// The variable systemd sets to the socket it listens on for a `Type=notify` service.
pub const SOCKET_VAR: &str = "NOTIFY_SOCKET";

/// The watchdog interval systemd asks for: `WATCHDOG_USEC`, if `WATCHDOG_PID` is unset or names this
/// process. Pure, so that it can be tested without touching the environment.
pub fn watchdog_interval(usec: Option<&str>, pid: Option<&str>, own_pid: u32) -> Option<Duration> {
    if let Some(pid) = pid
        && pid.trim().parse::<u32>().ok() != Some(own_pid)
    {
        return None;
    }
    let usec: u64 = usec?.trim().parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec))
}

/// [`watchdog_interval`] from this process's environment.
pub fn watchdog_interval_from_env() -> Option<Duration> {
    watchdog_interval(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    )
}

/// A connection to systemd's notify socket.
#[derive(Debug)]
pub struct Notifier {
    #[cfg(unix)]
    socket: std::os::unix::net::UnixDatagram,
    #[cfg(unix)]
    addr: std::os::unix::net::SocketAddr,
}

impl Notifier {
    /// The notifier of `$NOTIFY_SOCKET`, if the variable is set (systemd sets it for `Type=notify`).
    pub fn from_env() -> Option<std::io::Result<Notifier>> {
        let path = std::env::var(SOCKET_VAR).ok().filter(|p| !p.is_empty())?;
        Some(Notifier::connect(&path))
    }

    /// A notifier sending to `path` (`@name` for an abstract socket on Linux).
    #[cfg(unix)]
    pub fn connect(path: &str) -> std::io::Result<Notifier> {
        use std::os::unix::net::{SocketAddr, UnixDatagram};
        let addr = match path.strip_prefix('@') {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                SocketAddr::from_abstract_name(name.as_bytes())?
            }
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            Some(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::Unsupported,
                    "abstract notify sockets exist only on Linux",
                ));
            }
            None => SocketAddr::from_pathname(path)?,
        };
        Ok(Notifier {
            socket: UnixDatagram::unbound()?,
            addr,
        })
    }

    /// There is no notify socket off Unix.
    #[cfg(not(unix))]
    pub fn connect(_path: &str) -> std::io::Result<Notifier> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "the systemd notify protocol exists only on Unix",
        ))
    }

    /// Send one notification (`READY=1`, `WATCHDOG=1`, `STOPPING=1`, `STATUS=...`).
    pub fn send(&self, message: &str) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            self.socket.send_to_addr(message.as_bytes(), &self.addr)?;
            Ok(())
        }
        #[cfg(not(unix))]
        {
            let _ = message;
            Ok(())
        }
    }
}

/// Probes into the daemon's event loop: each sender is answered by the loop in its next turn.
pub type Pulse = mpsc::Sender<oneshot::Sender<()>>;

/// Send `READY=1` when `ready` fires, then, with a watchdog interval, `WATCHDOG=1` every half interval for
/// which the loop answered a probe in time. Ends when the daemon goes away (ready or a probe dropped unsent,
/// or the pulse channel closed).
pub async fn supervise(
    notifier: Notifier,
    ready: oneshot::Receiver<()>,
    pulse: Pulse,
    watchdog: Option<Duration>,
) {
    if ready.await.is_err() {
        return;
    }
    if let Err(e) = notifier.send("READY=1\nSTATUS=enforcing") {
        tracing::warn!(error = %e, "cannot tell systemd that riskguard is ready");
    }
    let Some(watchdog) = watchdog else {
        return;
    };
    let half = watchdog / 2;
    tracing::info!(
        ?watchdog,
        "systemd watchdog: pinging while the event loop answers"
    );
    let mut ticks = tokio::time::interval(half);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let (probe, answer) = oneshot::channel();
        match pulse.try_send(probe) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!("the event loop has not taken earlier probes: no watchdog ping");
                continue;
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        }
        match tokio::time::timeout(half, answer).await {
            Ok(Ok(())) => {
                if let Err(e) = notifier.send("WATCHDOG=1") {
                    tracing::warn!(error = %e, "cannot ping the systemd watchdog");
                }
            }
            // The loop dropped the probe unanswered: the daemon has stopped.
            Ok(Err(_)) => return,
            Err(_) => tracing::warn!(
                ?half,
                "the event loop did not answer within half the watchdog interval: no watchdog ping"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_watchdog_interval_is_read_for_this_process_only() {
        assert_eq!(
            watchdog_interval(Some("30000000"), None, 7),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            watchdog_interval(Some("30000000"), Some("7"), 7),
            Some(Duration::from_secs(30))
        );
        assert_eq!(watchdog_interval(Some("30000000"), Some("8"), 7), None);
        assert_eq!(watchdog_interval(Some("0"), None, 7), None);
        assert_eq!(watchdog_interval(Some("x"), None, 7), None);
        assert_eq!(watchdog_interval(None, None, 7), None);
    }

    #[cfg(unix)]
    fn socket(name: &str) -> (std::os::unix::net::UnixDatagram, String) {
        let path = std::env::temp_dir().join(format!("rg-notify-{name}-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let sock = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        (sock, path.display().to_string())
    }

    #[cfg(unix)]
    fn recv(sock: &std::os::unix::net::UnixDatagram) -> String {
        let mut buf = [0u8; 256];
        let n = sock.recv(&mut buf).expect("a notification in time");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    /// A loop that answers probes only while `answering` is set, and sends nothing before `ready`.
    #[cfg(unix)]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ready_then_pings_only_while_the_loop_answers() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let (sock, path) = socket("unit");
        let (ready_tx, ready_rx) = oneshot::channel();
        let (pulse_tx, mut pulse_rx) = mpsc::channel::<oneshot::Sender<()>>(1);
        let answering = Arc::new(AtomicBool::new(true));
        let a = answering.clone();
        tokio::spawn(async move {
            while let Some(p) = pulse_rx.recv().await {
                if a.load(Ordering::SeqCst) {
                    let _ = p.send(());
                } else {
                    std::mem::forget(p);
                }
            }
        });
        let task = tokio::spawn(supervise(
            Notifier::connect(&path).unwrap(),
            ready_rx,
            pulse_tx,
            Some(Duration::from_millis(200)),
        ));
        sock.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 64];
        assert!(sock.recv(&mut buf).is_err(), "nothing before ready");
        sock.set_nonblocking(false).unwrap();
        ready_tx.send(()).unwrap();
        let first = tokio::task::spawn_blocking(move || {
            let first = recv(&sock);
            (sock, first)
        })
        .await
        .unwrap();
        let (sock, first) = first;
        assert_eq!(first, "READY=1\nSTATUS=enforcing");
        let sock = tokio::task::spawn_blocking(move || {
            assert_eq!(recv(&sock), "WATCHDOG=1");
            assert_eq!(recv(&sock), "WATCHDOG=1");
            sock
        })
        .await
        .unwrap();
        answering.store(false, Ordering::SeqCst);
        // Drain a ping that may have been answered before the switch, then expect silence for 3 intervals.
        sock.set_read_timeout(Some(Duration::from_millis(150)))
            .unwrap();
        let _ = tokio::task::spawn_blocking({
            let s = sock.try_clone().unwrap();
            move || {
                let mut buf = [0u8; 64];
                let _ = s.recv(&mut buf);
            }
        })
        .await;
        sock.set_read_timeout(Some(Duration::from_millis(600)))
            .unwrap();
        let silent = tokio::task::spawn_blocking(move || {
            let mut buf = [0u8; 64];
            sock.recv(&mut buf).is_err()
        })
        .await
        .unwrap();
        assert!(silent, "no WATCHDOG=1 while the loop does not answer");
        task.abort();
    }
}
