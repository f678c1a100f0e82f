//! C2SP signed notes with Ed25519 keys, in the formats of Go's `golang.org/x/mod/sumdb/note`.
//!
//! Ed25519 comes from OpenSSL, which vanthu already links for PAdES: no second
//! implementation of the same primitive, and OpenSSL takes and gives raw 32-byte keys.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use openssl::pkey::{Id, PKey, Private};
use openssl::sign::{Signer, Verifier};
use sha2::{Digest, Sha256};

use crate::AuditError;

/// Algorithm byte of Ed25519 keys in key strings and key ids.
const ALG_ED25519: u8 = 0x01;
/// Starts every signature line: an em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// Prefix of the private key string.
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";

/// Checks a key name as `sumdb/note` does: non-empty, no `+`, no white space.
fn check_name(name: &str, what: &'static str) -> Result<(), AuditError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(AuditError::malformed(
            what,
            format!("'{name}' is not a key name (non-empty, without '+' or spaces)"),
        ));
    }
    Ok(())
}

/// The key id: the first four bytes of `SHA-256(name || 0x0A || 0x01 || public key)`.
fn key_id(name: &str, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ALG_ED25519]);
    h.update(public);
    let digest = h.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Splits `name+hex8+base64` as both key strings carry it, checking the key id against
/// the key when it is a public one.
fn split_key<'a>(s: &'a str, what: &'static str) -> Result<(&'a str, u32, [u8; 32]), AuditError> {
    // Base64 has '+' of its own: the key is everything after the second '+'.
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(AuditError::malformed(what, "expected name+keyid+key"));
    };
    check_name(name, what)?;
    if id.len() != 8 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(AuditError::malformed(
            what,
            "the key id is not 8 lowercase hex digits",
        ));
    }
    let id = u32::from_str_radix(id, 16).map_err(|e| AuditError::malformed(what, e.to_string()))?;
    let raw = BASE64
        .decode(key)
        .map_err(|_| AuditError::malformed(what, "the key is not base64"))?;
    match raw.split_first() {
        Some((&ALG_ED25519, key)) if key.len() == 32 => {
            let mut out = [0; 32];
            out.copy_from_slice(key);
            Ok((name, id, out))
        }
        Some((&ALG_ED25519, _)) => Err(AuditError::malformed(what, "an Ed25519 key has 32 bytes")),
        _ => Err(AuditError::malformed(
            what,
            "only Ed25519 keys (algorithm 1) are known",
        )),
    }
}

/// An Ed25519 private key kept where it cannot be read out (a PKCS#11 token or HSM): it
/// signs, and the note signer checks what it returns against the public key.
pub trait ExternalEd25519: Send + Sync {
    /// Signs `message` with pure Ed25519 (RFC 8032, no pre-hash, no context) and returns
    /// the 64-byte signature, or a one-line reason.
    fn sign_ed25519(&self, message: &[u8]) -> Result<Vec<u8>, String>;
}

/// Where the private key of a [`NoteSigner`] is.
enum PrivateKey {
    /// In this process's memory.
    Local(PKey<Private>),
    /// Elsewhere, signing on request.
    External(Box<dyn ExternalEd25519>),
}

/// What an external key signs once when it is taken into use, to prove it is the private
/// half of the public key it came with.
const PROBE: &[u8] = b"vanthu: does this Ed25519 key match its public key?\n";

/// Signs notes with an Ed25519 key under a name.
pub struct NoteSigner {
    name: String,
    key: PrivateKey,
    public: [u8; 32],
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the private key.
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("external", &self.is_external())
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer for `name` from a 32-byte Ed25519 private key (seed).
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, AuditError> {
        check_name(name, "signer key")?;
        let key = PKey::private_key_from_raw_bytes(seed, Id::ED25519)?;
        let public = <[u8; 32]>::try_from(key.raw_public_key()?)
            .map_err(|_| AuditError::Crypto("an Ed25519 public key has 32 bytes".into()))?;
        Ok(Self {
            name: name.to_owned(),
            key: PrivateKey::Local(key),
            public,
        })
    }

