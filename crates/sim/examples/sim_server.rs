//! A stand-alone simulator for scripts: `cargo run -p sim --example sim_server -- [LISTEN] [CONFIG.yaml]`.
//! Listens on LISTEN (default `127.0.0.1:0`), prints the base URL as its first stdout line and serves
//! until Ctrl-C (SIGINT) or until killed.

use std::path::PathBuf;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let config = args.next().map(PathBuf::from);
    sim::run_cli(&listen, config.as_deref()).await
}
