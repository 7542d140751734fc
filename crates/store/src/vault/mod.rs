//! The token vault: AES-256-GCM encryption of every token and secret the store keeps.
//!
//! A ciphertext is one text value, `v1:<key_id>:<nonce b64>:<ciphertext b64>`, so that each
//! records which key sealed it (rotation re-encrypts row by row, and a process can read rows
//! sealed under any key it still holds). The nonce is 96 random bits from the OS for every
//! encryption. The associated data binds a ciphertext to its row and field (for example
//! `loc_123:access`), so a value copied to another row or field fails to decrypt instead of
//! being silently accepted as someone else's token.

mod env;
mod keyfile;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore as _;
use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox, SecretString};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::StoreError;

/// The environment variable that, when set, holds the master key(s) instead of the key file.
pub const MASTER_KEY_ENV: &str = "DRIVESYNC_MASTER_KEY";
/// The key file's name inside the data directory.
pub const KEY_FILE_NAME: &str = "master.key";
/// Length of an AES-256 key in bytes.
pub const KEY_LEN: usize = 32;

const FORMAT_VERSION: &str = "v1";
const NONCE_LEN: usize = 12;
const MAX_KEY_ID_LEN: usize = 64;

/// Where a keyring's keys came from, so errors and operators can tell which to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyOrigin {
    /// `DRIVESYNC_MASTER_KEY`.
    Env,
    /// A key file (normally `<data_dir>/master.key`).
    File(PathBuf),
    /// Generated in memory by [`Keyring::generate`]; lost when the process ends.
    Generated,
}

/// 256 bits of key, zeroized on drop.
type KeyMaterial = SecretBox<[u8; KEY_LEN]>;

struct KeyEntry {
    id: String,
    material: KeyMaterial,
}

/// One or more 256-bit keys, each with an id, one of them current (used for new encryptions).
///
/// Key material lives in [`SecretBox`]es, which zeroize on drop; `Debug` shows only the ids.
/// Cloning is cheap and shares the keys.
#[derive(Clone)]
pub struct Keyring {
    keys: Arc<Vec<KeyEntry>>,
    current: usize,
    origin: KeyOrigin,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current_id())
            .field("ids", &self.ids())
            .field("origin", &self.origin)
            .finish()
    }
}

impl Keyring {
    /// The keyring drivesync runs with: from `DRIVESYNC_MASTER_KEY` when that is set (and not
    /// empty), otherwise from `<data_dir>/master.key`, which is created (mode 0600) holding a
    /// new random key on first run.
    pub fn from_env_or_file(data_dir: &Path) -> Result<Keyring, StoreError> {
        match std::env::var(MASTER_KEY_ENV) {
            Ok(value) => {
                let value = Zeroizing::new(value);
                if value.trim().is_empty() {
                    Keyring::load_or_create_file(data_dir)
                } else {
                    Keyring::from_env_value(&value)
                }
            }
            Err(std::env::VarError::NotPresent) => Keyring::load_or_create_file(data_dir),
            Err(std::env::VarError::NotUnicode(_)) => Err(StoreError::InvalidMasterKey {
                reason: "it is not valid UTF-8".into(),
            }),
        }
    }

    /// Parses a `DRIVESYNC_MASTER_KEY` value: `KEY` or `id1:KEY1,id2:KEY2`, each KEY the
    /// base64 of 32 bytes; the first is current. A key without an id gets the first 8 hex
    /// characters of its SHA-256 as id.
    pub fn from_env_value(value: &str) -> Result<Keyring, StoreError> {
        let keys = env::parse(value)?;
        Keyring::new(keys, 0, KeyOrigin::Env)
            .map_err(|reason| StoreError::InvalidMasterKey { reason })
    }

    /// Reads `<data_dir>/master.key`, creating it (and `data_dir`) with one new key if it does
    /// not exist. The file holds JSON lines `{"id", "key", "created_at"}`; the last is current.
    pub fn load_or_create_file(data_dir: &Path) -> Result<Keyring, StoreError> {
        keyfile::load_or_create(&Keyring::key_file_path(data_dir))
    }

