-- Hashes of the audit tree's perfect interior subtrees, kept as the integrator completes
-- them, so a proof reads O(log n) of them instead of every leaf hash. `node` is
-- level << 48 | index (the 2^level leaves from leaf index << level on). A cache: `vanthu
-- audit verify` recomputes the tree from the entries, and a changed node can only make a
-- proof fail to verify. A log filed before this table existed gets its nodes from the
-- integrator's next run.
CREATE TABLE audit_nodes (
    node BIGINT PRIMARY KEY,
    hash BYTEA NOT NULL
);

CREATE TRIGGER audit_nodes_append_only BEFORE UPDATE OR DELETE ON audit_nodes
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
