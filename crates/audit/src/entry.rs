//! Audit entries and their canonical byte encoding, the leaves of the log's Merkle tree.
//!
//! The encoding is fixed-order and length-prefixed (docs/audit.md gives it byte for byte):
//! one value has exactly one encoding, so whoever holds the bytes can recompute the leaf hash
//! and anyone who re-encodes the decoded entry gets the same bytes back.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};
use vanthu_domain::{Sha256Digest, UnitId, UserId};

use crate::merkle::{leaf_hash, Hash};
use crate::AuditError;

/// First byte of every encoded entry; a new layout would take the next number.
const ENCODING_VERSION: u8 = 1;

/// An enum whose variants have stable names: the names are what the canonical encoding and
/// the API carry, so renaming a variant never changes a recorded entry.
macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stable name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl FromStr for $name {
            type Err = AuditError;
            fn from_str(s: &str) -> Result<Self, AuditError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(AuditError::Encoding(format!(
                        concat!("unknown ", $what, " '{}'"),
                        other
                    ))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

named_enum!(
    /// What was done.
    AuditAction, "action" {
        /// A user signed in.
        LoginSucceeded => "login.success",
        /// A sign-in was refused (wrong password, disabled or locked account, unknown name).
        LoginFailed => "login.failure",
        /// A user signed out.
        Logout => "logout",
        /// An incoming document was received.
        IncomingReceive => "incoming.receive",
        /// It was entered in the register with an arrival number.
        IncomingRegister => "incoming.register",
        /// It was sent back to its sender.
        IncomingReturn => "incoming.return",
        /// It was handed to a lead and co-handlers.
        IncomingAssign => "incoming.assign",
        /// A handler noted progress.
        IncomingProgress => "incoming.progress",
        /// The lead handed it on.
        IncomingForward => "incoming.forward",
        /// Its handling was finished.
        IncomingComplete => "incoming.complete",
        /// Someone opened an incoming document (its detail and trace).
        IncomingView => "incoming.view",
        /// Someone downloaded a revision of an incoming document's PDF.
        IncomingDownload => "incoming.download",
        /// The unit made an electronic copy (sao y, sao lục) of an incoming document it holds,
        /// signed with its seal.
        IncomingCopy => "incoming.copy",
        /// Someone opened an outgoing document.
        OutgoingView => "outgoing.view",
        /// Someone downloaded a revision of an outgoing document's PDF.
        OutgoingDownload => "outgoing.download",
        /// An outgoing draft was uploaded.
        OutgoingDraft => "outgoing.draft",
        /// A document issued on paper was recorded and numbered.
        OutgoingRecordPaper => "outgoing.record_paper",
        /// Someone commented on a draft.
        OutgoingComment => "outgoing.comment",
        /// The drafter uploaded a new revision.
        OutgoingRevise => "outgoing.revise",
        /// The unit head approved the draft.
        OutgoingApprove => "outgoing.approve",
        /// The unit head returned the draft to its drafter.
        OutgoingReturn => "outgoing.return",
        /// The signer signed it.
        OutgoingSign => "outgoing.sign",
        /// The clerk issued it: the next number of the unit's series was taken.
        OutgoingIssue => "outgoing.issue",
        /// The number and date were written into it and the organisation's seal signed it.
        OutgoingSeal => "outgoing.seal",
        /// The clerk released it to its recipients.
        OutgoingRelease => "outgoing.release",
        /// The sender recalled it.
        OutgoingRecall => "outgoing.recall",
        /// A recipient accepted the recall of its copy.
        OutgoingRecallAccepted => "outgoing.recall_accepted",
        /// A recipient refused the recall of its copy.
        OutgoingRecallRefused => "outgoing.recall_refused",
        /// An agency elsewhere reported the status of its copy (an interchange status).
        OutgoingRecipientStatus => "outgoing.recipient_status",
        /// The sender corrected the details of a released document (an update).
        OutgoingUpdate => "outgoing.update",
        /// The agency elsewhere that sent the document recalled, revoked or replaced it
        /// (an interchange package); the copy is frozen until its unit answers.
        IncomingRecalled => "incoming.recalled",
        /// The unit answered the recall of a document that came as an interchange package.
        IncomingRecallAnswer => "incoming.recall_answer",
        /// The agency that sent the document updated its details (an interchange package).
        IncomingUpdated => "incoming.updated",
        /// The unit made an electronic copy (sao y, sao lục) of a document it issued, signed
        /// with its seal.
        OutgoingCopy => "outgoing.copy",
        /// A leader enrolled the authenticator app that approves their remote signatures.
        TotpEnrol => "totp.enrol",
        /// A leader approved signing hashes with their key through the CSC API (or the
        /// approval was refused: a wrong PIN or code).
        CscAuthorize => "csc.authorize",
        /// Hashes were signed with a leader's key through the CSC API.
        CscSignHash => "csc.sign_hash",
        /// A signing key and its certificate were enrolled (a leader's under their PIN, an
        /// organisation's seal under the key-encryption key, or a leader's key found in their
        /// PKCS#11 token), replacing the owner's previous one.
        KeyEnrol => "key.enrol",
        /// A leader changed the signing PIN that protects their key.
        PinChange => "pin.change",
        /// The fifth wrong signing PIN in a row blocked a key (signing only; login is untouched).
        KeyBlocked => "key.blocked",
        /// An admin created a unit.
        UnitCreate => "unit.create",
        /// An admin changed a unit.
        UnitUpdate => "unit.update",
        /// An admin created a user account.
        UserCreate => "user.create",
        /// An admin changed a user account.
        UserUpdate => "user.update",
        /// A leader uploaded the image of their signature drawn in their visible signatures.
        UserSignatureImage => "user.signature_image",
        /// An admin uploaded the image of a unit's seal drawn in its seal signatures.
        UnitSealImage => "unit.seal_image",
        /// A leader delegated assigning or signing to a deputy.
        DelegationCreate => "delegation.create",
        /// A leader revoked a delegation.
        DelegationRevoke => "delegation.revoke",
    }
);

named_enum!(
    /// The kind of thing an entry is about.
    ObjectKind, "object kind" {
        /// An incoming document (văn bản đến).
        IncomingDocument => "incoming",
        /// An outgoing document (văn bản đi).
        OutgoingDocument => "outgoing",
        /// A user account.
        User => "user",
        /// A unit of the organisation.
        Unit => "unit",
        /// A delegation (ủy quyền).
        Delegation => "delegation",
        /// A stored signing key (a leader's or an organisation's seal).
        SigningKey => "key",
        /// A leader's key in their own PKCS#11 token, as the server recorded it.
        TokenKey => "token_key",
    }
);

named_enum!(
    /// How the action ended.
    Outcome, "outcome" {
        /// It was done.
        Success => "success",
        /// It was refused; recorded for actions whose refusals matter (sign-in).
        Failure => "failure",
    }
);

/// The thing an entry is about: a kind and the row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    /// What kind of thing.
    pub kind: ObjectKind,
    /// Its id.
    pub id: i64,
}

impl ObjectRef {
    /// An incoming document.
    pub fn incoming(id: vanthu_domain::IncomingId) -> Self {
        Self {
            kind: ObjectKind::IncomingDocument,
            id: id.get(),
        }
    }

    /// An outgoing document.
    pub fn outgoing(id: vanthu_domain::OutgoingId) -> Self {
        Self {
            kind: ObjectKind::OutgoingDocument,
            id: id.get(),
        }
    }

    /// A user account.
    pub fn user(id: UserId) -> Self {
        Self {
            kind: ObjectKind::User,
            id: id.get(),
        }
    }

    /// A unit.
    pub fn unit(id: UnitId) -> Self {
        Self {
            kind: ObjectKind::Unit,
            id: id.get(),
        }
    }
}

impl ObjectRef {
    /// A stored signing key, by its database id.
    pub fn signing_key(id: i64) -> Self {
        Self {
            kind: ObjectKind::SigningKey,
            id,
        }
    }

    /// A leader's key in their PKCS#11 token, by its database id.
    pub fn token_key(id: i64) -> Self {
        Self {
            kind: ObjectKind::TokenKey,
            id,
        }
    }

    /// A delegation.
    pub fn delegation(id: vanthu_domain::DelegationId) -> Self {
        Self {
            kind: ObjectKind::Delegation,
            id: id.get(),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.id)
    }
}

impl FromStr for ObjectRef {
    type Err = AuditError;
    /// `kind:id`, e.g. `incoming:12`.
    fn from_str(s: &str) -> Result<Self, AuditError> {
        let bad = || AuditError::Encoding(format!("'{s}' is not an object such as incoming:12"));
        let (kind, id) = s.split_once(':').ok_or_else(bad)?;
        Ok(Self {
            kind: kind.parse()?,
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

impl Serialize for ObjectRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What happened, before the log gives it a sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// When, in milliseconds since 1970-01-01 UTC.
    pub time_ms: i64,
    /// Who acted; `None` for a sign-in under a name no account has.
    pub actor: Option<UserId>,
    /// The unit the actor belonged to when acting.
    pub actor_unit: Option<UnitId>,
    /// What they did.
    pub action: AuditAction,
    /// What they did it to; `None` when there is no such row (an unknown sign-in name).
    pub object: Option<ObjectRef>,
    /// SHA-256 of the file involved, where there is one.
    pub file_sha256: Option<Sha256Digest>,
    /// How it ended.
    pub outcome: Outcome,
    /// Further facts (a reason, an instruction, a changed field), sorted by key.
    pub details: BTreeMap<String, String>,
}

/// One entry of the log: a record and its place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Its place in the log, counted from 0: the index of its leaf in the tree.
    pub seq: u64,
    /// The leaf hash of the entry before it (zeros for the first). The tree already binds
    /// every entry; this link lets a verifier name the one entry that was changed between
    /// two checkpoints, because the next entry still records its true hash.
    #[serde(serialize_with = "hex_hash")]
    pub previous: Hash,
    /// What happened.
    #[serde(flatten)]
    pub record: AuditRecord,
}

fn hex_hash<S: Serializer>(h: &Hash, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(h))
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Lengths fit in u32: entries are built from bounded fields.
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_opt_id(out: &mut Vec<u8>, id: Option<i64>) {
    match id {
        None => out.push(0),
        Some(id) => {
            out.push(1);
            out.extend_from_slice(&id.to_be_bytes());
        }
    }
}

impl AuditEntry {
    /// The canonical encoding (docs/audit.md): the bytes the leaf hash is taken over.
    pub fn to_bytes(&self) -> Vec<u8> {
        let r = &self.record;
        let mut out = Vec::with_capacity(128);
        out.push(ENCODING_VERSION);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.previous);
        out.extend_from_slice(&r.time_ms.to_be_bytes());
        put_opt_id(&mut out, r.actor.map(UserId::get));
        put_opt_id(&mut out, r.actor_unit.map(UnitId::get));
        put_str(&mut out, r.action.as_str());
        match r.object {
            None => out.push(0),
            Some(o) => {
                out.push(1);
                put_str(&mut out, o.kind.as_str());
                out.extend_from_slice(&o.id.to_be_bytes());
            }
        }
        match &r.file_sha256 {
            None => out.push(0),
            Some(d) => {
                out.push(1);
                // A parsed digest is always 64 hex digits.
                out.extend(hex::decode(d.as_str()).unwrap_or_default());
            }
        }
        put_str(&mut out, r.outcome.as_str());
        out.extend_from_slice(&(r.details.len() as u32).to_be_bytes());
        for (key, value) in &r.details {
            put_str(&mut out, key);
            put_str(&mut out, value);
        }
        out
    }

    /// The leaf hash of this entry: `SHA-256(0x00 || bytes)`.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.to_bytes())
    }

    /// Decodes canonical bytes; anything but exactly one entry in canonical form is refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AuditError> {
        let mut r = Reader { bytes, at: 0 };
        let version = r.byte()?;
        if version != ENCODING_VERSION {
            return Err(AuditError::Encoding(format!(
                "encoding version {version} is not known"
            )));
        }
        let seq = u64::from_be_bytes(r.array()?);
        let previous = r.array()?;
        let time_ms = i64::from_be_bytes(r.array()?);
        let actor = r.opt_id()?.map(UserId::new).transpose().map_err(invalid)?;
        let actor_unit = r.opt_id()?.map(UnitId::new).transpose().map_err(invalid)?;
        let action = r.string()?.parse()?;
        let object = if r.flag()? {
            Some(ObjectRef {
                kind: r.string()?.parse()?,
                id: i64::from_be_bytes(r.array()?),
            })
        } else {
            None
        };
        let file_sha256 = if r.flag()? {
            Some(Sha256Digest::from_bytes(&r.array()?))
        } else {
            None
        };
        let outcome = r.string()?.parse()?;
        let count = u32::from_be_bytes(r.array()?);
        let mut details = BTreeMap::new();
        let mut last: Option<String> = None;
        for _ in 0..count {
            let key = r.string()?;
            if last.as_ref().is_some_and(|l| *l >= key) {
                return Err(AuditError::Encoding(
                    "detail keys are not in strictly ascending order".into(),
                ));
            }
            let value = r.string()?;
            last = Some(key.clone());
            details.insert(key, value);
        }
        if r.at != bytes.len() {
            return Err(AuditError::Encoding(format!(
                "{} bytes follow the entry",
                bytes.len() - r.at
            )));
        }
        Ok(AuditEntry {
            seq,
            previous,
            record: AuditRecord {
                time_ms,
                actor,
                actor_unit,
                action,
                object,
                file_sha256,
                outcome,
                details,
            },
        })
    }
}

