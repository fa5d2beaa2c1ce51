//! The one write path. A [`Writer`] hands out [`Attempt`]s; an attempt loads any aggregates,
//! lets each `decide` a command (cqrs-es `handle` with an `EventSink`) or takes events already
//! decided, and [`Writer::append`] writes everything the attempt holds in ONE store append —
//! one transaction, even across aggregates. When another writer changed one of them first, the
//! append reports a conflict and the caller decides again from fresh state (at most
//! [`ATTEMPTS`] times). Events are serialised here only, with their type and version from
//! `DomainEvent`.
//!
//! The loop stays the caller's (`loop { let mut a = writer.attempt(); … if let Some(p) =
//! writer.append(a).await? { break p } }`): a closure-based retry made server futures
//! non-`Send`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{PersistedEventRepository, PersistenceError, SerializedEvent};
use cqrs_es::{Aggregate, DomainEvent};
use kaden_domain::error::DomainError;
use kaden_projections::log::LogPosition;
use serde_json::Value;

use super::RequestContext;
use crate::error::ApiError;
use crate::store::Store;

/// Attempts for a decision whose aggregates were changed concurrently.
pub const ATTEMPTS: u32 = 8;

/// Writes decisions for one request.
pub struct Writer<'a> {
    store: &'a Store,
    metadata: Value,
    request_id: String,
    tried: AtomicU32,
}

/// One try at a decision: the events to append, in order.
#[derive(Default)]
pub struct Attempt {
    events: Vec<SerializedEvent>,
}

/// An aggregate loaded for a decision, with the sequence its next event takes.
pub struct Loaded<A> {
    pub id: String,
    pub aggregate: A,
    sequence: usize,
}

impl<'a> Writer<'a> {
    pub fn new(store: &'a Store, ctx: &RequestContext) -> Result<Self, ApiError> {
        let metadata = serde_json::to_value(ctx.metadata().to_map())
            .map_err(|_| ApiError::internal(&ctx.request_id))?;
        Ok(Self {
            store,
            metadata,
            request_id: ctx.request_id.clone(),
            tried: AtomicU32::new(0),
        })
    }

    /// A fresh attempt.
    pub fn attempt(&self) -> Attempt {
        Attempt::default()
    }

    /// Loads aggregate `A` with id `id` from its events.
    pub async fn load<A: Aggregate>(&self, id: &str) -> Result<Loaded<A>, ApiError> {
        let events = self
            .store
            .get_events::<A>(id)
            .await
            .map_err(|error| self.internal("cannot load an aggregate", &error))?;
        let mut aggregate = A::default();
        let mut sequence = 0;
        for e in events {
            sequence = e.sequence;
            let event: A::Event = serde_json::from_value(e.payload)
                .map_err(|error| self.internal("unreadable event", &error))?;
            aggregate.apply(event);
        }
        Ok(Loaded {
            id: id.to_string(),
            aggregate,
            sequence,
        })
    }

    /// Lets the aggregate decide `cmd`; its events join the attempt (and are applied to
    /// `loaded`, so a second decision on it sees the first).
    pub async fn decide<A>(
        &self,
        attempt: &mut Attempt,
        loaded: &mut Loaded<A>,
        cmd: A::Command,
    ) -> Result<(), ApiError>
    where
        A: Aggregate<Services = ()>,
        A::Error: DomainError,
    {
        let sink = EventSink::default();
        loaded
            .aggregate
            .handle(cmd, &(), &sink)
            .await
            .map_err(|e| ApiError::domain(&e))?;
        for event in sink.collect().await {
            self.add(attempt, loaded, &event)?;
        }
        Ok(())
    }

    /// Adds an event decided elsewhere (e.g. by a domain function over several rows) to the
    /// attempt, after `loaded`'s last.
    pub fn add<A: Aggregate>(
        &self,
        attempt: &mut Attempt,
        loaded: &mut Loaded<A>,
        event: &A::Event,
    ) -> Result<(), ApiError> {
        loaded.sequence += 1;
        attempt.events.push(self.serialize(
            A::TYPE,
            &loaded.id,
            loaded.sequence,
            event.event_type(),
            event.event_version(),
            event,
        )?);
        Ok(())
    }

    /// A serialised event of any stream (bulk row chunks use it with their own stream).
    pub fn serialize(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        sequence: usize,
        event_type: String,
        event_version: String,
        payload: &impl serde::Serialize,
    ) -> Result<SerializedEvent, ApiError> {
        Ok(SerializedEvent {
            aggregate_id: aggregate_id.to_string(),
            sequence,
            aggregate_type: aggregate_type.to_string(),
            event_type,
            event_version,
            payload: serde_json::to_value(payload)
                .map_err(|error| self.internal("cannot serialise an event", &error))?,
            metadata: self.metadata.clone(),
        })
    }

    /// Pushes an already serialised event.
    pub fn push(&self, attempt: &mut Attempt, event: SerializedEvent) {
        attempt.events.push(event);
    }

    /// Writes the attempt in one append. `Ok(Some(position))`: written (`None` inside: there
    /// was nothing to write); `Ok(None)`: another writer came first — decide again;
    /// `CONFLICT_RETRY` after [`ATTEMPTS`] tries.
    pub async fn append(&self, attempt: Attempt) -> Result<Option<Option<LogPosition>>, ApiError> {
        match self.store.append(&attempt.events).await {
            Ok(position) => Ok(Some(position)),
            Err(PersistenceError::OptimisticLockError) => {
                let tried = self.tried.fetch_add(1, Ordering::Relaxed) + 1;
                if tried >= ATTEMPTS {
                    return Err(ApiError::conflict());
                }
                tokio::time::sleep(Duration::from_millis(u64::from(tried * tried))).await;
                Ok(None)
            }
            Err(error) => {
                Err(self.internal("append failed in the store; nothing was written", &error))
            }
        }
    }

    fn internal(&self, what: &str, error: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(request_id = %self.request_id, %error, "{what}");
        ApiError::internal(&self.request_id)
    }
}
