//! What drivesync's tests and benchmarks set up, in one place, so that a new suite starts
//! from the same ground as the others:
//!
//! - [`db`]: a fresh database per test — a SQLite file, or a schema (or database) of its own
//!   on the PostgreSQL named by `DRIVESYNC_TEST_PG_URL` — and SQL behind the store's back;
//! - [`cases`]: one case run on both backends ([`on_both_backends!`]), cleaned up even when
//!   it fails;
//! - [`net`]: loopback ports, and axum routers served on them;
//! - [`sandbox`]: the HighLevel sandbox in-process or as a process, and its control routes;
//! - [`process`]: `drivesync serve` as a process, and killing it;
//! - [`reference`]: HighLevel's reference files (`shared/ghl/`);
//! - [`bench`]: benchmark knobs and memory figures.
//!
//! A dev-dependency only. It depends on `store`, `ghl-sandbox` and what they use, never on
//! `sync`, `drivechat` or `drivesync`, so every crate's tests can use it without a cycle
//! (`store`'s and `ghl-sandbox`'s own integration tests too: they link the same library).
//!
//! Setup that fails panics with what went wrong: the test fails there, as it should.

pub mod bench;
pub mod cases;
pub mod db;
pub mod net;
pub mod process;
pub mod reference;
pub mod sandbox;

pub use db::{Backend, TestDb, PG_URL_ENV};
pub use net::{free_port, serve, Served};
