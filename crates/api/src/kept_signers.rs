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
//! Entries end at their time (a session's expiry), when the session is ended here, when its
//! owner changes the PIN or enrols a key here (which ends their sessions), and when the map
//! is full (it starts over empty). A kept key is an OpenSSL object, whose private
//! numbers OpenSSL clears when it is freed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use vanthu_domain::UserId;
use vanthu_keys::{KeyBinding, SealedSessionKey, SessionId, SessionToken};
use vanthu_pades::signer::DerSigner;

/// Most keys kept of each kind.
const MAX_KEPT: usize = 1024;

/// A session's opened key, what must be shown to be served it again, and its end.
struct Kept {
    owner: UserId,
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

    /// Keeps the key `token` just opened from `sealed` for `owner`, until the session's
    /// `expires_at`.
    pub(crate) fn keep_session(
        &self,
        owner: UserId,
        token: &SessionToken,
        sealed: &SealedSessionKey,
        binding: &KeyBinding,
        expires_at: DateTime<Utc>,
        signer: Arc<DerSigner>,
    ) {
        let kept = Kept {
            owner,
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

    /// Drops every kept session key of `owner`, whose sessions the database has just ended
    /// (a new PIN, a key enrolled again).
    pub(crate) fn forget_sessions_of(&self, owner: UserId) {
        lock(&self.sessions).retain(|_, k| k.owner != owner);
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use chrono::TimeDelta;
    use openssl::pkey::PKey;
    use openssl::x509::X509;
    use vanthu_keys::KeyOwner;
    use vanthu_pades::signer::SignerOptions;

    use super::*;

    fn dev(name: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../certs-dev")
            .join(name);
        std::fs::read(path).unwrap()
    }

    /// The development signer's key sealed for a new session of `owner`.
    fn session(
        owner: i64,
    ) -> (
        UserId,
        SessionToken,
        SealedSessionKey,
        KeyBinding,
        Arc<DerSigner>,
    ) {
        let owner = UserId::new(owner).unwrap();
        let pkcs8 = PKey::private_key_from_pem(&dev("signer-rsa.key"))
            .unwrap()
            .private_key_to_pkcs8()
            .unwrap();
        let cert = X509::from_pem(&dev("signer-rsa.pem")).unwrap();
        let binding = KeyBinding::new(KeyOwner::User(owner), &cert.to_der().unwrap());
        let token = SessionToken::generate();
        let kek = vanthu_keys::Kek::generate();
        let unwrapped = vanthu_keys::WrappedKey::seal_with_kek(&pkcs8, &kek, &binding)
            .and_then(|w| w.open_with_kek(&kek, &binding))
            .unwrap();
        let sealed = token.seal(&unwrapped, &binding).unwrap();
        let signer =
            DerSigner::with_certificates(&pkcs8, &cert, Vec::new(), SignerOptions::default())
                .unwrap();
        (owner, token, sealed, binding, Arc::new(signer))
    }

    #[test]
    fn a_kept_key_serves_its_token_until_the_session_ends() {
        let kept = KeptSigners::default();
        let now = Utc::now();
        let until = now + TimeDelta::minutes(5);
        let (owner, token, sealed, binding, signer) = session(7);
        let (other_owner, other_token, other_sealed, other_binding, other_signer) = session(8);
        assert!(kept.session(&token, &sealed, &binding, now).is_none());
        kept.keep_session(owner, &token, &sealed, &binding, until, signer);
        kept.keep_session(
            other_owner,
            &other_token,
            &other_sealed,
            &other_binding,
            until,
            other_signer,
        );
        assert!(kept.session(&token, &sealed, &binding, now).is_some());

        // The same token presented again is served; the same id with another secret, or
        // another sealed copy or binding, is not.
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let again = SessionToken::parse(&token.to_text()).unwrap();
        assert!(kept.session(&again, &sealed, &binding, now).is_some());
        let mut bytes = b64.decode(token.to_text()).unwrap();
        bytes[16..].fill(0x5a);
        let forged = SessionToken::parse(&b64.encode(bytes)).unwrap();
        assert_eq!(forged.id(), token.id());
        assert!(kept.session(&forged, &sealed, &binding, now).is_none());
        assert!(kept.session(&token, &other_sealed, &binding, now).is_none());
        assert!(kept.session(&token, &sealed, &other_binding, now).is_none());
        // Past the session's expiry: not served.
        assert!(kept.session(&token, &sealed, &binding, until).is_none());

        // A new PIN drops the owner's sessions only; ending one drops that one.
        kept.forget_sessions_of(owner);
        assert!(kept.session(&token, &sealed, &binding, now).is_none());
        let other = kept.session(&other_token, &other_sealed, &other_binding, now);
        assert!(other.is_some());
        kept.forget_session(other_token.id());
        assert!(kept
            .session(&other_token, &other_sealed, &other_binding, now)
            .is_none());
    }
}
