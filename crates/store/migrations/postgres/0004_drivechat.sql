-- PostgreSQL twin of sqlite/0004_drivechat.sql (see there for the design).
-- Drive Chat's own data: workspaces (one per connected HighLevel location), the people who
-- sign in, what they may see, their sessions and API tokens, and the messages they post.
-- Every row that belongs to a workspace carries its location_id, and every query filters
-- on it: data never crosses workspaces.

CREATE TABLE chat_workspaces (
    location_id   TEXT    NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL,
    created_at_ms BIGINT NOT NULL
);

-- email is stored lower-cased and trimmed, so sign-in is case-insensitive.
-- password_hash is an argon2id PHC string; the password itself is never stored.
CREATE TABLE chat_users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at_ms BIGINT NOT NULL
);

-- role: admin | member
CREATE TABLE chat_memberships (
    user_id       BIGINT NOT NULL REFERENCES chat_users (id) ON DELETE CASCADE,
    location_id   TEXT    NOT NULL REFERENCES chat_workspaces (location_id) ON DELETE CASCADE,
    role          TEXT    NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, location_id)
);

CREATE INDEX chat_memberships_by_workspace ON chat_memberships (location_id);

-- token_hash is the hex SHA-256 of the session cookie's value: a copy of the database does
-- not let anyone sign in.
CREATE TABLE chat_sessions (
    token_hash    TEXT    NOT NULL PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES chat_users (id) ON DELETE CASCADE,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);

CREATE INDEX chat_sessions_by_user ON chat_sessions (user_id);

-- One member's token for one workspace; only its SHA-256 is kept (it is shown once).
-- Removing the membership removes its tokens.
CREATE TABLE chat_api_tokens (
    token_hash    TEXT    NOT NULL PRIMARY KEY,
    user_id       BIGINT NOT NULL,
    location_id   TEXT    NOT NULL,
    label         TEXT    NOT NULL,
    created_at_ms BIGINT NOT NULL,
    last_used_ms  BIGINT,
    FOREIGN KEY (user_id, location_id)
        REFERENCES chat_memberships (user_id, location_id) ON DELETE CASCADE
);

-- Messages people post. channel: general | alerts | contact (then contact_id says whose
-- thread). author_name is copied so a message outlives its author's account.
-- idempotency_key makes a double submit of one form one message.
CREATE TABLE chat_messages (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    location_id     TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    contact_id      TEXT,
    author_id       BIGINT REFERENCES chat_users (id) ON DELETE SET NULL,
    author_name     TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    idempotency_key TEXT    UNIQUE,
    at_ms           BIGINT NOT NULL
);

CREATE INDEX chat_messages_by_channel ON chat_messages (location_id, channel, contact_id, id);

-- Failed sign-ins, keyed by a hash of (email, client address), for rate limiting. Kept in
-- the database so every replica on one PostgreSQL counts the same attempts.
CREATE TABLE chat_login_failures (
    key_hash TEXT    NOT NULL,
    at_ms    BIGINT NOT NULL
);

CREATE INDEX chat_login_failures_by_key ON chat_login_failures (key_hash, at_ms);

-- The task board (store::chat::board) lists a location's live tasks ordered by due date
-- (undated last) or title, then id, optionally of one status or assignee. Each index holds
-- one of those orders, so a page of the board is one short range of an index however many
-- tasks there are, instead of a sort of all of them. The expressions must match the board
-- query's exactly for the database to use them.
CREATE INDEX records_board_due ON records
    (location_id, (COALESCE(due_ms, 9007199254740991)), record_id)
    WHERE kind = 'task' AND deleted_at_ms IS NULL;
CREATE INDEX records_board_status_due ON records
    (location_id, status, (COALESCE(due_ms, 9007199254740991)), record_id)
    WHERE kind = 'task' AND deleted_at_ms IS NULL;
CREATE INDEX records_board_assignee_due ON records
    (location_id, assignee, status, (COALESCE(due_ms, 9007199254740991)), record_id)
    WHERE kind = 'task' AND deleted_at_ms IS NULL;
CREATE INDEX records_board_title ON records
    (location_id, (COALESCE(LOWER(title), '')), record_id)
    WHERE kind = 'task' AND deleted_at_ms IS NULL;
CREATE INDEX records_board_status_title ON records
    (location_id, status, (COALESCE(LOWER(title), '')), record_id)
    WHERE kind = 'task' AND deleted_at_ms IS NULL;
