//! Checking a whole log: entries in order, each canonical and linked to the one before, and
//! every signed checkpoint matching the tree recomputed from them. Whoever holds the entries
//! (the database, an export) feeds them in; the findings name entries by sequence number.

use std::fmt;

use crate::merkle::{leaf_hash, Hash};
use crate::{AuditEntry, Checkpoint, CompactRange, NoteVerifier};

/// One entry as found, before it is trusted: its place, its bytes and the leaf hash kept
/// beside them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundEntry {
    /// The sequence number it is filed under.
    pub seq: u64,
    /// Its canonical bytes.
    pub bytes: Vec<u8>,
    /// The leaf hash stored with it.
    pub leaf_hash: Hash,
}

/// Something wrong with the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Entries are missing from the sequence.
    Missing {
        /// The first missing sequence number.
        from: u64,
        /// The last missing one.
        to: u64,
    },
    /// An entry is filed under a number already passed (a duplicate or out of order).
    OutOfOrder {
        /// The number it is filed under.
        seq: u64,
    },
    /// The bytes filed under `seq` are those of entry `bytes_seq`: entries were moved.
    Misplaced {
        /// The number it is filed under.
        seq: u64,
        /// The number its bytes carry.
        bytes_seq: u64,
    },
    /// The bytes are not a canonical entry.
    NotCanonical {
        /// The number it is filed under.
        seq: u64,
        /// Why not.
        why: String,
    },
    /// The stored leaf hash is not the hash of the bytes: the entry was changed.
    LeafHash {
        /// The entry.
        seq: u64,
    },
    /// The next entry records another hash for this one: this entry was changed (or the
    /// next one's link was).
    Link {
        /// The entry whose hash differs from the one its successor records.
        seq: u64,
    },
    /// A stored column says something else than the canonical bytes.
    Column {
        /// The entry.
        seq: u64,
        /// The column.
        column: &'static str,
    },
    /// A checkpoint's signature does not verify, or it does not parse.
    Signature {
        /// Which checkpoint, as the holder numbers them.
        checkpoint: String,
        /// Why.
        why: String,
    },
    /// A checkpoint names another log.
    Origin {
        /// Which checkpoint.
        checkpoint: String,
        /// The origin it names.
        origin: String,
    },
    /// The tree of the first `size` entries is not the one the checkpoint signed: an entry
    /// from `from` to `size - 1` was changed, removed, inserted or moved.
    Root {
        /// Which checkpoint.
        checkpoint: String,
        /// Its size.
        size: u64,
        /// The size of the last checkpoint that still matched (0 if none).
        from: u64,
    },
    /// A checkpoint covers more entries than the log holds: entries were removed from its end.
    Beyond {
        /// Which checkpoint.
        checkpoint: String,
        /// Its size.
        size: u64,
        /// How many entries were found.
        found: u64,
    },
    /// The log's head says something else than the entries found.
    Head {
        /// What differs.
        why: String,
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::Missing { from, to } if from == to => write!(f, "entry {from} is missing"),
            Finding::Missing { from, to } => write!(f, "entries {from} to {to} are missing"),
            Finding::OutOfOrder { seq } => {
                write!(f, "entry {seq} appears again after later entries")
            }
            Finding::Misplaced { seq, bytes_seq } => write!(
                f,
                "entry {seq} holds the bytes of entry {bytes_seq}: entries were moved"
            ),
            Finding::NotCanonical { seq, why } => write!(f, "entry {seq} was changed: {why}"),
            Finding::LeafHash { seq } => write!(
                f,
                "entry {seq} was changed: its bytes no longer match its leaf hash"
            ),
            Finding::Link { seq } => write!(
                f,
                "entry {seq} was changed: entry {} records another hash for it",
                seq + 1
            ),
            Finding::Column { seq, column } => write!(
                f,
                "entry {seq} was changed: its column {column} disagrees with its bytes"
            ),
            Finding::Signature { checkpoint, why } => {
                write!(f, "checkpoint {checkpoint}: {why}")
            }
            Finding::Origin { checkpoint, origin } => {
                write!(f, "checkpoint {checkpoint} is of another log ({origin})")
            }
            Finding::Root {
                checkpoint,
                size,
                from,
            } => write!(
                f,
                "checkpoint {checkpoint} (size {size}) does not match the entries: one of \
                 entries {from} to {} was changed, removed, inserted or moved",
                size - 1
            ),
            Finding::Beyond {
                checkpoint,
                size,
                found,
            } => write!(
                f,
                "checkpoint {checkpoint} covers {size} entries but only {found} were found: \
                 entries {found} to {} were removed",
                size - 1
            ),
            Finding::Head { why } => write!(f, "the tree head: {why}"),
        }
    }
}

/// A checkpoint whose signature verified, waiting for the tree to reach its size.
struct Pending {
    label: String,
    checkpoint: Checkpoint,
}

