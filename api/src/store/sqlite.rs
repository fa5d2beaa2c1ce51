//! SQLite backend, the embedded default: one writer connection (SQLite serialises writers
//! anyway), a pool of readers, WAL with `synchronous=FULL` so an acknowledged event survives a
//! crash, row id as the log position, in-process wake-ups.

use std::path::Path;
use std::time::Duration;

use cqrs_es::persist::{PersistenceError, SerializedEvent};
use kaden_projections::log::{LogPosition, RawEvent};
use sqlite_es::SqliteEventRepository;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};

use super::{StoreError, append_error};

pub struct SqliteBackend {
    write: SqlitePool,
    read: SqlitePool,
    pub(super) es: SqliteEventRepository,
}

/// Rows per INSERT statement (7 bound values each, well under SQLite's 32,766 limit).
const ROWS_PER_STATEMENT: usize = 500;

impl SqliteBackend {
    pub(super) async fn open(path: &Path) -> Result<Self, StoreError> {
        let place = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Connect {
                place: place.clone(),
                source: sqlx::Error::Io(e),
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(|source| StoreError::Connect {
                place: place.clone(),
                source,
            })?;
        sqlx::migrate!("../migrations/sqlite").run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await
            .map_err(|source| StoreError::Connect { place, source })?;
        let es = SqliteEventRepository::new(read.clone());
        Ok(Self { write, read, es })
    }

    pub(super) async fn append(
        &self,
        events: &[SerializedEvent],
    ) -> Result<LogPosition, PersistenceError> {
        let mut payloads = Vec::with_capacity(events.len());
        for e in events {
            payloads.push((
                serde_json::to_string(&e.payload)?,
                serde_json::to_string(&e.metadata)?,
            ));
        }
        let mut tx = self.write.begin().await.map_err(append_error)?;
        for (chunk, texts) in events
            .chunks(ROWS_PER_STATEMENT)
            .zip(payloads.chunks(ROWS_PER_STATEMENT))
        {
            let mut insert: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) ",
            );
            insert.push_values(
                chunk.iter().zip(texts),
                |mut row, (e, (payload, metadata))| {
                    row.push_bind(&e.aggregate_type)
                        .push_bind(&e.aggregate_id)
                        .push_bind(i64::try_from(e.sequence).unwrap_or(i64::MAX))
                        .push_bind(&e.event_type)
                        .push_bind(&e.event_version)
                        .push_bind(payload)
                        .push_bind(metadata);
                },
            );
            insert
                .build()
                .persistent(true)
                .execute(&mut *tx)
                .await
                .map_err(append_error)?;
        }
        let last: i64 = sqlx::query_scalar("SELECT last_insert_rowid()")
            .fetch_one(&mut *tx)
            .await
            .map_err(append_error)?;
        tx.commit().await.map_err(append_error)?;
        Ok(LogPosition::new(0, last))
    }

    pub(super) async fn read_after(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<RawEvent>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT position, aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata
               FROM events WHERE position > ? ORDER BY position LIMIT ?",
        )
        .bind(after.pos)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| RawEvent {
                position: LogPosition::new(0, r.get(0)),
                aggregate_type: r.get(1),
                aggregate_id: r.get(2),
                sequence: r.get(3),
                event_type: r.get(4),
                event_version: r.get(5),
                payload: r.get(6),
                metadata: r.get(7),
            })
            .collect())
    }

    pub(super) async fn head(&self) -> Result<LogPosition, StoreError> {
        let last: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM events")
            .fetch_one(&self.read)
            .await?;
        Ok(LogPosition::new(0, last.unwrap_or(0)))
    }

    pub(super) async fn save_projection_snapshot(
        &self,
        name: &str,
        version: i32,
        position: LogPosition,
        payload: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO projection_snapshots (name, schema_version, position_tx, position, payload)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (name) DO UPDATE SET schema_version = ?2, position_tx = ?3, position = ?4, payload = ?5,
               saved_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        )
        .bind(name)
        .bind(version)
        .bind(position.tx)
        .bind(position.pos)
        .bind(payload)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub(super) async fn load_projection_snapshot(
        &self,
        name: &str,
        version: i32,
    ) -> Result<Option<(LogPosition, String)>, StoreError> {
        let row = sqlx::query("SELECT position_tx, position, payload FROM projection_snapshots WHERE name = ? AND schema_version = ?")
            .bind(name)
            .bind(version)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| (LogPosition::new(r.get(0), r.get(1)), r.get(2))))
    }

    pub(super) async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    pub fn write_pool(&self) -> &SqlitePool {
        &self.write
    }
}
