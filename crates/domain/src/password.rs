//! Passwords chosen for an account: normalised, long enough, and not easily guessed.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;

use crate::{Username, ValidationError};

/// The most common passwords, lower-cased (see `data/README.md` for the source).
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .filter(|line| !line.is_empty())
        .collect()
});

/// A new password for an account: 8 to 1024 characters after Unicode NFC normalisation,
/// not the username, and not among the 20,000 most common passwords. Hashed in its
/// normalised form, so the same password typed on keyboards that compose accents
/// differently (precomposed "ệ" or "e" with combining marks) still matches.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Shortest accepted password, in characters.
    pub const MIN_CHARS: usize = 8;
    /// Longest accepted password, in characters; enough for any passphrase, and a bound on
    /// what a hash is asked to read.
    pub const MAX_CHARS: usize = 1024;

    /// Validates a new password for the account `username`.
    pub fn new(typed: &str, username: &Username) -> Result<Self, ValidationError> {
        let password = Self::normalise(typed);
        let invalid = |message: &str| Err(ValidationError::new("password", message));
        let chars = password.chars().count();
        if chars < Self::MIN_CHARS {
            return invalid(&format!(
                "must be at least {} characters long",
                Self::MIN_CHARS
            ));
        }
        if chars > Self::MAX_CHARS {
            return invalid(&format!(
                "must be at most {} characters long",
                Self::MAX_CHARS
            ));
        }
        let lower = password.to_lowercase();
        if lower == username.as_str() {
            return invalid("must not be the username");
        }
        if COMMON.contains(lower.as_str()) {
            return invalid(
                "is one of the most common passwords and would be guessed quickly; choose a \
                 longer one, such as a few unrelated words",
            );
        }
        Ok(Self(password))
    }

    /// The form a typed password is hashed and checked in (NFC), also at sign-in.
    pub fn normalise(typed: &str) -> String {
        typed.nfc().collect()
    }

    /// The normalised password, to hash.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> Username {
        Username::parse(name).unwrap()
    }

    fn refusal(typed: &str, username: &str) -> String {
        let err = Password::new(typed, &user(username)).unwrap_err();
        assert_eq!(err.field, "password");
        err.message
    }

    #[test]
    fn length_is_counted_in_characters_after_normalisation() {
        let clerk = user("district.clerk");
        // "Nguyễn" typed with combining marks is the precomposed word.
        let decomposed = "Nguye\u{0302}\u{0303}n-2026";
        let password = Password::new(decomposed, &clerk).unwrap();
        assert_eq!(password.as_str(), "Nguyễn-2026");
        assert_eq!(Password::normalise(decomposed), "Nguyễn-2026");
        // Seven precomposed characters, though more bytes and more code points typed.
        assert!(refusal("ễễễễễễễ", "district.clerk").contains("at least 8"));
        assert!(Password::new(&"ễ".repeat(8), &clerk).is_ok());
        assert!(Password::new(&"ễ".repeat(1024), &clerk).is_ok());
        assert!(refusal(&"ễ".repeat(1025), "district.clerk").contains("at most 1024"));
        assert!(!format!("{password:?}").contains("Nguy"));
    }

    #[test]
    fn the_username_and_common_passwords_are_refused() {
        assert!(refusal("District.Clerk", "district.clerk").contains("username"));
        for common in [
            "password",
            "12345678",
            "Password1",
            "QWERTYUIOP",
            "iloveyou",
        ] {
            assert!(
                refusal(common, "district.clerk").contains("most common"),
                "{common}"
            );
        }
        assert!(COMMON.len() > 19_000);
        assert!(Password::new("district.clerk.2026", &user("district.clerk")).is_ok());
        assert!(Password::new("vanthu-demo", &user("district.clerk")).is_ok());
    }
}
