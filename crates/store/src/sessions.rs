//! Login sessions, looked up by the SHA-256 of the bearer token so a stolen database does not
//! hand out usable tokens.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use vanthu_audit::{AuditAction, ObjectRef};
use vanthu_domain::{Sha256Digest, Unit, User, UserId};

use crate::audit::{self, Event};
use crate::db::insert_returning_id;
use crate::error::classify;
use crate::schema::{sessions, units, users};
use crate::time::{from_millis, to_millis};
use crate::units::UnitRow;
use crate::users::{load_user, revoke_sessions_of, UserRow};
use crate::{Database, StoreError};

/// The stored form of a bearer token: lowercase hex SHA-256 of its text.
pub fn hash_token(token: &str) -> String {
    Sha256Digest::from_bytes(&Sha256::digest(token.as_bytes()).into()).into()
}

/// A session to record at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// [`hash_token`] of the bearer token handed to the client.
    pub token_hash: String,
    /// Who logged in.
    pub user_id: UserId,
    /// Login time.
    pub created_at: DateTime<Utc>,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
}

/// A recorded session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Database id.
    pub id: i64,
    /// [`hash_token`] of the bearer token.
    pub token_hash: String,
    /// Who logged in.
    pub user_id: UserId,
    /// Login time.
    pub created_at: DateTime<Utc>,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
    /// When the session was ended by logout (or by disabling the account).
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A session that authenticates its bearer, with the account and unit it acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSession {
    /// The session.
    pub session: Session,
    /// Its user.
    pub user: User,
    /// The user's unit.
    pub unit: Unit,
}

/// The outcome of presenting a bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionLookup {
    /// The token is valid.
    Active(Box<ActiveSession>),
    /// The token was valid but its time is up.
    Expired,
    /// The session was ended by logout or an account change.
    Revoked,
    /// The account was disabled.
    UserDisabled,
    /// No session has this token.
    Unknown,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = sessions)]
struct SessionRow {
    id: i64,
    token_hash: String,
    user_id: i64,
    created_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;
    fn try_from(r: SessionRow) -> Result<Session, StoreError> {
        Ok(Session {
            id: r.id,
            token_hash: r.token_hash,
            user_id: UserId::new(r.user_id).map_err(StoreError::corrupt)?,
            created_at: from_millis(r.created_at)?,
            expires_at: from_millis(r.expires_at)?,
            revoked_at: r.revoked_at.map(from_millis).transpose()?,
        })
    }
}

impl Database {
    /// Records a new session: a successful sign-in, which the audit log records with it.
    pub fn insert_session(&self, new: &NewSession) -> Result<Session, StoreError> {
        self.transaction(|conn| {
            let user = load_user(conn, new.user_id)?;
            let event = Event::done(AuditAction::LoginSucceeded, ObjectRef::user(user.id))
                .with("username", user.username.as_str());
            audit::record(conn, Some(user.id), new.created_at, event)?;
            let id = insert_returning_id!(
                &mut *conn,
                sessions::table,
                (
                    sessions::token_hash.eq(&new.token_hash),
                    sessions::user_id.eq(new.user_id.get()),
                    sessions::created_at.eq(to_millis(new.created_at)),
                    sessions::expires_at.eq(to_millis(new.expires_at)),
                ),
                sessions::id
            )
            .map_err(classify("session", "token"))?;
            sessions::table
                .find(id)
                .select(SessionRow::as_select())
                .get_result(conn)?
                .try_into()
        })
    }

    /// Looks up the session for a token hash and says whether it authenticates at `now`.
    pub fn find_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<SessionLookup, StoreError> {
        // One statement, which sees one state by itself: this runs before every request.
        let row = sessions::table
            .inner_join(users::table.inner_join(units::table))
            .filter(sessions::token_hash.eq(token_hash))
            .select((
                SessionRow::as_select(),
                UserRow::as_select(),
                UnitRow::as_select(),
            ))
            .get_result::<(SessionRow, UserRow, UnitRow)>(&mut *self.conn()?)
            .optional()?;
        let Some((session, user, unit)) = row else {
            return Ok(SessionLookup::Unknown);
        };
        let session = Session::try_from(session)?;
        if session.revoked_at.is_some() {
            return Ok(SessionLookup::Revoked);
        }
        if session.expires_at <= now {
            return Ok(SessionLookup::Expired);
        }
        let user = User::try_from(user)?;
        if user.disabled {
            return Ok(SessionLookup::UserDisabled);
        }
        Ok(SessionLookup::Active(Box::new(ActiveSession {
            session,
            user,
            unit: unit.try_into()?,
        })))
    }

