//! Appending a batch to a tenant's `AccessLog` stream: load only the chain head (the last
//! stored row), number and hash the batch, append with the next sequences; a conflict with another
//! node reloads the head and retries.

use super::*;

/// Why a batch of accesses could not be appended.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("reading the access log's head failed: {0}")]
    Read(#[from] StoreError),
    #[error("the stored access log cannot be read at entry {sequence}: {message}")]
    Corrupt { sequence: i64, message: String },
    #[error("{0}")]
    Refused(#[from] kaden_domain::access_log::AccessLogError),
    #[error("writing to the event store failed: {0}")]
    Store(#[from] PersistenceError),
    #[error("the access log changed concurrently {0} times in a row")]
    Conflicts(u32),
    #[error("cannot serialize an access-log event: {0}")]
    Json(#[from] serde_json::Error),
}

/// Attempts when another node appended to the same tenant's log first.
pub(super) const ATTEMPTS: u32 = 8;

/// Appends one tenant's accesses as one atomic write continuing its hash chain (AUD-1): loads
/// only the last stored entry, numbers and hashes the batch after it, appends with the next
/// stream sequences; if another writer took those sequences first (the store's optimistic
/// concurrency), reloads the head and tries again.
pub async fn append(
    store: &Store,
    tenant: &str,
    drafts: Vec<AccessDraft>,
) -> Result<Option<LogPosition>, AppendError> {
    if drafts.is_empty() {
        return Ok(None);
    }
    let metadata = serde_json::to_value(RequestContext::system(tenant).metadata().to_map())?;
    for attempt in 1..=ATTEMPTS {
        let (sequence, log) = match last_row(store, tenant).await? {
            None => (0, AccessLog::default()),
            Some(row) => {
                let (entry, hash) = row.decoded.map_err(|message| AppendError::Corrupt {
                    sequence: row.sequence,
                    message,
                })?;
                let hash = hash_from_hex(&hash).map_err(|e| AppendError::Corrupt {
                    sequence: row.sequence,
                    message: e.to_string(),
                })?;
                (row.sequence, AccessLog::continuing(&entry, hash))
            }
        };
        let events = log.record(drafts.clone())?;
        let mut serialized = Vec::with_capacity(events.len());
        for (i, event) in events.into_iter().enumerate() {
            serialized.push(SerializedEvent {
                aggregate_id: tenant.to_string(),
                sequence: usize::try_from(sequence).unwrap_or(0) + i + 1,
                aggregate_type: AccessLog::TYPE.to_string(),
                event_type: event.event_type(),
                event_version: event.event_version(),
                payload: serde_json::to_value(&event)?,
                metadata: metadata.clone(),
            });
        }
        match store.append(&serialized).await {
            Ok(position) => return Ok(position),
            Err(PersistenceError::OptimisticLockError) => {
                tokio::time::sleep(Duration::from_millis(u64::from(attempt * attempt * 5))).await;
            }
            Err(error) => return Err(error.into()),
        }
    }
    Err(AppendError::Conflicts(ATTEMPTS))
}
