-- The audit trail: every write to HighLevel (who asked, what, when, HighLevel's answer) and
-- every admin action, one row each, never changed after it is written. `location_id` is NULL
-- for an action on the whole installation (a master key rotation). `detail` is JSON.
CREATE TABLE audit_log (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at_ms       INTEGER NOT NULL,
    actor_kind  TEXT    NOT NULL,   -- member | api_token | command_line | flow | system
    actor_id    TEXT,
    actor_name  TEXT    NOT NULL,
    kind        TEXT    NOT NULL,   -- e.g. highlevel.complete_task, api_token.create
    location_id TEXT,
    target      TEXT,
    detail      TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,   -- ok | refused | failed
    status      INTEGER,
    message     TEXT,
    trace_id    TEXT
) STRICT;

CREATE INDEX audit_by_location ON audit_log (location_id, id);
CREATE INDEX audit_by_time ON audit_log (at_ms);

-- Who queued a write-back, as the audit trail names them (requested_by is the display name).
ALTER TABLE outbox ADD COLUMN actor_kind TEXT;
ALTER TABLE outbox ADD COLUMN actor_id TEXT;

-- The dashboard's figures, one row per location and minute, written by whichever replica
-- holds the minute's `metrics_sampler` lease and pruned after the configured retention.
-- `refusals` is JSON: the location's webhook refusal totals by reason at that minute.
CREATE TABLE metric_samples (
    location_id      TEXT    NOT NULL,
    minute_ms        INTEGER NOT NULL,
    lag_ms           INTEGER,
    events           INTEGER NOT NULL,
    budget_remaining INTEGER,
    queue_pending    INTEGER NOT NULL,
    queue_running    INTEGER NOT NULL,
    dead_letters     INTEGER NOT NULL,
    refusals         TEXT    NOT NULL,
    PRIMARY KEY (location_id, minute_ms)
) STRICT;

CREATE INDEX metric_samples_by_minute ON metric_samples (minute_ms);
