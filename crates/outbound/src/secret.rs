//! The signing secret: `whsec_` and the base64 of its key bytes, the form Standard Webhooks
//! libraries (and Svix) give and accept. Held as a secrecy type: never printed.

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretSlice};

use crate::OutboundError;

/// The prefix the Standard Webhooks libraries put before a secret's base64.
pub const PREFIX: &str = "whsec_";
/// The spec's bounds on a secret's length (bytes, decoded).
const MIN_BYTES: usize = 24;
const MAX_BYTES: usize = 64;

/// A webhook signing secret. `Debug` shows no part of it.
#[derive(Clone)]
pub struct WebhookSecret(SecretSlice<u8>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

impl WebhookSecret {
    /// Reads `whsec_<base64>` (the prefix may be left out, as the reference libraries allow).
    pub fn parse(text: &str) -> Result<WebhookSecret, OutboundError> {
        let b64 = text.trim();
        let b64 = b64.strip_prefix(PREFIX).unwrap_or(b64);
        let key = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| OutboundError::BadSecret("its part after whsec_ is not base64"))?;
        if !(MIN_BYTES..=MAX_BYTES).contains(&key.len()) {
            return Err(OutboundError::BadSecret(
                "it must decode to between 24 and 64 bytes",
            ));
        }
        Ok(WebhookSecret(SecretSlice::from(key)))
    }

    /// A new random 32-byte secret.
    pub fn generate() -> WebhookSecret {
        let key: [u8; 32] = rand::random();
        WebhookSecret(SecretSlice::from(key.to_vec()))
    }

    /// The `whsec_…` text, to hand to the receiver once.
    pub fn to_whsec(&self) -> secrecy::SecretString {
        let b64 = base64::engine::general_purpose::STANDARD.encode(self.0.expose_secret());
        secrecy::SecretString::from(format!("{PREFIX}{b64}"))
    }

    pub(crate) fn key(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_or_without_prefix_and_refuses_junk() {
        let a = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let b = WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(a.key(), b.key());
        assert_eq!(a.key().len(), 24);
        let e = WebhookSecret::parse("whsec_not base64!").unwrap_err();
        assert!(e.to_string().contains("not base64"), "{e}");
        let e = WebhookSecret::parse("whsec_c2hvcnQ=").unwrap_err();
        assert!(e.to_string().contains("24 and 64 bytes"), "{e}");
        assert_eq!(format!("{a:?}"), "WebhookSecret([redacted])");
        let g = WebhookSecret::generate();
        let again = WebhookSecret::parse(g.to_whsec().expose_secret()).unwrap();
        assert_eq!(g.key(), again.key());
    }
}
