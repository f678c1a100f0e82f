//! User accounts and login throttling.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use vanthu_domain::access::VisibleScope;
use vanthu_domain::{
    Name, PageRequest, Paged, Roles, Unit, UnitId, User, UserId, Username, ValidationError,
};

use crate::db::{insert_returning_id, DbConnection};
use crate::error::{classify, missing};
use crate::schema::{sessions, units, users};
use crate::time::{from_millis, now, to_millis};
use crate::units::{load_unit, offset, subtree_pattern};
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

/// The throttling state after a failed login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginFailure {
    /// Failures in a row, including this one.
    pub consecutive_failures: u32,
    /// Set when this failure locked the account.
    pub locked_until: Option<DateTime<Utc>>,
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
    /// the username is taken.
    pub fn insert_user(&self, new: &NewUser) -> Result<User, StoreError> {
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
            load_user(conn, UserId::new(id).map_err(StoreError::corrupt)?)
        })
    }

    /// The account with this id.
    pub fn get_user(&self, id: UserId) -> Result<User, StoreError> {
        load_user(&mut *self.conn()?, id)
    }

    /// The account with this id and the unit it belongs to (what access checks need).
    pub fn get_user_with_unit(&self, id: UserId) -> Result<(User, Unit), StoreError> {
        self.transaction(|conn| {
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
        self.transaction(|conn| {
            let total: i64 = filtered().count().get_result(conn)?;
            let rows: Vec<UserRow> = filtered()
                .select(UserRow::as_select())
                .order(users::id.asc())
                .limit(i64::from(page.per_page()))
                .offset(offset(page))
                .load(conn)?;
            Ok(Paged {
                items: rows
                    .into_iter()
                    .map(User::try_from)
                    .collect::<Result<_, _>>()?,
                page: page.page(),
                per_page: page.per_page(),
                total: u64::try_from(total).map_err(StoreError::corrupt)?,
            })
        })
    }

    /// Applies `changes` to an account and returns it updated.
    pub fn update_user(&self, id: UserId, changes: &UserChanges) -> Result<User, StoreError> {
        self.transaction(|conn| {
            load_user(conn, id)?;
            let at = now();
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
            Err(StoreError::NotFound { .. }) => match self.insert_user(new) {
                Err(StoreError::Conflict { .. }) => self.get_user_by_username(&new.username),
                other => other,
            },
            other => other,
        }
    }

    /// Everything login needs for `username`: the account, its unit, the password hash and
    /// the lock state.
    pub fn credentials(&self, username: &Username) -> Result<Credentials, StoreError> {
        self.transaction(|conn| {
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

    /// Counts a failed login; the [`MAX_FAILED_LOGINS`]th failure in a row locks the account
    /// for [`LOGIN_LOCKOUT`] and starts the count again. Kept in the database so that every
    /// server instance sees the same count.
    pub fn record_login_failure(
        &self,
        id: UserId,
        now: DateTime<Utc>,
    ) -> Result<LoginFailure, StoreError> {
        self.transaction(|conn| {
            // Incrementing in SQL (not read-modify-write) keeps concurrent failures counted.
            let updated = diesel::update(users::table.find(id.get()))
                .set(users::failed_logins.eq(users::failed_logins + 1))
                .execute(conn)?;
            if updated == 0 {
                return Err(StoreError::not_found("user"));
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
            Ok(LoginFailure {
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
