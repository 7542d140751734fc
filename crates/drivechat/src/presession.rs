//! The pre-session cookie: what the sign-in form's CSRF token is derived from before anyone
//! is signed in. It must be one this server issued, not any value a client (or a page of a
//! sibling domain tossing cookies) picked: a chosen value would let a forger compute the
//! matching CSRF token and sign a victim into the forger's account.
//!
//! So the cookie is `{nonce}.{issued_ms}.{mac}`, the MAC an HMAC-SHA256 under a key kept
//! (sealed, like every secret) in the store, made on first use. Every replica on one
//! database reads the same key, so a form shown by one is accepted by another; nothing is
//! stored per visitor, so anonymous page loads cost no writes.

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::Sha256;

use crate::{secret, time, App, Error};

/// The store's name for the key.
const KEY_NAME: &str = "drivechat-form-key";
/// A pre-session older than this is refused (the cookie's own Max-Age is the same).
pub(crate) const LIFETIME_S: u64 = 3600;

/// The signing key, read (or made) once per process.
#[derive(Default)]
pub(crate) struct FormKey(tokio::sync::OnceCell<SecretString>);

impl FormKey {
    async fn get(&self, app: &App) -> Result<&SecretString, Error> {
        self.0
            .get_or_try_init(|| async {
                if let Some(k) = app.store.secret(KEY_NAME).await? {
                    return Ok(k);
                }
                app.store
                    .put_secret(KEY_NAME, &SecretString::from(secret::random_token()))
                    .await?;
                // Read back: when two servers made one at once, both use the one that won.
                app.store
                    .secret(KEY_NAME)
                    .await?
                    .ok_or_else(|| Error::Internal("the form key was not stored".into()))
            })
            .await
    }
}

fn mac(key: &SecretString, body: &str) -> String {
    // HMAC takes keys of any length; this cannot fail.
    let mut m = <Hmac<Sha256>>::new_from_slice(key.expose_secret().as_bytes())
        .expect("HMAC accepts any key length");
    m.update(b"drivechat presession\0");
    m.update(body.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
}

/// A new pre-session value.
pub(crate) async fn issue(app: &App) -> Result<String, Error> {
    let key = app.form_key.get(app).await?;
    let body = format!("{}.{}", secret::random_token(), time::now_ms());
    Ok(format!("{body}.{}", mac(key, &body)))
}

/// Whether `value` is a pre-session this server issued within [`LIFETIME_S`].
pub(crate) async fn is_valid(app: &App, value: &str) -> Result<bool, Error> {
    let Some((body, given)) = value.rsplit_once('.') else {
        return Ok(false);
    };
    let Some(issued) = body
        .split_once('.')
        .and_then(|(_, t)| t.parse::<i64>().ok())
    else {
        return Ok(false);
    };
    let age_ms = time::now_ms().saturating_sub(issued);
    let lifetime_ms = i64::try_from(LIFETIME_S * 1000).unwrap_or(i64::MAX);
    if !(0..lifetime_ms).contains(&age_ms) {
        return Ok(false);
    }
    let key = app.form_key.get(app).await?;
    Ok(secret::constant_time_eq(&mac(key, body), given))
}
