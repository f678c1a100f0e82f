//! Server settings: command-line flags override `VANTHU_*` environment variables, which
//! override `vanthu.toml`, which overrides the built-in defaults.
//!
//! clap resolves flags and environment variables together (every option declares its `env`),
//! so what is left here is to fill the remaining gaps from the file and the defaults, and to
//! check the combined result once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use vanthu_api::interchange::Agencies;
use vanthu_api::SigningSettings;

/// Name of the configuration file looked up in the current directory.
pub const DEFAULT_CONFIG_FILE: &str = "vanthu.toml";

/// The first wait before a failed interchange delivery is tried again.
const DEFAULT_INTERCHANGE_RETRY: Duration = Duration::from_secs(5);
/// How long an instance's claim on an outbox package lasts: well beyond the HTTPS
/// transport's longest delivery (10 s to connect, 120 s in all).
const DEFAULT_INTERCHANGE_LEASE: Duration = Duration::from_secs(300);
/// Where everything is stored when nothing says otherwise.
pub const DEFAULT_DATA_DIR: &str = "./data";
/// Loopback only by default: exposing the server is a deliberate choice.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// A working day: officials log in once in the morning.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(8 * 3600);
/// JSON request bodies are small forms; 64 KiB leaves room for long Vietnamese names.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;
/// Scanned documents at 200 dpi in colour reach tens of megabytes.
pub const DEFAULT_MAX_UPLOAD: u64 = 100 * 1024 * 1024;
/// Names the audit log when nothing says otherwise; a deployment names it after its domain.
pub const DEFAULT_AUDIT_ORIGIN: &str = "vanthu.local/audit";
/// A minute: witnesses and auditors see a new tree head soon after an action.
pub const DEFAULT_AUDIT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(60);
/// A hash takes tens of milliseconds, so a few seconds' queue absorbs a morning's burst of
/// sign-ins while a flood is still refused quickly.
pub const DEFAULT_HASH_WAIT: Duration = Duration::from_secs(5);

