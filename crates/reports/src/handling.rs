//! Where each document's handling stands on a given day: the lines of the incoming handling
//! report of Decree 30/2020 Appendix VI part V. The classification reads the same facts as
//! the ratio counts ([`IncomingFacts`]) and applies the same deadline rule, so a document
//! reported "completed late" here is one the ratios count as late.

use std::fmt;

use chrono::NaiveDate;
use serde::Serialize;

use crate::{Day, IncomingFacts};

/// Where an incoming document's handling stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IncomingHandling {
    /// Received, not yet registered by the clerk: nobody's duty yet.
    NotRegistered,
    /// Returned to its sender.
    Returned,
    /// Registered, waiting for the leader to assign it.
    AwaitingAssignment,
    /// Handed to a lead, within its deadline (or without one).
    InProgress,
    /// Still open after its deadline.
    Overdue,
    /// Completed on or before its deadline.
    CompletedOnTime,
    /// Completed after its deadline.
    CompletedLate,
    /// Completed; it had no deadline.
    CompletedWithoutDeadline,
    /// Its sender recalled it and the recall was accepted.
    Recalled,
}

impl IncomingHandling {
    /// Every status, in the report's column order.
    pub const ALL: [IncomingHandling; 9] = [
        IncomingHandling::NotRegistered,
        IncomingHandling::Returned,
        IncomingHandling::AwaitingAssignment,
        IncomingHandling::InProgress,
        IncomingHandling::Overdue,
        IncomingHandling::CompletedOnTime,
        IncomingHandling::CompletedLate,
        IncomingHandling::CompletedWithoutDeadline,
        IncomingHandling::Recalled,
    ];

    /// The name the API and the CSV carry.
    pub fn as_str(self) -> &'static str {
        match self {
            IncomingHandling::NotRegistered => "not_registered",
            IncomingHandling::Returned => "returned",
            IncomingHandling::AwaitingAssignment => "awaiting_assignment",
            IncomingHandling::InProgress => "in_progress",
            IncomingHandling::Overdue => "overdue",
            IncomingHandling::CompletedOnTime => "completed_on_time",
            IncomingHandling::CompletedLate => "completed_late",
            IncomingHandling::CompletedWithoutDeadline => "completed_without_deadline",
            IncomingHandling::Recalled => "recalled",
        }
    }

    /// The status in Vietnamese, as the printed report says it.
    pub fn label_vi(self) -> &'static str {
        match self {
            IncomingHandling::NotRegistered => "Chưa vào sổ",
            IncomingHandling::Returned => "Đã trả lại",
            IncomingHandling::AwaitingAssignment => "Chờ phân công",
            IncomingHandling::InProgress => "Đang xử lý trong hạn",
            IncomingHandling::Overdue => "Quá hạn chưa xử lý xong",
            IncomingHandling::CompletedOnTime => "Hoàn thành đúng hạn",
            IncomingHandling::CompletedLate => "Hoàn thành trễ hạn",
            IncomingHandling::CompletedWithoutDeadline => "Hoàn thành (không có hạn)",
            IncomingHandling::Recalled => "Đã thu hồi",
        }
    }

    /// Whether the handling has ended (completed, returned or recalled).
    pub fn is_closed(self) -> bool {
        !matches!(
            self,
            IncomingHandling::NotRegistered
                | IncomingHandling::AwaitingAssignment
                | IncomingHandling::InProgress
                | IncomingHandling::Overdue
        )
    }
}

impl fmt::Display for IncomingHandling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the handling of `document` stood at the end of day `as_of` (Vietnam calendar).
/// `assigned` says whether a lead had been given the document by then. Steps taken after
/// `as_of` are not seen: a document completed the day after stands as open.
pub fn incoming_handling(
    document: &IncomingFacts,
    assigned: bool,
    as_of: NaiveDate,
) -> IncomingHandling {
    let as_of = Day::of(as_of);
    let by = |at: Option<chrono::DateTime<chrono::Utc>>| at.is_some_and(|t| Day::at(t) <= as_of);
    if by(document.recall_accepted_at) {
        return IncomingHandling::Recalled;
    }
    if document.returned {
        return IncomingHandling::Returned;
    }
    if let Some(done) = document.completed_at.filter(|t| Day::at(*t) <= as_of) {
        return match document.deadline {
            Some(deadline) if Day::at(done) <= Day::of(deadline) => {
                IncomingHandling::CompletedOnTime
            }
            Some(_) => IncomingHandling::CompletedLate,
            None => IncomingHandling::CompletedWithoutDeadline,
        };
    }
    if !by(document.registered_at) {
        return IncomingHandling::NotRegistered;
    }
    match document.deadline {
        Some(deadline) if as_of > Day::of(deadline) => IncomingHandling::Overdue,
        _ if assigned => IncomingHandling::InProgress,
        _ => IncomingHandling::AwaitingAssignment,
    }
}

