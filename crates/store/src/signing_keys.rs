//! Stored private keys (wrapped under a signing PIN or the key-encryption key), the count of
//! wrong PINs that blocks a key (`crate::pin_counter`), and signing sessions.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use vanthu_audit::{AuditAction, ObjectRef};
use vanthu_domain::UserId;
use vanthu_keys::{KdfParams, SealedSessionKey, SessionId, WrapKind, WrappedKey};

use crate::audit::{self, Event};
use crate::certificates::{insert_certificate, load_certificate};
use crate::db::{insert_returning_id, per_backend, DbConnection};
use crate::error::missing;
use crate::schema::{signing_keys, signing_sessions};
use crate::time::{from_millis, now, to_millis};
use crate::{Certificate, CertificateOwner, Database, NewCertificate, StoreError};

/// Consecutive wrong PINs after which a key is blocked.
pub const MAX_PIN_ATTEMPTS: u32 = 5;

const SIGNING_KEY: &str = "signing key";

/// The wrong-PIN count of server-held keys.
mod pins {
    crate::pin_counter::pin_counter!(
        signing_keys,
        vanthu_audit::ObjectRef::signing_key,
        begin_pin_attempt,
        record_pin_failure,
        record_pin_success
    );
}

/// A stored private key with its certificate and PIN counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Database id.
    pub id: i64,
    /// The certificate the key belongs to (and its owner).
    pub certificate: Certificate,
    /// The key, sealed.
    pub wrapped: WrappedKey,
    /// Wrong PINs in a row (attempts under way included).
    pub failed_attempts: u32,
    /// When the fifth wrong PIN blocked the key.
    pub blocked_at: Option<DateTime<Utc>>,
    /// When the PIN was last changed.
    pub pin_changed_at: Option<DateTime<Utc>>,
    /// When the key was enrolled.
    pub created_at: DateTime<Utc>,
}

impl SigningKey {
    /// Wrong PINs still allowed before the key blocks.
    pub fn attempts_left(&self) -> u32 {
        if self.blocked_at.is_some() {
            0
        } else {
            MAX_PIN_ATTEMPTS.saturating_sub(self.failed_attempts)
        }
    }
}

/// The outcome of asking to try a PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinAttempt {
    /// The attempt is counted as failed until [`Database::record_pin_success`] says
    /// otherwise; `number` is its place in the current run of attempts (1 to 5).
    Admitted {
        /// 1 for the first attempt since the last correct PIN.
        number: u32,
    },
    /// The key is blocked (or its last allowed attempt is under way): the PIN is not tried.
    Blocked,
}

/// The answer to a wrong PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinFailure {
    /// More attempts remain.
    Wrong {
        /// How many.
        attempts_left: u32,
    },
    /// That was the last one: the key is now blocked.
    Blocked,
}

/// A signing session to record once the PIN was right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSigningSession {
    /// The token's public id.
    pub id: SessionId,
    /// The key's owner, who alone may use the session.
    pub user_id: UserId,
    /// The key unlocked.
    pub signing_key_id: i64,
    /// The key sealed under the token's secret.
    pub sealed: SealedSessionKey,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// How many signatures it allows.
    pub signatures: u32,
}

/// A session allowed to make one more signature (already counted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantedSignature {
    /// The key, whose certificate and binding open the sealed copy.
    pub key: SigningKey,
    /// The key sealed under the token's secret.
    pub sealed: SealedSessionKey,
    /// When the session stops working.
    pub expires_at: DateTime<Utc>,
    /// Signatures the session still allows after this one.
    pub signatures_left: u32,
}

/// The outcome of presenting a signing session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionUse {
    /// One signature granted and counted.
    Granted(Box<GrantedSignature>),
    /// The session's time is up.
    Expired,
    /// The session's signatures are used up.
    Exhausted,
    /// The key was blocked after the session was opened.
    KeyBlocked,
    /// No session of this user has the id (ended, replaced, or someone else's).
    Unknown,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = signing_keys)]
