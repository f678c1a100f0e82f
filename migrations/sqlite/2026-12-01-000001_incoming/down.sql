DROP TABLE incoming_register_counters;
DROP TABLE incoming_assignees;
DROP TABLE incoming_events;
DROP TABLE incoming_files;
DROP TABLE incoming_documents;
