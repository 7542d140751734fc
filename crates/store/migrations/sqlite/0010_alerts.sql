-- Alerts (#15): at most one open per rule and scope (a location id, or '' for the whole
-- installation). The row is the alert: opened when a rule fires, its notifications counted
-- and timed so a lasting fault is re-notified at most every N minutes, deleted on recovery
-- (the #alerts channel keeps the history).
CREATE TABLE alerts (
    rule          TEXT    NOT NULL,
    scope         TEXT    NOT NULL,
    opened_ms     INTEGER NOT NULL,
    notified_ms   INTEGER NOT NULL,
    notifications INTEGER NOT NULL,
    summary       TEXT    NOT NULL,
    PRIMARY KEY (rule, scope)
);

-- Named leases: work that one replica of several sharing the database does at a time (the
-- alert evaluation), taken with one conditional write like the locations' refresh lease.
CREATE TABLE leases (
    name      TEXT    NOT NULL PRIMARY KEY,
    owner     TEXT    NOT NULL,
    until_ms  INTEGER NOT NULL
);

-- What HighLevel's answers said of each location's request budget, as the serving processes
-- saw it (each adds its 429s and writes the daily figures it last saw), for the alerts.
CREATE TABLE rate_usage (
    location_id           TEXT    NOT NULL PRIMARY KEY,
    daily_limit           INTEGER,
    daily_remaining       INTEGER,
    daily_seen_ms         INTEGER,
    rate_limited          INTEGER NOT NULL DEFAULT 0,
    last_rate_limited_ms  INTEGER
);