    /// Ends the session with this token hash (logout). Returns whether a session that was
    /// still open got revoked, and only then records the sign-out in the audit log; revoking
    /// twice is harmless.
    pub fn revoke_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.transaction(|conn| {
            // The update decides: of two sign-outs at once, only the one that revoked is logged.
            let revoked = diesel::update(
                sessions::table
                    .filter(sessions::token_hash.eq(token_hash))
                    .filter(sessions::revoked_at.is_null()),
            )
            .set(sessions::revoked_at.eq(Some(to_millis(now))))
            .execute(conn)?;
            if revoked == 0 {
                return Ok(false);
            }
            let user: i64 = sessions::table
                .filter(sessions::token_hash.eq(token_hash))
                .select(sessions::user_id)
                .get_result(conn)?;
            let user = UserId::new(user).map_err(StoreError::corrupt)?;
            audit::record(
                conn,
                Some(user),
                now,
                Event::done(AuditAction::Logout, ObjectRef::user(user)),
            )?;
            Ok(true)
        })
    }

    /// Ends every open session of a user; returns how many were open.
    pub fn revoke_user_sessions(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        revoke_sessions_of(&mut *self.conn()?, user, now)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, Utc};
    use vanthu_domain::{Role, UserId};

    use super::*;
    use crate::test_support::{tree, user};
    use crate::testing::TestDatabase;

    #[test]
    fn token_hash_is_hex_sha256() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn sessions_authenticate_until_expiry_or_logout() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let u = user(&db, "commune.clerk", &t.commune, &[Role::Clerk]);
        let now = Utc::now();
        let expires_at = now + TimeDelta::minutes(30);
        let new = NewSession {
            token_hash: hash_token("secret-token"),
            user_id: u.id,
            created_at: now,
            expires_at,
        };
        let session = db.insert_session(&new).unwrap();
        assert_eq!(session.token_hash, new.token_hash);
        assert_eq!(session.revoked_at, None);
        assert!(matches!(
            db.insert_session(&new),
            Err(StoreError::Conflict {
                entity: "session",
                ..
            })
        ));

        match db.find_session(&new.token_hash, now).unwrap() {
            SessionLookup::Active(a) => {
                assert_eq!(a.session, session);
                assert_eq!((a.user, a.unit), (u.clone(), t.commune.clone()));
            }
            other => panic!("expected an active session, got {other:?}"),
        }
        let just_before = expires_at - TimeDelta::milliseconds(1);
        assert!(matches!(
            db.find_session(&new.token_hash, just_before).unwrap(),
            SessionLookup::Active(_)
        ));
        assert_eq!(
            db.find_session(&new.token_hash, expires_at).unwrap(),
            SessionLookup::Expired
        );
        assert_eq!(
            db.find_session(&hash_token("other"), now).unwrap(),
            SessionLookup::Unknown
        );

        assert!(db.revoke_session(&new.token_hash, now).unwrap());
        assert!(!db.revoke_session(&new.token_hash, now).unwrap());
        assert_eq!(
            db.find_session(&new.token_hash, now).unwrap(),
            SessionLookup::Revoked
        );
        assert!(!db.revoke_session(&hash_token("other"), now).unwrap());

        let missing_user = NewSession {
            token_hash: hash_token("x"),
            user_id: UserId::new(999).unwrap(),
            ..new.clone()
        };
        assert!(matches!(
            db.insert_session(&missing_user),
            Err(StoreError::NotFound { entity: "user" })
        ));
    }

    #[test]
    fn revoking_all_sessions_of_a_user_spares_others() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let a = user(&db, "user.a", &t.commune, &[Role::Clerk]);
        let b = user(&db, "user.b", &t.commune, &[Role::Clerk]);
        let now = Utc::now();
        for (token, who) in [("a1", a.id), ("a2", a.id), ("b1", b.id)] {
            db.insert_session(&NewSession {
                token_hash: hash_token(token),
                user_id: who,
                created_at: now,
                expires_at: now + TimeDelta::hours(1),
            })
            .unwrap();
        }
        assert_eq!(db.revoke_user_sessions(a.id, now).unwrap(), 2);
        assert_eq!(db.revoke_user_sessions(a.id, now).unwrap(), 0);
        assert_eq!(
            db.find_session(&hash_token("a2"), now).unwrap(),
            SessionLookup::Revoked
        );
        assert!(matches!(
            db.find_session(&hash_token("b1"), now).unwrap(),
            SessionLookup::Active(_)
        ));
    }
}
