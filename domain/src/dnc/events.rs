//! What the do-not-call registry records.

use super::*;

/// Facts about the registry. Stored names never change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DncEvent {
    Registered {
        tenant_id: TenantId,
        registrations: Vec<DncRegistration>,
    },
    Edited {
        id: u64,
        number: PhoneNumber,
        scope: DncScope,
    },
    Unregistered {
        ids: Vec<u64>,
    },
    UnregisteredAll {
        count: u64,
    },
}

impl DomainEvent for DncEvent {
    fn event_type(&self) -> String {
        match self {
            Self::Registered { .. } => "DncRegistered",
            Self::Edited { .. } => "DncEdited",
            Self::Unregistered { .. } => "DncUnregistered",
            Self::UnregisteredAll { .. } => "DncUnregisteredAll",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}
