-- The earlier schema has no place for an extract: reverting drops the extracts recorded (their
-- files stay in the blob store, their audit entries in the log).
CREATE TABLE document_copies_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The copying unit, whose seal signs the copy.
    unit_id BIGINT NOT NULL REFERENCES units (id),
    -- What was copied: exactly one of the two.
    outgoing_id BIGINT REFERENCES outgoing_documents (id),
    incoming_id BIGINT REFERENCES incoming_documents (id),
    form TEXT NOT NULL CHECK (form IN ('sao_y', 'sao_luc')),
    -- The file the copy was made from, and the copy.
    source_sha256 TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    made_by BIGINT NOT NULL REFERENCES users (id),
    made_at BIGINT NOT NULL,
    CHECK ((outgoing_id IS NULL) <> (incoming_id IS NULL))
);
INSERT INTO document_copies_new (id, unit_id, outgoing_id, incoming_id, form, source_sha256, sha256, size, made_by, made_at)
    SELECT id, unit_id, outgoing_id, incoming_id, form, source_sha256, sha256, size, made_by, made_at FROM document_copies
    WHERE form <> 'trich_sao';
DROP TABLE document_copies;
ALTER TABLE document_copies_new RENAME TO document_copies;
CREATE INDEX document_copies_outgoing_id ON document_copies (outgoing_id);
CREATE INDEX document_copies_incoming_id ON document_copies (incoming_id);
