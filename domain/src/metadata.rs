//! Metadata carried by every event: who, for which tenant, from where, when.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A tenant (one customer company). A short slug such as `default` or `acme`.
pub type TenantId = String;

/// Metadata stored beside every event (cqrs-es keeps it as a string map).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    /// The tenant whose data this event changes.
    pub tenant_id: TenantId,
    /// The acting user, absent for the system itself (first run, timers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<u64>,
    /// The request that caused the event, for tracing and idempotency.
    pub request_id: String,
    /// The client's address (`ip` or `ip:port`), or `local` for the command line.
    pub client_addr: String,
    /// Wall-clock time the command was accepted (UTC; shown in the configured zone).
    pub recorded_at: DateTime<Utc>,
}

impl EventMetadata {
    /// The string map cqrs-es stores.
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut map = HashMap::with_capacity(5);
        map.insert("tenant_id".into(), self.tenant_id.clone());
        if let Some(user) = self.user_id {
            map.insert("user_id".into(), user.to_string());
        }
        map.insert("request_id".into(), self.request_id.clone());
        map.insert("client_addr".into(), self.client_addr.clone());
        map.insert("recorded_at".into(), self.recorded_at.to_rfc3339());
        map
    }
}

/// The stored form: every value a string, as cqrs-es writes it.
#[derive(Deserialize)]
struct StoredMetadata<'a> {
    #[serde(borrow)]
    tenant_id: std::borrow::Cow<'a, str>,
    #[serde(default)]
    user_id: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    request_id: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    client_addr: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    recorded_at: std::borrow::Cow<'a, str>,
}

/// Metadata that could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("event metadata is not a JSON object of strings: {0}")]
    Json(#[from] serde_json::Error),
    #[error("event metadata has an unreadable user_id {0:?}")]
    UserId(String),
    #[error("event metadata has an unreadable recorded_at {0:?}")]
    RecordedAt(String),
}

impl EventMetadata {
    /// Reads the stored JSON text back.
    pub fn from_json(text: &str) -> Result<Self, MetadataError> {
        let raw: StoredMetadata<'_> = serde_json::from_str(text)?;
        let user_id = match raw.user_id {
            Some(u) => Some(
                u.parse()
                    .map_err(|_| MetadataError::UserId(u.to_string()))?,
            ),
            None => None,
        };
        let recorded_at = DateTime::parse_from_rfc3339(&raw.recorded_at)
            .map_err(|_| MetadataError::RecordedAt(raw.recorded_at.to_string()))?
            .with_timezone(&Utc);
        Ok(Self {
            tenant_id: raw.tenant_id.into_owned(),
            user_id,
            request_id: raw.request_id.into_owned(),
            client_addr: raw.client_addr.into_owned(),
            recorded_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_through_the_stored_map() {
        let meta = EventMetadata {
            tenant_id: "acme".into(),
            user_id: Some(7),
            request_id: "r-1".into(),
            client_addr: "127.0.0.1".into(),
            recorded_at: DateTime::parse_from_rfc3339("2026-11-23T01:02:03.456Z")
                .unwrap()
                .with_timezone(&Utc),
        };
        let text = serde_json::to_string(&meta.to_map()).unwrap();
        assert_eq!(EventMetadata::from_json(&text).unwrap(), meta);
        let system = EventMetadata {
            user_id: None,
            ..meta
        };
        let text = serde_json::to_string(&system.to_map()).unwrap();
        assert_eq!(EventMetadata::from_json(&text).unwrap(), system);
        assert!(matches!(
            EventMetadata::from_json("{\"tenant_id\":\"a\",\"recorded_at\":\"x\"}"),
            Err(MetadataError::RecordedAt(_))
        ));
    }
}
