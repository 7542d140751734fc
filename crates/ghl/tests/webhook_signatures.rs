//! `ghl::webhook` against the sandbox's signer, which signs exactly as HighLevel does: both
//! schemes verify over the exact bytes, a key outside the set is refused, and a rotation set
//! (old and new keys) accepts both. The default set is HighLevel's Ed25519 key alone: since
//! 1 July 2026 HighLevel signs only with `x-ghl-signature`, and the retired `x-wh-signature`
//! counts only when an RSA key is added on purpose.

mod common;

use std::sync::OnceLock;

use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
use ghl::webhook::{
    KeyInfo, Scheme, SignatureError, Verified, WebhookKeys, HIGHLEVEL_ED25519_PEM,
    HIGHLEVEL_RSA_PEM,
};
use ghl_sandbox::Signer;
use sha2::Digest as _;

/// One signer per key directory per test binary: two tests generating the same directory's
/// keys at once could each load a different key.
fn signer(name: &str) -> &'static Signer {
    static A: OnceLock<Signer> = OnceLock::new();
    static B: OnceLock<Signer> = OnceLock::new();
    let cell = match name {
        "a" => &A,
        _ => &B,
    };
    cell.get_or_init(|| {
        Signer::load_or_create(&testkit::key_dir!(name)).expect("sandbox signing keys")
    })
}

fn keys_of(s: &Signer) -> WebhookKeys {
    let mut keys = WebhookKeys::empty();
    keys.add_ed25519_pem(&s.ed25519_public_pem())
        .expect("ed25519");
    keys.add_rsa_pem(&s.rsa_public_pem()).expect("rsa");
    keys
}

const BODY: &[u8] = br#"{"type":"ContactCreate","locationId":"loc1","id":"c1","webhookId":"w1"}"#;

#[test]
fn both_schemes_verify_and_ed25519_is_preferred() {
    let s = signer("a");
    let keys = keys_of(s);
    let (ed, rsa) = s.sign(BODY);
    assert_eq!(
        keys.verify(BODY, Some(ed.as_bytes()), Some(rsa.as_bytes())),
        Ok(Verified {
            scheme: Scheme::Ed25519,
            key_index: 0
        })
    );
    assert_eq!(
        keys.verify(BODY, None, Some(rsa.as_bytes())),
        Ok(Verified {
            scheme: Scheme::Rsa,
            key_index: 0
        })
    );
    // A present Ed25519 signature that fails is final, even beside a good RSA one.
    let (other_ed, _) = signer("b").sign(BODY);
    assert_eq!(
        keys.verify(BODY, Some(other_ed.as_bytes()), Some(rsa.as_bytes())),
        Err(SignatureError::Mismatch {
            scheme: Scheme::Ed25519,
            keys: 1
        })
    );
}

#[test]
fn verification_is_over_the_exact_bytes() {
    let s = signer("a");
    let keys = keys_of(s);
    let (ed, rsa) = s.sign(BODY);
    let reformatted = serde_json::to_vec_pretty(
        &serde_json::from_slice::<serde_json::Value>(BODY).expect("json"),
    )
    .expect("json");
    let mut trailing = BODY.to_vec();
    trailing.push(b'\n');
    for altered in [reformatted, trailing, BODY[..BODY.len() - 1].to_vec()] {
        assert!(matches!(
            keys.verify(&altered, Some(ed.as_bytes()), None),
            Err(SignatureError::Mismatch { .. })
        ));
        assert!(matches!(
            keys.verify(&altered, None, Some(rsa.as_bytes())),
            Err(SignatureError::Mismatch { .. })
        ));
    }
}

#[test]
fn a_key_not_in_the_set_is_refused() {
    let keys = keys_of(signer("a"));
    let (ed, rsa) = signer("b").sign(BODY);
    assert_eq!(
        keys.verify(BODY, Some(ed.as_bytes()), None),
        Err(SignatureError::Mismatch {
            scheme: Scheme::Ed25519,
            keys: 1
        })
    );
    assert_eq!(
        keys.verify(BODY, None, Some(rsa.as_bytes())),
        Err(SignatureError::Mismatch {
            scheme: Scheme::Rsa,
            keys: 1
        })
    );
    // HighLevel's published keys did not sign the sandbox's bodies either.
    assert_eq!(
        WebhookKeys::highlevel().verify(BODY, Some(ed.as_bytes()), None),
        Err(SignatureError::Mismatch {
            scheme: Scheme::Ed25519,
            keys: 1
        })
    );
    let legacy = WebhookKeys::empty()
        .with_pem(HIGHLEVEL_RSA_PEM)
        .expect("rsa");
    assert_eq!(
        legacy.verify(BODY, None, Some(rsa.as_bytes())),
        Err(SignatureError::Mismatch {
            scheme: Scheme::Rsa,
            keys: 1
        })
    );
}

#[test]
fn a_rotation_set_accepts_old_and_new_keys() {
    let (a, b) = (signer("a"), signer("b"));
    let bundle = format!(
        "{}{}{}{}{}",
        a.ed25519_public_pem(),
        a.rsa_public_pem(),
        b.ed25519_public_pem(),
        b.rsa_public_pem(),
        ghl::webhook::HIGHLEVEL_RSA_PEM
    );
    let keys = WebhookKeys::empty().with_pem(&bundle).expect("bundle");
    assert_eq!((keys.ed25519_len(), keys.rsa_len()), (2, 3));
    for (index, s) in [a, b].into_iter().enumerate() {
        let (ed, rsa) = s.sign(BODY);
        assert_eq!(
            keys.verify(BODY, Some(ed.as_bytes()), None),
            Ok(Verified {
                scheme: Scheme::Ed25519,
                key_index: index
            })
        );
        assert_eq!(
            keys.verify(BODY, None, Some(rsa.as_bytes())),
            Ok(Verified {
                scheme: Scheme::Rsa,
                key_index: index
            })
        );
    }
}

