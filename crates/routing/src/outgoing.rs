//! The life cycle of an outgoing document (văn bản đi) and what a drafter records about it:
//! states and steps, confidentiality and register series, signing authority, numbers and the
//! document identifier.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use vanthu_domain::{UnitCode, UnitId, UserId, ValidationError};

use crate::metadata::{text_newtype, DocumentType, NumberNotation, Summary, Urgency};

/// Where an outgoing document stands (Decree 30/2020 Arts. 10-18).
///
/// ```text
///            ┌──revise──┐
///            ▼          │
/// draft ──approve──▶ approved ──sign──▶ signed ──issue──▶ issued ──release──▶ released
///   │ ▲                                                                        │
///   │ └──revise── returned                                                  recall
///   └──return──────▲                                                           ▼
///                                                                           recalled
/// ```
///
/// A document recorded as issued on paper starts in `issued` and goes no further.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutgoingState {
    /// Being drafted; revisions and comments are kept (Art. 10).
    Draft,
    /// Sent back to the drafter by the unit head with a reason (Art. 11-12).
    Returned,
    /// Content checked and approved by the unit head; ready for the signer.
    Approved,
    /// Signed by the competent official (Art. 13).
    Signed,
    /// Numbered, dated and sealed by the clerk (Art. 14-15).
    Issued,
    /// Sent to its recipients (Art. 16-18).
    Released,
    /// Called back after release (Art. 18.4); frozen.
    Recalled,
}

impl OutgoingState {
    /// Every state, in life-cycle order.
    pub const ALL: [OutgoingState; 7] = [
        OutgoingState::Draft,
        OutgoingState::Returned,
        OutgoingState::Approved,
        OutgoingState::Signed,
        OutgoingState::Issued,
        OutgoingState::Released,
        OutgoingState::Recalled,
    ];

    /// Stable name, as stored and sent over the API.
    pub fn as_str(self) -> &'static str {
        match self {
            OutgoingState::Draft => "draft",
            OutgoingState::Returned => "returned",
            OutgoingState::Approved => "approved",
            OutgoingState::Signed => "signed",
            OutgoingState::Issued => "issued",
            OutgoingState::Released => "released",
            OutgoingState::Recalled => "recalled",
        }
    }

    /// The state `step` leads to from here, or why it may not be taken.
    pub fn apply(self, step: OutgoingStep) -> Result<OutgoingState, OutgoingTransitionError> {
        if step.allowed_from().contains(&self) {
            Ok(step.target())
        } else {
            Err(OutgoingTransitionError { from: self, step })
        }
    }
}

impl fmt::Display for OutgoingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OutgoingState {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OutgoingState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "state",
                    format!(
                        "'{s}' is not a state; use draft, returned, approved, signed, issued, \
                         released or recalled"
                    ),
                )
            })
    }
}

/// A move in the outgoing life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutgoingStep {
    /// The drafter uploads a new revision of the draft.
    Revise,
    /// The unit head approves the content (duyệt).
    Approve,
    /// The unit head sends the draft back with a reason.
    Return,
    /// The signer signs with their own certificate (ký số).
    Sign,
    /// The clerk numbers, dates and seals it (cấp số, đóng dấu).
    Issue,
    /// The clerk sends it to its recipients (phát hành).
    Release,
    /// The sender calls it back (thu hồi).
    Recall,
}

impl OutgoingStep {
    /// Every step, in life-cycle order.
    pub const ALL: [OutgoingStep; 7] = [
        OutgoingStep::Revise,
        OutgoingStep::Approve,
        OutgoingStep::Return,
        OutgoingStep::Sign,
        OutgoingStep::Issue,
        OutgoingStep::Release,
        OutgoingStep::Recall,
    ];

