use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::access::Role;

/// Facts about a tenant and its user registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TenantEvent {
    Created {
        name: String,
    },
    /// `password_hash` is an argon2id PHC string; the password itself is never stored.
    UserRegistered {
        user_id: u64,
        username: String,
        display_name: String,
        role: Role,
        password_hash: String,
    },
    PasswordChanged {
        user_id: u64,
        password_hash: String,
    },
}

impl DomainEvent for TenantEvent {
    fn event_type(&self) -> String {
        match self {
            Self::Created { .. } => "TenantCreated",
            Self::UserRegistered { .. } => "UserRegistered",
            Self::PasswordChanged { .. } => "PasswordChanged",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}