#[test]
fn the_embedded_highlevel_key_is_the_published_ed25519_key() {
    let key = ed25519_dalek::VerifyingKey::from_public_key_pem(HIGHLEVEL_ED25519_PEM)
        .expect("the embedded key parses as Ed25519");
    let spki = key.to_public_key_der().expect("SPKI DER");
    assert_eq!(
        base64::engine::general_purpose::STANDARD.encode(spki.as_bytes()),
        "MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg="
    );
    // The file under keys/ is the one HighLevel publishes, byte for byte.
    let published = common::ghl_dir().join("webhook-signing-key.ed25519.pem");
    assert_eq!(
        HIGHLEVEL_ED25519_PEM,
        std::fs::read_to_string(&published).expect("shared/ghl holds the published key")
    );
    // Its fingerprint is the SHA-256 of that SPKI, cut to 16 hex characters.
    let digest: String = sha2::Sha256::digest(spki.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        WebhookKeys::highlevel().describe(),
        [KeyInfo {
            scheme: Scheme::Ed25519,
            fingerprint: digest[..16].to_string(),
            highlevel: true,
        }]
    );
}

#[test]
fn the_default_set_refuses_the_retired_rsa_header_without_reading_it() {
    let keys = WebhookKeys::highlevel();
    assert_eq!((keys.ed25519_len(), keys.rsa_len()), (1, 0));
    let (_, rsa) = signer("a").sign(BODY);
    // A good signature, garbage and an empty value are all refused the same way: with no RSA
    // key configured the header's value is never looked at.
    for header in [rsa.as_bytes(), b"!!not base64!!".as_slice(), b""] {
        let refused = keys.verify(BODY, None, Some(header));
        assert_eq!(
            refused,
            Err(SignatureError::NoKey {
                scheme: Scheme::Rsa
            })
        );
        let message = refused.expect_err("refused").to_string();
        assert!(
            message.contains(
                "the legacy RSA scheme (x-wh-signature) was retired by HighLevel on 1 July \
                 2026 and is not accepted by this receiver"
            ),
            "{message}"
        );
    }
}

#[test]
fn a_set_with_a_test_ed25519_key_verifies_and_ignores_the_rsa_header() {
    let s = signer("a");
    let mut keys = WebhookKeys::highlevel();
    keys.add_ed25519_pem(&s.ed25519_public_pem())
        .expect("ed25519");
    let (ed, rsa) = s.sign(BODY);
    let ok = Ok(Verified {
        scheme: Scheme::Ed25519,
        key_index: 1,
    });
    assert_eq!(keys.verify(BODY, Some(ed.as_bytes()), None), ok);
    assert_eq!(
        keys.verify(BODY, Some(ed.as_bytes()), Some(rsa.as_bytes())),
        ok
    );
    assert_eq!(
        keys.verify(BODY, None, Some(rsa.as_bytes())),
        Err(SignatureError::NoKey {
            scheme: Scheme::Rsa
        })
    );
    let info = keys.describe();
    assert_eq!(
        info.iter().map(|i| i.highlevel).collect::<Vec<_>>(),
        [true, false]
    );
    assert_ne!(info[0].fingerprint, info[1].fingerprint);
}

#[test]
fn adding_highlevels_rsa_key_accepts_the_legacy_header_again() {
    let s = signer("a");
    let mut keys = WebhookKeys::highlevel();
    keys.add_rsa_pem(HIGHLEVEL_RSA_PEM).expect("legacy key");
    let (ed, rsa) = s.sign(BODY);
    // Now the RSA header is read: the sandbox's signature is checked against HighLevel's
    // RSA key, and does not match it.
    assert_eq!(
        keys.verify(BODY, None, Some(rsa.as_bytes())),
        Err(SignatureError::Mismatch {
            scheme: Scheme::Rsa,
            keys: 1
        })
    );
    keys.add_rsa_pem(&s.rsa_public_pem()).expect("rsa");
    assert_eq!(
        keys.verify(BODY, None, Some(rsa.as_bytes())),
        Ok(Verified {
            scheme: Scheme::Rsa,
            key_index: 1
        })
    );
    // A present x-ghl-signature is still what decides when an Ed25519 key is configured.
    assert_eq!(
        keys.verify(BODY, Some(ed.as_bytes()), Some(rsa.as_bytes())),
        Err(SignatureError::Mismatch {
            scheme: Scheme::Ed25519,
            keys: 1
        })
    );
    assert_eq!(
        keys.describe()
            .iter()
            .map(|i| (i.scheme, i.highlevel))
            .collect::<Vec<_>>(),
        [
            (Scheme::Ed25519, true),
            (Scheme::Rsa, true),
            (Scheme::Rsa, false)
        ]
    );
}

#[test]
fn headers_are_read_from_a_header_map() {
    let s = signer("a");
    let keys = keys_of(s);
    let (ed, _) = s.sign(BODY);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-ghl-signature", ed.parse().expect("header value"));
    assert!(keys.verify_headers(BODY, &headers).is_ok());
    assert_eq!(
        keys.verify_headers(BODY, &reqwest::header::HeaderMap::new()),
        Err(SignatureError::Missing)
    );
}
