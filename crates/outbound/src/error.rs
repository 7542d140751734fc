//! What goes wrong sending a webhook; each says what to do. A receiver's URL may carry a
//! secret in its path (Slack's do), so errors name only its origin.

/// An outbound webhook error.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error(
        "the webhook secret is not usable: {0}. Give `whsec_` followed by the base64 of 24 to \
         64 random bytes, e.g. `echo whsec_$(openssl rand -base64 32)`"
    )]
    BadSecret(&'static str),
    #[error("the webhook URL must be http or https (got a {0}: URL)")]
    BadUrl(String),
    #[error(
        "the HTTP client could not be built: {0}; this is a bug or a broken TLS setup on this host"
    )]
    Client(String),
    #[error(
        "{origin} answered HTTP {status}, which is not retried: check the webhook URL and, if \
         the receiver verifies signatures, that it has the same secret"
    )]
    Refused { origin: String, status: u16 },
    #[error(
        "{origin} did not take the webhook after {attempts} attempts (last: {last}); check that \
         the receiver is up and answers 2xx within the timeout"
    )]
    GaveUp {
        origin: String,
        attempts: u32,
        last: String,
    },
}
