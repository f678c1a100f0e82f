//! What one document contributes to the counts: the rule every report follows.

use chrono::{DateTime, NaiveDate, Utc};

use crate::{Counts, Day, Metric};

/// The verdict of the verifier on a received file, as the report groups it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signatures {
    /// Every signature valid and trusted.
    Valid,
    /// Intact, but the signer's certificate did not chain to a trust anchor.
    Untrusted,
    /// A broken signature, or changes after signing.
    Invalid,
    /// No signature.
    Unsigned,
}

impl Signatures {
    /// The group of a stored verdict (`valid`, `untrusted`, `modified`, `invalid`,
    /// `unsigned`); `None` for a verdict this version does not know.
    pub fn of_verdict(verdict: &str) -> Option<Signatures> {
        match verdict {
            "valid" => Some(Signatures::Valid),
            "untrusted" => Some(Signatures::Untrusted),
            "modified" | "invalid" => Some(Signatures::Invalid),
            "unsigned" => Some(Signatures::Unsigned),
            _ => None,
        }
    }

    fn metric(self) -> Metric {
        match self {
            Signatures::Valid => Metric::SignaturesValid,
            Signatures::Untrusted => Metric::SignaturesUntrusted,
            Signatures::Invalid => Metric::SignaturesInvalid,
            Signatures::Unsigned => Metric::SignaturesUnsigned,
        }
    }
}

/// What the report needs to know of an incoming document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingFacts {
    /// The receiving unit's id.
    pub unit: i64,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// `None` when it was recorded as received on paper; otherwise its file's verdict.
    pub electronic: Option<Signatures>,
    /// When its clerk registered it.
    pub registered_at: Option<DateTime<Utc>>,
    /// Whether its clerk returned it to the sender.
    pub returned: bool,
    /// The handling deadline: the lead's deadline once assigned, else the document's own
    /// due date.
    pub deadline: Option<NaiveDate>,
    /// When its handling was completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// When its recipient accepted the sender's recall, which ends the handling.
    pub recall_accepted_at: Option<DateTime<Utc>>,
}

/// What the report needs to know of an outgoing document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingFacts {
    /// The issuing unit's id.
    pub unit: i64,
    /// When it was numbered and issued; `None` before.
    pub issued_at: Option<DateTime<Utc>>,
    /// Whether it was issued on paper.
    pub paper: bool,
    /// Whether its signer signed it digitally here.
    pub signed: bool,
}

/// A document's share of one unit's counts on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contribution {
    /// The unit whose counts it adds to.
    pub unit: i64,
    /// The day it adds to.
    pub day: Day,
    /// What it adds.
    pub counts: Counts,
}

