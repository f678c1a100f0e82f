-- Trích sao (an extract, Decree 30/2020 Art. 25, docs/outgoing.md): a copy of some pages of
-- the document held, written as a new file and sealed by the copying unit. `pages` is the
-- selection as vanthu wrote it back (`1-2,4`), set for an extract and only for one.
ALTER TABLE document_copies DROP CONSTRAINT document_copies_form_check;
ALTER TABLE document_copies ADD CONSTRAINT document_copies_form_check
    CHECK (form IN ('sao_y', 'sao_luc', 'trich_sao'));
ALTER TABLE document_copies ADD COLUMN pages TEXT;
ALTER TABLE document_copies ADD CONSTRAINT document_copies_pages_check
    CHECK ((form = 'trich_sao') = (pages IS NOT NULL));
