//! Verifying that a webhook came from HighLevel: its signature over the exact body bytes.
//!
//! HighLevel signs every webhook body twice: `x-ghl-signature` (Ed25519, base64; the current
//! scheme) and `x-wh-signature` (RSA-SHA256 PKCS#1 v1.5, base64; the legacy one, whose public
//! key HighLevel publishes). [`WebhookKeys`] holds any number of public keys of each kind, so a
//! key rotation is handled by configuring the old and the new key side by side.
//!
//! Which header is checked: `x-ghl-signature` when it is present and at least one Ed25519 key
//! is configured, otherwise `x-wh-signature`. A present Ed25519 signature that fails is final
//! (no second chance with the RSA header). With no Ed25519 key configured, `x-ghl-signature`
//! cannot be checked at all, so the RSA header decides: that is the case for the default set
//! ([`WebhookKeys::highlevel`]), which holds only the key HighLevel has published.
//!
//! There is no "skip verification" switch: an empty key set verifies nothing.
//!
//! ```
//! let keys = ghl::webhook::WebhookKeys::highlevel();
//! let body = br#"{"type":"ContactCreate"}"#;
//! assert!(keys.verify(body, None, Some(b"bm90IGEgc2lnbmF0dXJl")).is_err());
//! ```

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use ed25519_dalek::pkcs8::DecodePublicKey as _;
use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::signature::Verifier as _;
use sha2::Sha256;

/// The Ed25519 signature header.
pub const GHL_SIGNATURE_HEADER: &str = "x-ghl-signature";
/// The legacy RSA-SHA256 signature header.
pub const WH_SIGNATURE_HEADER: &str = "x-wh-signature";

/// HighLevel's published RSA-4096 public key for `x-wh-signature` (CC0, from HighLevel's API
/// documentation; see `crates/ghl/keys/README.md`).
pub const HIGHLEVEL_RSA_PEM: &str = include_str!("../keys/highlevel-webhook-rsa.pem");

/// A base64 signature longer than this is refused before decoding. An RSA-8192 signature is
/// 1,368 characters; anything longer is not a signature, and decoding it is wasted work.
const MAX_SIGNATURE_CHARS: usize = 2048;

/// Signatures arrive with or without `=` padding depending on who wrote them; both are read.
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The two signature schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `x-ghl-signature`.
    Ed25519,
    /// `x-wh-signature`.
    Rsa,
}

impl Scheme {
    /// The header that carries a signature of this scheme.
    pub fn header(self) -> &'static str {
        match self {
            Scheme::Ed25519 => GHL_SIGNATURE_HEADER,
            Scheme::Rsa => WH_SIGNATURE_HEADER,
        }
    }
}

impl std::fmt::Display for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Scheme::Ed25519 => "Ed25519",
            Scheme::Rsa => "RSA",
        })
    }
}

/// A public key that could not be added to a [`WebhookKeys`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "no PEM block found; expected -----BEGIN PUBLIC KEY----- (as printed by \
         `drivesync sandbox keys` or published by HighLevel)"
    )]
    NoPem,
    #[error("PEM block {index} is not an Ed25519 or RSA public key: {reason}")]
    NotAPublicKey { index: usize, reason: String },
    #[error("the PEM is not an {expected} public key: {reason}")]
    WrongKind { expected: Scheme, reason: String },
}

/// Why a webhook's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the webhook carries neither x-ghl-signature nor x-wh-signature")]
    Missing,
    #[error("the {} header is not a base64 signature: {reason}", scheme.header())]
    Malformed {
        scheme: Scheme,
        reason: &'static str,
    },
    #[error(
        "the {} signature does not match the body under any of the {keys} configured {scheme} \
         keys; the body was altered, or it was signed with a key that is not configured",
        scheme.header()
    )]
    Mismatch { scheme: Scheme, keys: usize },
    #[error(
        "the webhook is signed only with {}, and no {scheme} public key is configured",
        scheme.header()
    )]
    NoKey { scheme: Scheme },
}

/// A signature that verified: with which scheme, and which configured key (in the order the
/// keys of that scheme were added) — useful to tell when an old key stops being used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub scheme: Scheme,
    pub key_index: usize,
}

/// The public keys webhooks are verified with: any number of Ed25519 and RSA keys.
#[derive(Clone, Default)]
pub struct WebhookKeys {
    ed25519: Vec<ed25519_dalek::VerifyingKey>,
    rsa: Vec<rsa::pkcs1v15::VerifyingKey<Sha256>>,
}

