//! riskguard as an operating-system service, the parts that do not need the daemon: the systemd unit text
//! and install steps ([`systemd`]), the `sd_notify` protocol and the watchdog that pings only while the event
//! loop answers ([`notify`]), the Windows service-control-manager settings and, on Windows, the service main
//! ([`windows`]), and the stored-credential files the daemon reads its logins' secrets from
//! ([`credentials`]).
//!
//! Everything that decides *what* is registered or written is a pure function with unit tests on every
//! platform; only the few calls that touch the system (`systemctl`, the SCM, file permissions) are
//! platform-gated. This crate never depends on `daemon`: the binary wires the two together.

pub mod credentials;
pub mod notify;
pub mod systemd;
pub mod windows;
