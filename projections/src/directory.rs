//! Directory read model: tenants, their users and settings (for login, pickers, names by id and
//! the security checks on every request), and per-user login throttling fed from the
//! `LoginRefused` / `SessionStarted` events.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use kaden_domain::access::{LoginThrottle, Role, SecuritySettings};
use kaden_domain::event::KadenEvent;
use kaden_domain::metadata::TenantId;
use kaden_domain::session::{LoginRefusal, SessionEvent};
use kaden_domain::tenant::TenantEvent;
use serde::{Deserialize, Serialize};

use crate::Change;
use crate::log::StoredEvent;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub tenant_id: TenantId,
    pub user_id: u64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
    pub password_changed_at: DateTime<Utc>,
    /// Set by a password reset: the user must choose a new password before anything else.
    #[serde(default)]
    pub must_change_password: bool,
    pub created_at: DateTime<Utc>,
    /// USR-3/USR-4: a deleted user stays here so history shows the old name, but it cannot log
    /// in and leaves every picker (`active_users`).
    #[serde(default)]
    pub deleted_at: Option<DateTime<Utc>>,
    /// The softphone's SIP account (digest HA1 values only), once a SIP password was set.
    #[serde(default)]
    pub sip: Option<SipAccount>,
}

/// A user's SIP account: the name the softphone registers with and the digest HA1 values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SipAccount {
    pub sip_user: String,
    pub realm: String,
    pub ha1_md5: String,
    pub ha1_sha256: String,
}

impl UserView {
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantView {
    pub name: String,
    /// Every user ever registered, deleted ones included, by id.
    pub users: BTreeMap<u64, UserView>,
    /// Lower-cased username → id of the active user holding it.
    by_username: HashMap<String, u64>,
    /// The licensed user quota; `None`: unlimited.
    pub user_quota: Option<u32>,
    pub security: SecuritySettings,
    /// CMP-1: the contracted caller numbers.
    #[serde(default)]
    pub contracted_numbers: Vec<String>,
    /// MON-3: licensed concurrent lines; `None`: the deployment's default.
    #[serde(default)]
    pub licensed_lines: Option<u32>,
    /// Lower-cased username → recent failed logins.
    throttles: HashMap<String, LoginThrottle>,
}

impl TenantView {
    /// Users that are not deleted, by id (the pickers and the user list, USR-4).
    pub fn active_users(&self) -> impl Iterator<Item = &UserView> {
        self.users.values().filter(|u| !u.is_deleted())
    }
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Directory {
    tenants: HashMap<TenantId, TenantView>,
    /// SIP user → (tenant, user id) of active users with a SIP password.
    #[serde(default)]
    sip_users: HashMap<String, (TenantId, u64)>,
}

impl Directory {
    pub fn apply(&mut self, event: &StoredEvent, changes: &mut Vec<Change>) {
        match &event.event {
            KadenEvent::Tenant(e) => self.apply_tenant(event, e, changes),
            KadenEvent::Session(e) => self.apply_session(event, e),
            _ => {}
        }
    }

