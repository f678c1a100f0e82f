//! Leaders' keys in their own PKCS#11 token on the server: the certificate the server found
//! on the token and the count of wrong PINs that blocks signing with it, as for server-held
//! keys (`crate::pin_counter`). The key itself never leaves the token, and the PIN is not
//! kept: the row is what the server knows without it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use vanthu_audit::{AuditAction, ObjectRef};
use vanthu_domain::UserId;

use crate::audit::{self, Event};
use crate::certificates::{insert_certificate, load_certificate};
use crate::db::{insert_returning_id, DbConnection};
use crate::error::classify;
use crate::schema::token_keys;
use crate::signing_keys::MAX_PIN_ATTEMPTS;
use crate::time::{from_millis, now, to_millis};
use crate::users::load_user;
use crate::{Certificate, Database, NewCertificate, StoreError};

const TOKEN_KEY: &str = "token key";

/// The wrong-PIN count of token keys.
mod pins {
    crate::pin_counter::pin_counter!(
        token_keys,
        vanthu_audit::ObjectRef::token_key,
        begin_token_pin_attempt,
        record_token_pin_failure,
        record_token_pin_success
    );
}

/// A leader's key in their token, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenKey {
    /// Database id.
    pub id: i64,
    /// The certificate found on the token.
    pub certificate: Certificate,
    /// The owner, whose username labels the token.
    pub owner: UserId,
    /// The token's label.
    pub token_label: String,
    /// The label of the key and certificate objects on it.
    pub key_label: String,
    /// Wrong PINs in a row (attempts under way included).
    pub failed_attempts: u32,
    /// When the fifth wrong PIN blocked signing with it.
    pub blocked_at: Option<DateTime<Utc>>,
    /// When the server first found it.
    pub created_at: DateTime<Utc>,
    /// When another certificate appeared on the token.
    pub replaced_at: Option<DateTime<Utc>>,
}

impl TokenKey {
    /// Wrong PINs still allowed before signing with it blocks.
    pub fn attempts_left(&self) -> u32 {
        if self.blocked_at.is_some() {
            0
        } else {
            MAX_PIN_ATTEMPTS.saturating_sub(self.failed_attempts)
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = token_keys)]
struct TokenKeyRow {
    id: i64,
    certificate_id: i64,
    owner_user_id: i64,
    token_label: String,
    key_label: String,
    failed_attempts: i32,
    blocked_at: Option<i64>,
    created_at: i64,
    replaced_at: Option<i64>,
}

fn load(conn: &mut DbConnection, row: TokenKeyRow) -> Result<TokenKey, StoreError> {
    Ok(TokenKey {
        id: row.id,
        certificate: load_certificate(conn, row.certificate_id)?,
        owner: UserId::new(row.owner_user_id).map_err(StoreError::corrupt)?,
        token_label: row.token_label,
        key_label: row.key_label,
        failed_attempts: u32::try_from(row.failed_attempts).map_err(StoreError::corrupt)?,
        blocked_at: row.blocked_at.map(from_millis).transpose()?,
        created_at: from_millis(row.created_at)?,
        replaced_at: row.replaced_at.map(from_millis).transpose()?,
    })
}

fn current_of(conn: &mut DbConnection, owner: UserId) -> Result<Option<TokenKey>, StoreError> {
    let row = token_keys::table
        .filter(token_keys::owner_user_id.eq(owner.get()))
        .filter(token_keys::replaced_at.is_null())
        .select(TokenKeyRow::as_select())
        .get_result(conn)
        .optional()?;
    row.map(|row| load(conn, row)).transpose()
}

/// Where a token key was found, for [`Database::record_token_key`].
#[derive(Debug, Clone, Copy)]
pub struct TokenKeyPlace<'a> {
    /// The token's label.
    pub token_label: &'a str,
    /// The label of the key and certificate objects.
    pub key_label: &'a str,
}