struct SigningKeyRow {
    id: i64,
    certificate_id: i64,
    wrap: String,
    kdf: Option<String>,
    salt: Option<Vec<u8>>,
    nonce: Vec<u8>,
    ciphertext: Vec<u8>,
    failed_attempts: i32,
    blocked_at: Option<i64>,
    pin_changed_at: Option<i64>,
    created_at: i64,
}

fn wrap_kind(
    id: i64,
    wrap: &str,
    kdf: Option<String>,
    salt: Option<Vec<u8>>,
) -> Result<WrapKind, StoreError> {
    let corrupt = |what: &str| StoreError::corrupt(format!("signing key {id}: {what}"));
    match (wrap, kdf, salt) {
        ("pin", Some(kdf), Some(salt)) => Ok(WrapKind::Pin {
            kdf: kdf
                .parse::<KdfParams>()
                .map_err(|e| corrupt(&e.to_string()))?,
            salt,
        }),
        ("kek", None, None) => Ok(WrapKind::Kek),
        _ => Err(corrupt("wrap kind and key-derivation fields disagree")),
    }
}

fn load_signing_key(conn: &mut DbConnection, row: SigningKeyRow) -> Result<SigningKey, StoreError> {
    let kind = wrap_kind(row.id, &row.wrap, row.kdf, row.salt)?;
    Ok(SigningKey {
        id: row.id,
        certificate: load_certificate(conn, row.certificate_id)?,
        wrapped: WrappedKey {
            kind,
            nonce: row.nonce,
            ciphertext: row.ciphertext,
        },
        failed_attempts: u32::try_from(row.failed_attempts).map_err(StoreError::corrupt)?,
        blocked_at: row.blocked_at.map(from_millis).transpose()?,
        pin_changed_at: row.pin_changed_at.map(from_millis).transpose()?,
        created_at: from_millis(row.created_at)?,
    })
}

pub(crate) fn key_by_id(conn: &mut DbConnection, id: i64) -> Result<SigningKey, StoreError> {
    let row = signing_keys::table
        .find(id)
        .select(SigningKeyRow::as_select())
        .get_result(conn)
        .map_err(missing(SIGNING_KEY))?;
    load_signing_key(conn, row)
}

/// The owner as an audit detail: `user:5`, `unit:3` or `installation`.
fn owner_name(owner: CertificateOwner) -> String {
    match owner {
        CertificateOwner::User(u) => format!("user:{u}"),
        CertificateOwner::Unit(u) => format!("unit:{u}"),
        CertificateOwner::System => "installation".to_owned(),
    }
}

/// The user whose key `id` is (none for an organisation's seal).
fn key_owner(conn: &mut DbConnection, id: i64) -> Result<Option<UserId>, StoreError> {
    let owner: Option<i64> = signing_keys::table
        .find(id)
        .select(signing_keys::owner_user_id)
        .get_result(conn)
        .map_err(missing(SIGNING_KEY))?;
    owner
        .map(UserId::new)
        .transpose()
        .map_err(StoreError::corrupt)
}

/// The signing keys of `owner` (at most one); installations enrol no signing keys.
fn keys_of(
    owner: CertificateOwner,
) -> Result<signing_keys::BoxedQuery<'static, crate::db::MultiBackend>, StoreError> {
    let query = signing_keys::table.into_boxed();
    match owner {
        CertificateOwner::User(u) => Ok(query.filter(signing_keys::owner_user_id.eq(u.get()))),
        CertificateOwner::Unit(u) => Ok(query.filter(signing_keys::owner_unit_id.eq(u.get()))),
        CertificateOwner::System => Err(StoreError::not_found(SIGNING_KEY)),
    }
}

/// The `(kdf, salt)` columns of a wrapped key.
fn kdf_columns(wrapped: &WrappedKey) -> (Option<String>, Option<&[u8]>) {
    match &wrapped.kind {
        WrapKind::Pin { kdf, salt } => (Some(kdf.to_string()), Some(salt.as_slice())),
        WrapKind::Kek => (None, None),
    }
}

