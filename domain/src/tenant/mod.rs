//! The tenant: one customer company. Aggregate id: the tenant slug (`default`, `acme`).
//!
//! The tenant's stream holds its user registry, so that usernames stay unique and user ids are
//! handed out once and never reused (USR-3) under the store's optimistic concurrency; and the
//! tenant's settings: the licensed user quota and the security settings (SEC-1..3).
//!
//! Commands made by a user carry the acting role (`by`), so the USR-5 rules (SV manages OP, BIZ
//! and BY only and deletes no one) are decided here, next to the data they protect. New
//! passwords are checked against the password policy by the api before hashing (the aggregate
//! only ever sees hashes).

mod error;
mod events;

pub use error::TenantError;
pub use events::TenantEvent;

use std::collections::{BTreeMap, HashMap};

use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};

use crate::access::{Role, SecuritySettings};
use crate::error::validate_name;

mod commands;
pub use commands::*;

/// A user as the tenant remembers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserEntry {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub deleted: bool,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    created: bool,
    name: String,
    last_user_id: u64,
    users: BTreeMap<u64, UserEntry>,
    /// Lower-cased username → id of the active user holding it, for uniqueness regardless of
    /// case. **Decision**: a deleted user's username is free again (the new user gets a new id,
    /// so history by id never mixes the two).
    usernames: HashMap<String, u64>,
    user_quota: Option<u32>,
    security: SecuritySettings,
    #[serde(default)]
    licensed_lines: Option<u32>,
}

/// Usernames (login ids): 1 to 64 of ASCII letters, digits and `. _ - @`.
pub fn validate_username(raw: &str) -> Result<String, TenantError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(TenantError::UsernameLength {
            username: name.to_string(),
        });
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')))
    {
        return Err(TenantError::UsernameCharacter {
            username: name.to_string(),
            character: bad,
        });
    }
    Ok(name.to_string())
}

impl Tenant {
    pub const NAME_LABEL: &'static str = "テナント名";
    pub const DISPLAY_NAME_LABEL: &'static str = "氏名";

    fn active_users(&self) -> impl Iterator<Item = (&u64, &UserEntry)> {
        self.users.iter().filter(|(_, u)| !u.deleted)
    }

    /// An active (not deleted) user; a deleted one is reported as not found.
    fn user(&self, user_id: u64) -> Result<&UserEntry, TenantError> {
        self.users
            .get(&user_id)
            .filter(|u| !u.deleted)
            .ok_or(TenantError::UserNotFound { user_id })
    }

    fn managers(&self) -> usize {
        self.active_users()
            .filter(|(_, u)| u.role == Role::Mgr)
            .count()
    }

    fn may_manage(by: Role, target: Role) -> Result<(), TenantError> {
        if by.can_manage(target) {
            Ok(())
        } else {
            Err(TenantError::CannotManageRole { by, target })
        }
    }

    /// Checks a new user and returns the event registering it.
    fn register(
        &self,
        username: &str,
        display_name: &str,
        role: Role,
        password_hash: String,
    ) -> Result<TenantEvent, TenantError> {
        if !self.created {
            return Err(TenantError::NotFound);
        }
        let username = validate_username(username)?;
        if let Some(&existing) = self.usernames.get(&username.to_lowercase()) {
            let taken = self.users[&existing].username.clone();
            return Err(TenantError::UsernameTaken {
                username,
                existing: taken,
            });
        }
        let display_name = validate_name(Self::DISPLAY_NAME_LABEL, display_name)?;
        if let Some(quota) = self.user_quota
            && self.active_users().count() >= quota as usize
        {
            return Err(TenantError::QuotaExceeded { quota });
        }
        Ok(TenantEvent::UserRegistered {
            user_id: self.last_user_id + 1,
            username,
            display_name,
            role,
            password_hash,
        })
    }

