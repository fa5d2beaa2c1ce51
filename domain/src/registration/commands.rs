//! The command of a registration change.

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SipRegistrationCommand {
    Record {
        tenant_id: TenantId,
        sip_user: String,
        /// When the REGISTER that set these bindings was accepted.
        at: DateTime<Utc>,
        bindings: Vec<SipBinding>,
    },
}
