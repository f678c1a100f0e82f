//! `/api/v1/delegations`: a leader lends assigning and signing to a deputy of their unit for a
//! range of days (ủy quyền), lists what they gave and received, and revokes. What a deputy
//! may then do is decided by the one access policy (`vanthu_domain::access`).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vanthu_domain::access::{Action, Target};
use vanthu_domain::{DelegationId, DelegationTerms, Powers, UserId};
use vanthu_routing::vietnam_today;
use vanthu_store::{Delegation, NewDelegation, OnBehalfOf};

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::json::Json;
use crate::state::AppState;

const DELEGATION: &str = "delegation";

/// A power that can be delegated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Power {
    /// Assign the unit's incoming documents, as its leader.
    Assign,
    /// Sign outgoing documents whose assigned signer is the principal, with the deputy's own
    /// key or token.
    Sign,
}

fn powers_of(names: &[Power]) -> Powers {
    Powers {
        assign: names.contains(&Power::Assign),
        sign: names.contains(&Power::Sign),
    }
}

fn names_of(powers: Powers) -> Vec<Power> {
    [(powers.assign, Power::Assign), (powers.sign, Power::Sign)]
        .into_iter()
        .filter_map(|(held, power)| held.then_some(power))
        .collect()
}

/// A person, by id and full name.
#[derive(Debug, Serialize, ToSchema)]
pub struct OnBehalfOfView {
    /// User id.
    pub user_id: i64,
    /// Their full name.
    #[schema(example = "Nguyễn Văn An")]
    pub name: String,
}

impl From<OnBehalfOf> for OnBehalfOfView {
    fn from(p: OnBehalfOf) -> Self {
        Self {
            user_id: p.user_id.get(),
            name: p.name,
        }
    }
}

/// A delegation, revoked or not.
#[derive(Debug, Serialize, ToSchema)]
pub struct DelegationView {
    /// Delegation id.
    pub id: i64,
    /// The leader who delegated.
    pub principal: OnBehalfOfView,
    /// Who stands in for them.
    pub deputy: OnBehalfOfView,
    /// The unit both belong to.
    pub unit_id: i64,
    /// What the deputy may do in the principal's stead.
    pub powers: Vec<Power>,
    /// First day, inclusive (Vietnam calendar).
    pub starts_on: NaiveDate,
    /// Last day, inclusive.
    pub ends_on: NaiveDate,
    /// Whether the deputy may act under it today: not revoked, and today within its days.
    pub in_force: bool,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl DelegationView {
    fn of(d: Delegation, today: NaiveDate) -> Self {
        Self {
            id: d.id.get(),
            principal: OnBehalfOfView {
                user_id: d.principal.get(),
                name: d.principal_name,
            },
            deputy: OnBehalfOfView {
                user_id: d.deputy.get(),
                name: d.deputy_name,
            },
            unit_id: d.unit_id.get(),
            powers: names_of(d.terms.powers()),
            starts_on: d.terms.starts_on(),
            ends_on: d.terms.ends_on(),
            in_force: d.revoked_at.is_none() && d.terms.covers(today),
            created_at: d.created_at,
            revoked_at: d.revoked_at,
        }
    }
}

/// The delegations given and received by the caller, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DelegationList {
    /// The delegations.
    pub items: Vec<DelegationView>,
}

/// Body of `POST /api/v1/delegations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegationBody {
    /// The deputy: an active leader or specialist of your unit (a leader, to sign).
    #[schema(minimum = 1, example = 12)]
    pub deputy: i64,
    /// What to delegate: `assign`, `sign` or both.
    #[schema(min_items = 1, max_items = 2)]
    pub powers: Vec<Power>,
    /// First day, inclusive (Vietnam calendar).
    pub starts_on: NaiveDate,
    /// Last day, inclusive; today or later, at most a year after the first.
    pub ends_on: NaiveDate,
}

fn delegation_id(raw: &str) -> Result<DelegationId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound { what: DELEGATION })
}

