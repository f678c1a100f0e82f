//! The audit log's Ed25519 signing key, kept in the data directory (mode 0600) sealed under
//! the key-encryption key, which never lives there: a copy of the data directory cannot sign
//! checkpoints. The file also names the public verifier key, so checking the log needs no
//! key-encryption key.
//!
//! The file is four lines: a format label, the verifier key (Go `sumdb/note` format), and the
//! base64 nonce and ciphertext of the private key (its `sumdb/note` text) under AES-256-GCM,
//! bound to the installation and to that verifier key.
//!
//! Or the key is in a PKCS#11 token (`--audit-pkcs11-module`), signing with `CKM_EDDSA`; the
//! file then holds two lines, a label saying so and the verifier key, written when the token's
//! key is first used. It pins the log to that key: a log keeps one key, since every checkpoint
//! it has is checked with it, so another key (in the token or sealed in the file) is refused.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use vanthu_audit::{ExternalEd25519, NoteSigner, NoteVerifier};
use vanthu_keys::{Kek, KeyBinding, KeyOwner, WrapKind, WrappedKey};
use vanthu_pkcs11::{KeyRef, Pkcs11Ed25519};

use crate::configuration::{AuditTokenSettings, StorageSettings};

/// File name of the key inside the data directory.
pub const FILE_NAME: &str = "audit-key";

/// First line of the file: what it holds.
const LABEL: &str = "vanthu audit key, sealed under the key-encryption key, v1";
/// First line of the file when the key is in a token.
const TOKEN_LABEL: &str = "vanthu audit key, held in a PKCS#11 token, v1";

/// Where the key of this data directory is kept.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// What the key file holds.
enum Record {
    /// The key itself, sealed.
    Sealed(SealedKey),
    /// The verifier key of a key held in a token.
    InToken(String),
}

impl Record {
    fn verifier(&self) -> &str {
        match self {
            Record::Sealed(sealed) => &sealed.verifier,
            Record::InToken(verifier) => verifier,
        }
    }

    fn parse(text: &str) -> Option<Record> {
        if text.lines().next() == Some(TOKEN_LABEL) {
            let mut lines = text.lines().skip(1);
            let verifier = lines.next()?.to_owned();
            return lines.next().is_none().then_some(Record::InToken(verifier));
        }
        SealedKey::parse(text).map(Record::Sealed)
    }
}

/// The sealed key as read from its file.
struct SealedKey {
    verifier: String,
    wrapped: WrappedKey,
}

impl SealedKey {
    fn binding(&self) -> KeyBinding {
        KeyBinding::new(KeyOwner::Installation, self.verifier.as_bytes())
    }

    fn to_text(&self) -> String {
        format!(
            "{LABEL}\n{}\n{}\n{}\n",
            self.verifier,
            STANDARD.encode(&self.wrapped.nonce),
            STANDARD.encode(&self.wrapped.ciphertext)
        )
    }

    fn parse(text: &str) -> Option<SealedKey> {
        let mut lines = text.lines();
        if lines.next()? != LABEL {
            return None;
        }
        let verifier = lines.next()?.to_owned();
        let nonce = STANDARD.decode(lines.next()?).ok()?;
        let ciphertext = STANDARD.decode(lines.next()?).ok()?;
        Some(SealedKey {
            verifier,
            wrapped: WrappedKey {
                kind: WrapKind::Kek,
                nonce,
                ciphertext,
            },
        })
    }
}

/// Reads the audit key, creating it under the configured origin on first use. A key that
/// exists keeps its name: checkpoints already signed name it as their origin.
pub fn load_or_create(storage: &StorageSettings, kek: &Kek) -> anyhow::Result<NoteSigner> {
    match read(&storage.data_dir)? {
        Some(Record::Sealed(sealed)) => open(&storage.data_dir, &sealed, kek),
        Some(Record::InToken(verifier)) => bail!(
            "the audit key of {} is in a PKCS#11 token ({verifier}): configure \
             --audit-pkcs11-module, --audit-token-label and --audit-key-label",
            path(&storage.data_dir).display()
        ),
        None => create(&path(&storage.data_dir), &storage.audit_origin, kek),
    }
}

/// The token's Ed25519 key as the audit log's signer. The first time, the data directory
/// records its verifier key under the configured origin; later the recorded name is kept, and
/// a token key other than the recorded one is refused, as is a data directory whose log is
/// signed by a key sealed in it.
pub fn load_from_token(
    storage: &StorageSettings,
    settings: &AuditTokenSettings,
) -> anyhow::Result<NoteSigner> {
    let token = crate::token::open(&settings.module, &settings.label, &settings.pin_env)?;
    let key = Pkcs11Ed25519::open(token, KeyRef::Label(settings.key_label.clone()))?;
    let public = key.public_key();
    let data_dir = &storage.data_dir;
    let name = match read(data_dir)? {
        Some(record) => {
            let recorded =
                NoteVerifier::parse(record.verifier()).with_context(|| damaged(data_dir))?;
            if recorded.public_key() != public {
                bail!(
                    "the audit log of {} is signed with the key {recorded}{}, not with the key \
                     labelled \"{}\" on the PKCS#11 token \"{}\": a log keeps one key",
                    data_dir.display(),
                    match record {
                        Record::Sealed(_) => " sealed in the data directory",
                        Record::InToken(_) => "",
                    },
                    settings.key_label,
                    settings.label
                );
            }
            recorded.name().to_owned()
        }
        None => storage.audit_origin.clone(),
    };
    let signer = NoteSigner::external(&name, public, Box::new(TokenKey(key)))
        .context("cannot sign with the audit key in its token")?;
    let record = format!("{TOKEN_LABEL}\n{}\n", signer.verifier());
    if read(data_dir)?.is_none() {
        let dir = data_dir.as_path();
        if !write_new(&path(dir), &record)? {
            // Another server recorded a key at the same moment: it must be this one.
            return load_from_token(storage, settings);
        }
    }
    tracing::info!(
        module = %settings.module.display(),
        token = %settings.label,
        key = %settings.key_label,
        verifier = %signer.verifier(),
        "audit key in a PKCS#11 token"
    );
    Ok(signer)
}