/// Days past the deadline at which the handling ended, or by `as_of` when still open; `None`
/// when it has no deadline or was not late.
pub fn days_late(document: &IncomingFacts, as_of: NaiveDate) -> Option<i64> {
    let deadline = document.deadline?;
    let end = document
        .completed_at
        .map(|t| Day::at(t).date())
        .filter(|d| *d <= as_of)
        .unwrap_or(as_of);
    let late = (end - deadline).num_days();
    (late > 0).then_some(late)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::Signatures;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn received() -> IncomingFacts {
        IncomingFacts {
            unit: 1,
            received_at: at("2026-03-02T09:00:00+07:00"),
            electronic: Some(Signatures::Valid),
            registered_at: None,
            returned: false,
            deadline: None,
            completed_at: None,
            recall_accepted_at: None,
        }
    }

    #[test]
    fn each_step_moves_the_document_to_its_status_on_the_day_it_is_taken() {
        let mut d = received();
        assert_eq!(
            incoming_handling(&d, false, day("2026-03-02")),
            IncomingHandling::NotRegistered
        );
        d.registered_at = Some(at("2026-03-02T10:00:00+07:00"));
        assert_eq!(
            incoming_handling(&d, false, day("2026-03-02")),
            IncomingHandling::AwaitingAssignment
        );
        d.deadline = Some(day("2026-03-10"));
        assert_eq!(
            incoming_handling(&d, true, day("2026-03-10")),
            IncomingHandling::InProgress
        );
        // The day after the deadline it is overdue, as the ratios count it.
        assert_eq!(
            incoming_handling(&d, true, day("2026-03-11")),
            IncomingHandling::Overdue
        );
        assert_eq!(days_late(&d, day("2026-03-13")), Some(3));
        d.completed_at = Some(at("2026-03-12T16:00:00+07:00"));
        // Before the day of completion it was still overdue.
        assert_eq!(
            incoming_handling(&d, true, day("2026-03-11")),
            IncomingHandling::Overdue
        );
        assert_eq!(
            incoming_handling(&d, true, day("2026-03-31")),
            IncomingHandling::CompletedLate
        );
        assert_eq!(days_late(&d, day("2026-03-31")), Some(2));
        d.completed_at = Some(at("2026-03-10T23:30:00+07:00"));
        assert_eq!(
            incoming_handling(&d, true, day("2026-03-31")),
            IncomingHandling::CompletedOnTime
        );
        assert_eq!(days_late(&d, day("2026-03-31")), None);
        d.deadline = None;
        assert_eq!(
            incoming_handling(&d, true, day("2026-03-31")),
            IncomingHandling::CompletedWithoutDeadline
        );
    }

    #[test]
    fn returned_and_recalled_documents_are_closed() {
        let mut d = received();
        d.returned = true;
        assert_eq!(
            incoming_handling(&d, false, day("2026-03-02")),
            IncomingHandling::Returned
        );
        let mut d = received();
        d.registered_at = Some(at("2026-03-02T10:00:00+07:00"));
        d.deadline = Some(day("2026-03-03"));
        d.recall_accepted_at = Some(at("2026-03-05T08:00:00+07:00"));
        assert_eq!(
            incoming_handling(&d, true, day("2026-03-04")),
            IncomingHandling::Overdue
        );
        assert_eq!(
            incoming_handling(&d, true, day("2026-03-05")),
            IncomingHandling::Recalled
        );
        assert!(IncomingHandling::Recalled.is_closed());
        assert!(!IncomingHandling::Overdue.is_closed());
        let names: Vec<&str> = IncomingHandling::ALL.iter().map(|h| h.as_str()).collect();
        let mut unique = names.clone();
        unique.dedup();
        assert_eq!(names.len(), unique.len());
    }
}
