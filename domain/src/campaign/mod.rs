//! The campaign (案件): one calling project. Aggregate id: a UUIDv7 string.
//!
//! Create, rename, activate and deactivate (CMP-1, CMP-6), and the configuration in
//! [`settings`]: caller numbers (CMP-1/2), statuses (CMP-3), attributes (CMP-4), names that must
//! not collide (CMP-5), prospect levels, memo templates and report settings (CMP-7).

mod commands;
mod error;
mod events;
pub mod settings;

pub use commands::CampaignCommand;
pub use error::CampaignError;
pub use events::CampaignEvent;
pub use settings::CampaignSettings;

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
    #[serde(default)]
    settings: CampaignSettings,
}

impl Campaign {
    /// Label used in messages for a campaign's name.
    pub const NAME_LABEL: &'static str = "案件名";

    /// The campaign's configuration.
    pub fn settings(&self) -> &CampaignSettings {
        &self.settings
    }

    /// Writes a settings event if it changes something and keeps names apart (CMP-5).
    async fn write_checked(
        &mut self,
        event: CampaignEvent,
        sink: &EventSink<Self>,
    ) -> Result<(), CampaignError> {
        let mut next = self.settings.clone();
        event.apply_to(&mut next);
        if next == self.settings {
            return Ok(());
        }
        next.check_collisions()?;
        sink.write(event, self).await;
        Ok(())
    }

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
            CampaignCommand::SetCallerNumbers {
                tenant_id,
                main,
                subs,
                contracted,
            } => {
                self.owned_by(&tenant_id)?;
                let (main, subs) = settings_numbers(main, subs, &contracted)?;
                if main != self.settings.main_caller_number
                    || subs != self.settings.sub_caller_numbers
                {
                    sink.write(CampaignEvent::CallerNumbersSet { main, subs }, self)
                        .await;
                }
            }
            CampaignCommand::SetStatuses { tenant_id, custom } => {
                self.owned_by(&tenant_id)?;
                let custom = settings::validate_names("結果ステータス", &custom)?;
                if let Some(fixed) = custom
                    .iter()
                    .find(|c| settings::FIXED_STATUSES.contains(&c.as_str()))
                {
                    return Err(CampaignError::FixedStatus {
                        name: fixed.clone(),
                    });
                }
                let event = CampaignEvent::StatusesSet { custom };
                self.write_checked(event, sink).await?;
            }
            CampaignCommand::SetAttributes {
                tenant_id,
                target,
                attributes,
            } => {
                self.owned_by(&tenant_id)?;
                let attributes = settings::validate_attributes(target, &attributes)?;
                let event = CampaignEvent::AttributesSet { target, attributes };
                self.write_checked(event, sink).await?;
            }
            CampaignCommand::SetProspectLevels { tenant_id, levels } => {
                self.owned_by(&tenant_id)?;
                let levels = settings::validate_names("見込レベル", &levels)?;
                self.write_checked(CampaignEvent::ProspectLevelsSet { levels }, sink)
                    .await?;
            }
            CampaignCommand::SetMemoTemplates {
                tenant_id,
                templates,
            } => {
                self.owned_by(&tenant_id)?;
                let templates = settings::validate_memo_templates(&templates)?;
                self.write_checked(CampaignEvent::MemoTemplatesSet { templates }, sink)
                    .await?;
            }
            CampaignCommand::SetReport { tenant_id, report } => {
                self.owned_by(&tenant_id)?;
                let report = settings::validate_report(&report)?;
                self.write_checked(CampaignEvent::ReportSet { report }, sink)
                    .await?;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        if event.apply_to(&mut self.settings) {
            return;
        }
        match event {
            CampaignEvent::Created { tenant_id, name } => {
                self.tenant_id = Some(tenant_id);
                self.name = name;
                self.active = true;
            }
            CampaignEvent::Renamed { name, .. } => self.name = name,
            CampaignEvent::Activated => self.active = true,
            CampaignEvent::Deactivated => self.active = false,
            // Folded into the settings above.
            CampaignEvent::CallerNumbersSet { .. }
            | CampaignEvent::StatusesSet { .. }
            | CampaignEvent::AttributesSet { .. }
            | CampaignEvent::ProspectLevelsSet { .. }
            | CampaignEvent::MemoTemplatesSet { .. }
            | CampaignEvent::ReportSet { .. } => {}
        }
    }
}

/// CMP-1: normalises the numbers and checks them against the contracted pool.
fn settings_numbers(
    main: Option<String>,
    subs: Vec<String>,
    contracted: &[String],
) -> Result<(Option<String>, Vec<String>), CampaignError> {
    let norm = |raw: &str| -> Result<String, CampaignError> {
        let number = crate::list::phone::normalise(raw)
            .map_err(CampaignError::BadNumber)?
            .number
            .as_str()
            .to_string();
        let in_pool = contracted
            .iter()
            .any(|c| crate::list::phone::normalise(c).is_ok_and(|n| n.number.as_str() == number));
        if in_pool {
            Ok(number)
        } else {
            Err(CampaignError::NotContracted { number })
        }
    };
    let main = main
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(norm)
        .transpose()?;
    if subs.len() > contracted.len() {
        return Err(CampaignError::TooManySubNumbers {
            count: subs.len(),
            max: contracted.len(),
        });
    }
    let mut out: Vec<String> = Vec::with_capacity(subs.len());
    for s in &subs {
        let n = norm(s)?;
        if out.contains(&n) || main.as_ref() == Some(&n) {
            return Err(CampaignError::Duplicate {
                what: "発信番号",
                name: n,
            });
        }
        out.push(n);
    }
    Ok((main, out))
}

#[cfg(test)]
mod tests;
