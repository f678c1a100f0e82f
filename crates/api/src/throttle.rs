//! Lockout for usernames that match no account.
//!
//! Real accounts are locked in the database after repeated failures, which answers 429. If
//! unknown names kept answering 401, five attempts would tell an attacker which usernames
//! exist. Unknown names therefore follow the same rule, counted in memory: a restart forgets
//! them, which only resets a count for accounts that do not exist.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use vanthu_store::{LOGIN_LOCKOUT, MAX_FAILED_LOGINS};

/// Most unknown names remembered; beyond it the oldest state is dropped wholesale, so memory
/// stays bounded whatever an attacker sends.
const CAPACITY: usize = 10_000;

#[derive(Debug, Clone, Copy, Default)]
struct Attempts {
    failures: u32,
    locked_until: Option<DateTime<Utc>>,
}

/// Failure counts of unknown usernames, shared by all workers.
#[derive(Debug, Default)]
pub struct UnknownAccounts {
    attempts: Mutex<HashMap<String, Attempts>>,
}

impl UnknownAccounts {
    fn key(username: &str) -> String {
        username.trim().to_lowercase().chars().take(64).collect()
    }

    /// Until when this name is locked, if it is.
    pub fn locked_until(&self, username: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        attempts
            .get(&Self::key(username))
            .and_then(|a| a.locked_until)
            .filter(|until| *until > now)
    }

    /// Counts a failure; returns the lock end when this failure locks the name, exactly as
    /// the store does for real accounts.
    pub fn record_failure(&self, username: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        if attempts.len() >= CAPACITY {
            attempts.retain(|_, a| a.locked_until.is_some_and(|until| until > now));
            if attempts.len() >= CAPACITY {
                attempts.clear();
            }
        }
        let entry = attempts.entry(Self::key(username)).or_default();
        entry.failures += 1;
        if entry.failures >= MAX_FAILED_LOGINS {
            let until = now + LOGIN_LOCKOUT;
            *entry = Attempts {
                failures: 0,
                locked_until: Some(until),
            };
            Some(until)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_lock_like_accounts() {
        let throttle = UnknownAccounts::default();
        let now = Utc::now();
        for _ in 1..MAX_FAILED_LOGINS {
            assert_eq!(throttle.record_failure("Ghost.User", now), None);
        }
        assert_eq!(throttle.locked_until("ghost.user", now), None);
        let until = throttle.record_failure("ghost.user", now).unwrap();
        assert_eq!(until, now + LOGIN_LOCKOUT);
        assert_eq!(throttle.locked_until("GHOST.USER", now), Some(until));
        assert_eq!(throttle.locked_until("ghost.user", until), None);
        assert_eq!(throttle.locked_until("other", now), None);
    }

    #[test]
    fn memory_stays_bounded() {
        let throttle = UnknownAccounts::default();
        let now = Utc::now();
        for i in 0..CAPACITY + 10 {
            throttle.record_failure(&format!("name{i}"), now);
        }
        assert!(throttle.attempts.lock().unwrap().len() <= CAPACITY);
    }
}
