//! The commands of a tenant: users, passwords, SIP accounts, quotas, contracted numbers, security settings.

use super::*;

/// Commands on a tenant. The tenant is the aggregate id; the api derives it from the caller's
/// session, never from input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TenantCommand {
    Create {
        name: String,
    },
    /// Registers a user for the system itself (first run, `kaden admin create`): no acting
    /// role, but the user quota applies. `password_hash` is a PHC string (argon2id).
    RegisterUser {
        username: String,
        display_name: String,
        role: Role,
        password_hash: String,
    },
    /// A user's own password change (or the system's): the password's age restarts.
    ChangePassword {
        user_id: u64,
        password_hash: String,
    },
    /// USR-5: a user of role `by` creates a user.
    CreateUser {
        by: Role,
        username: String,
        display_name: String,
        role: Role,
        password_hash: String,
    },
    /// USR-4/USR-5: renames and/or changes the role of a user; `None` keeps the value.
    UpdateUser {
        by: Role,
        user_id: u64,
        display_name: Option<String>,
        role: Option<Role>,
    },
    /// USR-5: sets a new password for someone else; they must change it at their next login.
    ResetPassword {
        by: Role,
        user_id: u64,
        password_hash: String,
    },
    /// USR-3: deletes a user for good. `by_user` is the acting user (who cannot delete
    /// themselves).
    DeleteUser {
        by: Role,
        by_user: u64,
        user_id: u64,
    },
    /// The licensed user quota (a contract setting); `None`: unlimited.
    SetUserQuota {
        quota: Option<u32>,
    },
    /// CMP-1: the contracted caller numbers (a contract setting, like the user quota).
    SetContractedNumbers {
        numbers: Vec<String>,
    },
    /// SEC-1..3: replaces the security settings (the api checks the caller is MGR).
    ChangeSecuritySettings {
        settings: SecuritySettings,
    },
    /// MON-3: the licensed concurrent lines (a contract setting); `None`: the deployment's
    /// default.
    SetLicensedLines {
        lines: Option<u32>,
    },
    /// A user's SIP password for their softphone, as the digest HA1 values the registrar needs
    /// (MD5 and SHA-256 of `sip user:realm:password`); the password itself is never stored.
    SetSipPassword {
        user_id: u64,
        sip_user: String,
        realm: String,
        ha1_md5: String,
        ha1_sha256: String,
    },
}
