//! A throwaway SoftHSM2 token in a temporary folder, for the tests and `vanthu bench pkcs11`:
//! keys and certificates are put in it the way an operator would, with `softhsm2-util` and a
//! PKCS#11 certificate object.
//!
//! SoftHSM2 finds its tokens through the configuration file that `SOFTHSM2_CONF` names when
//! the module is initialised, so every process using the token needs that variable
//! ([`SoftHsm::conf`]), and a process initialises the module once: one such token per process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, CertificateType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use crate::Token;

/// Where Debian's `softhsm2` package installs the module.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The environment variable naming SoftHSM2's configuration file.
pub const CONF_ENV: &str = "SOFTHSM2_CONF";

/// A SoftHSM2 token of its own in a temporary folder, removed when dropped.
pub struct SoftHsm {
    dir: Arc<tempfile::TempDir>,
    label: String,
    pin: String,
}

impl SoftHsm {
    /// Initialises a token labelled `label` with user PIN `pin` under a new temporary folder.
    pub fn create(label: &str, pin: &str) -> Result<SoftHsm, String> {
        Self::create_with(label, pin, "")
    }

    /// As [`SoftHsm::create`], with more lines for the configuration file, e.g.
    /// `slots.mechanisms = -CKM_EDDSA` for a token that lacks a mechanism.
    pub fn create_with(label: &str, pin: &str, extra_conf: &str) -> Result<SoftHsm, String> {
        let dir = tempfile::Builder::new()
            .prefix("vanthu-softhsm-")
            .tempdir()
            .map_err(|e| format!("cannot create a folder for the token: {e}"))?;
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).map_err(|e| e.to_string())?;
        let conf = format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n{extra_conf}",
            tokens.display()
        );
        std::fs::write(dir.path().join("softhsm2.conf"), conf).map_err(|e| e.to_string())?;
        Self::init(Arc::new(dir), label, pin)
    }

    /// Initialises another token in the same folder as `other`, seen by the processes that
    /// see `other`; create it before the module is loaded, which lists the tokens once.
    pub fn create_beside(other: &SoftHsm, label: &str, pin: &str) -> Result<SoftHsm, String> {
        Self::init(Arc::clone(&other.dir), label, pin)
    }

    fn init(dir: Arc<tempfile::TempDir>, label: &str, pin: &str) -> Result<SoftHsm, String> {
        let hsm = SoftHsm {
            dir,
            label: label.to_owned(),
            pin: pin.to_owned(),
        };
        // The security officer's PIN is needed only here; nothing else uses it.
        hsm.util(&[
            "--init-token",
            "--free",
            "--label",
            label,
            "--so-pin",
            "vanthu-so",
            "--pin",
            pin,
        ])?;
        Ok(hsm)
    }

    /// The configuration file that `SOFTHSM2_CONF` must name in each process using the token.
    pub fn conf(&self) -> PathBuf {
        self.dir.path().join("softhsm2.conf")
    }

    /// The token's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The token's user PIN.
    pub fn pin(&self) -> &str {
        &self.pin
    }

    /// The module's path.
    pub fn module(&self) -> &Path {
        Path::new(MODULE)
    }

    /// Points this process's `SOFTHSM2_CONF` at the token. Call it once, before anything in
    /// the process loads the module (and so before its threads that might read the
    /// environment start); [`SoftHsm::store_certificate`] needs it.
    pub fn use_in_this_process(&self) {
        std::env::set_var(CONF_ENV, self.conf());
    }

    /// Puts a private key (and its public key) in the token under `label` and `id`, as an
    /// operator does with `softhsm2-util --import`. Another process does the import, and a
    /// module already loaded in this one does not see what it adds: import every key before
    /// this process first opens the token.
    pub fn import_key(&self, label: &str, id: &[u8], key: &PKey<Private>) -> Result<(), String> {
        let pkcs8 = key.private_key_to_pem_pkcs8().map_err(|e| e.to_string())?;
        let file = self.dir.path().join(format!("{}.p8", hex::encode(id)));
        std::fs::write(&file, pkcs8).map_err(|e| e.to_string())?;
        let outcome = self.util(&[
            "--import",
            &file.display().to_string(),
            "--token",
            &self.label,
            "--label",
            label,
            "--id",
            &hex::encode(id),
            "--pin",
            &self.pin,
        ]);
        let _ = std::fs::remove_file(&file);
        outcome
    }

    /// Stores an X.509 certificate object under `label` and `id` (those of its key), through
    /// this process's module: [`SoftHsm::use_in_this_process`] first.
    pub fn store_certificate(&self, label: &str, id: &[u8], cert: &X509) -> Result<(), String> {
        let token =
            Token::open(self.module(), &self.label, &self.pin).map_err(|e| e.to_string())?;
        let der = cert.to_der().map_err(|e| e.to_string())?;
        let subject = cert.subject_name().to_der().map_err(|e| e.to_string())?;
        let session = token
            .pkcs11()
            .open_rw_session(token.slot())
            .map_err(|e| e.to_string())?;
        // Logged in already through the token's own session; a new session shares that.
        let _ = session.login(UserType::User, Some(&AuthPin::from(self.pin.clone())));
        session
            .create_object(&[
                Attribute::Class(ObjectClass::CERTIFICATE),
                Attribute::CertificateType(CertificateType::X_509),
                Attribute::Token(true),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(id.to_vec()),
                Attribute::Subject(subject),
                Attribute::Value(der),
            ])
            .map_err(|e| format!("cannot store the certificate {label}: {e}"))?;
        Ok(())
    }

    /// Has the token generate an Ed25519 key pair under `label` and `id`, through this
    /// process's module ([`SoftHsm::use_in_this_process`] first), as an operator does with
    /// the HSM's own tools: the private key is never outside the token.
    pub fn generate_ed25519(&self, label: &str, id: &[u8]) -> Result<(), String> {
        let token =
            Token::open(self.module(), &self.label, &self.pin).map_err(|e| e.to_string())?;
        let session = token
            .pkcs11()
            .open_rw_session(token.slot())
            .map_err(|e| e.to_string())?;
        let named = |private: bool| {
            let mut attributes = vec![
                Attribute::Token(true),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(id.to_vec()),
            ];
            if private {
                attributes.extend([
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(false),
                    Attribute::Sign(true),
                ]);
            } else {
                // id-Ed25519, 1.3.101.112 (RFC 8410).
                attributes.extend([
                    Attribute::EcParams(vec![0x06, 0x03, 0x2b, 0x65, 0x70]),
                    Attribute::Verify(true),
                ]);
            }
            attributes
        };
        session
            .generate_key_pair(
                &Mechanism::EccEdwardsKeyPairGen,
                &named(false),
                &named(true),
            )
            .map_err(|e| format!("cannot generate the Ed25519 key {label}: {e}"))?;
        Ok(())
    }

    /// Deletes the token, as if it were pulled out.
    pub fn remove(&self) -> Result<(), String> {
        self.util(&["--delete-token", "--token", &self.label])
    }

    fn util(&self, args: &[&str]) -> Result<(), String> {
        let out = Command::new("softhsm2-util")
            .args(args)
            .env(CONF_ENV, self.conf())
            .output()
            .map_err(|e| format!("cannot run softhsm2-util (Debian softhsm2): {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "softhsm2-util {}: {}{}",
                args.first().copied().unwrap_or_default(),
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}