impl Database {
    /// Records that `certificate` (its owner a user) is on the token at `place`: the owner's
    /// current token key when it is the same certificate in the same place, else a new one
    /// that replaces it, with a `key.enrol` entry (protection `pkcs11`) in the same
    /// transaction, done by `by` (the owner signing) or, found at start, filed under the
    /// owner's unit. A new certificate starts a new count of wrong PINs.
    pub fn record_token_key(
        &self,
        owner: UserId,
        certificate: &NewCertificate,
        place: TokenKeyPlace<'_>,
        by: Option<UserId>,
    ) -> Result<TokenKey, StoreError> {
        let once = || {
            self.transaction(|conn| {
                let current = current_of(conn, owner)?;
                if let Some(key) = current.as_ref().filter(|k| {
                    k.certificate.cert_pem == certificate.cert_pem
                        && k.token_label == place.token_label
                        && k.key_label == place.key_label
                }) {
                    return Ok(key.clone());
                }
                let at = now();
                if let Some(old) = &current {
                    diesel::update(token_keys::table.find(old.id))
                        .set(token_keys::replaced_at.eq(Some(to_millis(at))))
                        .execute(conn)?;
                }
                let stored = insert_certificate(conn, certificate)?;
                let id = insert_returning_id!(
                    &mut *conn,
                    token_keys::table,
                    (
                        token_keys::certificate_id.eq(stored.id),
                        token_keys::owner_user_id.eq(owner.get()),
                        token_keys::token_label.eq(place.token_label),
                        token_keys::key_label.eq(place.key_label),
                        token_keys::created_at.eq(to_millis(at)),
                    ),
                    token_keys::id
                )
                .map_err(classify(TOKEN_KEY, "owner_user_id"))?;
                let mut event = Event::done(AuditAction::KeyEnrol, ObjectRef::token_key(id))
                    .with("owner", format!("user:{owner}"))
                    .with("subject", certificate.subject.as_str())
                    .with("serial", certificate.serial.as_str())
                    .with("not_after", certificate.not_after.to_rfc3339())
                    .with("protection", "pkcs11")
                    .with("token", place.token_label);
                if let Some(old) = &current {
                    event = event.with("replaces", old.id.to_string());
                }
                match by {
                    Some(user) => audit::record(conn, Some(user), at, event)?,
                    None => {
                        let unit = load_user(conn, owner)?.unit_id;
                        audit::record_in_unit(conn, unit, at, event)?
                    }
                }
                let row = token_keys::table
                    .find(id)
                    .select(TokenKeyRow::as_select())
                    .get_result(conn)?;
                load(conn, row)
            })
        };
        match once() {
            // Two first signatures at once on PostgreSQL: the other one recorded it.
            Err(StoreError::Conflict { .. }) => once(),
            outcome => outcome,
        }
    }

    /// The user's current token key, if the server found one.
    pub fn token_key_of(&self, owner: UserId) -> Result<Option<TokenKey>, StoreError> {
        self.read(|conn| current_of(conn, owner))
    }

    /// The certificate ids of every token key recorded, each with whether it is its owner's
    /// current one, for the inventory.
    pub fn token_key_certificates(&self) -> Result<Vec<(i64, bool)>, StoreError> {
        let rows: Vec<(i64, Option<i64>)> = token_keys::table
            .select((token_keys::certificate_id, token_keys::replaced_at))
            .load(&mut *self.conn()?)?;
        Ok(rows
            .into_iter()
            .map(|(id, replaced)| (id, replaced.is_none()))
            .collect())
    }

