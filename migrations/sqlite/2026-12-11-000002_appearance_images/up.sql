-- Images drawn in visible signatures (Decree 30/2020 Appendix I, docs/outgoing.md): a leader's
-- signature and an organisation's seal, PNG with a transparent background, kept as blobs.
-- One image per leader and one per unit; a new upload replaces the row.
CREATE TABLE appearance_images (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Exactly one owner: the leader whose signature it is, or the unit whose seal it is.
    user_id BIGINT UNIQUE REFERENCES users (id),
    unit_id BIGINT UNIQUE REFERENCES units (id),
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    uploaded_by BIGINT NOT NULL REFERENCES users (id),
    uploaded_at BIGINT NOT NULL,
    CHECK ((user_id IS NULL) <> (unit_id IS NULL))
);
