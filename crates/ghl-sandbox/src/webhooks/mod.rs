//! Webhooks: payloads shaped like `shared/ghl/webhooks/<Event>.json`, signed over the exact
//! body bytes, delivered with HighLevel's retry rule and the faults the sandbox injects.

pub mod delivery;
pub mod keys;
pub mod payload;

pub use delivery::Dispatcher;
pub use keys::{KeyError, Signer};
