-- What a document package of the outbox does to its document (BussinessDocType: 0 new,
-- 1 revoke, 2 update, 3 replace). A recipient's status acknowledges the packages that
-- bring it a document (0 and 3), not a revoke or update of one it holds.
ALTER TABLE interchange_outbox ADD COLUMN business SMALLINT NOT NULL DEFAULT 0
    CHECK (business BETWEEN 0 AND 3);

-- The lease of the server instance delivering a package (used on PostgreSQL, where
-- several instances may share the database; kept here so both schemas are one).
ALTER TABLE interchange_outbox ADD COLUMN lease_holder TEXT;
ALTER TABLE interchange_outbox ADD COLUMN lease_until BIGINT;

-- A correction of a released document (`update`) in the sender's trace, and, at the
-- recipient, the update package that corrected its copy. SQLite cannot change a CHECK
-- constraint in place, so both tables are rebuilt with their rows.
CREATE TABLE outgoing_events_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id BIGINT NOT NULL REFERENCES outgoing_documents (id),
    action TEXT NOT NULL CHECK (action IN ('draft', 'record_paper', 'comment', 'revise',
        'approve', 'return', 'sign', 'issue', 'release', 'recall', 'recall_accepted',
        'recall_refused', 'recipient_status', 'update')),
    state TEXT NOT NULL,
    actor_id BIGINT NOT NULL REFERENCES users (id),
    at BIGINT NOT NULL,
    note TEXT,
    on_behalf_of BIGINT REFERENCES users (id)
);
INSERT INTO outgoing_events_new (id, document_id, action, state, actor_id, at, note, on_behalf_of)
    SELECT id, document_id, action, state, actor_id, at, note, on_behalf_of FROM outgoing_events;
DROP TABLE outgoing_events;
ALTER TABLE outgoing_events_new RENAME TO outgoing_events;
CREATE INDEX outgoing_events_document ON outgoing_events (document_id, id);

CREATE TABLE incoming_events_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id BIGINT NOT NULL REFERENCES incoming_documents (id),
    action TEXT NOT NULL CHECK (action IN
        ('receive', 'register', 'return', 'assign', 'progress', 'forward', 'complete',
         'update')),
    state TEXT NOT NULL,
    actor_id BIGINT NOT NULL REFERENCES users (id),
    at BIGINT NOT NULL,
    note TEXT,
    on_behalf_of BIGINT REFERENCES users (id)
);
INSERT INTO incoming_events_new (id, document_id, action, state, actor_id, at, note, on_behalf_of)
    SELECT id, document_id, action, state, actor_id, at, note, on_behalf_of FROM incoming_events;
DROP TABLE incoming_events;
ALTER TABLE incoming_events_new RENAME TO incoming_events;
CREATE INDEX incoming_events_document ON incoming_events (document_id, id);
