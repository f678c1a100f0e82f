//! Delegations (ủy quyền): a leader's assigning and signing lent to a deputy of the same unit
//! for a range of days, revocable; and the delegations in force that the access policy weighs.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use vanthu_audit::{AuditAction, ObjectRef};
use vanthu_domain::access::{Acting, Actor, Authority, Delegated};
use vanthu_domain::{
    DelegationId, DelegationTerms, Powers, Role, UnitId, User, UserId, ValidationError,
};

use crate::audit::{self, Event};
use crate::db::{insert_returning_id, DbConnection};
use crate::error::missing;
use crate::incoming::{format_date, parse_date};
use crate::schema::{delegations, users};
use crate::time::{from_millis, to_millis};
use crate::units::load_unit;
use crate::users::load_user;
use crate::{Database, StoreError};

const ENTITY: &str = "delegation";

/// A delegation to record: `principal` lends `terms` to `deputy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelegation {
    /// The leader who delegates.
    pub principal: UserId,
    /// Who stands in for them.
    pub deputy: UserId,
    /// What and when.
    pub terms: DelegationTerms,
}

/// A delegation as kept, revoked or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    /// Its id.
    pub id: DelegationId,
    /// The leader who delegated.
    pub principal: UserId,
    /// Their full name now.
    pub principal_name: String,
    /// Who stands in for them.
    pub deputy: UserId,
    /// The deputy's full name now.
    pub deputy_name: String,
    /// The unit both belong to.
    pub unit_id: UnitId,
    /// What and when.
    pub terms: DelegationTerms,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = delegations)]
struct DelegationRow {
    id: i64,
    principal_id: i64,
    deputy_id: i64,
    unit_id: i64,
    may_assign: bool,
    may_sign: bool,
    starts_on: String,
    ends_on: String,
    created_at: i64,
    revoked_at: Option<i64>,
}

impl DelegationRow {
    fn into_delegation(self, names: &HashMap<i64, String>) -> Result<Delegation, StoreError> {
        let bad = |e: ValidationError| StoreError::corrupt(format!("delegation {}: {e}", self.id));
        let name = |id: i64| names.get(&id).cloned().unwrap_or_default();
        Ok(Delegation {
            id: DelegationId::new(self.id).map_err(bad)?,
            principal: UserId::new(self.principal_id).map_err(bad)?,
            principal_name: name(self.principal_id),
            deputy: UserId::new(self.deputy_id).map_err(bad)?,
            deputy_name: name(self.deputy_id),
            unit_id: UnitId::new(self.unit_id).map_err(bad)?,
            terms: DelegationTerms::stored(
                self.powers(),
                parse_date(&self.starts_on)?,
                parse_date(&self.ends_on)?,
            ),
            created_at: from_millis(self.created_at)?,
            revoked_at: self.revoked_at.map(from_millis).transpose()?,
        })
    }

    fn powers(&self) -> Powers {
        Powers {
            assign: self.may_assign,
            sign: self.may_sign,
        }
    }
}

/// The full names of these users, by id.
pub(crate) fn display_names(
    conn: &mut DbConnection,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, String>, StoreError> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::display_name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect())
}

fn assemble(
    conn: &mut DbConnection,
    rows: Vec<DelegationRow>,
) -> Result<Vec<Delegation>, StoreError> {
    let names = display_names(
        conn,
        rows.iter().flat_map(|r| [r.principal_id, r.deputy_id]),
    )?;
    rows.into_iter()
        .map(|r| r.into_delegation(&names))
        .collect()
}

fn load_delegation(conn: &mut DbConnection, id: DelegationId) -> Result<Delegation, StoreError> {
    let row = delegations::table
        .find(id.get())
        .select(DelegationRow::as_select())
        .get_result(conn)
        .map_err(missing(ENTITY))?;
    assemble(conn, vec![row])?
        .pop()
        .ok_or_else(|| StoreError::not_found(ENTITY))
}

