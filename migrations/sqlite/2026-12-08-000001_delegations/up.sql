-- Delegation (ủy quyền, docs/delegation.md): a leader lets a deputy of the same unit assign
-- incoming documents and/or sign outgoing ones in their stead, from one Vietnam calendar day
-- to another (inclusive), until revoked. Rows are never deleted: a revoked delegation stays
-- as the record of what the deputy could do when.
CREATE TABLE delegations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    principal_id BIGINT NOT NULL REFERENCES users (id),
    deputy_id BIGINT NOT NULL REFERENCES users (id),
    unit_id BIGINT NOT NULL REFERENCES units (id),
    may_assign BOOLEAN NOT NULL,
    may_sign BOOLEAN NOT NULL,
    -- YYYY-MM-DD, compared as text.
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    note TEXT,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_by BIGINT REFERENCES users (id),
    CHECK (principal_id <> deputy_id),
    CHECK (may_assign OR may_sign),
    CHECK (starts_on <= ends_on),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX delegations_deputy_id ON delegations (deputy_id);
CREATE INDEX delegations_principal_id ON delegations (principal_id);

-- The leader a trace line's actor stood in for, when they acted under a delegation.
ALTER TABLE incoming_events ADD COLUMN on_behalf_of BIGINT REFERENCES users (id);
ALTER TABLE outgoing_events ADD COLUMN on_behalf_of BIGINT REFERENCES users (id);
