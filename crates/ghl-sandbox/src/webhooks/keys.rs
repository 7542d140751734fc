//! The sandbox's webhook signing keys: Ed25519 for `x-ghl-signature` and RSA for the legacy
//! `x-wh-signature`. Generated on first need and kept (PKCS#8 PEM, mode 0600) so a receiver
//! configured with `drivesync sandbox keys` keeps verifying across restarts.
//!
//! Only the Ed25519 key is loaded at start: HighLevel has signed with `x-ghl-signature` alone
//! since 1 July 2026, so the RSA key is read (or generated, which takes a noticeable moment)
//! the first time something asks for it — legacy signing, or its public key.
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
use std::sync::OnceLock;

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

/// The legacy RSA key, once loaded.
struct RsaKeys {
    signing: rsa::pkcs1v15::SigningKey<Sha256>,
    public: rsa::RsaPublicKey,
}

pub struct Signer {
    ed: ed25519_dalek::SigningKey,
    /// Where the RSA key is read from or written to on first need.
    dir: PathBuf,
    rsa: OnceLock<RsaKeys>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer { keys: [redacted] }")
    }
}

const ED_FILE: &str = "webhook-ed25519.pem";
const RSA_FILE: &str = "webhook-rsa.pem";

impl Signer {
    /// Loads the Ed25519 key from `dir`, creating the directory and the key if needed. The RSA
    /// key is left for later (see [`Signer::load_rsa`]).
    pub fn load_or_create(dir: &Path) -> Result<Signer, KeyError> {
        let io = |source| KeyError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let ed_path = dir.join(ED_FILE);
        let ed = loop {
            if let Some(pem) = read_pem(&ed_path)? {
                break ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
                    KeyError::BadKey {
                        path: ed_path.clone(),
                        reason: e.to_string(),
                    }
                })?;
            }
            let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| KeyError::BadKey {
                    path: ed_path.clone(),
                    reason: e.to_string(),
                })?;
            if write_private(&ed_path, pem.as_bytes())? {
                break key;
            }
            // Another process or thread published its key first: read that one.
        };
        Ok(Signer {
            ed,
            dir: dir.to_path_buf(),
            rsa: OnceLock::new(),
        })
    }

    /// Loads the legacy RSA key now (generating and keeping it if the directory has none), so
    /// a sandbox that signs with it finds a bad key file at start rather than at its first
    /// webhook. Later calls return at once.
    pub fn load_rsa(&self) -> Result<(), KeyError> {
        self.rsa_keys().map(drop)
    }

    /// Whether the RSA key has been loaded (it is only when something needed it).
    pub fn rsa_loaded(&self) -> bool {
        self.rsa.get().is_some()
    }

    fn rsa_keys(&self) -> Result<&RsaKeys, KeyError> {
        if let Some(k) = self.rsa.get() {
            return Ok(k);
        }
        let key = load_or_create_rsa(&self.dir.join(RSA_FILE))?;
        let public = rsa::RsaPublicKey::from(&key);
        // Two threads may both load it; they read the same file, so whichever wins is the key.
        let _ = self.rsa.set(RsaKeys {
            signing: rsa::pkcs1v15::SigningKey::<Sha256>::new(key),
            public,
        });
        Ok(self.rsa.get().expect("set just above"))
    }

    /// `x-ghl-signature` (Ed25519) and the legacy `x-wh-signature` (RSA-SHA256), both base64,
    /// over `body`; the RSA key is loaded on first use. HighLevel sends only the first since
    /// 1 July 2026: see [`Signer::sign_ed25519`]. If the RSA key cannot be loaded the second
    /// signature is empty (it verifies against nothing) and the reason is logged;
    /// [`Signer::sign_rsa`] returns it instead.
    pub fn sign(&self, body: &[u8]) -> (String, String) {
        let rsa = self.sign_rsa(body).unwrap_or_else(|e| {
            tracing::error!(error = %e, "no legacy x-wh-signature: the RSA key cannot be loaded");
            String::new()
        });
        (self.sign_ed25519(body), rsa)
    }

    /// `x-ghl-signature` alone: what HighLevel sends now (the RSA header is legacy), and cheap
    /// enough to sign at send time in a load generator (RSA-4096 signing costs milliseconds).
    pub fn sign_ed25519(&self, body: &[u8]) -> String {
        B64.encode(self.ed.sign(body).to_bytes())
    }

    /// The legacy `x-wh-signature` (RSA-SHA256, PKCS#1 v1.5, base64) over `body`.
    pub fn sign_rsa(&self, body: &[u8]) -> Result<String, KeyError> {
        use rsa::signature::Signer as _;
        Ok(B64.encode(self.rsa_keys()?.signing.sign(body).to_bytes()))
    }

    pub fn ed25519_public_pem(&self) -> String {
        self.ed
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }

    /// The legacy RSA public key as PEM (loading the key if it is not yet); empty, with the
    /// reason logged, if it cannot be loaded — [`Signer::try_rsa_public_pem`] returns it.
    pub fn rsa_public_pem(&self) -> String {
        self.try_rsa_public_pem().unwrap_or_else(|e| {
            tracing::error!(error = %e, "no legacy RSA public key");
            String::new()
        })
    }

    pub fn try_rsa_public_pem(&self) -> Result<String, KeyError> {
        use rsa::pkcs8::EncodePublicKey as _;
        let path = self.dir.join(RSA_FILE);
        self.rsa_keys()?
            .public
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| KeyError::BadKey {
                path,
                reason: e.to_string(),
            })
    }
}

