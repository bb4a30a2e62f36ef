//! The shared vocabulary of riskguard.
//!
//! Everything the engine, the replay tool, the store and the gateway adapter agree on lives here: ids, the
//! gateway's wire payloads and their normalisation into clean events, the engine's decisions, and the typed
//! risk configuration. This crate does no I/O and depends on no runtime: it is plain data plus serde.
//!
//! Money and prices are always [`Decimal`]; nothing here uses floating point for money.

pub mod config;
pub mod decision;
pub mod event;
pub mod ids;
pub mod normalize;
pub mod symbol;
pub mod wire;

pub use jiff::Timestamp;
pub use rust_decimal::Decimal;
