//! `/api/v1/units`: the unit tree as the caller may see it.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vanthu_domain::access::{Action, Target};
use vanthu_domain::{Name, Unit, UnitCode, UnitId, UnitLevel, UnitPath};
use vanthu_store::{NewUnit, UnitChanges};

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::json::Json;
use crate::page::{Page, PageParams, Pagination};
use crate::state::AppState;
use crate::validation::{level_schema, name_schema, named, unit_code_schema};

/// A unit (organisation or part of one).
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitView {
    /// Unit id.
    #[schema(value_type = i64, example = 4)]
    pub id: UnitId,
    /// The unit above; null for the root.
    #[schema(value_type = Option<i64>, example = 1)]
    pub parent_id: Option<UnitId>,
    /// Electronic agency code.
    #[schema(value_type = String, example = "000.00.31.H56")]
    pub code: UnitCode,
    /// Official name.
    #[schema(value_type = String, example = "UBND huyện Yên Lạc")]
    pub name: Name,
    /// `province`, `district`, `department` or `commune`.
    #[schema(value_type = String, example = "district")]
    pub level: UnitLevel,
    /// Ids from the root down to this unit.
    #[schema(value_type = String, example = "/1/4/")]
    pub path: UnitPath,
    /// When the unit was created.
    pub created_at: DateTime<Utc>,
}

impl From<Unit> for UnitView {
    fn from(u: Unit) -> Self {
        UnitView {
            id: u.id,
            parent_id: u.parent_id,
            code: u.code,
            name: u.name,
            level: u.level,
            path: u.path,
            created_at: u.created_at,
        }
    }
}

/// A unit to create below an existing one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUnit {
    /// The new unit's parent; must be in the caller's subtree.
    #[schema(example = 4, minimum = 1)]
    pub parent_id: i64,
    /// Electronic agency code, unused so far.
    #[schema(example = "000.31.01.H56", schema_with = unit_code_schema)]
    pub code: String,
    /// Official name, 1 to 200 characters.
    #[schema(example = "UBND xã Đồng Cương", schema_with = name_schema)]
    pub name: String,
    /// Must sit below the parent's level.
    #[schema(example = "commune", schema_with = level_schema)]
    pub level: String,
}

/// Changes to a unit; absent fields stay as they are. The parent never changes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUnit {
    /// New electronic agency code.
    #[schema(schema_with = unit_code_schema)]
    pub code: Option<String>,
    /// New official name, 1 to 200 characters.
    #[schema(schema_with = name_schema)]
    pub name: Option<String>,
}

const UNIT: &str = "unit";

pub(crate) fn unit_id(raw: &str) -> Result<UnitId, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound { what: UNIT })
}

/// Loads a unit the caller may act on in the given way.
pub(crate) async fn visible_unit(
    state: &web::Data<AppState>,
    auth: &Authenticated,
    id: UnitId,
    action: Action,
) -> Result<Unit, ApiError> {
    let db = state.db.clone();
    let unit = web::block(move || db.get_unit(id)).await??;
    auth.authorize(action, &Target::unit(&unit), UNIT)?;
    Ok(unit)
}

/// The units the caller may see: their own, plus the whole subtree for admins and auditors.
#[utoipa::path(
    get,
    path = "/api/v1/units",
    tag = "units",
    params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<UnitView>),
        (status = 400, description = "Bad paging parameters", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_units(
    state: web::Data<AppState>,
    auth: Authenticated,
    page: Pagination,
) -> Result<HttpResponse, ApiError> {
    let scope = auth.actor.visible_scope();
    let paged = web::block(move || state.db.list_units(&scope, page.0)).await??;
    Ok(HttpResponse::Ok().json(Page::from_paged(paged, UnitView::from)))
}

/// One unit.
#[utoipa::path(
    get,
    path = "/api/v1/units/{id}",
    tag = "units",
    params(("id" = i64, Path, description = "Unit id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UnitView),
        (status = 404, description = "No such unit, or outside your units", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_unit(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let unit = visible_unit(&state, &auth, unit_id(&id)?, Action::ReadUnit).await?;
    Ok(HttpResponse::Ok().json(UnitView::from(unit)))
}

/// Creates a unit below one in the caller's subtree (admins).
#[utoipa::path(
    post,
    path = "/api/v1/units",
    tag = "units",
    request_body = CreateUnit,
    security(("bearer" = [])),
    responses(
        (status = 201, body = UnitView),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Parent not found or outside your units", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code already used", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_unit(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: Json<CreateUnit>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let parent_id = UnitId::new(body.parent_id).map_err(|_| ApiError::NotFound { what: UNIT })?;
    visible_unit(&state, &auth, parent_id, Action::CreateUnit).await?;
    let new = NewUnit {
        parent_id: Some(parent_id),
        code: named(UnitCode::parse(&body.code), "code")?,
        name: named(Name::parse(&body.name), "name")?,
        level: named(body.level.parse(), "level")?,
    };
    let by = auth.user.id;
    let unit = web::block(move || state.db.insert_unit(Some(by), &new)).await??;
    tracing::info!(unit_id = %unit.id, by = %auth.user.id, "unit created");
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/units/{}", unit.id)))
        .json(UnitView::from(unit)))
}

/// Renames a unit or changes its code (admins, within their subtree).
#[utoipa::path(
    patch,
    path = "/api/v1/units/{id}",
    tag = "units",
    params(("id" = i64, Path, description = "Unit id")),
    request_body = UpdateUnit,
    security(("bearer" = [])),
    responses(
        (status = 200, body = UnitView),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_unit(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
    body: Json<UpdateUnit>,
) -> Result<HttpResponse, ApiError> {
    let id = unit_id(&id)?;
    visible_unit(&state, &auth, id, Action::UpdateUnit).await?;
    let body = body.0;
    let changes = UnitChanges {
        code: body
            .code
            .map(|c| named(UnitCode::parse(&c), "code"))
            .transpose()?,
        name: body
            .name
            .map(|n| named(Name::parse(&n), "name"))
            .transpose()?,
    };
    let by = auth.user.id;
    let unit = web::block(move || state.db.update_unit(Some(by), id, &changes)).await??;
    tracing::info!(unit_id = %unit.id, by = %auth.user.id, "unit updated");
    Ok(HttpResponse::Ok().json(UnitView::from(unit)))
}
