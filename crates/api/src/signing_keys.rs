//! `/api/v1/me/signing-key`, `/api/v1/me/signing-pin` and `/api/v1/me/signing-sessions`: a
//! leader's own server-held signing key under their signing PIN, and the signers that the
//! signing handlers take from here ([`personal_signer`], [`seal_signer`]).
//!
//! docs/signing.md gives the design: the PIN is never stored; five wrong PINs in a row block
//! the key (not the login) until its owner enrols it again; a correct PIN opens a short
//! signing session whose token alone opens the key again.

use std::sync::Arc;

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use futures_util::StreamExt;
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vanthu_domain::access::{Action, Target};
use vanthu_domain::{UnitId, UserId};
use vanthu_keys::{
    KdfParams, Kek, KeyBinding, KeyError, KeyOwner, SessionId, SessionToken, SigningPin, Unwrapped,
    WrappedKey,
};
use vanthu_pades::ltv::{refuse_revoked_signer, LtvError};
use vanthu_pades::signer::{DerSigner, Pkcs12Signer, Signer, SignerError, SignerOptions};
use vanthu_pades::trust::{check_usage, display_name, Usage};
use vanthu_pkcs11::{KeyRef, Pkcs11Error, Pkcs11Signer, Token};
use vanthu_store::{
    Certificate, CertificateOwner, CertificatePurpose, Database, NewCertificate, NewSigningSession,
    PinAttempt, PinFailure, SessionUse, SigningKey, StoreError,
};
use zeroize::Zeroizing;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::incoming::{is_multipart, read_part};
use crate::json::Json;
use crate::kept_signers::KeptSigners;
use crate::parsed_certificates;
use crate::state::{AppState, SignerRevocation};
use crate::validation::named;

const SIGNING_KEY: &str = "signing key";
/// Largest PKCS#12 file accepted: a key, its certificate and a few issuers fit in a few KiB.
const MAX_PKCS12_BYTES: usize = 64 * 1024;
/// Largest password or PIN part of the enrolment form.
const MAX_TEXT_PART_BYTES: usize = 1024;
const ENROL_FORM: &str = "send multipart/form-data with the parts `pkcs12` (your .p12/.pfx \
                          file), `password` (its password) and `pin` (your new signing PIN)";

/// How a signature's key is unlocked: by the PIN (slow, counted), or by an open session.
pub enum Unlock {
    /// The signing PIN itself.
    Pin(SigningPin),
    /// The token of a session opened with the PIN.
    Session(SessionToken),
}

impl Unlock {
    /// The unlock a signing request asks for: its `pin`, or the `session` token of an open
    /// signing session, exactly one of them. A PIN against the rules is a 422 naming `pin`;
    /// a token vanthu cannot have issued is `signing_session_invalid`.
    pub fn from_request(pin: Option<&str>, session: Option<&str>) -> Result<Unlock, ApiError> {
        match (pin, session) {
            (Some(pin), None) => Ok(Unlock::Pin(SigningPin::parse(pin)?)),
            (None, Some(token)) => SessionToken::parse(token)
                .map(Unlock::Session)
                .map_err(|_| ApiError::SigningSessionInvalid("token is malformed")),
            _ => Err(vanthu_domain::ValidationError::new(
                "pin",
                "send either your signing PIN as `pin` or a signing session's token as \
                 `session`, not both",
            )
            .into()),
        }
    }
}

/// What the owner sees of their key; never key material.
#[derive(Debug, Serialize, ToSchema)]
pub struct SigningKeyView {
    /// The certificate's subject, most specific first.
    #[schema(example = "CN=Lê Văn Thắng, O=Ủy ban nhân dân huyện Yên Lạc, C=VN")]
    pub subject: String,
    /// The certificate's serial number in hex.
    #[schema(example = "1A2B3C")]
    pub serial: String,
    /// Start of the certificate's validity.
    pub not_before: DateTime<Utc>,
    /// End of the certificate's validity.
    pub not_after: DateTime<Utc>,
    /// When the key was enrolled.
    pub enrolled_at: DateTime<Utc>,
    /// When the PIN was last changed, if ever.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin_changed_at: Option<DateTime<Utc>>,
    /// Whether five wrong PINs blocked signing with the key.
    pub blocked: bool,
    /// Wrong PINs still allowed before the key blocks.
    #[schema(minimum = 0, maximum = 5, example = 5)]
    pub attempts_left: u32,
    /// Where the key is: `pin_protected` (held here under your signing PIN) or `pkcs11`
    /// (your own token on the server, its PIN given for each signature).
    pub key_location: crate::certificates::KeyLocation,
}

impl SigningKeyView {
    fn of(
        certificate: Certificate,
        (enrolled_at, pin_changed_at): (DateTime<Utc>, Option<DateTime<Utc>>),
        (blocked, attempts_left): (bool, u32),
        key_location: crate::certificates::KeyLocation,
    ) -> Self {
        SigningKeyView {
            subject: certificate.subject,
            serial: certificate.serial,
            not_before: certificate.not_before,
            not_after: certificate.not_after,
            enrolled_at,
            pin_changed_at,
            blocked,
            attempts_left,
            key_location,
        }
    }
}

impl From<vanthu_store::TokenKey> for SigningKeyView {
    fn from(k: vanthu_store::TokenKey) -> Self {
        let counts = (k.blocked_at.is_some(), k.attempts_left());
        let location = crate::certificates::KeyLocation::Pkcs11;
        Self::of(k.certificate, (k.created_at, None), counts, location)
    }
}

impl From<SigningKey> for SigningKeyView {
    fn from(k: SigningKey) -> Self {
        let counts = (k.blocked_at.is_some(), k.attempts_left());
        let location = crate::certificates::KeyLocation::PinProtected;
        Self::of(
            k.certificate,
            (k.created_at, k.pin_changed_at),
            counts,
            location,
        )
    }
}

/// The form of `POST /api/v1/me/signing-key`.
/// Describes the form for the OpenAPI document; the handler reads the parts as they stream.
#[derive(ToSchema)]
pub struct SigningKeyUpload {
    /// The PKCS#12 (.p12/.pfx) file with the private key and certificate (up to 64 KiB):
    /// RSA of 2048 bits or more, or ECDSA P-256/P-384; the certificate valid now, its key
    /// usage, when stated, allowing digitalSignature or nonRepudiation.
    #[schema(value_type = String, format = Binary)]
    pub pkcs12: Vec<u8>,
    /// The PKCS#12 file's password; used once, never stored.
    #[schema(format = Password, max_length = 1024)]
    pub password: String,
    /// The new signing PIN: 6 to 64 characters, not one character repeated, not
    /// consecutive digits such as 123456.
    #[schema(format = Password, min_length = 6, max_length = 64)]
    pub pin: String,
}

/// Body of `PUT /api/v1/me/signing-pin`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePin {
    /// The PIN now; a wrong one counts toward blocking the key.
    #[schema(format = Password, min_length = 6, max_length = 64)]
    pub current_pin: String,
    /// The new PIN: 6 to 64 characters, not one character repeated, not consecutive digits.
    #[schema(format = Password, min_length = 6, max_length = 64)]
    pub new_pin: String,
}

/// Body of `POST /api/v1/me/signing-sessions`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenSession {
    /// The signing PIN; a wrong one counts toward blocking the key.
    #[schema(format = Password, min_length = 6, max_length = 64)]
    pub pin: String,
}

