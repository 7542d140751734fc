-- Sign-in attempts are reserved before the password is checked, atomically (one upsert per
-- attempt), so concurrent attempts cannot all read "under the limit" and all reach the hash
-- as they could with chat_login_failures (counted before the hash, written after it). One
-- row per email and client address: the count within a fixed window that opens at the first
-- attempt. A successful sign-in deletes the row.
DROP TABLE chat_login_failures;

CREATE TABLE chat_login_attempts (
    key_hash        TEXT   NOT NULL PRIMARY KEY,
    window_start_ms BIGINT NOT NULL,
    attempts        BIGINT NOT NULL
);

-- When a session was last used: a session idle longer than the configured idle lifetime has
-- ended even before its absolute expiry (expires_at_ms). Existing sessions count as seen at
-- their creation.
ALTER TABLE chat_sessions ADD COLUMN last_seen_ms BIGINT NOT NULL DEFAULT 0;
UPDATE chat_sessions SET last_seen_ms = created_at_ms;

-- The ingest asks, for a webhook of a location that is not connected, whether an INSTALL for
-- it is pending (store::inbox webhooks_wanted): this keeps that one short range of an index.
CREATE INDEX inbox_installs ON inbox (location_id, received_at_ms) WHERE event_type = 'INSTALL';