/// Options shared by every command that opens the data directory and the database.
#[derive(Debug, Clone, clap::Args)]
pub struct StorageArgs {
    /// Configuration file (TOML). Without it, `vanthu.toml` in the current directory is read
    /// when it exists.
    #[arg(long, env = "VANTHU_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Data directory holding the SQLite database, the blob store and, under --demo or --dev
    /// only, the demonstration key-encryption key [default: ./data]
    #[arg(long, env = "VANTHU_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// Database URL: `postgres://user@host:port/db` for PostgreSQL, or `sqlite://FILE`
    /// [default: the SQLite file vanthu.db in the data directory]
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Name of the audit log (the checkpoints' origin line and the signing key's name), used
    /// when the audit key is first created [default: vanthu.local/audit]
    #[arg(long, env = "VANTHU_AUDIT_ORIGIN", value_name = "NAME")]
    pub audit_origin: Option<String>,
}

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Options of `vanthu serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub storage: StorageArgs,

    /// Address and port to listen on; port 0 picks a free port [default: 127.0.0.1:8080]
    #[arg(long, env = "VANTHU_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,

    /// Log format [default: text]
    #[arg(long, env = "VANTHU_LOG_FORMAT", value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,

    /// How long a login token stays valid: seconds, or a duration such as `15m` or `8h`
    /// [default: 8h]
    #[arg(long, env = "VANTHU_TOKEN_TTL", value_name = "DURATION", value_parser = parse_duration)]
    pub token_ttl: Option<Duration>,

    /// Largest JSON request body in bytes [default: 65536]
    #[arg(long, env = "VANTHU_MAX_BODY", value_name = "BYTES")]
    pub max_body: Option<usize>,

    /// Largest uploaded file in bytes [default: 104857600]
    #[arg(long, env = "VANTHU_MAX_UPLOAD", value_name = "BYTES")]
    pub max_upload: Option<u64>,

    /// Password hashes computed at once; each holds 19 MiB and a core, and further sign-ins
    /// wait for a slot [default: the number of CPUs]
    #[arg(long, env = "VANTHU_HASH_CONCURRENCY", value_name = "N")]
    pub hash_concurrency: Option<usize>,

    /// How long a sign-in waits for a hashing slot before it is answered 503 with
    /// Retry-After: seconds, or a duration such as `500ms` [default: 5s]
    #[arg(long, env = "VANTHU_HASH_WAIT", value_name = "DURATION", value_parser = parse_duration)]
    pub hash_wait: Option<Duration>,

    /// Seed the demo organisation (idempotent) and allow the development PKI
    #[arg(long, env = "VANTHU_DEMO")]
    pub demo: bool,

    /// Allow development keys and certificates (certs-dev/) without seeding the demo
    #[arg(long, env = "VANTHU_DEV")]
    pub dev: bool,

    /// Trust anchors for verifying signatures on received documents: a PEM bundle or a
    /// folder of certificates; repeatable, or comma-separated in VANTHU_TRUST. Replaces the
    /// `trust` list of vanthu.toml. --dev and --demo add the development root
    #[arg(long, env = "VANTHU_TRUST", value_name = "PEM", value_delimiter = ',')]
    pub trust: Vec<PathBuf>,

    /// A named trust list (trust domain): NAME=DIR, a folder of PEM certificates, e.g.
    /// `public=/etc/vanthu/trust/neac` for the National Root CA and
    /// `government=/etc/vanthu/trust/bcy` for the Government CA; reports name the list a
    /// signer's chain ended in. Repeatable, or comma-separated in VANTHU_TRUST_LIST. Replaces
    /// the `[trust_lists]` table of vanthu.toml
    #[arg(long, env = "VANTHU_TRUST_LIST", value_name = "NAME=DIR", value_delimiter = ',', value_parser = parse_trust_list)]
    pub trust_list: Vec<TrustList>,

    #[command(flatten)]
    pub keys: KekArgs,

    /// Check the signer's own certificate for revocation before every signature the server
    /// makes (seals, leaders' keys, the CSC service): OCSP where it names a responder, else
    /// its CRLs; a revoked certificate refuses, saying since when [default: off]
    #[arg(long, env = "VANTHU_CHECK_SIGNER_REVOCATION")]
    pub check_signer_revocation: bool,

    /// With --check-signer-revocation: refuse also when no CRL or OCSP response is found
    #[arg(long, env = "VANTHU_SIGNER_REVOCATION_HARD_FAIL")]
    pub signer_revocation_hard_fail: bool,

    /// With --check-signer-revocation: read CRLs and OCSP responses from these files or
    /// folders instead of fetching them (repeatable, or comma-separated)
    #[arg(
        long,
        env = "VANTHU_SIGNER_REVOCATION",
        value_name = "PATH",
        value_delimiter = ','
    )]
    pub signer_revocation: Vec<PathBuf>,

    /// How long a signing session opened with the PIN lasts: seconds, or e.g. `5m`
    /// [default: 5m]
    #[arg(long, env = "VANTHU_SIGNING_SESSION_TTL", value_name = "DURATION", value_parser = parse_duration)]
    pub signing_session_ttl: Option<Duration>,

    /// How many signatures one signing session allows, and how many hashes one CSC
    /// authorization may name [default: 50]
    #[arg(long, env = "VANTHU_SIGNING_SESSION_SIGNATURES", value_name = "COUNT")]
    pub signing_session_signatures: Option<u32>,

    /// How long the signature activation data of the CSC service (`/csc/v1/`) lasts after
    /// the PIN and the authenticator code approved it: seconds, or e.g. `2m` [default: 5m]
    #[arg(long, env = "VANTHU_CSC_AUTHORIZATION_TTL", value_name = "DURATION", value_parser = parse_duration)]
    pub csc_authorization_ttl: Option<Duration>,
    /// How long a signature prepared for a signer's token (`sign/prepare`) may be completed:
    /// seconds, or e.g. `10m` [default: 10m]
    #[arg(long, env = "VANTHU_PREPARED_SIGNATURE_TTL", value_name = "DURATION", value_parser = parse_duration)]
    pub prepared_signature_ttl: Option<Duration>,

    /// How often a signed checkpoint of the audit log is issued when the log grew: seconds,
    /// or a duration such as `30s` or `5m` [default: 60s]
    #[arg(long, env = "VANTHU_AUDIT_CHECKPOINT_INTERVAL", value_name = "DURATION", value_parser = parse_duration)]
    pub audit_checkpoint_interval: Option<Duration>,

    /// The agencies elsewhere packages are exchanged with: a TOML file of `[[agency]]`
    /// tables (name, code, url or folder, secret); see docs/interchange.md
    #[arg(long, env = "VANTHU_AGENCIES", value_name = "FILE")]
    pub agencies: Option<PathBuf>,

    /// A folder the provincial axis connector (LGSP) leaves received packages in (the
    /// folder pair): the server receives each *.edxml from a configured agency as the inbox
    /// does, then moves it to done/, or, refused, to refused/ beside a .reason file
    #[arg(long, env = "VANTHU_INTERCHANGE_INBOX", value_name = "DIR")]
    pub interchange_inbox: Option<PathBuf>,

    /// The first wait before a failed interchange delivery is tried again; each further
    /// failure doubles it, up to an hour: seconds, or e.g. `500ms` [default: 5s]
    #[arg(long, env = "VANTHU_INTERCHANGE_RETRY", value_name = "DURATION", value_parser = parse_duration)]
    pub interchange_retry: Option<Duration>,

    /// How long a server instance's claim on an outbox package lasts before another
    /// instance on the same database may deliver it; longer than a delivery takes
    /// [default: 5m]
    #[arg(long, env = "VANTHU_INTERCHANGE_LEASE", value_name = "DURATION", value_parser = parse_duration)]
    pub interchange_lease: Option<Duration>,

    /// PKCS#11 module of a token or HSM holding organisations' seal keys: a unit's key is the
    /// one labelled with the unit's code, its certificate the certificate object of that
    /// label; units without one seal with their stored key
    #[arg(long, env = "VANTHU_SEAL_PKCS11_MODULE", value_name = "PATH")]
    pub seal_pkcs11_module: Option<PathBuf>,

    /// Label of the token holding the seal keys
    #[arg(long, env = "VANTHU_SEAL_TOKEN_LABEL", value_name = "LABEL")]
    pub seal_token_label: Option<String>,

    /// Environment variable holding the seal token's user PIN [default: VANTHU_SEAL_PIN]
    #[arg(long, env = "VANTHU_SEAL_PIN_ENV", value_name = "VAR")]
    pub seal_pin_env: Option<String>,

    /// PKCS#11 module of leaders' own tokens: a leader whose username labels a token in it
    /// signs with the key and certificate labelled the same on that token, its user PIN
    /// being their signing PIN, given for each signature and never kept
    #[arg(long, env = "VANTHU_PERSONAL_PKCS11_MODULE", value_name = "PATH")]
    pub personal_pkcs11_module: Option<PathBuf>,

    #[command(flatten)]
    pub audit_token: AuditTokenArgs,
}

/// Where the audit log's Ed25519 key is held when it is in a PKCS#11 token rather than
/// sealed in the data directory; `serve` and `audit checkpoint` take the same options.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AuditTokenArgs {
    /// PKCS#11 module of a token or HSM holding the audit log's Ed25519 key (CKM_EDDSA);
    /// checkpoints are then signed in the token instead of with the key sealed in the data
    /// directory
    #[arg(long, env = "VANTHU_AUDIT_PKCS11_MODULE", value_name = "PATH")]
    pub audit_pkcs11_module: Option<PathBuf>,

    /// Label of the token holding the audit key
    #[arg(long, env = "VANTHU_AUDIT_TOKEN_LABEL", value_name = "LABEL")]
    pub audit_token_label: Option<String>,

    /// Label of the audit key (its private and public key objects) on that token
    #[arg(long, env = "VANTHU_AUDIT_KEY_LABEL", value_name = "LABEL")]
    pub audit_key_label: Option<String>,

    /// Environment variable holding the audit token's user PIN [default: VANTHU_AUDIT_PIN]
    #[arg(long, env = "VANTHU_AUDIT_PIN_ENV", value_name = "VAR")]
    pub audit_pin_env: Option<String>,
}

/// Where the audit key's token is, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditTokenSettings {
    /// The PKCS#11 module.
    pub module: PathBuf,
    /// The token's label.
    pub label: String,
    /// The key's label.
    pub key_label: String,
    /// The environment variable holding the user PIN.
    pub pin_env: String,
}

/// Where the audit token's PIN is read from when nothing says otherwise.
pub const DEFAULT_AUDIT_PIN_ENV: &str = "VANTHU_AUDIT_PIN";

impl AuditTokenArgs {
    /// The token configured by flags, environment or file; the module, token and key are
    /// named together or not at all.
    fn resolve_with(&self, file: &FileSettings) -> Result<Option<AuditTokenSettings>, ConfigError> {
        let module = self
            .audit_pkcs11_module
            .clone()
            .or(file.audit_pkcs11_module.clone());
        let label = self
            .audit_token_label
            .clone()
            .or(file.audit_token_label.clone());
        let key_label = self
            .audit_key_label
            .clone()
            .or(file.audit_key_label.clone());
        match (module, label, key_label) {
            (None, None, None) => Ok(None),
            (Some(module), Some(label), Some(key_label)) => Ok(Some(AuditTokenSettings {
                module,
                label,
                key_label,
                pin_env: self
                    .audit_pin_env
                    .clone()
                    .or(file.audit_pin_env.clone())
                    .unwrap_or_else(|| DEFAULT_AUDIT_PIN_ENV.to_owned()),
            })),
            (module, label, _) => Err(ConfigError::Invalid {
                key: if module.is_none() {
                    "audit_pkcs11_module"
                } else if label.is_none() {
                    "audit_token_label"
                } else {
                    "audit_key_label"
                },
                message: "an audit key in a token needs all three of audit_pkcs11_module, \
                          audit_token_label and audit_key_label"
                    .into(),
            }),
        }
    }
}

/// Where the seal token is, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealTokenSettings {
    /// The PKCS#11 module.
    pub module: PathBuf,
    /// The token's label.
    pub label: String,
    /// The environment variable holding the user PIN.
    pub pin_env: String,
}

/// Where the seal token's PIN is read from when nothing says otherwise.
pub const DEFAULT_SEAL_PIN_ENV: &str = "VANTHU_SEAL_PIN";

/// Where the key-encryption key comes from, for every command that opens organisation keys.
#[derive(Debug, Clone, clap::Args)]
pub struct KekArgs {
    /// File holding the key-encryption key (44 characters of base64, mode 0600, outside the
    /// data directory) that seals organisation keys; make one with `openssl rand -base64 32`.
    /// Or give the key itself in the environment variable VANTHU_KEK. Required unless --demo
    /// or --dev, which keep a demonstration key in the data directory
    #[arg(long, env = "VANTHU_KEK_FILE", value_name = "FILE")]
    pub kek_file: Option<PathBuf>,

    /// The key-encryption key as base64, from the environment only: a command line is
    /// visible to every user of the machine.
    #[arg(skip = std::env::var("VANTHU_KEK").ok())]
    pub kek: Option<String>,
}

impl KekArgs {
    /// The source configured by flag, environment or file (`kek_file`); at most one.
    fn resolve_with(&self, file: &FileSettings) -> Result<Option<KekSource>, ConfigError> {
        match (
            self.kek_file.clone().or_else(|| file.kek_file.clone()),
            &self.kek,
        ) {
            (Some(_), Some(_)) => Err(ConfigError::Invalid {
                key: "kek_file",
                message: "set either kek_file (--kek-file, VANTHU_KEK_FILE) or VANTHU_KEK, \
                          not both"
                    .into(),
            }),
            (Some(path), None) => Ok(Some(KekSource::File(path))),
            (None, Some(text)) => Ok(Some(KekSource::Environment(text.clone()))),
            (None, None) => Ok(None),
        }
    }
}

/// Where the key-encryption key comes from. `Debug` never shows the key.
#[derive(Clone)]
pub enum KekSource {
    /// A file named in the configuration.
    File(PathBuf),
    /// The base64 text of `VANTHU_KEK`.
    Environment(String),
}

impl std::fmt::Debug for KekSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KekSource::File(path) => f.debug_tuple("File").field(path).finish(),
            KekSource::Environment(_) => f.write_str("Environment(<redacted>)"),
        }
    }
}

/// The contents of `vanthu.toml`; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    data: Option<PathBuf>,
    database_url: Option<String>,
    log_format: Option<LogFormat>,
    token_ttl: Option<DurationSetting>,
    max_body: Option<usize>,
    max_upload: Option<u64>,
    hash_concurrency: Option<usize>,
    hash_wait: Option<DurationSetting>,
    demo: Option<bool>,
    dev: Option<bool>,
    trust: Option<Vec<PathBuf>>,
    trust_lists: Option<std::collections::BTreeMap<String, PathBuf>>,
    check_signer_revocation: Option<bool>,
    signer_revocation_hard_fail: Option<bool>,
    signer_revocation: Option<Vec<PathBuf>>,
    kek_file: Option<PathBuf>,
    signing_session_ttl: Option<DurationSetting>,
    signing_session_signatures: Option<u32>,
    csc_authorization_ttl: Option<DurationSetting>,
    prepared_signature_ttl: Option<DurationSetting>,
    audit_origin: Option<String>,
    audit_checkpoint_interval: Option<DurationSetting>,
    seal_pkcs11_module: Option<PathBuf>,
    agencies: Option<PathBuf>,
    interchange_inbox: Option<PathBuf>,
    interchange_retry: Option<DurationSetting>,
    interchange_lease: Option<DurationSetting>,
    seal_token_label: Option<String>,
    seal_pin_env: Option<String>,
    personal_pkcs11_module: Option<PathBuf>,
    audit_pkcs11_module: Option<PathBuf>,
    audit_token_label: Option<String>,
    audit_key_label: Option<String>,
    audit_pin_env: Option<String>,
}

/// `token_ttl = 900` and `token_ttl = "15m"` both read naturally in TOML.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DurationSetting {
    Seconds(u64),
    Text(String),
}

/// Where data lives, resolved.
#[derive(Debug, Clone)]
pub struct StorageSettings {
    /// Data directory (created on start).
    pub data_dir: PathBuf,
    /// Database URL, always explicit after resolution.
    pub database_url: String,
    /// Name of the audit log, for a key created now.
    pub audit_origin: String,
}

impl StorageSettings {
    /// Folder of the content-addressed blob store.
    pub fn blob_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }

    /// The SQLite file the database URL points at, if it names one (the same forms the
    /// store accepts: `sqlite://PATH`, `sqlite:PATH` or a bare path).
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        let url = self.database_url.trim();
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .or_else(|| (!url.contains("://")).then_some(url))?;
        Some(PathBuf::from(path))
    }
}

