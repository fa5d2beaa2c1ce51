use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::metadata::TenantId;

/// Facts about a campaign. Stored names (`event_type`) never change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CampaignEvent {
    /// A new campaign, active from the start (CMP-6).
    Created {
        tenant_id: TenantId,
        name: String,
    },
    Renamed {
        from: String,
        name: String,
    },
    Activated,
    Deactivated,
}

impl DomainEvent for CampaignEvent {
    fn event_type(&self) -> String {
        match self {
            Self::Created { .. } => "CampaignCreated",
            Self::Renamed { .. } => "CampaignRenamed",
            Self::Activated => "CampaignActivated",
            Self::Deactivated => "CampaignDeactivated",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}
