//! The projection engine: read models in memory, fed from the log in order.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use crate::log::{EventLog, LogError, LogPosition, RawEvent};
use crate::{Change, ReadModels};

/// Events read from the log per batch.
pub const BATCH: usize = 2_000;

/// The read models and their position in the log.
pub struct Engine {
    models: RwLock<ReadModels>,
    position: watch::Sender<LogPosition>,
    changes: broadcast::Sender<Arc<Change>>,
    applied: AtomicU64,
    skipped: AtomicU64,
    caught_up: AtomicBool,
}

/// The wait for a position ran out of time.
#[derive(Debug, thiserror::Error)]
#[error(
    "the read models have not yet reached log position {wanted} (they are at {reached}); retry in a moment"
)]
pub struct NotYetReached {
    pub wanted: LogPosition,
    pub reached: LogPosition,
}

impl Engine {
    /// An engine starting from `models` at `position` (empty at the start, or a snapshot).
    pub fn new(models: ReadModels, position: LogPosition) -> Arc<Self> {
        let (position, _) = watch::channel(position);
        let (changes, _) = broadcast::channel(4_096);
        Arc::new(Self {
            models: RwLock::new(models),
            position,
            changes,
            applied: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            caught_up: AtomicBool::new(false),
        })
    }

    /// Reads the models. Keep the closure short: the follower waits for it.
    pub fn read<R>(&self, f: impl FnOnce(&ReadModels) -> R) -> R {
        let models = self
            .models
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&models)
    }

    pub fn position(&self) -> LogPosition {
        *self.position.borrow()
    }

    /// Events applied since start (replay included).
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Relaxed)
    }

    /// Events that could not be decoded and were passed over (each was logged).
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// True once the follower has read to the end of the log at least once.
    pub fn caught_up(&self) -> bool {
        self.caught_up.load(Ordering::Relaxed)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.changes.subscribe()
    }

    /// A copy of the models and their position, for a snapshot.
    pub fn snapshot(&self) -> (LogPosition, ReadModels) {
        let models = self
            .models
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (self.position(), models.clone())
    }

    /// Waits until the models include `wanted` (read-your-writes), at most `timeout`.
    pub async fn wait_for(
        &self,
        wanted: LogPosition,
        timeout: Duration,
    ) -> Result<(), NotYetReached> {
        let mut rx = self.position.subscribe();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|p| *p >= wanted)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            _ => Err(NotYetReached {
                wanted,
                reached: self.position(),
            }),
        }
    }

    /// Applies a batch of rows in order, then publishes the changes and the new position.
    pub fn apply_batch(&self, batch: &[RawEvent]) {
        let Some(last) = batch.last() else { return };
        // Decode outside the lock so queries wait only for the folding itself.
        let events: Vec<_> = batch
            .iter()
            .filter_map(|raw| match raw.decode() {
                Ok(event) => Some(event),
                Err(error) => {
                    self.skipped.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(%error, "event passed over by the read models");
                    None
                }
            })
            .collect();
        let mut changes = Vec::new();
        {
            let mut models = self
                .models
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for event in &events {
                models.apply(event, &mut changes);
            }
        }
        self.applied
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        self.position.send_replace(last.position);
        for change in changes {
            // No subscriber is not an error.
            let _ = self.changes.send(Arc::new(change));
        }
    }

    /// Reads everything after the current position until the log is exhausted once.
    pub async fn catch_up<L: EventLog>(&self, log: &L) -> Result<u64, LogError> {
        let mut total = 0;
        loop {
            let batch = log.read_after(self.position(), BATCH).await?;
            total += batch.len() as u64;
            let full = batch.len() == BATCH;
            self.apply_batch(&batch);
            if !full {
                self.caught_up.store(true, Ordering::Relaxed);
                return Ok(total);
            }
        }
    }

    /// Follows the log until `stop` resolves: catch up, then wait for news, forever.
    /// A read failure is logged and retried after a pause; it never ends the follower.
    pub async fn follow<L: EventLog>(
        self: Arc<Self>,
        log: L,
        stop: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(stop);
        let mut wakeups = log.wakeups();
        let poll = log.poll_interval();
        loop {
            // Mark wake-ups seen before reading, so that a commit between the read and the
            // wait still wakes us.
            wakeups.borrow_and_update();
            if let Err(error) = self.catch_up(&log).await {
                tracing::warn!(%error, "event log read failed; retrying in 1 s");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    () = &mut stop => return,
                }
            }
            tokio::select! {
                changed = wakeups.changed() => {
                    if changed.is_err() {
                        // The store is gone (shutting down): fall back to polling.
                        tokio::time::sleep(poll).await;
                    }
                }
                () = tokio::time::sleep(poll) => {}
                () = &mut stop => return,
            }
        }
    }
}
