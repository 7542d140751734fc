-- Webhooks turned away, counted per location (or '' when the body named no location that
-- ever delivered) and reason. Each serving process adds what it counted every few seconds,
-- so `drivesync status` (another process) sees refusals, and replicas add up.
CREATE TABLE webhook_refusals (
    scope       TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    count       BIGINT NOT NULL,
    first_ms    BIGINT NOT NULL,
    last_ms     BIGINT NOT NULL,
    PRIMARY KEY (scope, reason)
);

-- The open-task poll (task search, for the edits HighLevel sends no webhook for) and what
-- the last full reconcile spent of the location's request budget.
ALTER TABLE sync_state ADD COLUMN last_task_poll_ms BIGINT;
ALTER TABLE sync_state ADD COLUMN last_reconcile_requests BIGINT;
