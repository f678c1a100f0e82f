//! The unit tree.

use diesel::prelude::*;
use vanthu_audit::{AuditAction, ObjectRef};
use vanthu_domain::access::VisibleScope;
use vanthu_domain::{
    Name, PageRequest, Paged, Unit, UnitCode, UnitId, UnitLevel, UnitPath, UserId, ValidationError,
};

use crate::audit::{self, Event};
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
        .get_result(conn)
        .map_err(missing("unit"))?
        .try_into()
}

/// The units whose paths match `pattern` (a [`subtree_pattern`]), parents before children.
pub(crate) fn units_within(
    conn: &mut DbConnection,
    pattern: &str,
) -> Result<Vec<Unit>, StoreError> {
    units::table
        .filter(units::path.like(pattern))
        .order((units::path.asc(), units::id.asc()))
        .select(UnitRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Unit::try_from)
        .collect()
}

impl Database {
    /// Creates a unit below `new.parent_id` (or a root), computing its path.
    ///
    /// Fails with `NotFound` if the parent does not exist, `Invalid` if the level cannot sit
    /// below the parent's, `Conflict` if the code is taken. `by` is the admin, `None` the
    /// server itself (seeding); the audit log records it.
    pub fn insert_unit(&self, by: Option<UserId>, new: &NewUnit) -> Result<Unit, StoreError> {
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
            let mut event = Event::done(AuditAction::UnitCreate, ObjectRef::unit(id))
                .with("code", new.code.as_str())
                .with("name", new.name.as_str())
                .with("level", new.level.as_str());
            if let Some(parent) = new.parent_id {
                event = event.with("parent_id", parent.to_string());
            }
            audit::record(conn, by, now(), event)?;
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
            .get_result(&mut *self.conn()?)
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
        self.read(|conn| {
            let total: i64 = filtered().count().get_result(conn)?;
            let rows: Vec<UnitRow> = filtered()
                .select(UnitRow::as_select())
                .order((units::path.asc(), units::id.asc()))
                .limit(i64::from(page.per_page()))
                .offset(offset(page))
                .load(conn)?;
            paged(rows, page, total)
        })
    }

    /// Every unit in `scope`, parents before children: the choices of a form.
    pub fn units_in(&self, scope: &VisibleScope) -> Result<Vec<Unit>, StoreError> {
        self.read(|conn| match scope {
            VisibleScope::Unit(id) => Ok(vec![load_unit(conn, *id)?]),
            VisibleScope::Subtree(prefix) => units_within(conn, &subtree_pattern(prefix)),
        })
    }