    /// Gives back an attempt the token never judged (it was absent or busy), so that no
    /// PIN is counted wrong that was not tried; a key blocked meanwhile stays blocked.
    pub fn give_back_token_pin_attempt(&self, id: i64) -> Result<(), StoreError> {
        diesel::update(
            token_keys::table
                .find(id)
                .filter(token_keys::blocked_at.is_null())
                .filter(token_keys::failed_attempts.gt(0)),
        )
        .set(token_keys::failed_attempts.eq(token_keys::failed_attempts - 1))
        .execute(&mut *self.conn()?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use vanthu_domain::Role;

    use super::*;
    use crate::test_support::{personal_certificate, race, tree, user};
    use crate::testing::TestDatabase;
    use crate::{CertificateOwner, PinAttempt, PinFailure};

    fn certificate(owner: UserId, serial: &str) -> NewCertificate {
        personal_certificate(CertificateOwner::User(owner), serial)
    }

    const PLACE: TokenKeyPlace<'static> = TokenKeyPlace {
        token_label: "district.leader",
        key_label: "district.leader",
    };

    #[test]
    fn the_same_certificate_is_recorded_once_and_a_new_one_replaces_it() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let leader = user(&db, "district.leader", &t.district, &[Role::Leader]);
        assert_eq!(db.token_key_of(leader.id).unwrap(), None);
        let first = db
            .record_token_key(leader.id, &certificate(leader.id, "01"), PLACE, None)
            .unwrap();
        let again = db
            .record_token_key(
                leader.id,
                &certificate(leader.id, "01"),
                PLACE,
                Some(leader.id),
            )
            .unwrap();
        assert_eq!(again, first);
        assert_eq!(db.token_key_of(leader.id).unwrap(), Some(first.clone()));

        let second = db
            .record_token_key(
                leader.id,
                &certificate(leader.id, "02"),
                PLACE,
                Some(leader.id),
            )
            .unwrap();
        assert_ne!(second.id, first.id);
        assert_eq!(db.token_key_of(leader.id).unwrap(), Some(second.clone()));
        let mut listed = db.token_key_certificates().unwrap();
        listed.sort();
        assert_eq!(
            listed,
            vec![(first.certificate.id, false), (second.certificate.id, true)]
        );
    }

    #[test]
    fn first_signatures_at_once_record_the_key_once() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let leader = user(&db, "district.leader", &t.district, &[Role::Leader]);
        let shared = db.clone();
        let ids = race(4, move || {
            shared
                .record_token_key(
                    leader.id,
                    &certificate(leader.id, "01"),
                    PLACE,
                    Some(leader.id),
                )
                .map(|k| k.id)
        });
        let first = *ids[0].as_ref().unwrap();
        assert!(
            ids.iter()
                .all(|id| id.as_ref().is_ok_and(|id| *id == first)),
            "{ids:?}"
        );
        assert_eq!(db.token_key_certificates().unwrap().len(), 1);
    }

    #[test]
    fn five_wrong_pins_block_and_attempts_not_tried_are_given_back() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let leader = user(&db, "district.leader", &t.district, &[Role::Leader]);
        let key = db
            .record_token_key(leader.id, &certificate(leader.id, "01"), PLACE, None)
            .unwrap();
        // A token that was absent never judged the PIN: the attempt is given back.
        assert_eq!(
            db.begin_token_pin_attempt(key.id).unwrap(),
            PinAttempt::Admitted { number: 1 }
        );
        db.give_back_token_pin_attempt(key.id).unwrap();
        for number in 1..=4 {
            assert_eq!(
                db.begin_token_pin_attempt(key.id).unwrap(),
                PinAttempt::Admitted { number }
            );
            assert_eq!(
                db.record_token_pin_failure(key.id, number, now()).unwrap(),
                PinFailure::Wrong {
                    attempts_left: MAX_PIN_ATTEMPTS - number
                }
            );
        }
        assert_eq!(
            db.token_key_of(leader.id).unwrap().unwrap().attempts_left(),
            1
        );
        let PinAttempt::Admitted { number } = db.begin_token_pin_attempt(key.id).unwrap() else {
            panic!("the fifth attempt is admitted");
        };
        assert_eq!(
            db.record_token_pin_failure(key.id, number, now()).unwrap(),
            PinFailure::Blocked
        );
        assert_eq!(
            db.begin_token_pin_attempt(key.id).unwrap(),
            PinAttempt::Blocked
        );
        db.record_token_pin_success(key.id).unwrap();
        let blocked = db.token_key_of(leader.id).unwrap().unwrap();
        assert!(blocked.blocked_at.is_some());
        assert_eq!(blocked.attempts_left(), 0);
    }
}