    /// Stable name, as recorded in the trace.
    pub fn as_str(self) -> &'static str {
        match self {
            OutgoingStep::Revise => "revise",
            OutgoingStep::Approve => "approve",
            OutgoingStep::Return => "return",
            OutgoingStep::Sign => "sign",
            OutgoingStep::Issue => "issue",
            OutgoingStep::Release => "release",
            OutgoingStep::Recall => "recall",
        }
    }

    /// The states this step may start from.
    pub fn allowed_from(self) -> &'static [OutgoingState] {
        use OutgoingState::*;
        match self {
            OutgoingStep::Revise => &[Draft, Returned],
            OutgoingStep::Approve | OutgoingStep::Return => &[Draft],
            OutgoingStep::Sign => &[Approved],
            OutgoingStep::Issue => &[Signed],
            OutgoingStep::Release => &[Issued],
            OutgoingStep::Recall => &[Released],
        }
    }

    /// The state the step leads to.
    pub fn target(self) -> OutgoingState {
        match self {
            OutgoingStep::Revise => OutgoingState::Draft,
            OutgoingStep::Approve => OutgoingState::Approved,
            OutgoingStep::Return => OutgoingState::Returned,
            OutgoingStep::Sign => OutgoingState::Signed,
            OutgoingStep::Issue => OutgoingState::Issued,
            OutgoingStep::Release => OutgoingState::Released,
            OutgoingStep::Recall => OutgoingState::Recalled,
        }
    }
}

impl fmt::Display for OutgoingStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an outgoing trace entry records: the draft's creation, a paper document's record,
/// a comment, or one of the steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutgoingAction {
    /// The draft was uploaded.
    Draft,
    /// A document issued on paper was recorded.
    RecordPaper,
    /// Someone commented on the draft.
    Comment,
    /// A recipient accepted the recall of its copy.
    RecallAccepted,
    /// A recipient refused the recall of its copy.
    RecallRefused,
    /// An agency elsewhere reported how far it got with its copy (an interchange status).
    RecipientStatus,
    /// The sender corrected the details of the released document (an update package to
    /// its agencies elsewhere; its copies here corrected).
    Update,
    /// One of the steps of the life cycle.
    #[serde(untagged)]
    Step(OutgoingStep),
}

impl OutgoingAction {
    /// Every action.
    pub const ALL: [OutgoingAction; 14] = [
        OutgoingAction::Draft,
        OutgoingAction::RecordPaper,
        OutgoingAction::Comment,
        OutgoingAction::RecallAccepted,
        OutgoingAction::RecallRefused,
        OutgoingAction::RecipientStatus,
        OutgoingAction::Update,
        OutgoingAction::Step(OutgoingStep::Revise),
        OutgoingAction::Step(OutgoingStep::Approve),
        OutgoingAction::Step(OutgoingStep::Return),
        OutgoingAction::Step(OutgoingStep::Sign),
        OutgoingAction::Step(OutgoingStep::Issue),
        OutgoingAction::Step(OutgoingStep::Release),
        OutgoingAction::Step(OutgoingStep::Recall),
    ];

    /// Stable name, as stored and sent over the API.
    pub fn as_str(self) -> &'static str {
        match self {
            OutgoingAction::Draft => "draft",
            OutgoingAction::RecordPaper => "record_paper",
            OutgoingAction::Comment => "comment",
            OutgoingAction::RecallAccepted => "recall_accepted",
            OutgoingAction::RecallRefused => "recall_refused",
            OutgoingAction::RecipientStatus => "recipient_status",
            OutgoingAction::Update => "update",
            OutgoingAction::Step(step) => step.as_str(),
        }
    }
}

impl FromStr for OutgoingAction {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OutgoingAction::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| ValidationError::new("action", format!("'{s}' is not an action")))
    }
}

/// A step the outgoing document's state does not allow, in words for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("{}", self.explain())]
pub struct OutgoingTransitionError {
    /// The state the document is in.
    pub from: OutgoingState,
    /// The step that was asked for.
    pub step: OutgoingStep,
}