impl Database {
    /// Stores `certificate` and its key, replacing the owner's previous key (and ending its
    /// signing sessions), in one transaction. The certificate must belong to a user or a unit
    /// (`NotFound` otherwise).
    pub fn enrol_signing_key(
        &self,
        certificate: &NewCertificate,
        wrapped: &WrappedKey,
    ) -> Result<SigningKey, StoreError> {
        let (user, unit) = match certificate.owner {
            CertificateOwner::User(u) => (Some(u.get()), None),
            CertificateOwner::Unit(u) => (None, Some(u.get())),
            CertificateOwner::System => (None, None),
        };
        let previous = keys_of(certificate.owner)?;
        self.transaction(|conn| {
            let stored = insert_certificate(conn, certificate)?;
            let previous: Vec<i64> = previous.select(signing_keys::id).load(conn)?;
            // Sessions go with their key (ON DELETE CASCADE).
            diesel::delete(signing_keys::table.filter(signing_keys::id.eq_any(&previous)))
                .execute(conn)?;
            let (kdf, salt) = kdf_columns(wrapped);
            let id = insert_returning_id!(
                &mut *conn,
                signing_keys::table,
                (
                    signing_keys::certificate_id.eq(stored.id),
                    signing_keys::owner_user_id.eq(user),
                    signing_keys::owner_unit_id.eq(unit),
                    signing_keys::wrap.eq(wrapped.kind.name()),
                    signing_keys::kdf.eq(kdf),
                    signing_keys::salt.eq(salt),
                    signing_keys::nonce.eq(&wrapped.nonce),
                    signing_keys::ciphertext.eq(&wrapped.ciphertext),
                    signing_keys::created_at.eq(to_millis(now())),
                ),
                signing_keys::id
            )?;
            let mut event = Event::done(AuditAction::KeyEnrol, ObjectRef::signing_key(id))
                .with("owner", owner_name(certificate.owner))
                .with("subject", certificate.subject.as_str())
                .with("serial", certificate.serial.as_str())
                .with("not_after", certificate.not_after.to_rfc3339())
                .with("protection", wrapped.kind.name());
            if !previous.is_empty() {
                let replaced: Vec<String> = previous.iter().map(i64::to_string).collect();
                event = event.with("replaces", replaced.join(","));
            }
            let at = now();
            match certificate.owner {
                // Leaders enrol their own keys.
                CertificateOwner::User(u) => audit::record(conn, Some(u), at, event)?,
                // Seal keys are installed by the operator (`vanthu seal-key`).
                CertificateOwner::Unit(u) => audit::record_in_unit(conn, u, at, event)?,
                CertificateOwner::System => audit::record(conn, None, at, event)?,
            }
            key_by_id(conn, id)
        })
    }

    /// The signing key of a user or a unit.
    pub fn signing_key_of(&self, owner: CertificateOwner) -> Result<SigningKey, StoreError> {
        let query = keys_of(owner)?;
        self.read(|conn| {
            let row = query
                .select(SigningKeyRow::as_select())
                // One key per owner (unique): no LIMIT, see `crate::db` on `first()`.
                .get_result(conn)
                .map_err(missing(SIGNING_KEY))?;
            load_signing_key(conn, row)
        })
    }

    /// Replaces the wrapping of key `id` (a new PIN) and ends its signing sessions, in one
    /// transaction; refused with `Stale` if the key was blocked meanwhile.
    pub fn rewrap_signing_key(
        &self,
        id: i64,
        wrapped: &WrappedKey,
        at: DateTime<Utc>,
    ) -> Result<SigningKey, StoreError> {
        self.transaction(|conn| {
            let (kdf, salt) = kdf_columns(wrapped);
            let updated = diesel::update(
                signing_keys::table
                    .find(id)
                    .filter(signing_keys::blocked_at.is_null()),
            )
            .set((
                signing_keys::wrap.eq(wrapped.kind.name()),
                signing_keys::kdf.eq(kdf),
                signing_keys::salt.eq(salt),
                signing_keys::nonce.eq(&wrapped.nonce),
                signing_keys::ciphertext.eq(&wrapped.ciphertext),
                signing_keys::failed_attempts.eq(0),
                signing_keys::pin_changed_at.eq(Some(to_millis(at))),
            ))
            .execute(conn)?;
            if updated == 0 {
                return Err(StoreError::Stale {
                    entity: SIGNING_KEY,
                    now: "blocked".into(),
                });
            }
            diesel::delete(signing_sessions::table.filter(signing_sessions::signing_key_id.eq(id)))
                .execute(conn)?;
            let owner = key_owner(conn, id)?;
            let event = Event::done(AuditAction::PinChange, ObjectRef::signing_key(id));
            audit::record(conn, owner, at, event)?;
            key_by_id(conn, id)
        })
    }