/// A signing session just opened.
#[derive(Debug, Serialize, ToSchema)]
pub struct SigningSessionView {
    /// The session's public id, to end it with `DELETE /api/v1/me/signing-sessions/{id}`.
    #[schema(example = "9f86d081884c7d659a2feaa0c55ad015")]
    pub id: String,
    /// Send this instead of the PIN to sign; shown only once. It opens your key: keep it as
    /// you would the PIN.
    #[schema(min_length = 64, max_length = 64)]
    pub token: String,
    /// When the session ends by itself (RFC 3339, UTC).
    pub expires_at: DateTime<Utc>,
    /// Signatures it allows.
    pub signatures_left: u32,
}

/// Only the key's owner, and only a leader, may touch a personal key.
pub(crate) fn authorize_own_key(auth: &Authenticated) -> Result<(), ApiError> {
    auth.authorize(
        Action::UsePersonalKey,
        &Target::personal(auth.actor.unit_path.clone(), auth.user.id),
        SIGNING_KEY,
    )?;
    Ok(())
}

fn key_owner(owner: CertificateOwner) -> KeyOwner {
    match owner {
        CertificateOwner::User(u) => KeyOwner::User(u),
        CertificateOwner::Unit(u) => KeyOwner::Unit(u),
        CertificateOwner::System => KeyOwner::Installation,
    }
}

/// The certificate (DER) and its issuers (DER) of a stored certificate.
pub(crate) fn certificate_ders(
    certificate: &Certificate,
) -> Result<(Vec<u8>, Vec<Vec<u8>>), ApiError> {
    let parsed = parsed_certificates::parsed(certificate)?;
    Ok((parsed.cert_der.clone(), parsed.chain_der.clone()))
}

pub(crate) fn binding_of(key: &SigningKey) -> Result<KeyBinding, ApiError> {
    let (cert, _) = certificate_ders(&key.certificate)?;
    Ok(binding_with(key, &cert))
}

/// [`binding_of`] for a key whose certificate the caller has already read as DER.
fn binding_with(key: &SigningKey, cert_der: &[u8]) -> KeyBinding {
    KeyBinding::new(key_owner(key.certificate.owner), cert_der)
}

/// Refuses a signer whose own certificate, or one of its issuers, is revoked, when the server
/// checks (`--check-signer-revocation`): the message names the certificate, the date and
/// the source (`according to its crl|ocsp`); with hard-fail, a certificate without any
/// revocation data refuses too. Blocks on the network when the data is fetched.
pub(crate) fn refuse_revoked(
    check: Option<&SignerRevocation>,
    signer: &dyn Signer,
) -> Result<(), ApiError> {
    if check.is_none() {
        return Ok(());
    }
    let chain: Vec<Vec<u8>> = std::iter::once(signer.certificate().to_vec())
        .chain(signer.chain().iter().cloned())
        .collect();
    refuse_revoked_chain(check, &chain)
}

