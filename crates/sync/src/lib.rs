//! drivesync's sync engine: [`ingest`] (signed webhooks in, stored once each before the 2xx),
//! [`records`] (HighLevel JSON to store records), [`converge`] (the one guarded write path that
//! brings a record to a state whatever order states arrive in), [`describe`] (changes in plain
//! words for the feed), and [`installs`]. Previously:
//! webhooks to, which verifies them and commits each one, once, to the store's inbox and job
//! queue before saying 200; and [`installs`], what INSTALL and UNINSTALL events do to the
//! connected locations.

pub mod converge;
pub mod describe;
pub mod ingest;
pub mod installs;
pub mod records;