    /// A signer for `name` whose private key is held elsewhere, with its 32-byte public
    /// key. One signature is made and verified first, so a key that is not the private half
    /// of `public` (or does not make Ed25519 signatures) is refused here, not in a verifier.
    pub fn external(
        name: &str,
        public: [u8; 32],
        key: Box<dyn ExternalEd25519>,
    ) -> Result<Self, AuditError> {
        check_name(name, "signer key")?;
        let signer = Self {
            name: name.to_owned(),
            key: PrivateKey::External(key),
            public,
        };
        signer.raw_sign(PROBE)?;
        Ok(signer)
    }

    /// Whether the private key is held elsewhere (and so has no key string).
    pub fn is_external(&self) -> bool {
        matches!(self.key, PrivateKey::External(_))
    }

    /// The Ed25519 signature of `message`. An external key's signature is verified before it
    /// is used: a token that answers with something else must not sign the log's history.
    fn raw_sign(&self, message: &[u8]) -> Result<Vec<u8>, AuditError> {
        match &self.key {
            PrivateKey::Local(key) => {
                Ok(Signer::new_without_digest(key)?.sign_oneshot_to_vec(message)?)
            }
            PrivateKey::External(key) => {
                let signature = key.sign_ed25519(message).map_err(AuditError::Crypto)?;
                let public = PKey::public_key_from_raw_bytes(&self.public, Id::ED25519)?;
                let good = signature.len() == 64
                    && Verifier::new_without_digest(&public)?
                        .verify_oneshot(&signature, message)
                        .unwrap_or(false);
                if !good {
                    return Err(AuditError::Crypto(
                        "the key's signature does not verify with its public key".into(),
                    ));
                }
                Ok(signature)
            }
        }
    }

    /// A new random key for `name`.
    pub fn generate(name: &str) -> Result<Self, AuditError> {
        let key = PKey::generate_ed25519()?;
        let seed = <[u8; 32]>::try_from(key.raw_private_key()?)
            .map_err(|_| AuditError::Crypto("an Ed25519 private key has 32 bytes".into()))?;
        Self::from_seed(name, &seed)
    }

    /// Reads `PRIVATE+KEY+name+keyid+base64(0x01 || seed)`, the private key string of
    /// `sumdb/note`; the key id must belong to the key.
    pub fn from_key_string(s: &str) -> Result<Self, AuditError> {
        let what = "signer key";
        let rest = s
            .trim_end()
            .strip_prefix(PRIVATE_PREFIX)
            .ok_or_else(|| AuditError::malformed(what, "it does not start with PRIVATE+KEY+"))?;
        let (name, id, seed) = split_key(rest, what)?;
        let signer = Self::from_seed(name, &seed)?;
        if signer.key_id() != id {
            return Err(AuditError::malformed(
                what,
                "the key id does not match the key",
            ));
        }
        Ok(signer)
    }

    /// The private key string; keep it where only the server can read it. A key held
    /// elsewhere has none.
    pub fn to_key_string(&self) -> Result<String, AuditError> {
        let PrivateKey::Local(key) = &self.key else {
            return Err(AuditError::Crypto(
                "the key is held in a token and cannot be written out".into(),
            ));
        };
        let mut raw = vec![ALG_ED25519];
        raw.extend(key.raw_private_key()?);
        Ok(format!(
            "{PRIVATE_PREFIX}{}+{:08x}+{}",
            self.name,
            self.key_id(),
            BASE64.encode(raw)
        ))
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        key_id(&self.name, &self.public)
    }

    /// The verifier of this key's signatures.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            public: self.public,
        }
    }

    /// Signs `text` (non-empty, ending in a newline) and returns the signed note: the text,
    /// a blank line, and one signature line `— name base64(keyid || signature)`.
    pub fn sign(&self, text: &str) -> Result<String, AuditError> {
        if !text.ends_with('\n') || text.contains("\n\n") || text.starts_with('\n') {
            return Err(AuditError::malformed(
                "note",
                "the text must be non-empty lines each ending in a newline",
            ));
        }
        let signature = self.raw_sign(text.as_bytes())?;
        let mut blob = self.key_id().to_be_bytes().to_vec();
        blob.extend(signature);
        Ok(format!(
            "{text}\n{SIG_PREFIX}{} {}\n",
            self.name,
            BASE64.encode(blob)
        ))
    }
}