    fn decide(&self, command: TenantCommand) -> Result<Vec<TenantEvent>, TenantError> {
        if !self.created && !matches!(command, TenantCommand::Create { .. }) {
            return Err(TenantError::NotFound);
        }
        Ok(match command {
            TenantCommand::Create { name } => {
                if self.created {
                    return Err(TenantError::AlreadyExists);
                }
                let name = validate_name(Self::NAME_LABEL, &name)?;
                vec![TenantEvent::Created { name }]
            }
            TenantCommand::RegisterUser {
                username,
                display_name,
                role,
                password_hash,
            } => vec![self.register(&username, &display_name, role, password_hash)?],
            TenantCommand::CreateUser {
                by,
                username,
                display_name,
                role,
                password_hash,
            } => {
                Self::may_manage(by, role)?;
                vec![self.register(&username, &display_name, role, password_hash)?]
            }
            TenantCommand::ChangePassword {
                user_id,
                password_hash,
            } => {
                self.user(user_id)?;
                vec![TenantEvent::PasswordChanged {
                    user_id,
                    password_hash,
                }]
            }
            TenantCommand::ResetPassword {
                by,
                user_id,
                password_hash,
            } => {
                let user = self.user(user_id)?;
                Self::may_manage(by, user.role)?;
                vec![TenantEvent::PasswordReset {
                    user_id,
                    password_hash,
                }]
            }
            TenantCommand::UpdateUser {
                by,
                user_id,
                display_name,
                role,
            } => {
                let user = self.user(user_id)?;
                Self::may_manage(by, user.role)?;
                let mut events = Vec::new();
                if let Some(raw) = display_name {
                    let display_name = validate_name(Self::DISPLAY_NAME_LABEL, &raw)?;
                    if display_name != user.display_name {
                        events.push(TenantEvent::UserRenamed {
                            user_id,
                            from: user.display_name.clone(),
                            display_name,
                        });
                    }
                }
                if let Some(role) = role.filter(|r| *r != user.role) {
                    Self::may_manage(by, role)?;
                    if user.role == Role::Mgr && self.managers() == 1 {
                        return Err(TenantError::LastManager { user_id });
                    }
                    events.push(TenantEvent::UserRoleChanged {
                        user_id,
                        from: user.role,
                        role,
                    });
                }
                events
            }
            TenantCommand::DeleteUser {
                by,
                by_user,
                user_id,
            } => {
                if !by.can_delete_users() {
                    return Err(TenantError::CannotDelete { by });
                }
                let user = self.user(user_id)?;
                if by_user == user_id {
                    return Err(TenantError::CannotDeleteSelf);
                }
                if user.role == Role::Mgr && self.managers() == 1 {
                    return Err(TenantError::LastManager { user_id });
                }
                vec![TenantEvent::UserDeleted {
                    user_id,
                    username: user.username.clone(),
                    display_name: user.display_name.clone(),
                }]
            }
            TenantCommand::SetUserQuota { quota } => {
                let active = self.active_users().count();
                if let Some(quota) = quota.filter(|q| (*q as usize) < active) {
                    return Err(TenantError::QuotaBelowUsers { quota, active });
                }
                if quota == self.user_quota {
                    Vec::new()
                } else {
                    vec![TenantEvent::UserQuotaSet { quota }]
                }
            }
            TenantCommand::SetContractedNumbers { numbers } => {
                let mut out: Vec<String> = Vec::with_capacity(numbers.len());
                for raw in &numbers {
                    let n = crate::list::phone::normalise(raw)
                        .map_err(TenantError::BadNumber)?
                        .number
                        .as_str()
                        .to_string();
                    if !out.contains(&n) {
                        out.push(n);
                    }
                }
                vec![TenantEvent::ContractedNumbersSet { numbers: out }]
            }
            TenantCommand::SetLicensedLines { lines } => {
                if lines == self.licensed_lines {
                    Vec::new()
                } else {
                    vec![TenantEvent::LicensedLinesSet { lines }]
                }
            }
            TenantCommand::SetSipPassword {
                user_id,
                sip_user,
                realm,
                ha1_md5,
                ha1_sha256,
            } => {
                self.user(user_id)?;
                vec![TenantEvent::SipPasswordSet {
                    user_id,
                    sip_user,
                    realm,
                    ha1_md5,
                    ha1_sha256,
                }]
            }
            TenantCommand::ChangeSecuritySettings { settings } => {
                settings.validate()?;
                if settings == self.security {
                    Vec::new()
                } else {
                    vec![TenantEvent::SecuritySettingsChanged { settings }]
                }
            }
        })
    }
}

impl Aggregate for Tenant {
    const TYPE: &'static str = "Tenant";
    type Command = TenantCommand;
    type Event = TenantEvent;
    type Error = TenantError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            TenantEvent::Created { name } => {
                self.created = true;
                self.name = name;
            }
            TenantEvent::UserRegistered {
                user_id,
                username,
                display_name,
                role,
                ..
            } => {
                self.last_user_id = self.last_user_id.max(user_id);
                self.usernames.insert(username.to_lowercase(), user_id);
                self.users.insert(
                    user_id,
                    UserEntry {
                        username,
                        display_name,
                        role,
                        deleted: false,
                    },
                );
            }
            TenantEvent::PasswordChanged { .. } | TenantEvent::PasswordReset { .. } => {}
            TenantEvent::UserRenamed {
                user_id,
                display_name,
                ..
            } => {
                if let Some(user) = self.users.get_mut(&user_id) {
                    user.display_name = display_name;
                }
            }
            TenantEvent::UserRoleChanged { user_id, role, .. } => {
                if let Some(user) = self.users.get_mut(&user_id) {
                    user.role = role;
                }
            }
            TenantEvent::UserDeleted { user_id, .. } => {
                if let Some(user) = self.users.get_mut(&user_id) {
                    user.deleted = true;
                    self.usernames.remove(&user.username.to_lowercase());
                }
            }
            TenantEvent::UserQuotaSet { quota } => self.user_quota = quota,
            TenantEvent::ContractedNumbersSet { .. } => {}
            TenantEvent::SecuritySettingsChanged { settings } => self.security = settings,
            TenantEvent::LicensedLinesSet { lines } => self.licensed_lines = lines,
            TenantEvent::SipPasswordSet { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests;