impl OutgoingTransitionError {
    fn explain(&self) -> &'static str {
        use OutgoingState::*;
        use OutgoingStep as S;
        match (self.from, self.step) {
            (Recalled, _) => "this document was recalled; it is frozen as it was",
            (Released, S::Release) => "this document is already released",
            (Returned, S::Approve | S::Return) => {
                "this draft was returned to its drafter; it can be approved once revised"
            }
            (Draft | Returned, _) => "this document is still a draft; it must be approved first",
            (Approved, S::Approve) => "this draft is already approved",
            (Approved, S::Issue | S::Release) => "this document must be signed first",
            (Approved | Signed | Issued | Released, S::Revise | S::Return) => {
                "the draft was approved; its content can no longer change"
            }
            (Signed, S::Sign) => "this document is already signed",
            (Signed, S::Release) => "this document must be numbered and sealed (issued) first",
            (Signed | Issued | Released, S::Approve) => "this document is already approved",
            (Issued | Released, S::Sign) => "this document is already signed",
            (Issued | Released, S::Issue) => "this document is already issued with its number",
            (Approved | Signed | Issued, S::Recall) => "only a released document can be recalled",
            _ => "this step is not possible in the document's current state",
        }
    }
}

/// Where the recall of a recipient's copy stands (Art. 18.4, Appendix VI III.8): the copy is
/// frozen once recalled; the recipient accepts (the copy is withdrawn, kept, marked) or
/// refuses (it stays in their queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecallState {
    /// The sender recalled it; the recipient has not answered.
    Requested,
    /// The recipient accepted: withdrawn from their queue.
    Accepted,
    /// The recipient refused: it stays with them.
    Refused,
}

impl RecallState {
    /// Stable name, as stored and sent over the API.
    pub fn as_str(self) -> &'static str {
        match self {
            RecallState::Requested => "requested",
            RecallState::Accepted => "accepted",
            RecallState::Refused => "refused",
        }
    }

    /// The status the sender is shown, in the interchange vocabulary.
    pub fn interchange_status(self) -> crate::InterchangeStatus {
        match self {
            RecallState::Requested => crate::InterchangeStatus::Recall,
            RecallState::Accepted => crate::InterchangeStatus::RecallAccepted,
            RecallState::Refused => crate::InterchangeStatus::RecallRefused,
        }
    }

    /// Whether the copy is frozen: no step may be taken on it.
    pub fn freezes(self) -> bool {
        self != RecallState::Refused
    }
}

impl FromStr for RecallState {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            RecallState::Requested,
            RecallState::Accepted,
            RecallState::Refused,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
        .ok_or_else(|| ValidationError::new("recall", format!("'{s}' is not a recall state")))
    }
}

/// Độ mật: how confidential a document is. Secret documents are numbered in their own
/// register series (Art. 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidentiality {
    /// Not classified.
    Normal,
    /// Mật.
    Mat,
    /// Tối mật.
    ToiMat,
    /// Tuyệt mật.
    TuyetMat,
}

impl Confidentiality {
    /// Every level.
    pub const ALL: [Confidentiality; 4] = [
        Confidentiality::Normal,
        Confidentiality::Mat,
        Confidentiality::ToiMat,
        Confidentiality::TuyetMat,
    ];

    /// Stable name, as stored and sent over the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidentiality::Normal => "normal",
            Confidentiality::Mat => "mat",
            Confidentiality::ToiMat => "toi_mat",
            Confidentiality::TuyetMat => "tuyet_mat",
        }
    }

    /// The register series the document is numbered in.
    pub fn series(self) -> RegisterSeries {
        match self {
            Confidentiality::Normal => RegisterSeries::Regular,
            _ => RegisterSeries::Secret,
        }
    }
}

impl FromStr for Confidentiality {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Confidentiality::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "confidentiality",
                    format!("'{s}' is not a level; use normal, mat, toi_mat or tuyet_mat"),
                )
            })
    }
}

/// A unit's numbering series for a year: regular documents in one, secret ones in another.
/// Paper and electronic documents share a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegisterSeries {
    /// Documents that are not classified.
    Regular,
    /// Mật, tối mật and tuyệt mật documents.
    Secret,
}

impl RegisterSeries {
    /// Stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RegisterSeries::Regular => "regular",
            RegisterSeries::Secret => "secret",
        }
    }
}