    fn apply_tenant(&mut self, event: &StoredEvent, e: &TenantEvent, changes: &mut Vec<Change>) {
        let tenant_id = &event.aggregate_id;
        let at = event.metadata.recorded_at;
        let tenant = self.tenants.entry(tenant_id.clone()).or_default();
        let changed = match e {
            TenantEvent::Created { name } => {
                tenant.name.clone_from(name);
                None
            }
            TenantEvent::UserRegistered {
                user_id,
                username,
                display_name,
                role,
                password_hash,
            } => {
                tenant.by_username.insert(username.to_lowercase(), *user_id);
                tenant.users.insert(
                    *user_id,
                    UserView {
                        tenant_id: tenant_id.clone(),
                        user_id: *user_id,
                        username: username.clone(),
                        display_name: display_name.clone(),
                        role: *role,
                        password_hash: password_hash.clone(),
                        password_changed_at: at,
                        must_change_password: false,
                        created_at: at,
                        deleted_at: None,
                        sip: None,
                    },
                );
                Some(*user_id)
            }
            TenantEvent::PasswordChanged {
                user_id,
                password_hash,
            }
            | TenantEvent::PasswordReset {
                user_id,
                password_hash,
            } => {
                if let Some(u) = tenant.users.get_mut(user_id) {
                    u.password_hash.clone_from(password_hash);
                    u.password_changed_at = at;
                    u.must_change_password = matches!(e, TenantEvent::PasswordReset { .. });
                    // A new password clears the failed attempts made against the old one.
                    tenant.throttles.remove(&u.username.to_lowercase());
                }
                Some(*user_id)
            }
            TenantEvent::UserRenamed {
                user_id,
                display_name,
                ..
            } => {
                if let Some(u) = tenant.users.get_mut(user_id) {
                    u.display_name.clone_from(display_name);
                }
                Some(*user_id)
            }
            TenantEvent::UserRoleChanged { user_id, role, .. } => {
                if let Some(u) = tenant.users.get_mut(user_id) {
                    u.role = *role;
                }
                Some(*user_id)
            }
            TenantEvent::UserDeleted { user_id, .. } => {
                if let Some(u) = tenant.users.get_mut(user_id) {
                    u.deleted_at = Some(at);
                    // A deleted user's phone can no longer register.
                    if let Some(sip) = u.sip.take() {
                        self.sip_users.remove(&sip.sip_user);
                    }
                    let key = u.username.to_lowercase();
                    if tenant.by_username.get(&key) == Some(user_id) {
                        tenant.by_username.remove(&key);
                    }
                }
                Some(*user_id)
            }
            TenantEvent::UserQuotaSet { quota } => {
                tenant.user_quota = *quota;
                None
            }
            TenantEvent::LicensedLinesSet { lines } => {
                tenant.licensed_lines = *lines;
                None
            }
            TenantEvent::SipPasswordSet {
                user_id,
                sip_user,
                realm,
                ha1_md5,
                ha1_sha256,
            } => {
                if let Some(u) = tenant.users.get_mut(user_id) {
                    if let Some(old) = u.sip.take() {
                        self.sip_users.remove(&old.sip_user);
                    }
                    self.sip_users
                        .insert(sip_user.clone(), (tenant_id.clone(), *user_id));
                    u.sip = Some(SipAccount {
                        sip_user: sip_user.clone(),
                        realm: realm.clone(),
                        ha1_md5: ha1_md5.clone(),
                        ha1_sha256: ha1_sha256.clone(),
                    });
                }
                Some(*user_id)
            }
            TenantEvent::ContractedNumbersSet { numbers } => {
                tenant.contracted_numbers.clone_from(numbers);
                None
            }
            TenantEvent::SecuritySettingsChanged { settings } => {
                tenant.security = settings.clone();
                None
            }
        };
        if let Some(user_id) = changed {
            changes.push(Change::User {
                tenant_id: tenant_id.clone(),
                user_id,
            });
        }
    }

    fn apply_session(&mut self, event: &StoredEvent, e: &SessionEvent) {
        let at = event.metadata.recorded_at;
        match e {
            SessionEvent::LoginRefused {
                tenant_id,
                username,
                // Unknown usernames count too, so throttling does not tell which names exist.
                reason: LoginRefusal::WrongPassword | LoginRefusal::UnknownUser,
            } => {
                if let Some(tenant) = self.tenants.get_mut(tenant_id) {
                    tenant
                        .throttles
                        .entry(username.to_lowercase())
                        .or_default()
                        .record_failure(at);
                }
            }
            SessionEvent::Started {
                tenant_id, user_id, ..
            } => {
                if let Some(tenant) = self.tenants.get_mut(tenant_id)
                    && let Some(user) = tenant.users.get(user_id)
                {
                    let key = user.username.to_lowercase();
                    if let Some(throttle) = tenant.throttles.get_mut(&key) {
                        throttle.record_success(at);
                    }
                }
            }
            _ => {}
        }
    }

    pub fn tenant(&self, tenant: &str) -> Option<&TenantView> {
        self.tenants.get(tenant)
    }

    pub fn has_tenants(&self) -> bool {
        !self.tenants.is_empty()
    }

    /// A user by id, deleted or not (history shows deleted users by their last name).
    pub fn user(&self, tenant: &str, user_id: u64) -> Option<&UserView> {
        self.tenants.get(tenant)?.users.get(&user_id)
    }

    /// An active user by id (deleted users are not found).
    pub fn active_user(&self, tenant: &str, user_id: u64) -> Option<&UserView> {
        self.user(tenant, user_id).filter(|u| !u.is_deleted())
    }

    /// An active user by login id, ignoring case.
    pub fn user_by_name(&self, tenant: &str, username: &str) -> Option<&UserView> {
        let t = self.tenants.get(tenant)?;
        t.users.get(t.by_username.get(&username.to_lowercase())?)
    }

    /// The active user behind a SIP account name, with their account.
    pub fn sip_user(&self, sip_user: &str) -> Option<(&UserView, &SipAccount)> {
        let (tenant, user_id) = self.sip_users.get(sip_user)?;
        let user = self.active_user(tenant, *user_id)?;
        Some((user, user.sip.as_ref()?))
    }

    /// The tenant's security settings (the defaults for an unknown tenant).
    pub fn security(&self, tenant: &str) -> SecuritySettings {
        self.tenants
            .get(tenant)
            .map(|t| t.security.clone())
            .unwrap_or_default()
    }