/// Everything `vanthu serve` needs, resolved and checked.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// Data directory and database.
    pub storage: StorageSettings,
    /// Address to bind, e.g. `127.0.0.1:8080`.
    pub listen: String,
    /// Log line format.
    pub log_format: LogFormat,
    /// Lifetime of a login token.
    pub token_ttl: Duration,
    /// Largest JSON request body in bytes.
    pub max_body: usize,
    /// Largest uploaded file in bytes.
    pub max_upload: u64,
    /// Password hashes computed at once.
    pub hash_concurrency: usize,
    /// How long a sign-in waits for a hashing slot.
    pub hash_wait: Duration,
    /// Seed the demo organisation (implies development keys are allowed).
    pub demo: bool,
    /// Allow development keys without seeding.
    pub dev: bool,
    /// PEM bundles or folders of trust anchors for verifying received documents (without
    /// the development root, which `demo` or `dev` add).
    pub trust: Vec<PathBuf>,
    /// Named trust lists, each a folder of anchors.
    pub trust_lists: Vec<TrustList>,
    /// The revocation check of the server's own signing certificates, when enabled.
    pub signer_revocation: Option<vanthu_api::SignerRevocation>,
    /// Where the key-encryption key comes from; `None` is allowed only with `demo` or `dev`.
    pub kek: Option<KekSource>,
    /// How long a signing session lasts.
    pub signing_session_ttl: Duration,
    /// How many signatures one signing session allows.
    pub signing_session_signatures: u32,
    /// How long a CSC authorization (SAD) lasts.
    pub csc_authorization_ttl: Duration,
    /// How long a prepared external signature may be completed.
    pub prepared_signature_ttl: Duration,
    /// How often a checkpoint is issued when the audit log grew.
    pub audit_checkpoint_interval: Duration,
    /// The token holding seal keys, if any.
    pub seal_token: Option<SealTokenSettings>,
    /// The token holding the audit key, if it is not sealed in the data directory.
    pub audit_token: Option<AuditTokenSettings>,
    /// The PKCS#11 module of leaders' own tokens, if any.
    pub personal_pkcs11_module: Option<PathBuf>,
    /// The agencies packages are exchanged with (none without an agencies file).
    pub agencies: Agencies,
    /// The folder of packages the connector received, if any.
    pub interchange_inbox: Option<PathBuf>,
    /// The first wait before a failed delivery is tried again.
    pub interchange_retry: Duration,
    /// How long an instance's claim on an outbox package lasts.
    pub interchange_lease: Duration,
}

