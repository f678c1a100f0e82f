//! What every handler shares: the database, the blob store, the key-encryption key, limits
//! and settings, metrics.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpRequest};
use vanthu_audit::NoteVerifier;
use vanthu_keys::{KdfParams, Kek};
use vanthu_pades::verify::VerifyOptions;
use vanthu_store::blob::BlobStore;
use vanthu_store::Database;

use crate::metrics::Metrics;
use crate::password::Hashing;
use crate::signing_keys::SealToken;

/// Request size limits, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest JSON body.
    pub json: usize,
    /// Largest uploaded file.
    pub upload: u64,
}

impl Limits {
    /// Conservative limits used when a request somehow runs without application state.
    const FALLBACK: Limits = Limits {
        json: 64 * 1024,
        upload: 16 * 1024 * 1024,
    };

    /// The limits configured for the application serving `req`.
    pub fn of(req: &HttpRequest) -> Limits {
        req.app_data::<web::Data<AppState>>()
            .map(|state| state.limits)
            .unwrap_or(Self::FALLBACK)
    }
}

/// How personal keys are wrapped and how long an unlocked key stays usable.
#[derive(Debug, Clone, Copy)]
pub struct SigningSettings {
    /// Argon2id parameters for keys enrolled or re-PINned from now on.
    pub kdf: KdfParams,
    /// How long a signing session lasts after the PIN opened it.
    pub session_ttl: Duration,
    /// How many signatures one session allows, and how many hashes one CSC authorization
    /// may name.
    pub session_signatures: u32,
    /// How long CSC signature activation data (a SAD) lasts after the PIN and the code
    /// approved it.
    pub csc_authorization_ttl: Duration,
    /// How long a signature prepared for the signer's token may be completed.
    pub prepared_ttl: Duration,
}

impl SigningSettings {
    /// Five minutes: a leader signs a morning's batch without typing the PIN for each
    /// document, and a forgotten session closes soon.
    pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(5 * 60);
    /// Enough for a batch, few enough that a stolen token is worth little.
    pub const DEFAULT_SESSION_SIGNATURES: u32 = 50;
    /// Five minutes: a CSC client asks for the SAD just before `signatures/signHash`, so a
    /// short life costs nothing and limits what a leaked SAD is worth.
    pub const DEFAULT_CSC_AUTHORIZATION_TTL: Duration = Duration::from_secs(5 * 60);
    /// Ten minutes: time to plug the token in, type its PIN and sign, not long enough for a
    /// prepared file to outlive the draft it was made from by much.
    pub const DEFAULT_PREPARED_TTL: Duration = Duration::from_secs(10 * 60);
}

impl Default for SigningSettings {
    fn default() -> Self {
        SigningSettings {
            kdf: KdfParams::DEFAULT,
            session_ttl: Self::DEFAULT_SESSION_TTL,
            session_signatures: Self::DEFAULT_SESSION_SIGNATURES,
            csc_authorization_ttl: Self::DEFAULT_CSC_AUTHORIZATION_TTL,
            prepared_ttl: Self::DEFAULT_PREPARED_TTL,
        }
    }
}

/// Whether and how a signer's own certificate is checked for revocation before the server
/// signs with it (seals, leaders' keys, the CSC service), as `vanthu sign --check-revocation`
/// does: OCSP where a certificate names a responder, else its CRLs.
#[derive(Debug, Clone)]
pub struct SignerRevocation {
    /// Where the CRLs and OCSP responses come from: fetched, or files.
    pub source: vanthu_pades::revocation::Source,
    /// Refuse also when no revocation data at all is found for a certificate.
    pub hard_fail: bool,
}

/// Shared application state, one per server.
pub struct AppState {
    /// The database.
    pub db: Database,
    /// Where file contents live.
    pub blobs: Arc<dyn BlobStore>,
    /// Request size limits.
    pub limits: Limits,
    /// Lifetime of a login token.
    pub token_ttl: Duration,
    /// Prometheus instruments.
    pub metrics: Metrics,
    /// The limit on password hashes computed at once.
    pub hashing: Hashing,
    /// How signatures on uploaded PDFs are verified: the trust anchors, and offline, since
    /// the server must not fetch addresses that an uploaded file's certificates name.
    pub verification: VerifyOptions,
    /// Seals organisation keys at rest; from the configuration, never the data directory.
    pub kek: Arc<Kek>,
    /// Personal key wrapping and signing sessions.
    pub signing: SigningSettings,
    /// The verifier key of the audit log's checkpoints, published at `/api/v1/audit/key`.
    pub audit_key: NoteVerifier,
    /// Organisations' seal keys held in a PKCS#11 token or HSM, when one is configured.
    pub seal_token: Option<Arc<SealToken>>,
    /// The PKCS#11 module whose tokens hold leaders' own keys, when one is configured.
    pub personal_tokens: Option<Arc<crate::token_keys::PersonalTokens>>,
    /// The agencies packages are exchanged with, and the inbox's limits.
    pub interchange: crate::interchange::InterchangeSettings,
    /// The revocation check of the signer's own certificate before each signature the
    /// server makes; `None`: validity dates only.
    pub signer_revocation: Option<SignerRevocation>,
    /// Signing sessions' and seals' keys this process has opened (`crate::kept_signers`).
    pub kept_signers: Arc<crate::kept_signers::KeptSigners>,
}
