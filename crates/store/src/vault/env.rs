//! Parsing `DRIVESYNC_MASTER_KEY`: `KEY` or `id1:KEY1,id2:KEY2`, the first being current.
//! Error reasons give the entry's position, never its text, since the text is key material.

use secrecy::ExposeSecret;

use super::{decode_key, key_id_for, KeyMaterial};
use crate::StoreError;

pub(super) fn parse(value: &str) -> Result<Vec<(String, KeyMaterial)>, StoreError> {
    let invalid = |reason: String| StoreError::InvalidMasterKey { reason };
    let mut keys = Vec::new();
    for (index, entry) in value.split(',').enumerate() {
        let entry = entry.trim();
        let position = index + 1;
        if entry.is_empty() {
            return Err(invalid(format!("entry {position} is empty")));
        }
        // Base64 never contains ':', so a ':' can only separate an id from its key.
        let (id, encoded) = match entry.split_once(':') {
            Some((id, encoded)) => (Some(id.trim()), encoded),
            None => (None, entry),
        };
        let material =
            decode_key(encoded).map_err(|reason| invalid(format!("entry {position}: {reason}")))?;
        let id = match id {
            Some(id) => id.to_string(),
            None => key_id_for(material.expose_secret()),
        };
        keys.push((id, material));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::super::{encode_key, random_key, KeyOrigin, Keyring};
    use crate::StoreError;

    #[test]
    fn single_key_gets_a_hash_id() {
        let key = random_key();
        let encoded = encode_key(&key);
        let ring = Keyring::from_env_value(&encoded).unwrap();
        assert_eq!(ring.ids().len(), 1);
        assert_eq!(ring.current_id().len(), 8);
        assert_eq!(ring.origin(), &KeyOrigin::Env);
        // The same key always gets the same id, so ciphertexts stay readable across restarts.
        assert_eq!(
            Keyring::from_env_value(&encoded).unwrap().current_id(),
            ring.current_id()
        );
    }

    #[test]
    fn several_keys_first_is_current() {
        let (a, b) = (encode_key(&random_key()), encode_key(&random_key()));
        let ring = Keyring::from_env_value(&format!("new:{}, old:{}", *a, *b)).unwrap();
        assert_eq!(ring.current_id(), "new");
        assert_eq!(ring.ids(), vec!["new", "old"]);
    }

    #[test]
    fn bad_values_are_rejected_without_echoing_them() {
        let good = encode_key(&random_key());
        let short = "c2hvcnQta2V5LW1hdGVyaWFs"; // "short-key-material"
        for (value, needle) in [
            ("not base64 at all!", "base64"),
            (short, "bytes"),
            ("", "empty"),
            (&format!("a:{},a:{}", *good, *good), "twice"),
            (&format!("bad id:{}", *good), "key id"),
        ] {
            let err = Keyring::from_env_value(value).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, StoreError::InvalidMasterKey { .. }), "{msg}");
            assert!(msg.contains(needle), "{msg}");
            assert!(
                !msg.contains(short) && !msg.contains(good.as_str()),
                "{msg}"
            );
        }
    }
}
