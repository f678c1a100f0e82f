//! The audit log in the database: entries queued in their action's own transaction, one
//! integrator at a time filing them in sequence and extending the Merkle tree, signed
//! checkpoints, proofs, and the check of the whole log against every checkpoint.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use vanthu_audit::merkle::{self, leaf_hash, Hash};
use vanthu_audit::verify::{Finding, FoundEntry, LogCheck, Report};
use vanthu_audit::{
    AuditAction, AuditEntry, AuditError, AuditRecord, Checkpoint, CompactRange, NodeId, NoteSigner,
    NoteVerifier, ObjectKind, ObjectRef, Outcome,
};
use vanthu_domain::{PageRequest, Paged, Sha256Digest, UnitId, UnitPath, UserId, ValidationError};

use crate::db::{insert_returning_id, per_backend, DbConnection};
use crate::schema::{audit_checkpoints, audit_entries, audit_nodes, audit_queue, audit_tree};
use crate::time::{from_millis, to_millis};
use crate::units::{load_unit, offset, subtree_pattern};
use crate::users::unit_of_user;
use crate::{Database, StoreError};

/// Key of the PostgreSQL advisory lock held by the integrator (the bytes spell "audit").
const INTEGRATOR_LOCK_KEY: i64 = 0x61_75_64_69_74;
/// Queued entries filed per integrator transaction: short transactions, few round trips.
const BATCH: i64 = 1_000;
/// Entries read at a time by the log check and the export.
const READ_CHUNK: i64 = 10_000;
/// Where the level sits in an `audit_nodes.node` key: 2^48 leaves are never reached.
const NODE_LEVEL_SHIFT: u32 = 48;

/// The `audit_nodes` key of a subtree.
fn node_key(id: NodeId) -> Result<i64, StoreError> {
    if id.index >= 1 << NODE_LEVEL_SHIFT {
        return Err(StoreError::corrupt("the audit tree outgrew its node keys"));
    }
    signed(u64::from(id.level) << NODE_LEVEL_SHIFT | id.index)
}

/// An action to record, as the store's actions describe it; [`record`] adds who and when.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// What was done.
    pub action: AuditAction,
    /// What it was done to.
    pub object: Option<ObjectRef>,
    /// The file involved.
    pub file: Option<Sha256Digest>,
    /// How it ended.
    pub outcome: Outcome,
    /// Further facts, by name.
    pub details: BTreeMap<String, String>,
}

impl Event {
    /// A successful `action` on `object`.
    pub fn done(action: AuditAction, object: ObjectRef) -> Self {
        Self {
            action,
            object: Some(object),
            file: None,
            outcome: Outcome::Success,
            details: BTreeMap::new(),
        }
    }

    /// A step of a document's life cycle: the state it left the document in, and the note,
    /// reason or instruction given.
    pub fn step(action: AuditAction, object: ObjectRef, state: &str, note: Option<&str>) -> Self {
        let event = Self::done(action, object).with("state", state);
        match note {
            Some(note) => event.with("note", note),
            None => event,
        }
    }

    /// Adds a detail.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// Names the file involved.
    pub fn file(mut self, sha256: &Sha256Digest) -> Self {
        self.file = Some(sha256.clone());
        self
    }
}

/// Queues the entry for `event`, done by `by` at `at`, inside the caller's transaction: it
/// commits or rolls back with the action. The actor's unit is read here, as it is now.
pub(crate) fn record(
    conn: &mut DbConnection,
    by: Option<UserId>,
    at: DateTime<Utc>,
    event: Event,
) -> Result<(), StoreError> {
    let (actor_unit, unit_path) = match by {
        Some(user) => {
            let unit = unit_of_user(conn, user)?;
            (Some(unit.id), Some(unit.path))
        }
        None => (None, None),
    };
    queue(conn, by, actor_unit, unit_path, at, event)
}

/// As [`record`] for an action no signed-in user did (the operator's command line, an agency
/// elsewhere), filed
/// under `unit` so that the auditors of that unit's subtree see it.
pub(crate) fn record_in_unit(
    conn: &mut DbConnection,
    unit: UnitId,
    at: DateTime<Utc>,
    event: Event,
) -> Result<(), StoreError> {
    let unit = load_unit(conn, unit)?;
    queue(conn, None, None, Some(unit.path), at, event)
}

