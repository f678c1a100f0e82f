//! Authentication: login, logout, and the [`Authenticated`] extractor every protected handler
//! takes. Authorisation goes through [`Authenticated::authorize`], the single door to
//! [`vanthu_domain::access::authorize`].

use std::net::{IpAddr, Ipv4Addr};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vanthu_domain::access::{self, AccessError, Acting, Action, Actor, Authority, Target};
use vanthu_domain::{Password, SlowDown, ThrottleKey, Unit, User, Username};
use vanthu_store::{hash_token, LoginAttempt, NewSession, SessionLookup, StoreError};

use vanthu_routing::vietnam_today;

use crate::error::ApiError;
use crate::json::Json;
use crate::password::{verify_against_dummy, verify_password};
use crate::state::AppState;
use crate::token;

/// The signed-in user a request runs for.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The user as the access policy sees them.
    pub actor: Actor,
    /// Their account.
    pub user: User,
    /// Their unit.
    pub unit: Unit,
    /// When the session's token stops working.
    pub expires_at: DateTime<Utc>,
    token_hash: String,
}

impl Authenticated {
    /// Asks the access policy whether this user may perform `action` on an object in
    /// `target`, and on whose authority (their own, or a delegation's). Invisible objects
    /// become [`ApiError::NotFound`] for `what`, the same answer a missing id gets.
    pub fn authorize(
        &self,
        action: Action,
        target: &Target,
        what: &'static str,
    ) -> Result<Authority, ApiError> {
        self.check(action, target).map_err(|e| match e {
            AccessError::NotFound => ApiError::NotFound { what },
            AccessError::Forbidden => ApiError::Forbidden,
        })
    }
}

impl Authenticated {
    /// The policy's raw answer, for handlers that weigh several candidate objects (a file
    /// held by several units) before answering.
    pub fn check(&self, action: Action, target: &Target) -> Result<Authority, AccessError> {
        access::authorize(&self.actor, action, target)
    }

    /// Who acts, on the `authority` the policy gave: what the trace and the log record.
    pub fn acting(&self, authority: Authority) -> Acting {
        self.actor.acting(authority)
    }
}

pub(crate) fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && token::is_well_formed(token))
        .then(|| token.to_owned())
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    /// API routes read the bearer header only, never a cookie: a browser attaches cookies to
    /// requests other sites make it send, a header it does not.
    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let token = bearer_token(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let token = token.ok_or(ApiError::Unauthorized)?;
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            session(&state, &token).await
        })
    }
}

/// The signed-in user of a session token, however the request carried it: the bearer
/// header of the API, or the cookie of the auditors' page (`crate::reports_page`).
pub(crate) async fn session(
    state: &web::Data<AppState>,
    token: &str,
) -> Result<Authenticated, ApiError> {
    if !token::is_well_formed(token) {
        return Err(ApiError::Unauthorized);
    }
    let token_hash = hash_token(token);
    let lookup = {
        let token_hash = token_hash.clone();
        let state = state.clone();
        web::block(move || {
            let now = Utc::now();
            match state.db.find_session(&token_hash, now)? {
                SessionLookup::Active(active) => {
                    let delegations = state
                        .db
                        .delegations_in_force(active.user.id, vietnam_today(now))?;
                    Ok::<_, StoreError>((SessionLookup::Active(active), delegations))
                }
                other => Ok((other, Vec::new())),
            }
        })
        .await??
    };
    match lookup {
        (SessionLookup::Active(active), delegations) => Ok(Authenticated {
            actor: Actor::new(&active.user, &active.unit).with_delegations(delegations),
            expires_at: active.session.expires_at,
            user: active.user,
            unit: active.unit,
            token_hash,
        }),
        (SessionLookup::Expired, _) => Err(ApiError::TokenExpired),
        (SessionLookup::Revoked | SessionLookup::UserDisabled | SessionLookup::Unknown, _) => {
            Err(ApiError::Unauthorized)
        }
    }
}

/// Credentials for `POST /api/v1/auth/login`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login name, e.g. `district.clerk`.
    #[schema(example = "district.clerk")]
    pub username: String,
    /// Password.
    #[schema(example = "vanthu-demo", format = Password)]
    pub password: String,
}

/// A new session.
#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token for the `Authorization` header; shown only once.
    pub token: String,
    /// When the token stops working (RFC 3339, UTC).
    pub expires_at: DateTime<Utc>,
}

/// Sign in with username and password.
///
/// Failed attempts are counted per username and client address: after a few in a row, each
/// failure makes the next attempt from that address wait, twice as long each time (429 with
/// `Retry-After`). Other addresses are not slowed down, so nobody can lock a user out.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse, headers(("Cache-Control" = String, description = "Always `no-store`: the body holds a bearer token"))),
        (status = 400, description = "Malformed body", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong username or password", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failures for this username from this address: wait as `Retry-After` says", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before the next attempt"))),
        (status = 503, description = "Too many passwords being checked at once: try again as `Retry-After` says", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    )
)]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = sign_in(&req, &state, body.0).await?;
    // A bearer token must not be kept by a browser or proxy cache.
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(token))
}

