CREATE TABLE incoming_events_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id BIGINT NOT NULL REFERENCES incoming_documents (id),
    action TEXT NOT NULL CHECK (action IN
        ('receive', 'register', 'return', 'assign', 'progress', 'forward', 'complete')),
    state TEXT NOT NULL,
    actor_id BIGINT NOT NULL REFERENCES users (id),
    at BIGINT NOT NULL,
    note TEXT,
    on_behalf_of BIGINT REFERENCES users (id)
);
INSERT INTO incoming_events_old (id, document_id, action, state, actor_id, at, note, on_behalf_of)
    SELECT id, document_id, action, state, actor_id, at, note, on_behalf_of FROM incoming_events
    WHERE action <> 'update';
DROP TABLE incoming_events;
ALTER TABLE incoming_events_old RENAME TO incoming_events;
CREATE INDEX incoming_events_document ON incoming_events (document_id, id);

CREATE TABLE outgoing_events_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id BIGINT NOT NULL REFERENCES outgoing_documents (id),
    action TEXT NOT NULL CHECK (action IN ('draft', 'record_paper', 'comment', 'revise',
        'approve', 'return', 'sign', 'issue', 'release', 'recall', 'recall_accepted',
        'recall_refused', 'recipient_status')),
    state TEXT NOT NULL,
    actor_id BIGINT NOT NULL REFERENCES users (id),
    at BIGINT NOT NULL,
    note TEXT,
    on_behalf_of BIGINT REFERENCES users (id)
);
INSERT INTO outgoing_events_old (id, document_id, action, state, actor_id, at, note, on_behalf_of)
    SELECT id, document_id, action, state, actor_id, at, note, on_behalf_of FROM outgoing_events
    WHERE action <> 'update';
DROP TABLE outgoing_events;
ALTER TABLE outgoing_events_old RENAME TO outgoing_events;
CREATE INDEX outgoing_events_document ON outgoing_events (document_id, id);

ALTER TABLE interchange_outbox DROP COLUMN lease_until;
ALTER TABLE interchange_outbox DROP COLUMN lease_holder;
ALTER TABLE interchange_outbox DROP COLUMN business;