/// Checks a log fed entry by entry in the order of their sequence numbers.
pub struct LogCheck {
    pending: Vec<Pending>,
    range: CompactRange,
    expected: u64,
    previous: Option<(u64, Hash)>,
    last_good: u64,
    verified: u64,
    findings: Vec<Finding>,
}

/// What [`LogCheck::finish`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Entries read.
    pub entries: u64,
    /// Checkpoints whose signature and root verified.
    pub checkpoints: u64,
    /// The head of the tree recomputed from the entries found.
    pub root: Hash,
    /// Everything wrong, in the order found.
    pub findings: Vec<Finding>,
}

impl LogCheck {
    /// Starts a check against `checkpoints` (a label such as its number, and the signed
    /// note), which must be signed by `key` for the log `origin`.
    pub fn new(key: &NoteVerifier, origin: &str, checkpoints: &[(String, String)]) -> Self {
        let mut findings = Vec::new();
        let mut pending = Vec::new();
        for (label, note) in checkpoints {
            let checkpoint = key
                .open(note)
                .map_err(|e| e.to_string())
                .and_then(|text| Checkpoint::parse(text).map_err(|e| e.to_string()));
            match checkpoint {
                Err(why) => findings.push(Finding::Signature {
                    checkpoint: label.clone(),
                    why,
                }),
                Ok(c) if c.origin != origin => findings.push(Finding::Origin {
                    checkpoint: label.clone(),
                    origin: c.origin,
                }),
                Ok(checkpoint) => pending.push(Pending {
                    label: label.clone(),
                    checkpoint,
                }),
            }
        }
        // Largest last, so the next one due is popped from the end.
        pending.sort_by_key(|p| std::cmp::Reverse(p.checkpoint.size));
        let mut check = Self {
            pending,
            range: CompactRange::new(),
            expected: 0,
            previous: None,
            last_good: 0,
            verified: 0,
            findings,
        };
        check.settle_checkpoints();
        check
    }

