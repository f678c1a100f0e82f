//! Software keys kept open between signatures, in this process only.
//!
//! Opening a stored key for each signature costs more than the signature: OpenSSL 3 decodes
//! the PKCS#8 through its provider decoders, and a fresh RSA key prepares its blinding and
//! Montgomery values on first use (together about three RSA-2048 signatures). Two kinds of
//! opened key are kept instead:
//!
//! - **A signing session's key**, for the session's life at most. The database stays the
//!   authority: each signature first takes its count from the session there
//!   (`use_signing_session`: expiry, signatures left, blocked key, ended session), and only a
//!   granted signature reaches this cache. An entry is served only to a request whose token
//!   gives the same [`SessionToken::proof`] over the same sealed copy and binding as the one
//!   that opened it, so the token's secret is needed exactly as before; another server
//!   instance opens its own copy from the database.
//! - **An organisation's seal key**, opened with the key-encryption key, which the server
//!   holds anyway. The entry is found by the digest of the stored, sealed key and its
//!   certificate, so a replaced seal key or certificate is opened afresh.
//!
//! Entries end at their time (a session's expiry), when the session is ended here, and when
//! the map is full (it starts over empty). A kept key is an OpenSSL object, whose private
//! numbers OpenSSL clears when it is freed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use vanthu_keys::{KeyBinding, SealedSessionKey, SessionId, SessionToken};
use vanthu_pades::signer::DerSigner;

/// Most keys kept of each kind.
const MAX_KEPT: usize = 1024;

/// A session's opened key, what must be shown to be served it again, and its end.
struct Kept {
    proof: [u8; 32],
    until: DateTime<Utc>,
    signer: Arc<DerSigner>,
}

/// Opened keys, by kind; one per server, in its state.
#[derive(Default)]
pub struct KeptSigners {
    sessions: Mutex<HashMap<SessionId, Kept>>,
    seals: Mutex<HashMap<[u8; 32], Arc<DerSigner>>>,
}

impl KeptSigners {
    /// The key session `token` opened before from `sealed` for `binding`, while the session
    /// lasts. Call only after the database granted this signature.
    pub(crate) fn session(
        &self,
        token: &SessionToken,
        sealed: &SealedSessionKey,
        binding: &KeyBinding,
        now: DateTime<Utc>,
    ) -> Option<Arc<DerSigner>> {
        let proof = token.proof(sealed, binding);
        let map = lock(&self.sessions);
        let kept = map.get(&token.id())?;
        (now < kept.until && openssl::memcmp::eq(&kept.proof, &proof))
            .then(|| Arc::clone(&kept.signer))
    }

    /// Keeps the key `token` just opened from `sealed`, until the session's `expires_at`.
    pub(crate) fn keep_session(
        &self,
        token: &SessionToken,
        sealed: &SealedSessionKey,
        binding: &KeyBinding,
        expires_at: DateTime<Utc>,
        signer: Arc<DerSigner>,
    ) {
        let kept = Kept {
            proof: token.proof(sealed, binding),
            until: expires_at,
            signer,
        };
        let now = Utc::now();
        let mut map = lock(&self.sessions);
        map.retain(|_, k| now < k.until);
        if map.len() >= MAX_KEPT {
            map.clear();
        }
        map.insert(token.id(), kept);
    }

    /// Drops the key of session `id` (ended by its owner).
    pub(crate) fn forget_session(&self, id: SessionId) {
        lock(&self.sessions).remove(&id);
    }

    /// The seal key opened before from the stored key whose digest is `stored`.
    pub(crate) fn seal(&self, stored: &[u8; 32]) -> Option<Arc<DerSigner>> {
        lock(&self.seals).get(stored).cloned()
    }

    /// Keeps a seal key just opened from the stored key whose digest is `stored`.
    pub(crate) fn keep_seal(&self, stored: [u8; 32], signer: Arc<DerSigner>) {
        let mut map = lock(&self.seals);
        if map.len() >= MAX_KEPT {
            map.clear();
        }
        map.insert(stored, signer);
    }
}

fn lock<T>(map: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    map.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
