use serde::{Deserialize, Serialize};

use crate::metadata::TenantId;

/// What a user asks of a folder through cqrs-es. Imports (many rows) do not come through here:
/// see [`super::ListFolder::decide_import`], which writes the rows beside the folder's stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FolderCommand {
    /// An empty folder with its column names (LST-2d); one must be `電話番号`. The campaign's
    /// existence is checked by the caller before.
    CreateEmpty {
        tenant_id: TenantId,
        campaign_id: String,
        number: u32,
        name: String,
        columns: Vec<String>,
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
    SetPermittedUsers {
        tenant_id: TenantId,
        users: Vec<u64>,
    },
    /// Display order as column names, and display names aligned with `order` (LST-5).
    ArrangeColumns {
        tenant_id: TenantId,
        order: Vec<String>,
        display_names: Vec<String>,
    },
    /// New values for some columns of one customer, by column name.
    EditCustomer {
        tenant_id: TenantId,
        customer: u32,
        values: Vec<(String, String)>,
    },
    DeleteCustomers {
        tenant_id: TenantId,
        customers: Vec<u32>,
    },
    Delete {
        tenant_id: TenantId,
    },
}
