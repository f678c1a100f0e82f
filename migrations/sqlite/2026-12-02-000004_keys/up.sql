-- Private keys at rest (docs/signing.md). Key material leaves the certificates table: a
-- certificate is public, its key lives in signing_keys, sealed with AES-256-GCM under a key
-- derived from the owner's signing PIN (personal keys) or under the installation's
-- key-encryption key (seal keys). The PIN itself is never stored.

ALTER TABLE certificates DROP COLUMN key_pkcs8_encrypted;
-- Issuer certificates (PEM, from the signer's issuer upwards) to embed beside the signer's.
ALTER TABLE certificates ADD COLUMN chain_pem TEXT NOT NULL DEFAULT '';

CREATE TABLE signing_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    certificate_id BIGINT NOT NULL UNIQUE REFERENCES certificates (id),
    -- One key per person and one per organisation; enrolling again replaces the row.
    owner_user_id BIGINT UNIQUE REFERENCES users (id),
    owner_unit_id BIGINT UNIQUE REFERENCES units (id),
    wrap TEXT NOT NULL CHECK (wrap IN ('pin', 'kek')),
    -- Argon2id parameters and salt of a PIN-wrapped key, e.g. argon2id$v=19$m=65536,t=3,p=1.
    kdf TEXT,
    salt BLOB,
    nonce BLOB NOT NULL,
    -- The PKCS#8 DER sealed with its 16-byte tag appended; the associated data binds the
    -- owner and the certificate's SHA-256.
    ciphertext BLOB NOT NULL,
    -- Consecutive wrong PINs, counted before the PIN is checked so parallel tries all count.
    failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    -- Set at the fifth wrong PIN; signing with the key stays refused until it is enrolled
    -- again.
    blocked_at BIGINT,
    pin_changed_at BIGINT,
    created_at BIGINT NOT NULL,
    CHECK (owner_user_id IS NULL OR owner_unit_id IS NULL),
    CHECK ((wrap = 'pin') = (kdf IS NOT NULL AND salt IS NOT NULL)),
    CHECK (wrap = 'kek' OR owner_user_id IS NOT NULL)
);

-- A PIN unlocks a key for a few minutes and a bounded number of signatures. The key is
-- sealed again under a secret only the client holds (in its session token), so the row alone
-- opens nothing.
CREATE TABLE signing_sessions (
    -- The token's public part, 32 hex digits.
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    signing_key_id BIGINT NOT NULL REFERENCES signing_keys (id) ON DELETE CASCADE,
    nonce BLOB NOT NULL,
    sealed_key BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    signatures_left INTEGER NOT NULL CHECK (signatures_left >= 0)
);
CREATE INDEX signing_sessions_user_id ON signing_sessions (user_id);
CREATE INDEX signing_sessions_signing_key_id ON signing_sessions (signing_key_id);
