//! The secret of a user's authenticator app (TOTP, RFC 6238: HMAC-SHA1, six digits, 30-second
//! steps, as every authenticator app reads an `otpauth://` address), sealed at rest under the
//! key-encryption key and bound to the signing key it approves.
//!
//! The codes come from the `totp-rs` crate; which time step a code matched is reported so the
//! store can refuse a code whose step was used already.

use openssl::memcmp;
use rand::RngCore;
use totp_rs::{Algorithm, TOTP};
use zeroize::Zeroizing;

use crate::{aead, Kek, KeyBinding, KeyError};

/// Digits of a code.
pub const DIGITS: usize = 6;
/// Seconds of one time step.
pub const STEP_SECONDS: u64 = 30;
/// Steps before and after the current one whose codes are still accepted, for a phone clock
/// that is a little off: RFC 6238 section 5.2 recommends one.
pub const SKEW_STEPS: u64 = 1;
/// Length of a secret: 160 bits, RFC 4226's recommendation.
const SECRET_LEN: usize = 20;

/// An authenticator secret, wiped from memory when dropped. `Debug` hides it.
pub struct TotpSecret(Zeroizing<Vec<u8>>);

/// A secret sealed under the KEK: the nonce and the ciphertext with its tag.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedTotp {
    /// The AES-GCM nonce.
    pub nonce: Vec<u8>,
    /// The sealed secret with its tag.
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for SealedTotp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedTotp({} bytes)", self.ciphertext.len())
    }
}

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    /// A fresh random secret.
    pub fn generate() -> TotpSecret {
        let mut secret = Zeroizing::new(vec![0u8; SECRET_LEN]);
        rand::rng().fill_bytes(secret.as_mut_slice());
        TotpSecret(secret)
    }

    /// The secret in base32 without padding, as authenticator apps take it typed in.
    pub fn base32(&self) -> Zeroizing<String> {
        Zeroizing::new(base32_encode(&self.0))
    }

    /// The `otpauth://totp/...` address an app reads from a QR code.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            percent_encode(issuer),
            percent_encode(account),
            self.base32().as_str(),
            percent_encode(issuer),
        ))
    }

    /// Seals the secret under the KEK, bound to `binding` (the signing key's owner and
    /// certificate): it opens for that key only.
    pub fn seal(&self, kek: &Kek, binding: &KeyBinding) -> Result<SealedTotp, KeyError> {
        let sealed = aead::seal(kek.bytes(), &binding.aad("totp"), &self.0)?;
        Ok(SealedTotp {
            nonce: sealed.nonce.to_vec(),
            ciphertext: sealed.ciphertext,
        })
    }

    /// Opens a sealed secret; [`KeyError::WrongKek`] when the KEK or the binding is not the
    /// one it was sealed with.
    pub fn open(sealed: &SealedTotp, kek: &Kek, binding: &KeyBinding) -> Result<Self, KeyError> {
        aead::open(
            kek.bytes(),
            &binding.aad("totp"),
            &sealed.nonce,
            &sealed.ciphertext,
        )?
        .map(TotpSecret)
        .ok_or(KeyError::WrongKek)
    }

    /// The time step whose code `code` is, among the current step at `unix_seconds` and
    /// [`SKEW_STEPS`] either side; `None` when it is none of them.
    pub fn matching_step(&self, code: &str, unix_seconds: u64) -> Option<u64> {
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let totp = TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 0, STEP_SECONDS, self.0.to_vec());
        let now = unix_seconds / STEP_SECONDS;
        (now.saturating_sub(SKEW_STEPS)..=now + SKEW_STEPS).find(|&step| {
            let expected = Zeroizing::new(totp.generate(step * STEP_SECONDS));
            memcmp::eq(expected.as_bytes(), code.as_bytes())
        })
    }

    /// The code of the step at `unix_seconds`, for tests and demonstrations.
    pub fn code_at(&self, unix_seconds: u64) -> Zeroizing<String> {
        let totp = TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 0, STEP_SECONDS, self.0.to_vec());
        Zeroizing::new(totp.generate(unix_seconds))
    }
}

/// RFC 4648 base32, upper case, no padding.
fn base32_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Percent-encodes all but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KeyOwner;
    use vanthu_domain::UserId;

    /// RFC 6238 Appendix B: the SHA-1 secret "12345678901234567890", eight digits there; the
    /// six-digit codes are their last six.
    #[test]
    fn codes_are_rfc_6238s() {
        let secret = TotpSecret(Zeroizing::new(b"12345678901234567890".to_vec()));
        for (time, eight) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            assert_eq!(secret.code_at(time).as_str(), &eight[2..], "at {time}");
            assert_eq!(secret.matching_step(&eight[2..], time), Some(time / 30));
        }
        assert_eq!(
            base32_encode(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }

    #[test]
    fn a_code_matches_its_step_and_one_either_side_only() {
        let secret = TotpSecret::generate();
        let t = 1_800_000_000;
        let code = secret.code_at(t);
        assert_eq!(secret.matching_step(&code, t), Some(t / 30));
        assert_eq!(secret.matching_step(&code, t + 30), Some(t / 30));
        assert_eq!(secret.matching_step(&code, t - 30), Some(t / 30));
        assert_eq!(secret.matching_step(&code, t + 90), None);
        assert_eq!(secret.matching_step("12345", t), None);
        assert_eq!(secret.matching_step("12a456", t), None);
    }

    #[test]
    fn a_sealed_secret_opens_for_its_key_only() {
        let kek = Kek::generate();
        let user = UserId::new(7).unwrap();
        let binding = KeyBinding::new(KeyOwner::User(user), b"certificate");
        let secret = TotpSecret::generate();
        let sealed = secret.seal(&kek, &binding).unwrap();
        let opened = TotpSecret::open(&sealed, &kek, &binding).unwrap();
        assert_eq!(opened.base32().as_str(), secret.base32().as_str());
        let other = KeyBinding::new(KeyOwner::User(user), b"another certificate");
        assert!(TotpSecret::open(&sealed, &kek, &other).is_err());
        assert!(TotpSecret::open(&sealed, &Kek::generate(), &binding).is_err());
        let uri = secret.otpauth_uri("vanthu UBND", "lê.văn");
        assert!(uri.starts_with("otpauth://totp/vanthu%20UBND:l%C3%AA.v%C4%83n?secret="));
        assert!(!format!("{secret:?}").contains(secret.base32().as_str()));
    }
}
