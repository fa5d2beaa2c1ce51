use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::settings::{Attribute, AttributeTarget, ReportSettings};
use crate::metadata::TenantId;

/// Facts about a campaign. Stored names (`event_type`) never change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CampaignEvent {
    /// A new campaign, active from the start (CMP-6).
    Created {
        tenant_id: TenantId,
        name: String,
    },
    Renamed {
        from: String,
        name: String,
    },
    Activated,
    Deactivated,
    CallerNumbersSet {
        main: Option<String>,
        subs: Vec<String>,
    },
    StatusesSet {
        custom: Vec<String>,
    },
    AttributesSet {
        target: AttributeTarget,
        attributes: Vec<Attribute>,
    },
    ProspectLevelsSet {
        levels: Vec<String>,
    },
    MemoTemplatesSet {
        templates: Vec<String>,
    },
    ReportSet {
        report: ReportSettings,
    },
}

impl DomainEvent for CampaignEvent {
    fn event_type(&self) -> String {
        match self {
            Self::Created { .. } => "CampaignCreated",
            Self::Renamed { .. } => "CampaignRenamed",
            Self::Activated => "CampaignActivated",
            Self::Deactivated => "CampaignDeactivated",
            Self::CallerNumbersSet { .. } => "CampaignCallerNumbersSet",
            Self::StatusesSet { .. } => "CampaignStatusesSet",
            Self::AttributesSet { .. } => "CampaignAttributesSet",
            Self::ProspectLevelsSet { .. } => "CampaignProspectLevelsSet",
            Self::MemoTemplatesSet { .. } => "CampaignMemoTemplatesSet",
            Self::ReportSet { .. } => "CampaignReportSet",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}

impl CampaignEvent {
    /// Applies a settings event to `settings` (shared by the aggregate and the read model so
    /// both fold the same way). Returns false for events that are not about settings.
    pub fn apply_to(&self, settings: &mut super::CampaignSettings) -> bool {
        match self {
            Self::CallerNumbersSet { main, subs } => {
                settings.main_caller_number.clone_from(main);
                settings.sub_caller_numbers.clone_from(subs);
            }
            Self::StatusesSet { custom } => settings.custom_statuses.clone_from(custom),
            Self::AttributesSet { target, attributes } => match target {
                AttributeTarget::Customer => settings.customer_attributes.clone_from(attributes),
                AttributeTarget::Result => settings.result_attributes.clone_from(attributes),
            },
            Self::ProspectLevelsSet { levels } => settings.prospect_levels.clone_from(levels),
            Self::MemoTemplatesSet { templates } => settings.memo_templates.clone_from(templates),
            Self::ReportSet { report } => settings.report = report.clone(),
            Self::Created { .. } | Self::Renamed { .. } | Self::Activated | Self::Deactivated => {
                return false;
            }
        }
        true
    }
}
