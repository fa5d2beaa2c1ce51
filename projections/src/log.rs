//! The global event log as the read side sees it: positions, raw rows, decoded events, and
//! the contract every store backend implements for readers.

use std::fmt;
use std::future::Future;
use std::str::FromStr;

use kaden_domain::event::KadenEvent;
use kaden_domain::metadata::{EventMetadata, MetadataError};
use serde::{Deserialize, Serialize};

/// A place in the global log. Events are delivered in `(tx, pos)` order.
///
/// On PostgreSQL `tx` is the writing transaction's id and `pos` the identity column: readers
/// only read below the oldest running transaction, so an event whose transaction commits late is
/// never skipped. On SQLite writes are serialised, `tx` is 0 and `pos` is the row id.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct LogPosition {
    pub tx: i64,
    pub pos: i64,
}

impl LogPosition {
    pub const START: Self = Self { tx: 0, pos: 0 };

    pub fn new(tx: i64, pos: i64) -> Self {
        Self { tx, pos }
    }
}

impl fmt::Display for LogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.tx, self.pos)
    }
}

/// A position string that is not `<tx>.<pos>`.
#[derive(Debug, thiserror::Error)]
#[error(
    "log position {0:?} is not of the form <tx>.<pos> (use the `position` a mutation returned)"
)]
pub struct BadPosition(String);

impl FromStr for LogPosition {
    type Err = BadPosition;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadPosition(s.to_string());
        let (tx, pos) = s.split_once('.').ok_or_else(bad)?;
        Ok(Self {
            tx: tx.parse().map_err(|_| bad())?,
            pos: pos.parse().map_err(|_| bad())?,
        })
    }
}

/// One row of the log as the store returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    pub position: LogPosition,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: String,
    pub metadata: String,
}

/// A decoded event in log order, what projections fold.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub position: LogPosition,
    pub aggregate_id: String,
    pub sequence: i64,
    pub metadata: EventMetadata,
    pub event: KadenEvent,
}

/// A row that could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("event {position} ({aggregate_type} {aggregate_id} #{sequence}): {source}")]
    Payload {
        position: LogPosition,
        aggregate_type: String,
        aggregate_id: String,
        sequence: i64,
        source: serde_json::Error,
    },
    #[error("event {position}: {source}")]
    Metadata {
        position: LogPosition,
        source: MetadataError,
    },
}

impl RawEvent {
    pub fn decode(&self) -> Result<StoredEvent, DecodeError> {
        let event = KadenEvent::decode(&self.aggregate_type, &self.event_version, &self.payload)
            .map_err(|source| DecodeError::Payload {
                position: self.position,
                aggregate_type: self.aggregate_type.clone(),
                aggregate_id: self.aggregate_id.clone(),
                sequence: self.sequence,
                source,
            })?;
        let metadata =
            EventMetadata::from_json(&self.metadata).map_err(|source| DecodeError::Metadata {
                position: self.position,
                source,
            })?;
        Ok(StoredEvent {
            position: self.position,
            aggregate_id: self.aggregate_id.clone(),
            sequence: self.sequence,
            metadata,
            event,
        })
    }
}

/// A failure reading the log (the store is unreachable, a query failed).
#[derive(Debug, thiserror::Error)]
#[error("reading the event log failed: {0}")]
pub struct LogError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// What every event-store backend offers readers: ordered reads and a wake-up.
///
/// A third backend (EventStoreDB's `$all` stream, say) fits here: its commit position is the
/// `LogPosition`, its subscription the wake-up.
pub trait EventLog: Send + Sync + 'static {
    /// Up to `limit` events strictly after `after`, in log order. Never skips an event that
    /// becomes visible later at a smaller position.
    fn read_after(
        &self,
        after: LogPosition,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RawEvent>, LogError>> + Send;

    /// A counter that moves whenever events may have been committed (by this process, or by
    /// another node as the store reports it). Readers mark it seen before reading.
    fn wakeups(&self) -> tokio::sync::watch::Receiver<u64>;

    /// How long a reader waits without a wake-up before reading anyway (covers notifications a
    /// store cannot give, such as an aborted transaction that held back later commits).
    fn poll_interval(&self) -> std::time::Duration;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_order_by_transaction_then_position() {
        assert!(LogPosition::new(5, 9) < LogPosition::new(6, 1));
        assert!(LogPosition::new(5, 1) < LogPosition::new(5, 2));
        let p: LogPosition = "12.345".parse().unwrap();
        assert_eq!(p, LogPosition::new(12, 345));
        assert_eq!(p.to_string(), "12.345");
        assert!("12".parse::<LogPosition>().is_err());
        assert!("a.b".parse::<LogPosition>().is_err());
    }
}
