//! PostgreSQL backend: postgres-es for loading aggregates, one `UNNEST` insert per command for
//! appends, a reader that never reads past the oldest running transaction, LISTEN/NOTIFY wakes.
//!
//! NOTIFY is not sent inside the writing transactions: PostgreSQL serialises the commits of
//! notifying transactions on one lock, which cut 32 concurrent writers to a fifth of their
//! throughput here. Instead each node's notifier sends one `pg_notify` after its own commits,
//! coalescing bursts (at most one per [`NOTIFY_EVERY`]).

use std::str::FromStr;
use std::time::Duration;

use cqrs_es::persist::{PersistenceError, SerializedEvent};
use kaden_projections::log::{LogPosition, RawEvent};
use postgres_es::PostgresEventRepository;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool, Row};
use tokio::sync::watch;

use super::{StoreError, append_error};

pub struct PgBackend {
    pool: PgPool,
    pub(super) es: PostgresEventRepository,
    listener: tokio::task::JoinHandle<()>,
    notifier: tokio::task::JoinHandle<()>,
    /// Moves on each commit of this node (not on other nodes' notifications).
    committed: watch::Sender<u64>,
}

/// The shortest gap between two notifications from one node.
const NOTIFY_EVERY: Duration = Duration::from_millis(2);

impl Drop for PgBackend {
    fn drop(&mut self) {
        self.listener.abort();
        self.notifier.abort();
    }
}

const APPEND: &str = "
WITH ins AS (
  INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
  SELECT t, i, s, e, v, p::json, m::json
    FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[]) AS u(t, i, s, e, v, p, m)
  RETURNING txid, position)
SELECT max(txid) AS txid, max(position) AS position FROM ins";

const READ_AFTER: &str = "
SELECT txid, position, aggregate_type, aggregate_id, sequence, event_type, event_version, payload::text AS payload, metadata::text AS metadata
  FROM events
 WHERE (txid, position) > ($1, $2)
   AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
 ORDER BY txid, position
 LIMIT $3";

