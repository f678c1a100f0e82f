//! User accounts and login throttling.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use vanthu_audit::{AuditAction, ObjectRef};
use vanthu_domain::access::VisibleScope;
use vanthu_domain::{
    Name, PageRequest, Paged, Roles, Unit, UnitId, User, UserId, Username, ValidationError,
};

use crate::audit::{self, Event};
use crate::db::{insert_returning_id, DbConnection};
use crate::error::{classify, missing};
use crate::schema::{sessions, units, users};
use crate::time::{from_millis, now, to_millis};
use crate::units::{load_unit, offset, paged, subtree_pattern};
use crate::{Database, StoreError};

/// Consecutive failed logins after which an account is locked.
pub const MAX_FAILED_LOGINS: u32 = 5;

/// How long an account stays locked after [`MAX_FAILED_LOGINS`] failures in a row.
pub const LOGIN_LOCKOUT: TimeDelta = TimeDelta::minutes(5);

/// An account to create.
#[derive(Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Login name; must be unused.
    pub username: Username,
    /// Full name.
    pub display_name: Name,
    /// The unit the user belongs to; must exist.
    pub unit_id: UnitId,
    /// Roles in that unit.
    pub roles: Roles,
    /// Password hash in PHC string format, computed by the caller.
    pub password_hash: String,
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("unit_id", &self.unit_id)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// Changes to an account; `None` leaves a field as it is.
///
/// Disabling an account or setting a new password also revokes all its sessions, in the same
/// transaction.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    /// New full name.
    pub display_name: Option<Name>,
    /// New role set, replacing the old one.
    pub roles: Option<Roles>,
    /// Disable or re-enable the account.
    pub disabled: Option<bool>,
    /// New password hash (PHC string).
    pub password_hash: Option<String>,
}

impl fmt::Debug for UserChanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserChanges")
            .field("display_name", &self.display_name)
            .field("roles", &self.roles)
            .field("disabled", &self.disabled)
            .field("password_changed", &self.password_hash.is_some())
            .finish()
    }
}

/// What login needs to know about an account.
#[derive(Clone)]
pub struct Credentials {
    /// The account.
    pub user: User,
    /// Its unit.
    pub unit: Unit,
    /// Password hash (PHC string) to verify the password against.
    pub password_hash: String,
    /// Set while the account is locked after too many failed logins.
    pub locked_until: Option<DateTime<Utc>>,
}

impl Credentials {
    /// Whether logins are refused at `now` because of earlier failures.
    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("unit", &self.unit)
            .field("locked_until", &self.locked_until)
            .finish_non_exhaustive()
    }
}

/// The throttle's answer to a login attempt, given before the password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginAttempt {
    /// The account is locked: refuse without checking the password.
    Locked {
        /// When logins are allowed again.
        until: DateTime<Utc>,
    },
    /// Check the password. The attempt already counts as a failure, so that attempts made
    /// in parallel get no more checks than attempts made one after another; a correct
    /// password clears the count with [`Database::record_login_success`].
    Admitted {
        /// Failures in a row, this attempt included.
        consecutive_failures: u32,
        /// Set when this is the last attempt allowed: the account is locked until then
        /// unless the password is right.
        locked_until: Option<DateTime<Utc>>,
    },
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    unit_id: i64,
    roles: String,
    disabled: bool,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<User, StoreError> {
        let bad = |e: ValidationError| StoreError::corrupt(format!("user {}: {e}", r.id));
        Ok(User {
            id: UserId::new(r.id).map_err(bad)?,
            username: Username::parse(&r.username).map_err(bad)?,
            display_name: Name::parse(&r.display_name).map_err(bad)?,
            unit_id: UnitId::new(r.unit_id).map_err(bad)?,
            roles: Roles::parse_comma_list(&r.roles).map_err(bad)?,
            disabled: r.disabled,
            created_at: from_millis(r.created_at)?,
            updated_at: from_millis(r.updated_at)?,
        })
    }
}

