//! Delegation (ủy quyền): a leader lets a named deputy assign incoming documents, sign
//! outgoing ones as the assigned signer, or both, in their stead for a range of days. The
//! deputy acts under their own name, the trace names both, and nothing received this way can
//! be handed on (Decree 30/2020 Art. 13: authority by delegation is limited in time and
//! content and may not be delegated again).

use chrono::NaiveDate;
use serde::Serialize;

use crate::ValidationError;

/// The longest a delegation may run, in days: a year, so none is left in force by oversight.
pub const MAX_DELEGATION_DAYS: i64 = 366;

/// What a delegation lets the deputy do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Powers {
    /// Assign the principal's unit's incoming documents, as its leader would.
    pub assign: bool,
    /// Sign outgoing documents whose assigned signer is the principal.
    pub sign: bool,
}

/// What a delegation grants and when, checked: at least one power, a first day no later than
/// the last, a last day not past, and at most [`MAX_DELEGATION_DAYS`] days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelegationTerms {
    powers: Powers,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
}

impl DelegationTerms {
    /// Checks the terms of a new delegation, on `today` (the Vietnam calendar day).
    pub fn new(
        powers: Powers,
        starts_on: NaiveDate,
        ends_on: NaiveDate,
        today: NaiveDate,
    ) -> Result<Self, ValidationError> {
        if !powers.assign && !powers.sign {
            return Err(ValidationError::new(
                "powers",
                "name at least one power to delegate: assign, sign",
            ));
        }
        if ends_on < starts_on {
            return Err(ValidationError::new(
                "ends_on",
                "must not be before starts_on",
            ));
        }
        if ends_on < today {
            return Err(ValidationError::new(
                "ends_on",
                format!("must not be in the past (today is {today})"),
            ));
        }
        if (ends_on - starts_on).num_days() >= MAX_DELEGATION_DAYS {
            return Err(ValidationError::new(
                "ends_on",
                format!("a delegation runs at most {MAX_DELEGATION_DAYS} days"),
            ));
        }
        Ok(Self {
            powers,
            starts_on,
            ends_on,
        })
    }

    /// Terms as stored, for a delegation read back (not checked against today).
    pub fn stored(powers: Powers, starts_on: NaiveDate, ends_on: NaiveDate) -> Self {
        Self {
            powers,
            starts_on,
            ends_on,
        }
    }

    /// What it grants.
    pub fn powers(&self) -> Powers {
        self.powers
    }

    /// Its first day, inclusive.
    pub fn starts_on(&self) -> NaiveDate {
        self.starts_on
    }

    /// Its last day, inclusive.
    pub fn ends_on(&self) -> NaiveDate {
        self.ends_on
    }

    /// Whether it runs on `day`.
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.starts_on <= day && day <= self.ends_on
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    const SIGN: Powers = Powers {
        assign: false,
        sign: true,
    };

    #[test]
    fn terms_need_a_power_and_a_range_that_is_not_past() {
        let today = day(8);
        let terms = DelegationTerms::new(SIGN, day(8), day(15), today).unwrap();
        assert!(terms.covers(day(8)) && terms.covers(day(15)));
        assert!(!terms.covers(day(7)) && !terms.covers(day(16)));
        // Starting before today is fine as long as it has not ended.
        assert!(DelegationTerms::new(SIGN, day(1), day(8), today).is_ok());
        for (powers, from, to, field) in [
            (Powers::default(), day(8), day(9), "powers"),
            (SIGN, day(10), day(9), "ends_on"),
            (SIGN, day(1), day(7), "ends_on"),
        ] {
            let err = DelegationTerms::new(powers, from, to, today).unwrap_err();
            assert_eq!(err.field, field);
        }
        let long = day(8) + chrono::Days::new(MAX_DELEGATION_DAYS as u64);
        assert!(DelegationTerms::new(SIGN, day(8), long, today).is_err());
        let longest = day(8) + chrono::Days::new(MAX_DELEGATION_DAYS as u64 - 1);
        assert!(DelegationTerms::new(SIGN, day(8), longest, today).is_ok());
    }
}
