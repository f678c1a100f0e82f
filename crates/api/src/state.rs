//! What every handler shares: the database, the blob store, limits and settings, metrics.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpRequest};
use vanthu_pades::verify::VerifyOptions;
use vanthu_store::blob::BlobStore;
use vanthu_store::Database;

use crate::metrics::Metrics;
use crate::password::Hashing;

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
}
