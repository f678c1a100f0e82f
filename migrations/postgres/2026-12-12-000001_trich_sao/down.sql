-- The earlier schema has no place for an extract: reverting drops the extracts recorded (their
-- files stay in the blob store, their audit entries in the log).
DELETE FROM document_copies WHERE form = 'trich_sao';
ALTER TABLE document_copies DROP CONSTRAINT document_copies_pages_check;
ALTER TABLE document_copies DROP COLUMN pages;
ALTER TABLE document_copies DROP CONSTRAINT document_copies_form_check;
ALTER TABLE document_copies ADD CONSTRAINT document_copies_form_check
    CHECK (form IN ('sao_y', 'sao_luc'));
