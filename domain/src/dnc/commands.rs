//! The commands of the do-not-call registry (DNC-1..3).

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DncCommand {
    /// Registers numbers for `scope`; a number already registered is widened to cover it.
    Register {
        tenant_id: TenantId,
        numbers: Vec<PhoneNumber>,
        scope: DncScope,
        source: DncSource,
    },
    /// Changes one registration's number and campaigns (DNC-2).
    Edit {
        tenant_id: TenantId,
        id: u64,
        number: PhoneNumber,
        scope: DncScope,
    },
    Unregister {
        tenant_id: TenantId,
        ids: Vec<u64>,
    },
    UnregisterAll {
        tenant_id: TenantId,
    },
}