/// As [`refuse_revoked`], for a certificate (DER) followed by its issuers.
fn refuse_revoked_chain(
    check: Option<&SignerRevocation>,
    chain: &[Vec<u8>],
) -> Result<(), ApiError> {
    let Some(check) = check else {
        return Ok(());
    };
    match refuse_revoked_signer(chain, &check.source, check.hard_fail) {
        Ok(()) => Ok(()),
        Err(e @ (LtvError::Revoked { .. } | LtvError::Missing(_))) => {
            tracing::warn!(error = %e, "signing refused: the signer's certificate");
            Err(ApiError::UnusableCertificate(e.to_string()))
        }
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// A signer for an unwrapped key, refused once its certificate has expired.
pub(crate) fn signer_from(key: &SigningKey, pkcs8: &Unwrapped) -> Result<DerSigner, ApiError> {
    let parsed = parsed_certificates::parsed(&key.certificate)?;
    signer_with(key, pkcs8, &parsed)
}

/// Refuses a key whose certificate has expired: every validator would reject its signature.
fn refuse_expired(key: &SigningKey) -> Result<(), ApiError> {
    if key.certificate.not_after <= Utc::now() {
        return Err(ApiError::UnusableCertificate(format!(
            "the certificate of this key expired on {}; enrol the key of your new certificate",
            key.certificate.not_after.format("%Y-%m-%d")
        )));
    }
    Ok(())
}

/// [`signer_from`] for a key whose certificate and chain the caller has already parsed.
fn signer_with(
    key: &SigningKey,
    pkcs8: &Unwrapped,
    parsed: &parsed_certificates::Parsed,
) -> Result<DerSigner, ApiError> {
    refuse_expired(key)?;
    DerSigner::with_certificates(
        pkcs8.pkcs8_der(),
        &parsed.cert,
        parsed.chain.clone(),
        SignerOptions::default(),
    )
    .map_err(ApiError::internal)
}

pub(crate) fn personal_key(db: &Database, user: UserId) -> Result<SigningKey, ApiError> {
    db.signing_key_of(CertificateOwner::User(user))
        .map_err(|e| match e {
            StoreError::NotFound { .. } => ApiError::NoSigningKey,
            e => e.into(),
        })
}

/// A personal key opened with its PIN.
pub(crate) struct Opened {
    pub(crate) key: SigningKey,
    pub(crate) binding: KeyBinding,
    pub(crate) pkcs8: Unwrapped,
}

/// Tries `pin` on `user`'s key: counted before it is checked, reset when right, blocking the
/// key at the fifth wrong one in a row. Blocks for the time of one Argon2id derivation.
pub(crate) fn open_with_pin(
    db: &Database,
    user: UserId,
    pin: &SigningPin,
) -> Result<Opened, ApiError> {
    let key = personal_key(db, user)?;
    if key.blocked_at.is_some() {
        return Err(ApiError::SigningKeyBlocked);
    }
    let binding = binding_of(&key)?;
    let PinAttempt::Admitted { number } = db.begin_pin_attempt(key.id)? else {
        return Err(ApiError::SigningKeyBlocked);
    };
    match key.wrapped.open_with_pin(pin, &binding) {
        Ok(pkcs8) => {
            db.record_pin_success(key.id)?;
            Ok(Opened {
                key,
                binding,
                pkcs8,
            })
        }
        Err(KeyError::WrongPin) => match db.record_pin_failure(key.id, number, Utc::now())? {
            PinFailure::Wrong { attempts_left } => {
                tracing::warn!(user_id = %user, attempts_left, "wrong signing PIN");
                Err(ApiError::SigningPinWrong { attempts_left })
            }
            PinFailure::Blocked => {
                tracing::warn!(user_id = %user, "signing key blocked after five wrong PINs");
                Err(ApiError::SigningKeyBlocked)
            }
        },
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// Takes one signature from a session of `user` and returns its key: the one this process
/// opened for the same token before (`crate::kept_signers`), or opened now with the token
/// and kept.
fn open_with_session(
    db: &Database,
    kept: &KeptSigners,
    user: UserId,
    token: &SessionToken,
) -> Result<Arc<DerSigner>, ApiError> {
    match db.use_signing_session(token.id(), user, Utc::now())? {
        SessionUse::Granted(granted) => {
            refuse_expired(&granted.key)?;
            let parsed = parsed_certificates::parsed(&granted.key.certificate)?;
            let binding = binding_with(&granted.key, &parsed.cert_der);
            if let Some(signer) = kept.session(token, &granted.sealed, &binding, Utc::now()) {
                return Ok(signer);
            }
            let pkcs8 = token
                .open(&granted.sealed, &binding)
                .map_err(|_| ApiError::SigningSessionInvalid("does not open with this token"))?;
            let signer = Arc::new(signer_with(&granted.key, &pkcs8, &parsed)?);
            kept.keep_session(
                user,
                token,
                &granted.sealed,
                &binding,
                granted.expires_at,
                Arc::clone(&signer),
            );
            Ok(signer)
        }
        SessionUse::Expired => Err(ApiError::SigningSessionInvalid("has expired")),
        SessionUse::Exhausted => Err(ApiError::SigningSessionInvalid("has no signatures left")),
        SessionUse::KeyBlocked => Err(ApiError::SigningKeyBlocked),
        SessionUse::Unknown => Err(ApiError::SigningSessionInvalid(
            "is not one of yours, or has ended",
        )),
    }
}

/// The signer of the signed-in user's own personal key, for a signing handler.
///
/// Only the caller's own key is reachable, and only while they are a leader (the access
/// policy's `UsePersonalKey`): nobody, admins included, signs with someone else's key. With
/// [`Unlock::Pin`] the PIN is tried as on `POST /api/v1/me/signing-sessions` (counted, five
/// wrong in a row block the key); with [`Unlock::Session`] one signature is taken from the
/// session. The signer carries the certificate and its stored chain. When the server has
/// leaders' tokens (`--personal-pkcs11-module`) and the caller's username labels one, the
/// key is the one in that token, its PIN the token's, given for this signature only
/// (`crate::token_keys`).
///
/// Errors: `Forbidden` (not a leader), `NoSigningKey`, `SigningPinWrong { attempts_left }`,
/// `SigningKeyBlocked` or `TokenKeyBlocked`, `SigningSessionInvalid` (expired, used up,
/// ended, someone else's), `TokenKeyNeedsPin` (a session for a key in a token),
/// `PersonalTokenUnavailable`, `UnusableCertificate` (the certificate has expired).
pub async fn personal_signer(
    state: &web::Data<AppState>,
    auth: &Authenticated,
    unlock: Unlock,
) -> Result<Box<dyn Signer>, ApiError> {
    let state = state.clone();
    let auth = auth.clone();
    web::block(move || open_personal_signer(&state, &auth, unlock)).await?
}

/// [`personal_signer`] for a handler already on a blocking thread: blocks on the database
/// (and, for a key in a token, on the token).
pub(crate) fn open_personal_signer(
    state: &AppState,
    auth: &Authenticated,
    unlock: Unlock,
) -> Result<Box<dyn Signer>, ApiError> {
    authorize_own_key(auth)?;
    let (db, user) = (&state.db, &auth.user);
    let tokens = state.personal_tokens.as_ref();
    let in_token = match tokens {
        Some(tokens) => tokens.discover(db, user, Some(user.id))?,
        None => None,
    };
    let signer: Box<dyn Signer> = match (tokens, in_token, unlock) {
        (Some(tokens), Some(key), Unlock::Pin(pin)) => Box::new(tokens.signer(db, &key, &pin)?),
        (_, Some(_), Unlock::Session(_)) => return Err(ApiError::TokenKeyNeedsPin),
        (_, _, Unlock::Pin(pin)) => {
            let opened = open_with_pin(db, user.id, &pin)?;
            Box::new(signer_from(&opened.key, &opened.pkcs8)?)
        }
        (_, _, Unlock::Session(token)) => {
            Box::new(open_with_session(db, &state.kept_signers, user.id, &token)?)
        }
    };
    refuse_revoked(state.signer_revocation.as_ref(), signer.as_ref())?;
    Ok(signer)
}

/// Refuses what would keep the PIN (a signing session, a CSC authorization) for a user whose
/// key is in their own token. Blocks on the token.
pub(crate) fn refuse_token_key(
    state: &AppState,
    user: &vanthu_domain::User,
) -> Result<(), ApiError> {
    if let Some(tokens) = &state.personal_tokens {
        if tokens.discover(&state.db, user, Some(user.id))?.is_some() {
            return Err(ApiError::TokenKeyNeedsPin);
        }
    }
    Ok(())
}

/// The signer of an organisation's seal key: the one in the seal token when the server has
/// one and it holds a key labelled with the unit's code, else the stored one, opened with the
/// key-encryption key.
///
/// The seal is the organisation's, applied when its clerk issues a document: the caller
/// must have authorised that act for `unit` before asking. Errors: `NoSealKey` when none is
/// installed, `UnusableCertificate` when its certificate has expired or does not fit its key,
/// `SealTokenUnavailable` when the token stopped answering, `Internal` (logged) when the
/// configured KEK does not open a stored key.
pub async fn seal_signer(
    state: &web::Data<AppState>,
    unit: UnitId,
) -> Result<Box<dyn Signer>, ApiError> {
    let state = state.clone();
    web::block(move || open_seal_signer(&state, unit)).await?
}

/// [`seal_signer`] for a handler already on a blocking thread: blocks on the database (and
/// on the seal token).
pub(crate) fn open_seal_signer(
    state: &AppState,
    unit: UnitId,
) -> Result<Box<dyn Signer>, ApiError> {
    let mut from_token = None;
    if let Some(token) = &state.seal_token {
        let code = state.db.get_unit(unit)?.code;
        from_token = token.signer(code.as_str())?;
    }
    let signer: Box<dyn Signer> = match from_token {
        Some(signer) => Box::new(signer),
        None => Box::new(kept_seal(&state.db, &state.kek, &state.kept_signers, unit)?),
    };
    refuse_revoked(state.signer_revocation.as_ref(), signer.as_ref())?;
    Ok(signer)
}

/// Organisations' seal keys held in a PKCS#11 token or HSM instead of the database: a unit's
/// key is the private key labelled with the unit's code (mã định danh, e.g. `000.00.31.H56`),
/// its certificate the certificate object of that label, its chain the issuers the token
/// holds. One token serves every organisation of the installation; a unit whose code labels
/// no key in it seals with its stored key.
#[derive(Debug)]
pub struct SealToken {
    token: Arc<Token>,
}

impl SealToken {
    /// Seals from `token`, logged in already.
    pub fn new(token: Arc<Token>) -> Self {
        SealToken { token }
    }

    /// Every certificate the token holds, with its label. Blocks on the token.
    pub(crate) fn certificates(&self) -> Result<Vec<(String, Vec<u8>)>, ApiError> {
        self.token.labelled_certificates().map_err(|e| {
            tracing::error!(error = %e, "the seal token does not answer");
            ApiError::SealTokenUnavailable
        })
    }

    /// The signer of the key labelled `code`, checked against its certificate with one
    /// signature; `None` when the token has no such key. Blocks on the token.
    fn signer(&self, code: &str) -> Result<Option<Pkcs11Signer>, ApiError> {
        let opened = Pkcs11Signer::open(
            Arc::clone(&self.token),
            KeyRef::Label(code.to_owned()),
            None,
            Vec::new(),
            SignerOptions::default(),
        );
        let signer = match opened {
            Ok(signer) => signer,
            Err(Pkcs11Error::NoKey { .. }) => return Ok(None),
            Err(
                e @ (Pkcs11Error::NoCertificate { .. }
                | Pkcs11Error::KeyMismatch { .. }
                | Pkcs11Error::Unusable { .. }),
            ) => return Err(ApiError::UnusableCertificate(e.to_string())),
            Err(e) => {
                tracing::error!(error = %e, "the seal token does not answer");
                return Err(ApiError::SealTokenUnavailable);
            }
        };
        if let Some(ended) = expired_on(&signer)? {
            return Err(ApiError::UnusableCertificate(format!(
                "the seal certificate in the token expired on {}; put the key of the new \
                 certificate in the token",
                ended.format("%Y-%m-%d")
            )));
        }
        Ok(Some(signer))
    }
}

/// When the certificate of a token's signer ended, if it has.
pub(crate) fn expired_on(signer: &Pkcs11Signer) -> Result<Option<DateTime<Utc>>, ApiError> {
    let cert = X509::from_der(signer.certificate()).map_err(ApiError::internal)?;
    let now = Asn1Time::days_from_now(0).map_err(ApiError::internal)?;
    if cert.not_after() < now {
        return Ok(Some(to_chrono(cert.not_after())?));
    }
    Ok(None)
}

/// The unit's stored seal key, still sealed; `NoSealKey` when none is installed.
fn seal_key(db: &Database, unit: UnitId) -> Result<SigningKey, ApiError> {
    db.signing_key_of(CertificateOwner::Unit(unit))
        .map_err(|e| match e {
            StoreError::NotFound { .. } => ApiError::NoSealKey,
            e => e.into(),
        })
}

/// The unit's seal key unwrapped with the KEK; errors as [`seal_signer`]'s.
fn open_seal(db: &Database, kek: &Kek, unit: UnitId) -> Result<(SigningKey, Unwrapped), ApiError> {
    let key = seal_key(db, unit)?;
    let pkcs8 = unwrap_seal(kek, unit, &key, &binding_of(&key)?)?;
    Ok((key, pkcs8))
}

fn unwrap_seal(
    kek: &Kek,
    unit: UnitId,
    key: &SigningKey,
    binding: &KeyBinding,
) -> Result<Unwrapped, ApiError> {
    key.wrapped.open_with_kek(kek, binding).map_err(|e| {
        tracing::error!(unit_id = %unit, kek = %kek.id(), "seal key does not open");
        ApiError::internal(e)
    })
}

/// The signer of the unit's stored seal key: the one this process opened before from the
/// same stored key, KEK and certificate (`crate::kept_signers`), or opened now and kept. The
/// certificate's expiry is checked each time.
fn kept_seal(
    db: &Database,
    kek: &Kek,
    kept: &KeptSigners,
    unit: UnitId,
) -> Result<Arc<DerSigner>, ApiError> {
    let key = seal_key(db, unit)?;
    refuse_expired(&key)?;
    let mut digest = openssl::sha::Sha256::new();
    for part in [
        kek.id().as_bytes(),
        &key.id.to_be_bytes(),
        &key.wrapped.nonce,
        &key.wrapped.ciphertext,
        key.certificate.cert_pem.as_bytes(),
        key.certificate.chain_pem.as_bytes(),
    ] {
        digest.update(&(part.len() as u64).to_be_bytes());
        digest.update(part);
    }
    let stored = digest.finish();
    if let Some(signer) = kept.seal(&stored) {
        return Ok(signer);
    }
    let parsed = parsed_certificates::parsed(&key.certificate)?;
    let pkcs8 = unwrap_seal(kek, unit, &key, &binding_with(&key, &parsed.cert_der))?;
    let signer = Arc::new(signer_with(&key, &pkcs8, &parsed)?);
    kept.keep_seal(stored, Arc::clone(&signer));
    Ok(signer)
}

/// The unit's seal for signing interchange packages (its RSA key, certificate and chain);
/// as for [`seal_signer`], the caller must have authorised the act for `unit`. As before a
/// PDF seal, the certificate must be valid now, and with `revocation` (the server's
/// `--check-signer-revocation`) neither it nor an issuer may be revoked: a package sealed
/// with a revoked seal would be refused by every agency receiving it.
pub fn interchange_seal(
    db: &Database,
    kek: &Kek,
    unit: UnitId,
    revocation: Option<&SignerRevocation>,
) -> Result<vanthu_interchange::Seal, ApiError> {
    let (key, pkcs8) = open_seal(db, kek, unit)?;
    let now = Utc::now();
    if key.certificate.not_after <= now {
        return Err(ApiError::UnusableCertificate(format!(
            "the seal's certificate expired on {}; enrol the key of its new certificate",
            key.certificate.not_after.format("%Y-%m-%d")
        )));
    }
    if key.certificate.not_before > now {
        return Err(ApiError::UnusableCertificate(format!(
            "the seal's certificate is valid only from {}",
            key.certificate.not_before.format("%Y-%m-%d %H:%M UTC")
        )));
    }
    let parsed = parsed_certificates::parsed(&key.certificate)?;
    let all: Vec<Vec<u8>> = std::iter::once(parsed.cert_der.clone())
        .chain(parsed.chain_der.iter().cloned())
        .collect();
    refuse_revoked_chain(revocation, &all)?;
    let private = PKey::private_key_from_pkcs8(pkcs8.pkcs8_der()).map_err(ApiError::internal)?;
    let certs = std::iter::once(parsed.cert.clone())
        .chain(parsed.chain.iter().cloned())
        .collect();
    vanthu_interchange::Seal::new(private, certs)
        .map_err(|e| ApiError::UnusableCertificate(e.to_string()))
}

fn to_chrono(t: &Asn1TimeRef) -> Result<DateTime<Utc>, ApiError> {
    let diff = Asn1Time::from_unix(0)
        .and_then(|epoch| epoch.diff(t))
        .map_err(ApiError::internal)?;
    let seconds = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    DateTime::from_timestamp(seconds, 0)
        .ok_or_else(|| ApiError::internal("certificate time out of range"))
}

/// The record of `cert` (with its issuers `chain`) for `owner`.
pub(crate) fn certificate_record(
    owner: CertificateOwner,
    purpose: CertificatePurpose,
    cert: &X509,
    chain: &[X509],
) -> Result<NewCertificate, ApiError> {
    let pem = |c: &X509| {
        c.to_pem()
            .map_err(ApiError::internal)
            .and_then(|p| String::from_utf8(p).map_err(ApiError::internal))
    };
    Ok(NewCertificate {
        owner,
        purpose,
        subject: display_name(cert.subject_name()),
        serial: cert
            .serial_number()
            .to_bn()
            .and_then(|bn| bn.to_hex_str().map(|h| h.to_string()))
            .map_err(ApiError::internal)?,
        not_before: to_chrono(cert.not_before())?,
        not_after: to_chrono(cert.not_after())?,
        cert_pem: pem(cert)?,
        chain_pem: chain.iter().map(pem).collect::<Result<String, _>>()?,
    })
}

fn pkcs8_of(key: &PKey<Private>) -> Result<Zeroizing<Vec<u8>>, ApiError> {
    key.private_key_to_pkcs8()
        .map(Zeroizing::new)
        .map_err(ApiError::internal)
}

/// A person's key and certificate ready to store: the certificate record and the key
/// wrapped under `pin` (Argon2id with `kdf`), bound to `user` and the certificate. Takes
/// the time of one derivation.
pub fn wrap_personal_key(
    user: UserId,
    key: &PKey<Private>,
    cert: &X509,
    chain: &[X509],
    pin: &SigningPin,
    kdf: KdfParams,
) -> Result<(NewCertificate, WrappedKey), ApiError> {
    let owner = CertificateOwner::User(user);
    let record = certificate_record(owner, CertificatePurpose::Personal, cert, chain)?;
    let binding = KeyBinding::new(
        key_owner(owner),
        &cert.to_der().map_err(ApiError::internal)?,
    );
    let wrapped = WrappedKey::seal_with_pin(&pkcs8_of(key)?, pin, &binding, kdf)
        .map_err(ApiError::internal)?;
    Ok((record, wrapped))
}

/// An organisation's seal key and certificate ready to store, the key wrapped under `kek`.
pub fn wrap_seal_key(
    unit: UnitId,
    key: &PKey<Private>,
    cert: &X509,
    chain: &[X509],
    kek: &Kek,
) -> Result<(NewCertificate, WrappedKey), ApiError> {
    let owner = CertificateOwner::Unit(unit);
    let record = certificate_record(owner, CertificatePurpose::Seal, cert, chain)?;
    let binding = KeyBinding::new(
        key_owner(owner),
        &cert.to_der().map_err(ApiError::internal)?,
    );
    let wrapped =
        WrappedKey::seal_with_kek(&pkcs8_of(key)?, kek, &binding).map_err(ApiError::internal)?;
    Ok((record, wrapped))
}

/// Opens a PKCS#12 file and checks that it can sign now: the key type and size the signer
/// accepts, a key that matches the certificate, a certificate valid today whose key usage,
/// when stated, allows signing (as the verifier requires). Returns the key, the certificate
/// and its issuers.
pub fn open_signing_pkcs12(
    der: &[u8],
    password: &str,
) -> Result<(PKey<Private>, X509, Vec<X509>), ApiError> {
    // The signer's checks first (it also loads OpenSSL's legacy provider for old files).
    Pkcs12Signer::from_der(der, password, SignerOptions::default()).map_err(|e| match e {
        SignerError::Pkcs12(_) => ApiError::Pkcs12Unreadable,
        SignerError::Pkcs12Incomplete(_) => ApiError::UnusableCertificate(
            "the PKCS#12 file holds no private key with its certificate".into(),
        ),
        other => ApiError::UnusableCertificate(other.to_string()),
    })?;
    let parsed = Pkcs12::from_der(der)
        .and_then(|p| p.parse2(password))
        .map_err(|_| ApiError::Pkcs12Unreadable)?;
    let (Some(key), Some(cert)) = (parsed.pkey, parsed.cert) else {
        return Err(ApiError::Pkcs12Unreadable);
    };
    let now = Asn1Time::days_from_now(0).map_err(ApiError::internal)?;
    if cert.not_before() > now {
        return Err(ApiError::UnusableCertificate(
            "the certificate is not valid yet".into(),
        ));
    }
    if cert.not_after() < now {
        return Err(ApiError::UnusableCertificate(
            "the certificate has expired; enrol the key of a current certificate".into(),
        ));
    }
    check_usage(&cert, Usage::DocumentSigning).map_err(ApiError::UnusableCertificate)?;
    let chain = parsed
        .ca
        .map(|stack| stack.into_iter().collect())
        .unwrap_or_default();
    Ok((key, cert, chain))
}

/// The parts of the enrolment form.
struct Enrolment {
    pkcs12: Option<Vec<u8>>,
    password: Option<Zeroizing<String>>,
    pin: Option<Zeroizing<String>>,
}

async fn read_enrolment(req: &HttpRequest, payload: web::Payload) -> Result<Enrolment, ApiError> {
    let mut form = Multipart::new(req.headers(), payload);
    let mut parts = Enrolment {
        pkcs12: None,
        password: None,
        pin: None,
    };
    let text = |bytes: Vec<u8>, name: &str| {
        String::from_utf8(bytes)
            .map(Zeroizing::new)
            .map_err(|_| ApiError::InvalidForm(format!("the part `{name}` is not UTF-8 text")))
    };
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| {
            ApiError::InvalidForm(format!("the form could not be read ({e}); {ENROL_FORM}"))
        })?;
        let name = field.name().unwrap_or_default().to_owned();
        let too_large = |e: ApiError| match e {
            ApiError::PayloadTooLarge { limit } => ApiError::InvalidForm(format!(
                "the part `{name}` is longer than {limit} bytes; {ENROL_FORM}"
            )),
            other => other,
        };
        match name.as_str() {
            "pkcs12" if parts.pkcs12.is_none() => {
                parts.pkcs12 = Some(
                    read_part(&mut field, MAX_PKCS12_BYTES)
                        .await
                        .map_err(too_large)?,
                );
            }
            "password" if parts.password.is_none() => {
                let bytes = read_part(&mut field, MAX_TEXT_PART_BYTES)
                    .await
                    .map_err(too_large)?;
                parts.password = Some(text(bytes, "password")?);
            }
            "pin" if parts.pin.is_none() => {
                let bytes = read_part(&mut field, MAX_TEXT_PART_BYTES)
                    .await
                    .map_err(too_large)?;
                parts.pin = Some(text(bytes, "pin")?);
            }
            "pkcs12" | "password" | "pin" => {
                return Err(ApiError::InvalidForm(format!(
                    "the part `{name}` appears twice; {ENROL_FORM}"
                )))
            }
            _ => {
                return Err(ApiError::InvalidForm(format!(
                    "unexpected part `{name}`; {ENROL_FORM}"
                )))
            }
        }
    }
    Ok(parts)
}

fn missing(part: &str) -> ApiError {
    ApiError::InvalidForm(format!("the form has no `{part}` part; {ENROL_FORM}"))
}

/// Enrols your own signing key from a PKCS#12 file under a new signing PIN (leaders). It
/// replaces the key you had, ends its signing sessions and clears a block. The PKCS#12
/// password and the PIN are used once and never stored; the key is kept sealed under a key
/// derived from the PIN.
#[utoipa::path(
    post,
    path = "/api/v1/me/signing-key",
    tag = "signing",
    request_body(content = SigningKeyUpload, content_type = "multipart/form-data", description = "Parts `pkcs12` (file), `password` and `pin` (text)"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Enrolled", body = SigningKeyView),
        (status = 400, description = "Malformed form, a part missing, repeated or too long", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only leaders hold personal signing keys", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart/form-data", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The PIN breaks a rule (`field` is `pin`), the PKCS#12 file does not open (`pkcs12_unreadable`), or its certificate or key cannot sign (`unusable_certificate`)", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn enrol(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize_own_key(&auth)?;
    if !is_multipart(&req) {
        return Err(ApiError::UnsupportedMediaType(
            "send the form as multipart/form-data, with the parts `pkcs12` (your .p12 file), \
             `password` and `pin`"
                .into(),
        ));
    }
    let parts = read_enrolment(&req, payload).await?;
    let pkcs12 = parts.pkcs12.ok_or_else(|| missing("pkcs12"))?;
    let password = parts.password.ok_or_else(|| missing("password"))?;
    let pin = SigningPin::parse(&parts.pin.ok_or_else(|| missing("pin"))?)?;
    let user = auth.user.id;
    let kdf = state.signing.kdf;
    let kept = Arc::clone(&state.kept_signers);
    let key = web::block(move || -> Result<SigningKey, ApiError> {
        let (key, cert, chain) = open_signing_pkcs12(&pkcs12, &password)?;
        let (record, wrapped) = wrap_personal_key(user, &key, &cert, &chain, &pin, kdf)?;
        Ok(state.db.enrol_signing_key(&record, &wrapped)?)
    })
    .await??;
    // The new key ended the old one's sessions.
    kept.forget_sessions_of(user);
    tracing::info!(user_id = %user, serial = %key.certificate.serial, "signing key enrolled");
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, "/api/v1/me/signing-key"))
        .json(SigningKeyView::from(key)))
}

