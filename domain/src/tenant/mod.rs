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
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;

    type Given = TestFramework<Tenant>;

    fn created() -> TenantEvent {
        TenantEvent::Created {
            name: "Acme".into(),
        }
    }

    fn register(username: &str) -> TenantCommand {
        TenantCommand::RegisterUser {
            username: username.into(),
            display_name: "山田 太郎".into(),
            role: Role::Op,
            password_hash: "$argon2id$stub".into(),
        }
    }

    fn registered(user_id: u64, username: &str) -> TenantEvent {
        TenantEvent::UserRegistered {
            user_id,
            username: username.into(),
            display_name: "山田 太郎".into(),
            role: Role::Op,
            password_hash: "$argon2id$stub".into(),
        }
    }

    #[test]
    fn usr_3_user_ids_count_up_from_one() {
        Given::with(())
            .given(vec![created()])
            .when(register("yamada"))
            .then_expect_events(vec![registered(1, "yamada")]);
        Given::with(())
            .given(vec![created(), registered(1, "yamada")])
            .when(register("suzuki"))
            .then_expect_events(vec![registered(2, "suzuki")]);
    }

    #[test]
    fn usr_3_usernames_are_unique_ignoring_case() {
        Given::with(())
            .given(vec![created(), registered(1, "yamada")])
            .when(register("Yamada"))
            .then_expect_error(TenantError::UsernameTaken {
                username: "Yamada".into(),
                existing: "yamada".into(),
            });
    }

    #[test]
    fn usernames_refuse_spaces_and_empty() {
        Given::with(())
            .given(vec![created()])
            .when(register("yama da"))
            .then_expect_error(TenantError::UsernameCharacter {
                username: "yama da".into(),
                character: ' ',
            });
        Given::with(())
            .given(vec![created()])
            .when(register(""))
            .then_expect_error(TenantError::UsernameLength {
                username: String::new(),
            });
    }

    #[test]
    fn users_need_a_tenant() {
        Given::with(())
            .given_no_previous_events()
            .when(register("yamada"))
            .then_expect_error(TenantError::NotFound);
    }

    #[test]
    fn password_change_needs_a_known_user() {
        Given::with(())
            .given(vec![created()])
            .when(TenantCommand::ChangePassword {
                user_id: 9,
                password_hash: "h".into(),
            })
            .then_expect_error(TenantError::UserNotFound { user_id: 9 });
    }

    fn with_role(user_id: u64, username: &str, role: Role) -> TenantEvent {
        TenantEvent::UserRegistered {
            user_id,
            username: username.into(),
            display_name: format!("{username}さん"),
            role,
            password_hash: "$argon2id$stub".into(),
        }
    }

    /// A tenant with MGR 1 `boss`, SV 2 `sv`, OP 3 `op`.
    fn staffed() -> Vec<TenantEvent> {
        vec![
            created(),
            with_role(1, "boss", Role::Mgr),
            with_role(2, "sv", Role::Sv),
            with_role(3, "op", Role::Op),
        ]
    }

    fn create(by: Role, username: &str, role: Role) -> TenantCommand {
        TenantCommand::CreateUser {
            by,
            username: username.into(),
            display_name: format!("{username}さん"),
            role,
            password_hash: "$argon2id$stub".into(),
        }
    }

    #[test]
    fn usr_5_sv_creates_only_lower_roles() {
        Given::with(())
            .given(staffed())
            .when(create(Role::Sv, "biz", Role::Biz))
            .then_expect_events(vec![with_role(4, "biz", Role::Biz)]);
        for role in [Role::Mgr, Role::Sv] {
            Given::with(())
                .given(staffed())
                .when(create(Role::Sv, "x", role))
                .then_expect_error(TenantError::CannotManageRole {
                    by: Role::Sv,
                    target: role,
                });
        }
        Given::with(())
            .given(staffed())
            .when(create(Role::Op, "x", Role::By))
            .then_expect_error(TenantError::CannotManageRole {
                by: Role::Op,
                target: Role::By,
            });
    }

    #[test]
    fn usr_5_sv_changes_lower_roles_only_and_not_into_higher_ones() {
        Given::with(())
            .given(staffed())
            .when(TenantCommand::UpdateUser {
                by: Role::Sv,
                user_id: 3,
                display_name: Some(" 新しい名前 ".into()),
                role: Some(Role::By),
            })
            .then_expect_events(vec![
                TenantEvent::UserRenamed {
                    user_id: 3,
                    from: "opさん".into(),
                    display_name: "新しい名前".into(),
                },
                TenantEvent::UserRoleChanged {
                    user_id: 3,
                    from: Role::Op,
                    role: Role::By,
                },
            ]);
        Given::with(())
            .given(staffed())
            .when(TenantCommand::UpdateUser {
                by: Role::Sv,
                user_id: 3,
                display_name: None,
                role: Some(Role::Sv),
            })
            .then_expect_error(TenantError::CannotManageRole {
                by: Role::Sv,
                target: Role::Sv,
            });
        Given::with(())
            .given(staffed())
            .when(TenantCommand::UpdateUser {
                by: Role::Sv,
                user_id: 1,
                display_name: Some("x".into()),
                role: None,
            })
            .then_expect_error(TenantError::CannotManageRole {
                by: Role::Sv,
                target: Role::Mgr,
            });
        Given::with(())
            .given(staffed())
            .when(TenantCommand::ResetPassword {
                by: Role::Sv,
                user_id: 1,
                password_hash: "h".into(),
            })
            .then_expect_error(TenantError::CannotManageRole {
                by: Role::Sv,
                target: Role::Mgr,
            });
    }

    #[test]
    fn usr_4_unchanged_values_write_nothing_and_names_are_checked() {
        Given::with(())
            .given(staffed())
            .when(TenantCommand::UpdateUser {
                by: Role::Mgr,
                user_id: 3,
                display_name: Some("opさん".into()),
                role: Some(Role::Op),
            })
            .then_expect_events(vec![]);
        Given::with(())
            .given(staffed())
            .when(TenantCommand::UpdateUser {
                by: Role::Mgr,
                user_id: 3,
                display_name: Some(" ".into()),
                role: None,
            })
            .then_expect_error(TenantError::Name(crate::error::NameError::Empty {
                what: Tenant::DISPLAY_NAME_LABEL,
            }));
    }

    #[test]
    fn usr_5_only_mgr_deletes_and_not_itself() {
        Given::with(())
            .given(staffed())
            .when(TenantCommand::DeleteUser {
                by: Role::Sv,
                by_user: 2,
                user_id: 3,
            })
            .then_expect_error(TenantError::CannotDelete { by: Role::Sv });
        Given::with(())
            .given(staffed())
            .when(TenantCommand::DeleteUser {
                by: Role::Mgr,
                by_user: 1,
                user_id: 1,
            })
            .then_expect_error(TenantError::CannotDeleteSelf);
        Given::with(())
            .given(staffed())
            .when(TenantCommand::DeleteUser {
                by: Role::Mgr,
                by_user: 1,
                user_id: 3,
            })
            .then_expect_events(vec![TenantEvent::UserDeleted {
                user_id: 3,
                username: "op".into(),
                display_name: "opさん".into(),
            }]);
    }

    fn deleted_op() -> Vec<TenantEvent> {
        let mut events = staffed();
        events.push(TenantEvent::UserDeleted {
            user_id: 3,
            username: "op".into(),
            display_name: "opさん".into(),
        });
        events
    }

    #[test]
    fn usr_3_deletion_is_irreversible_and_ids_are_never_reused() {
        // The next user gets id 4, not the freed 3; the freed username may be taken again.
        Given::with(())
            .given(deleted_op())
            .when(create(Role::Mgr, "op", Role::Op))
            .then_expect_events(vec![with_role(4, "op", Role::Op)]);
        // A deleted user cannot be changed, reset or deleted again.
        Given::with(())
            .given(deleted_op())
            .when(TenantCommand::UpdateUser {
                by: Role::Mgr,
                user_id: 3,
                display_name: Some("x".into()),
                role: None,
            })
            .then_expect_error(TenantError::UserNotFound { user_id: 3 });
        Given::with(())
            .given(deleted_op())
            .when(TenantCommand::DeleteUser {
                by: Role::Mgr,
                by_user: 1,
                user_id: 3,
            })
            .then_expect_error(TenantError::UserNotFound { user_id: 3 });
        Given::with(())
            .given(deleted_op())
            .when(TenantCommand::ChangePassword {
                user_id: 3,
                password_hash: "h".into(),
            })
            .then_expect_error(TenantError::UserNotFound { user_id: 3 });
    }

    #[test]
    fn usr_3_deleting_frees_a_seat_of_the_user_quota() {
        let mut full = staffed();
        full.push(TenantEvent::UserQuotaSet { quota: Some(3) });
        Given::with(())
            .given(full.clone())
            .when(create(Role::Mgr, "new", Role::Op))
            .then_expect_error(TenantError::QuotaExceeded { quota: 3 });
        Given::with(())
            .given(full.clone())
            .when(register("system-made"))
            .then_expect_error(TenantError::QuotaExceeded { quota: 3 });
        full.push(TenantEvent::UserDeleted {
            user_id: 3,
            username: "op".into(),
            display_name: "opさん".into(),
        });
        Given::with(())
            .given(full)
            .when(create(Role::Mgr, "new", Role::Op))
            .then_expect_events(vec![with_role(4, "new", Role::Op)]);
        Given::with(())
            .given(staffed())
            .when(TenantCommand::SetUserQuota { quota: Some(2) })
            .then_expect_error(TenantError::QuotaBelowUsers {
                quota: 2,
                active: 3,
            });
    }

    #[test]
    fn usr_1_the_last_manager_stays_a_manager() {
        Given::with(())
            .given(staffed())
            .when(TenantCommand::UpdateUser {
                by: Role::Mgr,
                user_id: 1,
                display_name: None,
                role: Some(Role::Sv),
            })
            .then_expect_error(TenantError::LastManager { user_id: 1 });
        let mut two = staffed();
        two.push(with_role(4, "boss2", Role::Mgr));
        Given::with(())
            .given(two)
            .when(TenantCommand::UpdateUser {
                by: Role::Mgr,
                user_id: 1,
                display_name: None,
                role: Some(Role::Sv),
            })
            .then_expect_events(vec![TenantEvent::UserRoleChanged {
                user_id: 1,
                from: Role::Mgr,
                role: Role::Sv,
            }]);
    }

    #[test]
    fn usr_5_mgr_resets_any_password() {
        Given::with(())
            .given(staffed())
            .when(TenantCommand::ResetPassword {
                by: Role::Mgr,
                user_id: 2,
                password_hash: "h".into(),
            })
            .then_expect_events(vec![TenantEvent::PasswordReset {
                user_id: 2,
                password_hash: "h".into(),
            }]);
    }

    #[test]
    fn sec_settings_are_validated_and_unchanged_settings_write_nothing() {
        let bad = SecuritySettings {
            idle_logout_minutes: Some(0),
            ..SecuritySettings::default()
        };
        Given::with(())
            .given(staffed())
            .when(TenantCommand::ChangeSecuritySettings { settings: bad })
            .then_expect_error(TenantError::Settings(
                crate::access::SecuritySettingsError::IdleLogoutOutOfRange { minutes: 0 },
            ));
        Given::with(())
            .given(staffed())
            .when(TenantCommand::ChangeSecuritySettings {
                settings: SecuritySettings::default(),
            })
            .then_expect_events(vec![]);
        let good = SecuritySettings {
            idle_logout_minutes: Some(30),
            ..SecuritySettings::default()
        };
        Given::with(())
            .given(staffed())
            .when(TenantCommand::ChangeSecuritySettings {
                settings: good.clone(),
            })
            .then_expect_events(vec![TenantEvent::SecuritySettingsChanged {
                settings: good,
            }]);
    }
}
