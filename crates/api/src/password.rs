//! Password hashing with argon2id (the crate's default parameters) in PHC string format,
//! under a concurrency limit.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// At most so many passwords are hashed at once; the others wait a bounded time for a slot
/// and are then answered 503 with `Retry-After`.
///
/// Each argon2id computation with the default parameters fills 19 MiB (m = 19456 KiB) and
/// keeps a core busy, so without a limit a burst of sign-ins grows memory without bound
/// (100 at once took a server from 236 MB to 2.1 GB) and starves every other request. With
/// it, hashing holds at most `concurrency` × 19 MiB.
#[derive(Debug)]
pub struct Hashing {
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl Hashing {
    /// Allows `concurrency` hashes at once (at least one), each caller waiting up to `wait`.
    pub fn new(concurrency: usize, wait: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            wait,
        }
    }

    /// A slot for one password hash or verification, held until dropped (move it to the
    /// thread that hashes); waits up to the configured time, then answers [`ApiError::Busy`].
    pub async fn slot(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        if let Ok(slot) = self.slots.clone().try_acquire_owned() {
            return Ok(slot);
        }
        let busy = ApiError::Busy {
            retry_after: self.wait.as_secs().max(1),
        };
        if self.wait.is_zero() {
            return Err(busy);
        }
        match tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(slot)) => Ok(slot),
            // Elapsed, or the semaphore closed (it never is).
            _ => Err(busy),
        }
    }
}

/// Hashes a password for storage.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches the stored PHC string; a malformed hash never matches.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// Burns the time of one verification, so that an unknown username takes as long to reject as
/// a wrong password and response times do not reveal which accounts exist.
pub fn verify_against_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        hash_password("a password nobody has").expect("argon2 with default parameters works")
    });
    verify_password(password, dummy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash_password("vanthu-demo").unwrap();
        let b = hash_password("vanthu-demo").unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$"));
        assert!(verify_password("vanthu-demo", &a));
        assert!(!verify_password("vanthu-dem0", &a));
        assert!(!verify_password("vanthu-demo", "not a hash"));
    }
}