/// The agencies file: `[[agency]]` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgenciesFile {
    #[serde(default)]
    agency: Vec<vanthu_api::interchange::Agency>,
}

/// Reads the agencies file.
pub(crate) fn load_agencies(path: &Path) -> Result<Agencies, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let file: AgenciesFile = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
        key: "agencies",
        message: format!("{}: {e}", path.display()),
    })?;
    Agencies::new(file.agency).map_err(|message| ConfigError::Invalid {
        key: "agencies",
        message: format!("{}: {message}", path.display()),
    })
}

/// A configuration that cannot be used, with the setting to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read (a file named with --config must exist).
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown keys or wrong types.
    #[error("configuration file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    /// A setting has a value that cannot work.
    #[error("invalid setting {key}: {message}")]
    Invalid { key: &'static str, message: String },
}

impl StorageArgs {
    /// Reads the configuration file and resolves the storage settings.
    pub fn resolve(&self) -> Result<StorageSettings, ConfigError> {
        let file = self.load_file()?;
        self.resolve_with(&file)
    }

    /// Reads the configuration file and resolves the storage settings and the source of
    /// the key-encryption key.
    pub fn resolve_with_kek(
        &self,
        keys: &KekArgs,
    ) -> Result<(StorageSettings, Option<KekSource>), ConfigError> {
        let file = self.load_file()?;
        Ok((self.resolve_with(&file)?, keys.resolve_with(&file)?))
    }

