DROP INDEX incoming_documents_interchange_id;
ALTER TABLE incoming_documents DROP COLUMN interchange_id;
