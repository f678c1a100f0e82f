//! The server secret: 32 random bytes kept in the data directory (mode 0600), used to encrypt
//! organisation seal keys at rest. Losing it makes those keys unusable, so it is created once
//! and never replaced.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;

/// File name of the secret inside the data directory.
pub const FILE_NAME: &str = "server-secret";

/// The secret as text, suitable as a PKCS#8 passphrase.
pub struct ServerSecret(String);

impl ServerSecret {
    /// Reads the secret from `data_dir`, creating it on first use.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<ServerSecret> {
        let path = data_dir.join(FILE_NAME);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                check_private(&path)?;
                let secret = text.trim().to_owned();
                if secret.len() < 32 {
                    bail!(
                        "{} is damaged (too short); restore it from a backup",
                        path.display()
                    );
                }
                Ok(ServerSecret(secret))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(&path),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// The passphrase.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn create(path: &PathBuf) -> anyhow::Result<ServerSecret> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = STANDARD.encode(bytes);
    // create_new: if another process created it meanwhile, fail rather than overwrite.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(secret.as_bytes())?;
    file.sync_all()?;
    Ok(ServerSecret(secret))
}

fn check_private(path: &Path) -> anyhow::Result<()> {
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        bail!(
            "{} is readable by other users (mode {:o}); run chmod 600 on it",
            path.display(),
            mode & 0o777
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let first = ServerSecret::load_or_create(dir.path()).unwrap();
        let path = dir.path().join(FILE_NAME);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = ServerSecret::load_or_create(dir.path()).unwrap();
        assert_eq!(first.expose(), second.expose());

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = ServerSecret::load_or_create(dir.path())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }
}
