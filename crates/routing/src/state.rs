//! The states of an incoming document and the moves between them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use vanthu_domain::ValidationError;

/// Where an incoming document stands (Decree 30/2020 Arts. 21-24).
///
/// ```text
/// received ──register──▶ registered ──assign──▶ assigned ──progress──▶ in_progress ─┐
///    │                                              │                   ▲  │progress │
///    └──return──▶ returned                          └──complete──┐      └──┘         │
///                                                                ▼                   │
///                                                            completed ◀──complete───┘
/// ```
///
/// `forward` hands the lead to someone else and leaves `assigned` or `in_progress` as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncomingState {
    /// Arrived and recorded with its verification report, not yet in the register (Art. 21).
    Received,
    /// In the unit's register with its arrival number (Art. 22).
    Registered,
    /// A leader named the lead, the co-handlers, the instruction and the deadline (Art. 23).
    Assigned,
    /// The handlers have recorded progress (Art. 24).
    InProgress,
    /// Handling finished.
    Completed,
    /// Sent back to the sender as invalid or misaddressed (Art. 21.2); final.
    Returned,
}

impl IncomingState {
    /// Every state, in life-cycle order.
    pub const ALL: [IncomingState; 6] = [
        IncomingState::Received,
        IncomingState::Registered,
        IncomingState::Assigned,
        IncomingState::InProgress,
        IncomingState::Completed,
        IncomingState::Returned,
    ];

    /// Stable name, as stored and sent over the API.
    pub fn as_str(self) -> &'static str {
        match self {
            IncomingState::Received => "received",
            IncomingState::Registered => "registered",
            IncomingState::Assigned => "assigned",
            IncomingState::InProgress => "in_progress",
            IncomingState::Completed => "completed",
            IncomingState::Returned => "returned",
        }
    }

    /// The state `step` leads to from here, or why it may not be taken.
    pub fn apply(self, step: Step) -> Result<IncomingState, TransitionError> {
        if step.allowed_from().contains(&self) {
            Ok(step.target(self))
        } else {
            Err(TransitionError { from: self, step })
        }
    }

    /// Gives the document its arrival number.
    pub fn register(self) -> Result<IncomingState, TransitionError> {
        self.apply(Step::Register)
    }

    /// Sends the document back to its sender.
    pub fn return_to_sender(self) -> Result<IncomingState, TransitionError> {
        self.apply(Step::Return)
    }

    /// Hands the document to its handlers.
    pub fn assign(self) -> Result<IncomingState, TransitionError> {
        self.apply(Step::Assign)
    }

    /// Records a step of the handling.
    pub fn record_progress(self) -> Result<IncomingState, TransitionError> {
        self.apply(Step::Progress)
    }

    /// Finishes the handling.
    pub fn complete(self) -> Result<IncomingState, TransitionError> {
        self.apply(Step::Complete)
    }

    /// Hands the lead to someone else.
    pub fn forward(self) -> Result<IncomingState, TransitionError> {
        self.apply(Step::Forward)
    }

    /// The status the sender is shown, in the interchange vocabulary.
    pub fn interchange_status(self) -> InterchangeStatus {
        match self {
            IncomingState::Received => InterchangeStatus::Arrived,
            IncomingState::Registered => InterchangeStatus::Accepted,
            IncomingState::Assigned => InterchangeStatus::Assigned,
            IncomingState::InProgress => InterchangeStatus::InProgress,
            IncomingState::Completed => InterchangeStatus::Completed,
            IncomingState::Returned => InterchangeStatus::Rejected,
        }
    }
}

impl fmt::Display for IncomingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IncomingState {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IncomingState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "state",
                    format!(
                        "'{s}' is not a state; use received, registered, assigned, in_progress, \
                         completed or returned"
                    ),
                )
            })
    }
}

/// A move in the life cycle; each is one action of a clerk, a leader or a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The clerk enters the document in the register (vào sổ).
    Register,
    /// The clerk sends it back to the sender (trả lại).
    Return,
    /// A leader distributes it (phân công, giao xử lý).
    Assign,
    /// A handler notes progress.
    Progress,
    /// The lead hands the document on within their unit (chuyển xử lý).
    Forward,
    /// The lead handler finishes it.
    Complete,
}

