//! The access log (AUD-1) at the edge: an in-process batcher that appends the accesses of each
//! tenant every ~100 ms (or 500 entries) as one atomic write continuing the `AccessLog` stream's
//! hash chain (see [`append`]), the GraphQL operation names
//! and outcomes it records, and the auditors' tools behind `kaden audit export` and
//! `kaden audit verify`, which read the stored rows themselves (not the read models).

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use cqrs_es::DomainEvent;
use cqrs_es::persist::{PersistenceError, SerializedEvent};
use kaden_domain::access::audit_chain::{self, ChainHead, hash_from_hex};
use kaden_domain::access::{AccessEntry, BreakReason, ChainBreak, Outcome};
use kaden_domain::access_log::{AccessDraft, AccessLog, AccessLogEvent};
use kaden_domain::error::ErrorCode;
use kaden_projections::log::LogPosition;
use serde::Serialize;
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

use crate::commands::RequestContext;
use crate::store::{Backend, Store, StoreError};

/// Most entries written by one command.
pub const BATCH_ENTRIES: usize = 500;
/// How long the first access of a batch waits for others.
pub const BATCH_WAIT: Duration = Duration::from_millis(100);
/// Accesses waiting to be written before new ones are dropped (and logged as an error).
const QUEUE: usize = 100_000;
/// Longest texts kept per entry (operation names, details).
const MAX_TEXT: usize = 500;

enum Message {
    Entry(AccessDraft),
    Flush(oneshot::Sender<()>),
    Close(oneshot::Sender<()>),
}

/// Hands accesses to the batcher. Cheap; never waits for the store.
pub struct AccessRecorder {
    tx: mpsc::Sender<Message>,
}

/// The batcher's end of the queue; give it to [`run`].
pub struct AccessInbox(mpsc::Receiver<Message>);

