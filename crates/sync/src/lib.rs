//! drivesync's sync engine. Today: [`ingest`], the HTTP endpoint HighLevel POSTs its signed
//! webhooks to, which verifies them and commits each one, once, to the store's inbox and job
//! queue before saying 200; and [`installs`], what INSTALL and UNINSTALL events do to the
//! connected locations.

pub mod ingest;
pub mod installs;
