//! `vanthu bench keys`: what the signing PIN costs. Unlocking a personal key with its PIN
//! (Argon2id, then AES-256-GCM), and one signature through a signing session (the count
//! taken in a SQLite database, the key opened with the session's secret, an OpenSSL key
//! built, the signature made), each beside a signature with a key already in memory, in the
//! same run on one thread.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use chrono::{TimeDelta, Utc};
use clap::Args;
use openssl::pkey::PKey;
use openssl::x509::X509;
use vanthu_api::signing_keys::wrap_personal_key;
use vanthu_domain::{Name, Roles, UnitCode, UnitLevel, Username};
use vanthu_keys::{KdfParams, KeyBinding, KeyOwner, SessionToken, SigningPin};
use vanthu_pades::signer::{DerSigner, Signer, SignerOptions};
use vanthu_store::{Database, NewSigningSession, NewUnit, NewUser, SessionUse};

use crate::cmd::bench::{machine, rate, CHAIN, SIGNER_CERT, SIGNER_KEY};

/// Options of `vanthu bench keys`.
#[derive(Debug, Args)]
pub struct KeysArgs {
    /// Seconds spent on each measurement
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
}

/// About the size of the DER of a PAdES signature's signed attributes: what is signed.
const SIGNED_ATTRIBUTES_LEN: usize = 300;

/// Runs `vanthu bench keys`.
pub fn run(args: KeysArgs) -> anyhow::Result<ExitCode> {
    let budget = Duration::from_secs_f64(args.seconds.max(0.1));
    let dir = tempfile::tempdir()?;
    let db = Database::connect(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))?;
    let unit = db.insert_unit(
        None,
        &NewUnit {
            parent_id: None,
            code: UnitCode::parse("000.00.31.H56")?,
            name: Name::parse("Ủy ban nhân dân huyện Yên Lạc")?,
            level: UnitLevel::District,
        },
    )?;
    let leader = db.insert_user(
        None,
        &NewUser {
            username: Username::parse("district.leader")?,
            display_name: Name::parse("Lê Văn Thắng")?,
            unit_id: unit.id,
            roles: Roles::from([vanthu_domain::Role::Leader]),
            password_hash: "unused".into(),
        },
    )?;
    let key = PKey::private_key_from_pem(SIGNER_KEY)?;
    let cert = X509::from_pem(SIGNER_CERT)?;
    let chain = X509::stack_from_pem(CHAIN)?;
    let (cert_der, chain_der) = (
        cert.to_der()?,
        chain
            .iter()
            .map(|c| c.to_der())
            .collect::<Result<Vec<_>, _>>()?,
    );
    let pin = SigningPin::parse("246810")?;
    let kdf = KdfParams::DEFAULT;
    let (record, wrapped) = wrap_personal_key(leader.id, &key, &cert, &chain, &pin, kdf)?;
    let stored = db.enrol_signing_key(&record, &wrapped)?;
    let binding = KeyBinding::new(KeyOwner::User(leader.id), &cert_der);
    let data = vec![0x31u8; SIGNED_ATTRIBUTES_LEN];

    println!("vanthu bench keys: one thread, {}", machine());
    println!("rates are runs per CPU-second of the measuring thread");
    println!("date: {}", Utc::now().format("%Y-%m-%d %H:%M UTC"));
    println!("key: RSA-2048 (development signer); PIN key derivation: {kdf}");
    println!();

    let in_memory = DerSigner::from_der(
        stored.wrapped.open_with_pin(&pin, &binding)?.pkcs8_der(),
        &cert_der,
        &chain_der,
        SignerOptions::default(),
    )?;
    let plain = rate(budget, || Ok(in_memory.sign(&data)?))?.0.cpu;
    let unlock = rate(budget, || {
        Ok(stored.wrapped.open_with_pin(&pin, &binding)?)
    })?
    .0
    .cpu;

    let token = SessionToken::generate();
    let opened = stored.wrapped.open_with_pin(&pin, &binding)?;
    let now = Utc::now();
    db.open_signing_session(&NewSigningSession {
        id: token.id(),
        user_id: leader.id,
        signing_key_id: stored.id,
        sealed: token.seal(&opened, &binding)?,
        created_at: now,
        expires_at: now + TimeDelta::hours(1),
        signatures: u32::MAX / 2,
    })?;
    let session = rate(budget, || {
        let SessionUse::Granted(granted) =
            db.use_signing_session(token.id(), leader.id, Utc::now())?
        else {
            bail!("the benchmark's signing session was refused");
        };
        let pkcs8 = token.open(&granted.sealed, &binding)?;
        let signer = DerSigner::from_der(
            pkcs8.pkcs8_der(),
            &cert_der,
            &chain_der,
            SignerOptions::default(),
        )?;
        Ok(signer.sign(&data)?)
    })?
    .0
    .cpu;

    println!("{:<52} {:>12} {:>10}", "", "per second", "ms each");
    for (label, per_second) in [
        ("signature, key already in memory (in-process)", plain),
        ("PIN unlock (Argon2id + AES-256-GCM)", unlock),
        ("signature through a signing session (SQLite)", session),
    ] {
        println!(
            "{label:<52} {per_second:>12.1} {:>10.3}",
            1000.0 / per_second
        );
    }
    println!();
    println!(
        "a session signature costs {:.1}x an in-memory one; the PIN alone {:.0}x",
        plain / session,
        plain / unlock
    );
    Ok(ExitCode::SUCCESS)
}