/// Checks a username and password and opens a session: the one sign-in of the API and of
/// the auditors' page, with its throttle, its bounded hashing and its audit entries.
pub(crate) async fn sign_in(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    credentials: LoginRequest,
) -> Result<LoginResponse, ApiError> {
    let LoginRequest { username, password } = credentials;
    // Counted against the connection's own address, never a forwarded-for header a client
    // could choose freely. Only non-TCP transports lack one; they share a single count.
    let client = req
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let token_ttl = TimeDelta::from_std(state.token_ttl).map_err(ApiError::internal)?;
    // Held by the worker until the password is checked: every attempt, whatever its outcome,
    // costs at most one hash, and only so many run at once.
    let slot = state.hashing.slot().await?;
    let state = state.clone();
    web::block(move || -> Result<LoginResponse, ApiError> {
        let _slot = slot;
        // Millisecond precision, as stored, so the expiry returned is the one enforced.
        let now = Utc::now().trunc_subsecs(3);
        let key = ThrottleKey::new(&username, client);
        // The throttle admits (and counts) the attempt before the password is checked, so
        // that attempts in parallel get no more checks than attempts one after another.
        // Names that match no account are counted alike, so a 429 reveals nothing.
        let attempt = state
            .db
            .begin_login_attempt(&key, now, &SlowDown::DEFAULT)?;
        if let LoginAttempt::Throttled { until } = attempt {
            state
                .db
                .record_login_failure(None, &username, "throttled", now)?;
            return Err(too_many_attempts(until, now));
        }
        let credentials = match Username::parse(&username) {
            Ok(username) => match state.db.credentials(&username) {
                Ok(credentials) => Some(credentials),
                Err(StoreError::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            },
            Err(_) => None,
        };
        // An unknown name, a disabled account and a wrong password each cost one hash and
        // get the same answer, so neither the answer nor its time tells them apart. The
        // password is checked in the form it was hashed in when set. The log keeps why.
        let password = Password::normalise(&password);
        let outcome = match credentials {
            Some(c) => match (
                verify_password(&password, &c.password_hash),
                c.user.disabled,
            ) {
                (true, false) => Ok(c),
                (true, true) => Err((Some(c.user.id), "disabled account")),
                (false, _) => Err((Some(c.user.id), "wrong password")),
            },
            None => {
                verify_against_dummy(&password);
                Err((None, "unknown account"))
            }
        };
        let credentials = match outcome {
            Ok(credentials) => credentials,
            Err((user, reason)) => {
                state
                    .db
                    .record_login_failure(user, &username, reason, now)?;
                return Err(refusal(attempt, now));
            }
        };
        state.db.record_login_success(&key)?;
        let token = token::generate();
        let expires_at = now + token_ttl;
        state.db.insert_session(&NewSession {
            token_hash: hash_token(&token),
            user_id: credentials.user.id,
            created_at: now,
            expires_at,
        })?;
        tracing::info!(user_id = %credentials.user.id, "signed in");
        Ok(LoginResponse { token, expires_at })
    })
    .await?
}

/// The answer to an admitted attempt whose password was wrong: 429 when it makes the next
/// attempt wait, 401 before.
fn refusal(attempt: LoginAttempt, now: DateTime<Utc>) -> ApiError {
    match attempt {
        LoginAttempt::Admitted {
            throttled_until: Some(until),
            ..
        }
        | LoginAttempt::Throttled { until } => too_many_attempts(until, now),
        LoginAttempt::Admitted {
            throttled_until: None,
            ..
        } => ApiError::InvalidCredentials,
    }
}

fn too_many_attempts(until: DateTime<Utc>, now: DateTime<Utc>) -> ApiError {
    // Rounded up, so a client that waits as told is never refused again for a fraction.
    let millis = (until - now).num_milliseconds().max(1);
    ApiError::TooManyAttempts {
        retry_after: millis.unsigned_abs().div_ceil(1000),
    }
}

/// Sign out: the token stops working at once.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not signed in", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn logout(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    sign_out(&state, auth).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ends the session `auth` runs in: its token stops working at once.
pub(crate) async fn sign_out(
    state: &web::Data<AppState>,
    auth: Authenticated,
) -> Result<(), ApiError> {
    let token_hash = auth.token_hash;
    let state = state.clone();
    web::block(move || state.db.revoke_session(&token_hash, Utc::now())).await??;
    tracing::info!(user_id = %auth.user.id, "signed out");
    Ok(())
}
