//! The count of wrong PINs that blocks a key, for every table whose rows are keys a PIN
//! unlocks: server-held keys (`signing_keys`) and keys in a person's own token
//! (`token_keys`). Each such table has `failed_attempts`, `blocked_at` and `owner_user_id`.
//!
//! Wrong PINs are counted before the PIN is checked, by the statement that also refuses a
//! blocked key, so attempts made in parallel each count (as login attempts do): checking
//! first and counting after would let every parallel guess through.

/// The counting statements for `$table`, whose audit entries name the key as `$object(id)`,
/// and the `Database` methods `$begin`, `$failure` and `$success` that run them.
macro_rules! pin_counter {
    ($table:ident, $object:path, $begin:ident, $failure:ident, $success:ident) => {
        use chrono::{DateTime, Utc};
        use diesel::prelude::*;
        use vanthu_audit::AuditAction;
        use vanthu_domain::UserId;

        use $crate::audit::{self, Event};
        use $crate::db::DbConnection;
        use $crate::error::missing;
        use $crate::schema::$table;
        use $crate::signing_keys::{PinAttempt, PinFailure, MAX_PIN_ATTEMPTS};
        use $crate::time::to_millis;
        use $crate::StoreError;

        /// Counts an attempt on key `id` before its PIN is checked; a blocked key, or one
        /// whose last allowed attempt is under way, is not tried at all.
        pub(crate) fn begin(conn: &mut DbConnection, id: i64) -> Result<PinAttempt, StoreError> {
            let admissible = $table::blocked_at
                .is_null()
                .and($table::failed_attempts.lt(MAX_PIN_ATTEMPTS as i32));
            let counted = diesel::update($table::table.find(id).filter(admissible))
                .set($table::failed_attempts.eq($table::failed_attempts + 1))
                .execute(conn)?;
            let number: i32 = $table::table
                .find(id)
                .select($table::failed_attempts)
                .get_result(conn)
                .map_err(missing("signing key"))?;
            if counted == 0 {
                return Ok(PinAttempt::Blocked);
            }
            Ok(PinAttempt::Admitted {
                number: u32::try_from(number).map_err(StoreError::corrupt)?,
            })
        }

        /// Records that admitted attempt `number` had a wrong PIN: the last allowed one
        /// blocks the key, with a `key.blocked` entry in the same transaction.
        pub(crate) fn failure(
            conn: &mut DbConnection,
            id: i64,
            number: u32,
            at: DateTime<Utc>,
        ) -> Result<PinFailure, StoreError> {
            if number < MAX_PIN_ATTEMPTS {
                // The attempt was counted when admitted; nothing more to write.
                return Ok(PinFailure::Wrong {
                    attempts_left: MAX_PIN_ATTEMPTS - number,
                });
            }
            let blocked =
                diesel::update($table::table.find(id).filter($table::blocked_at.is_null()))
                    .set($table::blocked_at.eq(Some(to_millis(at))))
                    .execute(conn)?;
            if blocked == 1 {
                let owner: Option<i64> = $table::table
                    .find(id)
                    .select($table::owner_user_id.nullable())
                    .get_result(conn)
                    .map_err(missing("signing key"))?;
                let owner = owner
                    .map(UserId::new)
                    .transpose()
                    .map_err(StoreError::corrupt)?;
                let event = Event::done(AuditAction::KeyBlocked, $object(id))
                    .with("wrong_pins", number.to_string());
                audit::record(conn, owner, at, event)?;
            }
            Ok(PinFailure::Blocked)
        }

        /// Clears the count after a correct PIN (unless a parallel attempt blocked the key
        /// meanwhile, which stays blocked).
        pub(crate) fn success(conn: &mut DbConnection, id: i64) -> Result<(), StoreError> {
            diesel::update($table::table.find(id).filter($table::blocked_at.is_null()))
                .set($table::failed_attempts.eq(0))
                .execute(conn)?;
            Ok(())
        }

        impl $crate::Database {
            /// Counts a PIN attempt on key `id` before the PIN is checked; a blocked key, or
            /// one whose last allowed attempt is under way, is not tried at all.
            pub fn $begin(&self, id: i64) -> Result<PinAttempt, StoreError> {
                self.transaction(|conn| begin(conn, id))
            }

            /// Records that admitted attempt `number` had a wrong PIN: the last allowed one
            /// blocks the key (`key.blocked`).
            pub fn $failure(
                &self,
                id: i64,
                number: u32,
                at: DateTime<Utc>,
            ) -> Result<PinFailure, StoreError> {
                self.transaction(|conn| failure(conn, id, number, at))
            }

            /// Clears the count of wrong PINs after a correct one (unless a parallel attempt
            /// blocked the key meanwhile, which stays blocked).
            pub fn $success(&self, id: i64) -> Result<(), StoreError> {
                success(&mut *self.conn()?, id)
            }
        }
    };
}

pub(crate) use pin_counter;