/// How the signer signs (thẩm quyền ký, Art. 13): for the collective, as deputy, by
/// delegation, by authorisation, as acting head, or in their own right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorityMode {
    /// In their own right (the head signs; no prefix).
    Own,
    /// TM. (thay mặt): on behalf of a collective body.
    Tm,
    /// KT. (ký thay): a deputy signs for the head.
    Kt,
    /// TL. (thừa lệnh): by order of the head.
    Tl,
    /// TUQ. (thừa ủy quyền): by authorisation, limited in time and content.
    Tuq,
    /// Q. (quyền): as acting head.
    Q,
}

impl AuthorityMode {
    /// Every mode.
    pub const ALL: [AuthorityMode; 6] = [
        AuthorityMode::Own,
        AuthorityMode::Tm,
        AuthorityMode::Kt,
        AuthorityMode::Tl,
        AuthorityMode::Tuq,
        AuthorityMode::Q,
    ];

    /// Stable name, as stored and sent over the API.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorityMode::Own => "own",
            AuthorityMode::Tm => "tm",
            AuthorityMode::Kt => "kt",
            AuthorityMode::Tl => "tl",
            AuthorityMode::Tuq => "tuq",
            AuthorityMode::Q => "q",
        }
    }

    /// The prefix printed before the title line: `TM.`, `KT.`, ...; empty for `own`.
    pub fn prefix(self) -> &'static str {
        match self {
            AuthorityMode::Own => "",
            AuthorityMode::Tm => "TM.",
            AuthorityMode::Kt => "KT.",
            AuthorityMode::Tl => "TL.",
            AuthorityMode::Tuq => "TUQ.",
            AuthorityMode::Q => "Q.",
        }
    }
}

impl FromStr for AuthorityMode {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuthorityMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "authority",
                    format!("'{s}' is not a signing authority; use own, tm, kt, tl, tuq or q"),
                )
            })
    }
}

text_newtype!(
    /// The signer's position as printed under the signature (chức vụ), e.g. `CHỦ TỊCH`.
    Position,
    "position",
    100
);
text_newtype!(
    /// Name of an agency outside this installation that receives the document (OrganName).
    RecipientName,
    "recipient_name",
    200
);

/// Ký hiệu: the notation part of an outgoing document's number, e.g. `QĐ-UBND` or
/// `UBND-VP` (CodeNotation, 1 to 30 letters, digits, `-`, `/` and `.`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Notation(String);

impl Notation {
    /// Validates through the same rule as a whole number/notation, so the two never disagree.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let whole = NumberNotation::parse(&format!("1/{}", s.trim())).map_err(|_| {
            ValidationError::new(
                "notation",
                format!(
                    "'{}' is not a notation: 1 to {} letters, digits, '-', '/' or '.', starting \
                     with a letter or digit, e.g. QĐ-UBND",
                    s.trim().chars().take(40).collect::<String>(),
                    NumberNotation::MAX_NOTATION_CHARS
                ),
            )
        })?;
        Ok(Self(whole.notation().to_owned()))
    }

    /// The notation.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Notation {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Notation> for String {
    fn from(v: Notation) -> String {
        v.0
    }
}

impl fmt::Display for Notation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Số: an outgoing document's place in its unit's register series for the year, from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct DocumentNumber(u32);

impl DocumentNumber {
    /// Accepts 1 and above.
    pub fn new(value: i64) -> Result<Self, ValidationError> {
        u32::try_from(value)
            .ok()
            .filter(|n| *n > 0)
            .map(Self)
            .ok_or_else(|| ValidationError::new("number", "must be 1 or more"))
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The number with its notation as printed: numbers below 10 take a leading zero
    /// (Decree 30/2020 Appendix I: `01/QĐ-UBND`).
    pub fn with_notation(self, notation: &Notation) -> NumberNotation {
        NumberNotation::parse(&format!("{self}/{notation}"))
            .expect("a register number and a valid notation form a valid number/notation")
    }
}

impl TryFrom<i64> for DocumentNumber {
    type Error = ValidationError;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<DocumentNumber> for i64 {
    fn from(n: DocumentNumber) -> i64 {
        i64::from(n.0)
    }
}

impl fmt::Display for DocumentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

/// Mã định danh: identifies an issued document everywhere, as the interchange's DocumentId
/// `OrganId,YYYY/MM/DD,number/notation`, e.g. `000.00.31.H56,2026/12/02,01/QĐ-UBND`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DocumentIdentifier(String);

impl DocumentIdentifier {
    /// The identifier of the document numbered `number` by the unit with `agency` code on
    /// `date`.
    pub fn new(agency: &UnitCode, date: NaiveDate, number: &NumberNotation) -> Self {
        Self(format!("{agency},{},{number}", date.format("%Y/%m/%d")))
    }