    /// Appends a new random key to `<data_dir>/master.key` (creating the file if needed) and
    /// returns the reloaded keyring, in which the new key is current. Existing ciphertexts
    /// stay readable under their old key until [`crate::Store::reencrypt_all`] moves them.
    pub fn rotate_file(data_dir: &Path) -> Result<Keyring, StoreError> {
        keyfile::rotate(&Keyring::key_file_path(data_dir))
    }

    /// Removes key `id` from `<data_dir>/master.key` and returns the reloaded keyring. The
    /// current key cannot be removed. Values still sealed under the removed key become
    /// unreadable, so re-encrypt first (see [`crate::Store::key_usage`]).
    pub fn remove_key(data_dir: &Path, id: &str) -> Result<Keyring, StoreError> {
        keyfile::remove(&Keyring::key_file_path(data_dir), id)
    }

    /// Where the key file of `data_dir` lives.
    pub fn key_file_path(data_dir: &Path) -> PathBuf {
        data_dir.join(KEY_FILE_NAME)
    }

    /// A keyring with one fresh random key that exists only in memory (tests, throwaway runs).
    pub fn generate() -> Keyring {
        let material = random_key();
        let id = key_id_for(material.expose_secret());
        Keyring::new(vec![(id, material)], 0, KeyOrigin::Generated)
            .expect("a single generated key is always a valid keyring")
    }

    /// `keys` in order, with `keys[current]` current. Fails (with a reason naming no key
    /// material) on no keys, a bad id, or a duplicate id.
    fn new(
        keys: Vec<(String, KeyMaterial)>,
        current: usize,
        origin: KeyOrigin,
    ) -> Result<Keyring, String> {
        if keys.is_empty() {
            return Err("no keys".into());
        }
        let mut entries: Vec<KeyEntry> = Vec::with_capacity(keys.len());
        for (id, material) in keys {
            validate_key_id(&id)?;
            if entries.iter().any(|e| e.id == id) {
                return Err(format!("key id {id:?} appears twice"));
            }
            entries.push(KeyEntry { id, material });
        }
        Ok(Keyring {
            current: current.min(entries.len() - 1),
            keys: Arc::new(entries),
            origin,
        })
    }

    /// The id of the key new ciphertexts are sealed with.
    pub fn current_id(&self) -> &str {
        &self.keys[self.current].id
    }

    /// Every key id in the keyring, in load order.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// Whether the keyring holds a key with this id.
    pub fn contains(&self, id: &str) -> bool {
        self.keys.iter().any(|k| k.id == id)
    }

    /// Where the keys came from.
    pub fn origin(&self) -> &KeyOrigin {
        &self.origin
    }

