-- What a document package of the outbox does to its document (BussinessDocType: 0 new,
-- 1 revoke, 2 update, 3 replace). A recipient's status acknowledges the packages that
-- bring it a document (0 and 3), not a revoke or update of one it holds.
ALTER TABLE interchange_outbox ADD COLUMN business SMALLINT NOT NULL DEFAULT 0
    CHECK (business BETWEEN 0 AND 3);

-- The lease of the server instance delivering a package: several instances on one
-- database each take the packages no other holds, and those of an instance that stopped
-- holding them once its lease ran out.
ALTER TABLE interchange_outbox ADD COLUMN lease_holder TEXT;
ALTER TABLE interchange_outbox ADD COLUMN lease_until BIGINT;

-- A correction of a released document (`update`) in the sender's trace, and, at the
-- recipient, the update package that corrected its copy.
ALTER TABLE outgoing_events DROP CONSTRAINT outgoing_events_action_check;
ALTER TABLE outgoing_events ADD CONSTRAINT outgoing_events_action_check CHECK (action IN (
    'draft', 'record_paper', 'comment', 'revise', 'approve', 'return', 'sign', 'issue',
    'release', 'recall', 'recall_accepted', 'recall_refused', 'recipient_status', 'update'));
ALTER TABLE incoming_events DROP CONSTRAINT incoming_events_action_check;
ALTER TABLE incoming_events ADD CONSTRAINT incoming_events_action_check CHECK (action IN (
    'receive', 'register', 'return', 'assign', 'progress', 'forward', 'complete', 'update'));
