ALTER TABLE incoming_documents DROP COLUMN source_outgoing_id;
DROP TABLE outgoing_prepared_signatures;
DROP TABLE outgoing_register_counters;
DROP TABLE outgoing_recipients;
DROP TABLE outgoing_events;
DROP TABLE outgoing_files;
DROP TABLE outgoing_documents;
