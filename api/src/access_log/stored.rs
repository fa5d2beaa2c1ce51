//! The stored rows, read directly from the store (never the read models): `kaden audit export`
//! and `kaden audit verify` check what is on disk.

use super::*;

/// One exported entry: the stored entry and its stored hash.
#[derive(Debug, Serialize)]
pub struct ExportedEntry {
    #[serde(flatten)]
    pub entry: AccessEntry,
    pub hash: String,
}

/// A stored access-log row as read back (undecodable rows are kept as an error).
pub(super) struct StoredRow {
    pub(super) tenant: String,
    pub(super) sequence: i64,
    pub(super) decoded: Result<(AccessEntry, String), String>,
}

pub(super) async fn read_rows(
    store: &Store,
    tenant: Option<&str>,
) -> Result<Vec<StoredRow>, StoreError> {
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

pub(super) async fn last_row(store: &Store, tenant: &str) -> Result<Option<StoredRow>, StoreError> {
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

pub(super) fn decode(payload: &str) -> Result<(AccessEntry, String), String> {
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
