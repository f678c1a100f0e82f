//! `/csc/v1/`: vanthu as a remote signing service speaking the Cloud Signature Consortium API
//! v1.0.4 for its own leaders' server-held keys, so that any CSC client (pyHanko's, a
//! desktop signing tool, another vanthu) signs with them.
//!
//! docs/signing.md gives the design. Each leader's key is one credential. Signing takes the
//! user's own approval for exactly the hashes to be signed: `credentials/authorize` wants the
//! signing PIN (counted toward the five-attempt block exactly as on `/api/v1`) and a one-time
//! code from the leader's authenticator app (each code once); it answers a SAD, which is a
//! [`SessionToken`]: the key, opened with the PIN, is sealed again under the SAD's secret
//! and stored with the hashes it may sign and a short expiry, so the PIN is not kept and
//! `signatures/signHash` opens the key with the SAD alone, once per hash.
//!
//! Errors are in the CSC format ([`error::CscError`]), not problem+json.

mod credential;
pub mod error;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{SubsecRound, TimeDelta, Utc};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use vanthu_domain::UserId;
use vanthu_keys::{SessionToken, SigningPin, TotpSecret};
use vanthu_remote::csc::messages::{
    AuthorizeRequest, AuthorizeResponse, CredentialInfoRequest, CredentialInfoResponse,
    ErrorResponse, InfoRequest, InfoResponse, ListRequest, ListResponse, LoginRequest,
    LoginResponse, OtpInfo, PinInfo, SignHashRequest, SignHashResponse, SPECS,
};
use vanthu_store::{CscUse, NewCscAuthorization, PinAttempt, PinFailure, SigningKey};

use self::credential::{credential_id, sign_digests, Described};
use self::error::CscError;
use crate::auth::{bearer_token, session, sign_in, Authenticated};
use crate::error::ApiError;
use crate::signing_keys::{
    authorize_own_key, binding_of, open_with_pin, personal_key, refuse_revoked, signer_from,
};
use crate::state::AppState;

/// The methods served, as `info` lists them.
const METHODS: [&str; 6] = [
    "info",
    "auth/login",
    "credentials/list",
    "credentials/info",
    "credentials/authorize",
    "signatures/signHash",
];

/// Registers `/csc/v1/`: every method a POST resource, other methods 405, other paths 404,
/// all in the CSC error format.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let method = |path: &str| {
        web::resource(path).default_service(web::to(|| async {
            Err::<HttpResponse, _>(CscError::method_not_allowed())
        }))
    };
    cfg.service(
        web::scope("/csc/v1")
            .service(method("/info").route(web::post().to(info)))
            .service(method("/auth/login").route(web::post().to(login)))
            .service(method("/credentials/list").route(web::post().to(list)))
            .service(method("/credentials/info").route(web::post().to(credential_info)))
            .service(method("/credentials/authorize").route(web::post().to(authorize)))
            .service(method("/signatures/signHash").route(web::post().to(sign_hash)))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(CscError::no_method())
            })),
    );
}

/// Reads a JSON body of at most the server's JSON limit; an empty body is `{}`, as the
/// specification lets methods whose parameters are all optional be called without one.
async fn read<T: DeserializeOwned>(
    state: &AppState,
    mut payload: web::Payload,
) -> Result<T, CscError> {
    let limit = state.limits.json;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            CscError::invalid_request(format!("The request body could not be read: {e}"))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(CscError::too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &body
    };
    serde_json::from_slice(text).map_err(|e| {
        CscError::invalid_request(format!(
            "The body is not the JSON object this method takes: {e}"
        ))
    })
}

/// The signed-in user of the bearer token (one of `auth/login`, or of `/api/v1/auth/login`:
/// they are the same sessions).
async fn signed_in(
    req: &HttpRequest,
    state: &web::Data<AppState>,
) -> Result<Authenticated, CscError> {
    let token = bearer_token(req).ok_or(ApiError::Unauthorized)?;
    Ok(session(state, &token).await?)
}

