//! Lockout for usernames that match no account.
//!
//! Real accounts are locked in the database after repeated failures, which answers 429. If
//! unknown names kept answering 401, five attempts would tell an attacker which usernames
//! exist. Unknown names therefore follow the same rule, counted in memory: a restart forgets
//! them, which only resets a count for accounts that do not exist.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use vanthu_store::{LoginAttempt, LOGIN_LOCKOUT, MAX_FAILED_LOGINS};

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

    /// Admits an attempt for this name, counting it as a failure (an unknown name never
    /// succeeds), or refuses it while the name is locked, exactly as the store does for real
    /// accounts ([`vanthu_store::Database::begin_login_attempt`]).
    pub fn begin_attempt(&self, username: &str, now: DateTime<Utc>) -> LoginAttempt {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        if attempts.len() >= CAPACITY {
            attempts.retain(|_, a| a.locked_until.is_some_and(|until| until > now));
            if attempts.len() >= CAPACITY {
                attempts.clear();
            }
        }
        let entry = attempts.entry(Self::key(username)).or_default();
        if let Some(until) = entry.locked_until.filter(|until| *until > now) {
            return LoginAttempt::Locked { until };
        }
        entry.failures += 1;
        let consecutive_failures = entry.failures;
        let locked_until = (consecutive_failures >= MAX_FAILED_LOGINS).then(|| {
            let until = now + LOGIN_LOCKOUT;
            *entry = Attempts {
                failures: 0,
                locked_until: Some(until),
            };
            until
        });
        LoginAttempt::Admitted {
            consecutive_failures,
            locked_until,
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
        for i in 1..MAX_FAILED_LOGINS {
            assert_eq!(
                throttle.begin_attempt("Ghost.User", now),
                LoginAttempt::Admitted {
                    consecutive_failures: i,
                    locked_until: None
                }
            );
        }
        let until = now + LOGIN_LOCKOUT;
        assert_eq!(
            throttle.begin_attempt("ghost.user", now),
            LoginAttempt::Admitted {
                consecutive_failures: MAX_FAILED_LOGINS,
                locked_until: Some(until)
            }
        );
        assert_eq!(
            throttle.begin_attempt("GHOST.USER", now),
            LoginAttempt::Locked { until }
        );
        assert!(matches!(
            throttle.begin_attempt("ghost.user", until),
            LoginAttempt::Admitted {
                consecutive_failures: 1,
                ..
            }
        ));
        assert!(matches!(
            throttle.begin_attempt("other", now),
            LoginAttempt::Admitted {
                consecutive_failures: 1,
                ..
            }
        ));
    }

    #[test]
    fn memory_stays_bounded() {
        let throttle = UnknownAccounts::default();
        let now = Utc::now();
        for i in 0..CAPACITY + 10 {
            throttle.begin_attempt(&format!("name{i}"), now);
        }
        assert!(throttle.attempts.lock().unwrap().len() <= CAPACITY);
    }
}
