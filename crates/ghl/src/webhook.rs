//! Verifying that a webhook came from HighLevel: its signature over the exact body bytes.
//!
//! HighLevel has two signature schemes: `x-ghl-signature` (Ed25519, base64) and the legacy
//! `x-wh-signature` (RSA-SHA256 PKCS#1 v1.5, base64). **Since 1 July 2026 HighLevel signs
//! with `x-ghl-signature` only**: its Webhook Integration Guide retired `x-wh-signature` on that
//! date. [`WebhookKeys`] holds any number of public keys of each kind, so a key rotation is
//! handled by configuring the old and the new key side by side.
//!
//! The default set, [`WebhookKeys::highlevel`], is HighLevel's published Ed25519 key alone. The
//! legacy scheme is off unless the caller adds an RSA key on purpose (HighLevel's, with
//! `add_rsa_pem(`[`HIGHLEVEL_RSA_PEM`]`)`, or any other through the `add_*` methods).
//!
//! Which header is checked:
//! - `x-ghl-signature`, when it is present and at least one Ed25519 key is configured. A
//!   present Ed25519 signature that fails is final (no second chance with the RSA header).
//! - otherwise `x-wh-signature`, **only when an RSA key is configured**. With no RSA key the
//!   header is never looked at (not even decoded): a webhook carrying only `x-wh-signature` is
//!   refused with [`SignatureError::NoKey`] for [`Scheme::Rsa`], whose message says the legacy
//!   scheme was retired by HighLevel and is off.
//!
//! There is no "skip verification" switch: an empty key set verifies nothing.
//!
//! ```
//! use ghl::webhook::{Scheme, SignatureError, WebhookKeys};
//!
//! let keys = WebhookKeys::highlevel();
//! let body = br#"{"type":"ContactCreate"}"#;
//! // Only the retired RSA header: refused without reading it.
//! assert_eq!(
//!     keys.verify(body, None, Some(b"bm90IGEgc2lnbmF0dXJl")),
//!     Err(SignatureError::NoKey { scheme: Scheme::Rsa })
//! );
//! // An Ed25519 signature HighLevel's key did not make.
//! assert!(matches!(
//!     keys.verify(body, Some(&[b'A'; 86][..]), None),
//!     Err(SignatureError::Mismatch { scheme: Scheme::Ed25519, .. })
//! ));
//! // What a start-up log line shows: one key, HighLevel's.
//! let accepted = keys.describe();
//! assert_eq!(accepted.len(), 1);
//! assert!(accepted[0].highlevel);
//! assert_eq!(accepted[0].scheme, Scheme::Ed25519);
//! ```

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::signature::Verifier as _;
use sha2::{Digest as _, Sha256};

/// The Ed25519 signature header.
pub const GHL_SIGNATURE_HEADER: &str = "x-ghl-signature";
/// The legacy RSA-SHA256 signature header.
pub const WH_SIGNATURE_HEADER: &str = "x-wh-signature";

/// HighLevel's published RSA-4096 public key for `x-wh-signature` (CC0, from HighLevel's API
/// documentation; see `crates/ghl/keys/README.md`).
/// Since HighLevel retired that scheme on 1 July 2026 it is not in the default set; add it
/// (e.g. `keys.add_rsa_pem(HIGHLEVEL_RSA_PEM)`) only to accept legacy signatures.
pub const HIGHLEVEL_RSA_PEM: &str = include_str!("../keys/highlevel-webhook-rsa.pem");

/// HighLevel's published Ed25519 public key for `x-ghl-signature` (from HighLevel's webhook
/// documentation; see `crates/ghl/keys/README.md`). The default set
/// ([`WebhookKeys::highlevel`]) is this key alone.
pub const HIGHLEVEL_ED25519_PEM: &str = include_str!("../keys/highlevel-webhook-ed25519.pem");

/// How many hex characters of the SHA-256 of a key's SubjectPublicKeyInfo DER make its
/// fingerprint: enough to tell keys apart in a log line, short enough to read.
const FINGERPRINT_HEX_CHARS: usize = 16;

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
    #[error("{}", no_key_message(*scheme))]
    NoKey { scheme: Scheme },
}

