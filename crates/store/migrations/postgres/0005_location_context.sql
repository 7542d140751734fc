-- PostgreSQL twin of sqlite/0005_location_context.sql (see there for the design).
-- What a HighLevel location's ids mean, read from HighLevel's Locations and Users APIs by the
-- sync engine (store::context): its profile (name, time zone, address), its users (what a
-- task's or contact's assignedTo and a note's userId point at) and its custom field
-- definitions (what the ids in a contact's customFields are). Drive Chat shows names, labels
-- and local times from these instead of ids and UTC. One row family per location, every key
-- starting with location_id, so each read is one range of an index.

-- One row per location once anything was saved. profile_saved_ms is NULL until a profile was
-- read (a token without locations.readonly never reads one). missing_scopes is a JSON array
-- of the scopes whose part could not be read.
CREATE TABLE location_context (
    location_id      TEXT    NOT NULL PRIMARY KEY,
    name             TEXT,
    timezone         TEXT,
    address          TEXT,
    profile_saved_ms BIGINT,
    missing_scopes   TEXT    NOT NULL DEFAULT '[]',
    refreshed_at_ms  BIGINT NOT NULL
);

-- The location's users, replaced as a whole on each refresh.
CREATE TABLE location_context_users (
    location_id TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    name        TEXT NOT NULL,
    first_name  TEXT,
    last_name   TEXT,
    email       TEXT,
    PRIMARY KEY (location_id, user_id)
);

-- The location's custom field definitions, replaced as a whole on each refresh, kept in
-- HighLevel's order (position). options is a JSON array of the picklist's labels.
CREATE TABLE location_context_fields (
    location_id TEXT    NOT NULL,
    field_id    TEXT    NOT NULL,
    position    BIGINT NOT NULL,
    name        TEXT    NOT NULL,
    field_key   TEXT,
    data_type   TEXT    NOT NULL,
    options     TEXT    NOT NULL,
    PRIMARY KEY (location_id, field_id)
);

-- A Drive Chat member's own time zone (an IANA name such as America/New_York), in which every
-- page shows times and forms read them; NULL means the workspace location's zone, then UTC.
ALTER TABLE chat_users ADD COLUMN timezone TEXT;