    /// Records a signing session, and forgets the user's expired ones.
    pub fn open_signing_session(&self, new: &NewSigningSession) -> Result<(), StoreError> {
        let signatures = i32::try_from(new.signatures).map_err(StoreError::corrupt)?;
        self.transaction(|conn| {
            diesel::delete(
                signing_sessions::table
                    .filter(signing_sessions::user_id.eq(new.user_id.get()))
                    .filter(signing_sessions::expires_at.le(to_millis(new.created_at))),
            )
            .execute(conn)?;
            diesel::insert_into(signing_sessions::table)
                .values((
                    signing_sessions::id.eq(new.id.to_string()),
                    signing_sessions::user_id.eq(new.user_id.get()),
                    signing_sessions::signing_key_id.eq(new.signing_key_id),
                    signing_sessions::nonce.eq(&new.sealed.nonce),
                    signing_sessions::sealed_key.eq(&new.sealed.ciphertext),
                    signing_sessions::created_at.eq(to_millis(new.created_at)),
                    signing_sessions::expires_at.eq(to_millis(new.expires_at)),
                    signing_sessions::signatures_left.eq(signatures),
                ))
                .execute(conn)?;
            Ok(())
        })
    }

    /// Takes one signature from session `id` of `user`, counted in the same statement that
    /// checks the count and returns the sealed key, so parallel signatures never exceed the
    /// bound.
    pub fn use_signing_session(
        &self,
        id: SessionId,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<SessionUse, StoreError> {
        let id = id.to_string();
        self.transaction(|conn| {
            let mine = signing_sessions::table
                .find(&id)
                .filter(signing_sessions::user_id.eq(user.get()));
            let Some((key_id, expires_at)) = mine
                .select((
                    signing_sessions::signing_key_id,
                    signing_sessions::expires_at,
                ))
                // By primary key: no LIMIT, see `crate::db` on `first()`.
                .get_result::<(i64, i64)>(conn)
                .optional()?
            else {
                return Ok(SessionUse::Unknown);
            };
            if expires_at <= to_millis(at) {
                return Ok(SessionUse::Expired);
            }
            let key = key_by_id(conn, key_id)?;
            if key.blocked_at.is_some() {
                return Ok(SessionUse::KeyBlocked);
            }
            // Last, so that the row stays locked (PostgreSQL) only from here to the commit.
            let counted = per_backend!(conn, c => diesel::update(mine.filter(signing_sessions::signatures_left.gt(0)))
                .set(signing_sessions::signatures_left.eq(signing_sessions::signatures_left - 1))
                .returning((
                    signing_sessions::nonce,
                    signing_sessions::sealed_key,
                    signing_sessions::signatures_left,
                ))
                .get_result::<(Vec<u8>, Vec<u8>, i32)>(c)
                .optional())?;
            let Some((nonce, ciphertext, left)) = counted else {
                return Ok(SessionUse::Exhausted);
            };
            Ok(SessionUse::Granted(Box::new(GrantedSignature {
                key,
                sealed: SealedSessionKey { nonce, ciphertext },
                expires_at: from_millis(expires_at)?,
                signatures_left: u32::try_from(left).map_err(StoreError::corrupt)?,
            })))
        })
    }

    /// Ends session `id` of `user`; `NotFound` when the user has no such session.
    pub fn end_signing_session(&self, id: SessionId, user: UserId) -> Result<(), StoreError> {
        let ended = diesel::delete(
            signing_sessions::table
                .find(id.to_string())
                .filter(signing_sessions::user_id.eq(user.get())),
        )
        .execute(&mut *self.conn()?)?;
        if ended == 0 {
            return Err(StoreError::not_found("signing session"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use vanthu_domain::Role;
    use vanthu_keys::{KeyBinding, KeyOwner, SessionToken, SigningPin};

    use super::*;
    use crate::test_support::{personal_certificate as certificate, tree, user};
    use crate::testing::TestDatabase;

    /// Cheap parameters: these tests check the bookkeeping, not the cost.
    const FAST: KdfParams = KdfParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    fn wrapped(owner: KeyOwner, pin: &str) -> WrappedKey {
        let binding = KeyBinding::new(owner, b"certificate");
        WrappedKey::seal_with_pin(b"pkcs8", &SigningPin::parse(pin).unwrap(), &binding, FAST)
            .unwrap()
    }

    #[test]
    fn enrolling_again_replaces_the_key_and_its_sessions() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let leader = user(&db, "district.leader", &t.district, &[Role::Leader]);
        let owner = CertificateOwner::User(leader.id);
        let key_owner = KeyOwner::User(leader.id);
        assert!(matches!(
            db.signing_key_of(owner),
            Err(StoreError::NotFound {
                entity: "signing key"
            })
        ));
        let first = db
            .enrol_signing_key(&certificate(owner, "01"), &wrapped(key_owner, "246810"))
            .unwrap();
        assert_eq!(db.signing_key_of(owner).unwrap(), first);
        assert_eq!(first.attempts_left(), MAX_PIN_ATTEMPTS);

        let token = SessionToken::generate();
        let at = now();
        db.open_signing_session(&NewSigningSession {
            id: token.id(),
            user_id: leader.id,
            signing_key_id: first.id,
            sealed: SealedSessionKey {
                nonce: vec![0; 12],
                ciphertext: vec![1; 20],
            },
            created_at: at,
            expires_at: at + TimeDelta::minutes(5),
            signatures: 2,
        })
        .unwrap();

        let second = db
            .enrol_signing_key(&certificate(owner, "02"), &wrapped(key_owner, "135790"))
            .unwrap();
        assert_ne!(second.id, first.id);
        assert_eq!(second.certificate.serial, "02");
        assert_eq!(db.signing_key_of(owner).unwrap(), second);
        assert_eq!(
            db.use_signing_session(token.id(), leader.id, at).unwrap(),
            SessionUse::Unknown
        );
        // The old certificate stays: documents signed with it still name it.
        assert_eq!(
            db.get_certificate(first.certificate.id).unwrap().serial,
            "01"
        );
    }

    #[test]
    fn five_counted_attempts_block_and_a_correct_pin_resets() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let leader = user(&db, "district.leader", &t.district, &[Role::Leader]);
        let owner = CertificateOwner::User(leader.id);
        let key = db
            .enrol_signing_key(
                &certificate(owner, "01"),
                &wrapped(KeyOwner::User(leader.id), "246810"),
            )
            .unwrap();
        let at = now();
        for number in 1..=3 {
            assert_eq!(
                db.begin_pin_attempt(key.id).unwrap(),
                PinAttempt::Admitted { number }
            );
            assert_eq!(
                db.record_pin_failure(key.id, number, at).unwrap(),
                PinFailure::Wrong {
                    attempts_left: MAX_PIN_ATTEMPTS - number
                }
            );
        }
        assert_eq!(db.signing_key_of(owner).unwrap().attempts_left(), 2);
        assert_eq!(
            db.begin_pin_attempt(key.id).unwrap(),
            PinAttempt::Admitted { number: 4 }
        );
        db.record_pin_success(key.id).unwrap();
        assert_eq!(db.signing_key_of(owner).unwrap().attempts_left(), 5);

        for number in 1..=5 {
            assert_eq!(
                db.begin_pin_attempt(key.id).unwrap(),
                PinAttempt::Admitted { number }
            );
        }
        assert_eq!(db.begin_pin_attempt(key.id).unwrap(), PinAttempt::Blocked);
        assert_eq!(
            db.record_pin_failure(key.id, 5, at).unwrap(),
            PinFailure::Blocked
        );
        db.record_pin_success(key.id).unwrap();
        let blocked = db.signing_key_of(owner).unwrap();
        assert_eq!(blocked.attempts_left(), 0);
        assert!(blocked.blocked_at.is_some());
        assert_eq!(db.begin_pin_attempt(key.id).unwrap(), PinAttempt::Blocked);
        assert!(matches!(
            db.rewrap_signing_key(key.id, &wrapped(KeyOwner::User(leader.id), "135790"), at),
            Err(StoreError::Stale { .. })
        ));
    }

    /// Many signatures asked of one session at once, as a script replaying a token would:
    /// exactly its count is granted, each with its own remaining count, the rest refused.
    #[test]
    fn parallel_uses_of_a_session_never_exceed_its_count() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let leader = user(&db, "district.leader", &t.district, &[Role::Leader]);
        let key = db
            .enrol_signing_key(
                &certificate(CertificateOwner::User(leader.id), "01"),
                &wrapped(KeyOwner::User(leader.id), "246810"),
            )
            .unwrap();
        let token = SessionToken::generate();
        let at = now();
        db.open_signing_session(&NewSigningSession {
            id: token.id(),
            user_id: leader.id,
            signing_key_id: key.id,
            sealed: SealedSessionKey {
                nonce: vec![0; 12],
                ciphertext: vec![1; 20],
            },
            created_at: at,
            expires_at: at + TimeDelta::minutes(5),
            signatures: 5,
        })
        .unwrap();
        let outcomes: Vec<SessionUse> = std::thread::scope(|s| {
            let attempts: Vec<_> = (0..16)
                .map(|_| s.spawn(|| db.use_signing_session(token.id(), leader.id, at).unwrap()))
                .collect();
            attempts.into_iter().map(|a| a.join().unwrap()).collect()
        });
        let mut left: Vec<u32> = outcomes
            .iter()
            .filter_map(|o| match o {
                SessionUse::Granted(g) => Some(g.signatures_left),
                _ => None,
            })
            .collect();
        left.sort_unstable();
        assert_eq!(left, [0, 1, 2, 3, 4], "{outcomes:?}");
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| **o == SessionUse::Exhausted)
                .count(),
            11,
            "{outcomes:?}"
        );
    }

