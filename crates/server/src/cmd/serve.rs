//! `vanthu serve`: opens the data directory and database, loads the key-encryption key, seeds
//! the demo if asked, refuses development keys in production, and serves the API.

use std::io::Write;
use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use vanthu_api::interchange::InterchangeSettings;
use vanthu_api::signing_keys::SealToken;
use vanthu_api::token_keys::PersonalTokens;
use vanthu_api::{AppState, Hashing, Limits, Metrics, SigningSettings};
use vanthu_audit::NoteSigner;
use vanthu_keys::KdfParams;
use vanthu_pades::trust::TrustAnchors;
use vanthu_pades::verify::VerifyOptions;
use vanthu_store::blob::{BlobStore, FsBlobStore};
use vanthu_store::Database;

use crate::audit_key;
use crate::configuration::{ServeArgs, ServeSettings};
use crate::demo;
use crate::devpki::{self, DevPki};
use crate::{kek, telemetry};

/// Runs the server until it is stopped (Ctrl-C or SIGTERM).
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let settings = args.resolve()?;
    telemetry::init(settings.log_format);
    let storage = &settings.storage;
    vanthu_store::private::create_dir(&storage.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            storage.data_dir.display()
        )
    })?;
    let db = Database::connect(&storage.database_url)?;
    let blobs = FsBlobStore::new(storage.blob_dir())?;
    let removed = blobs.cleanup_temp()?;
    if removed > 0 {
        tracing::info!(
            removed,
            "removed unfinished uploads left by an earlier crash"
        );
    }

    let kek = kek::load(
        settings.kek.as_ref(),
        &storage.data_dir,
        settings.demo || settings.dev,
    )?;
    if settings.demo {
        let seeded = demo::seed(&db, &kek).context("cannot seed the demo organisation")?;
        tracing::info!(
            units = seeded.units,
            users = seeded.users,
            certificates = seeded.certificates,
            "demo organisation ready"
        );
    }
    guard_development_keys(&db, &settings)?;
    let audit_signer = match &settings.audit_token {
        Some(token) => {
            audit_key::load_from_token(storage, token).context("cannot open the audit key")?
        }
        None => audit_key::load_or_create(storage, &kek)?,
    };
    let verification = VerifyOptions {
        anchors: trust_anchors(&settings)?,
        offline: true,
        now: None,
    };
    if settings.demo {
        let added = demo::seed_incoming(&db, &blobs, &verification)
            .context("cannot seed the demo's incoming documents")?;
        tracing::info!(incoming = added, "demo incoming documents ready");
        let added = demo::seed_outgoing(&db, &blobs)
            .context("cannot seed the demo's outgoing documents")?;
        tracing::info!(outgoing = added, "demo outgoing documents ready");
    }

    let seal_token = match &settings.seal_token {
        Some(t) => {
            let token = crate::token::open(&t.module, &t.label, &t.pin_env)
                .context("cannot open the seal token")?;
            if !(settings.demo || settings.dev) {
                refuse_development_certificates(&token)?;
            }
            tracing::info!(module = %t.module.display(), token = %t.label, "seal keys in a PKCS#11 token");
            Some(Arc::new(SealToken::new(token)))
        }
        None => None,
    };

    let personal_tokens = match &settings.personal_pkcs11_module {
        Some(module) => {
            let tokens = PersonalTokens::new(module.clone());
            let found = tokens
                .discover_all(&db)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("cannot read the leaders' tokens")?;
            tracing::info!(module = %module.display(), tokens = found, "leaders' keys in their own PKCS#11 tokens");
            Some(Arc::new(tokens))
        }
        None => None,
    };

    let listener = TcpListener::bind(&settings.listen)
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let address = listener.local_addr()?;
    let base_url = format!("http://{address}");
    tracing::info!(%address, backend = %db.backend(), data = %storage.data_dir.display(), "listening");
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "vanthu listening on {base_url}")?;
    if settings.demo {
        writeln!(stdout, "{}", demo::login_instructions(&base_url))?;
    }
    stdout.flush()?;
    drop(stdout);

    let state = AppState {
        db,
        blobs: Arc::new(blobs) as Arc<dyn BlobStore>,
        limits: Limits {
            json: settings.max_body,
            upload: settings.max_upload,
        },
        token_ttl: settings.token_ttl,
        metrics: Metrics::new()?,
        hashing: Hashing::new(settings.hash_concurrency, settings.hash_wait),
        verification,
        kek: Arc::new(kek),
        signing: SigningSettings {
            kdf: KdfParams::DEFAULT,
            session_ttl: settings.signing_session_ttl,
            session_signatures: settings.signing_session_signatures,
            csc_authorization_ttl: settings.csc_authorization_ttl,
            prepared_ttl: settings.prepared_signature_ttl,
        },
        audit_key: audit_signer.verifier(),
        seal_token,
        personal_tokens,
        interchange: InterchangeSettings {
            agencies: settings.agencies.clone(),
            limits: vanthu_interchange::Limits::default(),
        },
        signer_revocation: settings.signer_revocation.clone(),
        kept_signers: Arc::default(),
    };
    crate::outbox::Worker {
        db: state.db.clone(),
        kek: state.kek.clone(),
        blobs: state.blobs.clone(),
        anchors: state.verification.anchors.clone(),
        agencies: settings.agencies.clone(),
        inbox: settings.interchange_inbox.clone(),
        retry: settings.interchange_retry,
        revocation: settings.signer_revocation.clone(),
        lease: settings.interchange_lease,
        holder: crate::outbox::instance_name(),
    }
    .spawn()
    .context("cannot start the interchange delivery worker")?;
    let keeper = (
        state.db.clone(),
        audit_signer,
        settings.audit_checkpoint_interval,
    );
    actix_web::rt::System::new().block_on(async move {
        let server = vanthu_api::serve(listener, state)?;
        actix_web::rt::spawn(keep_audit_log(keeper.0, Arc::new(keeper.1), keeper.2));
        server.await
    })?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// How often queued audit entries are filed in the log.
