-- The interchange identifier (DocumentId, `OrganId,YYYY/MM/DD,number/notation`) of an
-- incoming document that arrived as an edXML package: a package delivered twice is one
-- document of the receiving unit.
ALTER TABLE incoming_documents ADD COLUMN interchange_id TEXT;
CREATE UNIQUE INDEX incoming_documents_interchange_id
    ON incoming_documents (unit_id, interchange_id);

-- The latest status an agency elsewhere reported for its copy of an outgoing document
-- (StatusCode 01-16) and the time its status package gives; a later package replaces it,
-- an earlier or repeated one does not.
ALTER TABLE outgoing_recipients ADD COLUMN interchange_status TEXT;
ALTER TABLE outgoing_recipients ADD COLUMN interchange_status_at BIGINT;

-- The sender's trace records each reported status (action `recipient_status`).
ALTER TABLE outgoing_events DROP CONSTRAINT outgoing_events_action_check;
ALTER TABLE outgoing_events ADD CONSTRAINT outgoing_events_action_check CHECK (action IN (
    'draft', 'record_paper', 'comment', 'revise', 'approve', 'return', 'sign', 'issue',
    'release', 'recall', 'recall_accepted', 'recall_refused', 'recipient_status'));
