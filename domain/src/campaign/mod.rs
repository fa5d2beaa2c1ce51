//! The campaign (案件): one calling project. Aggregate id: a UUIDv7 string.
//!
//! This first slice covers create, rename, activate and deactivate (CMP-1, CMP-6); caller
//! numbers, statuses, attributes and report settings build on it.

mod commands;
mod error;
mod events;

pub use commands::CampaignCommand;
pub use error::CampaignError;
pub use events::CampaignEvent;

use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};

use crate::error::validate_name;
use crate::metadata::TenantId;

/// What a campaign's decisions need to remember.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    tenant_id: Option<TenantId>,
    name: String,
    active: bool,
}

impl Campaign {
    /// Label used in messages for a campaign's name.
    pub const NAME_LABEL: &'static str = "案件名";

    fn owned_by(&self, tenant: &str) -> Result<(), CampaignError> {
        match &self.tenant_id {
            Some(t) if t == tenant => Ok(()),
            // Another tenant's campaign is reported exactly like a missing one.
            _ => Err(CampaignError::NotFound),
        }
    }
}

impl Aggregate for Campaign {
    const TYPE: &'static str = "Campaign";
    type Command = CampaignCommand;
    type Event = CampaignEvent;
    type Error = CampaignError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            CampaignCommand::Create { tenant_id, name } => {
                if self.tenant_id.is_some() {
                    return Err(CampaignError::AlreadyExists);
                }
                let name = validate_name(Self::NAME_LABEL, &name)?;
                sink.write(CampaignEvent::Created { tenant_id, name }, self)
                    .await;
            }
            CampaignCommand::Rename { tenant_id, name } => {
                self.owned_by(&tenant_id)?;
                let name = validate_name(Self::NAME_LABEL, &name)?;
                if name != self.name {
                    sink.write(
                        CampaignEvent::Renamed {
                            from: self.name.clone(),
                            name,
                        },
                        self,
                    )
                    .await;
                }
            }
            CampaignCommand::Activate { tenant_id } => {
                self.owned_by(&tenant_id)?;
                if !self.active {
                    sink.write(CampaignEvent::Activated, self).await;
                }
            }
            CampaignCommand::Deactivate { tenant_id } => {
                self.owned_by(&tenant_id)?;
                if self.active {
                    sink.write(CampaignEvent::Deactivated, self).await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            CampaignEvent::Created { tenant_id, name } => {
                self.tenant_id = Some(tenant_id);
                self.name = name;
                self.active = true;
            }
            CampaignEvent::Renamed { name, .. } => self.name = name,
            CampaignEvent::Activated => self.active = true,
            CampaignEvent::Deactivated => self.active = false,
        }
    }
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;
    use crate::error::NameError;

    type Given = TestFramework<Campaign>;

    fn created() -> CampaignEvent {
        CampaignEvent::Created {
            tenant_id: "acme".into(),
            name: "春の案件".into(),
        }
    }

    #[test]
    fn cmp_1_create_trims_the_name_and_starts_active() {
        Given::with(())
            .given_no_previous_events()
            .when(CampaignCommand::Create {
                tenant_id: "acme".into(),
                name: " 春の案件 ".into(),
            })
            .then_expect_events(vec![created()]);
    }

    #[test]
    fn create_refuses_an_empty_name() {
        Given::with(())
            .given_no_previous_events()
            .when(CampaignCommand::Create {
                tenant_id: "acme".into(),
                name: "  ".into(),
            })
            .then_expect_error(CampaignError::Name(NameError::Empty {
                what: Campaign::NAME_LABEL,
            }));
    }

    #[test]
    fn create_twice_is_refused() {
        Given::with(())
            .given(vec![created()])
            .when(CampaignCommand::Create {
                tenant_id: "acme".into(),
                name: "x".into(),
            })
            .then_expect_error(CampaignError::AlreadyExists);
    }

    #[test]
    fn rename_records_the_old_name() {
        Given::with(())
            .given(vec![created()])
            .when(CampaignCommand::Rename {
                tenant_id: "acme".into(),
                name: "秋の案件".into(),
            })
            .then_expect_events(vec![CampaignEvent::Renamed {
                from: "春の案件".into(),
                name: "秋の案件".into(),
            }]);
    }

    #[test]
    fn rename_to_the_same_name_writes_nothing() {
        Given::with(())
            .given(vec![created()])
            .when(CampaignCommand::Rename {
                tenant_id: "acme".into(),
                name: "春の案件".into(),
            })
            .then_expect_events(vec![]);
    }

    #[test]
    fn another_tenants_campaign_is_not_found() {
        Given::with(())
            .given(vec![created()])
            .when(CampaignCommand::Rename {
                tenant_id: "other".into(),
                name: "乗っ取り".into(),
            })
            .then_expect_error(CampaignError::NotFound);
        Given::with(())
            .given_no_previous_events()
            .when(CampaignCommand::Deactivate {
                tenant_id: "acme".into(),
            })
            .then_expect_error(CampaignError::NotFound);
    }

    #[test]
    fn cmp_6_deactivate_then_activate() {
        Given::with(())
            .given(vec![created()])
            .when(CampaignCommand::Deactivate {
                tenant_id: "acme".into(),
            })
            .then_expect_events(vec![CampaignEvent::Deactivated]);
        Given::with(())
            .given(vec![created(), CampaignEvent::Deactivated])
            .when(CampaignCommand::Activate {
                tenant_id: "acme".into(),
            })
            .then_expect_events(vec![CampaignEvent::Activated]);
        Given::with(())
            .given(vec![created()])
            .when(CampaignCommand::Activate {
                tenant_id: "acme".into(),
            })
            .then_expect_events(vec![]);
    }
}
