//! Status packages (Status): the recipient tells the sender how far it got with a document,
//! and the StatusCode list mapped to and from the routing states.

use chrono::{DateTime, FixedOffset};
use vanthu_routing::{IncomingState, InterchangeStatus, RecallState};

use crate::package::{Organ, ResponseFor, StaffInfo};

/// Every status code of the list, in code order.
pub const STATUS_CODES: [InterchangeStatus; 9] = InterchangeStatus::ALL;

/// The status with this two-digit code; `1` is read as `01` by the caller's choice (see
/// the reader), not here.
pub fn status_from_code(code: &str) -> Option<InterchangeStatus> {
    InterchangeStatus::from_code(code)
}

/// What a status says about the document at the recipient, in routing's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMeaning {
    /// The recipient's copy is in this state of the incoming life cycle.
    Incoming(IncomingState),
    /// The recall (or update) of the recipient's copy stands here.
    Recall(RecallState),
}

/// The routing state a status code reports.
pub fn meaning(status: InterchangeStatus) -> StatusMeaning {
    use InterchangeStatus::*;
    match status {
        Arrived => StatusMeaning::Incoming(IncomingState::Received),
        Rejected => StatusMeaning::Incoming(IncomingState::Returned),
        Accepted => StatusMeaning::Incoming(IncomingState::Registered),
        Assigned => StatusMeaning::Incoming(IncomingState::Assigned),
        InProgress => StatusMeaning::Incoming(IncomingState::InProgress),
        Completed => StatusMeaning::Incoming(IncomingState::Completed),
        Recall => StatusMeaning::Recall(RecallState::Requested),
        RecallAccepted => StatusMeaning::Recall(RecallState::Accepted),
        RecallRefused => StatusMeaning::Recall(RecallState::Refused),
    }
}

/// The status code that reports a routing state; the inverse of [`meaning`].
pub fn status_for(meaning: StatusMeaning) -> InterchangeStatus {
    match meaning {
        StatusMeaning::Incoming(state) => state.interchange_status(),
        StatusMeaning::Recall(recall) => recall.interchange_status(),
    }
}

/// A whole status package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusPackage {
    /// From: the agency reporting (the recipient of the document).
    pub from: Organ,
    /// ResponseFor: the document reported on.
    pub response_for: ResponseFor,
    /// StatusCode.
    pub status: InterchangeStatus,
    /// Description: the reason of a refusal or return, or a note.
    pub description: Option<String>,
    /// Timestamp.
    pub timestamp: DateTime<FixedOffset>,
    /// StaffInfo: who acted.
    pub staff: Option<StaffInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_maps_to_a_state_and_back() {
        let codes: Vec<&str> = STATUS_CODES.iter().map(|s| s.code()).collect();
        assert_eq!(
            codes,
            ["01", "02", "03", "04", "05", "06", "13", "15", "16"]
        );
        for status in STATUS_CODES {
            assert_eq!(status_from_code(status.code()), Some(status));
            assert_eq!(status_for(meaning(status)), status, "{}", status.code());
        }
        for state in IncomingState::ALL {
            assert_eq!(
                meaning(state.interchange_status()),
                StatusMeaning::Incoming(state)
            );
        }
        assert_eq!(
            meaning(InterchangeStatus::RecallAccepted),
            StatusMeaning::Recall(RecallState::Accepted)
        );
        for bad in ["", "1", "00", "07", "14", "99", "abc"] {
            assert_eq!(status_from_code(bad), None, "{bad}");
        }
    }
}
