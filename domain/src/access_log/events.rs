//! What the access log records: numbered, hash-chained entries (AUD-1).

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AccessLogEvent {
    /// One access with its chain hash (64 lowercase hex digits).
    Recorded { entry: AccessEntry, hash: String },
}

impl DomainEvent for AccessLogEvent {
    fn event_type(&self) -> String {
        match self {
            Self::Recorded { .. } => "AccessRecorded".to_string(),
        }
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}
