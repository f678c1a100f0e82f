//! Remote signing through the CSC API: the authenticator (TOTP) secrets that approve it, the
//! time step each accepted code used, and the signature activation data (SAD) issued for a
//! batch of hashes, each hash signed once. Authorizations and signatures are audited in the
//! transaction that records them.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use vanthu_audit::{AuditAction, ObjectRef, Outcome};
use vanthu_domain::UserId;
use vanthu_keys::{SealedSessionKey, SealedTotp, SessionId};

use crate::audit::{record, Event};
use crate::schema::{csc_authorizations, totp_authenticators};
use crate::signing_keys::key_by_id;
use crate::time::to_millis;
use crate::{Database, SigningKey, StoreError};

/// A stored authenticator secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTotp {
    /// The signing key it approves.
    pub signing_key_id: i64,
    /// The secret, sealed under the KEK.
    pub sealed: SealedTotp,
    /// The last time step whose code was accepted.
    pub last_step: Option<i64>,
}

/// `signing_key_id`, `nonce`, `ciphertext`, `last_step` of a `totp_authenticators` row.
type TotpRow = (i64, Vec<u8>, Vec<u8>, Option<i64>);

/// The outcome of enrolling an authenticator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpEnrolment {
    /// Stored, replacing one never used.
    Enrolled,
    /// The user's authenticator has approved signatures already: it is replaced only by
    /// enrolling the signing key again.
    InUse,
}

/// Signature activation data to record once the PIN and the code were right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCscAuthorization {
    /// The SAD's public id.
    pub id: SessionId,
    /// The key's owner.
    pub user_id: UserId,
    /// The key unlocked.
    pub signing_key_id: i64,
    /// The key sealed under the SAD's secret.
    pub sealed: SealedSessionKey,
    /// The base64 hashes it allows signing, each once.
    pub hashes: Vec<String>,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Hashes allowed for signing under a SAD (already taken from it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantedHashes {
    /// The key, whose binding opens the sealed copy.
    pub key: SigningKey,
    /// The key sealed under the SAD's secret.
    pub sealed: SealedSessionKey,
}

/// The outcome of presenting a SAD with hashes to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CscUse {
    /// Granted and recorded: the hashes cannot be signed again under this SAD.
    Granted(Box<GrantedHashes>),
    /// The SAD's time is up.
    Expired,
    /// A hash the SAD does not name, or names but was signed already.
    NotAuthorized,
    /// The key was blocked after the SAD was issued.
    KeyBlocked,
    /// No SAD of this user has the id.
    Unknown,
}

impl Database {
    /// Stores `user`'s authenticator secret for key `signing_key_id`, replacing one that
    /// never approved anything, with its audit entry.
    pub fn enrol_totp(
        &self,
        user: UserId,
        signing_key_id: i64,
        sealed: &SealedTotp,
        at: DateTime<Utc>,
    ) -> Result<TotpEnrolment, StoreError> {
        self.transaction(|conn| {
            let mine = totp_authenticators::table.find(user.get());
            let used: Option<Option<i64>> = mine
                .select(totp_authenticators::last_step)
                .first(conn)
                .optional()?;
            if matches!(used, Some(Some(_))) {
                return Ok(TotpEnrolment::InUse);
            }
            diesel::delete(mine).execute(conn)?;
            diesel::insert_into(totp_authenticators::table)
                .values((
                    totp_authenticators::user_id.eq(user.get()),
                    totp_authenticators::signing_key_id.eq(signing_key_id),
                    totp_authenticators::nonce.eq(&sealed.nonce),
                    totp_authenticators::ciphertext.eq(&sealed.ciphertext),
                    totp_authenticators::created_at.eq(to_millis(at)),
                ))
                .execute(conn)?;
            let event = Event::done(AuditAction::TotpEnrol, ObjectRef::user(user));
            record(conn, Some(user), at, event)?;
            Ok(TotpEnrolment::Enrolled)
        })
    }

    /// The authenticator of `user`, if they enrolled one for their current key.
    pub fn totp_of(&self, user: UserId) -> Result<Option<StoredTotp>, StoreError> {
        let row: Option<TotpRow> = totp_authenticators::table
            .find(user.get())
            .select((
                totp_authenticators::signing_key_id,
                totp_authenticators::nonce,
                totp_authenticators::ciphertext,
                totp_authenticators::last_step,
            ))
            .first(&mut *self.conn()?)
            .optional()?;
        Ok(row.map(
            |(signing_key_id, nonce, ciphertext, last_step)| StoredTotp {
                signing_key_id,
                sealed: SealedTotp { nonce, ciphertext },
                last_step,
            },
        ))
    }

    /// Takes time step `step` for `user`'s authenticator: false when that step or a later
    /// one was taken already, so a code works once, even when presented twice at once.
    pub fn take_totp_step(&self, user: UserId, step: i64) -> Result<bool, StoreError> {
        let unused = totp_authenticators::last_step
            .is_null()
            .or(totp_authenticators::last_step.lt(step));
        let taken = diesel::update(totp_authenticators::table.find(user.get()).filter(unused))
            .set(totp_authenticators::last_step.eq(Some(step)))
            .execute(&mut *self.conn()?)?;
        Ok(taken == 1)
    }

