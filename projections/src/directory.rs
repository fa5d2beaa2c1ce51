//! Directory read model: tenants and their users (for login, pickers and names by id).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use kaden_domain::access::Role;
use kaden_domain::event::KadenEvent;
use kaden_domain::metadata::TenantId;
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
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantView {
    pub name: String,
    pub users: BTreeMap<u64, UserView>,
    /// Lower-cased username → user id.
    by_username: HashMap<String, u64>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Directory {
    tenants: HashMap<TenantId, TenantView>,
}

impl Directory {
    pub fn apply(&mut self, event: &StoredEvent, changes: &mut Vec<Change>) {
        let KadenEvent::Tenant(e) = &event.event else {
            return;
        };
        let tenant_id = &event.aggregate_id;
        let at = event.metadata.recorded_at;
        let tenant = self.tenants.entry(tenant_id.clone()).or_default();
        match e {
            TenantEvent::Created { name } => tenant.name.clone_from(name),
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
                        created_at: at,
                    },
                );
                changes.push(Change::User {
                    tenant_id: tenant_id.clone(),
                    user_id: *user_id,
                });
            }
            TenantEvent::PasswordChanged {
                user_id,
                password_hash,
            } => {
                if let Some(u) = tenant.users.get_mut(user_id) {
                    u.password_hash.clone_from(password_hash);
                    u.password_changed_at = at;
                }
                changes.push(Change::User {
                    tenant_id: tenant_id.clone(),
                    user_id: *user_id,
                });
            }
        }
    }

    pub fn tenant(&self, tenant: &str) -> Option<&TenantView> {
        self.tenants.get(tenant)
    }

    pub fn has_tenants(&self) -> bool {
        !self.tenants.is_empty()
    }

    pub fn user(&self, tenant: &str, user_id: u64) -> Option<&UserView> {
        self.tenants.get(tenant)?.users.get(&user_id)
    }

    /// A user by login id, ignoring case.
    pub fn user_by_name(&self, tenant: &str, username: &str) -> Option<&UserView> {
        let t = self.tenants.get(tenant)?;
        t.users.get(t.by_username.get(&username.to_lowercase())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::event;

    #[test]
    fn users_are_found_by_id_and_by_name_ignoring_case() {
        let mut d = Directory::default();
        let mut changes = Vec::new();
        d.apply(
            &event(
                "acme",
                "acme",
                KadenEvent::Tenant(TenantEvent::Created {
                    name: "Acme".into(),
                }),
            ),
            &mut changes,
        );
        let reg = TenantEvent::UserRegistered {
            user_id: 1,
            username: "Admin".into(),
            display_name: "管理者".into(),
            role: Role::Mgr,
            password_hash: "h1".into(),
        };
        d.apply(
            &event("acme", "acme", KadenEvent::Tenant(reg)),
            &mut changes,
        );
        d.apply(
            &event(
                "acme",
                "acme",
                KadenEvent::Tenant(TenantEvent::PasswordChanged {
                    user_id: 1,
                    password_hash: "h2".into(),
                }),
            ),
            &mut changes,
        );
        assert_eq!(d.user_by_name("acme", "admin").unwrap().password_hash, "h2");
        assert_eq!(d.user("acme", 1).unwrap().role, Role::Mgr);
        assert!(d.user_by_name("other", "admin").is_none());
        assert_eq!(d.tenant("acme").unwrap().name, "Acme");
    }
}