    /// Seals `plaintext` under the current key, bound to `aad` (the row and field it is for).
    pub fn encrypt(&self, plaintext: &[u8], aad: &str) -> Result<String, StoreError> {
        let key = &self.keys[self.current];
        let cipher = Aes256Gcm::new(key.material.expose_secret().into());
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Encrypt { aad: aad.into() })?;
        let b64 = base64::engine::general_purpose::STANDARD;
        Ok(format!(
            "{FORMAT_VERSION}:{}:{}:{}",
            key.id,
            b64.encode(nonce),
            b64.encode(ciphertext)
        ))
    }

    /// Seals a secret string (see [`Keyring::encrypt`]).
    pub fn encrypt_str(&self, plaintext: &SecretString, aad: &str) -> Result<String, StoreError> {
        self.encrypt(plaintext.expose_secret().as_bytes(), aad)
    }

    /// Opens a ciphertext sealed under any key of the keyring, checking it was sealed for `aad`.
    pub fn decrypt(&self, sealed: &str, aad: &str) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let parts = Sealed::parse(sealed, aad)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == parts.key_id)
            .ok_or_else(|| StoreError::UnknownKey {
                key_id: parts.key_id.into(),
                aad: aad.into(),
                known: self.ids().join(", "),
            })?;
        let b64 = base64::engine::general_purpose::STANDARD;
        let malformed = |reason| StoreError::MalformedCiphertext {
            aad: aad.into(),
            reason,
        };
        let nonce = b64
            .decode(parts.nonce)
            .map_err(|_| malformed("the nonce is not base64"))?;
        if nonce.len() != NONCE_LEN {
            return Err(malformed("the nonce is not 12 bytes"));
        }
        let ciphertext = b64
            .decode(parts.ciphertext)
            .map_err(|_| malformed("the ciphertext is not base64"))?;
        let cipher = Aes256Gcm::new(key.material.expose_secret().into());
        let plaintext = cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Decrypt { aad: aad.into() })?;
        Ok(Zeroizing::new(plaintext))
    }

    /// Opens a ciphertext whose plaintext is UTF-8 text (tokens, client secrets).
    pub fn decrypt_string(&self, sealed: &str, aad: &str) -> Result<SecretString, StoreError> {
        let bytes = self.decrypt(sealed, aad)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| StoreError::Corrupt {
            what: aad.into(),
            reason: "the decrypted value is not UTF-8".into(),
        })?;
        Ok(SecretString::from(text))
    }

    /// Re-seals `sealed` under the current key if it is under another one; `None` if it is
    /// already current. The plaintext only passes through zeroized buffers.
    pub fn reseal(&self, sealed: &str, aad: &str) -> Result<Option<String>, StoreError> {
        if Sealed::parse(sealed, aad)?.key_id == self.current_id() {
            return Ok(None);
        }
        let plaintext = self.decrypt(sealed, aad)?;
        self.encrypt(&plaintext, aad).map(Some)
    }
}

/// The key id a ciphertext records, without decrypting it.
pub fn key_id_of<'a>(sealed: &'a str, aad: &str) -> Result<&'a str, StoreError> {
    Sealed::parse(sealed, aad).map(|s| s.key_id)
}

/// Associated data for a location's access token.
pub fn access_aad(location_id: &str) -> String {
    format!("{location_id}:access")
}

/// Associated data for a location's refresh token.
pub fn refresh_aad(location_id: &str) -> String {
    format!("{location_id}:refresh")
}

/// Associated data for a named secret.
pub fn secret_aad(name: &str) -> String {
    format!("secret:{name}")
}

/// The parts of a `v1:<key_id>:<nonce>:<ciphertext>` value, still encoded.
struct Sealed<'a> {
    key_id: &'a str,
    nonce: &'a str,
    ciphertext: &'a str,
}

impl<'a> Sealed<'a> {
    fn parse(sealed: &'a str, aad: &str) -> Result<Sealed<'a>, StoreError> {
        let malformed = |reason| StoreError::MalformedCiphertext {
            aad: aad.into(),
            reason,
        };
        let mut parts = sealed.splitn(4, ':');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(FORMAT_VERSION), Some(key_id), Some(nonce), Some(ciphertext))
                if !key_id.is_empty() =>
            {
                Ok(Sealed {
                    key_id,
                    nonce,
                    ciphertext,
                })
            }
            (Some(FORMAT_VERSION), ..) => Err(malformed("it does not have four ':' fields")),
            _ => Err(malformed("it does not start with v1:")),
        }
    }
}

/// A key id is written into every ciphertext and the key file, so it is kept to characters
/// that cannot collide with the `:` separator or need escaping.
fn validate_key_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= MAX_KEY_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        // The id is not echoed: a mistyped DRIVESYNC_MASTER_KEY could put key material there.
        Err(format!(
            "a key id must be 1 to {MAX_KEY_ID_LEN} characters of A-Z a-z 0-9 - _ ."
        ))
    }
}

