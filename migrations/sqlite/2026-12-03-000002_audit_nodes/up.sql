-- Hashes of the audit tree's perfect interior subtrees, kept as the integrator completes
-- them, so a proof reads O(log n) of them instead of every leaf hash. `node` is
-- level << 48 | index (the 2^level leaves from leaf index << level on). A cache: `vanthu
-- audit verify` recomputes the tree from the entries, and a changed node can only make a
-- proof fail to verify. A log filed before this table existed gets its nodes from the
-- integrator's next run.
CREATE TABLE audit_nodes (
    node INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
);

CREATE TRIGGER audit_nodes_no_update BEFORE UPDATE ON audit_nodes
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE on audit_nodes is refused');
END;
CREATE TRIGGER audit_nodes_no_delete BEFORE DELETE ON audit_nodes
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: DELETE on audit_nodes is refused');
END;
