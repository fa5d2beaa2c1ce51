//! Campaigns read model: every tenant's campaigns, active first (CMP-6).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use kaden_domain::campaign::{CampaignEvent, CampaignSettings};
use kaden_domain::event::KadenEvent;
use kaden_domain::metadata::TenantId;
use serde::{Deserialize, Serialize};

use crate::Change;
use crate::log::StoredEvent;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignView {
    pub id: String,
    pub tenant_id: TenantId,
    pub name: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Caller numbers, statuses, attributes, prospect levels, memo templates, report settings.
    #[serde(default)]
    pub settings: CampaignSettings,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaigns {
    /// Tenant → campaign id → campaign. Ids are UUIDv7, so id order is creation order.
    by_tenant: HashMap<TenantId, BTreeMap<String, CampaignView>>,
}

impl Campaigns {
    pub fn apply(&mut self, event: &StoredEvent, changes: &mut Vec<Change>) {
        let KadenEvent::Campaign(e) = &event.event else {
            return;
        };
        let tenant = &event.metadata.tenant_id;
        let at = event.metadata.recorded_at;
        let campaigns = self.by_tenant.entry(tenant.clone()).or_default();
        match e {
            CampaignEvent::Created { tenant_id, name } => {
                campaigns.insert(
                    event.aggregate_id.clone(),
                    CampaignView {
                        id: event.aggregate_id.clone(),
                        tenant_id: tenant_id.clone(),
                        name: name.clone(),
                        active: true,
                        created_at: at,
                        updated_at: at,
                        settings: CampaignSettings::default(),
                    },
                );
            }
            CampaignEvent::Renamed { name, .. } => {
                if let Some(c) = campaigns.get_mut(&event.aggregate_id) {
                    c.name.clone_from(name);
                    c.updated_at = at;
                }
            }
            CampaignEvent::Activated | CampaignEvent::Deactivated => {
                if let Some(c) = campaigns.get_mut(&event.aggregate_id) {
                    c.active = matches!(e, CampaignEvent::Activated);
                    c.updated_at = at;
                }
            }
            settings => {
                if let Some(c) = campaigns.get_mut(&event.aggregate_id) {
                    settings.apply_to(&mut c.settings);
                    c.updated_at = at;
                }
            }
        }
        changes.push(Change::Campaign {
            tenant_id: tenant.clone(),
            campaign_id: event.aggregate_id.clone(),
        });
    }

    /// One tenant's campaign by id.
    pub fn get(&self, tenant: &str, id: &str) -> Option<&CampaignView> {
        self.by_tenant.get(tenant)?.get(id)
    }

    /// A tenant's campaigns: active first, then in creation order (CMP-6).
    pub fn list(&self, tenant: &str, include_inactive: bool) -> Vec<&CampaignView> {
        let Some(campaigns) = self.by_tenant.get(tenant) else {
            return Vec::new();
        };
        let mut list: Vec<&CampaignView> = campaigns
            .values()
            .filter(|c| include_inactive || c.active)
            .collect();
        // Stable sort keeps id (creation) order within each group.
        list.sort_by_key(|c| !c.active);
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::event;

    #[test]
    fn cmp_6_active_campaigns_sort_first() {
        let mut model = Campaigns::default();
        let mut changes = Vec::new();
        for (id, name) in [("01", "A"), ("02", "B"), ("03", "C")] {
            let e = CampaignEvent::Created {
                tenant_id: "t".into(),
                name: name.into(),
            };
            model.apply(&event("t", id, KadenEvent::Campaign(e)), &mut changes);
        }
        model.apply(
            &event("t", "01", KadenEvent::Campaign(CampaignEvent::Deactivated)),
            &mut changes,
        );
        let names: Vec<_> = model
            .list("t", true)
            .iter()
            .map(|c| (c.name.as_str(), c.active))
            .collect();
        assert_eq!(names, [("B", true), ("C", true), ("A", false)]);
        assert_eq!(model.list("t", false).len(), 2);
        assert!(model.list("other", true).is_empty());
        assert_eq!(changes.len(), 4);
    }
}
