//! Arrival numbers and the register year they run in.

use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use vanthu_domain::ValidationError;

/// Vietnam's offset from UTC (UTC+7, no daylight saving time).
pub const VIETNAM_OFFSET_SECONDS: i32 = 7 * 3600;

/// Vietnam's clock (UTC+7, no daylight saving time).
pub fn vietnam() -> FixedOffset {
    FixedOffset::east_opt(VIETNAM_OFFSET_SECONDS).expect("+07:00 is a valid offset")
}

/// The calendar day in Vietnam at `at`: what "today" means for dates clerks enter.
pub fn vietnam_today(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&vietnam()).date_naive()
}

/// The register year for something registered at `at`. Registers run from 1 January to
/// 31 December in Vietnam (Art. 22.2), so a document registered at 23:30 UTC on
/// 31 December is already in the next year's register.
pub fn register_year(at: DateTime<Utc>) -> i32 {
    vietnam_today(at).year()
}

/// Số đến: the position of an incoming document in its unit's register for the year,
/// from 1, consecutive in order of registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct ArrivalNumber(u32);

impl ArrivalNumber {
    /// The first number of every year's register.
    pub const FIRST: ArrivalNumber = ArrivalNumber(1);

    /// Accepts 1 and above (a register holds at most `u32::MAX` documents a year).
    pub fn new(value: i64) -> Result<Self, ValidationError> {
        u32::try_from(value)
            .ok()
            .filter(|n| *n > 0)
            .map(Self)
            .ok_or_else(|| ValidationError::new("arrival_number", "must be 1 or more"))
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<i64> for ArrivalNumber {
    type Error = ValidationError;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<ArrivalNumber> for i64 {
    fn from(n: ArrivalNumber) -> i64 {
        i64::from(n.0)
    }
}

impl fmt::Display for ArrivalNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_year_turns_at_midnight_in_vietnam() {
        assert_eq!(register_year(utc("2026-12-31T16:59:59Z")), 2026);
        assert_eq!(register_year(utc("2026-12-31T17:00:00Z")), 2027);
        assert_eq!(
            vietnam_today(utc("2026-06-30T18:00:00Z")).to_string(),
            "2026-07-01"
        );
    }

    #[test]
    fn arrival_numbers_start_at_one() {
        assert!(ArrivalNumber::new(0).is_err());
        assert!(ArrivalNumber::new(-1).is_err());
        assert!(ArrivalNumber::new(i64::from(u32::MAX) + 1).is_err());
        assert_eq!(ArrivalNumber::new(1).unwrap(), ArrivalNumber::FIRST);
        assert_eq!(
            serde_json::to_string(&ArrivalNumber::new(42).unwrap()).unwrap(),
            "42"
        );
        assert!(serde_json::from_str::<ArrivalNumber>("0").is_err());
    }
}