/// Loads a delegation and asks the policy whether the caller may take `action` on it; the
/// target is personal to its principal, in the unit it was made in.
async fn authorized(
    state: &web::Data<AppState>,
    auth: &Authenticated,
    raw_id: &str,
    action: Action,
) -> Result<Delegation, ApiError> {
    let id = delegation_id(raw_id)?;
    let db = state.db.clone();
    let (delegation, unit) = web::block(move || {
        let delegation = db.get_delegation(id)?;
        let unit = db.get_unit(delegation.unit_id)?;
        Ok::<_, vanthu_store::StoreError>((delegation, unit))
    })
    .await??;
    auth.authorize(
        action,
        &Target::personal(unit.path, delegation.principal),
        DELEGATION,
    )?;
    Ok(delegation)
}

/// Delegates your assigning and/or signing to a deputy of your unit for a range of days
/// (leaders). The deputy acts under their own name and the trace names you both; what they
/// receive cannot be delegated again.
#[utoipa::path(
    post,
    path = "/api/v1/delegations",
    tag = "delegations",
    request_body = DelegationBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Delegated; Location names the delegation", body = DelegationView),
        (status = 403, description = "Only leaders delegate, and only their own powers", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "No power named, days out of order, past or over a year, or a deputy who cannot stand in (the field is named)", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: Json<DelegationBody>,
) -> Result<HttpResponse, ApiError> {
    auth.authorize(
        Action::Delegate,
        &Target::personal(auth.actor.unit_path.clone(), auth.user.id),
        DELEGATION,
    )?;
    let body = body.0;
    let now = Utc::now();
    let today = vietnam_today(now);
    let new = NewDelegation {
        principal: auth.user.id,
        deputy: UserId::new(body.deputy)
            .map_err(|e| vanthu_domain::ValidationError::new("deputy", e.message))?,
        terms: DelegationTerms::new(powers_of(&body.powers), body.starts_on, body.ends_on, today)?,
    };
    let delegation = web::block(move || state.db.create_delegation(&new, now)).await??;
    tracing::info!(id = %delegation.id, by = %auth.user.id, deputy = %delegation.deputy, "delegated");
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/delegations/{}", delegation.id)))
        .json(DelegationView::of(delegation, today)))
}

/// The delegations you gave and received, revoked ones included, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/delegations",
    tag = "delegations",
    security(("bearer" = [])),
    responses(
        (status = 200, body = DelegationList),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    auth.authorize(
        Action::ReadDelegation,
        &Target::personal(auth.actor.unit_path.clone(), auth.user.id),
        DELEGATION,
    )?;
    let me = auth.user.id;
    let delegations = web::block(move || state.db.delegations_of(me)).await??;
    let today = vietnam_today(Utc::now());
    Ok(HttpResponse::Ok().json(DelegationList {
        items: delegations
            .into_iter()
            .map(|d| DelegationView::of(d, today))
            .collect(),
    }))
}

/// One delegation, for those who see its unit.
#[utoipa::path(
    get,
    path = "/api/v1/delegations/{id}",
    tag = "delegations",
    params(("id" = i64, Path, description = "Delegation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DelegationView),
        (status = 404, description = "No such delegation, or outside your units", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let delegation = authorized(&state, &auth, &id, Action::ReadDelegation).await?;
    Ok(HttpResponse::Ok().json(DelegationView::of(delegation, vietnam_today(Utc::now()))))
}

/// Revokes a delegation at once (its principal): the deputy can no longer act under it.
#[utoipa::path(
    delete,
    path = "/api/v1/delegations/{id}",
    tag = "delegations",
    params(("id" = i64, Path, description = "Delegation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Revoked", body = DelegationView),
        (status = 403, description = "Only the leader who delegated revokes", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such delegation, or outside your units", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Revoked already; nothing changed", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let delegation = authorized(&state, &auth, &id, Action::Delegate).await?;
    let by = auth.user.id;
    let now = Utc::now();
    let delegation =
        web::block(move || state.db.revoke_delegation(delegation.id, by, now)).await??;
    tracing::info!(id = %delegation.id, by = %by, "delegation revoked");
    Ok(HttpResponse::Ok().json(DelegationView::of(delegation, vietnam_today(now))))
}
