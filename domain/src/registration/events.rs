//! What a registration change records: the SIP user's whole binding set.

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SipRegistrationEvent {
    BindingsChanged {
        tenant_id: TenantId,
        sip_user: String,
        at: DateTime<Utc>,
        bindings: Vec<SipBinding>,
    },
}

impl DomainEvent for SipRegistrationEvent {
    fn event_type(&self) -> String {
        match self {
            Self::BindingsChanged { .. } => "SipBindingsChanged",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}
