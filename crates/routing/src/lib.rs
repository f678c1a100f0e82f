//! Decree 30/2020 life cycle of incoming documents: states and transitions, arrival numbers, urgency, validated metadata and assignments, free of SQL and HTTP.
//!
//! An incoming document (văn bản đến) moves through [`IncomingState`] only by the transition
//! functions there, which refuse an illegal move with a typed [`TransitionError`]; the store
//! writes a move only if the document is still in the state the move started from. Every text
//! a clerk types arrives as a newtype that validates on construction ([`metadata`]), and the
//! leader's distribution of a document is an [`Assignment`].

mod arrival;
mod assignment;
pub mod metadata;
mod search;
mod state;

pub use arrival::{register_year, vietnam_today, ArrivalNumber, VIETNAM_OFFSET_SECONDS};
pub use assignment::{Assignment, HandlingNote, Instruction, ReturnReason};
pub use metadata::{DocumentType, IncomingMetadata, IssuingBody, NumberNotation, Summary, Urgency};
pub use search::fold_for_search;
pub use state::{IncomingState, InterchangeStatus, Step, TraceAction, TransitionError};