fn no_key_message(scheme: Scheme) -> String {
    match scheme {
        Scheme::Ed25519 => format!(
            "the webhook is signed only with {}, and no Ed25519 public key is configured; add \
             HighLevel's published Ed25519 key (the default set holds it)",
            scheme.header()
        ),
        Scheme::Rsa => format!(
            "the webhook is signed only with {}: the legacy RSA scheme (x-wh-signature) was \
             retired by HighLevel on 1 July 2026 and is not accepted by this receiver; \
             HighLevel signs with x-ghl-signature (Ed25519) now, so a body carrying only the \
             legacy header is not a current HighLevel delivery (configure an RSA key only to \
             accept old deliveries on purpose)",
            scheme.header()
        ),
    }
}

/// One configured key, as a start-up log line shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub scheme: Scheme,
    /// The first 16 hex characters of the SHA-256 of the key's SubjectPublicKeyInfo DER (a
    /// PKCS#1 RSA key is re-encoded as SPKI first, so the same key has one fingerprint).
    pub fingerprint: String,
    /// The key is one HighLevel publishes ([`HIGHLEVEL_ED25519_PEM`] or
    /// [`HIGHLEVEL_RSA_PEM`]), not one configured for a sandbox or a rotation.
    pub highlevel: bool,
}

impl std::fmt::Display for KeyInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.scheme, self.fingerprint)?;
        if self.highlevel {
            f.write_str(" (HighLevel)")?;
        }
        Ok(())
    }
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
    ed25519: Vec<Keyed<ed25519_dalek::VerifyingKey>>,
    rsa: Vec<Keyed<rsa::pkcs1v15::VerifyingKey<Sha256>>>,
}

/// A parsed key with its fingerprint, computed once when it is added.
#[derive(Clone)]
struct Keyed<K> {
    key: K,
    fingerprint: String,
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

    /// The default set: HighLevel's published Ed25519 key, the only scheme HighLevel signs
    /// with since 1 July 2026. Add [`HIGHLEVEL_RSA_PEM`] to accept the legacy scheme too.
    pub fn highlevel() -> WebhookKeys {
        let mut keys = WebhookKeys::empty();
        // The embedded PEM is a constant of this crate, checked by a unit test; failing here
        // means the file under keys/ was damaged, which no caller could do anything about.
        keys.add_ed25519_pem(HIGHLEVEL_ED25519_PEM)
            .expect("the embedded HighLevel Ed25519 key parses");
        keys
    }

