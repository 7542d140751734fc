//! `ghl::webhook` against the sandbox's signer, which signs exactly as HighLevel does: both
//! schemes verify over the exact bytes, a key outside the set is refused, and a rotation set
//! (old and new keys) accepts both.

use std::path::PathBuf;
use std::sync::OnceLock;

use ghl::webhook::{Scheme, SignatureError, Verified, WebhookKeys};
use ghl_sandbox::Signer;

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
        let dir =
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("ghl-webhook-keys-{name}"));
        Signer::load_or_create(&dir).expect("sandbox signing keys")
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
    // HighLevel's published key did not sign the sandbox's bodies either.
    assert_eq!(
        WebhookKeys::highlevel().verify(BODY, None, Some(rsa.as_bytes())),
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
fn the_default_set_decides_on_the_rsa_header_when_no_ed25519_key_is_known() {
    // HighLevel's Ed25519 key is not published with its docs: with the default set, the RSA
    // header is what is checked, and a lone x-ghl-signature cannot be verified.
    let s = signer("a");
    let mut keys = WebhookKeys::highlevel();
    keys.add_rsa_pem(&s.rsa_public_pem()).expect("rsa");
    let (ed, rsa) = s.sign(BODY);
    assert_eq!(
        keys.verify(BODY, Some(ed.as_bytes()), Some(rsa.as_bytes())),
        Ok(Verified {
            scheme: Scheme::Rsa,
            key_index: 1
        })
    );
    assert_eq!(
        keys.verify(BODY, Some(ed.as_bytes()), None),
        Err(SignatureError::NoKey {
            scheme: Scheme::Ed25519
        })
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
