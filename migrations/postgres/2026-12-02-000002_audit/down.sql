DROP TABLE audit_tree;
DROP TABLE audit_checkpoints;
DROP TABLE audit_entries;
DROP TABLE audit_queue;
DROP FUNCTION audit_append_only();
