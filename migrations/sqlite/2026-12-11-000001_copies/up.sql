-- Electronic copies (bản sao điện tử, Decree 30/2020 Art. 25-26, docs/outgoing.md): a file
-- the copying unit holds (an outgoing document it issued, or an incoming one it received)
-- with the organisation's no-image seal signature over it. The copy is its own blob; the
-- source's file stays as it was. Rows are never deleted.
CREATE TABLE document_copies (
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
CREATE INDEX document_copies_outgoing_id ON document_copies (outgoing_id);
CREATE INDEX document_copies_incoming_id ON document_copies (incoming_id);
