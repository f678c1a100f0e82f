DELETE FROM incoming_events WHERE action = 'update';
ALTER TABLE incoming_events DROP CONSTRAINT incoming_events_action_check;
ALTER TABLE incoming_events ADD CONSTRAINT incoming_events_action_check CHECK (action IN (
    'receive', 'register', 'return', 'assign', 'progress', 'forward', 'complete'));
DELETE FROM outgoing_events WHERE action = 'update';
ALTER TABLE outgoing_events DROP CONSTRAINT outgoing_events_action_check;
ALTER TABLE outgoing_events ADD CONSTRAINT outgoing_events_action_check CHECK (action IN (
    'draft', 'record_paper', 'comment', 'revise', 'approve', 'return', 'sign', 'issue',
    'release', 'recall', 'recall_accepted', 'recall_refused', 'recipient_status'));
ALTER TABLE interchange_outbox DROP COLUMN lease_until;
ALTER TABLE interchange_outbox DROP COLUMN lease_holder;
ALTER TABLE interchange_outbox DROP COLUMN business;