    #[test]
    fn sessions_grant_a_bounded_number_of_signatures_to_their_owner_until_they_expire() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let leader = user(&db, "district.leader", &t.district, &[Role::Leader]);
        let other = user(&db, "commune.leader", &t.commune, &[Role::Leader]);
        let key = db
            .enrol_signing_key(
                &certificate(CertificateOwner::User(leader.id), "01"),
                &wrapped(KeyOwner::User(leader.id), "246810"),
            )
            .unwrap();
        let token = SessionToken::generate();
        let at = now();
        let sealed = SealedSessionKey {
            nonce: vec![0; 12],
            ciphertext: vec![1; 20],
        };
        db.open_signing_session(&NewSigningSession {
            id: token.id(),
            user_id: leader.id,
            signing_key_id: key.id,
            sealed: sealed.clone(),
            created_at: at,
            expires_at: at + TimeDelta::minutes(5),
            signatures: 2,
        })
        .unwrap();
        assert_eq!(
            db.use_signing_session(token.id(), other.id, at).unwrap(),
            SessionUse::Unknown
        );
        for left in [1, 0] {
            let SessionUse::Granted(granted) =
                db.use_signing_session(token.id(), leader.id, at).unwrap()
            else {
                panic!("a signature is left");
            };
            assert_eq!(granted.signatures_left, left);
            assert_eq!(granted.sealed, sealed);
            assert_eq!(granted.key.id, key.id);
        }
        assert_eq!(
            db.use_signing_session(token.id(), leader.id, at).unwrap(),
            SessionUse::Exhausted
        );
        assert_eq!(
            db.use_signing_session(token.id(), leader.id, at + TimeDelta::minutes(5))
                .unwrap(),
            SessionUse::Expired
        );
        assert!(matches!(
            db.end_signing_session(token.id(), other.id),
            Err(StoreError::NotFound { .. })
        ));
        db.end_signing_session(token.id(), leader.id).unwrap();
        assert_eq!(
            db.use_signing_session(token.id(), leader.id, at).unwrap(),
            SessionUse::Unknown
        );
    }
}