/// The token's key signing for the note signer.
struct TokenKey(Pkcs11Ed25519);

impl ExternalEd25519 for TokenKey {
    fn sign_ed25519(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        self.0.sign(message).map_err(|e| e.to_string())
    }
}

/// The verifier key of `data_dir`'s audit key, or `None` if none was created yet.
pub fn verifier(data_dir: &Path) -> anyhow::Result<Option<NoteVerifier>> {
    let Some(record) = read(data_dir)? else {
        return Ok(None);
    };
    NoteVerifier::parse(record.verifier())
        .map(Some)
        .with_context(|| damaged(data_dir))
}

fn damaged(data_dir: &Path) -> String {
    format!(
        "{} is damaged; restore it from a backup",
        path(data_dir).display()
    )
}

fn read(data_dir: &Path) -> anyhow::Result<Option<Record>> {
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
            Record::parse(&text)
                .map(Some)
                .with_context(|| damaged(data_dir))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn open(data_dir: &Path, sealed: &SealedKey, kek: &Kek) -> anyhow::Result<NoteSigner> {
    let opened = sealed
        .wrapped
        .open_with_kek(kek, &sealed.binding())
        .with_context(|| {
            format!(
                "the audit key {} does not open with the configured key-encryption key ({}): \
                 configure the key it was sealed with",
                path(data_dir).display(),
                kek.id()
            )
        })?;
    let text = std::str::from_utf8(opened.pkcs8_der()).with_context(|| damaged(data_dir))?;
    NoteSigner::from_key_string(text).with_context(|| damaged(data_dir))
}

fn create(path: &Path, origin: &str, kek: &Kek) -> anyhow::Result<NoteSigner> {
    let signer = NoteSigner::generate(origin)?;
    let verifier = signer.verifier().to_string();
    let binding = KeyBinding::new(KeyOwner::Installation, verifier.as_bytes());
    let wrapped = WrappedKey::seal_with_kek(signer.to_key_string()?.as_bytes(), kek, &binding)?;
    let sealed = SealedKey { verifier, wrapped };
    let dir = path.parent().unwrap_or(Path::new("."));
    if write_new(path, &sealed.to_text())? {
        return Ok(signer);
    }
    match read(dir)?.with_context(|| damaged(dir))? {
        Record::Sealed(sealed) => open(dir, &sealed, kek),
        Record::InToken(verifier) => bail!(
            "the audit key of {} is in a PKCS#11 token ({verifier}) since another server \
             started: configure --audit-pkcs11-module, --audit-token-label and --audit-key-label",
            path.display()
        ),
    }
}

/// Writes `text` as the key file at `path` unless one exists; `false` when one did.
///
/// Written whole under a temporary name and linked into place: a second server starting at
/// the same moment either wins or reads the winner's key, never half a file.
fn write_new(path: &Path, text: &str) -> anyhow::Result<bool> {
    let dir = path.parent().unwrap_or(Path::new("."));
    vanthu_store::private::create_dir(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".audit-key")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    fs::set_permissions(
        temp.path(),
        fs::Permissions::from_mode(vanthu_store::private::FILE_MODE),
    )?;
    temp.write_all(text.as_bytes())?;
    temp.as_file().sync_all()?;
    match fs::hard_link(temp.path(), path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
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
    fn the_key_is_created_sealed_once_and_then_kept() {
        let dir = tempfile::tempdir().unwrap();
        let kek = Kek::generate();
        let first = load_or_create(&storage(dir.path()), &kek).unwrap();
        let file = path(dir.path());
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // The private key is not in the file in the clear; the verifier key is.
        let text = fs::read_to_string(&file).unwrap();
        assert!(!text.contains("PRIVATE+KEY"), "{text}");
        assert_eq!(
            verifier(dir.path()).unwrap().unwrap().to_string(),
            first.verifier().to_string()
        );
        let again = load_or_create(
            &StorageSettings {
                audit_origin: "renamed/audit".into(),
                ..storage(dir.path())
            },
            &kek,
        )
        .unwrap();
        assert_eq!(again.verifier(), first.verifier());
        assert_eq!(again.name(), "vanthu.test/audit");
        // Only the key file is left: no temporary file stays behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        // Another key-encryption key does not open it, and says so.
        let err = load_or_create(&storage(dir.path()), &Kek::generate())
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not open"), "{err}");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_or_create(&storage(dir.path()), &kek)
            .unwrap_err()
            .to_string();
        assert!(err.contains("chmod 600"), "{err}");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&file, "PRIVATE+KEY+broken").unwrap();
        let err = load_or_create(&storage(dir.path()), &kek)
            .unwrap_err()
            .to_string();
        assert!(err.contains("damaged"), "{err}");
    }
}
