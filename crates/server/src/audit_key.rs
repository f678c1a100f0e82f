//! The audit log's Ed25519 signing key, kept in the data directory (mode 0600) in the private
//! key format of Go's `sumdb/note`. Loading is this one function, so that keeping server keys
//! under a key-encryption key later changes one place.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use vanthu_audit::NoteSigner;

use crate::configuration::StorageSettings;

/// File name of the key inside the data directory.
pub const FILE_NAME: &str = "audit-key";

/// Where the key of this data directory is kept.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// Reads the audit key, creating it under the configured origin on first use. A key that
/// exists keeps its name: checkpoints already signed name it as their origin.
pub fn load_or_create(storage: &StorageSettings) -> anyhow::Result<NoteSigner> {
    match load(&storage.data_dir)? {
        Some(signer) => Ok(signer),
        None => create(&path(&storage.data_dir), &storage.audit_origin),
    }
}

/// Reads the audit key of `data_dir`, or `None` if none was created yet.
pub fn load(data_dir: &Path) -> anyhow::Result<Option<NoteSigner>> {
    let path = path(data_dir);
    match fs::read_to_string(&path) {
        Ok(text) => {
            let mode = fs::metadata(&path)?.permissions().mode();
            if mode & 0o077 != 0 {
                bail!(
                    "{} is readable by other users (mode {:o}); run chmod 600 on it",
                    path.display(),
                    mode & 0o777
                );
            }
            NoteSigner::from_key_string(&text)
                .map(Some)
                .with_context(|| format!("{} is damaged; restore it from a backup", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn create(path: &Path, origin: &str) -> anyhow::Result<NoteSigner> {
    let signer = NoteSigner::generate(origin)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    vanthu_store::private::create_dir(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    // Written whole under a temporary name and linked into place: a second server starting
    // at the same moment either wins or reads the winner's key, never half a file.
    let mut temp = tempfile::Builder::new()
        .prefix(".audit-key")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    fs::set_permissions(
        temp.path(),
        fs::Permissions::from_mode(vanthu_store::private::FILE_MODE),
    )?;
    temp.write_all(signer.to_key_string()?.as_bytes())?;
    temp.as_file().sync_all()?;
    match fs::hard_link(temp.path(), path) {
        Ok(()) => Ok(signer),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = fs::read_to_string(path)?;
            Ok(NoteSigner::from_key_string(&text)?)
        }
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage(dir: &Path) -> StorageSettings {
        StorageSettings {
            data_dir: dir.to_owned(),
            database_url: String::new(),
            audit_origin: "vanthu.test/audit".into(),
        }
    }

    #[test]
    fn the_key_is_created_private_once_and_then_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(&storage(dir.path())).unwrap();
        let file = path(dir.path());
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let again = load_or_create(&StorageSettings {
            audit_origin: "renamed/audit".into(),
            ..storage(dir.path())
        })
        .unwrap();
        assert_eq!(again.verifier(), first.verifier());
        assert_eq!(again.name(), "vanthu.test/audit");
        // Only the key file is left: no temporary file stays behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_or_create(&storage(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("chmod 600"), "{err}");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&file, "PRIVATE+KEY+broken").unwrap();
        let err = load_or_create(&storage(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("damaged"), "{err}");
    }
}
