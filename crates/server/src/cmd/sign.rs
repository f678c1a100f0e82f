//! `vanthu sign`: signs PDFs at a PAdES baseline level, or extends already signed PDFs to
//! B-LT/B-LTA with `--extend`: one file into `--output`, or many into `--out-dir` at once.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use clap::Args;
use vanthu_pades::appearance::{self, Rect, StampLabel};
use vanthu_pades::pdf::Reader;
use vanthu_pades::sign::{self, Level, SignOptions, VisibleSignature};
use vanthu_pades::signer::{DigestAlgorithm, PemSigner, Pkcs12Signer, Signer, SignerOptions};
use vanthu_pades::{ltv, revocation};

use vanthu_remote::csc::{CscClient, CscService, ExplicitApproval};
use vanthu_remote::RemoteSigner;
use zeroize::Zeroizing;

use super::batch;
use crate::token::Pkcs11Args;

/// Options of `vanthu sign`.
#[derive(Debug, Clone, Args)]
pub struct SignArgs {
    /// The PDFs to sign (several need --out-dir)
    #[arg(required = true, value_name = "PDF")]
    pub inputs: Vec<PathBuf>,

    /// Where to write the signed PDF of the one input (written atomically; never a partial
    /// file)
    #[arg(
        short,
        long,
        value_name = "FILE",
        required_unless_present = "out_dir",
        conflicts_with = "out_dir"
    )]
    pub output: Option<PathBuf>,

    /// Write each signed PDF into this existing folder under its input's file name, several
    /// at once; a failing input is reported and the others still complete
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,

    /// Files signed at once with --out-dir [default: two per core]
    #[arg(long, value_name = "N", requires = "out_dir")]
    pub jobs: Option<NonZeroUsize>,

    /// PKCS#12 file holding the key, certificate and chain
    #[arg(long, value_name = "FILE", conflicts_with_all = ["key", "cert"])]
    pub p12: Option<PathBuf>,

    /// Environment variable holding the PKCS#12 password
    #[arg(
        long,
        value_name = "VAR",
        default_value = "VANTHU_P12_PASSWORD",
        requires = "p12"
    )]
    pub p12_password_env: String,

    /// Private key (PEM or DER, unencrypted)
    #[arg(long, value_name = "KEY.pem", requires = "cert")]
    pub key: Option<PathBuf>,

    /// Signing certificate (PEM): with --key, or in place of the token's certificate object
    /// with --pkcs11-module
    #[arg(long, value_name = "CERT.pem")]
    pub cert: Option<PathBuf>,

    /// Issuer certificates (PEM bundle)
    #[arg(long, value_name = "CHAIN.pem")]
    pub chain: Option<PathBuf>,

    #[command(flatten)]
    pub token: Pkcs11Args,

    /// PAdES baseline level: B-B, B-T, B-LT or B-LTA
    #[arg(long, default_value = "B-B", value_parser = parse_level)]
    pub level: Level,

    /// RFC 3161 time-stamp authority URL (needed from B-T up)
    #[arg(long, value_name = "URL")]
    pub tsa: Option<String>,

    /// Signature field: an empty signature field of the document, or the name of a new one
    #[arg(long, value_name = "NAME")]
    pub field: Option<String>,

    /// Certification signature (DocMDP P=2: later form filling and signatures allowed)
    #[arg(long)]
    pub certify: bool,

    /// Visible signature on page PAGE (from 1), W x H points (1/72 inch) with its lower-left
    /// corner at X,Y counted from the lower-left corner of the page's visible area (its
    /// CropBox, else its MediaBox) as the page is shown (turned by its /Rotate), wholly on the
    /// page; shows the --image, or without one the signer's name and the signing time
    #[arg(long, value_name = "PAGE:X,Y,W,H", value_parser = parse_visible)]
    pub visible: Option<(usize, Rect)>,

    /// Signature image (PNG) for a visible signature
    #[arg(long, value_name = "PNG", requires = "visible")]
    pub image: Option<PathBuf>,

    /// No-image stamp at the top right of page 1 for attachments and copies: the number and
    /// notation (e.g. "Số: 12/QĐ-UBND") shown with the signing time
    #[arg(long, value_name = "TEXT", conflicts_with = "visible")]
    pub stamp: Option<String>,

    /// Reason for signing (/Reason)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,

    /// Place of signing (/Location)
    #[arg(long, value_name = "TEXT")]
    pub location: Option<String>,

    /// Use RSASSA-PSS instead of PKCS#1 v1.5 with RSA keys
    #[arg(long)]
    pub pss: bool,

    /// Digest algorithm [default: sha256, or sha384 for P-384 keys]
    #[arg(long, value_enum, value_name = "ALG")]
    pub digest: Option<DigestArg>,

    /// Take revocation data (CRL/OCSP files or folders) from here instead of fetching it
    #[arg(long, value_name = "PATH")]
    pub revocation: Vec<PathBuf>,

    /// Before signing, check that the signer's certificate and its issuers are not revoked
    /// (OCSP, else CRL; from --revocation when given): a revoked one refuses, naming it and
    /// the revocation date
    #[arg(long)]
    pub check_revocation: bool,

    /// With --check-revocation, also refuse when no revocation data is found for a
    /// certificate of the chain
    #[arg(long, requires = "check_revocation")]
    pub revocation_hard_fail: bool,

    /// Do not sign: extend the existing signatures to --level B-LT or B-LTA
    #[arg(long, conflicts_with_all = ["p12", "key", "pkcs11_module", "field", "certify", "visible", "stamp", "check_revocation", "csc_url"])]
    pub extend: bool,

    /// Sign at a remote signing service speaking the CSC API v1.0.4 at this address (the
    /// part before /csc/v1/); the files of one run are approved in batches
    #[arg(long, value_name = "URL", requires = "csc_credential", conflicts_with_all = ["p12", "key", "cert", "pss", "digest"])]
    pub csc_url: Option<String>,

    /// The credential (key) to sign with at the CSC service, from its credentials/list
    #[arg(long, value_name = "ID", requires = "csc_url")]
    pub csc_credential: Option<String>,

    /// Environment variable holding the service's bearer token (none sent when unset)
    #[arg(long, value_name = "VAR", default_value = "VANTHU_CSC_TOKEN")]
    pub csc_token_env: String,

    /// Environment variable holding the signing PIN for credentials/authorize
    #[arg(long, value_name = "VAR", default_value = "VANTHU_CSC_PIN")]
    pub csc_pin_env: String,

    /// Environment variable holding the one-time code for credentials/authorize, read at
    /// each approval
    #[arg(long, value_name = "VAR", default_value = "VANTHU_CSC_OTP")]
    pub csc_otp_env: String,

    /// How long the user has to approve each batch at the CSC service
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = humantime::parse_duration)]
    pub csc_approval_timeout: std::time::Duration,
}

