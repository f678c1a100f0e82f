//! The unit tree.

use diesel::prelude::*;
use vanthu_domain::access::VisibleScope;
use vanthu_domain::{
    Name, PageRequest, Paged, Unit, UnitCode, UnitId, UnitLevel, UnitPath, ValidationError,
};

use crate::db::{insert_returning_id, DbConnection};
use crate::error::{classify, missing};
use crate::schema::units;
use crate::time::{from_millis, now, to_millis};
use crate::{Database, StoreError};

/// A unit to create. Its path is derived from the parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUnit {
    /// The unit above it; `None` creates a root.
    pub parent_id: Option<UnitId>,
    /// Electronic code; must be unused.
    pub code: UnitCode,
    /// Official name.
    pub name: Name,
    /// Level; must sit below the parent's level.
    pub level: UnitLevel,
}

/// Changes to a unit; `None` leaves a field as it is. The parent link never changes here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitChanges {
    /// New electronic code; must be unused.
    pub code: Option<UnitCode>,
    /// New official name.
    pub name: Option<Name>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = units)]
pub(crate) struct UnitRow {
    id: i64,
    parent_id: Option<i64>,
    code: String,
    name: String,
    level: String,
    path: String,
    created_at: i64,
}

impl TryFrom<UnitRow> for Unit {
    type Error = StoreError;
    fn try_from(r: UnitRow) -> Result<Unit, StoreError> {
        let bad = |e: ValidationError| StoreError::corrupt(format!("unit {}: {e}", r.id));
        Ok(Unit {
            id: UnitId::new(r.id).map_err(bad)?,
            parent_id: r.parent_id.map(UnitId::new).transpose().map_err(bad)?,
            code: UnitCode::parse(&r.code).map_err(bad)?,
            name: Name::parse(&r.name).map_err(bad)?,
            level: r.level.parse().map_err(bad)?,
            path: UnitPath::parse(&r.path).map_err(bad)?,
            created_at: from_millis(r.created_at)?,
        })
    }
}

pub(crate) fn load_unit(conn: &mut DbConnection, id: UnitId) -> Result<Unit, StoreError> {
    units::table
        .find(id.get())
        .select(UnitRow::as_select())
        .first(conn)
        .map_err(missing("unit"))?
        .try_into()
}

impl Database {
    /// Creates a unit below `new.parent_id` (or a root), computing its path.
    ///
    /// Fails with `NotFound` if the parent does not exist, `Invalid` if the level cannot sit
    /// below the parent's, `Conflict` if the code is taken.
    pub fn insert_unit(&self, new: &NewUnit) -> Result<Unit, StoreError> {
        self.transaction(|conn| {
            let parent = match new.parent_id {
                Some(pid) => {
                    let parent = load_unit(conn, pid).map_err(|e| match e {
                        StoreError::NotFound { .. } => StoreError::not_found("parent unit"),
                        other => other,
                    })?;
                    if !parent.level.may_contain(new.level) {
                        return Err(ValidationError::new(
                            "level",
                            format!("a {} cannot be placed under a {}", new.level, parent.level),
                        )
                        .into());
                    }
                    Some(parent)
                }
                None => None,
            };
            // The path needs the new id, so the row is written with a placeholder first.
            let id = insert_returning_id!(
                &mut *conn,
                units::table,
                (
                    units::parent_id.eq(new.parent_id.map(UnitId::get)),
                    units::code.eq(new.code.as_str()),
                    units::name.eq(new.name.as_str()),
                    units::level.eq(new.level.as_str()),
                    units::path.eq(""),
                    units::created_at.eq(to_millis(now())),
                ),
                units::id
            )
            .map_err(classify("unit", "code"))?;
            let id = UnitId::new(id).map_err(StoreError::corrupt)?;
            let path = match &parent {
                Some(p) => p.path.child(id),
                None => UnitPath::root(id),
            };
            diesel::update(units::table.find(id.get()))
                .set(units::path.eq(path.as_str()))
                .execute(conn)?;
            load_unit(conn, id)
        })
    }

    /// The unit with this id.
    pub fn get_unit(&self, id: UnitId) -> Result<Unit, StoreError> {
        load_unit(&mut *self.conn()?, id)
    }

    /// The unit with this electronic code.
    pub fn get_unit_by_code(&self, code: &UnitCode) -> Result<Unit, StoreError> {
        units::table
            .filter(units::code.eq(code.as_str()))
            .select(UnitRow::as_select())
            .first(&mut *self.conn()?)
            .map_err(missing("unit"))?
            .try_into()
    }

    /// The units in `scope`, ordered by path (so parents come before their children), one page
    /// at a time.
    pub fn list_units(
        &self,
        scope: &VisibleScope,
        page: PageRequest,
    ) -> Result<Paged<Unit>, StoreError> {
        let filtered = || {
            let query = units::table.into_boxed();
            match scope {
                VisibleScope::Unit(id) => query.filter(units::id.eq(id.get())),
                VisibleScope::Subtree(prefix) => {
                    query.filter(units::path.like(subtree_pattern(prefix)))
                }
            }
        };
        self.transaction(|conn| {
            let total: i64 = filtered().count().get_result(conn)?;
            let rows: Vec<UnitRow> = filtered()
                .select(UnitRow::as_select())
                .order((units::path.asc(), units::id.asc()))
                .limit(i64::from(page.per_page()))
                .offset(offset(page))
                .load(conn)?;
            Ok(Paged {
                items: rows
                    .into_iter()
                    .map(Unit::try_from)
                    .collect::<Result<_, _>>()?,
                page: page.page(),
                per_page: page.per_page(),
                total: u64::try_from(total).map_err(StoreError::corrupt)?,
            })
        })
    }

    /// Changes a unit's name and/or code and returns the updated unit.
    pub fn update_unit(&self, id: UnitId, changes: &UnitChanges) -> Result<Unit, StoreError> {
        self.transaction(|conn| {
            load_unit(conn, id)?;
            if let Some(code) = &changes.code {
                diesel::update(units::table.find(id.get()))
                    .set(units::code.eq(code.as_str()))
                    .execute(conn)
                    .map_err(classify("unit", "code"))?;
            }
            if let Some(name) = &changes.name {
                diesel::update(units::table.find(id.get()))
                    .set(units::name.eq(name.as_str()))
                    .execute(conn)?;
            }
            load_unit(conn, id)
        })
    }

    /// Returns the unit with `new.code`, creating it first if there is none; an existing unit
    /// is returned unchanged. Safe to call from several processes at once.
    pub fn get_or_create_unit(&self, new: &NewUnit) -> Result<Unit, StoreError> {
        match self.get_unit_by_code(&new.code) {
            Err(StoreError::NotFound { .. }) => match self.insert_unit(new) {
                Err(StoreError::Conflict { .. }) => self.get_unit_by_code(&new.code),
                other => other,
            },
            other => other,
        }
    }
}

/// `LIKE` pattern for a subtree. Paths hold only digits and `/`, so nothing needs escaping.
pub(crate) fn subtree_pattern(prefix: &UnitPath) -> String {
    format!("{prefix}%")
}

pub(crate) fn offset(page: PageRequest) -> i64 {
    i64::try_from(page.offset()).unwrap_or(i64::MAX)
}
