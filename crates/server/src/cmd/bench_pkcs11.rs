//! `vanthu bench pkcs11`: signatures with a key in a PKCS#11 token (SoftHSM2, in a token made
//! for the run) beside the same key from a file, in the same run on one thread: the raw
//! signature over a PAdES signature's signed attributes, and a whole PAdES B-B signature of a
//! 25 KB PDF, for RSA-2048 and ECDSA P-256.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::Args;
use openssl::pkey::PKey;
use openssl::x509::X509;
use vanthu_pades::sign::{self, SignOptions};
use vanthu_pades::signer::{PemSigner, Signer, SignerOptions};
use vanthu_pkcs11::softhsm::SoftHsm;
use vanthu_pkcs11::{KeyRef, Pkcs11Signer, Token};

use crate::cmd::bench::{machine, rate, write_pdf, Rates, SIGNER_CERT, SIGNER_KEY};

const EC_KEY: &[u8] = include_bytes!("../../../../certs-dev/signer-ec.key");
const EC_CERT: &[u8] = include_bytes!("../../../../certs-dev/signer-ec.pem");
/// About the size of the DER of a PAdES signature's signed attributes: what is signed.
const SIGNED_ATTRIBUTES_LEN: usize = 300;

/// Options of `vanthu bench pkcs11`.
#[derive(Debug, Args)]
pub struct Pkcs11BenchArgs {
    /// Seconds spent on each measurement
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,

    /// SoftHSM2's module
    #[arg(long, value_name = "PATH", default_value = vanthu_pkcs11::softhsm::MODULE)]
    pub module: PathBuf,
}

/// Runs `vanthu bench pkcs11`.
pub fn run(args: Pkcs11BenchArgs) -> anyhow::Result<ExitCode> {
    let budget = Duration::from_secs_f64(args.seconds.max(0.1));
    let hsm = SoftHsm::create("vanthu-bench", "13579246").map_err(|e| anyhow!(e))?;
    let keys = [
        ("RSA-2048", SIGNER_KEY, SIGNER_CERT),
        ("ECDSA P-256", EC_KEY, EC_CERT),
    ];
    for (i, (_, key, _)) in keys.iter().enumerate() {
        let key = PKey::private_key_from_pem(key)?;
        hsm.import_key(&format!("key-{i}"), &[i as u8], &key)
            .map_err(|e| anyhow!(e))?;
    }
    // Before the module loads: SoftHSM2 reads its configuration once, at initialisation.
    hsm.use_in_this_process();
    let token = Token::open(&args.module, hsm.label(), hsm.pin())?;
    let dir = tempfile::tempdir()?;
    let pdf_path = dir.path().join("bench-25k.pdf");
    write_pdf(&pdf_path, 25_000)?;
    let pdf = std::fs::read(&pdf_path)?;
    let data = vec![0x31u8; SIGNED_ATTRIBUTES_LEN];

    println!("vanthu bench pkcs11: one thread, {}", machine());
    println!("rates are runs per CPU-second of the measuring thread, and per wall-clock second");
    println!("date: {}", chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"));
    println!(
        "token: SoftHSM2 ({}), a session from the pool per signature",
        args.module.display()
    );
    println!();
    println!(
        "{:<12} {:<26} {:>12} {:>12} {:>12} {:>12}",
        "key", "operation", "file cpu/s", "token cpu/s", "token wall/s", "token/file"
    );
    for (i, (name, key_pem, cert_pem)) in keys.iter().enumerate() {
        let dir = tempfile::tempdir()?;
        let (key_file, cert_file) = (dir.path().join("k.pem"), dir.path().join("c.pem"));
        std::fs::write(&key_file, key_pem)?;
        std::fs::write(&cert_file, cert_pem)?;
        let file = PemSigner::from_files(&key_file, &cert_file, None, SignerOptions::default())?;
        let cert = X509::from_pem(cert_pem)?.to_der()?;
        let in_token = Pkcs11Signer::open(
            token.clone(),
            KeyRef::Id(vec![i as u8]),
            Some(cert),
            Vec::new(),
            SignerOptions::default(),
        )
        .with_context(|| format!("cannot open the {name} key in the token"))?;
        let signers: [&dyn Signer; 2] = [&file, &in_token];
        let [file_raw, token_raw] =
            signers.map(|s| rate(budget, || Ok(s.sign(&data)?)).map(|(r, _)| r));
        row(name, "signature (signed attrs)", file_raw?, token_raw?);
        let [file_pdf, token_pdf] = signers.map(|s| {
            rate(budget, || {
                Ok(sign::sign_bytes(&pdf, s, &SignOptions::default())?.0)
            })
            .map(|(r, _)| r)
        });
        row(name, "PAdES B-B, 25 KB PDF", file_pdf?, token_pdf?);
    }
    Ok(ExitCode::SUCCESS)
}

fn row(key: &str, operation: &str, file: Rates, token: Rates) {
    println!(
        "{key:<12} {operation:<26} {:>12.1} {:>12.1} {:>12.1} {:>11.2}x",
        file.cpu,
        token.cpu,
        token.wall,
        token.wall / file.wall
    );
}