pub(crate) fn load_user(conn: &mut DbConnection, id: UserId) -> Result<User, StoreError> {
    users::table
        .find(id.get())
        .select(UserRow::as_select())
        .first(conn)
        .map_err(missing("user"))?
        .try_into()
}

fn load_user_by_username(conn: &mut DbConnection, username: &Username) -> Result<User, StoreError> {
    users::table
        .filter(users::username.eq(username.as_str()))
        .select(UserRow::as_select())
        .first(conn)
        .map_err(missing("user"))?
        .try_into()
}

impl Database {
    /// Creates an account. Fails with `NotFound` if the unit does not exist and `Conflict` if
    /// the username is taken. `by` is the admin, `None` the server itself (seeding); the
    /// audit log records it.
    pub fn insert_user(&self, by: Option<UserId>, new: &NewUser) -> Result<User, StoreError> {
        self.transaction(|conn| {
            load_unit(conn, new.unit_id)?;
            let at = to_millis(now());
            let id = insert_returning_id!(
                &mut *conn,
                users::table,
                (
                    users::username.eq(new.username.as_str()),
                    users::display_name.eq(new.display_name.as_str()),
                    users::unit_id.eq(new.unit_id.get()),
                    users::roles.eq(new.roles.to_comma_list()),
                    users::password_hash.eq(&new.password_hash),
                    users::disabled.eq(false),
                    users::failed_logins.eq(0),
                    users::created_at.eq(at),
                    users::updated_at.eq(at),
                ),
                users::id
            )
            .map_err(classify("user", "username"))?;
            let id = UserId::new(id).map_err(StoreError::corrupt)?;
            let event = Event::done(AuditAction::UserCreate, ObjectRef::user(id))
                .with("username", new.username.as_str())
                .with("unit_id", new.unit_id.to_string())
                .with("roles", new.roles.to_comma_list());
            audit::record(conn, by, now(), event)?;
            load_user(conn, id)
        })
    }

    /// The account with this id.
    pub fn get_user(&self, id: UserId) -> Result<User, StoreError> {
        load_user(&mut *self.conn()?, id)
    }

    /// The account with this id and the unit it belongs to (what access checks need).
    pub fn get_user_with_unit(&self, id: UserId) -> Result<(User, Unit), StoreError> {
        self.read(|conn| {
            let user = load_user(conn, id)?;
            let unit = load_unit(conn, user.unit_id)?;
            Ok((user, unit))
        })
    }

    /// The account with this login name.
    pub fn get_user_by_username(&self, username: &Username) -> Result<User, StoreError> {
        load_user_by_username(&mut *self.conn()?, username)
    }

    /// The accounts whose unit lies in `scope`, ordered by id, one page at a time.
    pub fn list_users(
        &self,
        scope: &VisibleScope,
        page: PageRequest,
    ) -> Result<Paged<User>, StoreError> {
        let filtered = || {
            let query = users::table.inner_join(units::table).into_boxed();
            match scope {
                VisibleScope::Unit(id) => query.filter(users::unit_id.eq(id.get())),
                VisibleScope::Subtree(prefix) => {
                    query.filter(units::path.like(subtree_pattern(prefix)))
                }
            }
        };
        self.read(|conn| {
            let total: i64 = filtered().count().get_result(conn)?;
            let rows: Vec<UserRow> = filtered()
                .select(UserRow::as_select())
                .order(users::id.asc())
                .limit(i64::from(page.per_page()))
                .offset(offset(page))
                .load(conn)?;
            paged(rows, page, total)
        })
    }

