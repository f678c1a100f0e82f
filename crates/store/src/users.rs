//! User accounts and sign-in throttling.

use std::fmt;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use vanthu_audit::{AuditAction, ObjectRef};
use vanthu_domain::access::VisibleScope;
use vanthu_domain::{
    Name, PageRequest, Paged, Roles, SlowDown, ThrottleKey, Unit, UnitId, User, UserId, Username,
    ValidationError,
};

use crate::audit::{self, Event};
use crate::db::{insert_returning_id, per_backend, DbConnection};
use crate::error::{classify, missing};
use crate::schema::{login_throttle, sessions, units, users};
use crate::time::{from_millis, now, to_millis};
use crate::units::{load_unit, offset, paged, subtree_pattern, UnitRow};
use crate::{Database, StoreError};

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
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("unit", &self.unit)
            .finish_non_exhaustive()
    }
}

/// The throttle's answer to a sign-in attempt, given before the password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginAttempt {
    /// Too many failures in a row for this name from this client: refuse without checking
    /// the password until then.
    Throttled {
        /// When the next attempt is allowed.
        until: DateTime<Utc>,
    },
    /// Check the password. The attempt already counts as a failure, so that attempts made
    /// in parallel get no more checks than attempts made one after another; a correct
    /// password clears the count with [`Database::record_login_success`].
    Admitted {
        /// Failures in a row, this attempt included.
        consecutive_failures: u32,
        /// Set when this attempt, if it fails, makes the next one wait until then.
        throttled_until: Option<DateTime<Utc>>,
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
        .get_result(conn)
        .map_err(missing("user"))?
        .try_into()
}

/// The unit `user` belongs to, in one statement.
pub(crate) fn unit_of_user(conn: &mut DbConnection, user: UserId) -> Result<Unit, StoreError> {
    users::table
        .inner_join(units::table)
        .filter(users::id.eq(user.get()))
        .select(UnitRow::as_select())
        .get_result(conn)
        .map_err(missing("user"))?
        .try_into()
}