/// Checks notes signed by one Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    public: [u8; 32],
}

impl NoteVerifier {
    /// Reads a verifier key `name+keyid+base64(0x01 || public key)`, the format of
    /// `sumdb/note`; the key id must belong to the key.
    pub fn parse(s: &str) -> Result<Self, AuditError> {
        let what = "verifier key";
        let (name, id, public) = split_key(s.trim_end(), what)?;
        if key_id(name, &public) != id {
            return Err(AuditError::malformed(
                what,
                "the key id does not match the key",
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            public,
        })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        key_id(&self.name, &self.public)
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// Checks that `note` carries a valid signature of this key and returns its text.
    /// Signatures by other keys are allowed and not checked; malformed signature lines are
    /// refused.
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str, AuditError> {
        let what = "note";
        let split = note
            .rfind("\n\n")
            .ok_or_else(|| AuditError::malformed(what, "it has no signature block"))?;
        let (text, signatures) = (&note[..=split], &note[split + 2..]);
        let lines = signatures
            .strip_suffix('\n')
            .ok_or_else(|| AuditError::malformed(what, "it does not end with a newline"))?;
        let public = PKey::public_key_from_raw_bytes(&self.public, Id::ED25519)?;
        let mut verified = false;
        for line in lines.split('\n') {
            let (name, blob) = line
                .strip_prefix(SIG_PREFIX)
                .and_then(|l| l.split_once(' '))
                .ok_or_else(|| {
                    AuditError::malformed(what, format!("bad signature line '{line}'"))
                })?;
            let blob = BASE64
                .decode(blob)
                .ok()
                .filter(|b| b.len() >= 4)
                .ok_or_else(|| {
                    AuditError::malformed(what, format!("bad signature line '{line}'"))
                })?;
            let id = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]);
            if name != self.name || id != self.key_id() {
                continue;
            }
            if !Verifier::new_without_digest(&public)?
                .verify_oneshot(&blob[4..], text.as_bytes())?
            {
                return Err(AuditError::Unverified(self.to_string()));
            }
            verified = true;
        }
        if verified {
            Ok(text)
        } else {
            Err(AuditError::Unverified(self.to_string()))
        }
    }
}

impl fmt::Display for NoteVerifier {
    /// `name+keyid+base64(0x01 || public key)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = vec![ALG_ED25519];
        raw.extend(self.public);
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_id(),
            BASE64.encode(raw)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The fixed key and signed note of Go's golang.org/x/mod/sumdb/note tests
    // (note_test.go, TestSign and TestOpen).
    const GO_SIGNER: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_VERIFIER: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                           then you don't know what your problem is.\n";
    const GO_SIGNATURE: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const GO_OTHER_SIGNATURE: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    #[test]
    fn signing_matches_go_sumdb_note_byte_for_byte() {
        let signer = NoteSigner::from_key_string(GO_SIGNER).unwrap();
        assert_eq!(signer.name(), "PeterNeumann");
        assert_eq!(signer.key_id(), 0xc74f20a3);
        assert_eq!(signer.verifier().to_string(), GO_VERIFIER);
        assert_eq!(signer.to_key_string().unwrap(), GO_SIGNER);
        let note = signer.sign(GO_TEXT).unwrap();
        assert_eq!(note, format!("{GO_TEXT}\n{GO_SIGNATURE}"));
    }

