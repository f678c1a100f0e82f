//! The `vanthu` command: parses the command line and hands over to one module per subcommand
//! in [`cmd`].

mod audit_key;
mod cmd;
mod configuration;
mod demo;
mod devpki;
mod kek;
mod outbox;
mod telemetry;
mod token;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};

/// vanthu: electronic document management and digital signing for Vietnamese public
/// administration.
///
/// Settings come from command-line flags, then VANTHU_* environment variables, then
/// vanthu.toml (in the current directory, or --config FILE), then built-in defaults.
#[derive(Debug, Parser)]
#[command(
    name = "vanthu",
    version,
    propagate_version = true,
    after_long_help = SETTINGS_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The server's settings at a glance; `vanthu serve --help` explains each.
const SETTINGS_HELP: &str = "\
Settings of `vanthu serve` (flag / environment / vanthu.toml key, default):
  --config FILE          VANTHU_CONFIG                       ./vanthu.toml if present
  --data DIR             VANTHU_DATA          data           ./data
  --database-url URL     DATABASE_URL         database_url   sqlite://DIR/vanthu.db
  --listen ADDR          VANTHU_LISTEN        listen         127.0.0.1:8080
  --log-format FORMAT    VANTHU_LOG_FORMAT    log_format     text (or json)
  --token-ttl DURATION   VANTHU_TOKEN_TTL     token_ttl      8h
  --max-body BYTES       VANTHU_MAX_BODY      max_body       65536
  --max-upload BYTES     VANTHU_MAX_UPLOAD    max_upload     104857600
  --demo                 VANTHU_DEMO          demo           off: seed the demo organisation
  --dev                  VANTHU_DEV           dev            off: allow development keys
  --trust PEM            VANTHU_TRUST         trust          none (+ dev root with --dev/--demo)
  --check-signer-revocation  VANTHU_CHECK_SIGNER_REVOCATION  check_signer_revocation  off:
                         revocation of the server's own signing certificates before signing;
                         --signer-revocation-hard-fail, --signer-revocation PATH (files, else fetched)
  --trust-list NAME=DIR  VANTHU_TRUST_LIST    [trust_lists] NAME = 'DIR'   none: named trust
                         lists (public, government); reports name the one a chain ended in
  --kek-file FILE        VANTHU_KEK_FILE      kek_file       required unless --demo/--dev
                         VANTHU_KEK (base64 key itself, environment only)
  --signing-session-ttl DURATION
                         VANTHU_SIGNING_SESSION_TTL  signing_session_ttl  5m
  --signing-session-signatures COUNT
                         VANTHU_SIGNING_SESSION_SIGNATURES  signing_session_signatures  50
  --csc-authorization-ttl DURATION
                         VANTHU_CSC_AUTHORIZATION_TTL  csc_authorization_ttl  5m
  --prepared-signature-ttl DURATION
                         VANTHU_PREPARED_SIGNATURE_TTL  prepared_signature_ttl  10m
  --seal-pkcs11-module PATH  VANTHU_SEAL_PKCS11_MODULE  seal_pkcs11_module  none: seal keys
                         in a PKCS#11 token, a unit's key labelled with its code
  --seal-token-label LABEL   VANTHU_SEAL_TOKEN_LABEL    seal_token_label
  --seal-pin-env VAR         VANTHU_SEAL_PIN_ENV        seal_pin_env  VANTHU_SEAL_PIN
  --personal-pkcs11-module PATH  VANTHU_PERSONAL_PKCS11_MODULE  personal_pkcs11_module
                         none: leaders' own tokens, each labelled with its owner's username
  --agencies FILE            VANTHU_AGENCIES            agencies      none: the agencies
                         elsewhere packages are exchanged with ([[agency]] tables)
  --interchange-inbox DIR    VANTHU_INTERCHANGE_INBOX   interchange_inbox  none: the folder
                         the LGSP connector leaves received packages in
  --interchange-retry DURATION  VANTHU_INTERCHANGE_RETRY  interchange_retry  5s, doubled
                         after each failed delivery, at most 1h
  --interchange-lease DURATION  VANTHU_INTERCHANGE_LEASE  interchange_lease  5m: how long
                         an instance holds an outbox package before another may send it
`vanthu check` takes --config, --data and --database-url too. Log levels: RUST_LOG.";

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (SQLite in ./data and 127.0.0.1:8080 unless configured)
    Serve(Box<configuration::ServeArgs>),
    /// Check that the database and the blob store agree; exit status 1 if they do not
    Check(cmd::check::CheckArgs),
    /// Sign PDFs (PAdES B-B, B-T, B-LT or B-LTA), or extend their signatures with --extend
    Sign(Box<cmd::sign::SignArgs>),
    /// Verify every signature in PDFs; exit 0 when all are valid, 1 otherwise, 2 when one is
    /// unreadable
    Verify(cmd::verify::VerifyArgs),
    /// Run an RFC 3161 time-stamp authority (development certificate unless --cert/--key)
    Tsa(cmd::tsa::TsaArgs),
    /// Measure signing and verification speed beside OpenSSL's raw limits and pyHanko
    Bench(cmd::bench::BenchArgs),
    /// Install an organisation's seal key from a PKCS#12 file, sealed under the
    /// key-encryption key
    SealKey(cmd::seal_key::SealKeyArgs),
    /// Verify or export the tamper-evident audit log, or issue a signed checkpoint now
    Audit(cmd::audit::AuditArgs),
    /// The auditors' ratio report of a unit and its subtree; check or recount its counters
    Report(cmd::report::ReportArgs),
    /// The certificate inventory: owners, validity, where the keys are kept, expiry warnings
    Certs(cmd::certs::CertsArgs),
    /// Interchange packages (edXML, QCVN 102:2016): check a package, import one as an incoming
    /// document
    Edxml(cmd::edxml::EdxmlArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let result = match cli.command {
        Command::Serve(args) => cmd::serve::run(*args),
        Command::Check(args) => cmd::check::run(args),
        Command::Sign(args) => cmd::sign::run(*args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Tsa(args) => cmd::tsa::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::SealKey(args) => cmd::seal_key::run(args),
        Command::Audit(args) => cmd::audit::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Certs(args) => cmd::certs::run(args),
        Command::Edxml(args) => cmd::edxml::run(args),
    };
    cmd::exit(result)
}

/// Help and version go to stdout as clap prints them; a mistake on the command line is one
/// line on stderr, as every other failure of `vanthu` is, with exit status 2.
fn usage_error(e: clap::Error) -> ExitCode {
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        // Nothing useful is left to do if stdout is gone.
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = e.print();
        return ExitCode::from(2);
    }
    // clap spreads one error over several lines ("required arguments were not provided:"
    // then the arguments, a tip, the usage); keep the error's own lines, joined.
    let rendered = e.render().to_string();
    let message = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .filter(|line| !line.is_empty() && !line.starts_with("tip:"))
        .collect::<Vec<_>>()
        .join(" ");
    let message = message.trim_start_matches("error: ");
    eprintln!("vanthu: {message} (see vanthu --help)");
    ExitCode::from(2)
}