fn parse_level(s: &str) -> Result<Level, String> {
    s.parse::<Level>().map_err(|e| e.to_string())
}

fn parse_visible(s: &str) -> Result<(usize, Rect), String> {
    let err = || format!("expected PAGE:X,Y,W,H (e.g. 1:350,80,180,80), got {s:?}");
    let (page, rest) = s.split_once(':').ok_or_else(err)?;
    let page: usize = page.trim().parse().map_err(|_| err())?;
    let nums: Vec<f32> = rest
        .split(',')
        .map(|v| v.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .map_err(|_| err())?;
    // Page and rectangle are checked against the document itself (`sign::place_on_page`).
    let [x, y, width, height] = nums[..] else {
        return Err(err());
    };
    Ok((
        page,
        Rect {
            x,
            y,
            width,
            height,
        },
    ))
}

/// One input and where its result goes.
struct Job {
    input: PathBuf,
    output: PathBuf,
}

/// Runs `vanthu sign`. With several inputs, each failing one is one line on stderr naming it
/// while the others still complete, and the exit status is then 2; every file written is
/// complete, and on disk (its folder flushed) before the command returns.
pub fn run(args: SignArgs) -> anyhow::Result<ExitCode> {
    let jobs = jobs(&args)?;
    let revocation = if args.revocation.is_empty() {
        revocation::Source::Online
    } else {
        revocation::Source::Offline(args.revocation.clone())
    };
    let threads = batch::threads(args.jobs, jobs.len());
    // One key for the whole run: loading it (and deriving a PKCS#12 key) is paid once.
    let signer = if args.extend {
        None
    } else {
        let signer = load_signer(&args, threads)?;
        if args.check_revocation {
            let chain: Vec<Vec<u8>> = std::iter::once(signer.certificate().to_vec())
                .chain(signer.chain().iter().cloned())
                .collect();
            ltv::refuse_revoked_signer(&chain, &revocation, args.revocation_hard_fail)
                .context("refusing to sign")?;
        }
        Some(signer)
    };
    let mut written = Vec::new();
    let mut failed = false;
    batch::run(
        &jobs,
        threads,
        |job| match &signer {
            Some(signer) => sign_one(&args, signer.as_ref(), &revocation, job)
                .with_context(|| format!("cannot sign {}", job.input.display())),
            None => extend_one(&args, &revocation, job)
                .with_context(|| format!("cannot extend {}", job.input.display())),
        },
        |job, outcome| match outcome {
            Ok(line) => {
                say(format_args!("{line}"));
                written.push(job.output.as_path());
            }
            Err(e) => {
                failed = true;
                eprintln!("vanthu: {e:#}");
            }
        },
    );
    batch::sync_folders(written)?;
    Ok(if failed {
        ExitCode::from(super::FAILURE)
    } else {
        ExitCode::SUCCESS
    })
}

/// Pairs each input with its output, refusing before any work what cannot go well: several
/// inputs for one --output, a missing --out-dir, two inputs that would land on one name.
fn jobs(args: &SignArgs) -> anyhow::Result<Vec<Job>> {
    if let Some(output) = &args.output {
        let [input] = &args.inputs[..] else {
            bail!("--output names one file: sign several inputs with --out-dir DIR");
        };
        return Ok(vec![Job {
            input: input.clone(),
            output: output.clone(),
        }]);
    }
    let dir = args
        .out_dir
        .as_deref()
        .ok_or_else(|| anyhow!("say where to write: --output FILE or --out-dir DIR"))?;
    if !dir.is_dir() {
        bail!("cannot write into {}: no such folder", dir.display());
    }
    let mut taken: BTreeMap<PathBuf, &Path> = BTreeMap::new();
    let mut jobs = Vec::with_capacity(args.inputs.len());
    for input in &args.inputs {
        let name = input
            .file_name()
            .ok_or_else(|| anyhow!("{} does not name a file", input.display()))?;
        let output = dir.join(name);
        if let Some(first) = taken.insert(output.clone(), input) {
            bail!(
                "{} and {} would both be written to {}: sign them in separate runs",
                first.display(),
                input.display(),
                output.display()
            );
        }
        jobs.push(Job {
            input: input.clone(),
            output,
        });
    }
    Ok(jobs)
}

/// Extends one file's signatures; returns the line that reports it.
fn extend_one(
    args: &SignArgs,
    revocation: &revocation::Source,
    job: &Job,
) -> anyhow::Result<String> {
    let len = sign::extend_file(
        &job.input,
        &job.output,
        args.level,
        args.tsa.as_deref(),
        revocation,
    )?;
    Ok(format!(
        "extended {} to {} ({len} bytes)",
        job.output.display(),
        args.level
    ))
}

/// Signs one file; returns the line that reports it.
fn sign_one(
    args: &SignArgs,
    signer: &dyn Signer,
    revocation: &revocation::Source,
    job: &Job,
) -> anyhow::Result<String> {
    let signing_time = chrono::Utc::now().fixed_offset();
    let visible = match &args.visible {
        Some((page, rect)) => {
            let reader = Reader::new(std::fs::File::open(&job.input)?)?;
            let rect = sign::place_on_page(&reader, *page, *rect)?;
            let appearance = match &args.image {
                Some(image) => {
                    let png = std::fs::read(image)
                        .with_context(|| format!("cannot read image {}", image.display()))?;
                    appearance::official(rect, &png, &[])?
                }
                None => sign::text_appearance(signer, rect, signing_time)?,
            };
            Some(VisibleSignature {
                page: *page,
                appearance,
            })
        }
        None => match &args.stamp {
            Some(number) => {
                if number.trim().is_empty() {
                    bail!("--stamp needs the text to show, e.g. --stamp \"Số: 12/QĐ-UBND\"");
                }
                let reader = Reader::new(std::fs::File::open(&job.input)?)?;
                // Top right of the page as shown, then carried into its user space.
                let shown = sign::shown_page(&reader, 1)?;
                let label = StampLabel::Number(number.clone());
                let mut appearance = appearance::stamp(shown, &label, signing_time)?;
                appearance.rect =
                    sign::place_on_page(&reader, 1, appearance.rect).map_err(|_| {
                        anyhow!("the --stamp text is too long to fit at the top right of page 1")
                    })?;
                Some(VisibleSignature {
                    page: 1,
                    appearance,
                })
            }
            None => None,
        },
    };
    let opts = SignOptions {
        level: args.level,
        field_name: args.field.clone(),
        certify: args.certify,
        reason: args.reason.clone(),
        location: args.location.clone(),
        contact: None,
        visible,
        tsa_url: args.tsa.clone(),
        revocation: revocation.clone(),
        signing_time: Some(signing_time),
    };
    let report = sign::sign_file(&job.input, &job.output, signer, &opts)?;
    Ok(format!(
        "signed {} field {} at {} ({} of {} reserved bytes used)",
        job.output.display(),
        report.field_name,
        report.level,
        report.used,
        report.reserved
    ))
}

/// Prints the outcome on stdout. The file is written by then, so a reader that went away
/// (`vanthu sign … | head -0`) is no failure and no panic.
fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Digest algorithms offered on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DigestArg {
    /// SHA-256
    Sha256,
    /// SHA-384
    Sha384,
    /// SHA-512
    Sha512,
}

impl From<DigestArg> for DigestAlgorithm {
    fn from(d: DigestArg) -> Self {
        match d {
            DigestArg::Sha256 => DigestAlgorithm::Sha256,
            DigestArg::Sha384 => DigestAlgorithm::Sha384,
            DigestArg::Sha512 => DigestAlgorithm::Sha512,
        }
    }
}

/// The signer of the run; a remote one approves up to `threads` files at once, as many as
/// are signed side by side.
fn load_signer(args: &SignArgs, threads: usize) -> anyhow::Result<Box<dyn Signer>> {
    if let (Some(url), Some(credential)) = (&args.csc_url, &args.csc_credential) {
        return remote_signer(args, url, credential, threads);
    }
    let options = SignerOptions {
        digest: args.digest.map(DigestAlgorithm::from),
        pss: args.pss,
    };
    if let Some(signer) = args
        .token
        .signer(args.cert.as_deref(), args.chain.as_deref(), options)?
    {
        return Ok(Box::new(signer));
    }
    match (&args.p12, &args.key, &args.cert) {
        (Some(p12), None, None) => {
            // An unset variable means an empty password, which some PKCS#12 files have; if
            // that fails, say the variable was unset rather than only "wrong password".
            let var = &args.p12_password_env;
            let (password, unset) = match std::env::var(var) {
                Ok(p) => (p, false),
                Err(_) => (String::new(), true),
            };
            match Pkcs12Signer::from_file(p12, &password, options) {
                Ok(signer) => Ok(Box::new(signer)),
                Err(e) if unset => Err(anyhow!(
                    "{e} (the password is read from the environment variable {var}, which is not set)"
                )),
                Err(e) => Err(e.into()),
            }
        }
        (None, Some(key), Some(cert)) => Ok(Box::new(PemSigner::from_files(
            key,
            cert,
            args.chain.as_deref(),
            options,
        )?)),
        (None, None, None) => bail!(
            "a key is needed: --p12 FILE, --key KEY.pem --cert CERT.pem, --pkcs11-module \
             PATH --token-label LABEL --key-label LABEL, or --csc-url URL --csc-credential ID"
        ),
        (None, None, Some(_)) => bail!("--cert needs --key KEY.pem or --pkcs11-module PATH"),
        _ => Err(anyhow!("use either --p12 or --key with --cert, not both")),
    }
}

/// A signer at a CSC service, approved with the PIN and the one-time code from the
/// environment variables named.
fn remote_signer(
    args: &SignArgs,
    url: &str,
    credential: &str,
    threads: usize,
) -> anyhow::Result<Box<dyn Signer>> {
    let secret = |var: &str| std::env::var(var).ok().map(Zeroizing::new);
    let client = Arc::new(CscClient::new(url, secret(&args.csc_token_env))?);
    let otp_var = args.csc_otp_env.clone();
    let approval = ExplicitApproval::new(
        Arc::clone(&client),
        secret(&args.csc_pin_env),
        Box::new(move || std::env::var(&otp_var).ok().map(Zeroizing::new)),
    );
    let service = CscService::connect(client, credential, Box::new(approval))
        .with_context(|| format!("cannot use the credential {credential} at {url}"))?;
    let description = match &args.inputs[..] {
        [one] => format!("vanthu sign {}", one.display()),
        many => format!("vanthu sign: {} files", many.len()),
    };
    Ok(Box::new(
        RemoteSigner::new(service, threads, &description)
            .with_approval_timeout(args.csc_approval_timeout),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_spec_parses() {
        let (page, r) = parse_visible("2:10,20.5,100,50").unwrap();
        assert_eq!(page, 2);
        assert_eq!(
            r,
            Rect {
                x: 10.0,
                y: 20.5,
                width: 100.0,
                height: 50.0
            }
        );
        assert!(parse_visible("x:1,2,3,4").is_err());
        assert!(parse_visible("-1:1,2,3,4").is_err());
        assert!(parse_visible("1:1,2,3").is_err());
        assert!(parse_visible("1:1,2,z,4").is_err());
    }
}