    /// Records signature activation data (and forgets the user's expired ones), with the
    /// audit entry of the approval.
    pub fn open_csc_authorization(
        &self,
        new: &NewCscAuthorization,
        credential: &str,
    ) -> Result<(), StoreError> {
        self.transaction(|conn| {
            diesel::delete(
                csc_authorizations::table
                    .filter(csc_authorizations::user_id.eq(new.user_id.get()))
                    .filter(csc_authorizations::expires_at.le(to_millis(new.created_at))),
            )
            .execute(conn)?;
            diesel::insert_into(csc_authorizations::table)
                .values((
                    csc_authorizations::id.eq(new.id.to_string()),
                    csc_authorizations::user_id.eq(new.user_id.get()),
                    csc_authorizations::signing_key_id.eq(new.signing_key_id),
                    csc_authorizations::nonce.eq(&new.sealed.nonce),
                    csc_authorizations::sealed_key.eq(&new.sealed.ciphertext),
                    csc_authorizations::hashes.eq(new.hashes.join("\n")),
                    csc_authorizations::created_at.eq(to_millis(new.created_at)),
                    csc_authorizations::expires_at.eq(to_millis(new.expires_at)),
                ))
                .execute(conn)?;
            let event = Event::done(AuditAction::CscAuthorize, ObjectRef::user(new.user_id))
                .with("credential", credential)
                .with("authorization", new.id.to_string())
                .with("signatures", new.hashes.len().to_string())
                .with("hashes", new.hashes.join(" "));
            record(conn, Some(new.user_id), new.created_at, event)
        })
    }

    /// Queues the entry of a refused approval (a wrong PIN or code), in a transaction of its
    /// own, as refused sign-ins are.
    pub fn record_csc_refusal(
        &self,
        user: UserId,
        credential: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.transaction(|conn| {
            let mut event = Event::done(AuditAction::CscAuthorize, ObjectRef::user(user))
                .with("credential", credential)
                .with("reason", reason);
            event.outcome = Outcome::Failure;
            record(conn, Some(user), at, event)
        })
    }

