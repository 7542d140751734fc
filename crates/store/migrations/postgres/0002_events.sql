-- The sync engine's event log (inbox) and job queue; see the SQLite migration of the same
-- number for the design. Identities are never reused, so a stale worker's id can never name
-- a newer job. seq comes from job_seq, drawn while holding the ordering key's advisory lock,
-- so within one key seq order is also commit order.
CREATE TABLE inbox (
    event_id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id     TEXT   NOT NULL UNIQUE,
    location_id    TEXT   NOT NULL,
    event_type     TEXT   NOT NULL,
    ordering_key   TEXT   NOT NULL,
    body           BYTEA  NOT NULL,
    received_at_ms BIGINT NOT NULL,
    stored_at_ms   BIGINT NOT NULL
);

CREATE INDEX inbox_by_received ON inbox (received_at_ms);

CREATE SEQUENCE job_seq;

CREATE TABLE jobs (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seq            BIGINT  NOT NULL UNIQUE,
    kind           TEXT    NOT NULL,
    location_id    TEXT    NOT NULL,
    ordering_key   TEXT    NOT NULL,
    event_id       BIGINT  REFERENCES inbox (event_id),
    payload        TEXT    NOT NULL,   -- JSON
    state          TEXT    NOT NULL,   -- pending | running | dead
    run_at_ms      BIGINT  NOT NULL,   -- not claimed before this (backoff)
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    lease_owner    TEXT,               -- the worker running it ...
    lease_until_ms BIGINT,             -- ... and until when (Unix ms)
    created_at_ms  BIGINT  NOT NULL,
    updated_at_ms  BIGINT  NOT NULL
);

CREATE INDEX jobs_by_state ON jobs (state, seq);
CREATE INDEX jobs_by_key ON jobs (ordering_key, state, seq);
CREATE INDEX jobs_by_lease ON jobs (state, lease_until_ms);
CREATE INDEX jobs_by_location ON jobs (location_id, state);
CREATE INDEX jobs_by_event ON jobs (event_id);