    /// Recent failed logins for a username (ignoring case).
    pub fn throttle(&self, tenant: &str, username: &str) -> Option<&LoginThrottle> {
        self.tenants
            .get(tenant)?
            .throttles
            .get(&username.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::event;
    use chrono::Duration;

    fn tenant_event(e: TenantEvent) -> StoredEvent {
        event("acme", "acme", KadenEvent::Tenant(e))
    }

    fn setup() -> (Directory, Vec<Change>) {
        let mut d = Directory::default();
        let mut changes = Vec::new();
        d.apply(
            &tenant_event(TenantEvent::Created {
                name: "Acme".into(),
            }),
            &mut changes,
        );
        for (id, name, role) in [(1, "Admin", Role::Mgr), (2, "op", Role::Op)] {
            d.apply(
                &tenant_event(TenantEvent::UserRegistered {
                    user_id: id,
                    username: name.into(),
                    display_name: format!("{name}さん"),
                    role,
                    password_hash: "h1".into(),
                }),
                &mut changes,
            );
        }
        (d, changes)
    }

    #[test]
    fn users_are_found_by_id_and_by_name_ignoring_case() {
        let (mut d, mut changes) = setup();
        d.apply(
            &tenant_event(TenantEvent::PasswordChanged {
                user_id: 1,
                password_hash: "h2".into(),
            }),
            &mut changes,
        );
        assert_eq!(d.user_by_name("acme", "admin").unwrap().password_hash, "h2");
        assert_eq!(d.user("acme", 1).unwrap().role, Role::Mgr);
        assert!(d.user_by_name("other", "admin").is_none());
        assert_eq!(d.tenant("acme").unwrap().name, "Acme");
    }

    #[test]
    fn usr_4_renames_show_by_id_and_deleted_users_keep_their_name_but_leave_pickers() {
        let (mut d, mut changes) = setup();
        d.apply(
            &tenant_event(TenantEvent::UserRenamed {
                user_id: 2,
                from: "opさん".into(),
                display_name: "佐藤".into(),
            }),
            &mut changes,
        );
        assert_eq!(d.user("acme", 2).unwrap().display_name, "佐藤");
        d.apply(
            &tenant_event(TenantEvent::UserDeleted {
                user_id: 2,
                username: "op".into(),
                display_name: "佐藤".into(),
            }),
            &mut changes,
        );
        assert_eq!(
            d.user("acme", 2).unwrap().display_name,
            "佐藤",
            "history keeps the name"
        );
        assert!(d.active_user("acme", 2).is_none());
        assert!(d.user_by_name("acme", "op").is_none(), "cannot log in");
        let active: Vec<u64> = d
            .tenant("acme")
            .unwrap()
            .active_users()
            .map(|u| u.user_id)
            .collect();
        assert_eq!(active, [1]);
        assert!(changes.contains(&Change::User {
            tenant_id: "acme".into(),
            user_id: 2
        }));
    }

    #[test]
    fn sec_2_a_reset_password_must_be_changed_and_an_own_change_clears_that() {
        let (mut d, mut changes) = setup();
        d.apply(
            &tenant_event(TenantEvent::PasswordReset {
                user_id: 2,
                password_hash: "r".into(),
            }),
            &mut changes,
        );
        assert!(d.user("acme", 2).unwrap().must_change_password);
        d.apply(
            &tenant_event(TenantEvent::PasswordChanged {
                user_id: 2,
                password_hash: "mine".into(),
            }),
            &mut changes,
        );
        assert!(!d.user("acme", 2).unwrap().must_change_password);
    }

    #[test]
    fn sec_login_throttle_counts_wrong_passwords_per_user_until_a_success() {
        let (mut d, mut changes) = setup();
        let refused = |username: &str| {
            event(
                "acme",
                "s",
                KadenEvent::Session(SessionEvent::LoginRefused {
                    tenant_id: "acme".into(),
                    username: username.into(),
                    reason: LoginRefusal::WrongPassword,
                }),
            )
        };
        for _ in 0..10 {
            d.apply(&refused("ADMIN"), &mut changes);
        }
        let now = Utc::now() + Duration::seconds(1);
        let retry = d.throttle("acme", "admin").unwrap().check(now).unwrap_err();
        assert!(retry.0 > now + Duration::minutes(14), "{retry:?}");
        assert!(d.throttle("acme", "op").is_none());
        d.apply(
            &event(
                "acme",
                "s2",
                KadenEvent::Session(SessionEvent::Started {
                    tenant_id: "acme".into(),
                    user_id: 1,
                    token_hash: "t".into(),
                }),
            ),
            &mut changes,
        );
        assert!(d.throttle("acme", "admin").unwrap().check(now).is_ok());
    }
}
