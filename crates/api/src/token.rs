//! Bearer tokens: 32 random bytes, base64url without padding. Only their SHA-256
//! (`vanthu_store::hash_token`) is stored, so a copy of the database does not let anyone sign in.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

/// A freshly issued token, shown to the client once.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `s` can be a token we issued; anything else is rejected before touching the
/// database.
pub fn is_well_formed(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_well_formed() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert!(is_well_formed(&a), "{a}");
        assert!(!is_well_formed("short"));
        assert!(!is_well_formed(&"+".repeat(43)));
    }
}
