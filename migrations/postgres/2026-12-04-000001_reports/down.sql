DROP TABLE report_counts;
ALTER TABLE incoming_documents DROP COLUMN completed_at;
ALTER TABLE incoming_documents DROP COLUMN medium;
