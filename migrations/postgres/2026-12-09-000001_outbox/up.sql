-- The interchange outbox: one row per package to deliver to an agency elsewhere, written in
-- the transaction of the step that calls for it (a release, a step of a document that came
-- as a package, a recall, a recall's answer), then delivered with retries by the server.
-- `package` is the sealed edXML; a status package is sealed when first delivered (the row
-- holds all it says: the code, the step's time, the DocumentId), then kept as sent.
CREATE TABLE interchange_outbox (
    id BIGSERIAL PRIMARY KEY,
    unit_id BIGINT NOT NULL REFERENCES units (id),
    agency_code TEXT NOT NULL,
    document_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('document', 'status')),
    status_code TEXT,
    status_at BIGINT,
    description TEXT,
    outgoing_id BIGINT REFERENCES outgoing_documents (id),
    incoming_id BIGINT REFERENCES incoming_documents (id),
    package TEXT,
    state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'acknowledged', 'failed',
        'returned')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    acknowledged_at BIGINT,
    CHECK ((kind = 'status') = (status_code IS NOT NULL AND status_at IS NOT NULL)),
    CHECK (kind = 'status' OR package IS NOT NULL)
);
-- The worker reads what is still to deliver, oldest first.
CREATE INDEX interchange_outbox_pending ON interchange_outbox (state, id);
-- The sender marks a document package acknowledged when its recipient reports a status.
CREATE INDEX interchange_outbox_document ON interchange_outbox (document_id, agency_code);
