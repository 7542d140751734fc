-- The sync engine's event log (inbox) and job queue.
--
-- inbox: every webhook accepted, stored before drivesync answers 2xx. webhook_id is UNIQUE,
-- so a webhook HighLevel re-sends is recognised and not applied twice; rows are pruned once
-- older than the replay window and no job needs them. body holds the bytes as received.
--
-- jobs: pending -> running (leased to a worker until lease_until_ms) -> deleted when done,
-- or back to pending (retry at run_at_ms) or to dead (dead letters, kept until replayed or
-- dropped). Jobs sharing an ordering_key run one at a time in seq order: seq is the place in
-- line, equal to insertion order except that a replayed dead letter goes to the back.
-- States are checked by the code rather than by CHECK constraints, as in 0001.
CREATE TABLE inbox (
    event_id       INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    webhook_id     TEXT    NOT NULL UNIQUE,
    location_id    TEXT    NOT NULL,
    event_type     TEXT    NOT NULL,
    ordering_key   TEXT    NOT NULL,
    body           BLOB    NOT NULL,
    received_at_ms INTEGER NOT NULL,
    stored_at_ms   INTEGER NOT NULL
) STRICT;

CREATE INDEX inbox_by_received ON inbox (received_at_ms);

-- AUTOINCREMENT: ids are never reused, so a stale worker's id can never name a newer job.
CREATE TABLE jobs (
    id             INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    seq            INTEGER NOT NULL UNIQUE,
    kind           TEXT    NOT NULL,
    location_id    TEXT    NOT NULL,
    ordering_key   TEXT    NOT NULL,
    event_id       INTEGER REFERENCES inbox (event_id),
    payload        TEXT    NOT NULL,   -- JSON
    state          TEXT    NOT NULL,   -- pending | running | dead
    run_at_ms      INTEGER NOT NULL,   -- not claimed before this (backoff)
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    lease_owner    TEXT,               -- the worker running it ...
    lease_until_ms INTEGER,            -- ... and until when (Unix ms)
    created_at_ms  INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL
) STRICT;

-- The claim scans pending jobs in line order and probes each one's key for a running job or
-- an earlier pending one; counts by state use the first index too.
CREATE INDEX jobs_by_state ON jobs (state, seq);
CREATE INDEX jobs_by_key ON jobs (ordering_key, state, seq);
CREATE INDEX jobs_by_lease ON jobs (state, lease_until_ms);
CREATE INDEX jobs_by_location ON jobs (location_id, state);
CREATE INDEX jobs_by_event ON jobs (event_id);