/// Why `deputy` cannot stand in for `principal` with `powers`, if they cannot.
fn check_deputy(principal: &User, deputy: &User, powers: Powers) -> Result<(), ValidationError> {
    let refuse = |message: &str| Err(ValidationError::new("deputy", message));
    if deputy.id == principal.id {
        return refuse("name someone else: you cannot delegate to yourself");
    }
    if deputy.unit_id != principal.unit_id || deputy.disabled {
        return refuse("name an active official of your own unit");
    }
    if !(deputy.roles.contains(Role::Leader) || deputy.roles.contains(Role::Specialist)) {
        return refuse("name a leader or specialist: only they handle documents for the unit");
    }
    if powers.sign && !deputy.roles.contains(Role::Leader) {
        return Err(ValidationError::new(
            "powers",
            "only a leader holds a signing key: delegate signing to a leader of your unit",
        ));
    }
    Ok(())
}

/// Adds to `event` who a deputy stood in for and under which delegation, when `by` acted
/// under one: the audit entry names both people, as the trace does.
pub(crate) fn with_authority(
    conn: &mut DbConnection,
    event: Event,
    by: Acting,
) -> Result<Event, StoreError> {
    Ok(match by.authority {
        Authority::Own => event,
        Authority::Delegated {
            delegation,
            principal,
        } => {
            let names = display_names(conn, [by.user.get(), principal.get()])?;
            let name = |id: UserId| names.get(&id.get()).cloned().unwrap_or_default();
            event
                .with("actor_name", name(by.user))
                .with("on_behalf_of", principal.to_string())
                .with("on_behalf_of_name", name(principal))
                .with("delegation", delegation.to_string())
        }
    })
}

/// The leader a trace line's actor stood in for under a delegation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnBehalfOf {
    /// Who.
    pub user_id: UserId,
    /// Their full name at the time of reading.
    pub name: String,
}

/// The principals named by these `on_behalf_of` columns, with their names.
pub(crate) fn principals_named(
    conn: &mut DbConnection,
    ids: &[Option<i64>],
) -> Result<Vec<Option<OnBehalfOf>>, StoreError> {
    let names = display_names(conn, ids.iter().flatten().copied())?;
    ids.iter()
        .map(|id| {
            id.map(|id| {
                Ok(OnBehalfOf {
                    user_id: UserId::new(id).map_err(StoreError::corrupt)?,
                    name: names.get(&id).cloned().unwrap_or_default(),
                })
            })
            .transpose()
        })
        .collect()
}

/// The principal a trace line's actor stood in for, as the events tables keep it.
pub(crate) fn on_behalf_of(by: Acting) -> Option<i64> {
    match by.authority {
        Authority::Own => None,
        Authority::Delegated { principal, .. } => Some(principal.get()),
    }
}

impl Database {
    /// Records a delegation. The deputy must be an active leader or specialist of the
    /// principal's unit, and a leader if signing is delegated (`Invalid` otherwise).
    pub fn create_delegation(
        &self,
        new: &NewDelegation,
        at: DateTime<Utc>,
    ) -> Result<Delegation, StoreError> {
        self.transaction(|conn| {
            let principal = load_user(conn, new.principal)?;
            let deputy = match load_user(conn, new.deputy) {
                Err(StoreError::NotFound { .. }) => {
                    return Err(ValidationError::new(
                        "deputy",
                        "no such user: name an official of your own unit",
                    )
                    .into())
                }
                other => other?,
            };
            let powers = new.terms.powers();
            check_deputy(&principal, &deputy, powers)?;
            let starts_on = format_date(new.terms.starts_on());
            let ends_on = format_date(new.terms.ends_on());
            let id = insert_returning_id!(
                &mut *conn,
                delegations::table,
                (
                    delegations::principal_id.eq(principal.id.get()),
                    delegations::deputy_id.eq(deputy.id.get()),
                    delegations::unit_id.eq(principal.unit_id.get()),
                    delegations::may_assign.eq(powers.assign),
                    delegations::may_sign.eq(powers.sign),
                    delegations::starts_on.eq(&starts_on),
                    delegations::ends_on.eq(&ends_on),
                    delegations::created_at.eq(to_millis(at)),
                ),
                delegations::id
            )?;
            let id = DelegationId::new(id).map_err(StoreError::corrupt)?;
            let event = Event::done(AuditAction::DelegationCreate, ObjectRef::delegation(id))
                .with("deputy", deputy.id.to_string())
                .with("deputy_name", deputy.display_name.as_str())
                .with("principal_name", principal.display_name.as_str())
                .with("assign", powers.assign.to_string())
                .with("sign", powers.sign.to_string())
                .with("starts_on", starts_on)
                .with("ends_on", ends_on);
            audit::record(conn, Some(principal.id), at, event)?;
            load_delegation(conn, id)
        })
    }