    /// Records a finding made outside, e.g. a stored column that disagrees with the bytes.
    pub fn report(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// Feeds the next entry. Returns it decoded when its bytes are canonical.
    pub fn push(&mut self, found: &FoundEntry) -> Option<AuditEntry> {
        let seq = found.seq;
        if seq < self.expected {
            self.findings.push(Finding::OutOfOrder { seq });
            return None;
        }
        if seq > self.expected {
            self.findings.push(Finding::Missing {
                from: self.expected,
                to: seq - 1,
            });
        }
        self.expected = seq + 1;
        let hash = leaf_hash(&found.bytes);
        if hash != found.leaf_hash {
            self.findings.push(Finding::LeafHash { seq });
        }
        // The tree takes the bytes as found: whatever was changed shows in the roots.
        self.range.append(hash);
        let decoded = match AuditEntry::from_bytes(&found.bytes) {
            Ok(entry) => entry,
            Err(e) => {
                self.findings.push(Finding::NotCanonical {
                    seq,
                    why: e.to_string(),
                });
                self.previous = Some((seq, hash));
                self.settle_checkpoints();
                return None;
            }
        };
        if decoded.seq != seq {
            self.findings.push(Finding::Misplaced {
                seq,
                bytes_seq: decoded.seq,
            });
        } else if let Some((prev_seq, prev_hash)) = self.previous {
            if prev_seq + 1 == seq && decoded.previous != prev_hash {
                self.findings.push(Finding::Link { seq: prev_seq });
            }
        }
        self.previous = Some((seq, hash));
        self.settle_checkpoints();
        Some(decoded)
    }

    /// Compares the checkpoints of the size the tree has reached.
    fn settle_checkpoints(&mut self) {
        while let Some(next) = self.pending.last() {
            if next.checkpoint.size != self.range.size() {
                break;
            }
            let Some(done) = self.pending.pop() else {
                break;
            };
            if done.checkpoint.root == self.range.root() {
                self.last_good = done.checkpoint.size;
                self.verified += 1;
            } else {
                self.findings.push(Finding::Root {
                    checkpoint: done.label,
                    size: done.checkpoint.size,
                    from: self.last_good,
                });
            }
        }
    }

    /// Compares the log's head (size and root) where the holder keeps one: entries filed
    /// beyond its size were added behind the log's back.
    pub fn check_head(&mut self, size: u64, root: &Hash) {
        if self.expected > size {
            let added = if self.expected - 1 == size {
                format!("entry {size} lies beyond it")
            } else {
                format!("entries {size} to {} lie beyond it", self.expected - 1)
            };
            self.findings.push(Finding::Head {
                why: format!("it holds {size} entries and {added}: added behind the log's back"),
            });
        } else if self.range.size() != size {
            self.findings.push(Finding::Head {
                why: format!(
                    "it counts {size} entries but {} were found",
                    self.range.size()
                ),
            });
        } else if *root != self.range.root() {
            self.findings.push(Finding::Head {
                why: format!(
                    "its root differs from the entries': one of entries {} to {} was changed",
                    self.last_good,
                    size.saturating_sub(1)
                ),
            });
        }
    }

    /// Ends the check.
    pub fn finish(mut self) -> Report {
        let found = self.range.size();
        for p in self.pending.drain(..).rev() {
            self.findings.push(Finding::Beyond {
                checkpoint: p.label,
                size: p.checkpoint.size,
                found,
            });
        }
        Report {
            entries: found,
            checkpoints: self.verified,
            root: self.range.root(),
            findings: self.findings,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::{AuditAction, AuditRecord, NoteSigner, Outcome};

    const ORIGIN: &str = "vanthu.test/audit";

    /// A log of `n` entries with a checkpoint after every `every` entries.
    fn log(n: u64, every: u64) -> (NoteSigner, Vec<FoundEntry>, Vec<(String, String)>) {
        let signer = NoteSigner::generate(ORIGIN).unwrap();
        let mut range = CompactRange::new();
        let mut previous = [0; 32];
        let mut entries = Vec::new();
        let mut checkpoints = Vec::new();
        for seq in 0..n {
            let entry = AuditEntry {
                seq,
                previous,
                record: AuditRecord {
                    time_ms: 1_000 + seq as i64,
                    actor: None,
                    actor_unit: None,
                    action: AuditAction::Logout,
                    object: None,
                    file_sha256: None,
                    outcome: Outcome::Success,
                    details: BTreeMap::new(),
                },
            };
            let bytes = entry.to_bytes();
            previous = leaf_hash(&bytes);
            range.append(previous);
            entries.push(FoundEntry {
                seq,
                bytes,
                leaf_hash: previous,
            });
            if (seq + 1) % every == 0 {
                let text = Checkpoint {
                    origin: ORIGIN.into(),
                    size: seq + 1,
                    root: range.root(),
                }
                .to_text();
                checkpoints.push((
                    format!("#{}", checkpoints.len() + 1),
                    signer.sign(&text).unwrap(),
                ));
            }
        }
        (signer, entries, checkpoints)
    }

    fn run(
        signer: &NoteSigner,
        entries: &[FoundEntry],
        checkpoints: &[(String, String)],
    ) -> Report {
        let mut check = LogCheck::new(&signer.verifier(), ORIGIN, checkpoints);
        for e in entries {
            check.push(e);
        }
        check.finish()
    }

    #[test]
    fn an_intact_log_verifies() {
        let (signer, entries, checkpoints) = log(10, 3);
        let report = run(&signer, &entries, &checkpoints);
        assert_eq!(report.findings, vec![]);
        assert_eq!((report.entries, report.checkpoints), (10, 3));
    }

    #[test]
    fn a_changed_entry_is_named_even_with_its_hash_recomputed() {
        let (signer, mut entries, checkpoints) = log(10, 5);
        let mut changed = AuditEntry::from_bytes(&entries[3].bytes).unwrap();
        changed.record.time_ms += 1;
        entries[3].bytes = changed.to_bytes();
        entries[3].leaf_hash = leaf_hash(&entries[3].bytes);
        let report = run(&signer, &entries, &checkpoints);
        assert!(
            report.findings.contains(&Finding::Link { seq: 3 }),
            "{:?}",
            report.findings
        );
        assert!(report.findings.iter().any(|f| matches!(
            f,
            Finding::Root {
                size: 5,
                from: 0,
                ..
            }
        )));
    }

    #[test]
    fn removed_moved_and_forged_checkpoints_are_named() {
        let (signer, entries, checkpoints) = log(8, 4);
        let mut removed = entries.clone();
        removed.remove(5);
        let report = run(&signer, &removed, &checkpoints);
        assert_eq!(report.findings[0], Finding::Missing { from: 5, to: 5 });
        assert!(matches!(
            report.findings.last(),
            Some(Finding::Beyond {
                size: 8,
                found: 7,
                ..
            })
        ));

        let mut moved = entries.clone();
        let (a, b) = (moved[1].bytes.clone(), moved[2].bytes.clone());
        moved[1].bytes = b;
        moved[2].bytes = a;
        let report = run(&signer, &moved, &checkpoints);
        assert!(report.findings.contains(&Finding::Misplaced {
            seq: 1,
            bytes_seq: 2
        }));
        assert!(report.findings.contains(&Finding::Misplaced {
            seq: 2,
            bytes_seq: 1
        }));

        let other = NoteSigner::generate(ORIGIN).unwrap();
        let forged: Vec<_> = checkpoints
            .iter()
            .map(|(l, note)| {
                let text = note.split_once("\n\n").unwrap().0;
                (l.clone(), other.sign(&format!("{text}\n")).unwrap())
            })
            .collect();
        let report = run(&signer, &entries, &forged);
        assert_eq!(report.checkpoints, 0);
        assert_eq!(report.findings.len(), 2);
        assert!(matches!(report.findings[0], Finding::Signature { .. }));
    }
}