/// Everything a document contributes, one entry per (unit, day) it touches. A document that
/// changes contributes the difference between its contributions after and before.
pub fn contributions(document: &Facts<'_>) -> Vec<Contribution> {
    let mut out: Vec<Contribution> = Vec::new();
    let mut add = |unit: i64, day: Day, metric: Metric, delta: i64| match out
        .iter_mut()
        .find(|c| c.unit == unit && c.day == day)
    {
        Some(c) => c.counts.add(metric, delta),
        None => {
            let mut counts = Counts::default();
            counts.add(metric, delta);
            out.push(Contribution { unit, day, counts });
        }
    };
    match document {
        Facts::Incoming(d) => {
            let arrived = Day::at(d.received_at);
            add(d.unit, arrived, Metric::IncomingReceived, 1);
            match d.electronic {
                None => add(d.unit, arrived, Metric::IncomingPaper, 1),
                Some(signatures) => {
                    add(d.unit, arrived, signatures.metric(), 1);
                    // Processed on the software: its clerk's first step, registering it or
                    // returning it to the sender, was taken here. Counted on the day it
                    // arrived, so the numerator is always part of the denominator.
                    if d.registered_at.is_some() || d.returned {
                        add(d.unit, arrived, Metric::IncomingProcessed, 1);
                    }
                }
            }
            if d.returned {
                add(d.unit, arrived, Metric::IncomingReturned, 1);
            }
            if let Some(done) = d.completed_at {
                let day = Day::at(done);
                let metric = match d.deadline {
                    Some(deadline) if day <= Day::of(deadline) => Metric::CompletedOnTime,
                    Some(_) => Metric::CompletedLate,
                    None => Metric::CompletedWithoutDeadline,
                };
                add(d.unit, day, metric, 1);
            }
            // Open past the deadline: from the day after the deadline (or the registration,
            // if later) until the day the handling ended. Unregistered documents are nobody's
            // duty yet; returned ones are nobody's at all.
            if let (Some(registered), Some(deadline), false) =
                (d.registered_at, d.deadline, d.returned)
            {
                let overdue_from = Day::of(deadline).next().max(Day::at(registered));
                add(d.unit, overdue_from, Metric::OverdueChange, 1);
                if let Some(ended) = d.completed_at.or(d.recall_accepted_at) {
                    add(
                        d.unit,
                        Day::at(ended).max(overdue_from),
                        Metric::OverdueChange,
                        -1,
                    );
                }
            }
        }
        Facts::Outgoing(d) => {
            if let Some(issued) = d.issued_at {
                let day = Day::at(issued);
                add(d.unit, day, Metric::OutgoingIssued, 1);
                if d.paper {
                    add(d.unit, day, Metric::OutgoingPaper, 1);
                } else if d.signed {
                    add(d.unit, day, Metric::OutgoingSigned, 1);
                }
            }
        }
    }
    out.retain(|c| !c.counts.is_zero());
    out
}