fn invalid(e: vanthu_domain::ValidationError) -> AuditError {
    AuditError::Encoding(e.to_string())
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], AuditError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| AuditError::Encoding("the entry ends too early".into()))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8, AuditError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], AuditError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn flag(&mut self) -> Result<bool, AuditError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(AuditError::Encoding(format!(
                "presence flag {other} is neither 0 nor 1"
            ))),
        }
    }

    fn opt_id(&mut self) -> Result<Option<i64>, AuditError> {
        if self.flag()? {
            Ok(Some(i64::from_be_bytes(self.array()?)))
        } else {
            Ok(None)
        }
    }

    fn string(&mut self) -> Result<String, AuditError> {
        let len = u32::from_be_bytes(self.array()?) as usize;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| AuditError::Encoding("a text field is not UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AuditEntry {
        AuditEntry {
            seq: 7,
            previous: [0x11; 32],
            record: AuditRecord {
                time_ms: 1_764_633_600_000,
                actor: Some(UserId::new(3).unwrap()),
                actor_unit: Some(UnitId::new(2).unwrap()),
                action: AuditAction::IncomingReceive,
                object: Some(ObjectRef {
                    kind: ObjectKind::IncomingDocument,
                    id: 12,
                }),
                file_sha256: Some(Sha256Digest::from_bytes(&[0xab; 32])),
                outcome: Outcome::Success,
                details: BTreeMap::from([
                    ("verification".to_owned(), "valid".to_owned()),
                    ("number_notation".to_owned(), "12/UBND-VP".to_owned()),
                ]),
            },
        }
    }

    #[test]
    fn the_encoding_is_the_documented_one_and_round_trips() {
        let entry = sample();
        let bytes = entry.to_bytes();
        // The layout of docs/audit.md, field by field.
        let mut expected = vec![1];
        expected.extend(7u64.to_be_bytes());
        expected.extend([0x11; 32]);
        expected.extend(1_764_633_600_000i64.to_be_bytes());
        expected.extend([1, 0, 0, 0, 0, 0, 0, 0, 3]);
        expected.extend([1, 0, 0, 0, 0, 0, 0, 0, 2]);
        expected.extend(b"\0\0\0\x10incoming.receive");
        expected.extend(b"\x01\0\0\0\x08incoming");
        expected.extend(12i64.to_be_bytes());
        expected.push(1);
        expected.extend([0xab; 32]);
        expected.extend(b"\0\0\0\x07success");
        expected.extend(b"\0\0\0\x02");
        expected.extend(b"\0\0\0\x0fnumber_notation\0\0\0\x0a12/UBND-VP");
        expected.extend(b"\0\0\0\x0cverification\0\0\0\x05valid");
        assert_eq!(bytes, expected);
        assert_eq!(AuditEntry::from_bytes(&bytes).unwrap(), entry);
        assert_eq!(entry.leaf_hash(), leaf_hash(&bytes));

        let bare = AuditEntry {
            seq: 0,
            previous: [0; 32],
            record: AuditRecord {
                actor: None,
                actor_unit: None,
                object: None,
                file_sha256: None,
                details: BTreeMap::new(),
                ..entry.record.clone()
            },
        };
        assert_eq!(AuditEntry::from_bytes(&bare.to_bytes()).unwrap(), bare);
    }

    #[test]
    fn anything_but_one_canonical_entry_is_refused() {
        let bytes = sample().to_bytes();
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(AuditEntry::from_bytes(&trailing).is_err());
        for cut in 0..bytes.len() {
            assert!(
                AuditEntry::from_bytes(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut version = bytes.clone();
        version[0] = 2;
        assert!(AuditEntry::from_bytes(&version).is_err());
        let mut flag = bytes.clone();
        flag[49] = 2;
        assert!(AuditEntry::from_bytes(&flag).is_err());
        // The two detail entries swapped: same content, not canonical.
        let mut swapped = bytes[..bytes.len() - 58].to_vec();
        swapped.extend(b"\0\0\0\x0cverification\0\0\0\x05valid");
        swapped.extend(b"\0\0\0\x0fnumber_notation\0\0\0\x0a12/UBND-VP");
        assert_eq!(swapped.len(), bytes.len());
        assert!(AuditEntry::from_bytes(&swapped).is_err());
    }

    #[test]
    fn names_are_stable_and_parse_back() {
        for a in AuditAction::ALL {
            assert_eq!(a.as_str().parse::<AuditAction>().unwrap(), *a);
        }
        for k in ObjectKind::ALL {
            assert_eq!(k.as_str().parse::<ObjectKind>().unwrap(), *k);
        }
        let o: ObjectRef = "incoming:12".parse().unwrap();
        assert_eq!(o.to_string(), "incoming:12");
        assert!("document:1".parse::<ObjectRef>().is_err());
        assert!("incoming".parse::<ObjectRef>().is_err());
    }
}
