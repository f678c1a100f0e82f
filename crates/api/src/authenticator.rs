//! `/api/v1/me/authenticator`: a leader's authenticator app (TOTP, RFC 6238), the second
//! factor that approves signing at vanthu's CSC service (`/csc/v1/`).
//!
//! Adding one takes the signing PIN (counted as everywhere), so a stolen login alone cannot
//! put an attacker's phone in place of the leader's; the secret is shown once and is
//! unusable until a first code confirms that the app holds it. Once it has approved a
//! signature it is replaced only by enrolling the signing key again.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vanthu_domain::ValidationError;
use vanthu_keys::{SigningPin, TotpSecret};
use vanthu_store::TotpEnrolment;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::json::Json;
use crate::signing_keys::{authorize_own_key, binding_of, open_with_pin, personal_key};
use crate::state::AppState;

/// The issuer an authenticator app shows beside the account.
const ISSUER: &str = "vanthu";

/// Body of `POST /api/v1/me/authenticator`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddAuthenticator {
    /// The signing PIN; a wrong one counts toward blocking the key.
    #[schema(format = Password, min_length = 6, max_length = 64)]
    pub pin: String,
}

/// A new authenticator secret, shown once.
#[derive(Serialize, ToSchema)]
pub struct AuthenticatorSecret {
    /// The address to show as a QR code for the app to scan.
    #[schema(
        example = "otpauth://totp/vanthu:district.leader?secret=JBSWY3DPEHPK3PXP&issuer=vanthu&algorithm=SHA1&digits=6&period=30"
    )]
    pub otpauth_uri: String,
    /// The secret in base32, to type into the app instead.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    pub secret: String,
    /// Digits of a code.
    #[schema(example = 6)]
    pub digits: u32,
    /// Seconds each code lasts.
    #[schema(example = 30)]
    pub period: u64,
    /// Always false: confirm with `POST /api/v1/me/authenticator/confirm` and the app's code.
    pub confirmed: bool,
}

/// Body of `POST /api/v1/me/authenticator/confirm`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmAuthenticator {
    /// The six-digit code the app shows now.
    #[schema(pattern = "^[0-9]{6}$", example = "492039")]
    pub code: String,
}

/// The state of your authenticator.
#[derive(Serialize, ToSchema)]
pub struct AuthenticatorStatus {
    /// Whether a code confirmed it: only then does it approve signatures.
    pub confirmed: bool,
}

/// Adds your authenticator app (leaders with a signing key): the secret to scan or type in,
/// shown once. It replaces one not yet confirmed; confirm it with its first code.
#[utoipa::path(
    post,
    path = "/api/v1/me/authenticator",
    tag = "signing",
    request_body = AddAuthenticator,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added, not yet confirmed", body = AuthenticatorSecret, headers(("Cache-Control" = String, description = "Always `no-store`: the body holds the secret"))),
        (status = 400, description = "Malformed body", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a leader, or the PIN is wrong (`signing_pin_wrong`, with `attempts_left`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No key enrolled (`no_signing_key`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Your authenticator has approved signatures already: enrol your signing key again to replace it (`conflict`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The PIN breaks a rule (`field` is `pin`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 423, description = "The key is blocked (`signing_key_blocked`)", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: Json<AddAuthenticator>,
) -> Result<HttpResponse, ApiError> {
    authorize_own_key(&auth)?;
    let pin = SigningPin::parse(&body.0.pin)?;
    let user = auth.user.id;
    let account = auth.user.username.as_str().to_owned();
    let answer = web::block(move || -> Result<AuthenticatorSecret, ApiError> {
        let opened = open_with_pin(&state.db, user, &pin)?;
        let secret = TotpSecret::generate();
        let sealed = secret
            .seal(&state.kek, &opened.binding)
            .map_err(ApiError::internal)?;
        match state
            .db
            .enrol_totp(user, opened.key.id, &sealed, Utc::now())?
        {
            TotpEnrolment::Enrolled => Ok(AuthenticatorSecret {
                otpauth_uri: secret.otpauth_uri(ISSUER, &account).to_string(),
                secret: secret.base32().to_string(),
                digits: vanthu_keys::totp::DIGITS as u32,
                period: vanthu_keys::totp::STEP_SECONDS,
                confirmed: false,
            }),
            TotpEnrolment::InUse => Err(ApiError::Conflict(
                "your authenticator app has approved signatures already; to replace it (a \
                 lost phone), enrol your signing key again, then add the new app"
                    .into(),
            )),
        }
    })
    .await??;
    tracing::info!(user_id = %user, "authenticator added");
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(answer))
}

/// Confirms your authenticator with the code it shows now; from then on it approves
/// signatures at `/csc/v1/credentials/authorize`. Each code works once, here too.
#[utoipa::path(
    post,
    path = "/api/v1/me/authenticator/confirm",
    tag = "signing",
    request_body = ConfirmAuthenticator,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Confirmed", body = AuthenticatorStatus),
        (status = 400, description = "Malformed body", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only leaders hold personal signing keys", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No key enrolled (`no_signing_key`), or no authenticator added for it (`not_found`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The code is not the app's current one, or was used already (`field` is `code`)", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn confirm(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: Json<ConfirmAuthenticator>,
) -> Result<HttpResponse, ApiError> {
    authorize_own_key(&auth)?;
    let user = auth.user.id;
    let code = body.0.code;
    web::block(move || -> Result<(), ApiError> {
        let key = personal_key(&state.db, user)?;
        let authenticator = state
            .db
            .totp_of(user)?
            .filter(|t| t.signing_key_id == key.id)
            .ok_or(ApiError::NotFound {
                what: "authenticator",
            })?;
        let secret = TotpSecret::open(&authenticator.sealed, &state.kek, &binding_of(&key)?)
            .map_err(ApiError::internal)?;
        let now = u64::try_from(Utc::now().timestamp()).map_err(ApiError::internal)?;
        let wrong = |why: &str| ApiError::Validation(ValidationError::new("code", why));
        let step = secret.matching_step(&code, now).ok_or_else(|| {
            wrong("the code is not the one your authenticator app shows now; type the six digits it shows")
        })?;
        let step = i64::try_from(step).map_err(ApiError::internal)?;
        if !state.db.take_totp_step(user, step)? {
            return Err(wrong(
                "this code was used already; wait for the app's next code",
            ));
        }
        Ok(())
    })
    .await??;
    tracing::info!(user_id = %user, "authenticator confirmed");
    Ok(HttpResponse::Ok().json(AuthenticatorStatus { confirmed: true }))
}