/// The caller's key when it is credential `id`; anything else (no key, another user's
/// credential, not a leader) is the same answer, so nothing is learnt of others' keys.
fn own_key(state: &AppState, auth_user: UserId, id: &str) -> Result<SigningKey, CscError> {
    match personal_key(&state.db, auth_user) {
        Ok(key) if credential_id(&key) == id => Ok(key),
        Ok(_) | Err(ApiError::NoSigningKey) => Err(no_credential()),
        Err(e) => Err(e.into()),
    }
}

fn no_credential() -> CscError {
    CscError::invalid_parameter("credentialID", "no such credential of yours")
}

/// The signed-in leader and the body of a request about one of their credentials: only
/// leaders hold personal keys, and the policy's answer for anyone else is "no credential".
async fn leader_request<T: DeserializeOwned>(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    payload: web::Payload,
) -> Result<(Authenticated, T), CscError> {
    let auth = signed_in(req, state).await?;
    let body = read(state, payload).await?;
    authorize_own_key(&auth).map_err(|_| no_credential())?;
    Ok((auth, body))
}

/// Describes the service: what it is and the methods it offers.
#[utoipa::path(
    post,
    path = "/csc/v1/info",
    tag = "csc",
    request_body(content = InfoRequest, description = "Optional; `lang` `vi` answers in Vietnamese"),
    responses(
        (status = 200, body = InfoResponse),
    )
)]
pub async fn info(
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, CscError> {
    let body: InfoRequest = read(&state, payload).await?;
    let vietnamese = body.lang.as_deref().is_some_and(|l| l.starts_with("vi"));
    let (lang, description) = if vietnamese {
        (
            "vi",
            "Dịch vụ ký số từ xa của vanthu: khóa của lãnh đạo do máy chủ giữ, mỗi lần ký cần \
             mã PIN ký số và mã dùng một lần từ ứng dụng xác thực",
        )
    } else {
        (
            "en",
            "vanthu's remote signing service: leaders' server-held keys, each signature \
             approved with the signing PIN and a one-time code from an authenticator app",
        )
    };
    Ok(HttpResponse::Ok().json(InfoResponse {
        specs: SPECS.into(),
        name: "vanthu".into(),
        logo: String::new(),
        region: "VN".into(),
        lang: lang.into(),
        description: description.into(),
        auth_type: vec!["basic".into()],
        methods: METHODS.iter().map(|m| (*m).to_owned()).collect(),
    }))
}

/// Signs in: HTTP Basic with the vanthu username and password (throttled and audited as
/// `/api/v1/auth/login`), or the bearer token of a session already open, which is
/// returned as it is.
#[utoipa::path(
    post,
    path = "/csc/v1/auth/login",
    tag = "csc",
    request_body(content = LoginRequest, description = "Optional; `rememberMe` is ignored"),
    security(("basic" = []), ("bearer" = [])),
    responses(
        (status = 200, body = LoginResponse, headers(("Cache-Control" = String, description = "Always `no-store`: the body holds a bearer token"))),
        (status = 400, description = "Malformed body or Basic credentials (`invalid_request`)", body = ErrorResponse),
        (status = 401, description = "No credentials, wrong username or password (`authentication_error`), or a bearer token that is not valid (`invalid_token`)", body = ErrorResponse),
        (status = 429, description = "Too many failures for this username from this address (`access_denied`): wait as `Retry-After` says", body = ErrorResponse,
            headers(("Retry-After" = u64, description = "Seconds to wait before the next attempt"))),
        (status = 503, description = "The database is not reachable, or too many passwords are being checked at once (`temporarily_unavailable`)", body = ErrorResponse),
    )
)]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, CscError> {
    let _: LoginRequest = read(&state, payload).await?;
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (scheme, value) = authorization.split_once(' ').unwrap_or_default();
    let (access_token, expires_at) = if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD
            .decode(value.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| {
                CscError::invalid_request(
                    "The Basic credentials are not base64 of username:password",
                )
            })?;
        let (username, password) = decoded.split_once(':').ok_or_else(|| {
            CscError::invalid_request("The Basic credentials are not base64 of username:password")
        })?;
        let credentials = crate::auth::LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        let opened = sign_in(&req, &state, credentials).await?;
        (opened.token, opened.expires_at)
    } else if scheme.eq_ignore_ascii_case("bearer") {
        let auth = signed_in(&req, &state).await?;
        (value.trim().to_owned(), auth.expires_at)
    } else {
        return Err(CscError::from(ApiError::Unauthorized));
    };
    let expires_in = (expires_at - Utc::now())
        .num_seconds()
        .max(0)
        .unsigned_abs();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(LoginResponse {
            access_token,
            expires_in,
        }))
}

