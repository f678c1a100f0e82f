//! The auditors' ratio reports (docs/ratios.md).
//!
//! A report sums, per unit and per period, what each document contributes: an incoming
//! document counts as received on the day it arrived, as processed on the software once its
//! clerk registered or returned it here, by its signatures' verdict, and as on time or late on
//! the day its handling was completed; an outgoing document counts as issued on the day it was
//! numbered, and as digitally signed when it was. [`contributions`] is that rule, the one
//! place it is written: the store applies the change of a document's contributions in the
//! transaction of each step, and rebuilds the counts from the documents with the same
//! function. [`Counts`] add up; [`Ratios`] are their percentages, each beside its numerator
//! and denominator. [`incoming_handling`] says where one document's handling stands on a day,
//! for the handling reports, by the same facts and deadline rule.

mod contributions;
mod counts;
mod day;
mod handling;
mod ratios;

pub use contributions::{
    contributions, Contribution, Facts, IncomingFacts, OutgoingFacts, Signatures,
};
pub use counts::{Counts, Metric};
pub use day::{Day, Period, Split};
pub use handling::{days_late, incoming_handling, IncomingHandling};
pub use ratios::{
    HandlingRatios, IncomingRatios, OutgoingRatios, Percent, Ratio, Ratios, SignatureChecks,
};
