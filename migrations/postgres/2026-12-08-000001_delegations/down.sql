ALTER TABLE outgoing_events DROP COLUMN on_behalf_of;
ALTER TABLE incoming_events DROP COLUMN on_behalf_of;
DROP TABLE delegations;