/// Lists the caller's credentials: their server-held key, if they are a leader with one.
#[utoipa::path(
    post,
    path = "/csc/v1/credentials/list",
    tag = "csc",
    request_body(content = ListRequest, description = "Optional; `userID` other than your own username is refused"),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ListResponse),
        (status = 400, description = "Malformed body, `maxResults` 0, or `userID` naming someone else (`invalid_request`)", body = ErrorResponse),
    )
)]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, CscError> {
    let auth = signed_in(&req, &state).await?;
    let body: ListRequest = read(&state, payload).await?;
    if body
        .user_id
        .as_deref()
        .is_some_and(|u| u != auth.user.username.as_str())
    {
        return Err(CscError::invalid_parameter(
            "userID",
            "a user lists only their own credentials",
        ));
    }
    if body.max_results == Some(0) {
        return Err(CscError::invalid_parameter(
            "maxResults",
            "must be at least 1",
        ));
    }
    let mut ids = Vec::new();
    if authorize_own_key(&auth).is_ok() {
        let user = auth.user.id;
        let state = state.clone();
        match web::block(move || personal_key(&state.db, user)).await? {
            Ok(key) => ids.push(credential_id(&key)),
            Err(ApiError::NoSigningKey) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(HttpResponse::Ok().json(ListResponse {
        credential_ids: ids,
    }))
}

/// Describes one of the caller's credentials: the key, the certificate (and its chain), and
/// what `credentials/authorize` asks for (`authMode` explicit: the PIN and a one-time code).
#[utoipa::path(
    post,
    path = "/csc/v1/credentials/info",
    tag = "csc",
    request_body = CredentialInfoRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = CredentialInfoResponse),
        (status = 400, description = "Malformed body, no such credential of yours, or `certificates` not none, single or chain (`invalid_request`)", body = ErrorResponse),
    )
)]
pub async fn credential_info(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, CscError> {
    let (auth, body): (_, CredentialInfoRequest) = leader_request(&req, &state, payload).await?;
    let user = auth.user.id;
    let multisign = state.signing.session_signatures;
    let state = state.clone();
    let key = web::block(move || own_key(&state, user, &body.credential_id)).await??;
    let described = Described::of(&key)?;
    let certificates = body.certificates.as_deref().unwrap_or("single");
    let details = body.cert_info.unwrap_or(false);
    let cert = (certificates != "none" || details)
        .then(|| described.cert_info(certificates, details))
        .transpose()?;
    let auth_info = body.auth_info.unwrap_or(false);
    Ok(HttpResponse::Ok().json(CredentialInfoResponse {
        key: described.key_info(key.blocked_at.is_some()),
        cert,
        auth_mode: "explicit".into(),
        scal: Some("2".into()),
        pin: auth_info.then(|| PinInfo {
            presence: "true".into(),
            format: "A".into(),
            label: "Signing PIN".into(),
            description: "Your signing PIN (mã PIN ký số); five wrong ones in a row disable \
                          the credential"
                .into(),
        }),
        otp: auth_info.then(|| OtpInfo {
            presence: "true".into(),
            otp_type: "offline".into(),
            format: "N".into(),
            label: "One-time code".into(),
            description: "The six-digit code your authenticator app shows now; each code \
                          works once"
                .into(),
        }),
        multisign,
    }))
}

/// The hashes an authorization names, in canonical base64: as many as `numSignatures`, at
/// most `multisign`, each a SHA-256, SHA-384 or SHA-512 digest, none twice.
fn requested_hashes(body: &AuthorizeRequest, multisign: u32) -> Result<Vec<String>, CscError> {
    if body.num_signatures == 0 {
        return Err(CscError::invalid_parameter(
            "numSignatures",
            "must be at least 1",
        ));
    }
    if body.num_signatures > multisign {
        return Err(CscError::invalid_parameter(
            "numSignatures",
            &format!("at most {multisign} signatures per authorization"),
        ));
    }
    let hashes = body.hash.as_ref().ok_or_else(|| {
        CscError::invalid_request(
            "Missing array parameter hash: the credential's SCAL is 2, so an authorization \
             names the hashes it allows",
        )
    })?;
    if hashes.len() != body.num_signatures as usize {
        return Err(CscError::invalid_parameter(
            "numSignatures",
            "must be the number of hashes given",
        ));
    }
    let mut canonical: Vec<String> = Vec::with_capacity(hashes.len());
    for hash in hashes {
        let bytes = decode_hash(hash)?;
        if ![32, 48, 64].contains(&bytes.len()) {
            return Err(CscError::invalid_parameter(
                "hash",
                "each must be a SHA-256, SHA-384 or SHA-512 digest",
            ));
        }
        let text = STANDARD.encode(bytes);
        if canonical.contains(&text) {
            return Err(CscError::invalid_parameter("hash", "names a hash twice"));
        }
        canonical.push(text);
    }
    Ok(canonical)
}

fn decode_hash(hash: &str) -> Result<Vec<u8>, CscError> {
    STANDARD
        .decode(hash)
        .map_err(|_| CscError::invalid_parameter("hash", "each must be base64"))
}

/// Approves signing exactly the hashes given with one of the caller's credentials: the
/// signing PIN and a one-time code of their authenticator app, both required. Answers the
/// SAD, good for those hashes only (each once) for a few minutes.
///
/// A wrong PIN, and a wrong code, count toward the five attempts that disable the
/// credential, as a wrong PIN does on `/api/v1`; a code used already is refused without
/// being counted. The code is checked first and is spent even when the PIN then is wrong.
#[utoipa::path(
    post,
    path = "/csc/v1/credentials/authorize",
    tag = "csc",
    request_body = AuthorizeRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = AuthorizeResponse, headers(("Cache-Control" = String, description = "Always `no-store`: the SAD opens the key"))),
        (status = 400, description = "Malformed body; no such credential of yours; `hash` missing, malformed, repeated or not `numSignatures` long; no confirmed authenticator; the credential disabled or its certificate expired; the leader's key is in their own PKCS#11 token on the server, whose PIN is never kept (`invalid_request`); the PIN wrong (`invalid_pin`); the code wrong or used already (`invalid_otp`)", body = ErrorResponse),
    )
)]
pub async fn authorize(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, CscError> {
    let (auth, body): (_, AuthorizeRequest) = leader_request(&req, &state, payload).await?;
    let hashes = requested_hashes(&body, state.signing.session_signatures)?;
    let pin = body
        .pin
        .as_deref()
        .ok_or_else(|| CscError::invalid_request("Missing string parameter PIN"))?;
    let pin = SigningPin::parse(pin).map_err(|e| CscError::invalid_parameter("PIN", &e.message))?;
    let otp = body
        .otp
        .clone()
        .ok_or_else(|| CscError::invalid_request("Missing string parameter OTP"))?;
    let user = auth.user.id;
    let credential = body.credential_id.clone();
    let state = state.clone();
    let answer =
        web::block(move || approve(&state, user, &credential, &hashes, &pin, &otp)).await??;
    tracing::info!(user_id = %user, credential = %body.credential_id, signatures = body.num_signatures, "CSC signatures authorized");
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(answer))
}

