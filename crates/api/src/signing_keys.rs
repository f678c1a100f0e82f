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
use vanthu_pades::signer::{DerSigner, Pkcs12Signer, SignerError, SignerOptions};
use vanthu_pades::trust::{check_usage, display_name, Usage};
use vanthu_store::{
    Certificate, CertificateOwner, CertificatePurpose, Database, NewCertificate, NewSigningSession,
    PinAttempt, PinFailure, SessionUse, SigningKey, StoreError,
};
use zeroize::Zeroizing;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::incoming::{is_multipart, read_part};
use crate::json::Json;
use crate::state::AppState;
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
}

impl From<SigningKey> for SigningKeyView {
    fn from(k: SigningKey) -> Self {
        SigningKeyView {
            attempts_left: k.attempts_left(),
            blocked: k.blocked_at.is_some(),
            subject: k.certificate.subject,
            serial: k.certificate.serial,
            not_before: k.certificate.not_before,
            not_after: k.certificate.not_after,
            enrolled_at: k.created_at,
            pin_changed_at: k.pin_changed_at,
        }
    }
}

/// The form of `POST /api/v1/me/signing-key`.
/// Describes the form for the OpenAPI document; the handler reads the parts as they stream.
#[derive(ToSchema)]
pub struct SigningKeyUpload {
    /// The PKCS#12 (.p12/.pfx) file with the private key and certificate (up to 64 KiB):
    /// RSA of 2048 bits or more, or ECDSA P-256/P-384; the certificate valid now, its key
    /// usage allowing digitalSignature or nonRepudiation.
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
fn authorize_own_key(auth: &Authenticated) -> Result<(), ApiError> {
    auth.authorize(
        Action::UsePersonalKey,
        &Target::personal(auth.actor.unit_path.clone(), auth.user.id),
        SIGNING_KEY,
    )
}

fn key_owner(owner: CertificateOwner) -> KeyOwner {
    match owner {
        CertificateOwner::User(u) => KeyOwner::User(u),
        CertificateOwner::Unit(u) => KeyOwner::Unit(u),
        CertificateOwner::System => KeyOwner::Installation,
    }
}

/// The certificate (DER) and its issuers (DER) of a stored certificate.
fn certificate_ders(certificate: &Certificate) -> Result<(Vec<u8>, Vec<Vec<u8>>), ApiError> {
    let cert = X509::from_pem(certificate.cert_pem.as_bytes())
        .and_then(|c| c.to_der())
        .map_err(ApiError::internal)?;
    let chain = if certificate.chain_pem.trim().is_empty() {
        Vec::new()
    } else {
        X509::stack_from_pem(certificate.chain_pem.as_bytes())
            .map_err(ApiError::internal)?
            .iter()
            .map(|c| c.to_der())
            .collect::<Result<_, _>>()
            .map_err(ApiError::internal)?
    };
    Ok((cert, chain))
}

fn binding_of(key: &SigningKey) -> Result<KeyBinding, ApiError> {
    let (cert, _) = certificate_ders(&key.certificate)?;
    Ok(KeyBinding::new(key_owner(key.certificate.owner), &cert))
}

/// A signer for an unwrapped key, refused once its certificate has expired.
fn signer_from(key: &SigningKey, pkcs8: &Unwrapped) -> Result<DerSigner, ApiError> {
    if key.certificate.not_after <= Utc::now() {
        return Err(ApiError::UnusableCertificate(format!(
            "the certificate of this key expired on {}; enrol the key of your new certificate",
            key.certificate.not_after.format("%Y-%m-%d")
        )));
    }
    let (cert, chain) = certificate_ders(&key.certificate)?;
    DerSigner::from_der(pkcs8.pkcs8_der(), &cert, &chain, SignerOptions::default())
        .map_err(ApiError::internal)
}

fn personal_key(db: &Database, user: UserId) -> Result<SigningKey, ApiError> {
    db.signing_key_of(CertificateOwner::User(user))
        .map_err(|e| match e {
            StoreError::NotFound { .. } => ApiError::NoSigningKey,
            e => e.into(),
        })
}

/// A personal key opened with its PIN.
struct Opened {
    key: SigningKey,
    binding: KeyBinding,
    pkcs8: Unwrapped,
}

/// Tries `pin` on `user`'s key: counted before it is checked, reset when right, blocking the
/// key at the fifth wrong one in a row. Blocks for the time of one Argon2id derivation.
fn open_with_pin(db: &Database, user: UserId, pin: &SigningPin) -> Result<Opened, ApiError> {
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

/// Takes one signature from a session of `user` and opens its key with the token.
fn open_with_session(
    db: &Database,
    user: UserId,
    token: &SessionToken,
) -> Result<DerSigner, ApiError> {
    match db.use_signing_session(token.id(), user, Utc::now())? {
        SessionUse::Granted(granted) => {
            let binding = binding_of(&granted.key)?;
            let pkcs8 = token
                .open(&granted.sealed, &binding)
                .map_err(|_| ApiError::SigningSessionInvalid("does not open with this token"))?;
            signer_from(&granted.key, &pkcs8)
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
/// session. The signer carries the certificate and its stored chain.
///
/// Errors: `Forbidden` (not a leader), `NoSigningKey`, `SigningPinWrong { attempts_left }`,
/// `SigningKeyBlocked`, `SigningSessionInvalid` (expired, used up, ended, someone else's),
/// `UnusableCertificate` (the certificate has expired).
pub async fn personal_signer(
    state: &AppState,
    auth: &Authenticated,
    unlock: Unlock,
) -> Result<DerSigner, ApiError> {
    authorize_own_key(auth)?;
    let db = state.db.clone();
    let user = auth.user.id;
    web::block(move || match unlock {
        Unlock::Pin(pin) => {
            let opened = open_with_pin(&db, user, &pin)?;
            signer_from(&opened.key, &opened.pkcs8)
        }
        Unlock::Session(token) => open_with_session(&db, user, &token),
    })
    .await?
}

/// The signer of an organisation's seal key, opened with the key-encryption key.
///
/// The seal is the organisation's, applied when its clerk issues a document: the caller
/// must have authorised that act for `unit` before asking. Errors: `NoSealKey` when none is
/// installed, `UnusableCertificate` when its certificate has expired, `Internal` (logged)
/// when the configured KEK does not open it.
pub async fn seal_signer(state: &AppState, unit: UnitId) -> Result<DerSigner, ApiError> {
    let db = state.db.clone();
    let kek = Arc::clone(&state.kek);
    web::block(move || {
        let key = db
            .signing_key_of(CertificateOwner::Unit(unit))
            .map_err(|e| match e {
                StoreError::NotFound { .. } => ApiError::NoSealKey,
                e => e.into(),
            })?;
        let pkcs8 = key
            .wrapped
            .open_with_kek(&kek, &binding_of(&key)?)
            .map_err(|e| {
                tracing::error!(unit_id = %unit, kek = %kek.id(), "seal key does not open");
                ApiError::internal(e)
            })?;
        signer_from(&key, &pkcs8)
    })
    .await?
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
fn certificate_record(
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

/// Opens an uploaded PKCS#12 file and checks that it can sign now: the key type and size
/// the signer accepts, a key that matches the certificate, a certificate valid today whose
/// key usage allows signing.
fn open_pkcs12(der: &[u8], password: &str) -> Result<(PKey<Private>, X509, Vec<X509>), ApiError> {
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
        return Err(ApiError::UnsupportedMediaType {
            expected: "multipart/form-data with the parts `pkcs12`, `password` and `pin`",
        });
    }
    let parts = read_enrolment(&req, payload).await?;
    let pkcs12 = parts.pkcs12.ok_or_else(|| missing("pkcs12"))?;
    let password = parts.password.ok_or_else(|| missing("password"))?;
    let pin = SigningPin::parse(&parts.pin.ok_or_else(|| missing("pin"))?)?;
    let user = auth.user.id;
    let kdf = state.signing.kdf;
    let key = web::block(move || -> Result<SigningKey, ApiError> {
        let (key, cert, chain) = open_pkcs12(&pkcs12, &password)?;
        let (record, wrapped) = wrap_personal_key(user, &key, &cert, &chain, &pin, kdf)?;
        Ok(state.db.enrol_signing_key(&record, &wrapped)?)
    })
    .await??;
    tracing::info!(user_id = %user, serial = %key.certificate.serial, "signing key enrolled");
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, "/api/v1/me/signing-key"))
        .json(SigningKeyView::from(key)))
}

/// Your signing key: its certificate, whether it is blocked, and how many wrong PINs are
/// left. Never any key material.
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
    )
)]
pub async fn status(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    authorize_own_key(&auth)?;
    let user = auth.user.id;
    let key = web::block(move || personal_key(&state.db, user)).await??;
    Ok(HttpResponse::Ok().json(SigningKeyView::from(key)))
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
        (status = 422, description = "The PIN breaks a rule (`field` is `pin`), or the certificate has expired (`unusable_certificate`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 423, description = "The key is blocked (`signing_key_blocked`)", body = crate::error::Problem, content_type = "application/problem+json"),
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
    let view = web::block(move || -> Result<SigningSessionView, ApiError> {
        let opened = open_with_pin(&state.db, user, &pin)?;
        // Fails now, not at the first signature, when the certificate has expired.
        signer_from(&opened.key, &opened.pkcs8)?;
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
            sealed,
            created_at,
            expires_at,
            signatures: settings.session_signatures,
        })?;
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
    web::block(move || state.db.end_signing_session(id, user))
        .await?
        .map_err(|e| match e {
            StoreError::NotFound { .. } => not_found(),
            e => e.into(),
        })?;
    tracing::info!(user_id = %user, session = %id, "signing session ended");
    Ok(HttpResponse::NoContent().finish())
}
