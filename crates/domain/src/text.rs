use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::ValidationError;

macro_rules! text_newtype_impls {
    ($name:ident) => {
        impl $name {
            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// Electronic code of an agency or unit (mã định danh điện tử), e.g. `000.00.31.H56`.
///
/// The national scheme writes groups of digits and letters separated by dots. Accepted: 2 to 6
/// groups of 1 to 8 ASCII letters or digits each; letters are stored in upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitCode(String);

impl UnitCode {
    /// Longest accepted code: 6 groups of 8 and the dots between them.
    pub const MAX_LEN: usize = 53;

    /// The rule as a regular expression (ECMA-262), for API descriptions; surrounding
    /// spaces are trimmed before it applies.
    pub const PATTERN: &'static str = r"^\s*[A-Za-z0-9]{1,8}(\.[A-Za-z0-9]{1,8}){1,5}\s*$";

    /// Validates and normalises (trim, upper case) a unit code.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let s = s.trim();
        let invalid = || {
            ValidationError::new(
                "code",
                format!(
                    "'{}' is not an electronic unit code; expected groups of letters and digits \
                     separated by dots, e.g. 000.00.31.H56",
                    s.chars().take(40).collect::<String>()
                ),
            )
        };
        let groups: Vec<&str> = s.split('.').collect();
        if !(2..=6).contains(&groups.len()) {
            return Err(invalid());
        }
        let groups_ok = groups
            .iter()
            .all(|g| (1..=8).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_alphanumeric()));
        if !groups_ok {
            return Err(invalid());
        }
        Ok(Self(s.to_ascii_uppercase()))
    }
}

text_newtype_impls!(UnitCode);

/// Login name of a user: 3 to 64 characters from `a-z`, `0-9`, `.`, `_`, `-`, starting with a
/// letter or digit. Upper-case ASCII letters are accepted and folded to lower case, so
/// `District.Admin` and `district.admin` are the same account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    /// Shortest accepted username.
    pub const MIN_LEN: usize = 3;
    /// Longest accepted username.
    pub const MAX_LEN: usize = 64;

    /// The rule as a regular expression (ECMA-262), for API descriptions.
    pub const PATTERN: &'static str = "^[A-Za-z0-9][A-Za-z0-9._-]*$";

    /// Validates and lower-cases a username.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let lower = s.to_ascii_lowercase();
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&lower.len()) {
            return Err(ValidationError::new(
                "username",
                format!(
                    "must be {} to {} characters long",
                    Self::MIN_LEN,
                    Self::MAX_LEN
                ),
            ));
        }
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b);
        let first_ok = lower
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !first_ok || !lower.bytes().all(allowed) {
            return Err(ValidationError::new(
                "username",
                "may contain only letters a-z, digits, '.', '_' and '-', and must start with a \
                 letter or digit",
            ));
        }
        Ok(Self(lower))
    }
}

text_newtype_impls!(Username);

/// Human-readable name of a unit or a person: 1 to 200 characters after Unicode NFC
/// normalisation and trimming (200 is the OrganName limit of the document interchange
/// metadata), with no control, bidirectional-control or zero-width characters.
///
/// Normalisation makes "Nguyễn" one spelling whichever way a keyboard composes the accents,
/// so names compare and search alike. Bidirectional controls can make a name display in
/// another order than it is stored (U+202E shows "nạoĐ" for "Đoạn"), and zero-width
/// characters make two names that look identical differ: on a signature or a register,
/// either misleads the reader.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);

impl Name {
    /// Longest accepted name, in characters.
    pub const MAX_CHARS: usize = 200;

    /// The rule as a regular expression (ECMA-262), for API descriptions: something besides
    /// spaces, and none of the refused characters (the length counts after trimming).
    pub const PATTERN: &'static str = "^\\s*[^\\s\\u0000-\\u001F\\u007F-\\u009F\\u061C\\u200B-\\u200F\\u202A-\\u202E\\u2060\\u2066-\\u2069\\uFEFF][^\\u0000-\\u001F\\u007F-\\u009F\\u061C\\u200B-\\u200F\\u202A-\\u202E\\u2060\\u2066-\\u2069\\uFEFF]*$";