    /// Revokes a delegation at once; a revoked one cannot be revoked again (`Revoked`).
    pub fn revoke_delegation(
        &self,
        id: DelegationId,
        by: UserId,
        at: DateTime<Utc>,
    ) -> Result<Delegation, StoreError> {
        self.transaction(|conn| {
            let revoked = diesel::update(
                delegations::table
                    .find(id.get())
                    .filter(delegations::revoked_at.is_null()),
            )
            .set((
                delegations::revoked_at.eq(Some(to_millis(at))),
                delegations::revoked_by.eq(Some(by.get())),
            ))
            .execute(conn)?;
            if revoked == 0 {
                load_delegation(conn, id)?;
                return Err(StoreError::Revoked(ENTITY));
            }
            let event = Event::done(AuditAction::DelegationRevoke, ObjectRef::delegation(id));
            audit::record(conn, Some(by), at, event)?;
            load_delegation(conn, id)
        })
    }

    /// One delegation.
    pub fn get_delegation(&self, id: DelegationId) -> Result<Delegation, StoreError> {
        self.read(|conn| load_delegation(conn, id))
    }

    /// The delegations `user` made or received, newest first.
    pub fn delegations_of(&self, user: UserId) -> Result<Vec<Delegation>, StoreError> {
        self.read(|conn| {
            let rows = delegations::table
                .filter(
                    delegations::principal_id
                        .eq(user.get())
                        .or(delegations::deputy_id.eq(user.get())),
                )
                .order(delegations::id.desc())
                .select(DelegationRow::as_select())
                .load(conn)?;
            assemble(conn, rows)
        })
    }

    /// The delegations in force for `deputy` on `today` (Vietnam calendar day): not revoked,
    /// covering the day, from a principal still active in the delegation's unit. Each carries
    /// the principal as the access policy sees them now.
    pub fn delegations_in_force(
        &self,
        deputy: UserId,
        today: NaiveDate,
    ) -> Result<Vec<Delegated>, StoreError> {
        let today = format_date(today);
        let mut conn = self.conn()?;
        let conn = &mut *conn;
        let rows: Vec<DelegationRow> = delegations::table
            .filter(delegations::deputy_id.eq(deputy.get()))
            .filter(delegations::revoked_at.is_null())
            .filter(delegations::starts_on.le(&today))
            .filter(delegations::ends_on.ge(&today))
            .select(DelegationRow::as_select())
            .load(conn)?;
        let mut in_force = Vec::with_capacity(rows.len());
        for row in rows {
            let principal = load_user(
                conn,
                UserId::new(row.principal_id).map_err(StoreError::corrupt)?,
            )?;
            if principal.disabled || principal.unit_id.get() != row.unit_id {
                continue;
            }
            let unit = load_unit(conn, principal.unit_id)?;
            in_force.push(Delegated {
                id: DelegationId::new(row.id).map_err(StoreError::corrupt)?,
                principal: Actor::new(&principal, &unit),
                powers: row.powers(),
            });
        }
        Ok(in_force)
    }
}