impl AccessRecorder {
    pub fn new() -> (Self, AccessInbox) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (Self { tx }, AccessInbox(rx))
    }

    /// Queues one access for the log.
    pub fn record(&self, draft: AccessDraft) {
        if let Err(error) = self.tx.try_send(Message::Entry(draft)) {
            tracing::error!(%error, "access log queue full or closed: an access was not recorded");
        }
    }

    /// Writes everything queued so far; returns when it is in the store.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// Writes everything queued and stops the batcher (at shutdown, before the store closes).
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Close(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

/// The batcher: collects accesses for up to [`BATCH_WAIT`] or [`BATCH_ENTRIES`], then appends
/// each tenant's share as one command (conflicts with other nodes are retried by `Commands`).
pub async fn run(store: Store, inbox: AccessInbox) {
    let mut rx = inbox.0;
    let mut pending: Vec<AccessDraft> = Vec::new();
    loop {
        let first = if pending.is_empty() {
            match rx.recv().await {
                Some(m) => Some(m),
                None => return,
            }
        } else {
            match tokio::time::timeout(BATCH_WAIT, rx.recv()).await {
                Ok(Some(m)) => Some(m),
                Ok(None) => {
                    write(&store, std::mem::take(&mut pending)).await;
                    return;
                }
                Err(_) => None,
            }
        };
        match first {
            Some(Message::Entry(draft)) => {
                pending.push(draft);
                if pending.len() < BATCH_ENTRIES {
                    continue;
                }
            }
            Some(Message::Flush(done)) => {
                write(&store, std::mem::take(&mut pending)).await;
                let _ = done.send(());
                continue;
            }
            Some(Message::Close(done)) => {
                write(&store, std::mem::take(&mut pending)).await;
                let _ = done.send(());
                return;
            }
            None => {}
        }
        write(&store, std::mem::take(&mut pending)).await;
    }
}

async fn write(store: &Store, drafts: Vec<AccessDraft>) {
    let mut by_tenant: BTreeMap<String, Vec<AccessDraft>> = BTreeMap::new();
    for d in drafts {
        by_tenant.entry(d.tenant.clone()).or_default().push(d);
    }
    for (tenant, entries) in by_tenant {
        let count = entries.len();
        if let Err(error) = append(store, &tenant, entries).await {
            tracing::error!(%error, %tenant, count, "access log entries could not be written");
        }
    }
}

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
const ATTEMPTS: u32 = 8;

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

fn clip(text: &str) -> String {
    text.chars().take(MAX_TEXT).collect()
}

/// An access by `ctx`'s client now.
pub fn draft(
    ctx: &RequestContext,
    user: Option<(u64, &str)>,
    operation: &str,
    outcome: Outcome,
    detail: &str,
) -> AccessDraft {
    AccessDraft {
        at: Utc::now(),
        tenant: ctx.tenant_id.clone(),
        user_id: user.map(|(id, _)| id),
        username: user.map_or_else(String::new, |(_, name)| clip(name)),
        operation: clip(operation),
        address: ctx.client_addr.clone(),
        outcome,
        detail: clip(detail),
    }
}

/// Error codes that mean "refused before being tried" rather than "tried and failed".
const REFUSALS: [&str; 9] = [
    "FORBIDDEN",
    "UNAUTHENTICATED",
    "ADDRESS_NOT_ALLOWED",
    "PASSWORD_EXPIRED",
    "SESSION_EXPIRED",
    "CSRF_TOKEN_MISSING",
    "FORBIDDEN_ORIGIN",
    "TOO_MANY_ATTEMPTS",
    "LOGIN_THROTTLED",
];

/// How a GraphQL response ended, and its error codes for the detail column.
pub fn outcome_of(response: &async_graphql::Response) -> (Outcome, String) {
    if response.errors.is_empty() {
        return (Outcome::Success, String::new());
    }
    let codes: Vec<String> = response
        .errors
        .iter()
        .map(|e| {
            e.extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .and_then(|v| match v {
                    async_graphql::Value::String(s) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| "GRAPHQL_ERROR".to_string())
        })
        .collect();
    let refused = codes.iter().any(|c| REFUSALS.contains(&c.as_str()));
    let outcome = if refused {
        Outcome::Refused
    } else {
        Outcome::Failure
    };
    (outcome, codes.join(","))
}

/// What a GraphQL request does: its root fields (`createCampaign`, `campaigns,me`; empty when
/// the document cannot be read) and the operation's own name, if it has one.
pub fn operation_of(request: &async_graphql::Request) -> (Vec<String>, Option<String>) {
    use async_graphql::parser::types::{DocumentOperations, Selection};
    let Ok(doc) = async_graphql::parser::parse_query(&request.query) else {
        return (Vec::new(), request.operation_name.clone());
    };
    let (name, operation) = match (&doc.operations, &request.operation_name) {
        (DocumentOperations::Single(op), _) => (None, Some(op)),
        (DocumentOperations::Multiple(ops), Some(wanted)) => ops
            .iter()
            .find(|(n, _)| n.as_str() == wanted)
            .map_or((None, None), |(n, op)| (Some(n.to_string()), Some(op))),
        (DocumentOperations::Multiple(ops), None) => ops
            .iter()
            .next()
            .map_or((None, None), |(n, op)| (Some(n.to_string()), Some(op))),
    };
    let fields = operation
        .map(|op| {
            op.node
                .selection_set
                .node
                .items
                .iter()
                .filter_map(|s| match &s.node {
                    Selection::Field(f) => Some(f.node.name.node.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    (fields, name.or_else(|| request.operation_name.clone()))
}

/// One exported entry: the stored entry and its stored hash.
#[derive(Debug, Serialize)]
pub struct ExportedEntry {
    #[serde(flatten)]
    pub entry: AccessEntry,
    pub hash: String,
}

/// A stored access-log row as read back (undecodable rows are kept as an error).
struct StoredRow {
    tenant: String,
    sequence: i64,
    decoded: Result<(AccessEntry, String), String>,
}

async fn read_rows(store: &Store, tenant: Option<&str>) -> Result<Vec<StoredRow>, StoreError> {
    let sql_pg = "SELECT aggregate_id, sequence, payload::text FROM events WHERE aggregate_type = 'AccessLog' AND ($1::text IS NULL OR aggregate_id = $1) ORDER BY aggregate_id, sequence";
    let sql_lite = "SELECT aggregate_id, sequence, payload FROM events WHERE aggregate_type = 'AccessLog' AND (?1 IS NULL OR aggregate_id = ?1) ORDER BY aggregate_id, sequence";
    let rows: Vec<(String, i64, String)> = match store.backend() {
        Backend::Postgres(b) => sqlx::query(sql_pg)
            .bind(tenant)
            .fetch_all(b.pool())
            .await?
            .into_iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect(),
        Backend::Sqlite(b) => sqlx::query(sql_lite)
            .bind(tenant)
            .fetch_all(b.write_pool())
            .await?
            .into_iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect(),
    };
    Ok(rows
        .into_iter()
        .map(|(tenant, sequence, payload)| StoredRow {
            tenant,
            sequence,
            decoded: decode(&payload),
        })
        .collect())
}

async fn last_row(store: &Store, tenant: &str) -> Result<Option<StoredRow>, StoreError> {
    let sql_pg = "SELECT aggregate_id, sequence, payload::text FROM events WHERE aggregate_type = 'AccessLog' AND aggregate_id = $1 ORDER BY sequence DESC LIMIT 1";
    let sql_lite = "SELECT aggregate_id, sequence, payload FROM events WHERE aggregate_type = 'AccessLog' AND aggregate_id = ?1 ORDER BY sequence DESC LIMIT 1";
    let row: Option<(String, i64, String)> = match store.backend() {
        Backend::Postgres(b) => sqlx::query(sql_pg)
            .bind(tenant)
            .fetch_optional(b.pool())
            .await?
            .map(|r| (r.get(0), r.get(1), r.get(2))),
        Backend::Sqlite(b) => sqlx::query(sql_lite)
            .bind(tenant)
            .fetch_optional(b.write_pool())
            .await?
            .map(|r| (r.get(0), r.get(1), r.get(2))),
    };
    Ok(row.map(|(tenant, sequence, payload)| StoredRow {
        tenant,
        sequence,
        decoded: decode(&payload),
    }))
}

fn decode(payload: &str) -> Result<(AccessEntry, String), String> {
    serde_json::from_str::<AccessLogEvent>(payload)
        .map(|AccessLogEvent::Recorded { entry, hash }| (entry, hash))
        .map_err(|e| e.to_string())
}

/// `kaden audit export`: entries with `from <= at < to`, in log order (tenant, then seq), one
/// JSON object per line. Returns how many were written.
pub async fn export(
    store: &Store,
    tenant: Option<&str>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    out: &mut impl Write,
) -> Result<usize, String> {
    let rows = read_rows(store, tenant).await.map_err(|e| e.to_string())?;
    let mut written = 0;
    for row in rows {
        let (entry, hash) = row.decoded.map_err(|e| {
            format!(
                "access log of tenant {:?}, stored row {} cannot be read ({e}): run `kaden audit verify`",
                row.tenant, row.sequence
            )
        })?;
        if from.is_some_and(|f| entry.at < f) || to.is_some_and(|t| entry.at >= t) {
            continue;
        }
        let line =
            serde_json::to_string(&ExportedEntry { entry, hash }).map_err(|e| e.to_string())?;
        writeln!(out, "{line}").map_err(|e| format!("cannot write the export: {e}"))?;
        written += 1;
    }
    Ok(written)
}

/// What `kaden audit verify` found for one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantVerdict {
    pub tenant: String,
    /// Entries checked before the first break (all of them when intact).
    pub entries: u64,
    /// The hash of the last good entry (hex), to compare with an earlier export.
    pub last_hash: String,
    /// The first entry that is missing, out of place, altered or unreadable.
    pub broken: Option<ChainBreak>,
}

impl std::fmt::Display for TenantVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.broken {
            None => write!(
                f,
                "tenant {}: {} entries, hash chain intact, last hash {}",
                self.tenant, self.entries, self.last_hash
            ),
            Some(b) => write!(
                f,
                "tenant {}: BROKEN: {b} ({} entries before it are intact, last good hash {})",
                self.tenant, self.entries, self.last_hash
            ),
        }
    }
}

/// `kaden audit verify`: recomputes every tenant's chain from the stored rows.
pub async fn verify(store: &Store, tenant: Option<&str>) -> Result<Vec<TenantVerdict>, String> {
    let rows = read_rows(store, tenant).await.map_err(|e| e.to_string())?;
    let mut verdicts: Vec<TenantVerdict> = Vec::new();
    let mut head = ChainHead::GENESIS;
    for row in rows {
        if verdicts.last().is_none_or(|v| v.tenant != row.tenant) {
            head = ChainHead::GENESIS;
            verdicts.push(TenantVerdict {
                tenant: row.tenant.clone(),
                entries: 0,
                last_hash: audit_chain::hash_to_hex(&head.last_hash),
                broken: None,
            });
        }
        let Some(verdict) = verdicts.last_mut() else {
            continue;
        };
        if verdict.broken.is_some() {
            continue;
        }
        let expected = head.next_seq;
        let result = match &row.decoded {
            Err(_) => Err(ChainBreak {
                seq: expected,
                reason: BreakReason::HashMismatch,
            }),
            // The stream position must be the entry's own number: a moved row is out of place.
            Ok((entry, _)) if u64::try_from(row.sequence).ok() != Some(entry.seq) => {
                Err(ChainBreak {
                    seq: expected,
                    reason: BreakReason::OutOfOrder { found: entry.seq },
                })
            }
            Ok((entry, hash)) => match hash_from_hex(hash) {
                Ok(stored) => audit_chain::verify_from(head, [(entry.clone(), stored)]),
                Err(_) => Err(ChainBreak {
                    seq: entry.seq,
                    reason: BreakReason::HashMismatch,
                }),
            },
        };
        match result {
            Ok(next) => {
                head = next;
                verdict.entries += 1;
                verdict.last_hash = audit_chain::hash_to_hex(&head.last_hash);
            }
            Err(b) => verdict.broken = Some(b),
        }
    }
    Ok(verdicts)
}

/// Reads a time given by a user: RFC 3339 (`2026-11-23T09:00:00+09:00`) or a day
/// (`2026-11-23`) in the configured zone. A day given as the end of a period (`end = true`)
/// includes that whole day.
pub fn parse_time(
    what: &str,
    text: &str,
    zone: chrono_tz::Tz,
    end: bool,
) -> Result<DateTime<Utc>, crate::error::ApiError> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let day = if end {
            day.succ_opt().unwrap_or(day)
        } else {
            day
        };
        if let Some(at) = day
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(zone).earliest())
        {
            return Ok(at.with_timezone(&Utc));
        }
    }
    Err(crate::error::ApiError::new(
        ErrorCode::BadTime,
        format!(
            "{what}「{text}」は日時として読めません。2026-11-23 または 2026-11-23T09:00:00+09:00 の形で\
             指定してください ({what} {text:?} is not a time: give a day such as 2026-11-23 (in \
             {zone}) or an RFC 3339 time such as 2026-11-23T09:00:00+09:00)"
        ),
    ))
}

/// Reads an outcome name: `success`, `failure` or `refused`.
pub fn parse_outcome(text: &str) -> Result<Outcome, crate::error::ApiError> {
    [Outcome::Success, Outcome::Failure, Outcome::Refused]
        .into_iter()
        .find(|o| o.name().eq_ignore_ascii_case(text.trim()))
        .ok_or_else(|| {
            crate::error::ApiError::new(
                ErrorCode::BadOutcome,
                format!(
                    "結果「{text}」は success, failure, refused のいずれかで指定してください \
                     (outcome {text:?} is unknown: use success, failure or refused)"
                ),
            )
        })
}

/// A search over the access log from user-given texts (GraphQL arguments, URL query).
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct SearchArgs {
    pub user: Option<String>,
    pub user_id: Option<u64>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub operation: Option<String>,
    pub address: Option<String>,
    pub outcome: Option<String>,
}

impl SearchArgs {
    pub fn filter(
        &self,
        zone: chrono_tz::Tz,
    ) -> Result<kaden_projections::access_log::AccessFilter, crate::error::ApiError> {
        let non_empty = |s: &Option<String>| {
            s.as_ref()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Ok(kaden_projections::access_log::AccessFilter {
            user_id: self.user_id,
            username: non_empty(&self.user),
            from: non_empty(&self.from)
                .map(|t| parse_time("開始日時 from", &t, zone, false))
                .transpose()?,
            to: non_empty(&self.to)
                .map(|t| parse_time("終了日時 to", &t, zone, true))
                .transpose()?,
            operation: non_empty(&self.operation),
            address: non_empty(&self.address),
            outcome: non_empty(&self.outcome)
                .map(|o| parse_outcome(&o))
                .transpose()?,
        })
    }
}

/// `kaden audit …`: auditors' tools; they read the store directly, never the read models.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Write access-log entries as JSON lines in log order (tenant, then entry number), each
    /// with its chain hash: `kaden audit export --from 2026-11-01 --to 2026-11-30 > audit.jsonl`.
    Export {
        #[command(flatten)]
        store: crate::config::StoreArgs,
        /// First day (in the configured time zone) or RFC 3339 time to include.
        #[arg(long)]
        from: Option<String>,
        /// Last day to include (the whole day), or an RFC 3339 time to stop before.
        #[arg(long)]
        to: Option<String>,
        /// Only this tenant (default: every tenant).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Recompute every tenant's hash chain from the stored entries and report the first entry
    /// that was altered, removed or moved. Exits with status 1 when the chain is broken.
    Verify {
        #[command(flatten)]
        store: crate::config::StoreArgs,
        /// Only this tenant (default: every tenant).
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// Runs `kaden audit …`. `Ok(false)`: verification found a break.
pub async fn run_cli(command: AuditCommand) -> Result<bool, String> {
    match command {
        AuditCommand::Export {
            store,
            from,
            to,
            tenant,
        } => {
            let settings = store.settings()?;
            let zone = settings.time_zone;
            let from = from
                .map(|t| parse_time("--from", &t, zone, false))
                .transpose()
                .map_err(|e| e.message)?;
            let to = to
                .map(|t| parse_time("--to", &t, zone, true))
                .transpose()
                .map_err(|e| e.message)?;
            let store = Store::open(&settings.store())
                .await
                .map_err(|e| e.to_string())?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let result = export(&store, tenant.as_deref(), from, to, &mut out).await;
            store.close().await;
            let written = result?;
            out.flush().map_err(|e| e.to_string())?;
            eprintln!("exported {written} access-log entries");
            Ok(true)
        }
        AuditCommand::Verify { store, tenant } => {
            let settings = store.settings()?;
            let store = Store::open(&settings.store())
                .await
                .map_err(|e| e.to_string())?;
            let result = verify(&store, tenant.as_deref()).await;
            store.close().await;
            let verdicts = result?;
            if verdicts.is_empty() {
                println!("the access log is empty");
            }
            for v in &verdicts {
                println!("{v}");
            }
            Ok(verdicts.iter().all(|v| v.broken.is_none()))
        }
    }
}
