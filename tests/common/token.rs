//! A SoftHSM2 token for this test process, holding the development PKI's keys as a token
//! handed out by a certification authority holds them (keys, certificates, the issuing CA),
//! and PDF files to sign with them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use openssl::pkey::PKey;
use openssl::x509::X509;
use vanthu_pkcs11::softhsm::{SoftHsm, CONF_ENV};

/// The token's label.
pub const TOKEN: &str = "vanthu-e2e";
/// A second token in the same folder, holding only the seal of [`SEALED_UNIT`]: the one a
/// test may pull out without disturbing the others.
pub const SPARE_TOKEN: &str = "vanthu-e2e-spare";
/// Its user PIN.
pub const PIN: &str = "135790";
/// The demo commune whose seal key the token holds, labelled with its code.
pub const SEALED_UNIT: &str = "000.31.01.H56";

fn certs() -> PathBuf {
    super::tools::workspace()
        .join("certs-dev")
        .canonicalize()
        .expect("certs-dev")
}

/// A file of the development PKI.
pub fn dev_file(name: &str) -> String {
    certs().join(name).display().to_string()
}

/// A certificate of the development PKI.
pub fn dev_cert(name: &str) -> X509 {
    X509::from_pem(&std::fs::read(certs().join(name)).unwrap()).unwrap()
}

/// This process's token: "rsa" (id 01) and "ec" (id 02) with their certificates, "seal-key"
/// (id 03) with none, the seal key labelled [`SEALED_UNIT`] (id 04) with the development seal
/// certificate, "revoked" (id 05) whose certificate the development CRL lists, and the
/// issuing CA's certificate.
pub fn token() -> &'static SoftHsm {
    &tokens().0
}

/// The [`SPARE_TOKEN`], same PIN, beside [`token`].
pub fn spare_token() -> &'static SoftHsm {
    &tokens().1
}

fn tokens() -> &'static (SoftHsm, SoftHsm) {
    static HSM: OnceLock<(SoftHsm, SoftHsm)> = OnceLock::new();
    HSM.get_or_init(|| {
        let hsm = SoftHsm::create(TOKEN, PIN).unwrap();
        // Created before the module loads, which lists the folder's tokens once.
        let spare = SoftHsm::create_beside(&hsm, SPARE_TOKEN, PIN).unwrap();
        let key = |name: &str| {
            PKey::private_key_from_pem(&std::fs::read(certs().join(name)).unwrap()).unwrap()
        };
        hsm.import_key("rsa", &[1], &key("signer-rsa.key")).unwrap();
        hsm.import_key("ec", &[2], &key("signer-ec.key")).unwrap();
        hsm.import_key("seal-key", &[3], &key("seal.key")).unwrap();
        hsm.import_key(SEALED_UNIT, &[4], &key("seal.key")).unwrap();
        hsm.import_key("revoked", &[5], &key("revoked.key"))
            .unwrap();
        spare
            .import_key(SEALED_UNIT, &[4], &key("seal.key"))
            .unwrap();
        hsm.use_in_this_process();
        for (label, id, cert) in [
            ("rsa", 1, "signer-rsa.pem"),
            ("ec", 2, "signer-ec.pem"),
            (SEALED_UNIT, 4, "seal.pem"),
            ("revoked", 5, "revoked.pem"),
            ("issuing-ca", 0x10, "issuing-ca.pem"),
        ] {
            hsm.store_certificate(label, &[id], &dev_cert(cert))
                .unwrap();
        }
        spare
            .store_certificate(SEALED_UNIT, &[4], &dev_cert("seal.pem"))
            .unwrap();
        (hsm, spare)
    })
}

/// Lets a `vanthu` command see the token, with `pin` in `pin_env` (unset when `None`).
pub fn with_token<'c>(cmd: &'c mut Command, pin_env: &str, pin: Option<&str>) -> &'c mut Command {
    cmd.env(CONF_ENV, token().conf()).env_remove(pin_env);
    if let Some(pin) = pin {
        cmd.env(pin_env, pin);
    }
    cmd
}

/// The common name of a certificate, as pdfsig prints it.
pub fn common_name(cert: &X509) -> String {
    cert.subject_name()
        .entries_by_nid(openssl::nid::Nid::COMMONNAME)
        .next()
        .unwrap()
        .data()
        .to_string()
        .unwrap()
}

/// A one-page PDF written to `dir/name`.
pub fn one_page_pdf_file(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, super::one_page_pdf(b"UY BAN NHAN DAN XA DEMO"))
        .expect("write input PDF");
    path
}
