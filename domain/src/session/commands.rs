//! The commands of a session.

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SessionCommand {
    Start {
        tenant_id: TenantId,
        user_id: u64,
        token_hash: String,
    },
    Refuse {
        tenant_id: TenantId,
        username: String,
        reason: LoginRefusal,
    },
    End {
        reason: SessionEndReason,
    },
}
