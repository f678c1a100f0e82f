//! Electronic copies (bản sao điện tử, Decree 30/2020 Art. 25-26): the forms of copy and which
//! documents a unit may copy.
//!
//! A copy is made of a file the unit holds: an outgoing document once it has its number and
//! seal (issued or released, not recalled), or an incoming document it received and still
//! holds (not returned, not withdrawn by a recall). The organisation then signs the copy with
//! its seal key and the no-image stamp naming the form of copy.

use std::str::FromStr;

use vanthu_domain::ValidationError;

use crate::{IncomingState, OutgoingState, RecallState};

/// Forms of electronic copy (Decree 30/2020 Art. 25).
///
/// Sao y and sao lục are the file held with the seal added; a trích sao is a new file of some
/// of its pages ([`PageSelection`](crate::PageSelection)), which the earlier signatures no
/// longer cover, so the seal alone vouches for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CopyForm {
    /// Sao y: a full, exact copy of the document held.
    SaoY,
    /// Sao lục: a full copy reproduced for distribution, typically of a document received
    /// from another agency.
    SaoLuc,
    /// Trích sao: some pages of the document, extracted into a new file.
    TrichSao,
}

impl CopyForm {
    /// Every form.
    pub const ALL: [CopyForm; 3] = [CopyForm::SaoY, CopyForm::SaoLuc, CopyForm::TrichSao];

    /// Stable name, as stored and sent over the API.
    pub fn as_str(self) -> &'static str {
        match self {
            CopyForm::SaoY => "sao_y",
            CopyForm::SaoLuc => "sao_luc",
            CopyForm::TrichSao => "trich_sao",
        }
    }
}

impl FromStr for CopyForm {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CopyForm::ALL
            .into_iter()
            .find(|form| form.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "form",
                    format!("'{s}' is not a form of copy; use sao_y, sao_luc or trich_sao"),
                )
            })
    }
}

/// Why a document cannot be copied now, each reason with its stable code for clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CopyRefused {
    /// Not in a state where the unit holds it as issued or received (`state_conflict`).
    #[error("{0}")]
    State(String),
    /// Recorded on paper: there is no electronic file to copy (`document_on_paper`).
    #[error(
        "this document is recorded on paper and has no electronic file to copy; make the copy \
         from the paper original"
    )]
    OnPaper,
    /// Received with a broken signature or changed after signing (`signatures_not_valid`):
    /// the seal on a copy would vouch for what vanthu found altered.
    #[error(
        "a signature of this document was found broken or the file changed after signing, on \
         receipt (verdict: {0}); a copy under the unit's seal would certify an altered file: \
         ask the sender for a validly signed file"
    )]
    NotVerified(String),
}

impl CopyRefused {
    /// The stable code of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            CopyRefused::State(_) => "state_conflict",
            CopyRefused::OnPaper => "document_on_paper",
            CopyRefused::NotVerified(_) => "signatures_not_valid",
        }
    }
}

/// Whether a received file whose verification gave `verdict` may be copied: not when a
/// signature in it is broken (`invalid`) or the file was changed after it was signed in a way
/// no signature allows (`modified`): such a file is kept and handled, but the unit's seal does
/// not certify it again. A file received unsigned (a scan of a paper original: Decree 30
/// Art. 25 lets a unit copy a paper document into an electronic one) or signed under a root
/// this installation does not trust is copied: the copy's seal vouches that it is a faithful
/// copy of what the unit holds, not for the original's signer.
pub fn verified_copyable(verdict: &str) -> Result<(), CopyRefused> {
    match verdict {
        "invalid" | "modified" => Err(CopyRefused::NotVerified(verdict.to_owned())),
        _ => Ok(()),
    }
}

/// Whether an outgoing document in `state` may be copied: only once issued with its number
/// and seal, and not after it was recalled.
pub fn outgoing_copyable(state: OutgoingState) -> Result<(), CopyRefused> {
    match state {
        OutgoingState::Issued | OutgoingState::Released => Ok(()),
        OutgoingState::Recalled => Err(CopyRefused::State(
            "this document was recalled; a recalled document is not copied".into(),
        )),
        other => Err(CopyRefused::State(format!(
            "this document is {}; only issued documents are copied",
            other.as_str()
        ))),
    }
}

/// Whether an incoming document in `state`, with its sender's recall if any, may be copied:
/// while the unit holds it, that is neither returned to its sender nor withdrawn by a recall
/// (a recall not yet answered freezes it).
pub fn incoming_copyable(
    state: IncomingState,
    recall: Option<RecallState>,
) -> Result<(), CopyRefused> {
    if state == IncomingState::Returned {
        return Err(CopyRefused::State(
            "this document was returned to its sender; the unit no longer holds it".into(),
        ));
    }
    match recall {
        None | Some(RecallState::Refused) => Ok(()),
        Some(RecallState::Requested) => Err(CopyRefused::State(
            "its sender recalled this document; answer the recall first".into(),
        )),
        Some(RecallState::Accepted) => Err(CopyRefused::State(
            "this document was withdrawn by its sender's recall".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_round_trip_and_unknown_ones_are_refused() {
        for form in CopyForm::ALL {
            assert_eq!(form.as_str().parse::<CopyForm>().unwrap(), form);
        }
        let e = "ban_sao".parse::<CopyForm>().unwrap_err();
        assert_eq!(e.field, "form");
    }

    #[test]
    fn only_issued_outgoing_documents_are_copied() {
        let copyable: Vec<_> = OutgoingState::ALL
            .into_iter()
            .filter(|s| outgoing_copyable(*s).is_ok())
            .collect();
        assert_eq!(copyable, [OutgoingState::Issued, OutgoingState::Released]);
    }

    #[test]
    fn incoming_documents_are_copied_while_held() {
        for state in IncomingState::ALL {
            assert_eq!(
                incoming_copyable(state, None).is_ok(),
                state != IncomingState::Returned
            );
        }
        let registered = IncomingState::Registered;
        assert!(incoming_copyable(registered, Some(RecallState::Refused)).is_ok());
        assert!(incoming_copyable(registered, Some(RecallState::Requested)).is_err());
        assert!(incoming_copyable(registered, Some(RecallState::Accepted)).is_err());
    }

    #[test]
    fn files_with_broken_signatures_are_not_copied() {
        for verdict in ["valid", "untrusted", "unsigned"] {
            assert!(verified_copyable(verdict).is_ok(), "{verdict}");
        }
        for verdict in ["modified", "invalid"] {
            let refused = verified_copyable(verdict).unwrap_err();
            assert_eq!(refused.code(), "signatures_not_valid");
            assert!(refused.to_string().contains(verdict), "{refused}");
        }
        assert_eq!(CopyRefused::OnPaper.code(), "document_on_paper");
    }
}