/// Your signing key: its certificate, whether it is blocked, how many wrong PINs are left,
/// and where it is. Never any key material. When your own token on the server holds your
/// key, that key is the one shown (and the one that signs).
#[utoipa::path(
    get,
    path = "/api/v1/me/signing-key",
    tag = "signing",
    security(("bearer" = [])),
    responses(
        (status = 200, body = SigningKeyView),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only leaders hold personal signing keys", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No key enrolled (`no_signing_key`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable, or the module of leaders' tokens does not answer (`personal_token_unavailable`)", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn status(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    authorize_own_key(&auth)?;
    let user = auth.user.clone();
    let view = web::block(move || -> Result<SigningKeyView, ApiError> {
        if let Some(tokens) = &state.personal_tokens {
            if let Some(key) = tokens.discover(&state.db, &user, Some(user.id))? {
                return Ok(key.into());
            }
        }
        Ok(personal_key(&state.db, user.id)?.into())
    })
    .await??;
    Ok(HttpResponse::Ok().json(view))
}

/// Changes your signing PIN. A wrong current PIN counts toward blocking the key; the
/// change ends your open signing sessions.
#[utoipa::path(
    put,
    path = "/api/v1/me/signing-pin",
    tag = "signing",
    request_body = ChangePin,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = SigningKeyView),
        (status = 400, description = "Malformed body", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a leader, or the current PIN is wrong (`signing_pin_wrong`, with `attempts_left`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No key enrolled (`no_signing_key`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A PIN breaks a rule (`field` names it)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 423, description = "The key is blocked (`signing_key_blocked`)", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_pin(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: Json<ChangePin>,
) -> Result<HttpResponse, ApiError> {
    authorize_own_key(&auth)?;
    let current = named(SigningPin::parse(&body.0.current_pin), "current_pin")?;
    let new = named(SigningPin::parse(&body.0.new_pin), "new_pin")?;
    let user = auth.user.id;
    let kdf = state.signing.kdf;
    let kept = Arc::clone(&state.kept_signers);
    let key = web::block(move || -> Result<SigningKey, ApiError> {
        let opened = open_with_pin(&state.db, user, &current)?;
        let wrapped =
            WrappedKey::seal_with_pin(opened.pkcs8.pkcs8_der(), &new, &opened.binding, kdf)
                .map_err(ApiError::internal)?;
        state
            .db
            .rewrap_signing_key(opened.key.id, &wrapped, Utc::now())
            .map_err(|e| match e {
                StoreError::Stale { .. } => ApiError::SigningKeyBlocked,
                e => e.into(),
            })
    })
    .await??;
    // The new PIN ended the key's sessions.
    kept.forget_sessions_of(user);
    tracing::info!(user_id = %user, "signing PIN changed");
    Ok(HttpResponse::Ok().json(SigningKeyView::from(key)))
}

/// Unlocks your key with the PIN for a few minutes and a bounded number of signatures:
/// sign with the token instead of the PIN meanwhile. The server keeps the key sealed under
/// a secret that only the token holds.
#[utoipa::path(
    post,
    path = "/api/v1/me/signing-sessions",
    tag = "signing",
    request_body = OpenSession,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Opened", body = SigningSessionView, headers(("Cache-Control" = String, description = "Always `no-store`: the body holds a token"))),
        (status = 400, description = "Malformed body", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a leader, or the PIN is wrong (`signing_pin_wrong`, with `attempts_left`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No key enrolled (`no_signing_key`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Your key is in your own PKCS#11 token (`token_key_needs_pin`): its PIN is given for each signature and never kept, so no session is opened", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The PIN breaks a rule (`field` is `pin`), or the certificate has expired (`unusable_certificate`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 423, description = "The key is blocked (`signing_key_blocked`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable, or your token does not answer (`personal_token_unavailable`)", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn open_session(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: Json<OpenSession>,
) -> Result<HttpResponse, ApiError> {
    authorize_own_key(&auth)?;
    let pin = SigningPin::parse(&body.0.pin)?;
    let user = auth.user.id;
    let settings = state.signing;
    let ttl = TimeDelta::from_std(settings.session_ttl).map_err(ApiError::internal)?;
    let account = auth.user.clone();
    let view = web::block(move || -> Result<SigningSessionView, ApiError> {
        refuse_token_key(&state, &account)?;
        let opened = open_with_pin(&state.db, user, &pin)?;
        // Fails now, not at the first signature, when the certificate has expired.
        let signer = Arc::new(signer_from(&opened.key, &opened.pkcs8)?);
        let token = SessionToken::generate();
        let sealed = token
            .seal(&opened.pkcs8, &opened.binding)
            .map_err(ApiError::internal)?;
        // Millisecond precision, as stored, so the expiry returned is the one enforced.
        let created_at = Utc::now().trunc_subsecs(3);
        let expires_at = created_at + ttl;
        state.db.open_signing_session(&NewSigningSession {
            id: token.id(),
            user_id: user,
            signing_key_id: opened.key.id,
            sealed: sealed.clone(),
            created_at,
            expires_at,
            signatures: settings.session_signatures,
        })?;
        // The session's signatures on this instance use the key opened here.
        state
            .kept_signers
            .keep_session(user, &token, &sealed, &opened.binding, expires_at, signer);
        Ok(SigningSessionView {
            id: token.id().to_string(),
            token: token.to_text(),
            expires_at,
            signatures_left: settings.session_signatures,
        })
    })
    .await??;
    tracing::info!(user_id = %user, session = %view.id, "signing session opened");
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(view))
}

/// Ends one of your signing sessions at once.
#[utoipa::path(
    delete,
    path = "/api/v1/me/signing-sessions/{id}",
    tag = "signing",
    params(("id" = String, Path, description = "The session's id (32 hex digits)", pattern = "^[0-9a-f]{32}$")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only leaders hold personal signing keys", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session of yours", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn end_session(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize_own_key(&auth)?;
    let not_found = || ApiError::NotFound {
        what: "signing session",
    };
    let id: SessionId = id.parse().map_err(|_| not_found())?;
    let user = auth.user.id;
    let kept = Arc::clone(&state.kept_signers);
    web::block(move || state.db.end_signing_session(id, user))
        .await?
        .map_err(|e| match e {
            StoreError::NotFound { .. } => not_found(),
            e => e.into(),
        })?;
    kept.forget_session(id);
    tracing::info!(user_id = %user, session = %id, "signing session ended");
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use actix_web::test::{call_service, init_service, read_body_json, TestRequest};
    use actix_web::{App, FromRequest};
    use serde_json::{json, Value};
    use vanthu_domain::{Name, Role, Roles, Unit, UnitCode, UnitLevel, User, Username};
    use vanthu_pades::signer::Signer;
    use vanthu_pades::verify::VerifyOptions;
    use vanthu_store::blob::FsBlobStore;
    use vanthu_store::testing::TestDatabase;
    use vanthu_store::Database;
    use vanthu_store::{hash_token, NewSession, NewUnit, NewUser};

    use super::*;
    use crate::{oracles, tools};
    use crate::{Hashing, Metrics, SigningSettings};

    const PIN: &str = "246810";

    fn dev(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../certs-dev")
            .join(name)
    }

    struct Fixture {
        state: web::Data<AppState>,
        unit: Unit,
        _dir: tempfile::TempDir,
        _db: TestDatabase,
    }

    fn app_state(
        db: Database,
        dir: &std::path::Path,
        signing: SigningSettings,
        kek: Kek,
    ) -> AppState {
        AppState {
            db,
            blobs: Arc::new(FsBlobStore::new(dir.join("blobs")).unwrap()),
            limits: crate::Limits {
                json: 64 * 1024,
                upload: 1024 * 1024,
            },
            token_ttl: Duration::from_secs(3600),
            metrics: Metrics::new().unwrap(),
            hashing: Hashing::new(1, Duration::from_secs(5)),
            verification: VerifyOptions::default(),
            kek: Arc::new(kek),
            signing,
            audit_key: vanthu_audit::NoteSigner::generate("vanthu.test/audit")
                .unwrap()
                .verifier(),
            seal_token: None,
            personal_tokens: None,
            interchange: Default::default(),
            signer_revocation: None,
            kept_signers: Arc::default(),
        }
    }

    fn fixture(signing: SigningSettings) -> Fixture {
        fixture_checking(signing, None)
    }

    /// A fixture whose server checks signers' certificates for revocation as `check` says.
    fn fixture_checking(signing: SigningSettings, check: Option<SignerRevocation>) -> Fixture {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let unit = db
            .insert_unit(
                None,
                &NewUnit {
                    parent_id: None,
                    code: UnitCode::parse("000.00.31.H56").unwrap(),
                    name: Name::parse("Ủy ban nhân dân huyện Yên Lạc").unwrap(),
                    level: UnitLevel::District,
                },
            )
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut state = app_state(db, dir.path(), signing, Kek::generate());
        state.signer_revocation = check;
        Fixture {
            state: web::Data::new(state),
            unit,
            _dir: dir,
            _db: tdb,
        }
    }

    impl Fixture {
        /// An account with `roles`, signed in: its bearer token.
        fn account(&self, username: &str, roles: &[Role]) -> (User, String) {
            let user = self
                .state
                .db
                .insert_user(
                    None,
                    &NewUser {
                        username: Username::parse(username).unwrap(),
                        display_name: Name::parse("Lê Văn Thắng").unwrap(),
                        unit_id: self.unit.id,
                        roles: roles.iter().copied().collect::<Roles>(),
                        password_hash: "unused".into(),
                    },
                )
                .unwrap();
            let token = crate::token::generate();
            let now = Utc::now();
            self.state
                .db
                .insert_session(&NewSession {
                    token_hash: hash_token(&token),
                    user_id: user.id,
                    created_at: now,
                    expires_at: now + TimeDelta::hours(1),
                })
                .unwrap();
            (user, token)
        }

        /// Enrols the development signer's EC key for `user` under the PIN.
        fn enrol(&self, user: UserId) {
            let der = std::fs::read(dev("signer-ec.p12")).unwrap();
            let (key, cert, chain) = open_signing_pkcs12(&der, "vanthu-dev").unwrap();
            let pin = SigningPin::parse(PIN).unwrap();
            let (record, wrapped) =
                wrap_personal_key(user, &key, &cert, &chain, &pin, self.state.signing.kdf).unwrap();
            self.state.db.enrol_signing_key(&record, &wrapped).unwrap();
        }

        async fn auth(&self, token: &str) -> Authenticated {
            let req = TestRequest::default()
                .insert_header(("Authorization", format!("Bearer {token}")))
                .app_data(self.state.clone())
                .to_http_request();
            Authenticated::extract(&req).await.unwrap()
        }

        /// Another server over the same database, with nothing kept and a KEK of its own.
        fn another_instance(&self) -> web::Data<AppState> {
            web::Data::new(app_state(
                self.state.db.clone(),
                self._dir.path(),
                SigningSettings::default(),
                Kek::generate(),
            ))
        }

        /// Sends `request` as `bearer` through the routes.
        async fn call(
            &self,
            bearer: &str,
            request: TestRequest,
        ) -> actix_web::dev::ServiceResponse {
            let app = init_service(
                App::new()
                    .app_data(self.state.clone())
                    .configure(crate::routes),
            )
            .await;
            let request = request.insert_header(("Authorization", format!("Bearer {bearer}")));
            call_service(&app, request.to_request()).await
        }

        /// Opens a signing session through the route and returns its token.
        async fn open_session(&self, bearer: &str) -> SessionToken {
            let request = TestRequest::post()
                .uri("/api/v1/me/signing-sessions")
                .set_json(json!({ "pin": PIN }));
            let response = self.call(bearer, request).await;
            assert_eq!(response.status(), 201);
            let body: Value = read_body_json(response).await;
            SessionToken::parse(body["token"].as_str().unwrap()).unwrap()
        }
    }

    /// Signs pyHanko's own B-B fixture once more with `signer` and returns pyHanko's report
    /// on the signature added, trusting the development root; `None` when pyHanko is
    /// missing and not required.
    fn pyhanko_verdict(test: &str, signer: &dyn Signer) -> Option<Value> {
        let input = include_bytes!("../../pades/tests/fixtures/pyhanko-b-b.pdf");
        let (signed, _) = vanthu_pades::sign::sign_bytes(
            input,
            signer,
            &vanthu_pades::sign::SignOptions::default(),
        )
        .unwrap();
        let tools = tools::require(test, &[tools::Tool::PyHanko])?;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("signed.pdf");
        std::fs::write(&file, signed).unwrap();
        let report = oracles::pyhanko_report(&tools, &file, &dev("root-ca.pem"));
        Some(
            report["signatures"]
                .as_array()
                .unwrap()
                .last()
                .unwrap()
                .clone(),
        )
    }

    fn assert_valid(verdict: Option<Value>) {
        let Some(verdict) = verdict else { return };
        for check in ["intact", "valid", "trusted"] {
            assert_eq!(verdict[check], true, "{check}: {verdict}");
        }
    }

    #[actix_web::test]
    async fn the_personal_signer_signs_with_the_pin_or_a_session_and_pyhanko_accepts_it() {
        let f = fixture(SigningSettings {
            session_signatures: 2,
            ..SigningSettings::default()
        });
        let (leader, bearer) = f.account("district.leader", &[Role::Leader]);
        f.enrol(leader.id);
        let auth = f.auth(&bearer).await;

        let by_pin = personal_signer(
            &f.state,
            &auth,
            Unlock::Pin(SigningPin::parse(PIN).unwrap()),
        )
        .await
        .unwrap();
        assert_eq!(
            by_pin.chain().len(),
            1,
            "the issuing CA travels with the key"
        );
        assert_valid(pyhanko_verdict("personal_signer_pin", by_pin.as_ref()));

        let token = f.open_session(&bearer).await;
        let text = token.to_text();
        for _ in 0..2 {
            let signer = personal_signer(
                &f.state,
                &auth,
                Unlock::Session(SessionToken::parse(&text).unwrap()),
            )
            .await
            .unwrap();
            assert_valid(pyhanko_verdict("personal_signer_session", signer.as_ref()));
        }
        let used_up = personal_signer(&f.state, &auth, Unlock::Session(token))
            .await
            .map(|_| ());
        assert!(
            matches!(used_up, Err(ApiError::SigningSessionInvalid(why)) if why.contains("no signatures left")),
            "{used_up:?}"
        );

        let wrong = personal_signer(
            &f.state,
            &auth,
            Unlock::Pin(SigningPin::parse("135790").unwrap()),
        )
        .await
        .map(|_| ());
        assert!(
            matches!(wrong, Err(ApiError::SigningPinWrong { attempts_left: 4 })),
            "{wrong:?}"
        );
    }

    #[actix_web::test]
    async fn a_kept_session_key_serves_its_own_token_only() {
        use base64::Engine;
        let f = fixture(SigningSettings::default());
        let (leader, bearer) = f.account("district.leader", &[Role::Leader]);
        f.enrol(leader.id);
        let auth = f.auth(&bearer).await;
        let token = f.open_session(&bearer).await;
        let text = token.to_text();
        let session = |text: &str| Unlock::Session(SessionToken::parse(text).unwrap());

        // The same public id with another secret: the kept key is not served to it.
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut forged = b64.decode(&text).unwrap();
        forged[16..].fill(0x5a);
        let forged = b64.encode(forged);
        let refused = personal_signer(&f.state, &auth, session(&forged))
            .await
            .map(|_| ());
        assert!(
            matches!(&refused, Err(ApiError::SigningSessionInvalid(why)) if why.contains("does not open")),
            "{refused:?}"
        );
        let kept = personal_signer(&f.state, &auth, session(&text))
            .await
            .unwrap();
        assert_valid(pyhanko_verdict("kept_session_key", kept.as_ref()));

        // Another server instance sharing the database opens the session from it.
        let other = f.another_instance();
        let elsewhere = personal_signer(&other, &auth, session(&text))
            .await
            .unwrap();
        assert_eq!(elsewhere.certificate(), kept.certificate());

        // Ended, the session signs nowhere, whatever was kept.
        let end = TestRequest::delete().uri(&format!("/api/v1/me/signing-sessions/{}", token.id()));
        let ended = f.call(&bearer, end).await;
        assert_eq!(ended.status(), 204);
        for state in [&f.state, &other] {
            let after = personal_signer(state, &auth, session(&text))
                .await
                .map(|_| ());
            assert!(
                matches!(after, Err(ApiError::SigningSessionInvalid(_))),
                "{after:?}"
            );
        }
    }

    #[actix_web::test]
    async fn sessions_expire_and_open_for_their_owner_only() {
        let f = fixture(SigningSettings {
            session_ttl: Duration::from_millis(1500),
            ..SigningSettings::default()
        });
        let (leader, bearer) = f.account("district.leader", &[Role::Leader]);
        let (deputy, deputy_bearer) = f.account("district.deputy", &[Role::Leader]);
        let (_, admin_bearer) = f.account("district.admin", &[Role::Admin]);
        f.enrol(leader.id);
        f.enrol(deputy.id);
        let token = f.open_session(&bearer).await;
        let text = token.to_text();
        let session = || Unlock::Session(SessionToken::parse(&text).unwrap());

        let deputy_auth = f.auth(&deputy_bearer).await;
        let theirs = personal_signer(&f.state, &deputy_auth, session())
            .await
            .map(|_| ());
        assert!(
            matches!(theirs, Err(ApiError::SigningSessionInvalid(_))),
            "{theirs:?}"
        );
        let admin = f.auth(&admin_bearer).await;
        let by_admin = personal_signer(&f.state, &admin, session())
            .await
            .map(|_| ());
        assert!(matches!(by_admin, Err(ApiError::Forbidden)), "{by_admin:?}");

        let auth = f.auth(&bearer).await;
        personal_signer(&f.state, &auth, session()).await.unwrap();
        actix_web::rt::time::sleep(Duration::from_millis(1600)).await;
        let late = personal_signer(&f.state, &auth, session())
            .await
            .map(|_| ());
        assert!(
            matches!(late, Err(ApiError::SigningSessionInvalid(why)) if why.contains("expired")),
            "{late:?}"
        );
    }

    #[test]
    fn a_signing_request_names_one_way_to_unlock() {
        assert!(matches!(
            Unlock::from_request(Some(PIN), None),
            Ok(Unlock::Pin(_))
        ));
        let token = SessionToken::generate().to_text();
        assert!(matches!(
            Unlock::from_request(None, Some(&token)),
            Ok(Unlock::Session(_))
        ));
        for (pin, session) in [(None, None), (Some(PIN), Some(token.as_str()))] {
            let Err(ApiError::Validation(e)) = Unlock::from_request(pin, session) else {
                panic!("{pin:?} {session:?} is refused");
            };
            assert_eq!(e.field, "pin");
        }
        assert!(matches!(
            Unlock::from_request(Some("123456"), None),
            Err(ApiError::Validation(_))
        ));
        assert!(matches!(
            Unlock::from_request(None, Some("not a token")),
            Err(ApiError::SigningSessionInvalid(_))
        ));
    }

    #[actix_web::test]
    async fn a_revoked_certificate_refuses_to_sign_saying_since_when() {
        let crls = |hard_fail| {
            Some(SignerRevocation {
                source: vanthu_pades::revocation::Source::Offline(vec![dev("")]),
                hard_fail,
            })
        };
        let f = fixture_checking(SigningSettings::default(), crls(true));
        let enrol_seal = |name: &str| {
            let der = std::fs::read(dev(name)).unwrap();
            let (key, cert, chain) = open_signing_pkcs12(&der, "vanthu-dev").unwrap();
            let (record, wrapped) =
                wrap_seal_key(f.unit.id, &key, &cert, &chain, &f.state.kek).unwrap();
            f.state.db.enrol_signing_key(&record, &wrapped).unwrap();
        };
        // Off the async runtime, as the release and the outbox worker call it.
        let package_seal = |check: Option<&SignerRevocation>| {
            std::thread::scope(|s| {
                s.spawn(|| interchange_seal(&f.state.db, &f.state.kek, f.unit.id, check))
                    .join()
                    .unwrap()
                    .map(|_| ())
            })
        };
        enrol_seal("seal.p12");
        seal_signer(&f.state, f.unit.id).await.unwrap();
        package_seal(f.state.signer_revocation.as_ref()).unwrap();
        enrol_seal("revoked.p12");
        let refused = seal_signer(&f.state, f.unit.id).await.map(|_| ());
        let Err(ApiError::UnusableCertificate(why)) = refused else {
            panic!("{refused:?}");
        };
        assert!(
            why.contains(" was revoked on 20") && why.contains("(according to its crl)"),
            "{why}"
        );
        // The edXML package seal is checked the same way, before anything is signed.
        let refused = package_seal(f.state.signer_revocation.as_ref());
        let Err(ApiError::UnusableCertificate(package_why)) = refused else {
            panic!("{refused:?}");
        };
        assert_eq!(package_why, why);

        // A leader's key is checked the same way; hard-fail refuses a key without data.
        let (leader, bearer) = f.account("district.leader", &[Role::Leader]);
        f.enrol(leader.id);
        let auth = f.auth(&bearer).await;
        let pin = || Unlock::Pin(SigningPin::parse(PIN).unwrap());
        personal_signer(&f.state, &auth, pin()).await.unwrap();
        let empty = tempfile::tempdir().unwrap();
        let checking = |hard_fail| {
            let mut state = app_state(
                f.state.db.clone(),
                f._dir.path(),
                SigningSettings::default(),
                Kek::generate(),
            );
            state.signer_revocation = Some(SignerRevocation {
                source: vanthu_pades::revocation::Source::Offline(vec![empty.path().to_owned()]),
                hard_fail,
            });
            web::Data::new(state)
        };
        let missing = personal_signer(&checking(true), &auth, pin())
            .await
            .map(|_| ());
        assert!(
            matches!(&missing, Err(ApiError::UnusableCertificate(why)) if why.contains("no revocation data")),
            "{missing:?}"
        );
        personal_signer(&checking(false), &auth, pin())
            .await
            .unwrap();
    }

    #[actix_web::test]
    async fn the_seal_signer_opens_under_the_kek_only() {
        let f = fixture(SigningSettings::default());
        let missing = seal_signer(&f.state, f.unit.id).await.map(|_| ());
        assert!(matches!(missing, Err(ApiError::NoSealKey)), "{missing:?}");

        let der = std::fs::read(dev("seal.p12")).unwrap();
        let (key, cert, chain) = open_signing_pkcs12(&der, "vanthu-dev").unwrap();
        let (record, wrapped) =
            wrap_seal_key(f.unit.id, &key, &cert, &chain, &f.state.kek).unwrap();
        f.state.db.enrol_signing_key(&record, &wrapped).unwrap();
        let seal = seal_signer(&f.state, f.unit.id).await.unwrap();
        assert_valid(pyhanko_verdict("seal_signer", seal.as_ref()));

        let other = f.another_instance();
        let wrong_kek = seal_signer(&other, f.unit.id).await.map(|_| ());
        assert!(
            matches!(wrong_kek, Err(ApiError::Internal(_))),
            "{wrong_kek:?}"
        );
    }
}