/// The default id of a key: the first 8 hex characters of its SHA-256 (32 bits of a one-way
/// hash of 256 random bits reveal nothing useful about the key).
fn key_id_for(material: &[u8; KEY_LEN]) -> String {
    let digest = Sha256::digest(material);
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// 32 bytes from the OS, written straight into the zeroizing box (no stray copies).
fn random_key() -> KeyMaterial {
    let mut material = SecretBox::new(Box::new([0u8; KEY_LEN]));
    OsRng.fill_bytes(material.expose_secret_mut());
    material
}

/// Decodes base64 key material into a zeroizing box; the reason names no key material.
fn decode_key(encoded: &str) -> Result<KeyMaterial, String> {
    use base64::engine::{general_purpose, DecodePaddingMode, GeneralPurposeConfig};
    let lenient = general_purpose::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let bytes = Zeroizing::new(
        lenient
            .decode(encoded.trim())
            .map_err(|_| "a key is not valid base64".to_string())?,
    );
    if bytes.len() != KEY_LEN {
        return Err(format!(
            "a key decodes to {} bytes, not {KEY_LEN}",
            bytes.len()
        ));
    }
    let mut material = SecretBox::new(Box::new([0u8; KEY_LEN]));
    material.expose_secret_mut().copy_from_slice(&bytes);
    Ok(material)
}

/// Base64 of key material, in a zeroizing string.
fn encode_key(material: &KeyMaterial) -> Zeroizing<String> {
    Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(material.expose_secret()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_format() {
        let ring = Keyring::generate();
        let sealed = ring.encrypt(b"tok-123", "loc:access").unwrap();
        assert!(sealed.starts_with(&format!("v1:{}:", ring.current_id())));
        assert_eq!(&*ring.decrypt(&sealed, "loc:access").unwrap(), b"tok-123");
        assert_eq!(key_id_of(&sealed, "x").unwrap(), ring.current_id());
        // A fresh nonce every time: the same plaintext never seals to the same text.
        assert_ne!(sealed, ring.encrypt(b"tok-123", "loc:access").unwrap());
    }

    #[test]
    fn wrong_aad_and_tampering_are_typed_errors() {
        let ring = Keyring::generate();
        let sealed = ring.encrypt(b"tok", "a:access").unwrap();
        assert!(matches!(
            ring.decrypt(&sealed, "a:refresh"),
            Err(StoreError::Decrypt { .. })
        ));
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(matches!(
            ring.decrypt(&tampered, "a:access"),
            Err(StoreError::Decrypt { .. }) | Err(StoreError::MalformedCiphertext { .. })
        ));
        for bad in ["", "plain", "v2:x:y:z", "v1::a:b", "v1:id:!!:AAAA", "v1:id"] {
            let err = ring.decrypt(bad, "a:access").unwrap_err();
            assert!(
                matches!(
                    err,
                    StoreError::MalformedCiphertext { .. } | StoreError::UnknownKey { .. }
                ),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn unknown_key_names_the_id_and_the_fix() {
        let a = Keyring::generate();
        let b = Keyring::generate();
        let sealed = a.encrypt(b"tok", "x:access").unwrap();
        let err = b.decrypt(&sealed, "x:access").unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, StoreError::UnknownKey { ref key_id, .. } if key_id == a.current_id())
        );
        assert!(
            msg.contains(a.current_id()) && msg.contains("restore"),
            "{msg}"
        );
    }

    #[test]
    fn reseal_moves_to_the_current_key_only_when_needed() {
        let old = Keyring::generate();
        let sealed = old.encrypt(b"tok", "x:refresh").unwrap();
        assert!(old.reseal(&sealed, "x:refresh").unwrap().is_none());
        let both = Keyring::new(
            vec![
                ("new".into(), random_key()),
                (
                    old.current_id().into(),
                    decode_key(&encode_key(&old.keys[0].material)).unwrap(),
                ),
            ],
            0,
            KeyOrigin::Generated,
        )
        .unwrap();
        let moved = both.reseal(&sealed, "x:refresh").unwrap().unwrap();
        assert!(moved.starts_with("v1:new:"));
        assert_eq!(&*both.decrypt(&moved, "x:refresh").unwrap(), b"tok");
    }

    #[test]
    fn debug_shows_ids_only() {
        let ring = Keyring::generate();
        let shown = format!("{ring:?}");
        assert!(shown.contains(ring.current_id()));
        let encoded = encode_key(&ring.keys[0].material);
        assert!(!shown.contains(encoded.as_str()));
        let raw = format!("{:?}", ring.keys[0].material.expose_secret());
        assert!(!shown.contains(&raw));
    }
}
