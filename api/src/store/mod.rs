//! The event store: one contract, two backends (PostgreSQL through postgres-es, SQLite through
//! sqlite-es), both extended with a global log position, a log reader and wake-ups.
//!
//! cqrs-es loads aggregates through the backend's own repository; appends go through our
//! `persist`, which writes a whole command's events in one statement (an import chunk of 1,000
//! events is one round trip) and notes the log position it wrote for read-your-writes.

mod postgres;
mod sqlite;

use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cqrs_es::Aggregate;
use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use kaden_projections::log::{EventLog, LogError, LogPosition, RawEvent};
use serde_json::Value;
use tokio::sync::watch;

pub use postgres::{PgBackend, redact};
pub use sqlite::SqliteBackend;

/// Where events are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// A local SQLite file (the embedded default).
    Sqlite { path: std::path::PathBuf },
    /// A PostgreSQL database URL (`postgres://user@host/db`).
    Postgres { url: String },
}

/// Why the store could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the event store at {place}: {source}")]
    Connect { place: String, source: sqlx::Error },
    #[error("cannot apply database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("event store query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("cannot encode the read-model snapshot: {0}")]
    Snapshot(#[from] serde_json::Error),
    /// Not the store's, but start-up's: telephony could not bind its SIP or media sockets.
    #[error(
        "cannot start telephony: {0} (is another program using the SIP port? choose another with --sip-listen, or --no-telephony)"
    )]
    Telephony(std::io::Error),
}

tokio::task_local! {
    /// The last log position a command wrote in this task (see [`capture_position`]).
    static WRITTEN: Cell<Option<LogPosition>>;
}

/// Runs `f` and returns its output with the log position of the last events it appended.
pub async fn capture_position<F: Future>(f: F) -> (F::Output, Option<LogPosition>) {
    WRITTEN
        .scope(Cell::new(None), async move {
            let out = f.await;
            (out, WRITTEN.with(Cell::get))
        })
        .await
}

pub(crate) enum Backend {
    Postgres(PgBackend),
    Sqlite(SqliteBackend),
}

struct Inner {
    backend: Backend,
    wake: watch::Sender<u64>,
    appended: AtomicU64,
}

/// The event store, cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// Whether a Kaden store is already at `config`: the command-line tools refuse to create an
/// empty one by mistake (a wrong `--data-dir` or database URL).
pub async fn exists(config: &StoreConfig) -> Result<bool, String> {
    match config {
        StoreConfig::Sqlite { path } => Ok(path.exists()),
        StoreConfig::Postgres { url } => {
            use sqlx::Connection as _;
            let mut conn = sqlx::PgConnection::connect(url)
                .await
                .map_err(|e| format!("cannot connect to {}: {e}", redact(url)))?;
            let found: bool = sqlx::query_scalar("SELECT to_regclass('public.events') IS NOT NULL")
                .fetch_one(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            let _ = conn.close().await;
            Ok(found)
        }
    }
}

impl Store {
    /// Opens (creating the SQLite file if needed) and migrates the store.
    pub async fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        let (wake, _) = watch::channel(0);
        let backend = match config {
            StoreConfig::Sqlite { path } => Backend::Sqlite(SqliteBackend::open(path).await?),
            StoreConfig::Postgres { url } => {
                Backend::Postgres(PgBackend::open(url, wake.clone()).await?)
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                backend,
                wake,
                appended: AtomicU64::new(0),
            }),
        })
    }

    /// `postgres` or `sqlite`.
    pub fn kind(&self) -> &'static str {
        match self.inner.backend {
            Backend::Postgres(_) => "postgres",
            Backend::Sqlite(_) => "sqlite",
        }
    }

    /// Events appended through this process since it started.
    pub fn appended(&self) -> u64 {
        self.inner.appended.load(Ordering::Relaxed)
    }

    /// The newest position in the log now (the end a reader must reach to be caught up).
    pub async fn head(&self) -> Result<LogPosition, StoreError> {
        match &self.inner.backend {
            Backend::Postgres(b) => b.head().await,
            Backend::Sqlite(b) => b.head().await,
        }
    }

    /// Appends already-serialized events as one atomic write; returns the last position.
    /// This is the bulk path cqrs-es's `persist` uses; benchmarks and tools may call it too.
    pub async fn append(
        &self,
        events: &[SerializedEvent],
    ) -> Result<Option<LogPosition>, PersistenceError> {
        if events.is_empty() {
            return Ok(None);
        }
        let position = match &self.inner.backend {
            Backend::Postgres(b) => b.append(events).await?,
            Backend::Sqlite(b) => b.append(events).await?,
        };
        self.inner
            .appended
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        self.inner.wake.send_modify(|n| *n = n.wrapping_add(1));
        let _ = WRITTEN.try_with(|c| c.set(Some(position)));
        Ok(Some(position))
    }

    /// Saves a read-model snapshot with the position it includes.
    pub async fn save_projection_snapshot(
        &self,
        name: &str,
        schema_version: i32,
        position: LogPosition,
        payload: &str,
    ) -> Result<(), StoreError> {
        match &self.inner.backend {
            Backend::Postgres(b) => {
                b.save_projection_snapshot(name, schema_version, position, payload)
                    .await
            }
            Backend::Sqlite(b) => {
                b.save_projection_snapshot(name, schema_version, position, payload)
                    .await
            }
        }
    }

    /// The saved snapshot of `name` if it was written by the same schema version.
    pub async fn load_projection_snapshot(
        &self,
        name: &str,
        schema_version: i32,
    ) -> Result<Option<(LogPosition, String)>, StoreError> {
        match &self.inner.backend {
            Backend::Postgres(b) => b.load_projection_snapshot(name, schema_version).await,
            Backend::Sqlite(b) => b.load_projection_snapshot(name, schema_version).await,
        }
    }

    /// Closes the pools (waits for in-flight queries).
    pub async fn close(&self) {
        match &self.inner.backend {
            Backend::Postgres(b) => b.close().await,
            Backend::Sqlite(b) => b.close().await,
        }
    }

    pub(crate) fn backend(&self) -> &Backend {
        &self.inner.backend
    }
}

