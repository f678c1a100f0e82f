//! The signing PIN: what a leader types to sign, distinct from the login password.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use vanthu_domain::ValidationError;
use zeroize::Zeroizing;

/// Fewest characters a PIN may have: six digits, as on a USB token.
pub const MIN_PIN_CHARS: usize = 6;
/// Most characters a PIN may have: room for a passphrase, not for a document.
pub const MAX_PIN_CHARS: usize = 64;

/// A signing PIN that follows the rules, NFC-normalised so that the same characters typed
/// on different keyboards give the same key.
///
/// Rules: 6 to 64 characters; no control characters; not one character repeated
/// (`000000`, `aaaaaa`); not a run of consecutive digits up or down (`123456`, `987654`,
/// `345678`). Six digits of any other kind are accepted: the PIN is a second factor behind
/// the login, and five wrong tries block the key, so a guesser gets five chances in a
/// million. The text is wiped from memory when the value is dropped, and `Debug` never
/// shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningPin(Zeroizing<String>);

impl SigningPin {
    /// Checks `raw` against the rules; the error names the field `pin`.
    pub fn parse(raw: &str) -> Result<SigningPin, ValidationError> {
        let pin: Zeroizing<String> = Zeroizing::new(raw.nfc().collect());
        let bad = |message: &str| ValidationError::new("pin", message);
        let chars = pin.chars().count();
        if !(MIN_PIN_CHARS..=MAX_PIN_CHARS).contains(&chars) {
            return Err(bad(&format!(
                "the signing PIN must be {MIN_PIN_CHARS} to {MAX_PIN_CHARS} characters long"
            )));
        }
        if pin.chars().any(char::is_control) {
            return Err(bad("the signing PIN must not contain control characters"));
        }
        let mut chars = pin.chars();
        let first = chars.next();
        if chars.all(|c| Some(c) == first) {
            return Err(bad(
                "the signing PIN must not repeat one character; choose one that is hard to guess",
            ));
        }
        if is_digit_run(&pin) {
            return Err(bad(
                "the signing PIN must not be consecutive digits such as 123456; choose one \
                 that is hard to guess",
            ));
        }
        Ok(SigningPin(pin))
    }

    /// The PIN's text (its NFC form), for a PKCS#11 token whose user PIN it is: the token
    /// checks it, and the server keeps no copy.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The PIN's bytes (UTF-8 of its NFC form), for the key derivation.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Whether `pin` is only ASCII digits, each one more (or each one less) than the one before.
fn is_digit_run(pin: &str) -> bool {
    let digits: Vec<i16> = pin
        .bytes()
        .map(|b| {
            if b.is_ascii_digit() {
                i16::from(b - b'0')
            } else {
                -100
            }
        })
        .collect();
    if digits.contains(&-100) {
        return false;
    }
    let steps: Vec<i16> = digits.windows(2).map(|w| w[1] - w[0]).collect();
    steps.iter().all(|&s| s == 1) || steps.iter().all(|&s| s == -1)
}

impl fmt::Debug for SigningPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningPin(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_follow_the_rules() {
        for good in ["246810", "135790", "777778", "mật khẩu ký số"] {
            assert!(SigningPin::parse(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("12345", "6 to 64"),
            (&"19".repeat(33)[..], "6 to 64"),
            ("000000", "repeat"),
            ("aaaaaaa", "repeat"),
            ("123456", "consecutive"),
            ("987654", "consecutive"),
            ("3456789", "consecutive"),
            ("24681\u{7}", "control"),
        ] {
            let e = SigningPin::parse(bad).unwrap_err();
            assert_eq!(e.field, "pin");
            assert!(e.message.contains(why), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn the_same_text_in_either_unicode_form_is_the_same_pin() {
        // "ký số" composed (NFC) and decomposed (NFD).
        let composed = SigningPin::parse("chữ ký số 1").unwrap();
        let decomposed =
            SigningPin::parse("chu\u{31b}\u{303} ky\u{301} so\u{302}\u{301} 1").unwrap();
        assert_eq!(composed, decomposed);
    }

    #[test]
    fn debug_hides_the_pin() {
        let pin = SigningPin::parse("246810").unwrap();
        assert_eq!(format!("{pin:?}"), "SigningPin(<redacted>)");
    }
}
