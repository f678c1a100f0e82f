//! The key-encryption key (KEK): 32 random bytes that seal the organisation seal keys and
//! the audit key. It comes from a file or an environment variable named in the
//! configuration, never from the data directory, so a copy of the data directory and the
//! database does not hold what opens the keys in it.

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::aead::KEY_LEN;
use crate::KeyError;

/// The key-encryption key. `Debug` shows only its [`Kek::id`].
pub struct Kek(Zeroizing<[u8; KEY_LEN]>);

impl Kek {
    /// A fresh random key.
    pub fn generate() -> Kek {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rand::rng().fill_bytes(key.as_mut());
        Kek(key)
    }

    /// Reads the key from base64 text (standard alphabet, 32 bytes once decoded), as
    /// `openssl rand -base64 32` writes it; surrounding white space is ignored.
    pub fn from_base64(text: &str) -> Result<Kek, KeyError> {
        let decoded = Zeroizing::new(STANDARD.decode(text.trim()).map_err(|_| {
            KeyError::KekSource("the key-encryption key is not base64 text".into())
        })?);
        let bytes: [u8; KEY_LEN] = decoded.as_slice().try_into().map_err(|_| {
            KeyError::KekSource(format!(
                "the key-encryption key must be {KEY_LEN} bytes (44 characters of base64); \
                 make one with: openssl rand -base64 32"
            ))
        })?;
        Ok(Kek(Zeroizing::new(bytes)))
    }

    /// Reads the key from a file holding its base64 text. The file must not be readable by
    /// group or others.
    pub fn read_file(path: &Path) -> Result<Kek, KeyError> {
        let cannot = |e: std::io::Error| {
            KeyError::KekSource(format!(
                "cannot read the key-encryption key file {}: {e}",
                path.display()
            ))
        };
        let mode = std::fs::metadata(path)
            .map_err(cannot)?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(KeyError::KekSource(format!(
                "the key-encryption key file {} is readable by other users (mode {:o}); run \
                 chmod 600 on it",
                path.display(),
                mode & 0o777
            )));
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(cannot)?);
        Kek::from_base64(&text).map_err(|e| KeyError::KekSource(format!("{}: {e}", path.display())))
    }

    /// Reads the key from `path`, or creates the file (mode 0600) with a fresh key when it
    /// does not exist. Meant for demonstration installations only: a real KEK is made and
    /// kept by the operator.
    pub fn read_or_create_file(path: &Path) -> Result<Kek, KeyError> {
        if path.exists() {
            return Kek::read_file(path);
        }
        let kek = Kek::generate();
        let text = Zeroizing::new(STANDARD.encode(kek.0.as_ref()));
        // create_new: if another process created it meanwhile, fail rather than overwrite.
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .and_then(|mut file| {
                file.write_all(text.as_bytes())?;
                file.sync_all()
            })
            .map_err(|e| KeyError::KekSource(format!("cannot create {}: {e}", path.display())))?;
        Ok(kek)
    }

    /// A short fingerprint that names the key in logs without revealing it: the first
    /// 8 bytes of SHA-256 over a label and the key, in hex.
    pub fn id(&self) -> String {
        let mut input = Zeroizing::new(b"vanthu-kek-id\0".to_vec());
        input.extend_from_slice(self.0.as_ref());
        hex::encode(&openssl::sha::sha256(&input)[..8])
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kek({})", self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_keys_are_read_and_checked() {
        let text = STANDARD.encode([9u8; 32]);
        let kek = Kek::from_base64(&format!("  {text}\n")).unwrap();
        assert_eq!(kek.bytes(), &[9u8; 32]);
        assert_eq!(kek.id().len(), 16);
        assert!(!format!("{kek:?}").contains(&text));
        let short = Kek::from_base64(&STANDARD.encode([9u8; 16])).unwrap_err();
        assert!(
            short.to_string().contains("openssl rand -base64 32"),
            "{short}"
        );
        assert!(Kek::from_base64("not base64!").is_err());
    }

    #[test]
    fn files_must_be_private_and_are_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek");
        let created = Kek::read_or_create_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = Kek::read_or_create_file(&path).unwrap();
        assert_eq!(created.id(), again.id());
        assert_eq!(Kek::read_file(&path).unwrap().id(), created.id());

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = Kek::read_file(&path).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
        let e = Kek::read_file(&dir.path().join("missing"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read"), "{e}");
    }
}
