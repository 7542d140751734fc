-- What each member chose not to see in a workspace's feed: kinds of HighLevel change
-- ('contact', 'task', 'note', 'tag', 'appointment'), one row per muted kind. A member's
-- mutes are theirs alone and go with their membership.
CREATE TABLE feed_mutes (
    user_id       INTEGER NOT NULL,
    location_id   TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    muted_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (user_id, location_id, kind),
    FOREIGN KEY (user_id, location_id)
        REFERENCES chat_memberships (user_id, location_id) ON DELETE CASCADE
) STRICT;

-- The feed filtered by who asked for a change (a Drive Chat member's write-back).
CREATE INDEX changes_by_actor ON changes (location_id, actor, id);