impl std::fmt::Debug for WebhookKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookKeys")
            .field("ed25519", &self.ed25519.len())
            .field("rsa", &self.rsa.len())
            .finish()
    }
}

impl WebhookKeys {
    /// A set with no keys: it verifies nothing. Add keys with the `add_*` methods.
    pub fn empty() -> WebhookKeys {
        WebhookKeys::default()
    }

    /// The default set: HighLevel's published RSA key.
    pub fn highlevel() -> WebhookKeys {
        let mut keys = WebhookKeys::empty();
        // The embedded PEM is a constant of this crate, checked by a unit test; failing here
        // means the file under keys/ was damaged, which no caller could do anything about.
        keys.add_rsa_pem(HIGHLEVEL_RSA_PEM)
            .expect("the embedded HighLevel RSA key parses");
        keys
    }

    /// Adds every public key in `pem` (one or several PEM blocks, each an Ed25519 or RSA key,
    /// as SubjectPublicKeyInfo `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`). Nothing is added
    /// unless every block parses. Returns how many keys were added.
    pub fn add_pem(&mut self, pem: &str) -> Result<usize, KeyError> {
        let blocks = pem_blocks(pem);
        if blocks.is_empty() {
            return Err(KeyError::NoPem);
        }
        let mut ed = Vec::new();
        let mut rsa = Vec::new();
        for (index, block) in blocks.iter().enumerate() {
            match parse_ed25519(block) {
                Ok(k) => ed.push(k),
                Err(ed_reason) => match parse_rsa(block) {
                    Ok(k) => rsa.push(k),
                    Err(rsa_reason) => {
                        return Err(KeyError::NotAPublicKey {
                            index,
                            reason: format!("as Ed25519: {ed_reason}; as RSA: {rsa_reason}"),
                        })
                    }
                },
            }
        }
        let added = ed.len() + rsa.len();
        self.ed25519.extend(ed);
        self.rsa.extend(rsa);
        Ok(added)
    }

    /// Adds one Ed25519 public key (SubjectPublicKeyInfo PEM), for `x-ghl-signature`.
    pub fn add_ed25519_pem(&mut self, pem: &str) -> Result<(), KeyError> {
        let key = parse_ed25519(pem).map_err(|reason| KeyError::WrongKind {
            expected: Scheme::Ed25519,
            reason,
        })?;
        self.ed25519.push(key);
        Ok(())
    }

    /// Adds one RSA public key (SubjectPublicKeyInfo or PKCS#1 PEM), for `x-wh-signature`.
    pub fn add_rsa_pem(&mut self, pem: &str) -> Result<(), KeyError> {
        let key = parse_rsa(pem).map_err(|reason| KeyError::WrongKind {
            expected: Scheme::Rsa,
            reason,
        })?;
        self.rsa.push(key);
        Ok(())
    }

    /// [`add_pem`](Self::add_pem) in builder style.
    pub fn with_pem(mut self, pem: &str) -> Result<WebhookKeys, KeyError> {
        self.add_pem(pem)?;
        Ok(self)
    }

    pub fn ed25519_len(&self) -> usize {
        self.ed25519.len()
    }

    pub fn rsa_len(&self) -> usize {
        self.rsa.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ed25519.is_empty() && self.rsa.is_empty()
    }

    /// Verifies `body` — the exact bytes received, before any parsing — against the raw
    /// values of the `x-ghl-signature` and `x-wh-signature` headers (see the module docs for
    /// which one is used).
    pub fn verify(
        &self,
        body: &[u8],
        ghl_signature: Option<&[u8]>,
        wh_signature: Option<&[u8]>,
    ) -> Result<Verified, SignatureError> {
        match (ghl_signature, wh_signature) {
            (Some(sig), _) if !self.ed25519.is_empty() => self.verify_ed25519(body, sig),
            (_, Some(sig)) => self.verify_rsa(body, sig),
            (Some(_), None) => Err(SignatureError::NoKey {
                scheme: Scheme::Ed25519,
            }),
            (None, None) => Err(SignatureError::Missing),
        }
    }

    /// [`verify`](Self::verify) reading both headers from `headers`.
    pub fn verify_headers(
        &self,
        body: &[u8],
        headers: &reqwest::header::HeaderMap,
    ) -> Result<Verified, SignatureError> {
        self.verify(
            body,
            headers.get(GHL_SIGNATURE_HEADER).map(|v| v.as_bytes()),
            headers.get(WH_SIGNATURE_HEADER).map(|v| v.as_bytes()),
        )
    }

