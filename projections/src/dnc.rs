//! Do-not-call read model (SPEC DNC-2, DNC-4, DNC-5): every tenant's registrations with when
//! and by whom, searchable by number, and the lookup `dial_permission` uses.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use kaden_domain::dnc::{DncEvent, DncLookup, DncRegistration};
use kaden_domain::event::KadenEvent;
use kaden_domain::list::PhoneNumber;
use kaden_domain::metadata::TenantId;
use serde::{Deserialize, Serialize};

use crate::Change;
use crate::log::StoredEvent;

/// A registration with its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DncView {
    pub registration: DncRegistration,
    pub registered_at: DateTime<Utc>,
    pub registered_by: Option<u64>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantDnc {
    by_id: BTreeMap<u64, DncView>,
    by_number: HashMap<PhoneNumber, u64>,
}

impl DncLookup for TenantDnc {
    fn registration(&self, number: &PhoneNumber) -> Option<&DncRegistration> {
        self.by_id
            .get(self.by_number.get(number)?)
            .map(|v| &v.registration)
    }
}

impl TenantDnc {
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn get(&self, id: u64) -> Option<&DncView> {
        self.by_id.get(&id)
    }

    /// Registrations in id order after `after`, whose number contains `digits` (DNC-4; all
    /// when empty), at most `limit`; with the total number of matches.
    pub fn search(&self, digits: &str, after: u64, limit: usize) -> (Vec<&DncView>, usize) {
        let mut total = 0;
        let mut page = Vec::new();
        for (id, v) in &self.by_id {
            if !digits.is_empty() && !v.registration.number.as_str().contains(digits) {
                continue;
            }
            total += 1;
            if *id > after && page.len() < limit {
                page.push(v);
            }
        }
        (page, total)
    }
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct DncLists {
    by_tenant: HashMap<TenantId, TenantDnc>,
}

impl DncLists {
    pub fn tenant(&self, tenant: &str) -> Option<&TenantDnc> {
        self.by_tenant.get(tenant)
    }

    pub fn apply(&mut self, event: &StoredEvent, changes: &mut Vec<Change>) {
        let KadenEvent::Dnc(e) = &event.event else {
            return;
        };
        let tenant_id = &event.metadata.tenant_id;
        let at = event.metadata.recorded_at;
        let t = self.by_tenant.entry(tenant_id.clone()).or_default();
        match e {
            DncEvent::Registered { registrations, .. } => {
                for r in registrations {
                    t.by_number.insert(r.number, r.id);
                    t.by_id.insert(
                        r.id,
                        DncView {
                            registration: r.clone(),
                            registered_at: at,
                            registered_by: event.metadata.user_id,
                            updated_at: at,
                        },
                    );
                }
            }
            DncEvent::Edited { id, number, scope } => {
                if let Some(v) = t.by_id.get_mut(id) {
                    t.by_number.remove(&v.registration.number);
                    t.by_number.insert(*number, *id);
                    v.registration.number = *number;
                    v.registration.scope = scope.clone();
                    v.updated_at = at;
                }
            }
            DncEvent::Unregistered { ids } => {
                for id in ids {
                    if let Some(v) = t.by_id.remove(id) {
                        t.by_number.remove(&v.registration.number);
                    }
                }
            }
            DncEvent::UnregisteredAll { .. } => {
                t.by_id.clear();
                t.by_number.clear();
            }
        }
        changes.push(Change::Dnc {
            tenant_id: tenant_id.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use kaden_domain::dnc::{DialPermission, DialPurpose, DncScope, DncSource, dial_permission};

    use super::*;
    use crate::testing::event;

    #[test]
    fn dnc_4_search_and_dnc_5_lookup_follow_edits_and_unregistering() {
        let mut model = DncLists::default();
        let mut changes = Vec::new();
        let reg = |id, n: &str| DncRegistration {
            id,
            number: n.parse().unwrap(),
            scope: DncScope::All,
            source: DncSource::default(),
        };
        let registered = DncEvent::Registered {
            tenant_id: "t".into(),
            registrations: vec![reg(1, "0312345678"), reg(2, "09011112222")],
        };
        model.apply(&event("t", "t", KadenEvent::Dnc(registered)), &mut changes);
        let t = model.tenant("t").unwrap();
        assert_eq!(t.search("", 0, 10).1, 2);
        assert_eq!(t.search("1111", 0, 10).0[0].registration.id, 2);
        let n: PhoneNumber = "0312345678".parse().unwrap();
        assert!(matches!(
            dial_permission(t, DialPurpose::Campaign("c"), &n),
            DialPermission::Refused(_)
        ));
        let edited = DncEvent::Edited {
            id: 1,
            number: "0312340000".parse().unwrap(),
            scope: DncScope::All,
        };
        model.apply(&event("t", "t", KadenEvent::Dnc(edited)), &mut changes);
        let t = model.tenant("t").unwrap();
        assert_eq!(
            dial_permission(t, DialPurpose::Campaign("c"), &n),
            DialPermission::Allowed,
            "the old number is free after an edit"
        );
        model.apply(
            &event(
                "t",
                "t",
                KadenEvent::Dnc(DncEvent::Unregistered { ids: vec![2] }),
            ),
            &mut changes,
        );
        assert_eq!(model.tenant("t").unwrap().len(), 1);
        assert!(model.tenant("other").is_none());
    }
}
