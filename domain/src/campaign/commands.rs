use serde::{Deserialize, Serialize};

use super::settings::{Attribute, AttributeTarget, ReportSettings};
use crate::metadata::TenantId;

/// What a user asks of a campaign. Every command names the caller's tenant; a campaign of
/// another tenant answers as if it did not exist. The `Set…` commands replace a whole list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CampaignCommand {
    Create {
        tenant_id: TenantId,
        name: String,
    },
    Rename {
        tenant_id: TenantId,
        name: String,
    },
    Activate {
        tenant_id: TenantId,
    },
    Deactivate {
        tenant_id: TenantId,
    },
    /// CMP-1: `contracted` is the tenant's pool of contracted numbers, looked up by the caller.
    SetCallerNumbers {
        tenant_id: TenantId,
        main: Option<String>,
        subs: Vec<String>,
        contracted: Vec<String>,
    },
    /// CMP-3: the custom statuses (the six fixed ones are always there).
    SetStatuses {
        tenant_id: TenantId,
        custom: Vec<String>,
    },
    /// CMP-4: the customer or result attributes.
    SetAttributes {
        tenant_id: TenantId,
        target: AttributeTarget,
        attributes: Vec<Attribute>,
    },
    SetProspectLevels {
        tenant_id: TenantId,
        levels: Vec<String>,
    },
    SetMemoTemplates {
        tenant_id: TenantId,
        templates: Vec<String>,
    },
    /// CMP-7. Recipient user ids are checked against the tenant by the caller.
    SetReport {
        tenant_id: TenantId,
        report: ReportSettings,
    },
}