    /// Applies `changes` to an account and returns it updated; `by` as for
    /// [`Database::insert_user`].
    pub fn update_user(
        &self,
        by: Option<UserId>,
        id: UserId,
        changes: &UserChanges,
    ) -> Result<User, StoreError> {
        self.transaction(|conn| {
            load_user(conn, id)?;
            let at = now();
            let mut event = Event::done(AuditAction::UserUpdate, ObjectRef::user(id));
            if let Some(name) = &changes.display_name {
                event = event.with("display_name", name.as_str());
            }
            if let Some(roles) = &changes.roles {
                event = event.with("roles", roles.to_comma_list());
            }
            if let Some(disabled) = changes.disabled {
                event = event.with("disabled", disabled.to_string());
            }
            if changes.password_hash.is_some() {
                // That it changed, never the hash.
                event = event.with("password", "changed");
            }
            audit::record(conn, by, at, event)?;
            let target = users::table.find(id.get());
            if let Some(name) = &changes.display_name {
                diesel::update(target)
                    .set(users::display_name.eq(name.as_str()))
                    .execute(conn)?;
            }
            if let Some(roles) = &changes.roles {
                diesel::update(target)
                    .set(users::roles.eq(roles.to_comma_list()))
                    .execute(conn)?;
            }
            if let Some(disabled) = changes.disabled {
                diesel::update(target)
                    .set(users::disabled.eq(disabled))
                    .execute(conn)?;
            }
            if let Some(hash) = &changes.password_hash {
                diesel::update(target)
                    .set((
                        users::password_hash.eq(hash),
                        users::failed_logins.eq(0),
                        users::locked_until.eq(None::<i64>),
                    ))
                    .execute(conn)?;
            }
            if changes.disabled == Some(true) || changes.password_hash.is_some() {
                revoke_sessions_of(conn, id, at)?;
            }
            diesel::update(target)
                .set(users::updated_at.eq(to_millis(at)))
                .execute(conn)?;
            load_user(conn, id)
        })
    }

    /// Returns the account named `new.username`, creating it first if there is none; an
    /// existing account is returned unchanged. Safe to call from several processes at once.
    pub fn get_or_create_user(&self, new: &NewUser) -> Result<User, StoreError> {
        match self.get_user_by_username(&new.username) {
            Err(StoreError::NotFound { .. }) => match self.insert_user(None, new) {
                Err(StoreError::Conflict { .. }) => self.get_user_by_username(&new.username),
                other => other,
            },
            other => other,
        }
    }

    /// Everything login needs for `username`: the account, its unit, the password hash and
    /// the lock state.
    pub fn credentials(&self, username: &Username) -> Result<Credentials, StoreError> {
        self.read(|conn| {
            let user = load_user_by_username(conn, username)?;
            let (password_hash, locked_until): (String, Option<i64>) = users::table
                .find(user.id.get())
                .select((users::password_hash, users::locked_until))
                .first(conn)?;
            let unit = load_unit(conn, user.unit_id)?;
            Ok(Credentials {
                user,
                unit,
                password_hash,
                locked_until: locked_until.map(from_millis).transpose()?,
            })
        })
    }

    /// Admits a login attempt for the account, counting it as a failure, or refuses it while
    /// the account is locked. The [`MAX_FAILED_LOGINS`]th attempt in a row locks the account
    /// for [`LOGIN_LOCKOUT`] (a correct password then unlocks it again) and starts the count
    /// again. Kept in the database so that every server instance sees the same count.
    pub fn begin_login_attempt(
        &self,
        id: UserId,
        now: DateTime<Utc>,
    ) -> Result<LoginAttempt, StoreError> {
        self.transaction(|conn| {
            // The lock is checked by the statement that counts (and so holds the row): a
            // check made before counting would let every parallel attempt through.
            let unlocked = users::locked_until
                .is_null()
                .or(users::locked_until.le(to_millis(now)));
            let counted = diesel::update(users::table.find(id.get()).filter(unlocked))
                .set(users::failed_logins.eq(users::failed_logins + 1))
                .execute(conn)?;
            if counted == 0 {
                let locked_until: Option<i64> = users::table
                    .find(id.get())
                    .select(users::locked_until)
                    .first(conn)
                    .optional()?
                    .ok_or_else(|| StoreError::not_found("user"))?;
                let until = locked_until
                    .map(from_millis)
                    .transpose()?
                    .ok_or_else(|| StoreError::corrupt("a counted login left no lock"))?;
                return Ok(LoginAttempt::Locked { until });
            }
            let failures: i32 = users::table
                .find(id.get())
                .select(users::failed_logins)
                .first(conn)?;
            let consecutive_failures = u32::try_from(failures).map_err(StoreError::corrupt)?;
            let locked_until = if consecutive_failures >= MAX_FAILED_LOGINS {
                let until = now + LOGIN_LOCKOUT;
                diesel::update(users::table.find(id.get()))
                    .set((
                        users::failed_logins.eq(0),
                        users::locked_until.eq(Some(to_millis(until))),
                    ))
                    .execute(conn)?;
                Some(until)
            } else {
                None
            };
            Ok(LoginAttempt::Admitted {
                consecutive_failures,
                locked_until,
            })
        })
    }