const AUDIT_INTEGRATE_EVERY: Duration = Duration::from_secs(1);

/// Files queued audit entries every second and issues a checkpoint every `checkpoint_every`
/// when the log grew, for as long as the server runs. A failed round is logged and retried
/// at the next tick: the entries wait in the queue.
async fn keep_audit_log(db: Database, signer: Arc<NoteSigner>, checkpoint_every: Duration) {
    let mut integrate = tokio::time::interval(AUDIT_INTEGRATE_EVERY);
    let mut checkpoint = tokio::time::interval(checkpoint_every);
    loop {
        let issue = tokio::select! {
            _ = integrate.tick() => false,
            _ = checkpoint.tick() => true,
        };
        let (db, signer) = (db.clone(), signer.clone());
        let round = actix_web::web::block(move || {
            if issue {
                db.issue_checkpoint(&signer, true, chrono::Utc::now())
                    .map(|_| ())
            } else {
                db.integrate_audit().map(|_| ())
            }
        })
        .await;
        match round {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "audit log round failed; retrying"),
            Err(e) => tracing::warn!(error = %e, "audit log round did not run; retrying"),
        }
    }
}

/// The anchors received documents are verified against: the configured ones, plus the
/// development root under --dev or --demo only, since anyone can sign with its keys.
fn trust_anchors(settings: &ServeSettings) -> anyhow::Result<TrustAnchors> {
    let mut anchors = TrustAnchors::empty();
    for path in &settings.trust {
        anchors
            .add_path(path)
            .with_context(|| format!("invalid setting trust: {}", path.display()))?;
    }
    for list in &settings.trust_lists {
        let n = anchors
            .add_domain_path(&list.name, &list.path)
            .with_context(|| format!("invalid setting trust_lists.{}", list.name))?;
        tracing::info!(list = %list.name, anchors = n, "trust list loaded");
    }
    if settings.demo || settings.dev {
        anchors
            .add_bytes(devpki::ROOT_CA_PEM)
            .map_err(|e| anyhow::anyhow!("development root: {e}"))?;
    }
    if anchors.is_empty() {
        tracing::warn!(
            "no trust anchors configured (--trust, --trust-list): signatures on received \
             documents will be reported untrusted"
        );
    } else {
        tracing::info!(anchors = anchors.len(), "trust anchors loaded");
    }
    Ok(anchors)
}

/// Development keys are public: a server trusting them must say so explicitly.
fn guard_development_keys(db: &Database, settings: &ServeSettings) -> anyhow::Result<()> {
    if settings.demo || settings.dev {
        tracing::warn!(
            "development keys allowed (--demo/--dev): certificates from certs-dev are public \
             test material, never use this mode in production"
        );
        return Ok(());
    }
    let pki = DevPki::load().context("cannot load the embedded development PKI")?;
    let mut development = 0;
    for certificate in db.all_certificates()? {
        let pem = openssl::x509::X509::from_pem(certificate.cert_pem.as_bytes());
        if pem.is_ok_and(|cert| pki.recognises(&cert)) {
            development += 1;
        }
    }
    if development > 0 {
        bail!(
            "refusing to start: the database holds {development} certificate(s) issued by the \
             development PKI (certs-dev, not for production); start with --demo or --dev to \
             allow development keys"
        );
    }
    Ok(())
}

/// A seal token holding certificates of the development PKI is refused outside --demo and
/// --dev, as the database's are.
fn refuse_development_certificates(token: &vanthu_pkcs11::Token) -> anyhow::Result<()> {
    let pki = DevPki::load().context("cannot load the embedded development PKI")?;
    let development = token
        .labelled_certificates()
        .context("cannot read the seal token's certificates")?
        .into_iter()
        .filter(|(_, der)| {
            openssl::x509::X509::from_der(der).is_ok_and(|cert| pki.recognises(&cert))
        })
        .count();
    if development > 0 {
        bail!(
            "refusing to start: the seal token \"{}\" holds {development} certificate(s) issued \
             by the development PKI (certs-dev, not for production); start with --demo or --dev \
             to allow development keys",
            token.label()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::configuration::tests::no_flags;

    fn settings(dev: bool, trust: Vec<PathBuf>) -> ServeSettings {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("vanthu.toml");
        std::fs::write(&config, "").unwrap();
        ServeArgs {
            dev,
            trust,
            ..no_flags(&config)
        }
        .resolve()
        .unwrap()
    }

    fn certs_dev(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../certs-dev")
            .join(name)
    }

    #[test]
    fn the_development_root_is_trusted_only_in_development_mode() {
        assert!(trust_anchors(&settings(false, vec![])).unwrap().is_empty());
        assert_eq!(trust_anchors(&settings(true, vec![])).unwrap().len(), 1);
        let configured = settings(false, vec![certs_dev("root-ca.pem")]);
        assert_eq!(trust_anchors(&configured).unwrap().len(), 1);
        let missing = settings(false, vec![certs_dev("no-such.pem")]);
        let err = trust_anchors(&missing).unwrap_err().to_string();
        assert!(
            err.contains("trust") && err.contains("no-such.pem"),
            "{err}"
        );
    }
}
