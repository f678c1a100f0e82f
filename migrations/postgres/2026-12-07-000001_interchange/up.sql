-- The interchange identifier (DocumentId, `OrganId,YYYY/MM/DD,number/notation`) of an
-- incoming document that arrived as an edXML package: a package delivered twice is one
-- document of the receiving unit.
ALTER TABLE incoming_documents ADD COLUMN interchange_id TEXT;
CREATE UNIQUE INDEX incoming_documents_interchange_id
    ON incoming_documents (unit_id, interchange_id);