/// A document, incoming or outgoing, as the report sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facts<'a> {
    /// An incoming document.
    Incoming(&'a IncomingFacts),
    /// An outgoing document.
    Outgoing(&'a OutgoingFacts),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        // Noon in Vietnam on that day.
        format!("{s}T05:00:00Z").parse().unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn received(day: &str) -> IncomingFacts {
        IncomingFacts {
            unit: 7,
            received_at: at(day),
            electronic: Some(Signatures::Valid),
            registered_at: None,
            returned: false,
            deadline: None,
            completed_at: None,
            recall_accepted_at: None,
        }
    }

    fn total(of: &[Contribution], metric: Metric) -> i64 {
        of.iter().map(|c| c.counts.get(metric)).sum()
    }

    /// The sum of the overdue changes up to and including `day`.
    fn overdue_on(of: &[Contribution], day: &str) -> i64 {
        of.iter()
            .filter(|c| c.day <= Day::of(date(day)))
            .map(|c| c.counts.get(Metric::OverdueChange))
            .sum()
    }

    #[test]
    fn an_unregistered_document_is_received_not_processed() {
        let c = contributions(&Facts::Incoming(&received("2026-03-02")));
        assert_eq!(total(&c, Metric::IncomingReceived), 1);
        assert_eq!(total(&c, Metric::SignaturesValid), 1);
        assert_eq!(total(&c, Metric::IncomingProcessed), 0);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].day, Day::of(date("2026-03-02")));
    }

    #[test]
    fn registering_or_returning_processes_it_on_its_arrival_day() {
        let mut d = received("2026-03-02");
        d.registered_at = Some(at("2026-04-10"));
        let c = contributions(&Facts::Incoming(&d));
        assert_eq!(total(&c, Metric::IncomingProcessed), 1);
        assert!(c.iter().all(|c| c.day == Day::of(date("2026-03-02"))));
        let mut r = received("2026-03-02");
        r.returned = true;
        let c = contributions(&Facts::Incoming(&r));
        assert_eq!(total(&c, Metric::IncomingProcessed), 1);
        assert_eq!(total(&c, Metric::IncomingReturned), 1);
    }

    #[test]
    fn paper_counts_in_the_denominator_only() {
        let mut d = received("2026-03-02");
        d.electronic = None;
        d.registered_at = Some(at("2026-03-02"));
        let c = contributions(&Facts::Incoming(&d));
        assert_eq!(total(&c, Metric::IncomingReceived), 1);
        assert_eq!(total(&c, Metric::IncomingPaper), 1);
        assert_eq!(total(&c, Metric::IncomingProcessed), 0);
        assert_eq!(total(&c, Metric::SignaturesValid), 0);
    }

    #[test]
    fn completion_on_the_deadline_day_is_on_time_the_day_after_is_late() {
        let mut d = received("2026-03-02");
        d.registered_at = Some(at("2026-03-02"));
        d.deadline = Some(date("2026-03-10"));
        d.completed_at = Some(at("2026-03-10"));
        let c = contributions(&Facts::Incoming(&d));
        assert_eq!(total(&c, Metric::CompletedOnTime), 1);
        assert_eq!(overdue_on(&c, "2026-03-11"), 0);
        d.completed_at = Some(at("2026-03-11"));
        let c = contributions(&Facts::Incoming(&d));
        assert_eq!(total(&c, Metric::CompletedLate), 1);
        assert_eq!(total(&c, Metric::CompletedOnTime), 0);
        // Completed on the first overdue day: never open past the deadline at a day's end.
        assert_eq!(overdue_on(&c, "2026-03-11"), 0);
    }

    #[test]
    fn an_open_document_is_overdue_from_the_day_after_its_deadline_until_completed() {
        let mut d = received("2026-03-02");
        d.registered_at = Some(at("2026-03-02"));
        d.deadline = Some(date("2026-03-10"));
        let open = contributions(&Facts::Incoming(&d));
        assert_eq!(overdue_on(&open, "2026-03-10"), 0);
        assert_eq!(overdue_on(&open, "2026-03-11"), 1);
        assert_eq!(overdue_on(&open, "2027-01-01"), 1);
        d.completed_at = Some(at("2026-03-20"));
        let done = contributions(&Facts::Incoming(&d));
        assert_eq!(overdue_on(&done, "2026-03-19"), 1);
        assert_eq!(overdue_on(&done, "2026-03-20"), 0);
        // Recall accepted ends it the same way.
        d.completed_at = None;
        d.recall_accepted_at = Some(at("2026-03-15"));
        let recalled = contributions(&Facts::Incoming(&d));
        assert_eq!(overdue_on(&recalled, "2026-03-14"), 1);
        assert_eq!(overdue_on(&recalled, "2026-03-15"), 0);
    }

    #[test]
    fn unregistered_or_returned_documents_are_never_overdue() {
        let mut d = received("2026-03-02");
        d.deadline = Some(date("2026-03-05"));
        assert_eq!(
            overdue_on(&contributions(&Facts::Incoming(&d)), "2026-12-31"),
            0
        );
        d.returned = true;
        assert_eq!(
            overdue_on(&contributions(&Facts::Incoming(&d)), "2026-12-31"),
            0
        );
    }

    #[test]
    fn outgoing_documents_count_when_issued() {
        let mut d = OutgoingFacts {
            unit: 3,
            issued_at: None,
            paper: false,
            signed: true,
        };
        assert!(contributions(&Facts::Outgoing(&d)).is_empty());
        d.issued_at = Some(at("2026-05-05"));
        let c = contributions(&Facts::Outgoing(&d));
        assert_eq!(total(&c, Metric::OutgoingIssued), 1);
        assert_eq!(total(&c, Metric::OutgoingSigned), 1);
        d.paper = true;
        d.signed = false;
        let c = contributions(&Facts::Outgoing(&d));
        assert_eq!(total(&c, Metric::OutgoingPaper), 1);
        assert_eq!(total(&c, Metric::OutgoingSigned), 0);
    }
}
