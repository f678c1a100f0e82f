//! Checkpoints in the C2SP `tlog-checkpoint` format: origin, tree size and root hash.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::merkle::Hash;
use crate::AuditError;

/// A statement of the tree's size and head, the body of a signed note:
///
/// ```text
/// <origin>\n<decimal size>\n<base64 root>\n
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Names the log, unique among logs (also the signing key's name).
    pub origin: String,
    /// How many entries the tree holds.
    pub size: u64,
    /// Its RFC 9162 head.
    pub root: Hash,
}

const WHAT: &str = "checkpoint";

impl Checkpoint {
    /// The checkpoint text, each line ending in a newline.
    pub fn to_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        )
    }

    /// Parses a checkpoint text; extension lines after the root are allowed and ignored, as
    /// the format says.
    pub fn parse(text: &str) -> Result<Self, AuditError> {
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| AuditError::malformed(WHAT, "it does not end with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(AuditError::malformed(WHAT, "the origin line is empty"));
        }
        let size_line = lines
            .next()
            .ok_or_else(|| AuditError::malformed(WHAT, "the tree size is missing"))?;
        let size: u64 = size_line
            .parse()
            .ok()
            .filter(|s: &u64| s.to_string() == size_line)
            .ok_or_else(|| {
                AuditError::malformed(WHAT, format!("'{size_line}' is not a decimal tree size"))
            })?;
        let root_line = lines
            .next()
            .ok_or_else(|| AuditError::malformed(WHAT, "the root hash is missing"))?;
        let root = BASE64
            .decode(root_line)
            .ok()
            .and_then(|r| Hash::try_from(r).ok())
            .ok_or_else(|| AuditError::malformed(WHAT, "the root is not a base64 SHA-256 hash"))?;
        if lines.any(str::is_empty) {
            return Err(AuditError::malformed(WHAT, "it has an empty line"));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::empty_root;

    #[test]
    fn checkpoints_format_and_parse() {
        let c = Checkpoint {
            origin: "example.com/audit".into(),
            size: 12,
            root: empty_root(),
        };
        let text = c.to_text();
        assert_eq!(
            text,
            "example.com/audit\n12\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
        );
        assert_eq!(Checkpoint::parse(&text).unwrap(), c);
        let extended = format!("{text}extension line\n");
        assert_eq!(Checkpoint::parse(&extended).unwrap(), c);
        for bad in [
            "example.com/audit\n12\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            "\n12\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
            "o\n012\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
            "o\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
            "o\n1\nAAAA\n",
            "o\n1\n",
        ] {
            assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
        }
    }
}