    /// As [`StorageArgs::resolve_with_kek`], with the audit key's token if one is configured.
    pub fn resolve_with_audit_key(
        &self,
        keys: &KekArgs,
        audit: &AuditTokenArgs,
    ) -> Result<
        (
            StorageSettings,
            Option<KekSource>,
            Option<AuditTokenSettings>,
        ),
        ConfigError,
    > {
        let file = self.load_file()?;
        Ok((
            self.resolve_with(&file)?,
            keys.resolve_with(&file)?,
            audit.resolve_with(&file)?,
        ))
    }

    fn resolve_with(&self, file: &FileSettings) -> Result<StorageSettings, ConfigError> {
        let data_dir = self
            .data
            .clone()
            .or_else(|| file.data.clone())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database_url = match self
            .database_url
            .clone()
            .or_else(|| file.database_url.clone())
        {
            Some(url) if url.trim().is_empty() => {
                return Err(ConfigError::Invalid {
                    key: "database_url",
                    message: "is empty; leave it unset for the built-in SQLite database".into(),
                })
            }
            Some(url) => url,
            None => sqlite_url(&data_dir.join("vanthu.db")),
        };
        let audit_origin = self
            .audit_origin
            .clone()
            .or_else(|| file.audit_origin.clone())
            .unwrap_or_else(|| DEFAULT_AUDIT_ORIGIN.to_owned());
        if audit_origin.is_empty()
            || audit_origin.contains('+')
            || audit_origin.chars().any(char::is_whitespace)
        {
            return Err(ConfigError::Invalid {
                key: "audit_origin",
                message: format!(
                    "'{audit_origin}' cannot name a key: use a name without spaces or '+', \
                     such as vanban.example.gov.vn/audit"
                ),
            });
        }
        Ok(StorageSettings {
            data_dir,
            database_url,
            audit_origin,
        })
    }

    fn load_file(&self) -> Result<FileSettings, ConfigError> {
        let (path, required) = match &self.config {
            Some(path) => (path.clone(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path,
                message: e.message().to_owned(),
            }),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                Ok(FileSettings::default())
            }
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }
}