    /// Every configured key — Ed25519 ones first, each scheme in the order added — with its
    /// fingerprint and whether it is HighLevel's published key: for a start-up log line
    /// saying which signatures this receiver accepts.
    pub fn describe(&self) -> Vec<KeyInfo> {
        let published = highlevel_fingerprints();
        let ed = self
            .ed25519
            .iter()
            .map(|k| (Scheme::Ed25519, k.fingerprint.as_str()));
        let rsa = self
            .rsa
            .iter()
            .map(|k| (Scheme::Rsa, k.fingerprint.as_str()));
        ed.chain(rsa)
            .map(|(scheme, fingerprint)| KeyInfo {
                scheme,
                fingerprint: fingerprint.to_string(),
                highlevel: published.iter().any(|p| p == fingerprint),
            })
            .collect()
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
            (_, Some(sig)) if !self.rsa.is_empty() => self.verify_rsa(body, sig),
            // A key is missing for every header present. Naming the Ed25519 one when it is
            // there points at the key to add; the RSA one alone means the retired scheme.
            (Some(_), _) => Err(SignatureError::NoKey {
                scheme: Scheme::Ed25519,
            }),
            (None, Some(_)) => Err(SignatureError::NoKey {
                scheme: Scheme::Rsa,
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
            .position(|k| k.key.verify_strict(body, &sig).is_ok())
            .map(|key_index| Verified { scheme, key_index })
            .ok_or(SignatureError::Mismatch {
                scheme,
                keys: self.ed25519.len(),
            })
    }

    fn verify_rsa(&self, body: &[u8], header: &[u8]) -> Result<Verified, SignatureError> {
        let scheme = Scheme::Rsa;
        let raw = decode(scheme, header)?;
        let sig = rsa::pkcs1v15::Signature::try_from(raw.as_slice()).map_err(|_| {
            SignatureError::Malformed {
                scheme,
                reason: "not an RSA signature",
            }
        })?;
        self.rsa
            .iter()
            .position(|k| k.key.verify(body, &sig).is_ok())
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

fn parse_ed25519(pem: &str) -> Result<Keyed<ed25519_dalek::VerifyingKey>, String> {
    let key =
        ed25519_dalek::VerifyingKey::from_public_key_pem(pem.trim()).map_err(|e| e.to_string())?;
    let der = key.to_public_key_der().map_err(|e| e.to_string())?;
    Ok(Keyed {
        key,
        fingerprint: fingerprint(der.as_bytes()),
    })
}

fn parse_rsa(pem: &str) -> Result<Keyed<rsa::pkcs1v15::VerifyingKey<Sha256>>, String> {
    use rsa::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
    let pem = pem.trim();
    let key = if pem.starts_with("-----BEGIN RSA PUBLIC KEY-----") {
        rsa::RsaPublicKey::from_pkcs1_pem(pem).map_err(|e| e.to_string())?
    } else {
        rsa::RsaPublicKey::from_public_key_pem(pem).map_err(|e| e.to_string())?
    };
    let der = key.to_public_key_der().map_err(|e| e.to_string())?;
    Ok(Keyed {
        key: rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key),
        fingerprint: fingerprint(der.as_bytes()),
    })
}

fn fingerprint(spki_der: &[u8]) -> String {
    let digest = Sha256::digest(spki_der);
    let mut hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex.truncate(FINGERPRINT_HEX_CHARS);
    hex
}

/// The fingerprints of the keys HighLevel publishes, computed once from the embedded PEMs.
fn highlevel_fingerprints() -> &'static [String] {
    static PUBLISHED: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    PUBLISHED.get_or_init(|| {
        // Both PEMs are constants checked by unit tests; a damaged one would only mean its
        // key is not marked as HighLevel's, so it is skipped rather than panicking here.
        let ed = parse_ed25519(HIGHLEVEL_ED25519_PEM).map(|k| k.fingerprint);
        let rsa = parse_rsa(HIGHLEVEL_RSA_PEM).map(|k| k.fingerprint);
        [ed, rsa].into_iter().flatten().collect()
    })
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
    fn the_default_set_is_highlevels_ed25519_key_alone() {
        let keys = WebhookKeys::highlevel();
        assert_eq!((keys.ed25519_len(), keys.rsa_len()), (1, 0));
        let info = keys.describe();
        assert_eq!(info.len(), 1);
        assert_eq!(info[0].scheme, Scheme::Ed25519);
        assert!(info[0].highlevel);
        assert_eq!(info[0].fingerprint.len(), FINGERPRINT_HEX_CHARS);
        assert!(info[0].fingerprint.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn fingerprints_are_of_the_spki_der_whatever_the_pem_flavour() {
        use rsa::pkcs1::EncodeRsaPublicKey as _;
        use rsa::pkcs8::DecodePublicKey as _;
        let k = rsa::RsaPublicKey::from_public_key_pem(HIGHLEVEL_RSA_PEM).expect("parses");
        let pkcs1 = k.to_pkcs1_pem(LineEnding::LF).expect("encode");
        let a = parse_rsa(HIGHLEVEL_RSA_PEM).expect("spki").fingerprint;
        let b = parse_rsa(&pkcs1).expect("pkcs1").fingerprint;
        assert_eq!(a, b);
        let der = k.to_public_key_der().expect("der");
        let full: String = Sha256::digest(der.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(a, full[..FINGERPRINT_HEX_CHARS]);
        let (_, pem) = ed_pair();
        let mut keys = WebhookKeys::empty();
        keys.add_pem(&format!("{pem}{pkcs1}")).expect("add");
        let info = keys.describe();
        assert_eq!(
            info.iter()
                .map(|i| (i.scheme, i.highlevel))
                .collect::<Vec<_>>(),
            [(Scheme::Ed25519, false), (Scheme::Rsa, true)]
        );
        assert_eq!(info[1].to_string(), format!("RSA {a} (HighLevel)"));
    }

    #[test]
    fn the_legacy_highlevel_key_parses_as_rsa_4096() {
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
        keys.add_pem(&format!("{pem}{HIGHLEVEL_RSA_PEM}"))
            .expect("add");
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