/// The approval itself, on a blocking thread: the code, then the PIN, then the SAD.
fn approve(
    state: &AppState,
    user: UserId,
    credential: &str,
    hashes: &[String],
    pin: &SigningPin,
    otp: &str,
) -> Result<AuthorizeResponse, CscError> {
    let db = &state.db;
    crate::signing_keys::refuse_token_key(state, &db.get_user(user)?)?;
    let key = own_key(state, user, credential)?;
    if key.blocked_at.is_some() {
        return Err(CscError::credential_disabled());
    }
    let binding = binding_of(&key)?;
    let authenticator = db
        .totp_of(user)?
        .filter(|t| t.signing_key_id == key.id && t.last_step.is_some())
        .ok_or_else(|| {
            CscError::invalid_request(
                "No confirmed authenticator app for this credential: add one with POST \
                 /api/v1/me/authenticator and confirm it with its first code",
            )
        })?;
    let secret = TotpSecret::open(&authenticator.sealed, &state.kek, &binding)
        .map_err(ApiError::internal)?;
    let now = Utc::now().trunc_subsecs(3);
    let refuse = |reason: &str, error: CscError| -> Result<AuthorizeResponse, CscError> {
        db.record_csc_refusal(user, credential, reason, now)?;
        Err(error)
    };
    let unix = u64::try_from(now.timestamp()).map_err(ApiError::internal)?;
    match secret.matching_step(otp, unix) {
        None => {
            let error = match db.begin_pin_attempt(key.id)? {
                PinAttempt::Admitted { number } => {
                    match db.record_pin_failure(key.id, number, now)? {
                        PinFailure::Wrong { attempts_left } => CscError::invalid_otp(format!(
                            "The OTP is invalid; {attempts_left} attempt(s) left before the \
                             credential is disabled"
                        )),
                        PinFailure::Blocked => CscError::credential_disabled(),
                    }
                }
                PinAttempt::Blocked => CscError::credential_disabled(),
            };
            tracing::warn!(user_id = %user, "wrong authenticator code");
            return refuse("wrong code", error);
        }
        Some(step) => {
            let step = i64::try_from(step).map_err(ApiError::internal)?;
            if !db.take_totp_step(user, step)? {
                return refuse(
                    "code used already",
                    CscError::invalid_otp(
                        "The OTP was used already; wait for the next code of your \
                         authenticator app",
                    ),
                );
            }
        }
    }
    let opened = match open_with_pin(db, user, pin) {
        Ok(opened) if opened.key.id == key.id => opened,
        Ok(_) => return Err(no_credential()),
        Err(e @ (ApiError::SigningPinWrong { .. } | ApiError::SigningKeyBlocked)) => {
            return refuse("wrong PIN", e.into())
        }
        Err(e) => return Err(e.into()),
    };
    // Refuses an expired or revoked certificate now rather than at signHash.
    refuse_revoked(
        state.signer_revocation.as_ref(),
        &signer_from(&opened.key, &opened.pkcs8)?,
    )?;
    let ttl =
        TimeDelta::from_std(state.signing.csc_authorization_ttl).map_err(ApiError::internal)?;
    let sad = SessionToken::generate();
    let sealed = sad
        .seal(&opened.pkcs8, &opened.binding)
        .map_err(ApiError::internal)?;
    db.open_csc_authorization(
        &NewCscAuthorization {
            id: sad.id(),
            user_id: user,
            signing_key_id: key.id,
            sealed,
            hashes: hashes.to_vec(),
            created_at: now,
            expires_at: now + ttl,
        },
        credential,
    )?;
    Ok(AuthorizeResponse {
        sad: sad.to_text(),
        expires_in: Some(state.signing.csc_authorization_ttl.as_secs()),
    })
}

