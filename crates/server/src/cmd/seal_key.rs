//! `vanthu seal-key`: installs an organisation's seal key from a PKCS#12 file, sealed under
//! the key-encryption key, in place of the key it had.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use clap::Args;
use vanthu_api::signing_keys::{open_signing_pkcs12, wrap_seal_key};
use vanthu_domain::UnitCode;
use vanthu_store::{Database, StoreError};

use crate::configuration::{KekArgs, StorageArgs};
use crate::kek;

/// Options of `vanthu seal-key`.
#[derive(Debug, Clone, Args)]
pub struct SealKeyArgs {
    #[command(flatten)]
    pub storage: StorageArgs,

    #[command(flatten)]
    pub keys: KekArgs,

    /// Code of the organisation (mã định danh), e.g. 000.00.31.H56
    #[arg(long, value_name = "CODE")]
    pub unit: String,

    /// PKCS#12 file holding the seal's key, certificate and chain
    #[arg(long, value_name = "FILE")]
    pub p12: PathBuf,

    /// Environment variable holding the PKCS#12 password
    #[arg(long, value_name = "VAR", default_value = "VANTHU_P12_PASSWORD")]
    pub p12_password_env: String,

    /// Without a configured key-encryption key, use the demonstration one in the data
    /// directory (development installations only)
    #[arg(long)]
    pub dev: bool,
}

/// Installs the seal key and prints what was installed.
pub fn run(args: SealKeyArgs) -> anyhow::Result<ExitCode> {
    let (storage, source) = args.storage.resolve_with_kek(&args.keys)?;
    let kek = kek::load(source.as_ref(), &storage.data_dir, args.dev)?;
    let code = UnitCode::parse(&args.unit).map_err(|e| anyhow!("--unit: {}", e.message))?;
    let der =
        std::fs::read(&args.p12).with_context(|| format!("cannot read {}", args.p12.display()))?;
    // An unset variable means an empty password, which some PKCS#12 files have.
    let password = std::env::var(&args.p12_password_env).unwrap_or_default();
    let (key, cert, chain) = open_signing_pkcs12(&der, &password).map_err(|e| {
        anyhow!(
            "{}: {e} (the password is read from the environment variable {})",
            args.p12.display(),
            args.p12_password_env
        )
    })?;
    let db = Database::connect(&storage.database_url)?;
    let unit = db.get_unit_by_code(&code).map_err(|e| match e {
        StoreError::NotFound { .. } => anyhow!("no organisation has the code {code}"),
        e => e.into(),
    })?;
    let (record, wrapped) = wrap_seal_key(unit.id, &key, &cert, &chain, &kek)?;
    let stored = db.enrol_signing_key(&record, &wrapped)?;
    tracing::info!(unit_id = %unit.id, serial = %stored.certificate.serial, kek = %kek.id(), "seal key installed");
    println!(
        "seal key of {} ({code}) installed: {}, serial {}, valid until {}",
        unit.name,
        stored.certificate.subject,
        stored.certificate.serial,
        stored.certificate.not_after.format("%Y-%m-%d")
    );
    Ok(ExitCode::SUCCESS)
}
