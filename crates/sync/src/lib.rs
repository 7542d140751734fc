//! drivesync's sync engine: [`ingest`] (signed webhooks in, stored once each before the 2xx),
//! [`records`] (HighLevel JSON to store records), [`converge`] (the one guarded write path that
//! brings a record to a state whatever order states arrive in), [`describe`] (changes in plain
//! words for the feed) and [`installs`] (what INSTALL and UNINSTALL do to connected locations),
//! [`backfill`] (a location imported page by page, resumable) and [`writeback`] (Drive Chat's
//! outbox commands carried out in HighLevel).
//!
//! The [`engine`] runs the queue's jobs through the [`worker`]s, each kind by its handler, next
//! to the work it does: [`apply`] (webhooks), [`poller`] (polls, reconciles, open-task
//! searches), [`settle`] (reads a webhook cannot spare), [`context`] (a location's users, fields
//! and time zone) and [`writeback`]. What they share lies below them: [`fetch`] (reading
//! HighLevel as records), [`gate`] (whether a location may be called), [`config`] and
//! [`error`]. [`alerts`] watches all of it and says when something is wrong.

pub mod alerts;
pub mod apply;
pub mod backfill;
pub mod config;
pub mod context;
pub mod converge;
pub mod describe;
pub mod engine;
pub mod error;
pub mod fetch;
pub mod gate;
pub mod ingest;
pub mod installs;
pub mod poller;
pub mod records;
pub mod sampler;
pub mod settle;
pub mod telemetry;
pub mod verify;
pub mod worker;
pub mod writeback;

/// A duration in whole milliseconds, as the store keeps intervals (saturating).
pub(crate) fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The OAuth scope HighLevel's operation `id` needs, from the client's operation catalog (one
/// place, held against HighLevel's specs); empty for an id the catalog does not have.
pub(crate) fn scope_of(id: &str) -> &'static str {
    ghl::operations::operation(id).map_or("", |op| op.scope)
}
