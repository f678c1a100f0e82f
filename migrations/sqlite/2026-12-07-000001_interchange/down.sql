DELETE FROM outgoing_events WHERE action = 'recipient_status';
CREATE TABLE outgoing_events_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id BIGINT NOT NULL REFERENCES outgoing_documents (id),
    action TEXT NOT NULL CHECK (action IN ('draft', 'record_paper', 'comment', 'revise',
        'approve', 'return', 'sign', 'issue', 'release', 'recall', 'recall_accepted',
        'recall_refused')),
    state TEXT NOT NULL,
    actor_id BIGINT NOT NULL REFERENCES users (id),
    at BIGINT NOT NULL,
    note TEXT
);
INSERT INTO outgoing_events_old (id, document_id, action, state, actor_id, at, note)
    SELECT id, document_id, action, state, actor_id, at, note FROM outgoing_events;
DROP TABLE outgoing_events;
ALTER TABLE outgoing_events_old RENAME TO outgoing_events;
CREATE INDEX outgoing_events_document ON outgoing_events (document_id, id);
ALTER TABLE outgoing_recipients DROP COLUMN interchange_status_at;
ALTER TABLE outgoing_recipients DROP COLUMN interchange_status;
DROP INDEX incoming_documents_interchange_id;
ALTER TABLE incoming_documents DROP COLUMN interchange_id;
