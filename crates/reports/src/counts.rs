//! The counts a report adds up, per unit and day.

use std::ops::{AddAssign, Neg};

use serde::Serialize;

/// One count of the report. The stored column of each is [`Metric::column`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Incoming documents received (electronic and paper), on the day they arrived.
    IncomingReceived,
    /// Of those, recorded as received on paper.
    IncomingPaper,
    /// Of the electronic ones, registered or returned by the clerk here.
    IncomingProcessed,
    /// Returned to their sender by the clerk.
    IncomingReturned,
    /// Electronic incoming documents whose signatures were all valid on receipt.
    SignaturesValid,
    /// ... intact and signed, but by a certificate that did not chain to a trust anchor.
    SignaturesUntrusted,
    /// ... with a broken signature or changes after signing.
    SignaturesInvalid,
    /// ... without any signature.
    SignaturesUnsigned,
    /// Outgoing documents issued (numbered), electronic and paper, on their issue day.
    OutgoingIssued,
    /// Of those, issued on paper.
    OutgoingPaper,
    /// Of those, signed digitally here.
    OutgoingSigned,
    /// Handling completed on or before its deadline, on the completion day.
    CompletedOnTime,
    /// Handling completed after its deadline.
    CompletedLate,
    /// Handling completed of a document that had no deadline.
    CompletedWithoutDeadline,
    /// +1 on the first day a registered document is open past its deadline, -1 on the day it
    /// stops being so: summed up to a day, the documents open past their deadline that day.
    OverdueChange,
}

impl Metric {
    /// Every metric, in column order.
    pub const ALL: [Metric; 15] = [
        Metric::IncomingReceived,
        Metric::IncomingPaper,
        Metric::IncomingProcessed,
        Metric::IncomingReturned,
        Metric::SignaturesValid,
        Metric::SignaturesUntrusted,
        Metric::SignaturesInvalid,
        Metric::SignaturesUnsigned,
        Metric::OutgoingIssued,
        Metric::OutgoingPaper,
        Metric::OutgoingSigned,
        Metric::CompletedOnTime,
        Metric::CompletedLate,
        Metric::CompletedWithoutDeadline,
        Metric::OverdueChange,
    ];

    /// The stored column.
    pub fn column(self) -> &'static str {
        match self {
            Metric::IncomingReceived => "incoming_received",
            Metric::IncomingPaper => "incoming_paper",
            Metric::IncomingProcessed => "incoming_processed",
            Metric::IncomingReturned => "incoming_returned",
            Metric::SignaturesValid => "signatures_valid",
            Metric::SignaturesUntrusted => "signatures_untrusted",
            Metric::SignaturesInvalid => "signatures_invalid",
            Metric::SignaturesUnsigned => "signatures_unsigned",
            Metric::OutgoingIssued => "outgoing_issued",
            Metric::OutgoingPaper => "outgoing_paper",
            Metric::OutgoingSigned => "outgoing_signed",
            Metric::CompletedOnTime => "completed_on_time",
            Metric::CompletedLate => "completed_late",
            Metric::CompletedWithoutDeadline => "completed_without_deadline",
            Metric::OverdueChange => "overdue_change",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A value for every [`Metric`]: what a unit's documents contributed over some days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Counts([i64; Metric::ALL.len()]);

impl Counts {
    /// Counts with these values, in [`Metric::ALL`] order (as the columns are read).
    pub fn from_values(values: [i64; Metric::ALL.len()]) -> Counts {
        Counts(values)
    }

    /// The values in [`Metric::ALL`] order.
    pub fn values(&self) -> [i64; Metric::ALL.len()] {
        self.0
    }

    /// The value of one metric.
    pub fn get(&self, metric: Metric) -> i64 {
        self.0[metric.index()]
    }

    /// Adds `delta` to one metric.
    pub fn add(&mut self, metric: Metric, delta: i64) {
        self.0[metric.index()] += delta;
    }

    /// Whether every value is zero (a change that changes nothing).
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&v| v == 0)
    }
}

impl AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }
}

impl Neg for Counts {
    type Output = Counts;

    fn neg(self) -> Counts {
        Counts(self.0.map(|v| -v))
    }
}