fn queue(
    conn: &mut DbConnection,
    by: Option<UserId>,
    actor_unit: Option<UnitId>,
    unit_path: Option<UnitPath>,
    at: DateTime<Utc>,
    event: Event,
) -> Result<(), StoreError> {
    let queued = AuditEntry {
        seq: 0,
        previous: [0; 32],
        record: AuditRecord {
            time_ms: to_millis(at),
            actor: by,
            actor_unit,
            action: event.action,
            object: event.object,
            file_sha256: event.file,
            outcome: event.outcome,
            details: event.details,
        },
    };
    diesel::insert_into(audit_queue::table)
        .values((
            audit_queue::entry.eq(queued.to_bytes()),
            audit_queue::unit_path.eq(unit_path.as_ref().map(UnitPath::as_str)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The tree head as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeHead {
    /// Entries in the log.
    pub size: u64,
    /// The RFC 9162 root.
    pub root: Hash,
}

/// A checkpoint as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Its number, counting up.
    pub id: i64,
    /// The tree size it covers.
    pub size: u64,
    /// The root it signs.
    pub root: Hash,
    /// The signed note.
    pub note: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
}

/// Which entries a list returns; `None` does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Entries at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Entries before this time.
    pub to: Option<DateTime<Utc>>,
    /// Entries by this user.
    pub actor: Option<UserId>,
    /// Entries of this action.
    pub action: Option<AuditAction>,
    /// Entries about this object.
    pub object: Option<ObjectRef>,
}

fn hash_of(bytes: Vec<u8>, what: &str) -> Result<Hash, StoreError> {
    Hash::try_from(bytes).map_err(|_| StoreError::corrupt(format!("{what} is not 32 bytes")))
}

fn count(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(StoreError::corrupt)
}

fn signed(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(StoreError::corrupt)
}

/// The head row: size, compact range and last leaf.
fn load_head(conn: &mut DbConnection) -> Result<(CompactRange, Hash), StoreError> {
    let (size, border, last): (i64, Vec<u8>, Vec<u8>) = audit_tree::table
        .find(1)
        .select((audit_tree::size, audit_tree::border, audit_tree::last_leaf))
        .get_result(conn)?;
    let range = CompactRange::from_bytes(count(size)?, &border).map_err(StoreError::corrupt)?;
    Ok((range, hash_of(last, "the last leaf hash")?))
}

/// Makes this transaction the only integrator until it ends. SQLite transactions that write
/// are serialised already (`BEGIN IMMEDIATE`).
fn lock_integrator(conn: &mut DbConnection) -> Result<(), StoreError> {
    if let DbConnection::Postgresql(c) = conn {
        diesel::sql_query(format!(
            "SELECT pg_advisory_xact_lock({INTEGRATOR_LOCK_KEY})"
        ))
        .execute(c)?;
    }
    Ok(())
}

#[derive(Insertable)]
#[diesel(table_name = audit_entries)]
struct EntryRow {
    seq: i64,
    entry: Vec<u8>,
    leaf_hash: Vec<u8>,
    time_ms: i64,
    actor_id: Option<i64>,
    actor_unit_id: Option<i64>,
    unit_path: Option<String>,
    action: String,
    object_kind: Option<String>,
    object_id: Option<i64>,
    outcome: String,
}

impl EntryRow {
    fn new(
        entry: &AuditEntry,
        bytes: Vec<u8>,
        hash: Hash,
        unit_path: Option<String>,
    ) -> Result<Self, StoreError> {
        let r = &entry.record;
        Ok(Self {
            seq: signed(entry.seq)?,
            entry: bytes,
            leaf_hash: hash.to_vec(),
            time_ms: r.time_ms,
            actor_id: r.actor.map(UserId::get),
            actor_unit_id: r.actor_unit.map(|u| u.get()),
            unit_path,
            action: r.action.as_str().to_owned(),
            object_kind: r.object.map(|o| o.kind.as_str().to_owned()),
            object_id: r.object.map(|o| o.id),
            outcome: r.outcome.as_str().to_owned(),
        })
    }
}

/// Appends `leaf` to `range` and adds the subtrees it completes to `nodes`, keyed for
/// `audit_nodes`.
fn append_keeping(
    range: &mut CompactRange,
    leaf: Hash,
    nodes: &mut Vec<(i64, Vec<u8>)>,
) -> Result<(), StoreError> {
    let mut failed = None;
    range.append_reporting(leaf, |node, h| match node_key(node) {
        Ok(key) => nodes.push((key, h.to_vec())),
        Err(e) => failed = Some(e),
    });
    failed.map_or(Ok(()), Err)
}

/// Keeps the hashes of completed subtrees, `(node key, hash)`.
fn insert_nodes(conn: &mut DbConnection, nodes: Vec<(i64, Vec<u8>)>) -> Result<(), StoreError> {
    let rows: Vec<_> = nodes
        .into_iter()
        .map(|(node, hash)| (audit_nodes::node.eq(node), audit_nodes::hash.eq(hash)))
        .collect();
    // Two values a row, well under SQLite's limit of bound parameters.
    for chunk in rows.chunks(5_000) {
        per_backend!(&mut *conn, c => diesel::insert_into(audit_nodes::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Rebuilds the subtree hashes of a log filed before `audit_nodes` existed, from its leaf
/// hashes; does nothing once the table holds any (a tree under two entries has none).
fn backfill_nodes(conn: &mut DbConnection) -> Result<(), StoreError> {
    let any: Option<i64> = audit_nodes::table
        .select(audit_nodes::node)
        .first(conn)
        .optional()?;
    let (head, _) = load_head(conn)?;
    if any.is_some() || head.size() < 2 {
        return Ok(());
    }
    let leaves: Vec<Vec<u8>> = audit_entries::table
        .filter(audit_entries::seq.lt(signed(head.size())?))
        .order(audit_entries::seq.asc())
        .select(audit_entries::leaf_hash)
        .load(conn)?;
    let mut range = CompactRange::new();
    let mut nodes = Vec::new();
    for leaf in leaves {
        append_keeping(&mut range, hash_of(leaf, "a leaf hash")?, &mut nodes)?;
    }
    if range.root() != head.root() {
        return Err(StoreError::corrupt(
            "the audit entries do not make the tree head; run vanthu audit verify",
        ));
    }
    tracing::info!(nodes = nodes.len(), "audit tree nodes rebuilt");
    insert_nodes(conn, nodes)
}

/// Files up to [`BATCH`] queued entries; returns how many.
fn integrate_batch(conn: &mut DbConnection) -> Result<u64, StoreError> {
    lock_integrator(conn)?;
    backfill_nodes(conn)?;
    let queued: Vec<(i64, Vec<u8>, Option<String>)> = audit_queue::table
        .order(audit_queue::id.asc())
        .limit(BATCH)
        .select((audit_queue::id, audit_queue::entry, audit_queue::unit_path))
        .load(conn)?;
    if queued.is_empty() {
        return Ok(0);
    }
    // Exactly these rows leave the queue: one with a smaller id may commit only now, and
    // must wait for the next batch rather than vanish.
    let ids: Vec<i64> = queued.iter().map(|q| q.0).collect();
    let (mut range, mut previous) = load_head(conn)?;
    let old_size = range.size();
    let mut rows = Vec::with_capacity(queued.len());
    let mut nodes = Vec::with_capacity(queued.len());
    for (id, bytes, unit_path) in queued {
        let mut entry = AuditEntry::from_bytes(&bytes)
            .map_err(|e| StoreError::corrupt(format!("queued audit entry {id}: {e}")))?;
        entry.seq = range.size();
        entry.previous = previous;
        let bytes = entry.to_bytes();
        let hash = leaf_hash(&bytes);
        append_keeping(&mut range, hash, &mut nodes)?;
        previous = hash;
        rows.push(EntryRow::new(&entry, bytes, hash, unit_path)?);
    }
    let filed = rows.len() as u64;
    // SQLite allows 32,766 bound parameters a statement; 11 a row.
    for chunk in rows.chunks(500) {
        per_backend!(&mut *conn, c => diesel::insert_into(audit_entries::table)
            .values(chunk)
            .execute(c))?;
    }
    insert_nodes(conn, nodes)?;
    diesel::delete(audit_queue::table.filter(audit_queue::id.eq_any(&ids))).execute(conn)?;
    // Compare-and-swap on the size: if the head moved, nothing of this batch is kept.
    let swapped = diesel::update(
        audit_tree::table
            .find(1)
            .filter(audit_tree::size.eq(signed(old_size)?)),
    )
    .set((
        audit_tree::size.eq(signed(range.size())?),
        audit_tree::root.eq(range.root().to_vec()),
        audit_tree::border.eq(range.to_bytes()),
        audit_tree::last_leaf.eq(previous.to_vec()),
    ))
    .execute(conn)?;
    if swapped != 1 {
        return Err(StoreError::Stale {
            entity: "audit log",
            now: "extended by another integrator".into(),
        });
    }
    Ok(filed)
}

fn load_checkpoint_rows(
    conn: &mut DbConnection,
    latest_only: bool,
) -> Result<Vec<StoredCheckpoint>, StoreError> {
    let mut query = audit_checkpoints::table
        .select((
            audit_checkpoints::id,
            audit_checkpoints::size,
            audit_checkpoints::root,
            audit_checkpoints::note,
            audit_checkpoints::created_at,
        ))
        .into_boxed();
    query = if latest_only {
        query.order(audit_checkpoints::id.desc()).limit(1)
    } else {
        query.order(audit_checkpoints::id.asc())
    };
    let rows: Vec<(i64, i64, Vec<u8>, String, i64)> = query.load(conn)?;
    rows.into_iter()
        .map(|(id, size, root, note, at)| {
            Ok(StoredCheckpoint {
                id,
                size: count(size)?,
                root: hash_of(root, "a checkpoint root")?,
                note,
                created_at: from_millis(at)?,
            })
        })
        .collect()
}

/// The hashes of the subtrees `plan` needs: leaves from the entries, interior nodes from
/// `audit_nodes`, each in one query.
fn plan_hashes(
    conn: &mut DbConnection,
    plan: &merkle::ProofPlan,
) -> Result<std::collections::HashMap<NodeId, Hash>, StoreError> {
    let (leaves, interior): (Vec<NodeId>, Vec<NodeId>) = plan.nodes().partition(|n| n.level == 0);
    let seqs = leaves
        .iter()
        .map(|n| signed(n.index))
        .collect::<Result<Vec<_>, _>>()?;
    let keys = interior
        .iter()
        .map(|&n| node_key(n))
        .collect::<Result<Vec<_>, _>>()?;
    let mut found = std::collections::HashMap::new();
    let leaf_rows: Vec<(i64, Vec<u8>)> = audit_entries::table
        .filter(audit_entries::seq.eq_any(&seqs))
        .select((audit_entries::seq, audit_entries::leaf_hash))
        .load(conn)?;
    for (seq, hash) in leaf_rows {
        let id = NodeId {
            level: 0,
            index: count(seq)?,
        };
        found.insert(id, hash_of(hash, "a leaf hash")?);
    }
    let node_rows: Vec<(i64, Vec<u8>)> = audit_nodes::table
        .filter(audit_nodes::node.eq_any(&keys))
        .select((audit_nodes::node, audit_nodes::hash))
        .load(conn)?;
    let mask = (1u64 << NODE_LEVEL_SHIFT) - 1;
    for (key, hash) in node_rows {
        let key = count(key)?;
        let id = NodeId {
            level: u32::try_from(key >> NODE_LEVEL_SHIFT).map_err(StoreError::corrupt)?,
            index: key & mask,
        };
        found.insert(id, hash_of(hash, "a tree node")?);
    }
    Ok(found)
}

type CheckedRow = (
    i64,
    Vec<u8>,
    Vec<u8>,
    i64,
    Option<i64>,
    Option<i64>,
    String,
    Option<String>,
    Option<i64>,
    String,
);

/// The stored columns of an entry that disagree with its bytes.
fn disagreeing_columns(row: &CheckedRow, entry: &AuditEntry) -> Vec<&'static str> {
    let (_, _, _, time_ms, actor, unit, action, kind, object, outcome) = row;
    let r = &entry.record;
    let mut out = Vec::new();
    if *time_ms != r.time_ms {
        out.push("time_ms");
    }
    if *actor != r.actor.map(UserId::get) {
        out.push("actor_id");
    }
    if *unit != r.actor_unit.map(|u| u.get()) {
        out.push("actor_unit_id");
    }
    if action != r.action.as_str() {
        out.push("action");
    }
    if kind.as_deref() != r.object.map(|o| o.kind.as_str()) || *object != r.object.map(|o| o.id) {
        out.push("object");
    }
    if outcome != r.outcome.as_str() {
        out.push("outcome");
    }
    out
}

/// What a read of a document was, for [`Database::record_access`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The document's detail was opened.
    View,
    /// A revision of its PDF was downloaded.
    Download,
}

impl Database {
    /// Queues the entry of a view or a download of a document (Decree 30 Appendix VI III.5.a
    /// keeps the access history), in a transaction of its own; `file` is the revision
    /// downloaded.
    pub fn record_access(
        &self,
        by: UserId,
        object: ObjectRef,
        access: Access,
        file: Option<&Sha256Digest>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let action = match (object.kind, access) {
            (ObjectKind::IncomingDocument, Access::View) => AuditAction::IncomingView,
            (ObjectKind::IncomingDocument, Access::Download) => AuditAction::IncomingDownload,
            (ObjectKind::OutgoingDocument, Access::View) => AuditAction::OutgoingView,
            (ObjectKind::OutgoingDocument, Access::Download) => AuditAction::OutgoingDownload,
            (kind, _) => {
                return Err(StoreError::corrupt(format!(
                    "views are recorded for documents, not for a {kind}"
                )))
            }
        };
        let mut event = Event::done(action, object);
        if let Some(file) = file {
            event = event.file(file);
        }
        self.transaction(|conn| record(conn, Some(by), at, event))
    }

    /// Queues an entry for an action that writes nothing else (a refused sign-in), in a
    /// transaction of its own.
    pub fn record_login_failure(
        &self,
        user: Option<UserId>,
        username: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // Typed names can be anything: keep enough to recognise, not a pasted password's worth.
        let username: String = username.chars().take(64).collect();
        self.transaction(|conn| {
            let event = Event {
                action: AuditAction::LoginFailed,
                object: user.map(ObjectRef::user),
                file: None,
                outcome: Outcome::Failure,
                details: BTreeMap::new(),
            }
            .with("username", username)
            .with("reason", reason);
            record(conn, user, at, event)
        })
    }

    /// Files every queued entry in the log, one batch per transaction, and returns how many.
    /// Safe to call from several processes at once: one integrator works at a time.
    pub fn integrate_audit(&self) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let filed = self.transaction(integrate_batch)?;
            total += filed;
            if filed < BATCH as u64 {
                return Ok(total);
            }
        }
    }

    /// The tree head now.
    pub fn audit_head(&self) -> Result<TreeHead, StoreError> {
        self.read(|conn| {
            let (range, _) = load_head(conn)?;
            Ok(TreeHead {
                size: range.size(),
                root: range.root(),
            })
        })
    }

    /// Files what is queued, then signs and keeps a checkpoint of the tree as it stands.
    /// With `only_if_grown`, issues none (and returns `None`) when the latest checkpoint
    /// already covers the tree.
    pub fn issue_checkpoint(
        &self,
        signer: &NoteSigner,
        only_if_grown: bool,
        at: DateTime<Utc>,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.integrate_audit()?;
        self.transaction(|conn| {
            // Under the integrator's lock, so checkpoints are issued in tree order.
            lock_integrator(conn)?;
            let (range, _) = load_head(conn)?;
            if only_if_grown {
                let latest = load_checkpoint_rows(conn, true)?;
                if latest.first().is_some_and(|c| c.size == range.size()) {
                    return Ok(None);
                }
            }
            let checkpoint = Checkpoint {
                origin: signer.name().to_owned(),
                size: range.size(),
                root: range.root(),
            };
            let note = signer
                .sign(&checkpoint.to_text())
                .map_err(StoreError::corrupt)?;
            let id = insert_returning_id!(
                &mut *conn,
                audit_checkpoints::table,
                (
                    audit_checkpoints::size.eq(signed(checkpoint.size)?),
                    audit_checkpoints::root.eq(checkpoint.root.to_vec()),
                    audit_checkpoints::note.eq(&note),
                    audit_checkpoints::created_at.eq(to_millis(at)),
                ),
                audit_checkpoints::id
            )?;
            Ok(Some(StoredCheckpoint {
                id,
                size: checkpoint.size,
                root: checkpoint.root,
                note,
                created_at: at,
            }))
        })
    }

    /// The latest checkpoint, if one was issued.
    pub fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.read(|conn| Ok(load_checkpoint_rows(conn, true)?.pop()))
    }

    /// Entries whose actor belonged to a unit of `subtree` when acting, newest first; entries
    /// without a unit (sign-ins under unknown names) only for a whole tree.
    pub fn list_audit(
        &self,
        subtree: &UnitPath,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Paged<AuditEntry>, StoreError> {
        let whole_tree = subtree.ids().len() == 1;
        let filtered = || {
            let mut query = audit_entries::table.into_boxed();
            query = if whole_tree {
                query.filter(
                    audit_entries::unit_path
                        .like(subtree_pattern(subtree))
                        .or(audit_entries::unit_path.is_null()),
                )
            } else {
                query.filter(audit_entries::unit_path.like(subtree_pattern(subtree)))
            };
            if let Some(from) = filter.from {
                query = query.filter(audit_entries::time_ms.ge(to_millis(from)));
            }
            if let Some(to) = filter.to {
                query = query.filter(audit_entries::time_ms.lt(to_millis(to)));
            }
            if let Some(actor) = filter.actor {
                query = query.filter(audit_entries::actor_id.eq(actor.get()));
            }
            if let Some(action) = filter.action {
                query = query.filter(audit_entries::action.eq(action.as_str()));
            }
            if let Some(object) = filter.object {
                query = query
                    .filter(audit_entries::object_kind.eq(object.kind.as_str()))
                    .filter(audit_entries::object_id.eq(object.id));
            }
            query
        };
        self.read(|conn| {
            let total: i64 = filtered().count().get_result(conn)?;
            let rows: Vec<Vec<u8>> = filtered()
                .order(audit_entries::seq.desc())
                .limit(i64::from(page.per_page()))
                .offset(offset(page))
                .select(audit_entries::entry)
                .load(conn)?;
            Ok(Paged {
                items: rows
                    .iter()
                    .map(|b| AuditEntry::from_bytes(b).map_err(StoreError::corrupt))
                    .collect::<Result<_, _>>()?,
                page: page.page(),
                per_page: page.per_page(),
                total: count(total)?,
            })
        })
    }

    /// Every entry about `object`, oldest first.
    pub fn audit_history(&self, object: ObjectRef) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<Vec<u8>> = audit_entries::table
            .filter(audit_entries::object_kind.eq(object.kind.as_str()))
            .filter(audit_entries::object_id.eq(object.id))
            .order(audit_entries::seq.asc())
            .select(audit_entries::entry)
            .load(&mut *self.conn()?)?;
        rows.iter()
            .map(|b| AuditEntry::from_bytes(b).map_err(StoreError::corrupt))
            .collect()
    }

    /// Fills in the proof `plan` makes for a tree of `size` entries, reading only the
    /// subtree hashes it needs; a proof the plan cannot make is the asker's mistake,
    /// reported on `field`.
    fn prove(
        &self,
        size: u64,
        field: &'static str,
        plan: impl FnOnce() -> Result<merkle::ProofPlan, AuditError>,
    ) -> Result<Vec<Hash>, StoreError> {
        self.read(|conn| {
            let (range, _) = load_head(conn)?;
            if size > range.size() {
                return Err(tree_too_small(size, range.size()));
            }
            let plan = plan().map_err(|e| ValidationError::new(field, e.to_string()))?;
            let hashes = plan_hashes(conn, &plan)?;
            plan.fill(|node| {
                hashes.get(&node).copied().ok_or_else(|| {
                    StoreError::corrupt(format!("the audit tree lacks the hash of {node:?}"))
                })
            })
        })
    }

    /// The leaf hash of entry `seq` and its inclusion proof in the tree of the first `size`
    /// entries.
    pub fn audit_inclusion_proof(
        &self,
        seq: u64,
        size: u64,
    ) -> Result<(Hash, Vec<Hash>), StoreError> {
        let proof = self.prove(size, "seq", || merkle::inclusion_plan(seq, size))?;
        let leaf: Vec<u8> = audit_entries::table
            .find(signed(seq)?)
            .select(audit_entries::leaf_hash)
            .get_result(&mut *self.conn()?)
            .map_err(crate::error::missing("audit entry"))?;
        Ok((hash_of(leaf, "a leaf hash")?, proof))
    }

    /// The consistency proof from the tree of `from` entries to that of `to`.
    pub fn audit_consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, StoreError> {
        self.prove(to, "from", || merkle::consistency_plan(from, to))
    }

    /// Reads the whole log as one state, however long it takes and whatever is appended
    /// meanwhile: `start` gets every checkpoint, then `visit` every entry as stored, in
    /// sequence order, with the stored columns that disagree with its bytes (read in chunks,
    /// so the log need not fit in memory). Returns what `start` made and the tree head.
    pub fn read_audit_log<V>(
        &self,
        start: impl FnOnce(Vec<StoredCheckpoint>) -> V,
        mut visit: impl FnMut(&mut V, FoundEntry, Vec<&'static str>) -> Result<(), StoreError>,
    ) -> Result<(V, TreeHead), StoreError> {
        self.snapshot(|conn| {
            let mut state = start(load_checkpoint_rows(conn, false)?);
            let mut after: Option<i64> = None;
            loop {
                let mut query = audit_entries::table.into_boxed();
                if let Some(after) = after {
                    query = query.filter(audit_entries::seq.gt(after));
                }
                let rows: Vec<CheckedRow> = query
                    .order(audit_entries::seq.asc())
                    .limit(READ_CHUNK)
                    .select((
                        audit_entries::seq,
                        audit_entries::entry,
                        audit_entries::leaf_hash,
                        audit_entries::time_ms,
                        audit_entries::actor_id,
                        audit_entries::actor_unit_id,
                        audit_entries::action,
                        audit_entries::object_kind,
                        audit_entries::object_id,
                        audit_entries::outcome,
                    ))
                    .load(conn)?;
                let Some(last) = rows.last().map(|r| r.0) else {
                    break;
                };
                for row in rows {
                    let columns = AuditEntry::from_bytes(&row.1)
                        .map(|e| disagreeing_columns(&row, &e))
                        .unwrap_or_default();
                    let found = FoundEntry {
                        seq: count(row.0)?,
                        // A stored hash of the wrong length matches nothing: all ones stands in.
                        leaf_hash: Hash::try_from(row.2.as_slice()).unwrap_or([0xff; 32]),
                        bytes: row.1,
                    };
                    visit(&mut state, found, columns)?;
                }
                after = Some(last);
            }
            let (range, _) = load_head(conn)?;
            let head = TreeHead {
                size: range.size(),
                root: range.root(),
            };
            Ok((state, head))
        })
    }

    /// Recomputes the tree from every entry and checks it against the head and against
    /// every checkpoint, which must be signed by `key`.
    pub fn check_audit_log(&self, key: &NoteVerifier) -> Result<Report, StoreError> {
        let start = |checkpoints: Vec<StoredCheckpoint>| {
            let notes: Vec<(String, String)> = checkpoints
                .into_iter()
                .map(|c| (format!("#{}", c.id), c.note))
                .collect();
            LogCheck::new(key, key.name(), &notes)
        };
        let (mut check, head) = self.read_audit_log(start, |check, found, columns| {
            let seq = found.seq;
            check.push(&found);
            for column in columns {
                check.report(Finding::Column { seq, column });
            }
            Ok(())
        })?;
        check.check_head(head.size, &head.root);
        Ok(check.finish())
    }
}

fn tree_too_small(size: u64, now: u64) -> StoreError {
    ValidationError::new(
        "size",
        format!("the log holds {now} entries; ask for a size up to that, not {size}"),
    )
    .into()
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use vanthu_audit::merkle::{verify_consistency, verify_inclusion};
    use vanthu_domain::Role;

    use super::*;
    use crate::test_support::{race, tree, user};
    use crate::testing::TestDatabase;
    use crate::{Backend, NewSession, UnitChanges};

    fn signer() -> NoteSigner {
        NoteSigner::generate("vanthu.test/audit").unwrap()
    }

    fn sign_in(db: &Database, user: UserId, token: &str) {
        let now = crate::time::now();
        db.insert_session(&NewSession {
            token_hash: crate::hash_token(token),
            user_id: user,
            created_at: now,
            expires_at: now + chrono::TimeDelta::hours(1),
        })
        .unwrap();
    }

    fn run_sql(db: &Database, sql: &str) -> Result<(), String> {
        db.conn()
            .unwrap()
            .batch_execute(sql)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn actions_are_filed_in_order_and_the_tree_matches_its_proofs() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let admin = user(&db, "province.admin", &t.province, &[Role::Admin]);
        db.update_unit(
            Some(admin.id),
            t.commune.id,
            &UnitChanges {
                name: Some(vanthu_domain::Name::parse("Xã Mới").unwrap()),
                ..UnitChanges::default()
            },
        )
        .unwrap();
        sign_in(&db, admin.id, "token-1");
        assert!(db
            .revoke_session(&crate::hash_token("token-1"), crate::time::now())
            .unwrap());
        assert!(!db
            .revoke_session(&crate::hash_token("token-1"), crate::time::now())
            .unwrap());
        db.record_login_failure(None, "nobody", "unknown account", crate::time::now())
            .unwrap();

        // Queued, not yet in the log.
        assert_eq!(db.audit_head().unwrap().size, 0);
        // 4 units, 1 user, 1 unit change, sign-in, sign-out, refused sign-in.
        assert_eq!(db.integrate_audit().unwrap(), 9);
        assert_eq!(db.integrate_audit().unwrap(), 0);
        let head = db.audit_head().unwrap();
        assert_eq!(head.size, 9);

        let all = db
            .list_audit(
                &t.province.path,
                &AuditFilter::default(),
                PageRequest::new(1, 50).unwrap(),
            )
            .unwrap();
        assert_eq!(all.total, 9);
        let actions: Vec<AuditAction> = all.items.iter().rev().map(|e| e.record.action).collect();
        use AuditAction::*;
        assert_eq!(
            actions,
            [
                UnitCreate,
                UnitCreate,
                UnitCreate,
                UnitCreate,
                UserCreate,
                UnitUpdate,
                LoginSucceeded,
                Logout,
                LoginFailed
            ]
        );
        let seqs: Vec<u64> = all.items.iter().rev().map(|e| e.seq).collect();
        assert_eq!(seqs, (0..9).collect::<Vec<_>>());
        let update = &all.items[3];
        assert_eq!(update.record.actor, Some(admin.id));
        assert_eq!(update.record.actor_unit, Some(t.province.id));
        assert_eq!(update.record.details["name"], "Xã Mới");

        // A district auditor sees only what people of the district did: nothing here.
        let district = db
            .list_audit(
                &t.district.path,
                &AuditFilter::default(),
                PageRequest::new(1, 50).unwrap(),
            )
            .unwrap();
        assert_eq!(district.total, 0);
        let by_admin = db
            .list_audit(
                &t.province.path,
                &AuditFilter {
                    actor: Some(admin.id),
                    action: Some(AuditAction::Logout),
                    ..AuditFilter::default()
                },
                PageRequest::new(1, 50).unwrap(),
            )
            .unwrap();
        assert_eq!(by_admin.total, 1);
        assert_eq!(
            db.audit_history(ObjectRef::unit(t.commune.id))
                .unwrap()
                .len(),
            2
        );

        let (leaves, read_head) = db
            .read_audit_log(
                |_| Vec::new(),
                |leaves: &mut Vec<Hash>, f, columns| {
                    assert!(columns.is_empty());
                    leaves.push(f.leaf_hash);
                    Ok(())
                },
            )
            .unwrap();
        assert_eq!(read_head, head);
        assert_eq!(merkle::root(&leaves), head.root);
        let (leaf, proof) = db.audit_inclusion_proof(4, 9).unwrap();
        assert_eq!(leaf, leaves[4]);
        verify_inclusion(4, 9, &leaf, &proof, &head.root).unwrap();
        let proof = db.audit_consistency_proof(3, 9).unwrap();
        verify_consistency(3, 9, &proof, &merkle::root(&leaves[..3]), &head.root).unwrap();
        assert!(matches!(
            db.audit_inclusion_proof(9, 9),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            db.audit_inclusion_proof(0, 10),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            db.audit_consistency_proof(0, 9),
            Err(StoreError::Invalid(_))
        ));
    }

    #[test]
    fn proofs_from_the_stored_nodes_verify_for_every_entry_and_size() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let mut leaves = Vec::new();
        let mut roots = vec![merkle::empty_root()];
        // Batches of uneven sizes, so subtrees are completed across integrator runs.
        for batch in [1, 2, 5, 3, 8, 13, 1, 4] {
            for _ in 0..batch {
                db.record_login_failure(None, "someone", "unknown account", crate::time::now())
                    .unwrap();
            }
            db.integrate_audit().unwrap();
            let (found, _) = db
                .read_audit_log(
                    |_| Vec::new(),
                    |v: &mut Vec<Hash>, f, _| {
                        v.push(f.leaf_hash);
                        Ok(())
                    },
                )
                .unwrap();
            leaves = found;
            while roots.len() <= leaves.len() {
                roots.push(merkle::root(&leaves[..roots.len()]));
            }
        }
        let n = leaves.len() as u64;
        assert_eq!(n, 37);
        for size in 1..=n {
            let root = roots[size as usize];
            for seq in 0..size {
                let (leaf, proof) = db.audit_inclusion_proof(seq, size).unwrap();
                assert_eq!(leaf, leaves[seq as usize]);
                verify_inclusion(seq, size, &leaf, &proof, &root).unwrap();
            }
            for from in 1..=size {
                let proof = db.audit_consistency_proof(from, size).unwrap();
                verify_consistency(from, size, &proof, &roots[from as usize], &root).unwrap();
            }
        }

        // A log filed before the nodes were kept gets them from the next integrator run.
        run_sql(
            &db,
            match db.backend() {
                Backend::Sqlite => "DROP TRIGGER audit_nodes_no_delete; DELETE FROM audit_nodes;",
                Backend::Postgres => {
                    "DROP TRIGGER audit_nodes_append_only ON audit_nodes; DELETE FROM audit_nodes;"
                }
            },
        )
        .unwrap();
        assert!(matches!(
            db.audit_inclusion_proof(0, n),
            Err(StoreError::Corrupt(_))
        ));
        assert_eq!(db.integrate_audit().unwrap(), 0);
        let (leaf, proof) = db.audit_inclusion_proof(5, n).unwrap();
        verify_inclusion(5, n, &leaf, &proof, &roots[n as usize]).unwrap();
    }

    #[test]
    fn checkpoints_are_signed_kept_and_issued_only_when_asked_or_grown() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let key = signer();
        let first = db
            .issue_checkpoint(&key, false, crate::time::now())
            .unwrap()
            .unwrap();
        assert_eq!(first.size, 0);
        assert!(db
            .issue_checkpoint(&key, true, crate::time::now())
            .unwrap()
            .is_none());
        tree(&db);
        let second = db
            .issue_checkpoint(&key, true, crate::time::now())
            .unwrap()
            .unwrap();
        assert_eq!(second.size, 4);
        let text = key.verifier().open(&second.note).unwrap().to_owned();
        assert_eq!(
            Checkpoint::parse(&text).unwrap().root,
            db.audit_head().unwrap().root
        );
        assert_eq!(db.latest_checkpoint().unwrap(), Some(second.clone()));
        let (all, _) = db.read_audit_log(|all| all, |_, _, _| Ok(())).unwrap();
        assert_eq!(all, vec![first, second]);
        let report = db.check_audit_log(&key.verifier()).unwrap();
        assert_eq!(report.findings, vec![]);
        assert_eq!((report.entries, report.checkpoints), (4, 2));
    }

    #[test]
    fn entries_and_checkpoints_refuse_update_and_delete() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        tree(&db);
        db.issue_checkpoint(&signer(), false, crate::time::now())
            .unwrap();
        for sql in [
            "UPDATE audit_entries SET time_ms = 0 WHERE seq = 1",
            "DELETE FROM audit_entries WHERE seq = 3",
            "UPDATE audit_checkpoints SET size = 1",
            "DELETE FROM audit_checkpoints",
            "UPDATE audit_nodes SET hash = hash",
            "DELETE FROM audit_nodes",
        ] {
            let err = run_sql(&db, sql).unwrap_err();
            assert!(err.contains("append-only"), "{sql}: {err}");
        }
        if db.backend() == Backend::Postgres {
            let err = run_sql(&db, "TRUNCATE audit_entries").unwrap_err();
            assert!(err.contains("append-only"), "{err}");
        }
        assert_eq!(db.audit_head().unwrap().size, 4);
        assert_eq!(db.check_audit_log(&signer().verifier()).unwrap().entries, 4);
    }

    #[test]
    fn a_rolled_back_action_leaves_no_entry() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let taken = crate::test_support::new_unit(
            Some(&t.province),
            "000.00.31.H26",
            vanthu_domain::UnitLevel::District,
        );
        assert!(matches!(
            db.insert_unit(None, &taken),
            Err(StoreError::Conflict { .. })
        ));
        assert!(db
            .update_user(None, UserId::new(999).unwrap(), &Default::default())
            .is_err());
        assert_eq!(db.integrate_audit().unwrap(), 4);
    }

    #[test]
    fn integrators_racing_on_one_database_keep_one_consistent_log() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let clerk = user(&db, "district.clerk", &t.district, &[Role::Clerk]);
        let url = tdb.url().to_owned();
        // Each thread has its own pool, as a separate server would, and integrates while
        // the others append.
        let done = race(4, move || {
            let own = Database::connect(&url).unwrap();
            for i in 0..25 {
                own.record_login_failure(
                    Some(clerk.id),
                    "district.clerk",
                    &format!("try {i}"),
                    crate::time::now(),
                )
                .unwrap();
                if i % 5 == 0 {
                    own.integrate_audit().unwrap();
                }
            }
            own.integrate_audit().unwrap()
        });
        assert_eq!(done.len(), 4);
        db.integrate_audit().unwrap();
        let key = signer();
        db.issue_checkpoint(&key, false, crate::time::now())
            .unwrap();
        let report = db.check_audit_log(&key.verifier()).unwrap();
        assert_eq!(report.findings, vec![]);
        assert_eq!(report.entries, 5 + 100);
    }

    #[test]
    fn a_check_while_the_log_grows_sees_one_state_and_finds_nothing_wrong() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let key = signer();
        tree(&db);
        db.issue_checkpoint(&key, false, crate::time::now())
            .unwrap();
        let (url, secret) = (tdb.url().to_owned(), key.to_key_string().unwrap());
        let writer = std::thread::spawn(move || {
            let own = Database::connect(&url).unwrap();
            let key = NoteSigner::from_key_string(&secret).unwrap();
            for i in 0..60 {
                own.record_login_failure(None, "someone", "unknown account", crate::time::now())
                    .unwrap();
                own.integrate_audit().unwrap();
                if i % 10 == 0 {
                    own.issue_checkpoint(&key, false, crate::time::now())
                        .unwrap();
                }
            }
        });
        let mut checks = 0;
        while !writer.is_finished() || checks == 0 {
            let report = db.check_audit_log(&key.verifier()).unwrap();
            assert_eq!(report.findings, vec![], "after {} entries", report.entries);
            checks += 1;
        }
        writer.join().unwrap();
        assert_eq!(db.check_audit_log(&key.verifier()).unwrap().entries, 64);
    }

    /// Drops the append-only triggers, as someone editing the database by hand would.
    fn drop_triggers(db: &Database) {
        let sql = match db.backend() {
            Backend::Sqlite => {
                "DROP TRIGGER audit_entries_no_update; DROP TRIGGER audit_entries_no_delete;"
            }
            Backend::Postgres => "DROP TRIGGER audit_entries_append_only ON audit_entries;",
        };
        run_sql(db, sql).unwrap();
    }

    #[test]
    fn edits_behind_the_logs_back_are_found_and_named() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let key = signer();
        tree(&db);
        db.issue_checkpoint(&key, false, crate::time::now())
            .unwrap();
        let t2 = crate::test_support::new_unit(
            None,
            "000.00.00.H27",
            vanthu_domain::UnitLevel::Province,
        );
        let other = db.insert_unit(None, &t2).unwrap();
        for code in ["000.00.01.H27", "000.00.02.H27", "000.00.03.H27"] {
            db.insert_unit(
                None,
                &crate::test_support::new_unit(
                    Some(&other),
                    code,
                    vanthu_domain::UnitLevel::District,
                ),
            )
            .unwrap();
        }
        db.issue_checkpoint(&key, false, crate::time::now())
            .unwrap();
        assert_eq!(
            db.check_audit_log(&key.verifier()).unwrap().findings,
            vec![]
        );
        drop_triggers(&db);

        // A column changed: named by the column check.
        run_sql(&db, "UPDATE audit_entries SET actor_id = 42 WHERE seq = 2").unwrap();
        let findings = db.check_audit_log(&key.verifier()).unwrap().findings;
        assert_eq!(
            findings,
            vec![Finding::Column {
                seq: 2,
                column: "actor_id"
            }]
        );
        run_sql(
            &db,
            "UPDATE audit_entries SET actor_id = NULL WHERE seq = 2",
        )
        .unwrap();

        // An entry removed.
        run_sql(&db, "DELETE FROM audit_entries WHERE seq = 6").unwrap();
        let findings = db.check_audit_log(&key.verifier()).unwrap().findings;
        assert!(
            findings.contains(&Finding::Missing { from: 6, to: 6 }),
            "{findings:?}"
        );
        assert!(findings.iter().any(|f| matches!(
            f,
            Finding::Beyond {
                size: 8,
                found: 7,
                ..
            }
        )));
    }
}
