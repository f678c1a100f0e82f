//! Login sessions, looked up by the SHA-256 of the bearer token so a stolen database does not
//! hand out usable tokens.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use vanthu_domain::{Sha256Digest, Unit, User, UserId};

use crate::db::insert_returning_id;
use crate::error::classify;
use crate::schema::sessions;
use crate::time::{from_millis, to_millis};
use crate::units::load_unit;
use crate::users::{load_user, revoke_sessions_of};
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
    /// Records a new session.
    pub fn insert_session(&self, new: &NewSession) -> Result<Session, StoreError> {
        self.transaction(|conn| {
            load_user(conn, new.user_id)?;
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
                .first(conn)?
                .try_into()
        })
    }

    /// Looks up the session for a token hash and says whether it authenticates at `now`.
    pub fn find_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<SessionLookup, StoreError> {
        self.transaction(|conn| {
            let row = sessions::table
                .filter(sessions::token_hash.eq(token_hash))
                .select(SessionRow::as_select())
                .first(conn)
                .optional()?;
            let Some(row) = row else {
                return Ok(SessionLookup::Unknown);
            };
            let session = Session::try_from(row)?;
            if session.revoked_at.is_some() {
                return Ok(SessionLookup::Revoked);
            }
            if session.expires_at <= now {
                return Ok(SessionLookup::Expired);
            }
            let user = load_user(conn, session.user_id)?;
            if user.disabled {
                return Ok(SessionLookup::UserDisabled);
            }
            let unit = load_unit(conn, user.unit_id)?;
            Ok(SessionLookup::Active(Box::new(ActiveSession {
                session,
                user,
                unit,
            })))
        })
    }

    /// Ends the session with this token hash (logout). Returns whether a session that was
    /// still open got revoked; revoking twice is harmless.
    pub fn revoke_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let n = diesel::update(
            sessions::table
                .filter(sessions::token_hash.eq(token_hash))
                .filter(sessions::revoked_at.is_null()),
        )
        .set(sessions::revoked_at.eq(Some(to_millis(now))))
        .execute(&mut *self.conn()?)?;
        Ok(n > 0)
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