    /// Reads an identifier back: agency code, date and number/notation, comma-separated.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let invalid = || {
            ValidationError::new(
                "document_identifier",
                format!(
                    "'{}' is not a document identifier like 000.00.31.H56,2026/12/02,01/QĐ-UBND",
                    s.chars().take(80).collect::<String>()
                ),
            )
        };
        let mut parts = s.splitn(3, ',');
        let (Some(agency), Some(date), Some(number)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let agency = UnitCode::parse(agency).map_err(|_| invalid())?;
        let date = NaiveDate::parse_from_str(date, "%Y/%m/%d").map_err(|_| invalid())?;
        let number = NumberNotation::parse(number).map_err(|_| invalid())?;
        Ok(Self::new(&agency, date, &number))
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DocumentIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who signs, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerAssignment {
    /// The official who signs.
    pub user: UserId,
    /// Their position as printed.
    pub position: Position,
    /// The authority they sign under.
    pub authority: AuthorityMode,
}

/// An agency outside this installation that receives the document through the interchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalRecipient {
    /// Its name.
    pub name: RecipientName,
    /// Its electronic agency code.
    pub agency_code: UnitCode,
}

/// Most recipients one document may name, internal and external together.
pub const MAX_RECIPIENTS: usize = 200;

/// What the drafter records about an outgoing document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMetadata {
    /// Its kind (loại văn bản).
    pub document_type: DocumentType,
    /// Its subject (trích yếu).
    pub summary: Summary,
    /// How urgent.
    pub urgency: Urgency,
    /// How confidential; picks the register series.
    pub confidentiality: Confidentiality,
    /// The notation its number will carry.
    pub notation: Notation,
    /// Who will sign.
    pub signer: SignerAssignment,
    /// Units of this installation that receive it.
    pub internal_recipients: Vec<UnitId>,
    /// Agencies elsewhere that receive it.
    pub external_recipients: Vec<ExternalRecipient>,
    /// The answer asked of the recipients by this date, if any.
    pub due_date: Option<NaiveDate>,
}

impl OutgoingMetadata {
    /// Checks the recipient lists: each named once, at most [`MAX_RECIPIENTS`] in all.
    pub fn check_recipients(&self) -> Result<(), ValidationError> {
        let total = self.internal_recipients.len() + self.external_recipients.len();
        if total > MAX_RECIPIENTS {
            return Err(ValidationError::new(
                "recipients",
                format!("name at most {MAX_RECIPIENTS} recipients; this draft names {total}"),
            ));
        }
        for (i, unit) in self.internal_recipients.iter().enumerate() {
            if self.internal_recipients[..i].contains(unit) {
                return Err(ValidationError::new(
                    "internal_recipients",
                    format!("unit {unit} is named twice"),
                ));
            }
        }
        for (i, r) in self.external_recipients.iter().enumerate() {
            if self.external_recipients[..i]
                .iter()
                .any(|o| o.agency_code == r.agency_code)
            {
                return Err(ValidationError::new(
                    "external_recipients",
                    format!("agency {} is named twice", r.agency_code),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::OutgoingState::*;
    use super::*;

    /// The whole table, one letter per step in `OutgoingStep::ALL` order: the target's first
    /// letter (`d`raft, re`t`urned, `a`pproved, `s`igned, `i`ssued, `r`eleased,
    /// re`c`alled) or `-` refused.
    #[test]
    fn every_pair_of_state_and_step() {
        let expected = [
            (Draft, "dat----"),
            (Returned, "d------"),
            (Approved, "---s---"),
            (Signed, "----i--"),
            (Issued, "-----r-"),
            (Released, "------c"),
            (Recalled, "-------"),
        ];
        for (state, row) in expected {
            let got: String = OutgoingStep::ALL
                .iter()
                .map(|&step| match state.apply(step) {
                    Ok(Draft) => 'd',
                    Ok(Returned) => 't',
                    Ok(Approved) => 'a',
                    Ok(Signed) => 's',
                    Ok(Issued) => 'i',
                    Ok(Released) => 'r',
                    Ok(Recalled) => 'c',
                    Err(e) => {
                        assert_eq!((e.from, e.step), (state, step));
                        // Every refusal says something specific.
                        assert!(!e.to_string().contains("not possible"), "{state} {step}");
                        '-'
                    }
                })
                .collect();
            assert_eq!(got, row, "{state}");
        }
    }

    #[test]
    fn names_round_trip() {
        for s in OutgoingState::ALL {
            assert_eq!(s.as_str().parse::<OutgoingState>().unwrap(), s);
        }
        for a in OutgoingAction::ALL {
            assert_eq!(a.as_str().parse::<OutgoingAction>().unwrap(), a);
        }
        for c in Confidentiality::ALL {
            assert_eq!(c.as_str().parse::<Confidentiality>().unwrap(), c);
        }
        for m in AuthorityMode::ALL {
            assert_eq!(m.as_str().parse::<AuthorityMode>().unwrap(), m);
        }
        assert_eq!(
            "x".parse::<Confidentiality>().unwrap_err().field,
            "confidentiality"
        );
        assert_eq!(AuthorityMode::Kt.prefix(), "KT.");
    }

    #[test]
    fn secret_documents_have_their_own_series() {
        assert_eq!(Confidentiality::Normal.series(), RegisterSeries::Regular);
        for c in [
            Confidentiality::Mat,
            Confidentiality::ToiMat,
            Confidentiality::TuyetMat,
        ] {
            assert_eq!(c.series(), RegisterSeries::Secret);
        }
    }

    #[test]
    fn numbers_take_a_leading_zero_and_form_the_identifier() {
        let notation = Notation::parse(" QĐ-UBND ").unwrap();
        let one = DocumentNumber::new(1).unwrap().with_notation(&notation);
        assert_eq!(one.as_str(), "01/QĐ-UBND");
        assert_eq!(
            DocumentNumber::new(123)
                .unwrap()
                .with_notation(&notation)
                .as_str(),
            "123/QĐ-UBND"
        );
        assert!(DocumentNumber::new(0).is_err());
        let id = DocumentIdentifier::new(
            &UnitCode::parse("000.00.31.H56").unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
            &one,
        );
        assert_eq!(id.as_str(), "000.00.31.H56,2026/12/02,01/QĐ-UBND");
        assert_eq!(DocumentIdentifier::parse(id.as_str()).unwrap(), id);
        assert!(DocumentIdentifier::parse("000.00.31.H56,2026-12-02,01/QĐ-UBND").is_err());
        for bad in ["", "-VP", "UBND VP", &"A".repeat(31)] {
            assert_eq!(Notation::parse(bad).unwrap_err().field, "notation", "{bad}");
        }
    }

    #[test]
    fn recipients_are_named_once() {
        let unit = |n| UnitId::new(n).unwrap();
        let mut m = OutgoingMetadata {
            document_type: DocumentType::parse("Công văn").unwrap(),
            summary: Summary::parse("Về việc chuyển đổi số").unwrap(),
            urgency: Urgency::Normal,
            confidentiality: Confidentiality::Normal,
            notation: Notation::parse("UBND-VP").unwrap(),
            signer: SignerAssignment {
                user: UserId::new(1).unwrap(),
                position: Position::parse("CHỦ TỊCH").unwrap(),
                authority: AuthorityMode::Tm,
            },
            internal_recipients: vec![unit(2), unit(3)],
            external_recipients: vec![],
            due_date: None,
        };
        assert!(m.check_recipients().is_ok());
        m.internal_recipients.push(unit(2));
        assert_eq!(
            m.check_recipients().unwrap_err().field,
            "internal_recipients"
        );
        m.internal_recipients = (1..=201).map(unit).collect();
        assert_eq!(m.check_recipients().unwrap_err().field, "recipients");
    }
}