    fn verify_ed25519(&self, body: &[u8], header: &[u8]) -> Result<Verified, SignatureError> {
        let scheme = Scheme::Ed25519;
        let raw = decode(scheme, header)?;
        let sig =
            ed25519_dalek::Signature::from_slice(&raw).map_err(|_| SignatureError::Malformed {
                scheme,
                reason: "an Ed25519 signature is 64 bytes",
            })?;
        // Strict verification refuses the malleable and small-order encodings a genuine
        // signer never produces.
        self.ed25519
            .iter()
            .position(|k| k.verify_strict(body, &sig).is_ok())
            .map(|key_index| Verified { scheme, key_index })
            .ok_or(SignatureError::Mismatch {
                scheme,
                keys: self.ed25519.len(),
            })
    }

    fn verify_rsa(&self, body: &[u8], header: &[u8]) -> Result<Verified, SignatureError> {
        let scheme = Scheme::Rsa;
        if self.rsa.is_empty() {
            return Err(SignatureError::NoKey { scheme });
        }
        let raw = decode(scheme, header)?;
        let sig = rsa::pkcs1v15::Signature::try_from(raw.as_slice()).map_err(|_| {
            SignatureError::Malformed {
                scheme,
                reason: "not an RSA signature",
            }
        })?;
        self.rsa
            .iter()
            .position(|k| k.verify(body, &sig).is_ok())
            .map(|key_index| Verified { scheme, key_index })
            .ok_or(SignatureError::Mismatch {
                scheme,
                keys: self.rsa.len(),
            })
    }
}

fn decode(scheme: Scheme, header: &[u8]) -> Result<Vec<u8>, SignatureError> {
    let text = header.trim_ascii();
    if text.is_empty() {
        return Err(SignatureError::Malformed {
            scheme,
            reason: "empty",
        });
    }
    if text.len() > MAX_SIGNATURE_CHARS {
        return Err(SignatureError::Malformed {
            scheme,
            reason: "too long to be a signature",
        });
    }
    B64.decode(text).map_err(|_| SignatureError::Malformed {
        scheme,
        reason: "not valid base64",
    })
}

fn parse_ed25519(pem: &str) -> Result<ed25519_dalek::VerifyingKey, String> {
    ed25519_dalek::VerifyingKey::from_public_key_pem(pem.trim()).map_err(|e| e.to_string())
}

fn parse_rsa(pem: &str) -> Result<rsa::pkcs1v15::VerifyingKey<Sha256>, String> {
    use rsa::pkcs8::DecodePublicKey as _;
    let pem = pem.trim();
    let key = if pem.starts_with("-----BEGIN RSA PUBLIC KEY-----") {
        rsa::RsaPublicKey::from_pkcs1_pem(pem).map_err(|e| e.to_string())?
    } else {
        rsa::RsaPublicKey::from_public_key_pem(pem).map_err(|e| e.to_string())?
    };
    Ok(rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key))
}