    /// Changes a unit's name and/or code and returns the updated unit; `by` as for
    /// [`Database::insert_unit`].
    pub fn update_unit(
        &self,
        by: Option<UserId>,
        id: UnitId,
        changes: &UnitChanges,
    ) -> Result<Unit, StoreError> {
        self.transaction(|conn| {
            load_unit(conn, id)?;
            let mut event = Event::done(AuditAction::UnitUpdate, ObjectRef::unit(id));
            if let Some(code) = &changes.code {
                event = event.with("code", code.as_str());
            }
            if let Some(name) = &changes.name {
                event = event.with("name", name.as_str());
            }
            audit::record(conn, by, now(), event)?;
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
            Err(StoreError::NotFound { .. }) => match self.insert_unit(None, new) {
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

/// One page of rows, turned into domain values, with the count of all matching rows.
pub(crate) fn paged<R, T>(
    rows: Vec<R>,
    page: PageRequest,
    total: i64,
) -> Result<Paged<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    Ok(Paged {
        items: rows
            .into_iter()
            .map(T::try_from)
            .collect::<Result<_, _>>()?,
        page: page.page(),
        per_page: page.per_page(),
        total: u64::try_from(total).map_err(StoreError::corrupt)?,
    })
}

#[cfg(test)]
mod tests {

    use vanthu_domain::access::VisibleScope;
    use vanthu_domain::{Name, PageRequest, UnitCode, UnitId, UnitLevel};

    use crate::test_support::{new_unit, race, tree};
    use crate::testing::TestDatabase;
    use crate::{StoreError, UnitChanges};

    #[test]
    fn units_form_a_tree_with_materialised_paths() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let p = t.province.id;
        assert_eq!(t.province.parent_id, None);
        assert_eq!(t.province.path.as_str(), format!("/{p}/"));
        assert_eq!(t.district.parent_id, Some(p));
        assert_eq!(t.district.path.as_str(), format!("/{p}/{}/", t.district.id));
        assert_eq!(
            t.commune.path.as_str(),
            format!("/{p}/{}/{}/", t.district.id, t.commune.id)
        );
        assert_eq!(db.get_unit(t.commune.id).unwrap(), t.commune);
        assert_eq!(db.get_unit_by_code(&t.district.code).unwrap(), t.district);
        assert!(matches!(
            db.get_unit(UnitId::new(9999).unwrap()),
            Err(StoreError::NotFound { entity: "unit" })
        ));
        assert!(matches!(
            db.get_unit_by_code(&UnitCode::parse("999.99.99.H99").unwrap()),
            Err(StoreError::NotFound { .. })
        ));
    }

    #[test]
    fn insert_rejects_bad_parent_level_and_taken_code_without_writing() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let all = || {
            db.list_units(
                &VisibleScope::Subtree(t.province.path.clone()),
                PageRequest::default(),
            )
            .unwrap()
            .total
        };
        let before = all();

        let mut orphan = new_unit(None, "001.00.00.H01", UnitLevel::Commune);
        orphan.parent_id = Some(UnitId::new(4242).unwrap());
        assert!(matches!(
            db.insert_unit(None, &orphan),
            Err(StoreError::NotFound {
                entity: "parent unit"
            })
        ));
        let err = db
            .insert_unit(
                None,
                &new_unit(Some(&t.commune), "001.00.00.H02", UnitLevel::Commune),
            )
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid(v) if v.field == "level"),
            "{err}"
        );
        assert!(matches!(
            db.insert_unit(
                None,
                &new_unit(Some(&t.province), "000.00.31.h26", UnitLevel::District)
            ),
            Err(StoreError::Conflict {
                entity: "unit",
                field: "code"
            })
        ));
        assert_eq!(all(), before);
    }

    #[test]
    fn listing_follows_the_visible_scope_and_pages() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        // Grow ids until one is a decimal extension of the district's id, so a unit whose
        // path merely starts with the same characters exists (e.g. /1/2/ and /1/21/).
        let trap_id = format!("{}1", t.district.id.get()).parse::<i64>().unwrap();
        let mut n = 0;
        let trap = loop {
            n += 1;
            let u = db
                .insert_unit(
                    None,
                    &new_unit(
                        Some(&t.province),
                        &format!("100.00.{n:02}.H26"),
                        UnitLevel::Department,
                    ),
                )
                .unwrap();
            if u.id.get() >= trap_id {
                break u;
            }
        };
        assert_eq!(trap.id.get(), trap_id);

        let page = PageRequest::new(1, 200).unwrap();
        let district_subtree = db
            .list_units(&VisibleScope::Subtree(t.district.path.clone()), page)
            .unwrap();
        let ids: Vec<_> = district_subtree.items.iter().map(|u| u.id).collect();
        assert_eq!(ids, vec![t.district.id, t.commune.id]);
        assert_eq!(district_subtree.total, 2);

        let own = db
            .list_units(&VisibleScope::Unit(t.sibling.id), page)
            .unwrap();
        assert_eq!(own.items, vec![t.sibling.clone()]);
        assert_eq!(own.total, 1);

