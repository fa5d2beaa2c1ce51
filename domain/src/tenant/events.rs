use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::access::{Role, SecuritySettings};

/// Facts about a tenant, its user registry and its settings. Stored names never change.
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
    /// The user changed their own password (or the system set it): the password's age restarts.
    PasswordChanged {
        user_id: u64,
        password_hash: String,
    },
    /// A manager (or a supervisor, for lower roles) set a new password: the user must change it
    /// at the next login (SEC-2).
    PasswordReset {
        user_id: u64,
        password_hash: String,
    },
    /// USR-4: the display name changed; every view that shows the user by id shows the new one.
    UserRenamed {
        user_id: u64,
        from: String,
        display_name: String,
    },
    UserRoleChanged {
        user_id: u64,
        from: Role,
        role: Role,
    },
    /// USR-3: irreversible; the id is never reused, the seat is freed, the name stays on history.
    UserDeleted {
        user_id: u64,
        username: String,
        display_name: String,
    },
    /// The licensed user quota (seats); `None`: unlimited.
    UserQuotaSet {
        quota: Option<u32>,
    },
    /// CMP-1: the tenant's contracted caller numbers (national digits), the pool campaigns
    /// take their caller numbers from.
    ContractedNumbersSet {
        numbers: Vec<String>,
    },
    /// SEC-1..3 and the password policy, as a whole.
    SecuritySettingsChanged {
        settings: SecuritySettings,
    },
    /// MON-3: the licensed concurrent lines; `None`: the deployment's default.
    LicensedLinesSet {
        lines: Option<u32>,
    },
    /// A user's SIP password changed; only its digest HA1 values are kept.
    SipPasswordSet {
        user_id: u64,
        sip_user: String,
        realm: String,
        ha1_md5: String,
        ha1_sha256: String,
    },
}

impl DomainEvent for TenantEvent {
    fn event_type(&self) -> String {
        match self {
            Self::Created { .. } => "TenantCreated",
            Self::UserRegistered { .. } => "UserRegistered",
            Self::PasswordChanged { .. } => "PasswordChanged",
            Self::PasswordReset { .. } => "PasswordReset",
            Self::UserRenamed { .. } => "UserRenamed",
            Self::UserRoleChanged { .. } => "UserRoleChanged",
            Self::UserDeleted { .. } => "UserDeleted",
            Self::UserQuotaSet { .. } => "UserQuotaSet",
            Self::ContractedNumbersSet { .. } => "ContractedNumbersSet",
            Self::SecuritySettingsChanged { .. } => "SecuritySettingsChanged",
            Self::LicensedLinesSet { .. } => "LicensedLinesSet",
            Self::SipPasswordSet { .. } => "SipPasswordSet",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}
