//! Sign-in throttling policy: what a run of failures is counted against, and how much it
//! slows the next attempt down.
//!
//! Failures are counted per typed username *and* client address, so an attacker elsewhere
//! can slow down only their own guesses, never lock the real user out. The count is kept for
//! names that match no account exactly as for real ones, so the answers do not reveal which
//! accounts exist.

use std::net::IpAddr;

use chrono::TimeDelta;

use crate::Username;

/// What a run of failed sign-ins is counted against: the username as typed (whether or not
/// an account has it) and the address the attempt came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ThrottleKey {
    account: String,
    client: String,
}

impl ThrottleKey {
    /// The key of an attempt to sign in as `typed_username` from `client`.
    ///
    /// The name is trimmed, lower-cased and cut to [`Username::MAX_LEN`] characters, so a
    /// valid name keys the same as its [`Username`] and variants of a name share one count.
    /// IPv6 clients are counted per /64 network: one subscriber usually holds a whole /64,
    /// and counting single addresses would give them billions of fresh counts.
    pub fn new(typed_username: &str, client: IpAddr) -> Self {
        Self {
            account: account_key(typed_username),
            client: client_key(client),
        }
    }

    /// The account part as stored for `username`, to clear every count of that account
    /// (after its password is reset).
    pub fn account_of(username: &Username) -> String {
        account_key(username.as_str())
    }

    /// The account part: a normalised username.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The client part: an IPv4 address, or an IPv6 /64 network such as `2001:db8:1:2::/64`.
    pub fn client(&self) -> &str {
        &self.client
    }
}

fn account_key(typed: &str) -> String {
    typed
        .trim()
        .to_lowercase()
        .chars()
        .take(Username::MAX_LEN)
        .collect()
}

fn client_key(client: IpAddr) -> String {
    match client {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// How failed sign-ins slow the next attempt down: a few failures in a row are free, then
/// each failure makes the next attempt wait, twice as long each time up to a ceiling. There
/// is no lock: after the wait one more guess is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlowDown {
    /// Failures in a row answered without a wait.
    pub free_failures: u32,
    /// The wait after the last free failure.
    pub first_delay: TimeDelta,
    /// The longest wait.
    pub max_delay: TimeDelta,
    /// A count with no failure for this long starts again from zero.
    pub forget_after: TimeDelta,
}

impl SlowDown {
    /// Five free failures (typing mistakes), then 30 s, doubling up to 15 minutes, so a
    /// guesser gets about four more guesses an hour per address; a day without failures
    /// forgets the count.
    pub const DEFAULT: SlowDown = SlowDown {
        free_failures: 5,
        first_delay: TimeDelta::seconds(30),
        max_delay: TimeDelta::minutes(15),
        forget_after: TimeDelta::days(1),
    };

    /// How long the next attempt must wait after `failures` failures in a row; `None` while
    /// they are free.
    pub fn delay_after(&self, failures: u32) -> Option<TimeDelta> {
        let beyond = failures.checked_sub(self.free_failures)?;
        // 2^20 × the first delay is past any sensible ceiling; stop doubling there.
        let factor = 1i32 << beyond.min(20);
        let delay = self
            .first_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay);
        Some(delay.min(self.max_delay))
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    #[test]
    fn keys_normalise_the_name_and_group_ipv6_networks() {
        let v4 = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));
        let key = ThrottleKey::new("  District.Clerk ", v4);
        assert_eq!(
            (key.account(), key.client()),
            ("district.clerk", "203.0.113.7")
        );
        assert_eq!(
            key.account(),
            ThrottleKey::account_of(&Username::parse("District.Clerk").unwrap())
        );
        assert_eq!(
            ThrottleKey::new(&"x".repeat(500), v4).account().len(),
            Username::MAX_LEN
        );
        assert_eq!(ThrottleKey::new("Nguyễn", v4).account(), "nguyễn");

        let a: Ipv6Addr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: Ipv6Addr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: Ipv6Addr = "2001:db8:1:3::1".parse().unwrap();
        let client = |ip: Ipv6Addr| ThrottleKey::new("u", IpAddr::V6(ip)).client().to_owned();
        assert_eq!(client(a), "2001:db8:1:2::/64");
        assert_eq!(client(a), client(b));
        assert_ne!(client(a), client(other));
        assert_eq!(
            client(Ipv4Addr::new(198, 51, 100, 1).to_ipv6_mapped()),
            "198.51.100.1"
        );
    }

    #[test]
    fn failures_beyond_the_free_ones_double_the_wait_up_to_the_ceiling() {
        let policy = SlowDown::DEFAULT;
        for failures in 0..5 {
            assert_eq!(policy.delay_after(failures), None, "{failures}");
        }
        let seconds = |f| policy.delay_after(f).unwrap().num_seconds();
        assert_eq!(
            (5..=10).map(seconds).collect::<Vec<_>>(),
            [30, 60, 120, 240, 480, 900]
        );
        assert_eq!(seconds(u32::MAX), 900);
    }
}
