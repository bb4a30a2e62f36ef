//! The adapter between the ProjectX Gateway and the riskguard daemon, over `projectx-client` 8.
//!
//! One [`Session`] per login: it logs in, keeps the token valid, connects the user and market hubs, subscribes
//! every watched account, and pushes normalised [`model::event::Event`]s, malformed-payload reports, hub
//! states and [`Feed::Resynced`] (reconcile now) into the daemon's channel, each stamped with its arrival
//! instant. REST reads come back as model events too (`reconcile`, `open_positions`, `working_orders`,
//! `contract`); money-moving calls answer a [`CallOutcome`] and are never retried here.
//!
//! This is the border of DESIGN.md principle 5: hub payloads, in every shape the live gateway sends, are parsed
//! into `model::wire` types and normalised by `model::normalize`; nothing past this crate sees wire data.
//! See README.md for what projectx-client cannot deliver and how the adapter copes.

mod config;
mod convert;
mod error;
mod feed;
mod pacer;
mod payload;
mod session;

pub use config::{Credentials, Endpoints, SessionOptions};
pub use error::{GatewayError, redact};
pub use feed::{
    CallOutcome, ConnectionState, EndpointStats, Feed, HubKind, HubStatus, NOT_SENT, Reconciled,
    RestStats, UNAUTHORIZED,
};
pub use pacer::RateBudget;
pub use session::{FeedSender, Session};
