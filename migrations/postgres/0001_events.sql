-- The one append-only event store (postgres-es's layout) plus Kaden's global log columns.
-- `position` orders events; `txid` is the writing transaction, so that readers read only below
-- the oldest running transaction and never skip an event that commits late.
CREATE TABLE events
(
    position       bigint GENERATED ALWAYS AS IDENTITY,
    txid           bigint                       NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 0) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        json                         NOT NULL,
    metadata       json                         NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

CREATE UNIQUE INDEX events_log_order ON events (txid, position);

-- Aggregate snapshots (postgres-es's layout; used if an aggregate's stream grows long).
CREATE TABLE snapshots
(
    aggregate_type   text                                 NOT NULL,
    aggregate_id     text                                 NOT NULL,
    last_sequence    bigint CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
    payload          json                                 NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
);

-- Snapshots of the in-memory read models with the log position they include.
CREATE TABLE projection_snapshots
(
    name           text PRIMARY KEY,
    schema_version integer     NOT NULL,
    position_tx    bigint      NOT NULL,
    position       bigint      NOT NULL,
    payload        text        NOT NULL,
    saved_at       timestamptz NOT NULL DEFAULT now()
);