fn load_user_by_username(conn: &mut DbConnection, username: &Username) -> Result<User, StoreError> {
    users::table
        .filter(users::username.eq(username.as_str()))
        .select(UserRow::as_select())
        .get_result(conn)
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
            let before = load_user(conn, id)?;
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
                    .set(users::password_hash.eq(hash))
                    .execute(conn)?;
                // A new password is a fresh start: nobody waits for guesses at the old one.
                let account = ThrottleKey::account_of(&before.username);
                diesel::update(login_throttle::table.filter(login_throttle::account.eq(account)))
                    .set((
                        login_throttle::failures.eq(0),
                        login_throttle::throttled_until.eq(0_i64),
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

    /// Everything login needs for `username`: the account, its unit and the password hash.
    pub fn credentials(&self, username: &Username) -> Result<Credentials, StoreError> {
        self.read(|conn| {
            let user = load_user_by_username(conn, username)?;
            let password_hash: String = users::table
                .find(user.id.get())
                .select(users::password_hash)
                .get_result(conn)?;
            let unit = load_unit(conn, user.unit_id)?;
            Ok(Credentials {
                user,
                unit,
                password_hash,
            })
        })
    }

    /// Admits a sign-in attempt for `key`, counting it as a failure, or refuses it while
    /// earlier failures make it wait. Failures beyond the policy's free ones set a wait
    /// before the next attempt (a correct password then clears the count); counts with no
    /// failure for the policy's `forget_after` are dropped. Kept in the database, for names
    /// that match no account too, so that every server instance answers alike.
    pub fn begin_login_attempt(
        &self,
        key: &ThrottleKey,
        now: DateTime<Utc>,
        policy: &SlowDown,
    ) -> Result<LoginAttempt, StoreError> {
        let at = to_millis(now);
        let this = || {
            login_throttle::table
                .filter(login_throttle::account.eq(key.account()))
                .filter(login_throttle::client.eq(key.client()))
        };
        self.transaction(|conn| {
            // Forgotten counts go, so the table holds only recent failures whatever names
            // and addresses attackers send.
            let forgotten = at - policy.forget_after.num_milliseconds();
            diesel::delete(
                login_throttle::table
                    .filter(login_throttle::last_failure_at.lt(forgotten))
                    .filter(login_throttle::throttled_until.le(at)),
            )
            .execute(conn)?;
            // The row may be reset or forgotten by another attempt between these statements
            // (PostgreSQL runs them in read-committed mode): then start again.
            let mut counted = 0;
            for _ in 0..3 {
                per_backend!(conn, c => diesel::insert_into(login_throttle::table)
                    .values((
                        login_throttle::account.eq(key.account()),
                        login_throttle::client.eq(key.client()),
                        login_throttle::failures.eq(0),
                        login_throttle::last_failure_at.eq(at),
                        login_throttle::throttled_until.eq(0_i64),
                    ))
                    .on_conflict_do_nothing()
                    .execute(c))?;
                // The wait is checked by the statement that counts (and so holds the row): a
                // check made before counting would let every parallel attempt through.
                counted = diesel::update(this().filter(login_throttle::throttled_until.le(at)))
                    .set((
                        login_throttle::failures.eq(login_throttle::failures + 1),
                        login_throttle::last_failure_at.eq(at),
                    ))
                    .execute(conn)?;
                if counted > 0 {
                    break;
                }
                let until: Option<i64> = this()
                    .select(login_throttle::throttled_until)
                    .first(conn)
                    .optional()?;
                if let Some(until) = until {
                    return Ok(LoginAttempt::Throttled {
                        until: from_millis(until)?,
                    });
                }
            }
            if counted == 0 {
                return Err(StoreError::Unavailable(
                    "the sign-in count kept changing under this attempt".into(),
                ));
            }
            let failures: i32 = this().select(login_throttle::failures).first(conn)?;
            let consecutive_failures = u32::try_from(failures).map_err(StoreError::corrupt)?;
            let throttled_until = match policy.delay_after(consecutive_failures) {
                Some(delay) => {
                    let until = now + delay;
                    diesel::update(this())
                        .set(login_throttle::throttled_until.eq(to_millis(until)))
                        .execute(conn)?;
                    Some(until)
                }
                None => None,
            };
            Ok(LoginAttempt::Admitted {
                consecutive_failures,
                throttled_until,
            })
        })
    }

    /// Clears the failure count of `key` after a successful sign-in. The row is reset, not
    /// deleted, so an attempt running alongside never finds it gone; idle rows are deleted
    /// once forgotten.
    pub fn record_login_success(&self, key: &ThrottleKey) -> Result<(), StoreError> {
        diesel::update(
            login_throttle::table
                .filter(login_throttle::account.eq(key.account()))
                .filter(login_throttle::client.eq(key.client())),
        )
        .set((
            login_throttle::failures.eq(0),
            login_throttle::throttled_until.eq(0_i64),
        ))
        .execute(&mut *self.conn()?)?;
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

    use std::net::IpAddr;

    use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
    use diesel::prelude::*;
    use vanthu_domain::access::VisibleScope;
    use vanthu_domain::{
        Name, PageRequest, Role, Roles, SlowDown, ThrottleKey, UnitId, UserId, Username,
    };

    use super::LoginAttempt;
    use crate::schema::login_throttle;
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
        assert_eq!((creds.user, creds.unit), (u, t.district));
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

    fn admitted(failures: u32, throttled_until: Option<DateTime<Utc>>) -> LoginAttempt {
        LoginAttempt::Admitted {
            consecutive_failures: failures,
            throttled_until,
        }
    }

    fn key(name: &str, client: [u8; 4]) -> ThrottleKey {
        ThrottleKey::new(name, IpAddr::from(client))
    }

    const POLICY: SlowDown = SlowDown::DEFAULT;

    #[test]
    fn failures_slow_down_one_name_from_one_client_only() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        // Stored to the millisecond.
        let now = Utc::now().trunc_subsecs(3);
        let guesser = key("district.leader", [203, 0, 113, 7]);
        let free = POLICY.free_failures;
        for i in 1..free {
            assert_eq!(
                db.begin_login_attempt(&guesser, now, &POLICY).unwrap(),
                admitted(i, None)
            );
        }
        // A success in between starts the count again.
        db.record_login_success(&guesser).unwrap();
        for i in 1..free {
            assert_eq!(
                db.begin_login_attempt(&guesser, now, &POLICY).unwrap(),
                admitted(i, None)
            );
        }
        let first = now + POLICY.first_delay;
        assert_eq!(
            db.begin_login_attempt(&guesser, now, &POLICY).unwrap(),
            admitted(free, Some(first)),
            "the last free attempt is checked and sets the wait"
        );
        // Waiting: attempts are refused, and not counted.
        for at in [now, first - TimeDelta::milliseconds(1)] {
            assert_eq!(
                db.begin_login_attempt(&guesser, at, &POLICY).unwrap(),
                LoginAttempt::Throttled { until: first }
            );
        }
        // The same name from another address, and another name from this one, go on freely.
        for other in [
            key("district.leader", [198, 51, 100, 1]),
            key("district.clerk", [203, 0, 113, 7]),
        ] {
            assert_eq!(
                db.begin_login_attempt(&other, now, &POLICY).unwrap(),
                admitted(1, None)
            );
        }
        // After the wait one more guess is allowed, and a failure doubles the wait: a slow
        // down, never a lock.
        let second = first + POLICY.first_delay * 2;
        assert_eq!(
            db.begin_login_attempt(&guesser, first, &POLICY).unwrap(),
            admitted(free + 1, Some(second))
        );
        assert_eq!(
            db.begin_login_attempt(&guesser, second, &POLICY).unwrap(),
            admitted(free + 2, Some(second + POLICY.first_delay * 4))
        );
        // A day without failures forgets the count.
        let later = second + POLICY.forget_after + TimeDelta::hours(1);
        assert_eq!(
            db.begin_login_attempt(&guesser, later, &POLICY).unwrap(),
            admitted(1, None)
        );
    }

    #[test]
    fn forgotten_counts_leave_the_table_and_a_new_password_clears_the_account() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let u = user(&db, "commune.clerk", &t.commune, &[Role::Clerk]);
        let now = Utc::now().trunc_subsecs(3);
        let rows = || {
            let mut conn = db.conn().unwrap();
            login_throttle::table
                .select((
                    login_throttle::account,
                    login_throttle::client,
                    login_throttle::failures,
                ))
                .order((login_throttle::account, login_throttle::client))
                .load::<(String, String, i32)>(&mut *conn)
                .unwrap()
        };
        for i in 0..20u8 {
            db.begin_login_attempt(&key(&format!("ghost{i}"), [10, 0, 0, i]), now, &POLICY)
                .unwrap();
        }
        // The account's guesser failed recently, when the ghosts' failures are a day old.
        let later = now + POLICY.forget_after + TimeDelta::seconds(1);
        let recently = later - TimeDelta::seconds(10);
        let guesser = key("commune.clerk", [192, 0, 2, 1]);
        for _ in 0..POLICY.free_failures {
            db.begin_login_attempt(&guesser, recently, &POLICY).unwrap();
        }
        assert_eq!(rows().len(), 21);
        db.begin_login_attempt(&key("someone", [192, 0, 2, 9]), later, &POLICY)
            .unwrap();
        let free = i32::try_from(POLICY.free_failures).unwrap();
        assert_eq!(
            rows(),
            [
                ("commune.clerk".to_owned(), "192.0.2.1".to_owned(), free),
                ("someone".to_owned(), "192.0.2.9".to_owned(), 1)
            ]
        );
        assert_eq!(
            db.begin_login_attempt(&guesser, later, &POLICY).unwrap(),
            LoginAttempt::Throttled {
                until: recently + POLICY.first_delay
            }
        );
        db.update_user(
            None,
            u.id,
            &UserChanges {
                password_hash: Some("$argon2id$reset".into()),
                ..UserChanges::default()
            },
        )
        .unwrap();
        assert_eq!(
            rows(),
            [
                ("commune.clerk".to_owned(), "192.0.2.1".to_owned(), 0),
                ("someone".to_owned(), "192.0.2.9".to_owned(), 1)
            ],
            "the new password cleared every count of the account"
        );
        assert_eq!(
            db.begin_login_attempt(&guesser, later, &POLICY).unwrap(),
            admitted(1, None)
        );
    }

    #[test]
    fn parallel_attempts_get_no_more_checks_than_sequential_ones() {
        const THREADS: usize = 16;
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        // Stored to the millisecond.
        let now = Utc::now().trunc_subsecs(3);
        let free = POLICY.free_failures;
        for round in 0..4 {
            let attempts = race(THREADS, {
                let db = db.clone();
                let key = key(&format!("clerk.{round}"), [127, 0, 0, 1]);
                move || db.begin_login_attempt(&key, now, &POLICY).unwrap()
            });
            let mut counts = Vec::new();
            let mut waits = Vec::new();
            let mut refused = 0;
            for attempt in attempts {
                match attempt {
                    LoginAttempt::Admitted {
                        consecutive_failures,
                        throttled_until,
                    } => {
                        counts.push(consecutive_failures);
                        waits.extend(throttled_until);
                    }
                    LoginAttempt::Throttled { until } => {
                        assert_eq!(until, now + POLICY.first_delay);
                        refused += 1;
                    }
                }
            }
            counts.sort();
            // Exactly the attempts one after another would get, every one counted once.
            assert_eq!(counts, (1..=free).collect::<Vec<_>>(), "round {round}");
            assert_eq!(waits, [now + POLICY.first_delay], "round {round}");
            assert_eq!(refused, THREADS - free as usize, "round {round}");
        }
    }

    #[test]
    fn successes_racing_other_attempts_never_make_them_fail() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let now = Utc::now().trunc_subsecs(3);
        for round in 0..4 {
            let outcomes = race(16, {
                let db = db.clone();
                let key = key(&format!("leader.{round}"), [127, 0, 0, 1]);
                move || {
                    let attempt = db.begin_login_attempt(&key, now, &POLICY);
                    db.record_login_success(&key).map(|()| attempt)
                }
            });
            for outcome in outcomes {
                assert!(matches!(outcome, Ok(Ok(_))), "round {round}: {outcome:?}");
            }
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
