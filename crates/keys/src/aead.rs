//! AES-256-GCM with a random 96-bit nonce per seal and the tag appended to the ciphertext.
//!
//! Each key here seals few messages (one per PIN change, one per session), so random nonces
//! stay far below the 2^32 messages per key that NIST SP 800-38D allows.

use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
use rand::RngCore;
use zeroize::Zeroizing;

use crate::KeyError;

/// Length of the nonce in bytes.
pub(crate) const NONCE_LEN: usize = 12;
/// Length of the authentication tag in bytes.
const TAG_LEN: usize = 16;
/// Length of an AES-256 key in bytes.
pub(crate) const KEY_LEN: usize = 32;

/// A nonce and the ciphertext with its tag.
pub(crate) struct Sealed {
    pub(crate) nonce: [u8; NONCE_LEN],
    pub(crate) ciphertext: Vec<u8>,
}

/// Encrypts and authenticates `plaintext`, binding `aad`.
pub(crate) fn seal(key: &[u8; KEY_LEN], aad: &[u8], plaintext: &[u8]) -> Result<Sealed, KeyError> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let mut tag = [0u8; TAG_LEN];
    let mut ciphertext = encrypt_aead(
        Cipher::aes_256_gcm(),
        key,
        Some(&nonce),
        aad,
        plaintext,
        &mut tag,
    )?;
    ciphertext.extend_from_slice(&tag);
    Ok(Sealed { nonce, ciphertext })
}

/// Decrypts `ciphertext` (tag appended); `None` when the key, the associated data, the nonce
/// or the ciphertext is not the one sealed.
pub(crate) fn open(
    key: &[u8; KEY_LEN],
    aad: &[u8],
    nonce: &[u8],
    ciphertext: &[u8],
) -> Result<Option<Zeroizing<Vec<u8>>>, KeyError> {
    if nonce.len() != NONCE_LEN {
        return Err(KeyError::Damaged("the nonce is not 12 bytes"));
    }
    let Some(split) = ciphertext.len().checked_sub(TAG_LEN) else {
        return Err(KeyError::Damaged("the ciphertext is shorter than its tag"));
    };
    let (body, tag) = ciphertext.split_at(split);
    Ok(
        decrypt_aead(Cipher::aes_256_gcm(), key, Some(nonce), aad, body, tag)
            .ok()
            .map(Zeroizing::new),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_only_with_its_key_aad_and_nonce() {
        let key = [7u8; KEY_LEN];
        let sealed = seal(&key, b"aad", b"secret").unwrap();
        assert_ne!(&sealed.ciphertext[..6], b"secret");
        let opened = open(&key, b"aad", &sealed.nonce, &sealed.ciphertext).unwrap();
        assert_eq!(opened.as_deref().map(Vec::as_slice), Some(&b"secret"[..]));
        assert!(
            open(&[8u8; KEY_LEN], b"aad", &sealed.nonce, &sealed.ciphertext)
                .unwrap()
                .is_none()
        );
        assert!(open(&key, b"other", &sealed.nonce, &sealed.ciphertext)
            .unwrap()
            .is_none());
        let mut flipped = sealed.ciphertext.clone();
        flipped[0] ^= 1;
        assert!(open(&key, b"aad", &sealed.nonce, &flipped)
            .unwrap()
            .is_none());
        assert!(matches!(
            open(&key, b"aad", &sealed.nonce[..4], &sealed.ciphertext),
            Err(KeyError::Damaged(_))
        ));
        assert!(matches!(
            open(&key, b"aad", &sealed.nonce, &[0u8; 3]),
            Err(KeyError::Damaged(_))
        ));
        let again = seal(&key, b"aad", b"secret").unwrap();
        assert_ne!(again.nonce, sealed.nonce, "a fresh nonce per seal");
    }
}