    /// Clears the failure count and any lock after a successful login.
    pub fn record_login_success(&self, id: UserId) -> Result<(), StoreError> {
        let updated = diesel::update(users::table.find(id.get()))
            .set((
                users::failed_logins.eq(0),
                users::locked_until.eq(None::<i64>),
            ))
            .execute(&mut *self.conn()?)?;
        if updated == 0 {
            return Err(StoreError::not_found("user"));
        }
        Ok(())
    }
}

pub(crate) fn revoke_sessions_of(
    conn: &mut DbConnection,
    id: UserId,
    at: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let n = diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(id.get()))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(Some(to_millis(at))))
    .execute(conn)?;
    Ok(n as u64)
}

#[cfg(test)]
mod tests {

    use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
    use vanthu_domain::access::VisibleScope;
    use vanthu_domain::{Name, PageRequest, Role, Roles, UnitId, UserId, Username};

    use super::{LoginAttempt, LOGIN_LOCKOUT, MAX_FAILED_LOGINS};
    use crate::test_support::{new_user, race, tree, user};
    use crate::testing::TestDatabase;
    use crate::{hash_token, NewSession, SessionLookup, StoreError, UserChanges};

    #[test]
    fn users_are_created_found_and_unique() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let u = user(
            &db,
            "District.Clerk",
            &t.district,
            &[Role::Clerk, Role::Leader],
        );
        assert_eq!(u.username.as_str(), "district.clerk");
        assert_eq!(u.roles, Roles::from([Role::Leader, Role::Clerk]));
        assert!(!u.disabled);
        assert_eq!(db.get_user(u.id).unwrap(), u);
        assert_eq!(db.get_user_by_username(&u.username).unwrap(), u);
        assert_eq!(
            db.get_user_with_unit(u.id).unwrap(),
            (u.clone(), t.district.clone())
        );
        assert!(matches!(
            db.insert_user(None, &new_user("district.clerk", t.commune.id, &[])),
            Err(StoreError::Conflict {
                entity: "user",
                field: "username"
            })
        ));
        assert!(matches!(
            db.insert_user(
                None,
                &new_user("nobody.here", UnitId::new(999).unwrap(), &[])
            ),
            Err(StoreError::NotFound { entity: "unit" })
        ));
        assert!(matches!(
            db.get_user(UserId::new(999).unwrap()),
            Err(StoreError::NotFound { entity: "user" })
        ));
        assert!(matches!(
            db.get_user_by_username(&Username::parse("ghost").unwrap()),
            Err(StoreError::NotFound { .. })
        ));
        let creds = db.credentials(&u.username).unwrap();
        assert_eq!(
            creds.password_hash,
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$District.Clerk"
        );
        assert_eq!(
            (creds.user, creds.unit, creds.locked_until),
            (u, t.district, None)
        );
        assert!(!format!("{:?}", new_user("x.y.z", t.commune.id, &[])).contains("argon2"));
    }

    #[test]
    fn listing_follows_the_visible_scope() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let top = user(&db, "province.admin", &t.province, &[Role::Admin]);
        let d1 = user(&db, "district.admin", &t.district, &[Role::Admin]);
        let d2 = user(&db, "district.clerk", &t.district, &[Role::Clerk]);
        let c = user(&db, "commune.clerk", &t.commune, &[Role::Clerk]);
        let s = user(&db, "sibling.clerk", &t.sibling, &[Role::Clerk]);
        let all = PageRequest::default();
        let ids = |scope: VisibleScope| {
            let page = db.list_users(&scope, all).unwrap();
            assert_eq!(page.total as usize, page.items.len());
            page.items.into_iter().map(|u| u.id).collect::<Vec<_>>()
        };
        assert_eq!(ids(VisibleScope::Unit(t.district.id)), vec![d1.id, d2.id]);
        assert_eq!(
            ids(VisibleScope::Subtree(t.district.path.clone())),
            vec![d1.id, d2.id, c.id]
        );
        assert_eq!(
            ids(VisibleScope::Subtree(t.province.path.clone())),
            vec![top.id, d1.id, d2.id, c.id, s.id]
        );
        let page2 = db
            .list_users(
                &VisibleScope::Subtree(t.province.path.clone()),
                PageRequest::new(2, 2).unwrap(),
            )
            .unwrap();
        assert_eq!(
            page2.items.iter().map(|u| u.id).collect::<Vec<_>>(),
            vec![d2.id, c.id]
        );
        assert_eq!(page2.total, 5);
    }

    #[test]
    fn updates_apply_and_disabling_or_new_password_ends_sessions() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let u = user(&db, "commune.leader", &t.commune, &[Role::Leader]);
        let now = Utc::now();
        let login = |token: &str| {
            db.insert_session(&NewSession {
                token_hash: hash_token(token),
                user_id: u.id,
                created_at: now,
                expires_at: now + TimeDelta::hours(1),
            })
            .unwrap()
        };

        login("t1");
        let renamed = db
            .update_user(
                None,
                u.id,
                &UserChanges {
                    display_name: Some(Name::parse("Nguyễn Văn A").unwrap()),
                    roles: Some(Roles::from([Role::Specialist])),
                    ..UserChanges::default()
                },
            )
            .unwrap();
        assert_eq!(renamed.display_name.as_str(), "Nguyễn Văn A");
        assert_eq!(renamed.roles, Roles::from([Role::Specialist]));
        assert!(renamed.updated_at >= u.updated_at);
        assert!(matches!(
            db.find_session(&hash_token("t1"), now).unwrap(),
            SessionLookup::Active(_)
        ));

        let changed = db
            .update_user(
                None,
                u.id,
                &UserChanges {
                    password_hash: Some("$argon2id$new".into()),
                    ..UserChanges::default()
                },
            )
            .unwrap();
        assert_eq!(changed.roles, renamed.roles);
        assert_eq!(
            db.credentials(&u.username).unwrap().password_hash,
            "$argon2id$new"
        );
        assert_eq!(
            db.find_session(&hash_token("t1"), now).unwrap(),
            SessionLookup::Revoked
        );

        login("t2");
        let disabled = db
            .update_user(
                None,
                u.id,
                &UserChanges {
                    disabled: Some(true),
                    ..UserChanges::default()
                },
            )
            .unwrap();
        assert!(disabled.disabled);
        assert_eq!(
            db.find_session(&hash_token("t2"), now).unwrap(),
            SessionLookup::Revoked
        );
        login("t3");
        assert_eq!(
            db.find_session(&hash_token("t3"), now).unwrap(),
            SessionLookup::UserDisabled
        );
        assert!(matches!(
            db.update_user(None, UserId::new(999).unwrap(), &UserChanges::default()),
            Err(StoreError::NotFound { entity: "user" })
        ));
    }

    fn admitted(failures: u32, locked_until: Option<DateTime<Utc>>) -> LoginAttempt {
        LoginAttempt::Admitted {
            consecutive_failures: failures,
            locked_until,
        }
    }

    #[test]
    fn repeated_failures_lock_the_account_for_a_while() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let u = user(&db, "district.leader", &t.district, &[Role::Leader]);
        // Stored to the millisecond.
        let now = Utc::now().trunc_subsecs(3);
        for i in 1..MAX_FAILED_LOGINS {
            assert_eq!(
                db.begin_login_attempt(u.id, now).unwrap(),
                admitted(i, None)
            );
        }
        // A success in between starts the count again.
        db.record_login_success(u.id).unwrap();
        for i in 1..MAX_FAILED_LOGINS {
            assert_eq!(
                db.begin_login_attempt(u.id, now).unwrap(),
                admitted(i, None)
            );
        }
        let until = now + LOGIN_LOCKOUT;
        assert_eq!(
            db.begin_login_attempt(u.id, now).unwrap(),
            admitted(MAX_FAILED_LOGINS, Some(until)),
            "the fifth attempt is checked and locks"
        );
        let creds = db.credentials(&u.username).unwrap();
        assert!(creds.is_locked(now));
        assert!(creds.is_locked(until - TimeDelta::seconds(1)));
        assert!(!creds.is_locked(until));
        // Locked: attempts are refused, and not counted.
        for at in [now, until - TimeDelta::milliseconds(1)] {
            assert_eq!(
                db.begin_login_attempt(u.id, at).unwrap(),
                LoginAttempt::Locked { until }
            );
        }
        // After the lock the count starts from zero.
        assert_eq!(
            db.begin_login_attempt(u.id, until).unwrap(),
            admitted(1, None)
        );
        db.record_login_success(u.id).unwrap();
        assert_eq!(db.credentials(&u.username).unwrap().locked_until, None);
        assert!(matches!(
            db.begin_login_attempt(UserId::new(999).unwrap(), now),
            Err(StoreError::NotFound { .. })
        ));
    }

    #[test]
    fn parallel_attempts_get_no_more_checks_than_sequential_ones() {
        const THREADS: usize = 16;
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        // Stored to the millisecond.
        let now = Utc::now().trunc_subsecs(3);
        for round in 0..4 {
            let u = user(&db, &format!("clerk.{round}"), &t.district, &[Role::Clerk]);
            let attempts = race(THREADS, {
                let db = db.clone();
                move || db.begin_login_attempt(u.id, now).unwrap()
            });
            let mut counts = Vec::new();
            let mut locks = Vec::new();
            let mut refused = 0;
            for attempt in attempts {
                match attempt {
                    LoginAttempt::Admitted {
                        consecutive_failures,
                        locked_until,
                    } => {
                        counts.push(consecutive_failures);
                        locks.extend(locked_until);
                    }
                    LoginAttempt::Locked { until } => {
                        assert_eq!(until, now + LOGIN_LOCKOUT);
                        refused += 1;
                    }
                }
            }
            counts.sort();
            // Exactly the attempts one after another would get, every one counted once.
            assert_eq!(
                counts,
                (1..=MAX_FAILED_LOGINS).collect::<Vec<_>>(),
                "round {round}"
            );
            assert_eq!(locks, [now + LOGIN_LOCKOUT], "round {round}");
            assert_eq!(
                refused,
                THREADS - MAX_FAILED_LOGINS as usize,
                "round {round}"
            );
        }
    }

    #[test]
    fn get_or_create_is_idempotent() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let first = db
            .get_or_create_user(&new_user("commune.clerk", t.commune.id, &[Role::Clerk]))
            .unwrap();
        let again = db
            .get_or_create_user(&new_user("commune.clerk", t.district.id, &[Role::Admin]))
            .unwrap();
        assert_eq!(first, again);
    }
}
