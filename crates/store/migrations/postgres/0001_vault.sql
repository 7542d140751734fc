-- The token vault. Token and secret columns hold vault ciphertexts
-- (v1:<key_id>:<nonce>:<ciphertext>), never plaintext. Enumerations (auth_kind, state) are
-- checked by the code rather than by CHECK constraints, to match the SQLite schema.
CREATE TABLE locations (
    location_id       TEXT   NOT NULL PRIMARY KEY,
    company_id        TEXT,
    name              TEXT,
    auth_kind         TEXT   NOT NULL,
    user_type         TEXT   NOT NULL,
    scopes            TEXT   NOT NULL,   -- JSON array of strings
    access_token_enc  TEXT   NOT NULL,
    refresh_token_enc TEXT,
    expires_at_ms     BIGINT,
    state             TEXT   NOT NULL DEFAULT 'ok',
    token_version     BIGINT NOT NULL DEFAULT 1,
    lease_owner       TEXT,              -- refresh lease: who holds it ...
    lease_until_ms    BIGINT,            -- ... and until when (Unix ms)
    created_at_ms     BIGINT NOT NULL,
    updated_at_ms     BIGINT NOT NULL
);

CREATE TABLE secrets (
    name          TEXT   NOT NULL PRIMARY KEY,
    value_enc     TEXT   NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
