//! Every way a webhook is turned away, with its HTTP status and the short reason put in the
//! answer's `{"error": …}` and used as its counter's name.
//!
//! The statuses follow from how HighLevel delivers: it retries a 429 (with the same body and
//! signature) and nothing else. So whatever a later attempt could fix — the store busy, down
//! or slow — is a 429, and whatever it could not — a bad signature, a malformed body, a stale
//! timestamp — is final (401, 400, 413). A 5xx is never sent: HighLevel would not retry it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// Neither `x-ghl-signature` nor `x-wh-signature`.
    MissingSignature,
    /// A signature header that is not base64 of a signature's length.
    MalformedSignature,
    /// A signature no configured key verifies: altered body, or an unknown key.
    BadSignature,
    /// Signed only with a scheme for which no key is configured.
    NoKeyForSignature,
    /// Stale beyond the replay window.
    StaleTimestamp,
    /// Further in the future than the allowed clock skew.
    FutureTimestamp,
    /// Larger than `max_body`.
    BodyTooLarge,
    /// The client stopped sending the body half way.
    BodyUnreadable,
    InvalidJson,
    NotAnObject,
    MissingType,
    MissingLocationId,
    MissingWebhookId,
    /// `type`, `locationId`, `companyId` or `webhookId` present but not an id: an object, a
    /// list, over 256 characters, or holding control characters.
    InvalidField,
    /// A `timestamp` that is present but is not a date.
    InvalidTimestamp,
    /// The store refused the write (locked, read-only, disk full, closed, down).
    StoreUnavailable,
    /// The store did not answer within `store_timeout`.
    StoreTimeout,
    /// The queue in front of the store is full: more webhooks arrive than it commits.
    Overloaded,
}

impl Refusal {
    /// Every refusal, in the order counters are reported.
    pub const ALL: [Refusal; 18] = [
        Refusal::MissingSignature,
        Refusal::MalformedSignature,
        Refusal::BadSignature,
        Refusal::NoKeyForSignature,
        Refusal::StaleTimestamp,
        Refusal::FutureTimestamp,
        Refusal::BodyTooLarge,
        Refusal::BodyUnreadable,
        Refusal::InvalidJson,
        Refusal::NotAnObject,
        Refusal::MissingType,
        Refusal::MissingLocationId,
        Refusal::MissingWebhookId,
        Refusal::InvalidField,
        Refusal::InvalidTimestamp,
        Refusal::StoreUnavailable,
        Refusal::StoreTimeout,
        Refusal::Overloaded,
    ];

    /// The position of this refusal in [`Refusal::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn reason(self) -> &'static str {
        match self {
            Refusal::MissingSignature => "missing_signature",
            Refusal::MalformedSignature => "malformed_signature",
            Refusal::BadSignature => "bad_signature",
            Refusal::NoKeyForSignature => "no_key_for_signature",
            Refusal::StaleTimestamp => "stale_timestamp",
            Refusal::FutureTimestamp => "future_timestamp",
            Refusal::BodyTooLarge => "body_too_large",
            Refusal::BodyUnreadable => "body_unreadable",
            Refusal::InvalidJson => "invalid_json",
            Refusal::NotAnObject => "not_an_object",
            Refusal::MissingType => "missing_type",
            Refusal::MissingLocationId => "missing_location_id",
            Refusal::MissingWebhookId => "missing_webhook_id",
            Refusal::InvalidField => "invalid_field",
            Refusal::InvalidTimestamp => "invalid_timestamp",
            Refusal::StoreUnavailable => "store_unavailable",
            Refusal::StoreTimeout => "store_timeout",
            Refusal::Overloaded => "overloaded",
        }
    }

    /// A refusal of the signature itself: what a change of HighLevel's key or scheme causes.
    pub fn is_signature(self) -> bool {
        matches!(
            self,
            Refusal::MissingSignature
                | Refusal::MalformedSignature
                | Refusal::BadSignature
                | Refusal::NoKeyForSignature
        )
    }

    pub fn status(self) -> StatusCode {
        match self {
            Refusal::MissingSignature
            | Refusal::MalformedSignature
            | Refusal::BadSignature
            | Refusal::NoKeyForSignature
            | Refusal::StaleTimestamp
            | Refusal::FutureTimestamp => StatusCode::UNAUTHORIZED,
            Refusal::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::BodyUnreadable
            | Refusal::InvalidJson
            | Refusal::NotAnObject
            | Refusal::MissingType
            | Refusal::MissingLocationId
            | Refusal::MissingWebhookId
            | Refusal::InvalidField
            | Refusal::InvalidTimestamp => StatusCode::BAD_REQUEST,
            Refusal::StoreUnavailable | Refusal::StoreTimeout | Refusal::Overloaded => {
                StatusCode::TOO_MANY_REQUESTS
            }
        }
    }
}

impl From<ghl::webhook::SignatureError> for Refusal {
    fn from(e: ghl::webhook::SignatureError) -> Refusal {
        use ghl::webhook::SignatureError as E;
        match e {
            E::Missing => Refusal::MissingSignature,
            E::Malformed { .. } => Refusal::MalformedSignature,
            E::Mismatch { .. } => Refusal::BadSignature,
            E::NoKey { .. } => Refusal::NoKeyForSignature,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.status(),
            Json(serde_json::json!({ "error": self.reason() })),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_index_order_and_reasons_are_unique() {
        for (i, r) in Refusal::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
        let reasons: std::collections::HashSet<_> =
            Refusal::ALL.iter().map(|r| r.reason()).collect();
        assert_eq!(reasons.len(), Refusal::ALL.len());
    }

    #[test]
    fn nothing_is_a_server_error() {
        assert!(Refusal::ALL.iter().all(|r| !r.status().is_server_error()));
    }
}
