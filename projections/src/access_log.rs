//! Access-log read model (AUD-1): every tenant's access entries in log order, searchable by
//! user, period, operation, address and outcome, newest first, with a `seq` cursor.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use kaden_domain::access::{AccessEntry, Outcome};
use kaden_domain::access_log::AccessLogEvent;
use kaden_domain::event::KadenEvent;
use kaden_domain::metadata::TenantId;
use serde::{Deserialize, Serialize};

use crate::Change;
use crate::log::StoredEvent;

/// One stored access with its chain hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessView {
    pub entry: AccessEntry,
    pub hash: String,
}

/// What to search for; every field left `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessFilter {
    pub user_id: Option<u64>,
    /// The username as recorded, ignoring letter case.
    pub username: Option<String>,
    /// From this time (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Until this time (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// Part of the operation name, ignoring letter case.
    pub operation: Option<String>,
    /// The start of the address (`192.0.2.` matches the whole /24).
    pub address: Option<String>,
    pub outcome: Option<Outcome>,
}

impl AccessFilter {
    pub fn matches(&self, e: &AccessEntry) -> bool {
        self.user_id.is_none_or(|id| e.user_id == Some(id))
            && self
                .username
                .as_ref()
                .is_none_or(|u| e.username.eq_ignore_ascii_case(u))
            && self.from.is_none_or(|from| e.at >= from)
            && self.to.is_none_or(|to| e.at < to)
            && self
                .operation
                .as_ref()
                .is_none_or(|op| e.operation.to_lowercase().contains(&op.to_lowercase()))
            && self
                .address
                .as_ref()
                .is_none_or(|a| e.address.starts_with(a.as_str()))
            && self.outcome.is_none_or(|o| e.outcome == o)
    }
}

/// A page of search results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPage<'a> {
    /// Newest first.
    pub entries: Vec<&'a AccessView>,
    /// Whether older matching entries follow (ask again with the last entry's `seq`).
    pub has_more: bool,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessLogModel {
    /// Tenant → entries in `seq` order.
    by_tenant: HashMap<TenantId, Vec<AccessView>>,
}

impl AccessLogModel {
    pub fn apply(&mut self, event: &StoredEvent, _changes: &mut Vec<Change>) {
        let KadenEvent::AccessLog(AccessLogEvent::Recorded { entry, hash }) = &event.event else {
            return;
        };
        self.by_tenant
            .entry(event.aggregate_id.clone())
            .or_default()
            .push(AccessView {
                entry: entry.clone(),
                hash: hash.clone(),
            });
    }

    /// Matching entries older than `before` (a `seq` cursor), newest first, at most `first`.
    pub fn search(
        &self,
        tenant: &str,
        filter: &AccessFilter,
        before: Option<u64>,
        first: usize,
    ) -> AccessPage<'_> {
        let Some(all) = self.by_tenant.get(tenant) else {
            return AccessPage {
                entries: Vec::new(),
                has_more: false,
            };
        };
        let end = before.map_or(all.len(), |b| all.partition_point(|v| v.entry.seq < b));
        let mut matching = all[..end].iter().rev().filter(|v| filter.matches(&v.entry));
        let entries: Vec<&AccessView> = matching.by_ref().take(first).collect();
        let has_more = matching.next().is_some();
        AccessPage { entries, has_more }
    }

    /// Every matching entry, oldest first (for the CSV export).
    pub fn all<'a>(
        &'a self,
        tenant: &str,
        filter: &'a AccessFilter,
    ) -> impl Iterator<Item = &'a AccessView> + 'a {
        self.by_tenant
            .get(tenant)
            .into_iter()
            .flatten()
            .filter(move |v| filter.matches(&v.entry))
    }

    pub fn len(&self, tenant: &str) -> usize {
        self.by_tenant.get(tenant).map_or(0, Vec::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::event;
    use chrono::TimeZone;

    fn recorded(
        tenant: &str,
        seq: u64,
        user: &str,
        operation: &str,
        outcome: Outcome,
    ) -> StoredEvent {
        let entry = AccessEntry {
            seq,
            at: Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap()
                + chrono::Duration::minutes(seq as i64),
            tenant: tenant.into(),
            user_id: Some(seq % 2),
            username: user.into(),
            operation: operation.into(),
            address: format!("192.0.2.{seq}"),
            outcome,
            detail: String::new(),
        };
        event(
            tenant,
            tenant,
            KadenEvent::AccessLog(AccessLogEvent::Recorded {
                entry,
                hash: "00".repeat(32),
            }),
        )
    }

    fn model() -> AccessLogModel {
        let mut m = AccessLogModel::default();
        let mut changes = Vec::new();
        for seq in 1..=10 {
            let outcome = if seq % 3 == 0 {
                Outcome::Refused
            } else {
                Outcome::Success
            };
            let op = if seq % 2 == 0 {
                "campaigns"
            } else {
                "createCampaign"
            };
            m.apply(&recorded("acme", seq, "yamada", op, outcome), &mut changes);
        }
        m.apply(
            &recorded("other", 1, "yamada", "campaigns", Outcome::Success),
            &mut changes,
        );
        m
    }

    fn seqs(page: &AccessPage<'_>) -> Vec<u64> {
        page.entries.iter().map(|v| v.entry.seq).collect()
    }

    #[test]
    fn aud_1_newest_first_with_a_cursor() {
        let m = model();
        let all = AccessFilter::default();
        let page = m.search("acme", &all, None, 4);
        assert_eq!(seqs(&page), [10, 9, 8, 7]);
        assert!(page.has_more);
        let page = m.search("acme", &all, Some(7), 4);
        assert_eq!(seqs(&page), [6, 5, 4, 3]);
        let page = m.search("acme", &all, Some(3), 4);
        assert_eq!(seqs(&page), [2, 1]);
        assert!(!page.has_more);
        assert_eq!(m.len("other"), 1);
        assert!(m.search("nobody", &all, None, 5).entries.is_empty());
    }

    #[test]
    fn aud_1_filters_by_user_period_operation_address_and_outcome() {
        let m = model();
        let at = |minute| Utc.with_ymd_and_hms(2026, 11, 23, 0, minute, 0).unwrap();
        let cases = [
            (
                AccessFilter {
                    outcome: Some(Outcome::Refused),
                    ..Default::default()
                },
                vec![9, 6, 3],
            ),
            (
                AccessFilter {
                    operation: Some("CREATE".into()),
                    ..Default::default()
                },
                vec![9, 7, 5, 3, 1],
            ),
            (
                AccessFilter {
                    from: Some(at(4)),
                    to: Some(at(6)),
                    ..Default::default()
                },
                vec![5, 4],
            ),
            (
                AccessFilter {
                    address: Some("192.0.2.1".into()),
                    ..Default::default()
                },
                vec![10, 1],
            ),
            (
                AccessFilter {
                    user_id: Some(0),
                    outcome: Some(Outcome::Success),
                    ..Default::default()
                },
                vec![10, 8, 4, 2],
            ),
            (
                AccessFilter {
                    username: Some("YAMADA".into()),
                    from: Some(at(10)),
                    ..Default::default()
                },
                vec![10],
            ),
            (
                AccessFilter {
                    username: Some("suzuki".into()),
                    ..Default::default()
                },
                vec![],
            ),
        ];
        for (filter, expected) in cases {
            assert_eq!(
                seqs(&m.search("acme", &filter, None, 100)),
                expected,
                "{filter:?}"
            );
        }
    }
}
