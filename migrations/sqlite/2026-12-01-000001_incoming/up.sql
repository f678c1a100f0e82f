-- Incoming documents (văn bản đến): the documents, their file revisions, their trace, whom
-- they were assigned to, and the per-unit, per-year register counters that give arrival
-- numbers. Dates a clerk enters are 'YYYY-MM-DD' text; timestamps are unix milliseconds.

CREATE TABLE incoming_documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The receiving unit, whose register numbers the document.
    unit_id BIGINT NOT NULL REFERENCES units (id),
    state TEXT NOT NULL CHECK (state IN
        ('received', 'registered', 'assigned', 'in_progress', 'completed', 'returned')),
    issuing_body TEXT NOT NULL,
    number_notation TEXT NOT NULL,
    document_date TEXT NOT NULL,
    document_type TEXT NOT NULL,
    summary TEXT NOT NULL,
    -- Interchange Priority: 0 normal, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc, 4 hỏa tốc hẹn giờ.
    urgency INTEGER NOT NULL CHECK (urgency BETWEEN 0 AND 4),
    due_date TEXT,
    -- Number/notation, summary and issuing body folded (lower case, no diacritics, đ as d).
    search_text TEXT NOT NULL,
    verification TEXT NOT NULL CHECK (verification IN
        ('valid', 'untrusted', 'modified', 'invalid', 'unsigned')),
    -- The verifier's whole report, as JSON.
    verification_report TEXT NOT NULL,
    received_by BIGINT NOT NULL REFERENCES users (id),
    received_at BIGINT NOT NULL,
    -- Calendar year of receipt in Vietnam, for the year filter.
    received_year INTEGER NOT NULL,
    arrival_year INTEGER,
    arrival_number BIGINT,
    registered_at BIGINT,
    updated_at BIGINT NOT NULL,
    CHECK ((arrival_number IS NULL) = (arrival_year IS NULL)),
    CHECK ((arrival_number IS NULL) = (registered_at IS NULL)),
    -- A second guard behind the counter: one number, one document.
    UNIQUE (unit_id, arrival_year, arrival_number)
);
CREATE INDEX incoming_documents_unit_year ON incoming_documents (unit_id, received_year);

-- Every version of the document's PDF, by blob digest; revision 1 is the file received.
CREATE TABLE incoming_files (
    document_id BIGINT NOT NULL REFERENCES incoming_documents (id),
    revision INTEGER NOT NULL CHECK (revision > 0),
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    added_by BIGINT NOT NULL REFERENCES users (id),
    added_at BIGINT NOT NULL,
    PRIMARY KEY (document_id, revision)
);

-- The trace: who did what when, with the instruction, reason or note they gave.
CREATE TABLE incoming_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id BIGINT NOT NULL REFERENCES incoming_documents (id),
    action TEXT NOT NULL CHECK (action IN
        ('receive', 'register', 'return', 'assign', 'progress', 'forward', 'complete')),
    -- The state the action left the document in.
    state TEXT NOT NULL,
    actor_id BIGINT NOT NULL REFERENCES users (id),
    at BIGINT NOT NULL,
    note TEXT
);
CREATE INDEX incoming_events_document ON incoming_events (document_id, id);

-- Whom the document was handed to: position 0 is the lead, then the co-handlers in order.
CREATE TABLE incoming_assignees (
    document_id BIGINT NOT NULL REFERENCES incoming_documents (id),
    position INTEGER NOT NULL CHECK (position >= 0),
    user_id BIGINT REFERENCES users (id),
    unit_id BIGINT REFERENCES units (id),
    deadline TEXT NOT NULL,
    PRIMARY KEY (document_id, position),
    CHECK ((user_id IS NULL) <> (unit_id IS NULL))
);
CREATE INDEX incoming_assignees_user ON incoming_assignees (user_id);
CREATE INDEX incoming_assignees_unit ON incoming_assignees (unit_id);

-- The last arrival number given in each unit's register for each year.
CREATE TABLE incoming_register_counters (
    unit_id BIGINT NOT NULL REFERENCES units (id),
    year INTEGER NOT NULL,
    last_number BIGINT NOT NULL CHECK (last_number > 0),
    PRIMARY KEY (unit_id, year)
);
