//! What a session records: started, refused (and why), ended (and why).

use super::*;

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginRefusal {
    UnknownUser,
    WrongPassword,
    Throttled,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionEndReason {
    Logout,
    IdleTimeout,
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SessionEvent {
    Started {
        tenant_id: TenantId,
        user_id: u64,
        token_hash: String,
    },
    LoginRefused {
        tenant_id: TenantId,
        username: String,
        reason: LoginRefusal,
    },
    Ended {
        reason: SessionEndReason,
    },
}

impl DomainEvent for SessionEvent {
    fn event_type(&self) -> String {
        match self {
            Self::Started { .. } => "SessionStarted",
            Self::LoginRefused { .. } => "LoginRefused",
            Self::Ended { .. } => "SessionEnded",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}
