use serde::{Deserialize, Serialize};

use crate::metadata::TenantId;

/// What a user asks of a campaign. Every command names the caller's tenant; a campaign of
/// another tenant answers as if it did not exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CampaignCommand {
    Create { tenant_id: TenantId, name: String },
    Rename { tenant_id: TenantId, name: String },
    Activate { tenant_id: TenantId },
    Deactivate { tenant_id: TenantId },
}