    #[test]
    fn go_notes_open_and_changed_ones_do_not() {
        let verifier = NoteVerifier::parse(GO_VERIFIER).unwrap();
        let note = format!("{GO_TEXT}\n{GO_SIGNATURE}{GO_OTHER_SIGNATURE}");
        assert_eq!(verifier.open(&note).unwrap(), GO_TEXT);
        let changed = note.replacen("cryptography", "cryptographY", 1);
        assert!(matches!(
            verifier.open(&changed),
            Err(AuditError::Unverified(_))
        ));
        let only_other = format!("{GO_TEXT}\n{GO_OTHER_SIGNATURE}");
        assert!(matches!(
            verifier.open(&only_other),
            Err(AuditError::Unverified(_))
        ));
        let hyphen = note.replacen('\u{2014}', "-", 1);
        assert!(verifier.open(&hyphen).is_err());
        assert!(verifier.open(GO_TEXT).is_err());
    }

    #[test]
    fn mangled_keys_are_refused() {
        assert!(NoteVerifier::parse(GO_VERIFIER).is_ok());
        // Every byte changed in turn, and every proper substring, as Go's tests do.
        let bytes = GO_VERIFIER.as_bytes();
        for i in 0..bytes.len() {
            let mut b = bytes.to_vec();
            b[i] = b[i].wrapping_add(1);
            if let Ok(s) = std::str::from_utf8(&b) {
                assert!(NoteVerifier::parse(s).is_err(), "{s}");
            }
        }
        for end in 1..bytes.len() {
            assert!(NoteVerifier::parse(&GO_VERIFIER[..end]).is_err());
        }
        // Go's wrong-length and unknown-algorithm keys, with adjusted key hashes.
        assert!(NoteVerifier::parse(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
        .is_err());
        assert!(NoteVerifier::parse(
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        )
        .is_err());
        assert!(NoteSigner::from_key_string(&GO_SIGNER.replace("c74f20a3", "c74f20a4")).is_err());
        assert!(NoteSigner::generate("has space").is_err());
    }

    #[test]
    fn generated_keys_sign_what_their_verifier_opens() {
        let signer = NoteSigner::generate("vanthu.example/audit").unwrap();
        let again = NoteSigner::from_key_string(&signer.to_key_string().unwrap()).unwrap();
        assert_eq!(again.verifier(), signer.verifier());
        let note = signer.sign("vanthu.example/audit\n0\nAAAA\n").unwrap();
        let verifier = NoteVerifier::parse(&signer.verifier().to_string()).unwrap();
        assert_eq!(
            verifier.open(&note).unwrap(),
            "vanthu.example/audit\n0\nAAAA\n"
        );
        assert!(signer.sign("no newline").is_err());
        assert!(!format!("{signer:?}").contains(&signer.to_key_string().unwrap()[12..]));
    }

    /// An external key that is a local one in disguise, or signs with another key.
    struct Elsewhere(PKey<Private>);

    impl ExternalEd25519 for Elsewhere {
        fn sign_ed25519(&self, message: &[u8]) -> Result<Vec<u8>, String> {
            Signer::new_without_digest(&self.0)
                .and_then(|mut s| s.sign_oneshot_to_vec(message))
                .map_err(|e| e.to_string())
        }
    }

    #[test]
    fn an_external_key_signs_what_a_local_one_would_and_a_stranger_is_refused() {
        let local = NoteSigner::from_key_string(GO_SIGNER).unwrap();
        let PrivateKey::Local(key) = &local.key else {
            unreachable!()
        };
        let external = NoteSigner::external(
            "PeterNeumann",
            local.public,
            Box::new(Elsewhere(key.clone())),
        )
        .unwrap();
        assert!(external.is_external());
        assert_eq!(external.verifier().to_string(), GO_VERIFIER);
        // Ed25519 is deterministic: the same bytes as Go's own note.
        assert_eq!(
            external.sign(GO_TEXT).unwrap(),
            format!("{GO_TEXT}\n{GO_SIGNATURE}")
        );
        assert!(external.to_key_string().is_err());

        let stranger = PKey::generate_ed25519().unwrap();
        let err = NoteSigner::external("PeterNeumann", local.public, Box::new(Elsewhere(stranger)))
            .unwrap_err();
        assert!(err.to_string().contains("does not verify"), "{err}");
    }
}
