//! `/api/v1/users` and `/api/v1/me`.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vanthu_domain::access::{Action, Target};
use vanthu_domain::{
    Name, Password, Role, Roles, Unit, UnitId, User, UserId, Username, ValidationError,
};
use vanthu_store::{NewUser, UserChanges};

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::json::Json;
use crate::page::{Page, PageParams, Pagination};
use crate::password::hash_password;
use crate::state::AppState;
use crate::units::UnitView;
use crate::validation::{name_schema, named, password_schema, roles_schema, username_schema};

/// A user account; never includes the password hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// User id.
    #[schema(value_type = i64, example = 7)]
    pub id: UserId,
    /// Login name.
    #[schema(value_type = String, example = "district.clerk")]
    pub username: Username,
    /// Full name.
    #[schema(value_type = String, example = "Nguyễn Thị Hoa")]
    pub display_name: Name,
    /// The unit the user belongs to.
    #[schema(value_type = i64, example = 4)]
    pub unit_id: UnitId,
    /// Some of `admin`, `clerk`, `leader`, `specialist`, `auditor`.
    #[schema(value_type = Vec<String>, example = json!(["clerk"]))]
    pub roles: Roles,
    /// A disabled account cannot sign in.
    pub disabled: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When the account was last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            unit_id: u.unit_id,
            roles: u.roles,
            disabled: u.disabled,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// The signed-in user and their unit.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The account.
    pub user: UserView,
    /// Its unit.
    pub unit: UnitView,
}

/// An account to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login name: 3 to 64 of a-z, 0-9, '.', '_' and '-' (upper-case letters are folded to
    /// lower case), starting with a letter or digit.
    #[schema(example = "commune.clerk2", schema_with = username_schema)]
    pub username: String,
    /// Full name, 1 to 200 characters.
    #[schema(example = "Trần Văn Nam", schema_with = name_schema)]
    pub display_name: String,
    /// The user's unit; must be in the caller's subtree.
    #[schema(example = 7, minimum = 1)]
    pub unit_id: i64,
    /// Some of `admin`, `clerk`, `leader`, `specialist`, `auditor`.
    #[schema(example = json!(["clerk"]), schema_with = roles_schema)]
    pub roles: Vec<String>,
    /// 8 to 1024 characters (counted after Unicode NFC normalisation), not the username and
    /// not among the 20,000 most common passwords.
    #[schema(schema_with = password_schema)]
    pub password: String,
}

/// Changes to an account; absent fields stay as they are. Disabling the account or setting a
/// new password ends its sessions.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// New full name, 1 to 200 characters.
    #[schema(schema_with = name_schema)]
    pub display_name: Option<String>,
    /// New set of roles (replaces the old one).
    #[schema(schema_with = roles_schema)]
    pub roles: Option<Vec<String>>,
    /// Disable (true) or re-enable (false) the account.
    pub disabled: Option<bool>,
    /// New password: 8 to 1024 characters (counted after Unicode NFC normalisation), not
    /// the username and not among the 20,000 most common passwords.
    #[schema(schema_with = password_schema)]
    pub password: Option<String>,
}

const USER: &str = "user";

fn parse_roles(raw: Vec<String>) -> Result<Roles, ValidationError> {
    raw.iter()
        .map(|r| r.parse::<Role>())
        .collect::<Result<Roles, _>>()
}

async fn hash(state: &AppState, password: Password) -> Result<String, ApiError> {
    let slot = state.hashing.slot().await?;
    web::block(move || {
        let _slot = slot;
        hash_password(password.as_str())
    })
    .await?
    .map_err(|e| ApiError::internal(e.to_string()))
}

/// Loads an account the caller may act on in the given way.
async fn visible_user(
    state: &web::Data<AppState>,
    auth: &Authenticated,
    raw_id: &str,
    action: Action,
) -> Result<User, ApiError> {
    let id: UserId = raw_id
        .parse()
        .map_err(|_| ApiError::NotFound { what: USER })?;
    let db = state.db.clone();
    let (user, unit) = web::block(move || db.get_user_with_unit(id)).await??;
    auth.authorize(action, &Target::unit(&unit), USER)?;
    Ok(user)
}

/// The signed-in user and their unit.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Me),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn me(auth: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(Me {
        user: auth.user.into(),
        unit: auth.unit.into(),
    })
}

/// Accounts in the units the caller may see.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<UserView>),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_users(
    state: web::Data<AppState>,
    auth: Authenticated,
    page: Pagination,
) -> Result<HttpResponse, ApiError> {
    let scope = auth.actor.visible_scope();
    let paged = web::block(move || state.db.list_users(&scope, page.0)).await??;
    Ok(HttpResponse::Ok().json(Page::from_paged(paged, UserView::from)))
}

/// One account.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = i64, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserView),
        (status = 404, description = "No such user, or outside your units", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_user(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = visible_user(&state, &auth, &id, Action::ReadUser).await?;
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}

/// Creates an account in a unit of the caller's subtree (admins).
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    request_body = CreateUser,
    security(("bearer" = [])),
    responses(
        (status = 201, body = UserView),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unit not found or outside your units", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Username taken", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many passwords being hashed at once: try again as `Retry-After` says", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    )
)]
pub async fn create_user(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: Json<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let not_found = || ApiError::NotFound { what: "unit" };
    let unit_id = UnitId::new(body.unit_id).map_err(|_| not_found())?;
    let db = state.db.clone();
    let unit: Unit = web::block(move || db.get_unit(unit_id)).await??;
    auth.authorize(Action::CreateUser, &Target::unit(&unit), "unit")?;
    let username = named(Username::parse(&body.username), "username")?;
    let display_name = named(Name::parse(&body.display_name), "display_name")?;
    let roles = parse_roles(body.roles)?;
    let password = Password::new(&body.password, &username)?;
    let new = NewUser {
        username,
        display_name,
        unit_id,
        roles,
        password_hash: hash(&state, password).await?,
    };
    let by = auth.user.id;
    let user = web::block(move || state.db.insert_user(Some(by), &new)).await??;
    tracing::info!(user_id = %user.id, by = %auth.user.id, "user created");
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/users/{}", user.id)))
        .json(UserView::from(user)))
}

/// Changes an account (admins, within their subtree).
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = i64, Path, description = "User id")),
    request_body = UpdateUser,
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserView),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many passwords being hashed at once: try again as `Retry-After` says", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    )
)]
pub async fn update_user(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: Json<UpdateUser>,
) -> Result<HttpResponse, ApiError> {
    let user = visible_user(&state, &auth, &id, Action::UpdateUser).await?;
    let body = body.0;
    let password_hash = match body.password {
        Some(typed) => {
            let password = Password::new(&typed, &user.username)?;
            Some(hash(&state, password).await?)
        }
        None => None,
    };
    let changes = UserChanges {
        display_name: body
            .display_name
            .map(|n| named(Name::parse(&n), "display_name"))
            .transpose()?,
        roles: body.roles.map(parse_roles).transpose()?,
        disabled: body.disabled,
        password_hash,
    };
    let id = user.id;
    let by = auth.user.id;
    let user = web::block(move || state.db.update_user(Some(by), id, &changes)).await??;
    tracing::info!(user_id = %user.id, by = %auth.user.id, "user updated");
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}
