-- PostgreSQL twin of sqlite/0003_mirror.sql (see there for the design).
-- The Drive Chat store: HighLevel's records as last seen, the changes drivesync applied
-- (the feed), the poller's and backfill's progress, and the write-back outbox.
--
-- records: one row per HighLevel record, keyed (location_id, kind, record_id). kind is
-- contact | task | note | appointment | appointment_note. The columns the UI filters and
-- sorts on are pulled out of `data` (the record as HighLevel returned it, JSON):
--   title     contact: full name; task: title; appointment: title; notes: NULL
--   body      task and note bodies
--   assignee  contact assignedTo, task assignedTo, appointment assignedUserId
--   status    task: open | done; appointment: its appointmentStatus
--   due_ms    task due date; appointment start; notes: dateAdded
--   parent_id the appointment an appointment note belongs to
-- version_ms orders states of one record: HighLevel's dateUpdated, or the webhook's
-- timestamp when the payload has none. A state older than the stored one is not written.
-- deleted_at_ms marks a tombstone; HighLevel never reuses or restores an id, so a tombstone
-- is final and a late update of a deleted record is ignored.
CREATE TABLE records (
    location_id   TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    record_id     TEXT    NOT NULL,
    contact_id    TEXT,
    parent_id     TEXT,
    title         TEXT,
    body          TEXT,
    assignee      TEXT,
    status        TEXT,
    due_ms        BIGINT,
    search        TEXT    NOT NULL DEFAULT '',  -- lower-cased text the search box matches
    data          TEXT    NOT NULL,             -- JSON
    added_ms      BIGINT,
    version_ms    BIGINT NOT NULL,
    deleted_at_ms BIGINT,
    synced_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (location_id, kind, record_id)
);

CREATE INDEX records_board ON records (location_id, kind, status, due_ms);
CREATE INDEX records_by_assignee ON records (location_id, kind, assignee, due_ms);
CREATE INDEX records_by_contact ON records (location_id, contact_id, kind);
CREATE INDEX records_by_parent ON records (location_id, parent_id);
CREATE INDEX records_by_title ON records (location_id, kind, title);

-- A contact's tags, one row each, for filtering contacts by tag.
CREATE TABLE record_tags (
    location_id TEXT NOT NULL,
    contact_id  TEXT NOT NULL,
    tag         TEXT NOT NULL,
    PRIMARY KEY (location_id, contact_id, tag)
);

CREATE INDEX record_tags_by_tag ON record_tags (location_id, tag);

-- Every change applied to `records`, in order: the live feed and the contact threads read
-- it. action: created | updated | deleted | completed | reopened | tagged | untagged.
-- origin: webhook | poll | reconcile | backfill | writeback. detail: JSON (tags, fields).
CREATE TABLE changes (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    location_id TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    record_id   TEXT    NOT NULL,
    contact_id  TEXT,
    action      TEXT    NOT NULL,
    summary     TEXT    NOT NULL,
    detail      TEXT    NOT NULL DEFAULT '{}',
    origin      TEXT    NOT NULL,
    actor       TEXT,
    at_ms       BIGINT NOT NULL
);

CREATE INDEX changes_by_location ON changes (location_id, id);
CREATE INDEX changes_by_contact ON changes (location_id, contact_id, id);

-- Per location: the poller's cursor and schedule, and what the status command shows.
CREATE TABLE sync_state (
    location_id           TEXT    NOT NULL PRIMARY KEY,
    poll_cursor_ms        BIGINT,           -- contacts updated after this are fetched next
    poll_interval_ms      BIGINT NOT NULL,
    reconcile_interval_ms BIGINT NOT NULL,
    last_poll_ms          BIGINT,
    last_reconcile_ms     BIGINT,
    last_event_ms         BIGINT,           -- when the last webhook was applied
    last_event_lag_ms     BIGINT,           -- its webhook timestamp to applied
    unknown_events        BIGINT NOT NULL DEFAULT 0,
    last_error            TEXT,
    updated_at_ms         BIGINT NOT NULL
);

-- Backfill checkpoints: one row per location and phase (contacts, tasks, ...). cursor is the
-- phase's resume point (JSON); done = 1 once the phase finished.
CREATE TABLE backfill_state (
    location_id   TEXT    NOT NULL,
    phase         TEXT    NOT NULL,
    cursor        TEXT,
    items         BIGINT NOT NULL DEFAULT 0,
    done          BIGINT NOT NULL DEFAULT 0,
    started_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (location_id, phase)
);

-- Write-back: commands from Drive Chat to HighLevel. state: pending (queued) -> done
-- (HighLevel confirmed; result holds its answer) | failed (refused or gave up; error says
-- why). Each command is run by a `write_back` job queued in the same transaction.
-- idempotency_key is the caller's (a form token), so a double submit is one command.
CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    location_id     TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    contact_id      TEXT,
    record_id       TEXT,
    command         TEXT    NOT NULL,   -- JSON
    state           TEXT    NOT NULL,
    result          TEXT,               -- JSON
    error           TEXT,
    requested_by    TEXT,
    idempotency_key TEXT    UNIQUE,
    created_at_ms   BIGINT NOT NULL,
    updated_at_ms   BIGINT NOT NULL
);

CREATE INDEX outbox_by_state ON outbox (location_id, state, id);
CREATE INDEX outbox_by_record ON outbox (location_id, record_id);