impl PgBackend {
    pub(super) async fn open(url: &str, wake: watch::Sender<u64>) -> Result<Self, StoreError> {
        let place = redact(url);
        let options = PgConnectOptions::from_str(url)
            .map_err(|source| StoreError::Connect {
                place: place.clone(),
                source,
            })?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(2));
        let pool = PgPoolOptions::new()
            .max_connections(32)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect { place, source })?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await?;
        let (committed, _) = watch::channel(0);
        let notifier = spawn_notifier(pool.clone(), committed.subscribe());
        let listener = spawn_listener(pool.clone(), wake);
        let es = PostgresEventRepository::new(pool.clone());
        Ok(Self {
            pool,
            es,
            listener,
            notifier,
            committed,
        })
    }

    pub(super) async fn append(
        &self,
        events: &[SerializedEvent],
    ) -> Result<LogPosition, PersistenceError> {
        let n = events.len();
        let mut types = Vec::with_capacity(n);
        let mut ids = Vec::with_capacity(n);
        let mut seqs = Vec::with_capacity(n);
        let mut names = Vec::with_capacity(n);
        let mut versions = Vec::with_capacity(n);
        let mut payloads = Vec::with_capacity(n);
        let mut metas = Vec::with_capacity(n);
        for e in events {
            types.push(e.aggregate_type.as_str());
            ids.push(e.aggregate_id.as_str());
            seqs.push(i64::try_from(e.sequence).unwrap_or(i64::MAX));
            names.push(e.event_type.as_str());
            versions.push(e.event_version.as_str());
            payloads.push(serde_json::to_string(&e.payload)?);
            metas.push(serde_json::to_string(&e.metadata)?);
        }
        let row = sqlx::query(APPEND)
            .bind(&types)
            .bind(&ids)
            .bind(&seqs)
            .bind(&names)
            .bind(&versions)
            .bind(&payloads)
            .bind(&metas)
            .fetch_one(&self.pool)
            .await
            .map_err(append_error)?;
        self.committed.send_modify(|n| *n = n.wrapping_add(1));
        Ok(LogPosition::new(row.get("txid"), row.get("position")))
    }

    pub(super) async fn read_after(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<RawEvent>, sqlx::Error> {
        let rows = sqlx::query(READ_AFTER)
            .bind(after.tx)
            .bind(after.pos)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| RawEvent {
                position: LogPosition::new(r.get(0), r.get(1)),
                aggregate_type: r.get(2),
                aggregate_id: r.get(3),
                sequence: r.get(4),
                event_type: r.get(5),
                event_version: r.get(6),
                payload: r.get(7),
                metadata: r.get(8),
            })
            .collect())
    }

    pub(super) async fn head(&self) -> Result<LogPosition, StoreError> {
        let row = sqlx::query(
            "SELECT txid, position FROM events ORDER BY txid DESC, position DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map_or(LogPosition::START, |r| LogPosition::new(r.get(0), r.get(1))))
    }

    pub(super) async fn save_projection_snapshot(
        &self,
        name: &str,
        version: i32,
        position: LogPosition,
        payload: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO projection_snapshots (name, schema_version, position_tx, position, payload, saved_at)
             VALUES ($1, $2, $3, $4, $5, now())
             ON CONFLICT (name) DO UPDATE SET schema_version = $2, position_tx = $3, position = $4, payload = $5, saved_at = now()",
        )
        .bind(name)
        .bind(version)
        .bind(position.tx)
        .bind(position.pos)
        .bind(payload)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn load_projection_snapshot(
        &self,
        name: &str,
        version: i32,
    ) -> Result<Option<(LogPosition, String)>, StoreError> {
        let row = sqlx::query("SELECT position_tx, position, payload FROM projection_snapshots WHERE name = $1 AND schema_version = $2")
            .bind(name)
            .bind(version)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| (LogPosition::new(r.get(0), r.get(1)), r.get(2))))
    }

    pub(super) async fn close(&self) {
        // The listener holds a pooled connection: stop it first or close() waits for ever.
        self.listener.abort();
        self.notifier.abort();
        self.pool.close().await;
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Tells other nodes about this node's commits: after each local wake-up (a commit here), one
/// `pg_notify`, then a short pause so that a burst of commits costs one notification.
fn spawn_notifier(pool: PgPool, mut local: watch::Receiver<u64>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        local.borrow_and_update();
        while local.changed().await.is_ok() {
            local.borrow_and_update();
            if let Err(error) = sqlx::query("SELECT pg_notify('kaden_events', '')")
                .execute(&pool)
                .await
            {
                if pool.is_closed() {
                    return;
                }
                tracing::warn!(%error, "could not notify other nodes of new events; they will poll");
            }
            tokio::time::sleep(NOTIFY_EVERY).await;
        }
    })
}

/// Listens for `kaden_events` notifications and turns them into local wake-ups. Reconnects on
/// failure; ends when the pool is closed.
fn spawn_listener(pool: PgPool, wake: watch::Sender<u64>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if pool.is_closed() {
                return;
            }
            let mut listener = match PgListener::connect_with(&pool).await {
                Ok(l) => l,
                Err(error) => {
                    tracing::warn!(%error, "cannot LISTEN for new events; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(error) = listener.listen("kaden_events").await {
                tracing::warn!(%error, "cannot LISTEN for new events; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            loop {
                match listener.try_recv().await {
                    Ok(Some(_)) => {
                        wake.send_modify(|n| *n = n.wrapping_add(1));
                    }
                    // The connection dropped; notifications may be lost, so wake readers.
                    Ok(None) => wake.send_modify(|n| *n = n.wrapping_add(1)),
                    Err(_) => break,
                }
                if pool.is_closed() {
                    return;
                }
            }
        }
    })
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}
