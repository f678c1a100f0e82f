//! Percentages of the counts, each kept beside its numerator and denominator.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::{Counts, Metric};

/// A percentage to one decimal, rounded half up (5,789 of 6,324 is 91.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Percent {
    tenths: i64,
}

impl Percent {
    /// `count` of `of` as a percentage; `None` when `of` is not positive.
    pub fn of(count: i64, of: i64) -> Option<Percent> {
        if of <= 0 || count < 0 {
            return None;
        }
        // Exact integer arithmetic: round(1000 * count / of) half up.
        let tenths = (2000 * i128::from(count) + i128::from(of)) / (2 * i128::from(of));
        Some(Percent {
            tenths: i64::try_from(tenths).unwrap_or(i64::MAX),
        })
    }

    /// Tenths of a percent: 915 for 91.5%.
    pub fn tenths(self) -> i64 {
        self.tenths
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.tenths / 10, self.tenths % 10)
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // One decimal, as a JSON number: 91.5.
        s.serialize_f64(self.tenths as f64 / 10.0)
    }
}

/// `count` of `of`, with the percentage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ratio {
    /// The numerator.
    pub count: i64,
    /// The denominator.
    pub of: i64,
    /// `count` of `of` in percent, to one decimal, rounded half up; null when `of` is zero.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>, example = 91.5))]
    pub percent: Option<Percent>,
}

impl Ratio {
    fn new(count: i64, of: i64) -> Ratio {
        Ratio {
            count,
            of,
            percent: Percent::of(count, of),
        }
    }
}

/// Incoming documents in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncomingRatios {
    /// Received in the period, electronic and paper.
    pub received: i64,
    /// Of those, recorded as received on paper.
    pub on_paper: i64,
    /// Of those, returned to their sender by the clerk.
    pub returned: i64,
    /// Electronic ones registered or returned here, of all received.
    pub processed_on_software: Ratio,
}

/// Outgoing documents in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutgoingRatios {
    /// Issued (numbered) in the period, electronic and paper.
    pub issued: i64,
    /// Of those, issued on paper.
    pub on_paper: i64,
    /// Signed digitally here, of all issued.
    pub digitally_signed: Ratio,
}

/// Handling against deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HandlingRatios {
    /// Completed in the period on or before the deadline, of the work that fell due.
    pub on_time: Ratio,
    /// Completed in the period after the deadline, of the work that fell due.
    pub late: Ratio,
    /// Still open past the deadline at the end of the period, of the work that fell due.
    pub open_past_deadline: Ratio,
    /// Completed in the period without a deadline (in no ratio).
    pub completed_without_deadline: i64,
}

/// The verifier's verdicts on the electronic documents received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignatureChecks {
    /// Every signature valid and trusted.
    pub valid: i64,
    /// Intact but not chaining to a trust anchor.
    pub untrusted: i64,
    /// Broken, or changed after signing.
    pub invalid: i64,
    /// Not signed.
    pub unsigned: i64,
}

/// The ratios of one unit, a roll-up or a group, for one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ratios {
    /// Incoming documents.
    pub incoming: IncomingRatios,
    /// Outgoing documents.
    pub outgoing: OutgoingRatios,
    /// Handling against deadlines.
    pub handling: HandlingRatios,
    /// Signatures checked on receipt.
    pub signatures: SignatureChecks,
}

impl Ratios {
    /// The ratios of `period` (the counts of the period's days) with `open_past_deadline`
    /// documents still open past their deadline at its end.
    pub fn new(period: &Counts, open_past_deadline: i64) -> Ratios {
        let get = |m| period.get(m);
        let on_time = get(Metric::CompletedOnTime);
        let late = get(Metric::CompletedLate);
        let due = on_time + late + open_past_deadline;
        Ratios {
            incoming: IncomingRatios {
                received: get(Metric::IncomingReceived),
                on_paper: get(Metric::IncomingPaper),
                returned: get(Metric::IncomingReturned),
                processed_on_software: Ratio::new(
                    get(Metric::IncomingProcessed),
                    get(Metric::IncomingReceived),
                ),
            },
            outgoing: OutgoingRatios {
                issued: get(Metric::OutgoingIssued),
                on_paper: get(Metric::OutgoingPaper),
                digitally_signed: Ratio::new(
                    get(Metric::OutgoingSigned),
                    get(Metric::OutgoingIssued),
                ),
            },
            handling: HandlingRatios {
                on_time: Ratio::new(on_time, due),
                late: Ratio::new(late, due),
                open_past_deadline: Ratio::new(open_past_deadline, due),
                completed_without_deadline: get(Metric::CompletedWithoutDeadline),
            },
            signatures: SignatureChecks {
                valid: get(Metric::SignaturesValid),
                untrusted: get(Metric::SignaturesUntrusted),
                invalid: get(Metric::SignaturesInvalid),
                unsigned: get(Metric::SignaturesUnsigned),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_half_up_to_one_decimal() {
        // The district report's own figures (docs/ratios.md).
        for (count, of, expected) in [
            (5_789, 6_324, "91.5"),
            (17_481, 24_679, "70.8"),
            (16_569, 24_707, "67.1"),
            (5_786, 6_007, "96.3"),
            (1_301, 3_506, "37.1"),
            (434, 1_192, "36.4"),
            (1, 8, "12.5"),
            (1, 3, "33.3"),
            (2, 3, "66.7"),
            (0, 5, "0.0"),
            (5, 5, "100.0"),
        ] {
            assert_eq!(Percent::of(count, of).unwrap().to_string(), expected);
        }
        assert_eq!(Percent::of(3, 0), None);
        assert_eq!(
            serde_json::to_string(&Percent::of(5_789, 6_324)).unwrap(),
            "91.5"
        );
    }

    #[test]
    fn deadlines_divide_by_the_work_that_fell_due() {
        let mut c = Counts::default();
        c.add(Metric::CompletedOnTime, 6);
        c.add(Metric::CompletedLate, 2);
        c.add(Metric::CompletedWithoutDeadline, 9);
        let r = Ratios::new(&c, 2);
        assert_eq!(r.handling.on_time.of, 10);
        assert_eq!(r.handling.on_time.percent.unwrap().to_string(), "60.0");
        assert_eq!(r.handling.late.percent.unwrap().to_string(), "20.0");
        assert_eq!(
            r.handling.open_past_deadline.percent.unwrap().to_string(),
            "20.0"
        );
        assert_eq!(r.handling.completed_without_deadline, 9);
        assert_eq!(r.incoming.processed_on_software.percent, None);
    }
}
