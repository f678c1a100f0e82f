//! Leaders' keys in their own PKCS#11 token on the server (`serve --personal-pkcs11-module`):
//! the token labelled with the leader's username, the key and certificate objects labelled
//! the same, the token's user PIN their signing PIN.
//!
//! The PIN is given for every signature and never kept (the project's rule: a signature
//! needs its signer's own activation). Each signature logs the token in for that one signer
//! (`Token::open_for_one_use`) and out again when it is made. Wrong PINs are counted in the
//! database before the token sees them, as for server-held keys, so five in a row block
//! signing with the key whatever the token's own counter allows. Signing sessions and CSC
//! authorizations are refused for such keys: they would need the PIN kept.
//!
//! The certificate is read from the token without a login (certificate objects are public)
//! and recorded (`token_keys`), so the inventory lists it with key location `pkcs11`.

use std::path::{Path, PathBuf};

use chrono::Utc;
use openssl::x509::X509;
use vanthu_domain::{User, UserId, Username};
use vanthu_keys::SigningPin;
use vanthu_pades::signer::SignerOptions;
use vanthu_pkcs11::{KeyRef, Pkcs11Error, Pkcs11Signer, Token};
use vanthu_store::{
    CertificateOwner, CertificatePurpose, Database, PinAttempt, PinFailure, StoreError, TokenKey,
    TokenKeyPlace,
};

use crate::error::ApiError;
use crate::signing_keys::{certificate_record, expired_on};

/// The PKCS#11 module whose tokens hold leaders' own keys.
#[derive(Debug, Clone)]
pub struct PersonalTokens {
    module: PathBuf,
}

impl PersonalTokens {
    /// Leaders' tokens in the module at `module`.
    pub fn new(module: PathBuf) -> Self {
        PersonalTokens { module }
    }

    /// The module's path.
    pub fn module(&self) -> &Path {
        &self.module
    }

    /// Records the key of every token present whose label is a user's username; returns how
    /// many tokens were recognised. For `serve` at start, so that the inventory lists them
    /// before their first signature. Blocks on the module and the database.
    pub fn discover_all(&self, db: &Database) -> Result<usize, ApiError> {
        let labels = Token::labels(&self.module).map_err(unavailable)?;
        let mut found = 0;
        for label in labels {
            let Ok(username) = Username::parse(&label) else {
                continue;
            };
            let user = match db.get_user_by_username(&username) {
                Ok(user) => user,
                Err(StoreError::NotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            if self.discover(db, &user, None)?.is_some() {
                found += 1;
            }
        }
        Ok(found)
    }

    /// The user's token key: the certificate on the token labelled with their username,
    /// recorded now if it is new (done by `by`, or found at start), else the key recorded
    /// before (whose token may be absent now). `None`: no token key. Blocks.
    pub(crate) fn discover(
        &self,
        db: &Database,
        user: &User,
        by: Option<UserId>,
    ) -> Result<Option<TokenKey>, ApiError> {
        let label = user.username.as_str();
        let der = match Token::public_certificate(&self.module, label, label) {
            Ok(found) => found,
            Err(Pkcs11Error::NoToken { .. }) => None,
            Err(e) => return Err(unavailable(e)),
        };
        let Some(der) = der else {
            return Ok(db.token_key_of(user.id)?);
        };
        let cert = X509::from_der(&der).map_err(|_| {
            ApiError::UnusableCertificate(format!(
                "the certificate labelled \"{label}\" on your token is not an X.509 certificate"
            ))
        })?;
        let record = certificate_record(
            CertificateOwner::User(user.id),
            CertificatePurpose::Personal,
            &cert,
            &[],
        )?;
        let place = TokenKeyPlace {
            token_label: label,
            key_label: label,
        };
        Ok(Some(db.record_token_key(user.id, &record, place, by)?))
    }

    /// A signer for `key` logged in with `pin` for this one signature: the attempt counted
    /// first, the count cleared when the token takes the PIN, the key blocked at the fifth
    /// wrong one in a row. The login ends when the signer is dropped. Blocks on the token.
    pub(crate) fn signer(
        &self,
        db: &Database,
        key: &TokenKey,
        pin: &SigningPin,
    ) -> Result<Pkcs11Signer, ApiError> {
        if key.blocked_at.is_some() {
            return Err(ApiError::TokenKeyBlocked);
        }
        let PinAttempt::Admitted { number } = db.begin_token_pin_attempt(key.id)? else {
            return Err(ApiError::TokenKeyBlocked);
        };
        let token = match Token::open_for_one_use(&self.module, &key.token_label, pin.as_str()) {
            Ok(token) => token,
            Err(Pkcs11Error::WrongPin(_)) => {
                return Err(
                    match db.record_token_pin_failure(key.id, number, Utc::now())? {
                        PinFailure::Wrong { attempts_left } => {
                            tracing::warn!(user_id = %key.owner, attempts_left, "wrong PIN for a token key");
                            ApiError::SigningPinWrong { attempts_left }
                        }
                        PinFailure::Blocked => {
                            tracing::warn!(user_id = %key.owner, "token key blocked after five wrong PINs");
                            ApiError::TokenKeyBlocked
                        }
                    },
                )
            }
            Err(e) => {
                // The token never judged the PIN: it was absent, busy, or locked itself.
                db.give_back_token_pin_attempt(key.id)?;
                return Err(unavailable(e));
            }
        };
        db.record_token_pin_success(key.id)?;
        let signer = Pkcs11Signer::open(
            token,
            KeyRef::Label(key.key_label.clone()),
            None,
            Vec::new(),
            SignerOptions::default(),
        )
        .map_err(|e| match e {
            Pkcs11Error::NoKey { .. }
            | Pkcs11Error::NoCertificate { .. }
            | Pkcs11Error::KeyMismatch { .. }
            | Pkcs11Error::Unusable { .. } => ApiError::UnusableCertificate(e.to_string()),
            e => unavailable(e),
        })?;
        if let Some(ended) = expired_on(&signer)? {
            return Err(ApiError::UnusableCertificate(format!(
                "the certificate in your token expired on {}; put the key of your new \
                 certificate on the token",
                ended.format("%Y-%m-%d")
            )));
        }
        Ok(signer)
    }
}

/// A token that cannot be used now, in its one line (which names the token, never the PIN).
fn unavailable(e: Pkcs11Error) -> ApiError {
    tracing::warn!(error = %e, "a leader's token cannot be used");
    match e {
        // Its message lists the other tokens present, labelled with other people's names.
        Pkcs11Error::NoToken { label, .. } => ApiError::PersonalTokenUnavailable(format!(
            "your token (labelled \"{label}\") is not present on the server; have it plugged in"
        )),
        e => ApiError::PersonalTokenUnavailable(e.to_string()),
    }
}
