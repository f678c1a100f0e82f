-- Units, users, sessions, files and certificates.
-- Timestamps are unix milliseconds (UTC) set by the application, so both backends store the
-- same values with the same precision.
-- AUTOINCREMENT keeps ids from being reused: unit paths embed them.

CREATE TABLE units (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id BIGINT REFERENCES units (id),
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('province', 'district', 'department', 'commune')),
    path TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX units_parent_id ON units (parent_id);
CREATE INDEX units_path ON units (path);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    unit_id BIGINT NOT NULL REFERENCES units (id),
    roles TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX users_unit_id ON users (unit_id);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_user_id ON sessions (user_id);

-- The same content uploaded by two units is one blob but two rows, so each unit keeps
-- access to what it uploaded.
CREATE TABLE files (
    sha256 TEXT NOT NULL,
    unit_id BIGINT NOT NULL REFERENCES units (id),
    size BIGINT NOT NULL,
    media_type TEXT NOT NULL,
    uploaded_by BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (sha256, unit_id)
);

CREATE TABLE certificates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_user_id BIGINT REFERENCES users (id),
    owner_unit_id BIGINT REFERENCES units (id),
    purpose TEXT NOT NULL CHECK (purpose IN ('personal', 'seal', 'tsa')),
    subject TEXT NOT NULL,
    serial TEXT NOT NULL,
    not_before BIGINT NOT NULL,
    not_after BIGINT NOT NULL,
    cert_pem TEXT NOT NULL,
    -- Encrypted PKCS#8; NULL when the key lives elsewhere (for example in an HSM).
    key_pkcs8_encrypted BLOB,
    created_at BIGINT NOT NULL,
    CHECK (owner_user_id IS NULL OR owner_unit_id IS NULL)
);
CREATE INDEX certificates_owner_user_id ON certificates (owner_user_id);
CREATE INDEX certificates_owner_unit_id ON certificates (owner_unit_id);
