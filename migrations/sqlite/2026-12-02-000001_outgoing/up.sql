-- Outgoing documents (văn bản đi): the documents, their file revisions (draft, signed,
-- issued), their trace, their recipients, the per-unit, per-year, per-series register
-- counters that give their numbers, and signatures prepared for an external key. Dates a
-- user enters are 'YYYY-MM-DD' text; timestamps are unix milliseconds.

CREATE TABLE outgoing_documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The issuing unit, whose register numbers the document.
    unit_id BIGINT NOT NULL REFERENCES units (id),
    state TEXT NOT NULL CHECK (state IN
        ('draft', 'returned', 'approved', 'signed', 'issued', 'released', 'recalled')),
    -- 'paper' documents are recorded as issued, numbered from the same series, unsigned here.
    medium TEXT NOT NULL CHECK (medium IN ('electronic', 'paper')),
    document_type TEXT NOT NULL,
    summary TEXT NOT NULL,
    -- Interchange Priority: 0 normal, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc, 4 hỏa tốc hẹn giờ.
    urgency INTEGER NOT NULL CHECK (urgency BETWEEN 0 AND 4),
    confidentiality TEXT NOT NULL CHECK (confidentiality IN
        ('normal', 'mat', 'toi_mat', 'tuyet_mat')),
    notation TEXT NOT NULL,
    signer_id BIGINT NOT NULL REFERENCES users (id),
    signer_position TEXT NOT NULL,
    authority TEXT NOT NULL CHECK (authority IN ('own', 'tm', 'kt', 'tl', 'tuq', 'q')),
    due_date TEXT,
    -- Number/notation (once issued), notation and summary folded for search.
    search_text TEXT NOT NULL,
    drafted_by BIGINT NOT NULL REFERENCES users (id),
    drafted_at BIGINT NOT NULL,
    -- Calendar year of the draft in Vietnam, for the year filter before numbering.
    drafted_year INTEGER NOT NULL,
    -- How it was signed: 'server_key' (PIN-protected key held here) or 'external' (a token
    -- through prepare/complete); NULL until signed and for paper.
    signature TEXT CHECK (signature IN ('server_key', 'external')),
    signed_at BIGINT,
    register_year INTEGER,
    series TEXT CHECK (series IN ('regular', 'secret')),
    number BIGINT,
    number_notation TEXT,
    issued_date TEXT,
    issued_at BIGINT,
    issued_by BIGINT REFERENCES users (id),
    document_identifier TEXT,
    released_at BIGINT,
    updated_at BIGINT NOT NULL,
    CHECK ((number IS NULL) = (register_year IS NULL)),
    CHECK ((number IS NULL) = (number_notation IS NULL)),
    CHECK ((number IS NULL) = (issued_at IS NULL)),
    UNIQUE (unit_id, register_year, series, number),
    -- Decree 30 Art. 15: a number and notation are the issuing body's once a year.
    UNIQUE (unit_id, register_year, number_notation)
);
CREATE INDEX outgoing_documents_unit_state ON outgoing_documents (unit_id, state);

CREATE TABLE outgoing_files (
    document_id BIGINT NOT NULL REFERENCES outgoing_documents (id),
    revision INTEGER NOT NULL CHECK (revision > 0),
    -- What the revision is: a 'draft' upload, the 'signed' file, the 'issued' (numbered and
    -- sealed) file.
    kind TEXT NOT NULL CHECK (kind IN ('draft', 'signed', 'issued')),
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    added_by BIGINT NOT NULL REFERENCES users (id),
    added_at BIGINT NOT NULL,
    PRIMARY KEY (document_id, revision)
);

CREATE TABLE outgoing_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id BIGINT NOT NULL REFERENCES outgoing_documents (id),
    action TEXT NOT NULL CHECK (action IN ('draft', 'record_paper', 'comment', 'revise',
        'approve', 'return', 'sign', 'issue', 'release', 'recall', 'recall_accepted',
        'recall_refused')),
    state TEXT NOT NULL,
    actor_id BIGINT NOT NULL REFERENCES users (id),
    at BIGINT NOT NULL,
    note TEXT
);
CREATE INDEX outgoing_events_document ON outgoing_events (document_id, id);

-- Position 0.. in the order the drafter named them: a unit here, or an agency elsewhere.
-- incoming_id is the copy in the recipient unit's incoming queue, once released.
CREATE TABLE outgoing_recipients (
    document_id BIGINT NOT NULL REFERENCES outgoing_documents (id),
    position INTEGER NOT NULL CHECK (position >= 0),
    unit_id BIGINT REFERENCES units (id),
    name TEXT,
    agency_code TEXT,
    incoming_id BIGINT REFERENCES incoming_documents (id),
    PRIMARY KEY (document_id, position),
    CHECK ((unit_id IS NULL) = (agency_code IS NOT NULL)),
    CHECK ((name IS NULL) = (agency_code IS NULL))
);

CREATE TABLE outgoing_register_counters (
    unit_id BIGINT NOT NULL REFERENCES units (id),
    year INTEGER NOT NULL,
    series TEXT NOT NULL CHECK (series IN ('regular', 'secret')),
    last_number BIGINT NOT NULL CHECK (last_number > 0),
    PRIMARY KEY (unit_id, year, series)
);

-- A signature prepared for an external key: the file with its placeholder (a blob), the
-- signed attributes the token must sign, and until when the completion is accepted. One per
-- document; a new prepare replaces it, a completion consumes it.
CREATE TABLE outgoing_prepared_signatures (
    document_id BIGINT PRIMARY KEY REFERENCES outgoing_documents (id),
    -- The revision the signature was prepared over; a revision added since voids it.
    base_revision INTEGER NOT NULL,
    prepared_sha256 TEXT NOT NULL,
    prepared_size BIGINT NOT NULL,
    certificate BLOB NOT NULL,
    signed_attributes BLOB NOT NULL,
    digest_algorithm TEXT NOT NULL,
    signature_algorithm TEXT NOT NULL,
    prepared_by BIGINT NOT NULL REFERENCES users (id),
    expires_at BIGINT NOT NULL
);

-- An incoming document that arrived by release from a unit of this installation, and the
-- recall of it by its sender: 'requested' freezes it, 'accepted' withdraws it (kept,
-- marked), 'refused' leaves it with the recipient.
ALTER TABLE incoming_documents ADD COLUMN source_outgoing_id BIGINT REFERENCES outgoing_documents (id);
ALTER TABLE incoming_documents ADD COLUMN recall TEXT CHECK (recall IN ('requested', 'accepted', 'refused'));
ALTER TABLE incoming_documents ADD COLUMN recall_reason TEXT;
ALTER TABLE incoming_documents ADD COLUMN recalled_at BIGINT;
ALTER TABLE incoming_documents ADD COLUMN recall_answered_by BIGINT REFERENCES users (id);
ALTER TABLE incoming_documents ADD COLUMN recall_answered_at BIGINT;
-- The outgoing document that answered it, linked by the lead on completing.
ALTER TABLE incoming_documents ADD COLUMN reply_outgoing_id BIGINT REFERENCES outgoing_documents (id);