/// Signs hashes with one of the caller's credentials under a SAD from
/// `credentials/authorize`: every hash must be one the SAD names and has not signed yet,
/// and the SAD must not have expired. The signatures come in the order of the hashes.
#[utoipa::path(
    post,
    path = "/csc/v1/signatures/signHash",
    tag = "csc",
    request_body = SignHashRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = SignHashResponse),
        (status = 400, description = "Malformed body; no such credential of yours; `signAlgo` the key does not offer, `hashAlgo` missing or disagreeing, a hash not of the digest's length; the SAD malformed, expired, someone else's or used up; a hash the SAD does not name or signed already; the credential disabled or its certificate expired (`invalid_request`)", body = ErrorResponse),
    )
)]
pub async fn sign_hash(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, CscError> {
    let (auth, body): (_, SignHashRequest) = leader_request(&req, &state, payload).await?;
    if body.hash.is_empty() {
        return Err(CscError::invalid_parameter(
            "hash",
            "name at least one hash",
        ));
    }
    if body.sign_algo_params.is_some() {
        return Err(CscError::invalid_parameter(
            "signAlgoParams",
            "the credential's algorithms take no parameters",
        ));
    }
    let sad = SessionToken::parse(&body.sad)
        .map_err(|_| CscError::invalid_parameter("SAD", "is not one this service issued"))?;
    let user = auth.user.id;
    let count = body.hash.len();
    let credential = body.credential_id.clone();
    let state = state.clone();
    let signatures = web::block(move || sign_authorized(&state, user, &body, &sad)).await??;
    tracing::info!(user_id = %user, credential = %credential, signatures = count, "CSC hashes signed");
    Ok(HttpResponse::Ok().json(SignHashResponse { signatures }))
}

/// The signing itself, on a blocking thread.
fn sign_authorized(
    state: &AppState,
    user: UserId,
    body: &SignHashRequest,
    sad: &SessionToken,
) -> Result<Vec<String>, CscError> {
    let key = own_key(state, user, &body.credential_id)?;
    let digest = Described::of(&key)?.digest_for(&body.sign_algo, body.hash_algo.as_deref())?;
    let mut digests = Vec::with_capacity(body.hash.len());
    let mut canonical = Vec::with_capacity(body.hash.len());
    for hash in &body.hash {
        let bytes = decode_hash(hash)?;
        if bytes.len() != digest.output_len() {
            return Err(CscError::invalid_parameter(
                "hash",
                &format!("each must be a {} digest, as signAlgo says", digest.name()),
            ));
        }
        canonical.push(STANDARD.encode(&bytes));
        digests.push(bytes);
    }
    let now = Utc::now();
    let granted = match state.db.use_csc_authorization(
        sad.id(),
        user,
        &canonical,
        &body.credential_id,
        now,
    )? {
        CscUse::Granted(granted) if granted.key.id == key.id => granted,
        CscUse::Granted(_) | CscUse::Unknown => {
            return Err(CscError::invalid_parameter(
                "SAD",
                "is not one this service issued to you for this credential, or is used up",
            ))
        }
        CscUse::Expired => {
            return Err(CscError::invalid_parameter(
                "SAD",
                "has expired: authorize the signatures again",
            ))
        }
        CscUse::NotAuthorized => {
            return Err(CscError::invalid_parameter(
                "hash",
                "a hash is not authorized by the SAD: it names other hashes, or signed these \
                 already",
            ))
        }
        CscUse::KeyBlocked => return Err(CscError::credential_disabled()),
    };
    if granted.key.certificate.not_after <= now {
        return Err(ApiError::UnusableCertificate(format!(
            "the certificate of this key expired on {}",
            granted.key.certificate.not_after.format("%Y-%m-%d")
        ))
        .into());
    }
    let pkcs8 = sad
        .open(&granted.sealed, &binding_of(&granted.key)?)
        .map_err(|_| CscError::invalid_parameter("SAD", "does not open this authorization"))?;
    let signatures = sign_digests(&pkcs8, digest, &digests)?;
    Ok(signatures.iter().map(|s| STANDARD.encode(s)).collect())
}
