//! The trader's terminal UI (`riskguard trader`): a live view of the daemon over its internal API.
//!
//! [`model`] holds what the screen shows and changes only through stream events and key presses (pure,
//! unit-tested); [`render`] draws a [`model::Model`] at a given instant (pure, snapshot-tested); [`app`] is
//! the async shell: the terminal, the API stream with reconnects, a one-second tick for countdowns.

pub mod app;
pub mod model;
pub mod render;
