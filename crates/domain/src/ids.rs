use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "i64")]
        pub struct $name(i64);

        impl $name {
            /// Accepts database ids, which are always positive.
            pub fn new(value: i64) -> Result<Self, ValidationError> {
                if value > 0 {
                    Ok(Self(value))
                } else {
                    Err(ValidationError::new($field, "must be a positive number"))
                }
            }

            /// The raw database id.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl TryFrom<i64> for $name {
            type Error = ValidationError;
            fn try_from(value: i64) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let value = s
                    .parse::<i64>()
                    .map_err(|_| ValidationError::new($field, "must be a positive number"))?;
                Self::new(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

row_id!(
    /// Identifier of a unit (organisation or part of one) in the unit tree.
    UnitId,
    "unit_id"
);
row_id!(
    /// Identifier of a user account.
    UserId,
    "user_id"
);
row_id!(
    /// Identifier of an incoming document.
    IncomingId,
    "id"
);
row_id!(
    /// Identifier of an outgoing document.
    OutgoingId,
    "id"
);

row_id!(
    /// Identifier of a delegation (ủy quyền).
    DelegationId,
    "id"
);

row_id!(
    /// Identifier of an electronic copy (bản sao) of a document.
    CopyId,
    "id"
);

/// SHA-256 digest of a stored file, as 64 lowercase hexadecimal digits.
///
/// Files are addressed by this digest, so it also names blobs on disk; validating it here keeps
/// anything but hex digits out of file system paths.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256Digest(String);

impl Sha256Digest {
    /// Parses 64 hexadecimal digits; upper case is accepted and stored in lower case.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(s.to_ascii_lowercase()))
        } else {
            Err(ValidationError::new(
                "sha256",
                "must be 64 hexadecimal digits (a SHA-256 digest)",
            ))
        }
    }

    /// Formats a raw 32-byte digest.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(64);
        for b in bytes {
            s.push(HEX[usize::from(b >> 4)] as char);
            s.push(HEX[usize::from(b & 0x0f)] as char);
        }
        Self(s)
    }

    /// The digest as lowercase hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sha256Digest {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Sha256Digest> for String {
    fn from(d: Sha256Digest) -> String {
        d.0
    }
}

impl FromStr for Sha256Digest {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_positive() {
        assert!(UnitId::new(0).is_err());
        assert!(UserId::new(-3).is_err());
        assert_eq!(UnitId::new(7).unwrap().get(), 7);
        assert_eq!("12".parse::<UserId>().unwrap().get(), 12);
        assert!("12a".parse::<UserId>().is_err());
        assert!(serde_json::from_str::<UnitId>("0").is_err());
        assert_eq!(serde_json::from_str::<UnitId>("5").unwrap().get(), 5);
    }

    #[test]
    fn digest_accepts_only_hex_of_the_right_length() {
        let hex = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
        assert_eq!(
            Sha256Digest::parse(hex).unwrap().as_str(),
            hex.to_ascii_lowercase()
        );
        assert!(Sha256Digest::parse(&hex[1..]).is_err());
        assert!(Sha256Digest::parse("../../etc/passwd").is_err());
        let mut bad = hex.to_string();
        bad.replace_range(0..1, "g");
        assert!(Sha256Digest::parse(&bad).is_err());
        assert_eq!(
            Sha256Digest::from_bytes(&[0xab; 32]).as_str(),
            "ab".repeat(32)
        );
    }
}