    /// Takes `hashes` from SAD `id` of `user`, checked and recorded (with the audit entry of
    /// the signatures) in one transaction, so parallel requests never sign a hash twice.
    pub fn use_csc_authorization(
        &self,
        id: SessionId,
        user: UserId,
        hashes: &[String],
        credential: &str,
        at: DateTime<Utc>,
    ) -> Result<CscUse, StoreError> {
        let id = id.to_string();
        self.transaction(|conn| {
            let mine = csc_authorizations::table
                .find(&id)
                .filter(csc_authorizations::user_id.eq(user.get()));
            let Some((key_id, expires_at, remaining, nonce, ciphertext)) = mine
                .select((
                    csc_authorizations::signing_key_id,
                    csc_authorizations::expires_at,
                    csc_authorizations::hashes,
                    csc_authorizations::nonce,
                    csc_authorizations::sealed_key,
                ))
                .first::<(i64, i64, String, Vec<u8>, Vec<u8>)>(conn)
                .optional()?
            else {
                return Ok(CscUse::Unknown);
            };
            if expires_at <= to_millis(at) {
                return Ok(CscUse::Expired);
            }
            let key = key_by_id(conn, key_id)?;
            if key.blocked_at.is_some() {
                return Ok(CscUse::KeyBlocked);
            }
            let mut left: BTreeSet<&str> = remaining.lines().collect();
            for hash in hashes {
                if !left.remove(hash.as_str()) {
                    return Ok(CscUse::NotAuthorized);
                }
            }
            let left: Vec<&str> = left.into_iter().collect();
            let changed = if left.is_empty() {
                diesel::delete(mine.filter(csc_authorizations::hashes.eq(&remaining)))
                    .execute(conn)?
            } else {
                diesel::update(mine.filter(csc_authorizations::hashes.eq(&remaining)))
                    .set(csc_authorizations::hashes.eq(left.join("\n")))
                    .execute(conn)?
            };
            // Compare-and-swap on the hashes left: a parallel request that took some first
            // makes this one fail rather than sign them again.
            if changed != 1 {
                return Ok(CscUse::NotAuthorized);
            }
            let event = Event::done(AuditAction::CscSignHash, ObjectRef::user(user))
                .with("credential", credential)
                .with("authorization", id.clone())
                .with("signatures", hashes.len().to_string())
                .with("hashes", hashes.join(" "));
            record(conn, Some(user), at, event)?;
            Ok(CscUse::Granted(Box::new(GrantedHashes {
                key,
                sealed: SealedSessionKey { nonce, ciphertext },
            })))
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use vanthu_audit::AuditAction;
    use vanthu_domain::Role;
    use vanthu_keys::{
        KdfParams, KeyBinding, KeyOwner, SessionToken, SigningPin, TotpSecret, WrappedKey,
    };

    use super::*;
    use crate::test_support::{tree, user};
    use crate::testing::TestDatabase;
    use crate::{CertificateOwner, CertificatePurpose, NewCertificate};

    fn enrolled(db: &Database, owner: UserId, serial: &str) -> SigningKey {
        let now = Utc::now();
        let certificate = NewCertificate {
            owner: CertificateOwner::User(owner),
            purpose: CertificatePurpose::Personal,
            subject: "CN=Lê Văn Thắng".into(),
            serial: serial.into(),
            not_before: now,
            not_after: now + TimeDelta::days(365),
            cert_pem: format!("certificate {serial}"),
            chain_pem: String::new(),
        };
        let binding = KeyBinding::new(KeyOwner::User(owner), b"cert");
        let kdf = KdfParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let pin = SigningPin::parse("246810").unwrap();
        let wrapped = WrappedKey::seal_with_pin(b"pkcs8", &pin, &binding, kdf).unwrap();
        db.enrol_signing_key(&certificate, &wrapped).unwrap()
    }

    fn actions(db: &Database, user: UserId) -> Vec<(AuditAction, Outcome)> {
        db.integrate_audit().unwrap();
        db.audit_history(ObjectRef::user(user))
            .unwrap()
            .into_iter()
            .map(|e| (e.record.action, e.record.outcome))
            .collect()
    }

    #[test]
    fn codes_work_once_and_hashes_are_signed_once_each() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let leader = user(&db, "district.leader", &t.district, &[Role::Leader]);
        let key = enrolled(&db, leader.id, "01");
        let sealed = TotpSecret::generate()
            .seal(
                &vanthu_keys::Kek::generate(),
                &KeyBinding::new(KeyOwner::User(leader.id), b"cert"),
            )
            .unwrap();
        let now = Utc::now();
        assert_eq!(
            db.enrol_totp(leader.id, key.id, &sealed, now).unwrap(),
            TotpEnrolment::Enrolled
        );
        assert_eq!(db.totp_of(leader.id).unwrap().unwrap().last_step, None);
        assert!(db.take_totp_step(leader.id, 100).unwrap());
        assert!(!db.take_totp_step(leader.id, 100).unwrap(), "a code once");
        assert!(
            !db.take_totp_step(leader.id, 99).unwrap(),
            "nor an older one"
        );
        assert!(db.take_totp_step(leader.id, 101).unwrap());
        assert_eq!(
            db.enrol_totp(leader.id, key.id, &sealed, now).unwrap(),
            TotpEnrolment::InUse
        );

        let token = SessionToken::generate();
        let hashes: Vec<String> = ["aGFzaDE=", "aGFzaDI="].map(String::from).to_vec();
        db.open_csc_authorization(
            &NewCscAuthorization {
                id: token.id(),
                user_id: leader.id,
                signing_key_id: key.id,
                sealed: SealedSessionKey {
                    nonce: vec![0; 12],
                    ciphertext: vec![1; 20],
                },
                hashes: hashes.clone(),
                created_at: now,
                expires_at: now + TimeDelta::minutes(2),
            },
            "7",
        )
        .unwrap();
        let take = |h: &[String], at| {
            db.use_csc_authorization(token.id(), leader.id, h, "7", at)
                .unwrap()
        };
        assert_eq!(take(&["b3RoZXI=".into()], now), CscUse::NotAuthorized);
        assert!(matches!(take(&hashes[..1], now), CscUse::Granted(_)));
        assert_eq!(
            take(&hashes[..1], now),
            CscUse::NotAuthorized,
            "signed once"
        );
        assert_eq!(
            take(&hashes[1..], now + TimeDelta::minutes(3)),
            CscUse::Expired
        );
        assert!(matches!(take(&hashes[1..], now), CscUse::Granted(_)));
        assert_eq!(take(&hashes[1..], now), CscUse::Unknown, "used up");
        let other = user(&db, "district.deputy", &t.district, &[Role::Leader]);
        assert_eq!(
            db.use_csc_authorization(token.id(), other.id, &hashes, "7", now)
                .unwrap(),
            CscUse::Unknown
        );
        db.record_csc_refusal(leader.id, "7", "wrong code", now)
            .unwrap();
        let logged: Vec<_> = actions(&db, leader.id)
            .into_iter()
            .filter(|(a, _)| a.as_str().starts_with("csc.") || a.as_str() == "totp.enrol")
            .collect();
        assert_eq!(
            logged,
            vec![
                (AuditAction::TotpEnrol, Outcome::Success),
                (AuditAction::CscAuthorize, Outcome::Success),
                (AuditAction::CscSignHash, Outcome::Success),
                (AuditAction::CscSignHash, Outcome::Success),
                (AuditAction::CscAuthorize, Outcome::Failure),
            ]
        );

        // Enrolling the key again removes the authenticator with the old key.
        enrolled(&db, leader.id, "02");
        assert_eq!(db.totp_of(leader.id).unwrap(), None);
    }
}