/// Reads the RSA key at `path`, or generates one and publishes it there (a key another process
/// published first wins, and is read back).
fn load_or_create_rsa(path: &Path) -> Result<rsa::RsaPrivateKey, KeyError> {
    use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
    let bad = |e: &dyn std::fmt::Display| KeyError::BadKey {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    loop {
        if let Some(pem) = read_pem(path)? {
            return rsa::RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|e| bad(&e));
        }
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).map_err(|e| bad(&e))?;
        let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| bad(&e))?;
        if write_private(path, pem.as_bytes())? {
            return Ok(key);
        }
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
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_rsa_key_is_made_on_first_need_once_and_kept() {
        let dir =
            std::env::temp_dir().join(format!("sandbox-keys-lazy-{:x}", rand::random::<u64>()));
        let signer = Signer::load_or_create(&dir).unwrap();
        assert!(dir.join(ED_FILE).exists());
        assert!(
            !dir.join(RSA_FILE).exists() && !signer.rsa_loaded(),
            "no RSA key before anything needs one"
        );
        let first = signer.sign_ed25519(b"body");
        assert!(!first.is_empty());
        assert!(
            !dir.join(RSA_FILE).exists(),
            "Ed25519 signing needs no RSA key"
        );

        // Threads of separate signers that all need the RSA key at once agree on one, the file.
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let d = dir.clone();
                std::thread::spawn(move || Signer::load_or_create(&d).unwrap().rsa_public_pem())
            })
            .collect();
        let pems: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(pems[0].contains("BEGIN PUBLIC KEY"), "{}", pems[0]);
        assert!(pems.iter().all(|p| p == &pems[0]), "one RSA key for all");
        signer.load_rsa().unwrap();
        assert!(signer.rsa_loaded());
        assert_eq!(
            signer.rsa_public_pem(),
            pems[0],
            "the key on disk is read back"
        );
        let (ed, rsa) = signer.sign(b"body");
        assert_eq!(ed, first);
        assert_eq!(
            rsa,
            signer.sign_rsa(b"body").unwrap(),
            "PKCS#1 v1.5 is deterministic"
        );
        assert!(!rsa.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_bad_rsa_key_file_is_named_when_the_key_is_needed() {
        let dir =
            std::env::temp_dir().join(format!("sandbox-keys-bad-{:x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(RSA_FILE), "not a key").unwrap();
        let signer =
            Signer::load_or_create(&dir).expect("the Ed25519 key alone is needed at start");
        let err = signer.load_rsa().unwrap_err();
        assert!(
            matches!(&err, KeyError::BadKey { path, .. } if path.ends_with(RSA_FILE)),
            "{err}"
        );
        assert!(signer.sign_rsa(b"x").is_err());
        assert_eq!(
            signer.sign(b"x").1,
            "",
            "no legacy signature without its key"
        );
        assert_eq!(signer.rsa_public_pem(), "");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
