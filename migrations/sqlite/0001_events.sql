-- The one append-only event store (sqlite-es's columns) with the global log position as the
-- row id. SQLite serialises writers, so position order is commit order.
CREATE TABLE events
(
    position       INTEGER PRIMARY KEY AUTOINCREMENT,
    aggregate_type TEXT                           NOT NULL,
    aggregate_id   TEXT                           NOT NULL,
    sequence       INTEGER CHECK (sequence >= 0)  NOT NULL,
    event_type     TEXT                           NOT NULL,
    event_version  TEXT                           NOT NULL,
    payload        TEXT                           NOT NULL,
    metadata       TEXT                           NOT NULL
) STRICT;

CREATE UNIQUE INDEX events_stream ON events (aggregate_type, aggregate_id, sequence);

CREATE TABLE snapshots
(
    aggregate_type   TEXT                                  NOT NULL,
    aggregate_id     TEXT                                  NOT NULL,
    last_sequence    INTEGER CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot INTEGER CHECK (current_snapshot >= 0) NOT NULL,
    payload          TEXT                                  NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
) STRICT;

CREATE TABLE projection_snapshots
(
    name           TEXT PRIMARY KEY,
    schema_version INTEGER NOT NULL,
    position_tx    INTEGER NOT NULL,
    position       INTEGER NOT NULL,
    payload        TEXT    NOT NULL,
    saved_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