impl ServeArgs {
    /// Combines flags and environment (already merged by clap), the file and the defaults.
    pub fn resolve(&self) -> Result<ServeSettings, ConfigError> {
        let file = self.storage.load_file()?;
        let storage = self.storage.resolve_with(&file)?;
        let token_ttl = duration_setting(
            "token_ttl",
            self.token_ttl,
            &file.token_ttl,
            DEFAULT_TOKEN_TTL,
        )?;
        let signing_session_ttl = duration_setting(
            "signing_session_ttl",
            self.signing_session_ttl,
            &file.signing_session_ttl,
            SigningSettings::DEFAULT_SESSION_TTL,
        )?;
        let csc_authorization_ttl = duration_setting(
            "csc_authorization_ttl",
            self.csc_authorization_ttl,
            &file.csc_authorization_ttl,
            SigningSettings::DEFAULT_CSC_AUTHORIZATION_TTL,
        )?;
        let prepared_signature_ttl = duration_setting(
            "prepared_signature_ttl",
            self.prepared_signature_ttl,
            &file.prepared_signature_ttl,
            SigningSettings::DEFAULT_PREPARED_TTL,
        )?;
        let signing_session_signatures = self
            .signing_session_signatures
            .or(file.signing_session_signatures)
            .unwrap_or(SigningSettings::DEFAULT_SESSION_SIGNATURES);
        if signing_session_signatures == 0 {
            return Err(ConfigError::Invalid {
                key: "signing_session_signatures",
                message: "must be at least 1".into(),
            });
        }
        let kek = self.keys.resolve_with(&file)?;
        let audit_checkpoint_interval = duration_setting(
            "audit_checkpoint_interval",
            self.audit_checkpoint_interval,
            &file.audit_checkpoint_interval,
            DEFAULT_AUDIT_CHECKPOINT_INTERVAL,
        )?;
        let max_body = self.max_body.or(file.max_body).unwrap_or(DEFAULT_MAX_BODY);
        let max_upload = self
            .max_upload
            .or(file.max_upload)
            .unwrap_or(DEFAULT_MAX_UPLOAD);
        if max_body == 0 || max_upload == 0 {
            return Err(ConfigError::Invalid {
                key: if max_body == 0 {
                    "max_body"
                } else {
                    "max_upload"
                },
                message: "must be at least 1 byte".into(),
            });
        }
        let hash_concurrency = match self.hash_concurrency.or(file.hash_concurrency) {
            Some(0) => {
                return Err(ConfigError::Invalid {
                    key: "hash_concurrency",
                    message: "must be at least 1".into(),
                })
            }
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let hash_wait = resolve_duration(
            self.hash_wait,
            &file.hash_wait,
            "hash_wait",
            DEFAULT_HASH_WAIT,
        )?;
        let seal_token = match (
            self.seal_pkcs11_module
                .clone()
                .or(file.seal_pkcs11_module.clone()),
            self.seal_token_label
                .clone()
                .or(file.seal_token_label.clone()),
        ) {
            (Some(module), Some(label)) => Some(SealTokenSettings {
                module,
                label,
                pin_env: self
                    .seal_pin_env
                    .clone()
                    .or(file.seal_pin_env.clone())
                    .unwrap_or_else(|| DEFAULT_SEAL_PIN_ENV.to_owned()),
            }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::Invalid {
                    key: "seal_token_label",
                    message: "a seal PKCS#11 module needs the label of its token".into(),
                })
            }
            (None, Some(_)) => {
                return Err(ConfigError::Invalid {
                    key: "seal_pkcs11_module",
                    message: "a seal token label needs the PKCS#11 module of its token".into(),
                })
            }
        };
        let audit_token = self.audit_token.resolve_with(&file)?;
        Ok(ServeSettings {
            storage,
            listen: self
                .listen
                .clone()
                .or(file.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
            log_format: self
                .log_format
                .or(file.log_format)
                .unwrap_or(LogFormat::Text),
            token_ttl,
            max_body,
            max_upload,
            hash_concurrency,
            hash_wait,
            demo: self.demo || file.demo.unwrap_or(false),
            dev: self.dev || file.dev.unwrap_or(false),
            trust: if self.trust.is_empty() {
                file.trust.unwrap_or_default()
            } else {
                self.trust.clone()
            },
            signer_revocation: (self.check_signer_revocation
                || file.check_signer_revocation.unwrap_or(false))
            .then(|| {
                let files = if self.signer_revocation.is_empty() {
                    file.signer_revocation.clone().unwrap_or_default()
                } else {
                    self.signer_revocation.clone()
                };
                vanthu_api::SignerRevocation {
                    source: if files.is_empty() {
                        vanthu_pades::revocation::Source::Online
                    } else {
                        vanthu_pades::revocation::Source::Offline(files)
                    },
                    hard_fail: self.signer_revocation_hard_fail
                        || file.signer_revocation_hard_fail.unwrap_or(false),
                }
            }),
            trust_lists: if self.trust_list.is_empty() {
                file.trust_lists
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(name, path)| TrustList::new(&name, path))
                    .collect::<Result<_, _>>()
                    .map_err(|message| ConfigError::Invalid {
                        key: "trust_lists",
                        message,
                    })?
            } else {
                self.trust_list.clone()
            },
            kek,
            signing_session_ttl,
            signing_session_signatures,
            csc_authorization_ttl,
            prepared_signature_ttl,
            audit_checkpoint_interval,
            seal_token,
            audit_token,
            personal_pkcs11_module: self
                .personal_pkcs11_module
                .clone()
                .or(file.personal_pkcs11_module.clone()),
            agencies: match self.agencies.clone().or(file.agencies) {
                Some(path) => load_agencies(&path)?,
                None => Agencies::default(),
            },
            interchange_inbox: self.interchange_inbox.clone().or(file.interchange_inbox),
            interchange_retry: duration_setting(
                "interchange_retry",
                self.interchange_retry,
                &file.interchange_retry,
                DEFAULT_INTERCHANGE_RETRY,
            )?,
            interchange_lease: duration_setting(
                "interchange_lease",
                self.interchange_lease,
                &file.interchange_lease,
                DEFAULT_INTERCHANGE_LEASE,
            )?,
        })
    }
}

/// A named trust list: the anchors of a folder, reported under the list's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustList {
    /// Letters, digits, `-` and `_`, e.g. `public`, `government`.
    pub name: String,
    /// The folder (or PEM bundle) of its anchors.
    pub path: PathBuf,
}

impl TrustList {
    /// A list named `name`, checked.
    pub fn new(name: &str, path: PathBuf) -> Result<TrustList, String> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(format!(
                "the trust list name {name:?} must be 1 to 64 letters, digits, - or _"
            ));
        }
        Ok(TrustList {
            name: name.to_owned(),
            path,
        })
    }
}

/// `NAME=DIR`, as `--trust-list` takes it.
pub fn parse_trust_list(s: &str) -> Result<TrustList, String> {
    let (name, path) = s
        .split_once('=')
        .filter(|(_, path)| !path.is_empty())
        .ok_or_else(|| format!("{s:?} is not NAME=DIR, e.g. government=/etc/vanthu/trust/bcy"))?;
    TrustList::new(name, PathBuf::from(path))
}

/// A duration from the flag or environment, else the file, else `default`; never zero.
fn duration_setting(
    key: &'static str,
    flag: Option<Duration>,
    file: &Option<DurationSetting>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let value = resolve_duration(flag, file, key, default)?;
    if value.is_zero() {
        return Err(ConfigError::Invalid {
            key,
            message: "must be longer than zero".into(),
        });
    }
    Ok(value)
}

/// A duration from the flag (or environment), else the file (seconds or text), else `default`.
fn resolve_duration(
    flag: Option<Duration>,
    file: &Option<DurationSetting>,
    key: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match (flag, file) {
        (Some(d), _) => Ok(d),
        (None, Some(DurationSetting::Seconds(s))) => Ok(Duration::from_secs(*s)),
        (None, Some(DurationSetting::Text(t))) => {
            parse_duration(t).map_err(|message| ConfigError::Invalid { key, message })
        }
        (None, None) => Ok(default),
    }
}

