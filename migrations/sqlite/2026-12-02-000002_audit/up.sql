-- The tamper-evident audit log (docs/audit.md). An action queues its entry in its own
-- transaction; one integrator at a time gives queued entries their sequence numbers, files
-- them in audit_entries and extends the Merkle tree whose head is the single row of
-- audit_tree. Entries and checkpoints are append-only: triggers refuse UPDATE and DELETE.

-- Entries committed with their action, not yet in the log. `entry` is the canonical encoding
-- with sequence number 0 and no predecessor; the integrator fills both in.
CREATE TABLE audit_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entry BLOB NOT NULL,
    -- Path of the actor's unit when acting, for the auditors' subtree filter.
    unit_path TEXT
);

-- The log: one row per leaf of the tree, in sequence order from 0.
CREATE TABLE audit_entries (
    seq INTEGER PRIMARY KEY CHECK (seq >= 0),
    -- The canonical bytes; the leaf hash is SHA-256(0x00 || entry).
    entry BLOB NOT NULL,
    leaf_hash BLOB NOT NULL,
    -- Copies of fields of `entry`, to filter on; `vanthu audit verify` checks they agree.
    time_ms INTEGER NOT NULL,
    actor_id INTEGER,
    actor_unit_id INTEGER,
    unit_path TEXT,
    action TEXT NOT NULL,
    object_kind TEXT,
    object_id INTEGER,
    outcome TEXT NOT NULL
);
CREATE INDEX audit_entries_object ON audit_entries (object_kind, object_id);
CREATE INDEX audit_entries_time ON audit_entries (time_ms);
CREATE INDEX audit_entries_actor ON audit_entries (actor_id);

-- Every signed checkpoint ever issued.
CREATE TABLE audit_checkpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    size INTEGER NOT NULL CHECK (size >= 0),
    root BLOB NOT NULL,
    -- The C2SP signed note, as served.
    note TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX audit_checkpoints_size ON audit_checkpoints (size);

-- The head of the tree: its size, root, the right border (compact range) that extends it,
-- and the last leaf hash, which the next entry links to. Updated by compare-and-swap on size.
CREATE TABLE audit_tree (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL CHECK (size >= 0),
    root BLOB NOT NULL,
    border BLOB NOT NULL,
    last_leaf BLOB NOT NULL
);
INSERT INTO audit_tree (id, size, root, border, last_leaf) VALUES
    (1, 0, X'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', X'',
     zeroblob(32));

CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE on audit_entries is refused');
END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: DELETE on audit_entries is refused');
END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE on audit_checkpoints is refused');
END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: DELETE on audit_checkpoints is refused');
END;
