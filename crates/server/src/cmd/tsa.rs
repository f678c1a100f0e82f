//! `vanthu tsa`: a small RFC 3161 time-stamp authority over HTTP for demos and tests, with the
//! development CRLs served beside it (the development certificates point at
//! `http://127.0.0.1:8180/<name>.crl`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use anyhow::Context;
use clap::Args;
use vanthu_pades::signer::{parse_certificates, Pkcs12Signer, SignerOptions};
use vanthu_pades::trust::{check_usage, Usage};
use vanthu_pades::tsa::{Authority, QUERY_MEDIA_TYPE, REPLY_MEDIA_TYPE};

/// The development TSA key, certificate and issuing CA, embedded so the command works from any
/// directory. Never for production: the key is public.
const DEV_TSA_P12: &[u8] = include_bytes!("../../../../certs-dev/tsa.p12");
const DEV_P12_PASSWORD: &str = "vanthu-dev";
const DEV_CRLS: [(&str, &[u8]); 2] = [
    (
        "issuing-ca",
        include_bytes!("../../../../certs-dev/issuing-ca.crl"),
    ),
    (
        "root-ca",
        include_bytes!("../../../../certs-dev/root-ca.crl"),
    ),
];

/// Largest time-stamp request accepted.
const MAX_REQUEST: usize = 64 * 1024;

/// Options of `vanthu tsa`.
#[derive(Debug, Clone, Args)]
pub struct TsaArgs {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:8180", value_name = "ADDR")]
    pub listen: String,

    /// TSA certificate (PEM; its extended key usage must be timeStamping, critical)
    #[arg(long, value_name = "PEM", requires = "key")]
    pub cert: Option<PathBuf>,

    /// TSA private key (PEM)
    #[arg(long, value_name = "PEM", requires = "cert")]
    pub key: Option<PathBuf>,

    /// Issuer certificates of the TSA certificate (PEM bundle)
    #[arg(long, value_name = "PEM", requires = "cert")]
    pub chain: Option<PathBuf>,

    /// Folder of CRL files served as GET /<name>.crl (default: the embedded development CRLs)
    #[arg(long, value_name = "DIR")]
    pub crl_dir: Option<PathBuf>,
}

struct State {
    authority: Authority,
    crls: HashMap<String, Vec<u8>>,
}

/// Runs the authority until interrupted.
pub fn run(args: TsaArgs) -> anyhow::Result<ExitCode> {
    let authority = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => {
            check_tsa_certificate(cert)?;
            Authority::from_pem_files(cert, key, args.chain.as_deref())?
        }
        _ => Authority::new(Arc::new(Pkcs12Signer::from_der(
            DEV_TSA_P12,
            DEV_P12_PASSWORD,
            SignerOptions::default(),
        )?)),
    };
    let crls = match &args.crl_dir {
        Some(dir) => read_crls(dir)?,
        None => DEV_CRLS
            .iter()
            .map(|(n, b)| ((*n).to_string(), b.to_vec()))
            .collect(),
    };
    let state = web::Data::new(State { authority, crls });
    let listener = std::net::TcpListener::bind(&args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    // The bound address, so that port 0 is reported as the port actually chosen.
    let listen = listener
        .local_addr()
        .context("cannot read the bound address")?;
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(MAX_REQUEST))
                .route("/{name}.crl", web::get().to(crl))
                .default_service(web::post().to(timestamp))
        })
        .workers(2)
        .listen(listener)
        .with_context(|| format!("cannot listen on {listen}"))?;
        println!("time-stamp authority listening on http://{listen}/");
        server.run().await.context("time-stamp authority stopped")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Refuses a certificate that validators would not accept on a time-stamp token, before the
/// authority hands out a single one.
fn check_tsa_certificate(path: &std::path::Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let certs =
        parse_certificates(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let cert = certs
        .first()
        .with_context(|| format!("{}: no certificate", path.display()))?;
    check_usage(cert, Usage::TimeStamping).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn read_crls(dir: &std::path::Path) -> anyhow::Result<HashMap<String, Vec<u8>>> {
    let mut out = HashMap::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "crl") {
            if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                out.insert(stem.to_string(), std::fs::read(&path)?);
            }
        }
    }
    Ok(out)
}

async fn timestamp(req: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with(QUERY_MEDIA_TYPE) {
        return HttpResponse::UnsupportedMediaType()
            .body(format!("send an RFC 3161 request as {QUERY_MEDIA_TYPE}\n"));
    }
    let state = state.clone();
    // Signing is CPU work: keep it off the I/O threads.
    match web::block(move || state.authority.respond(&body)).await {
        Ok(reply) => HttpResponse::Ok()
            .content_type(REPLY_MEDIA_TYPE)
            .body(reply),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

async fn crl(path: web::Path<String>, state: web::Data<State>) -> HttpResponse {
    match state.crls.get(path.as_str()) {
        Some(der) => HttpResponse::Ok()
            .content_type("application/pkix-crl")
            .body(der.clone()),
        None => HttpResponse::NotFound().finish(),
    }
}
