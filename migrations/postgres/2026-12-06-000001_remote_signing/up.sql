-- Remote signing through the CSC API (docs/signing.md). A leader approves each batch of
-- hashes with their signing PIN and a one-time code from an authenticator app.

-- The authenticator app's TOTP secret (RFC 6238), sealed under the key-encryption key and
-- bound to the signing key it approves: enrolling the key again removes it.
CREATE TABLE totp_authenticators (
    user_id BIGINT PRIMARY KEY REFERENCES users (id),
    signing_key_id BIGINT NOT NULL UNIQUE REFERENCES signing_keys (id) ON DELETE CASCADE,
    nonce BYTEA NOT NULL,
    ciphertext BYTEA NOT NULL,
    -- The last time step (unix seconds / 30) whose code was accepted: a code of that step or
    -- an earlier one is refused, so no code is used twice.
    last_step BIGINT,
    created_at BIGINT NOT NULL
);

-- Signature activation data (SAD) issued by credentials/authorize: the key unlocked by the
-- PIN, sealed again under a secret only the SAD holds, good for the hashes named and for a
-- short time.
CREATE TABLE csc_authorizations (
    -- The SAD's public part, 32 hex digits.
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    signing_key_id BIGINT NOT NULL REFERENCES signing_keys (id) ON DELETE CASCADE,
    nonce BYTEA NOT NULL,
    sealed_key BYTEA NOT NULL,
    -- The hashes not signed yet, base64, one per line; each is signed once.
    hashes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX csc_authorizations_user_id ON csc_authorizations (user_id);
CREATE INDEX csc_authorizations_signing_key_id ON csc_authorizations (signing_key_id);