/// The URL of a SQLite database file.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Parses `900` (seconds) or a human duration such as `15m`, `8h` or `1h 30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(seconds) = s.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(s)
        .map_err(|e| format!("'{s}' is not a duration ({e}); use seconds or e.g. 15m, 8h"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Arguments as clap produces them when no flag and no environment variable is set;
    /// built by hand so the tests do not depend on the environment they run in.
    pub(crate) fn no_flags(config: &Path) -> ServeArgs {
        ServeArgs {
            storage: StorageArgs {
                config: Some(config.to_owned()),
                data: None,
                database_url: None,
                audit_origin: None,
            },
            listen: None,
            log_format: None,
            token_ttl: None,
            max_body: None,
            max_upload: None,
            hash_concurrency: None,
            hash_wait: None,
            demo: false,
            dev: false,
            trust: Vec::new(),
            trust_list: Vec::new(),
            check_signer_revocation: false,
            signer_revocation_hard_fail: false,
            signer_revocation: Vec::new(),
            keys: KekArgs {
                kek_file: None,
                kek: None,
            },
            signing_session_ttl: None,
            signing_session_signatures: None,
            csc_authorization_ttl: None,
            prepared_signature_ttl: None,
            audit_checkpoint_interval: None,
            seal_pkcs11_module: None,
            seal_token_label: None,
            seal_pin_env: None,
            personal_pkcs11_module: None,
            audit_token: AuditTokenArgs::default(),
            agencies: None,
            interchange_inbox: None,
            interchange_retry: None,
            interchange_lease: None,
        }
    }

    fn write_config(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("custom.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(
            dir.path(),
            "listen = \"0.0.0.0:9000\"\ndata = \"/srv/vanthu\"\ntoken_ttl = \"15m\"\nmax_body = 1000\ndemo = true\nhash_concurrency = 3\nhash_wait = \"250ms\"\n",
        );
        let mut args = no_flags(&config);
        args.listen = Some("127.0.0.1:0".into());
        let settings = args.resolve().unwrap();
        assert_eq!(settings.listen, "127.0.0.1:0");
        assert_eq!(settings.storage.data_dir, PathBuf::from("/srv/vanthu"));
        assert_eq!(
            settings.storage.database_url,
            "sqlite:///srv/vanthu/vanthu.db"
        );
        assert_eq!(
            settings.storage.blob_dir(),
            PathBuf::from("/srv/vanthu/blobs")
        );
        assert_eq!(settings.token_ttl, Duration::from_secs(900));
        assert_eq!(settings.max_body, 1000);
        assert_eq!(settings.max_upload, DEFAULT_MAX_UPLOAD);
        assert_eq!(settings.hash_concurrency, 3);
        assert_eq!(settings.hash_wait, Duration::from_millis(250));
        assert_eq!(settings.log_format, LogFormat::Text);
        assert!(settings.demo);
        assert!(!settings.dev);
        assert!(settings.trust.is_empty());

        let config = write_config(dir.path(), "");
        let mut args = no_flags(&config);
        args.storage.database_url = Some("postgres://db.example/vanthu".into());
        args.token_ttl = Some(Duration::from_secs(5));
        let settings = args.resolve().unwrap();
        assert_eq!(settings.listen, DEFAULT_LISTEN);
        assert_eq!(settings.storage.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(
            settings.storage.database_url,
            "postgres://db.example/vanthu"
        );
        assert_eq!(settings.token_ttl, Duration::from_secs(5));
        assert_eq!(settings.max_body, DEFAULT_MAX_BODY);
        assert_eq!(
            settings.hash_concurrency,
            std::thread::available_parallelism().unwrap().get()
        );
        assert_eq!(settings.hash_wait, DEFAULT_HASH_WAIT);
    }

    #[test]
    fn trust_anchors_come_from_flags_or_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(
            dir.path(),
            "trust = [\"/etc/vanthu/root.pem\", \"/etc/vanthu/cas\"]\n",
        );
        let settings = no_flags(&config).resolve().unwrap();
        assert_eq!(
            settings.trust,
            [
                PathBuf::from("/etc/vanthu/root.pem"),
                PathBuf::from("/etc/vanthu/cas")
            ]
        );
        let mut args = no_flags(&config);
        args.trust = vec![PathBuf::from("/srv/anchors.pem")];
        assert_eq!(
            args.resolve().unwrap().trust,
            [PathBuf::from("/srv/anchors.pem")]
        );
    }

    #[test]
    fn the_module_of_leaders_tokens_comes_from_the_file_unless_a_flag_says_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(
            dir.path(),
            "personal_pkcs11_module = \"/usr/lib/tokens.so\"\n",
        );
        assert_eq!(
            no_flags(&config).resolve().unwrap().personal_pkcs11_module,
            Some(PathBuf::from("/usr/lib/tokens.so"))
        );
        let flags = ServeArgs {
            personal_pkcs11_module: Some("/opt/vendor/p11.so".into()),
            ..no_flags(&config)
        };
        assert_eq!(
            flags.resolve().unwrap().personal_pkcs11_module,
            Some(PathBuf::from("/opt/vendor/p11.so"))
        );
        let none = write_config(dir.path(), "");
        assert_eq!(
            no_flags(&none).resolve().unwrap().personal_pkcs11_module,
            None
        );
    }

    #[test]
    fn the_seal_token_comes_from_flags_or_the_file_and_needs_both_halves() {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(
            dir.path(),
            "seal_pkcs11_module = \"/usr/lib/hsm.so\"\nseal_token_label = \"seals\"\n",
        );
        let from_file = no_flags(&config).resolve().unwrap().seal_token.unwrap();
        assert_eq!(
            from_file,
            SealTokenSettings {
                module: PathBuf::from("/usr/lib/hsm.so"),
                label: "seals".into(),
                pin_env: DEFAULT_SEAL_PIN_ENV.into(),
            }
        );
        let flags = ServeArgs {
            seal_token_label: Some("other".into()),
            seal_pin_env: Some("HSM_PIN".into()),
            ..no_flags(&config)
        };
        let merged = flags.resolve().unwrap().seal_token.unwrap();
        assert_eq!(
            (merged.label.as_str(), merged.pin_env.as_str()),
            ("other", "HSM_PIN")
        );

        let none = write_config(dir.path(), "");
        assert!(no_flags(&none).resolve().unwrap().seal_token.is_none());
        let half = ServeArgs {
            seal_pkcs11_module: Some("/usr/lib/hsm.so".into()),
            ..no_flags(&none)
        };
        let err = half.resolve().unwrap_err().to_string();
        assert!(err.contains("seal_token_label"), "{err}");
    }

    #[test]
    fn the_audit_token_comes_from_flags_or_the_file_and_needs_all_three() {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(
            dir.path(),
            "audit_pkcs11_module = \"/usr/lib/hsm.so\"\naudit_token_label = \"audit\"\n\
             audit_key_label = \"checkpoints\"\n",
        );
        assert_eq!(
            no_flags(&config).resolve().unwrap().audit_token.unwrap(),
            AuditTokenSettings {
                module: PathBuf::from("/usr/lib/hsm.so"),
                label: "audit".into(),
                key_label: "checkpoints".into(),
                pin_env: DEFAULT_AUDIT_PIN_ENV.into(),
            }
        );
        let flags = ServeArgs {
            audit_token: AuditTokenArgs {
                audit_key_label: Some("other".into()),
                audit_pin_env: Some("HSM_PIN".into()),
                ..AuditTokenArgs::default()
            },
            ..no_flags(&config)
        };
        let merged = flags.resolve().unwrap().audit_token.unwrap();
        assert_eq!(
            (merged.key_label.as_str(), merged.pin_env.as_str()),
            ("other", "HSM_PIN")
        );

        let none = write_config(dir.path(), "");
        assert!(no_flags(&none).resolve().unwrap().audit_token.is_none());
        let partial = ServeArgs {
            audit_token: AuditTokenArgs {
                audit_pkcs11_module: Some("/usr/lib/hsm.so".into()),
                audit_token_label: Some("audit".into()),
                ..AuditTokenArgs::default()
            },
            ..no_flags(&none)
        };
        let err = partial.resolve().unwrap_err().to_string();
        assert!(err.starts_with("invalid setting audit_key_label"), "{err}");
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), "listn = \"x\"\n");
        let err = no_flags(&config).resolve().unwrap_err().to_string();
        assert!(err.contains("listn"), "{err}");

        let config = write_config(dir.path(), "token_ttl = \"soon\"\n");
        let err = no_flags(&config).resolve().unwrap_err().to_string();
        assert!(err.contains("token_ttl"), "{err}");

        let config = write_config(dir.path(), "hash_concurrency = 0\n");
        let err = no_flags(&config).resolve().unwrap_err().to_string();
        assert!(err.contains("hash_concurrency"), "{err}");

        let config = write_config(dir.path(), "max_upload = 0\n");
        let err = no_flags(&config).resolve().unwrap_err().to_string();
        assert!(err.contains("max_upload"), "{err}");

        let missing = dir.path().join("missing.toml");
        assert!(matches!(
            no_flags(&missing).resolve().unwrap_err(),
            ConfigError::Read { .. }
        ));
    }

    #[test]
    fn durations_accept_seconds_and_units() {
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("8h").unwrap(), Duration::from_secs(8 * 3600));
        assert!(parse_duration("later").is_err());
    }

    #[test]
    fn the_agencies_file_names_each_agency_once_with_a_usable_secret() {
        let dir = tempfile::tempdir().unwrap();
        let agencies = dir.path().join("agencies.toml");
        let good = "[[agency]]\nname = \"Sở Nội vụ\"\ncode = \"000.00.12.h57\"\n\
                    url = \"https://vanthu.example\"\nsecret = \"0123456789abcdef\"\n\n\
                    [[agency]]\nname = \"LGSP\"\ncode = \"000.00.00.H57\"\nfolder = \"/srv/out\"\n";
        std::fs::write(&agencies, good).unwrap();
        let config = write_config(
            dir.path(),
            &format!("agencies = \"{}\"\n", agencies.display()),
        );
        let settings = no_flags(&config).resolve().unwrap();
        let code = vanthu_domain::UnitCode::parse("000.00.12.H57").unwrap();
        let agency = settings.agencies.get(&code).unwrap();
        assert!(matches!(
            agency.endpoint,
            vanthu_api::interchange::Endpoint::Url(_)
        ));
        assert_eq!(
            settings.agencies.authenticated_by("0123456789abcdef").len(),
            1
        );
        assert!(settings
            .agencies
            .authenticated_by("0123456789abcdeF")
            .is_empty());
        assert_eq!(settings.interchange_retry, DEFAULT_INTERCHANGE_RETRY);
        assert_eq!(settings.interchange_lease, DEFAULT_INTERCHANGE_LEASE);

        for (text, said) in [
            (
                format!("{good}{}", &good[..good.find("\n\n").unwrap()]),
                "configured twice",
            ),
            (good.replace("0123456789abcdef", "short"), "shorter than 16"),
            (good.replace("folder = ", "fax = "), "unknown field `fax`"),
            (
                good.replace("folder = \"/srv/out\"", ""),
                "needs either a url (another vanthu) or a folder",
            ),
            (
                format!("{good}seal_sha256 = \"ab:cd\"\n"),
                "not 64 hexadecimal digits",
            ),
        ] {
            std::fs::write(&agencies, &text).unwrap();
            let err = no_flags(&config).resolve().unwrap_err().to_string();
            assert!(err.contains(said), "{err}");
        }
    }
}