impl Step {
    /// Stable name, as recorded in the trace.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Register => "register",
            Step::Return => "return",
            Step::Assign => "assign",
            Step::Progress => "progress",
            Step::Forward => "forward",
            Step::Complete => "complete",
        }
    }

    /// The states this step may start from; the store writes a step only while the document
    /// is still in the state it was read in, which must be one of these.
    pub fn allowed_from(self) -> &'static [IncomingState] {
        use IncomingState::*;
        match self {
            Step::Register | Step::Return => &[Received],
            Step::Assign => &[Registered],
            Step::Progress | Step::Forward | Step::Complete => &[Assigned, InProgress],
        }
    }

    /// The state the step leads to from `from`.
    pub fn target(self, from: IncomingState) -> IncomingState {
        match self {
            Step::Forward => from,
            Step::Register => IncomingState::Registered,
            Step::Return => IncomingState::Returned,
            Step::Assign => IncomingState::Assigned,
            Step::Progress => IncomingState::InProgress,
            Step::Complete => IncomingState::Completed,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a trace entry records: the receipt, then each step taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceAction {
    /// The document arrived and was recorded.
    Receive,
    /// Its sender corrected its details, or its file (an update package, or a correction
    /// of a document released here).
    Update,
    /// One of the steps of the life cycle.
    #[serde(untagged)]
    Step(Step),
}

impl TraceAction {
    /// Every action, in life-cycle order.
    pub const ALL: [TraceAction; 8] = [
        TraceAction::Receive,
        TraceAction::Update,
        TraceAction::Step(Step::Register),
        TraceAction::Step(Step::Return),
        TraceAction::Step(Step::Assign),
        TraceAction::Step(Step::Progress),
        TraceAction::Step(Step::Forward),
        TraceAction::Step(Step::Complete),
    ];

    /// Stable name, as stored and sent over the API.
    pub fn as_str(self) -> &'static str {
        match self {
            TraceAction::Receive => "receive",
            TraceAction::Update => "update",
            TraceAction::Step(step) => step.as_str(),
        }
    }
}

impl FromStr for TraceAction {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TraceAction::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| ValidationError::new("action", format!("'{s}' is not a trace action")))
    }
}

/// A step the document's state does not allow, with the reason in words for the clerk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("{}", self.explain())]
pub struct TransitionError {
    /// The state the document is in.
    pub from: IncomingState,
    /// The step that was asked for.
    pub step: Step,
}

impl TransitionError {
    fn explain(&self) -> &'static str {
        use IncomingState::*;
        match (self.from, self.step) {
            (Returned, _) => {
                "this document was returned to its sender; nothing more can be done with it"
            }
            (Completed, _) => "the handling of this document is already completed",
            (Registered | Assigned | InProgress, Step::Register) => {
                "this document is already registered and has its arrival number; reload it to \
                 see the number"
            }
            (Registered | Assigned | InProgress, Step::Return) => {
                "this document is already registered; only a document not yet registered can \
                 be returned to its sender"
            }
            (Received, Step::Assign) => "register this document first; then a leader can assign it",
            (Assigned | InProgress, Step::Assign) => {
                "this document is already assigned; reload it to see to whom"
            }
            (Received | Registered, Step::Progress | Step::Forward | Step::Complete) => {
                "this document has not been assigned yet; it can be handled once a leader \
                 assigns it"
            }
            // Every other pair is allowed (see `Step::allowed_from`); a caller that builds
            // the error by hand for one still gets a true sentence.
            _ => "this step is not possible in the document's current state",
        }
    }
}

/// Processing status shown to the sender, as the interchange's StatusCode (QCVN 102:2016).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterchangeStatus {
    /// 01: đã đến, the document arrived.
    Arrived,
    /// 02: từ chối, sent back to the sender.
    Rejected,
    /// 03: đã tiếp nhận, registered by the recipient.
    Accepted,
    /// 04: phân công, handed to handlers.
    Assigned,
    /// 05: đang xử lý, being handled.
    InProgress,
    /// 06: hoàn thành, handling finished.
    Completed,
    /// 13: thu hồi, the sender recalls the document.
    Recall,
    /// 15: the recipient accepted the recall.
    RecallAccepted,
    /// 16: the recipient refused the recall.
    RecallRefused,
}

