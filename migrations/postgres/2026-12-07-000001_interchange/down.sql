DELETE FROM outgoing_events WHERE action = 'recipient_status';
ALTER TABLE outgoing_events DROP CONSTRAINT outgoing_events_action_check;
ALTER TABLE outgoing_events ADD CONSTRAINT outgoing_events_action_check CHECK (action IN (
    'draft', 'record_paper', 'comment', 'revise', 'approve', 'return', 'sign', 'issue',
    'release', 'recall', 'recall_accepted', 'recall_refused'));
ALTER TABLE outgoing_recipients DROP COLUMN interchange_status_at;
ALTER TABLE outgoing_recipients DROP COLUMN interchange_status;
DROP INDEX incoming_documents_interchange_id;
ALTER TABLE incoming_documents DROP COLUMN interchange_id;