/// The `-----BEGIN …-----` … `-----END …-----` blocks of `text`, each with its markers, so a
/// file holding the old and the new key of a rotation is read in one go.
fn pem_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let from = &rest[start..];
        let Some(end) = from.find("-----END ") else {
            break;
        };
        // The END line closes with its own "-----" after the label.
        let after_label = end + "-----END ".len();
        let Some(close) = from[after_label..].find("-----") else {
            break;
        };
        let stop = after_label + close + "-----".len();
        blocks.push(&from[..stop]);
        rest = &from[stop..];
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::pkcs8::EncodePublicKey as _;
    use ed25519_dalek::Signer as _;
    use rsa::pkcs8::LineEnding;

    fn ed_pair() -> (ed25519_dalek::SigningKey, String) {
        let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        let pem = key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("encode");
        (key, pem)
    }

    #[test]
    fn the_embedded_highlevel_key_parses_as_rsa_4096() {
        let keys = WebhookKeys::highlevel();
        assert_eq!((keys.ed25519_len(), keys.rsa_len()), (0, 1));
        use rsa::pkcs8::DecodePublicKey as _;
        use rsa::traits::PublicKeyParts as _;
        let k = rsa::RsaPublicKey::from_public_key_pem(HIGHLEVEL_RSA_PEM).expect("parses");
        assert_eq!(k.size() * 8, 4096);
    }

    #[test]
    fn an_empty_set_verifies_nothing() {
        let (sk, _) = ed_pair();
        let body = b"{}";
        let sig = B64.encode(sk.sign(body).to_bytes());
        let keys = WebhookKeys::empty();
        assert_eq!(
            keys.verify(body, Some(sig.as_bytes()), None),
            Err(SignatureError::NoKey {
                scheme: Scheme::Ed25519
            })
        );
        assert_eq!(
            keys.verify(body, None, Some(sig.as_bytes())),
            Err(SignatureError::NoKey {
                scheme: Scheme::Rsa
            })
        );
        assert_eq!(keys.verify(body, None, None), Err(SignatureError::Missing));
    }

    #[test]
    fn ed25519_signatures_verify_over_exact_bytes_with_or_without_padding() {
        let (sk, pem) = ed_pair();
        let mut keys = WebhookKeys::empty();
        keys.add_ed25519_pem(&pem).expect("add");
        let body = br#"{"type":"ContactCreate","id":"x"}"#;
        let sig = B64.encode(sk.sign(body).to_bytes());
        assert_eq!(
            keys.verify(body, Some(sig.as_bytes()), None),
            Ok(Verified {
                scheme: Scheme::Ed25519,
                key_index: 0
            })
        );
        let unpadded = sig.trim_end_matches('=');
        assert!(keys.verify(body, Some(unpadded.as_bytes()), None).is_ok());
        let spaced = br#"{"type": "ContactCreate","id":"x"}"#;
        assert_eq!(
            keys.verify(spaced, Some(sig.as_bytes()), None),
            Err(SignatureError::Mismatch {
                scheme: Scheme::Ed25519,
                keys: 1
            })
        );
    }

    #[test]
    fn malformed_headers_are_typed_errors() {
        let (_, pem) = ed_pair();
        let mut keys = WebhookKeys::highlevel();
        keys.add_pem(&pem).expect("add");
        let cases: [(&[u8], &str); 4] = [
            (b"", "empty"),
            (b"!!!not base64!!!", "not valid base64"),
            (b"AAAA", "an Ed25519 signature is 64 bytes"),
            (&[b'A'; 5000], "too long to be a signature"),
        ];
        for (header, reason) in cases {
            assert_eq!(
                keys.verify(b"{}", Some(header), None),
                Err(SignatureError::Malformed {
                    scheme: Scheme::Ed25519,
                    reason
                }),
                "{reason}"
            );
        }
        assert!(matches!(
            keys.verify(b"{}", None, Some(b"AAAA")),
            Err(SignatureError::Mismatch {
                scheme: Scheme::Rsa,
                ..
            }) | Err(SignatureError::Malformed {
                scheme: Scheme::Rsa,
                ..
            })
        ));
    }

    #[test]
    fn a_bundle_adds_every_key_or_none() {
        let (_, a) = ed_pair();
        let (_, b) = ed_pair();
        let bundle = format!("old key:\n{a}\nnew key:\n{b}\n{HIGHLEVEL_RSA_PEM}");
        let mut keys = WebhookKeys::empty();
        assert_eq!(keys.add_pem(&bundle), Ok(3));
        assert_eq!((keys.ed25519_len(), keys.rsa_len()), (2, 1));

        let broken = format!("{a}\n-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
        let mut keys = WebhookKeys::empty();
        assert!(matches!(
            keys.add_pem(&broken),
            Err(KeyError::NotAPublicKey { index: 1, .. })
        ));
        assert!(keys.is_empty(), "nothing added when one block fails");
        assert_eq!(keys.add_pem("no pem here"), Err(KeyError::NoPem));
        assert!(matches!(
            keys.add_rsa_pem(&a),
            Err(KeyError::WrongKind {
                expected: Scheme::Rsa,
                ..
            })
        ));
        assert!(matches!(
            keys.add_ed25519_pem(HIGHLEVEL_RSA_PEM),
            Err(KeyError::WrongKind {
                expected: Scheme::Ed25519,
                ..
            })
        ));
    }

    #[test]
    fn pem_blocks_ignores_text_around_and_unterminated_blocks() {
        assert_eq!(
            pem_blocks("x -----BEGIN A-----\nQQ\n-----END A----- y").len(),
            1
        );
        assert!(pem_blocks("-----BEGIN A-----\nQQ\n").is_empty());
        assert!(pem_blocks("-----BEGIN A-----\nQQ\n-----END A").is_empty());
    }
}