impl InterchangeStatus {
    /// Every status, in code order.
    pub const ALL: [InterchangeStatus; 9] = [
        InterchangeStatus::Arrived,
        InterchangeStatus::Rejected,
        InterchangeStatus::Accepted,
        InterchangeStatus::Assigned,
        InterchangeStatus::InProgress,
        InterchangeStatus::Completed,
        InterchangeStatus::Recall,
        InterchangeStatus::RecallAccepted,
        InterchangeStatus::RecallRefused,
    ];

    /// The status with this two-digit StatusCode.
    pub fn from_code(code: &str) -> Option<Self> {
        InterchangeStatus::ALL
            .into_iter()
            .find(|s| s.code() == code)
    }

    /// The two-digit StatusCode.
    pub fn code(self) -> &'static str {
        match self {
            InterchangeStatus::Arrived => "01",
            InterchangeStatus::Rejected => "02",
            InterchangeStatus::Accepted => "03",
            InterchangeStatus::Assigned => "04",
            InterchangeStatus::InProgress => "05",
            InterchangeStatus::Completed => "06",
            InterchangeStatus::Recall => "13",
            InterchangeStatus::RecallAccepted => "15",
            InterchangeStatus::RecallRefused => "16",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::IncomingState::*;
    use super::*;

    const STEPS: [Step; 6] = [
        Step::Register,
        Step::Return,
        Step::Assign,
        Step::Progress,
        Step::Forward,
        Step::Complete,
    ];

    #[test]
    fn the_walk_and_its_side_road() {
        let walked = Received
            .register()
            .and_then(IncomingState::assign)
            .and_then(IncomingState::record_progress)
            .and_then(IncomingState::record_progress)
            .and_then(IncomingState::complete);
        assert_eq!(walked, Ok(Completed));
        assert_eq!(Received.return_to_sender(), Ok(Returned));
        // Completing without a progress note is allowed: some documents need no reply.
        assert_eq!(Assigned.complete(), Ok(Completed));
    }

    /// The whole table, one letter per step in `STEPS` order: the target's first letter
    /// (`r`egistered, re`t`urned, `a`ssigned, `i`n progress, `c`ompleted) or `-` refused.
    #[test]
    fn every_pair_of_state_and_step() {
        let expected = [
            (Received, "rt----"),
            (Registered, "--a---"),
            (Assigned, "---iac"),
            (InProgress, "---iic"),
            (Completed, "------"),
            (Returned, "------"),
        ];
        for (state, row) in expected {
            let got: String = STEPS
                .iter()
                .map(|&step| match state.apply(step) {
                    Ok(Registered) => 'r',
                    Ok(Returned) => 't',
                    Ok(Assigned) => 'a',
                    Ok(InProgress) => 'i',
                    Ok(Completed) => 'c',
                    Ok(other) => panic!("{state} --{step}--> {other}"),
                    Err(e) => {
                        assert_eq!((e.from, e.step), (state, step));
                        '-'
                    }
                })
                .collect();
            assert_eq!(got, row, "{state}");
        }
    }

    #[test]
    fn refusals_tell_the_clerk_what_to_do() {
        let twice = Registered.register().unwrap_err().to_string();
        assert!(twice.contains("already registered"), "{twice}");
        let early = Received.assign().unwrap_err().to_string();
        assert!(early.contains("register this document first"), "{early}");
        let unassigned = Registered.complete().unwrap_err().to_string();
        assert!(unassigned.contains("not been assigned"), "{unassigned}");
        for step in STEPS {
            let e = Returned.apply(step).unwrap_err().to_string();
            assert!(e.contains("returned to its sender"), "{e}");
        }
        // No refusal falls through to the generic sentence.
        for state in IncomingState::ALL {
            for step in STEPS {
                if let Err(e) = state.apply(step) {
                    assert!(!e.to_string().contains("not possible"), "{state} {step}");
                }
            }
        }
    }

    #[test]
    fn states_map_to_interchange_codes_and_round_trip() {
        let codes: Vec<&str> = IncomingState::ALL
            .iter()
            .map(|s| s.interchange_status().code())
            .collect();
        assert_eq!(codes, ["01", "03", "04", "05", "06", "02"]);
        for state in IncomingState::ALL {
            assert_eq!(state.as_str().parse::<IncomingState>().unwrap(), state);
            assert_eq!(
                serde_json::to_string(&state).unwrap(),
                format!("\"{state}\"")
            );
        }
        assert_eq!(
            "nonsense".parse::<IncomingState>().unwrap_err().field,
            "state"
        );
    }
}