        let everything = VisibleScope::Subtree(t.province.path.clone());
        let total = db.list_units(&everything, page).unwrap().total;
        assert_eq!(total, 4 + n);
        let first = db
            .list_units(&everything, PageRequest::new(1, 3).unwrap())
            .unwrap();
        let second = db
            .list_units(&everything, PageRequest::new(2, 3).unwrap())
            .unwrap();
        assert_eq!(first.items.len(), 3);
        assert_eq!(second.items.len(), 3);
        assert_eq!((second.page, second.per_page, second.total), (2, 3, total));
        assert!(first.items.iter().all(|u| !second.items.contains(u)));
        // Parents come before their children.
        assert_eq!(first.items[0], t.province);
        let beyond = db
            .list_units(&everything, PageRequest::new(100, 3).unwrap())
            .unwrap();
        assert!(beyond.items.is_empty());
        assert_eq!(beyond.total, total);
    }

    #[test]
    fn update_changes_name_and_code_only() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let changes = UnitChanges {
            code: Some(UnitCode::parse("000.00.39.H26").unwrap()),
            name: Some(Name::parse("Ủy ban nhân dân huyện Yên Lạc").unwrap()),
        };
        let updated = db.update_unit(None, t.district.id, &changes).unwrap();
        assert_eq!(updated.code.as_str(), "000.00.39.H26");
        assert_eq!(updated.name.as_str(), "Ủy ban nhân dân huyện Yên Lạc");
        assert_eq!(
            (updated.path.clone(), updated.parent_id),
            (t.district.path.clone(), t.district.parent_id)
        );
        assert_eq!(
            db.update_unit(None, t.district.id, &UnitChanges::default())
                .unwrap(),
            updated
        );

        // A taken code rolls back the whole change, including the name.
        let clash = UnitChanges {
            name: Some(Name::parse("Renamed").unwrap()),
            code: Some(t.sibling.code.clone()),
        };
        assert!(matches!(
            db.update_unit(None, t.district.id, &clash),
            Err(StoreError::Conflict { field: "code", .. })
        ));
        assert_eq!(db.get_unit(t.district.id).unwrap(), updated);
        assert!(matches!(
            db.update_unit(None, UnitId::new(777).unwrap(), &changes),
            Err(StoreError::NotFound { .. })
        ));
    }

    #[test]
    fn concurrent_seeding_converges() {
        const THREADS: usize = 8;
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        // Each round seeds a province of its own, all racers released at once.
        for round in 0..4 {
            let seed = move |db: crate::Database| {
                let root = db
                    .get_or_create_unit(&new_unit(
                        None,
                        &format!("000.00.00.H{:02}", 20 + round),
                        UnitLevel::Province,
                    ))
                    .unwrap();
                let mut ids = vec![root.id];
                for n in 1..=4 {
                    let code = format!("000.00.{n:02}.H{:02}", 20 + round);
                    ids.push(
                        db.get_or_create_unit(&new_unit(Some(&root), &code, UnitLevel::District))
                            .unwrap()
                            .id,
                    );
                }
                ids
            };
            let results: Vec<Vec<UnitId>> = race(THREADS, {
                let db = db.clone();
                move || seed(db.clone())
            });
            assert!(
                results.windows(2).all(|w| w[0] == w[1]),
                "round {round}: {results:?}"
            );
            let root = db.get_unit(results[0][0]).unwrap();
            let scope = VisibleScope::Subtree(root.path);
            assert_eq!(
                db.list_units(&scope, PageRequest::default()).unwrap().total,
                5,
                "round {round}"
            );
        }
    }

    #[test]
    fn get_or_create_is_idempotent() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let root = new_unit(None, "000.00.00.H26", UnitLevel::Province);
        let first = db.get_or_create_unit(&root).unwrap();
        let mut renamed = root.clone();
        renamed.name = Name::parse("Other name").unwrap();
        assert_eq!(db.get_or_create_unit(&renamed).unwrap(), first);
        let scope = VisibleScope::Subtree(first.path.clone());
        assert_eq!(
            db.list_units(&scope, PageRequest::default()).unwrap().total,
            1
        );
    }
}
