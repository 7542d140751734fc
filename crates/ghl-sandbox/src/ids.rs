//! HighLevel record ids: 20 characters of `[A-Za-z0-9]`, like `nmFmQEsNgz6AVpgLVUJ0`.

use rand::Rng;

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A new id drawn from `rng`, so seeded data gets the same ids on every run.
pub fn new_id(rng: &mut impl Rng) -> crate::model::Str {
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A random opaque token (access, refresh, authorization code): 40 hex-ish characters.
pub fn new_token(rng: &mut impl Rng, prefix: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + 40);
    s.push_str(prefix);
    for _ in 0..40 {
        s.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ids_are_twenty_alphanumerics_and_deterministic() {
        let mut a = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut b = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let id = new_id(&mut a);
        assert_eq!(id.len(), 20);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(id, new_id(&mut b));
    }
}
