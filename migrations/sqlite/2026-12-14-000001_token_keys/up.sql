-- Leaders' keys held in their own PKCS#11 token on the server (docs/signing.md): the token
-- is labelled with the leader's username and its user PIN is their signing PIN, given for
-- every signature and never kept. The row records the certificate found on the token (read
-- without a login) and counts wrong PINs before the token sees them, as signing_keys does,
-- so five in a row block signing with it. A new certificate on the token makes a new row;
-- the earlier rows stay, replaced, for the inventory and the signatures made with them.
CREATE TABLE token_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    certificate_id BIGINT NOT NULL UNIQUE REFERENCES certificates (id),
    owner_user_id BIGINT NOT NULL REFERENCES users (id),
    -- The token's label and the label of the key and certificate objects on it.
    token_label TEXT NOT NULL,
    key_label TEXT NOT NULL,
    -- Consecutive wrong PINs, counted before the token is asked so parallel tries all count.
    failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    blocked_at BIGINT,
    created_at BIGINT NOT NULL,
    -- Set when another certificate appeared on the token.
    replaced_at BIGINT
);
-- One key in use per person.
CREATE UNIQUE INDEX token_keys_current ON token_keys (owner_user_id) WHERE replaced_at IS NULL;