    /// Validates, normalises (NFC) and trims a name.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let normalised: String = s.nfc().collect();
        let s = normalised.trim();
        if s.is_empty() {
            return Err(ValidationError::new("name", "must not be empty"));
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "name",
                format!("must be at most {} characters long", Self::MAX_CHARS),
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "name",
                "must not contain control characters such as line breaks or tabs",
            ));
        }
        if let Some(c) = s.chars().find(|c| is_invisible_format(*c)) {
            return Err(ValidationError::new(
                "name",
                format!(
                    "must not contain invisible formatting characters (it holds U+{:04X}); type \
                     the name again instead of pasting it",
                    u32::from(c)
                ),
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

text_newtype_impls!(Name);

/// Bidirectional controls (embeddings and overrides U+202A..U+202E, isolates U+2066..U+2069,
/// the marks U+200E, U+200F and U+061C) and zero-width characters (U+200B..U+200D, U+2060,
/// U+FEFF).
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'
            | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_codes_follow_the_dotted_scheme() {
        for ok in [
            "000.00.31.H56",
            "000.00.00.h56",
            "G01.01",
            " 001.02.03.H26 ",
        ] {
            let code = UnitCode::parse(ok).unwrap();
            assert_eq!(code.as_str(), ok.trim().to_ascii_uppercase());
        }
        for bad in [
            "",
            "H56",
            "000..31.H56",
            ".000.31",
            "000.00.31.H56.",
            "000.00.31 H56",
            "000.00.31.H5/6",
            "123456789.1",
            "1.2.3.4.5.6.7",
            "000.00.31.Hà",
            "'; drop table units; --",
        ] {
            let err = UnitCode::parse(bad).unwrap_err();
            assert_eq!(err.field, "code", "{bad}");
        }
    }

    #[test]
    fn usernames_are_lowercase_and_restricted() {
        assert_eq!(
            Username::parse("District.Admin").unwrap().as_str(),
            "district.admin"
        );
        assert_eq!(Username::parse("a_b-9").unwrap().as_str(), "a_b-9");
        for bad in [
            "ab",
            ".admin",
            "-x1",
            "nguyễn",
            "a b c",
            "x@y.vn",
            &"a".repeat(65),
        ] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
        assert!(Username::parse(&"a".repeat(64)).is_ok());
        assert!(serde_json::from_str::<Username>("\"ok.name\"").is_ok());
        assert!(serde_json::from_str::<Username>("\"no\"").is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            Name::parse("  Ủy ban nhân dân huyện Yên Lạc ")
                .unwrap()
                .as_str(),
            "Ủy ban nhân dân huyện Yên Lạc"
        );
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse("a\nb").is_err());
        assert!(Name::parse(&"ầ".repeat(200)).is_ok());
        assert!(Name::parse(&"ầ".repeat(201)).is_err());
    }

    #[test]
    fn names_are_normalised_and_invisible_formatting_is_refused() {
        // "Nguyễn" with combining marks: stored precomposed, and counted as 6 characters.
        let decomposed = "Nguye\u{0302}\u{0303}n";
        assert_eq!(Name::parse(decomposed).unwrap().as_str(), "Nguyễn");
        assert_eq!(
            Name::parse(decomposed).unwrap(),
            Name::parse("Nguyễn").unwrap()
        );
        assert!(Name::parse(&"e\u{0302}\u{0300}".repeat(200)).is_ok());
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{200B}', '\u{200C}',
            '\u{200D}', '\u{2060}', '\u{FEFF}',
        ] {
            let err = Name::parse(&format!("UBND{c} huyện")).unwrap_err();
            assert_eq!(err.field, "name");
            assert!(
                err.message.contains(&format!("U+{:04X}", u32::from(c))),
                "{}",
                err.message
            );
        }
        for c in ['\u{0000}', '\u{001B}', '\u{007F}', '\u{0085}'] {
            assert!(Name::parse(&format!("a{c}b")).is_err(), "{c:?}");
        }
        // Letters and marks of other scripts are names, not formatting.
        assert!(Name::parse("محمد").is_ok());
        assert!(Name::parse("Đoàn Thị Ánh").is_ok());
    }
}
