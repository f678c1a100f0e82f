-- Trích sao (an extract, Decree 30/2020 Art. 25, docs/outgoing.md): a copy of some pages of
-- the document held, written as a new file and sealed by the copying unit. SQLite cannot
-- change a CHECK in place: the table is rebuilt with the new form and its `pages`, set for an
-- extract and only for one.
CREATE TABLE document_copies_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The copying unit, whose seal signs the copy.
    unit_id BIGINT NOT NULL REFERENCES units (id),
    -- What was copied: exactly one of the two.
    outgoing_id BIGINT REFERENCES outgoing_documents (id),
    incoming_id BIGINT REFERENCES incoming_documents (id),
    form TEXT NOT NULL CHECK (form IN ('sao_y', 'sao_luc', 'trich_sao')),
    -- The pages of an extract, as vanthu wrote the selection back (`1-2,4`).
    pages TEXT,
    -- The file the copy was made from, and the copy.
    source_sha256 TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    made_by BIGINT NOT NULL REFERENCES users (id),
    made_at BIGINT NOT NULL,
    CHECK ((outgoing_id IS NULL) <> (incoming_id IS NULL)),
    CHECK ((form = 'trich_sao') = (pages IS NOT NULL))
);
INSERT INTO document_copies_new (id, unit_id, outgoing_id, incoming_id, form, source_sha256, sha256, size, made_by, made_at)
    SELECT id, unit_id, outgoing_id, incoming_id, form, source_sha256, sha256, size, made_by, made_at FROM document_copies;
DROP TABLE document_copies;
ALTER TABLE document_copies_new RENAME TO document_copies;
CREATE INDEX document_copies_outgoing_id ON document_copies (outgoing_id);
CREATE INDEX document_copies_incoming_id ON document_copies (incoming_id);
