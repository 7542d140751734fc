//! The sandbox's webhook signing keys: Ed25519 for `x-ghl-signature` and RSA for the legacy
//! `x-wh-signature`. Generated on first start and kept (PKCS#8 PEM, mode 0600) so a receiver
//! configured with `drivesync sandbox keys` keeps verifying across restarts.
//!
//! The RSA key is 2048 bits where HighLevel's is 4096: the scheme (PKCS#1 v1.5 over SHA-256)
//! is the same, and signing thousands of events per second stays cheap.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::Signer as _;
use rsa::pkcs8::LineEnding;
use rsa::signature::SignatureEncoding;
use sha2::Sha256;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the webhook signing keys in {path}: {source}; check that the directory is writable, or pass another --key-dir")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the key file {path} is not a PKCS#8 PEM private key ({reason}); delete it to have a new key generated")]
    BadKey { path: PathBuf, reason: String },
}

pub struct Signer {
    ed: ed25519_dalek::SigningKey,
    rsa: rsa::pkcs1v15::SigningKey<Sha256>,
    rsa_public: rsa::RsaPublicKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer { keys: [redacted] }")
    }
}

const ED_FILE: &str = "webhook-ed25519.pem";
const RSA_FILE: &str = "webhook-rsa.pem";

impl Signer {
    pub fn load_or_create(dir: &Path) -> Result<Signer, KeyError> {
        let io = |source| KeyError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let ed_path = dir.join(ED_FILE);
        let ed = match read_pem(&ed_path)? {
            Some(pem) => {
                ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).map_err(|e| KeyError::BadKey {
                    path: ed_path.clone(),
                    reason: e.to_string(),
                })?
            }
            None => {
                let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
                let pem = key
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(|e| KeyError::BadKey {
                        path: ed_path.clone(),
                        reason: e.to_string(),
                    })?;
                if !write_private(&ed_path, pem.as_bytes())? {
                    // Another process or thread published its key first: use that one.
                    return Signer::load_or_create(dir);
                }
                key
            }
        };
        let rsa_path = dir.join(RSA_FILE);
        let rsa_key = match read_pem(&rsa_path)? {
            Some(pem) => {
                use rsa::pkcs8::DecodePrivateKey as _;
                rsa::RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|e| KeyError::BadKey {
                    path: rsa_path.clone(),
                    reason: e.to_string(),
                })?
            }
            None => {
                use rsa::pkcs8::EncodePrivateKey as _;
                let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).map_err(|e| {
                    KeyError::BadKey {
                        path: rsa_path.clone(),
                        reason: e.to_string(),
                    }
                })?;
                let pem = key
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(|e| KeyError::BadKey {
                        path: rsa_path.clone(),
                        reason: e.to_string(),
                    })?;
                if !write_private(&rsa_path, pem.as_bytes())? {
                    return Signer::load_or_create(dir);
                }
                key
            }
        };
        let rsa_public = rsa::RsaPublicKey::from(&rsa_key);
        Ok(Signer {
            ed,
            rsa: rsa::pkcs1v15::SigningKey::<Sha256>::new(rsa_key),
            rsa_public,
        })
    }

    /// `x-ghl-signature` (Ed25519) and the legacy `x-wh-signature` (RSA-SHA256), both base64,
    /// over `body`. HighLevel sends only the first since 1 July 2026: see [`Signer::sign_ed25519`].
    pub fn sign(&self, body: &[u8]) -> (String, String) {
        let ed = B64.encode(self.ed.sign(body).to_bytes());
        let rsa = B64.encode(self.rsa.sign(body).to_bytes());
        (ed, rsa)
    }

    /// `x-ghl-signature` alone: what HighLevel sends now (the RSA header is legacy), and cheap
    /// enough to sign at send time in a load generator (RSA-4096 signing costs milliseconds).
    pub fn sign_ed25519(&self, body: &[u8]) -> String {
        B64.encode(self.ed.sign(body).to_bytes())
    }

    pub fn ed25519_public_pem(&self) -> String {
        self.ed
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }

    pub fn rsa_public_pem(&self) -> String {
        use rsa::pkcs8::EncodePublicKey as _;
        self.rsa_public
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }
}

fn read_pem(path: &Path) -> Result<Option<String>, KeyError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(KeyError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes a private key readable by its owner only, through a temporary file published with
/// a hard link, so a reader never sees half a key and a key already there is never replaced.
/// Returns false when another writer published first.
fn write_private(path: &Path, bytes: &[u8]) -> Result<bool, KeyError> {
    use std::io::Write;
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension(format!(
        "tmp{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    let published = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match published {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_creating_keys_at_once_agree_on_one() {
        let dir =
            std::env::temp_dir().join(format!("sandbox-keys-race-{:x}", rand::random::<u64>()));
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let d = dir.clone();
                std::thread::spawn(move || Signer::load_or_create(&d).unwrap().ed25519_public_pem())
            })
            .collect();
        let keys: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(
            keys.iter().all(|k| k == &keys[0]),
            "every thread signs with the key on disk"
        );
        let on_disk = Signer::load_or_create(&dir).unwrap().rsa_public_pem();
        assert!(on_disk.contains("BEGIN PUBLIC KEY"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
