//! Webhooks drivesync sends to the outside: alerts today, flows later. One place for the
//! [Standard Webhooks](https://www.standardwebhooks.com/) signature ([`sign`]), the secret it
//! is made with ([`WebhookSecret`], `whsec_…`), and delivery ([`Sender`]): a timeout per
//! attempt, retries with backoff ([`retry::backoff`]), failures counted and logged once per
//! run of failures rather than once each.
//!
//! ```no_run
//! # async fn run() -> Result<(), outbound::OutboundError> {
//! use outbound::{BodyFormat, Event, Sender, SenderConfig, WebhookSecret};
//! let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
//! let url = "https://hooks.example.com/drivesync".parse().unwrap();
//! let sender = Sender::new(SenderConfig::new(url, Some(secret), BodyFormat::Standard))?;
//! sender
//!     .send(&Event::new("alert.opened", "Location L1 needs to be reconnected", serde_json::json!({})))
//!     .await?;
//! # Ok(()) }
//! ```

mod error;
pub mod retry;
mod secret;
mod sender;
pub mod sign;

pub use error::OutboundError;
pub use secret::WebhookSecret;
pub use sender::{BodyFormat, DeliveryStats, Event, Sender, SenderConfig};
