-- PostgreSQL twin of sqlite/0009_team.sql (see there for the design).
-- Teams: invitations, and what a member is shown about their own sessions.
--
-- An invitation is a one-time link an admin hands to someone: only the SHA-256 of its token
-- is kept, so a copy of the database cannot be used to join. It is spent (used_at_ms) in the
-- same transaction that creates the membership, so a link works once even when opened twice
-- at the same moment; it can be revoked by an admin, and it expires.
-- role: admin | member | viewer (memberships take the same words).
CREATE TABLE chat_invites (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash    TEXT    NOT NULL UNIQUE,
    location_id   TEXT    NOT NULL REFERENCES chat_workspaces (location_id) ON DELETE CASCADE,
    email         TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    invited_by    BIGINT REFERENCES chat_users (id) ON DELETE SET NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    used_at_ms    BIGINT,
    revoked_at_ms BIGINT
);

CREATE INDEX chat_invites_by_workspace ON chat_invites (location_id, email);

-- Shown to the member on their sessions list, so they can tell a lost laptop from this one:
-- the address and browser it signed in from, and when it was last used (updated at most
-- once a minute).
ALTER TABLE chat_sessions ADD COLUMN client_address TEXT;
ALTER TABLE chat_sessions ADD COLUMN user_agent TEXT;
