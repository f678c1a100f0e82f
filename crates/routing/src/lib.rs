//! Decree 30/2020 life cycles of incoming and outgoing documents: states and transitions, arrival and register numbers, urgency, validated metadata and assignments, free of SQL and HTTP.
//!
//! An incoming document (văn bản đến) moves through [`IncomingState`] only by the transition
//! functions there, which refuse an illegal move with a typed [`TransitionError`]; the store
//! writes a move only if the document is still in the state the move started from. Every text
//! a clerk types arrives as a newtype that validates on construction ([`metadata`]), and the
//! leader's distribution of a document is an [`Assignment`]. An outgoing document (văn bản
//! đi) moves through [`OutgoingState`] the same way, from draft to release ([`outgoing`]).

mod arrival;
mod assignment;
mod copy;
pub mod metadata;
pub mod outgoing;
mod pages;
mod search;
mod state;

pub use arrival::{register_year, vietnam, vietnam_today, ArrivalNumber, VIETNAM_OFFSET_SECONDS};
pub use assignment::{Assignment, HandlingNote, Instruction, ReturnReason};
pub use copy::{incoming_copyable, outgoing_copyable, verified_copyable, CopyForm, CopyRefused};
pub use metadata::{DocumentType, IncomingMetadata, IssuingBody, NumberNotation, Summary, Urgency};
pub use outgoing::{
    AuthorityMode, Confidentiality, DocumentIdentifier, DocumentNumber, ExternalRecipient,
    Notation, OutgoingAction, OutgoingMetadata, OutgoingState, OutgoingStep,
    OutgoingTransitionError, Position, RecallState, RecipientName, RegisterSeries,
    SignerAssignment,
};
pub use pages::{PageSelection, MAX_PAGE, MAX_SELECTION_LEN, SELECTION_PATTERN};
pub use search::fold_for_search;
pub use state::{IncomingState, InterchangeStatus, Step, TraceAction, TransitionError};
