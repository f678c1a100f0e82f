//! `vanthu certs list`: the certificate inventory of the whole installation, as the API's
//! `GET /api/v1/certificates` gives it to an administrator of the root, soonest to expire
//! first, with the warnings 30, 7 and 1 days before expiry.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use vanthu_api::certificates::{inventory, CertificateEntry};
use vanthu_api::signing_keys::SealToken;
use vanthu_store::Database;

use crate::configuration::StorageArgs;

/// Options of `vanthu certs`.
#[derive(Debug, Args)]
pub struct CertsArgs {
    #[command(subcommand)]
    pub what: CertsWhat,
}

/// What to do with the certificates.
#[derive(Debug, Subcommand)]
pub enum CertsWhat {
    /// Every certificate: owner, issuer, validity, where the key is kept, status
    List(ListArgs),
}

/// Options of `vanthu certs list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub storage: StorageArgs,

    /// Print JSON (the API's answer) instead of a table
    #[arg(long)]
    pub json: bool,

    /// Also list the seal certificates in this PKCS#11 token's module (with
    /// --seal-token-label; the PIN from --seal-pin-env)
    #[arg(long, value_name = "PATH", requires = "seal_token_label")]
    pub seal_pkcs11_module: Option<std::path::PathBuf>,

    /// Label of the token holding seal keys
    #[arg(long, value_name = "LABEL", requires = "seal_pkcs11_module")]
    pub seal_token_label: Option<String>,

    /// Environment variable holding the seal token's user PIN
    #[arg(long, value_name = "VAR", default_value = crate::configuration::DEFAULT_SEAL_PIN_ENV)]
    pub seal_pin_env: String,
}

/// Runs `vanthu certs`.
pub fn run(args: CertsArgs) -> anyhow::Result<ExitCode> {
    let CertsWhat::List(args) = args.what;
    let storage = args.storage.resolve()?;
    let db = Database::connect(&storage.database_url)?;
    let token = match (&args.seal_pkcs11_module, &args.seal_token_label) {
        (Some(module), Some(label)) => Some(SealToken::new(crate::token::open(
            module,
            label,
            &args.seal_pin_env,
        )?)),
        _ => None,
    };
    let entries = inventory(&db, None, token.as_ref(), chrono::Utc::now())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else {
        print_table(&entries);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(entries: &[CertificateEntry]) {
    println!(
        "{:<9} {:<34} {:<10} {:<17} {:<13} {:>5}  subject / issuer",
        "purpose", "owner", "valid to", "key", "status", "days"
    );
    for e in entries {
        println!(
            "{:<9} {:<34} {:<10} {:<17} {:<13} {:>5}  {} / {}",
            name(&e.purpose),
            e.owner,
            e.not_after.format("%Y-%m-%d"),
            name(&e.key_location),
            name(&e.status),
            e.days_left,
            e.subject,
            e.issuer
        );
        if let Some(w) = &e.warning {
            println!("          warning: {} {}", e.subject, w.message);
        }
    }
}

/// The snake_case name the API gives a value, for the table.
fn name(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