/// Maps a database error from an append: a duplicate (aggregate, sequence) is an optimistic
/// concurrency conflict, detected by the database's error kind, never by message text.
pub(crate) fn append_error(error: sqlx::Error) -> PersistenceError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            PersistenceError::OptimisticLockError
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
            PersistenceError::ConnectionError(Box::new(error))
        }
        _ => PersistenceError::UnknownError(Box::new(error)),
    }
}

impl PersistedEventRepository for Store {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        match &self.inner.backend {
            Backend::Postgres(b) => b.es.get_events::<A>(aggregate_id).await,
            Backend::Sqlite(b) => b.es.get_events::<A>(aggregate_id).await,
        }
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        match &self.inner.backend {
            Backend::Postgres(b) => b.es.get_last_events::<A>(aggregate_id, last_sequence).await,
            Backend::Sqlite(b) => b.es.get_last_events::<A>(aggregate_id, last_sequence).await,
        }
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        match &self.inner.backend {
            Backend::Postgres(b) => b.es.get_snapshot::<A>(aggregate_id).await,
            Backend::Sqlite(b) => b.es.get_snapshot::<A>(aggregate_id).await,
        }
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        match snapshot_update {
            None => self.append(events).await.map(|_| ()),
            // Snapshotting aggregates (not used yet) keeps the backends' own transaction.
            Some(update) => {
                match &self.inner.backend {
                    Backend::Postgres(b) => b.es.persist::<A>(events, Some(update)).await?,
                    Backend::Sqlite(b) => b.es.persist::<A>(events, Some(update)).await?,
                }
                self.inner.wake.send_modify(|n| *n = n.wrapping_add(1));
                Ok(())
            }
        }
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        match &self.inner.backend {
            Backend::Postgres(b) => b.es.stream_events::<A>(aggregate_id).await,
            Backend::Sqlite(b) => b.es.stream_events::<A>(aggregate_id).await,
        }
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        match &self.inner.backend {
            Backend::Postgres(b) => b.es.stream_all_events::<A>().await,
            Backend::Sqlite(b) => b.es.stream_all_events::<A>().await,
        }
    }
}

impl EventLog for Store {
    async fn read_after(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> Result<Vec<RawEvent>, LogError> {
        let rows = match &self.inner.backend {
            Backend::Postgres(b) => b.read_after(after, limit).await,
            Backend::Sqlite(b) => b.read_after(after, limit).await,
        };
        rows.map_err(|e| LogError(Box::new(e)))
    }

    fn wakeups(&self) -> watch::Receiver<u64> {
        self.inner.wake.subscribe()
    }

    fn poll_interval(&self) -> Duration {
        match self.inner.backend {
            // Another node's commit is announced by NOTIFY; the poll covers a transaction that
            // held back the log and then aborted (no notification).
            Backend::Postgres(_) => Duration::from_millis(250),
            Backend::Sqlite(_) => Duration::from_secs(1),
        }
    }
}
