//! Campaigns (案件): queries, mutations and the change subscription.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, Subscription};
use futures::Stream;
use kaden_domain::access::Capability;
use kaden_domain::campaign::CampaignCommand;
use kaden_domain::campaign::settings::{
    Attribute, AttributeKind, AttributeTarget, FIXED_STATUSES, ReportSettings,
};
use kaden_domain::error::ErrorCode;
use kaden_projections::Change;
use kaden_projections::campaigns::CampaignView;

use super::{authorize, local_time, position_text, reach, state};
use crate::error::ApiError;
use crate::service;

/// A campaign as clients see it.
pub struct CampaignObject(pub CampaignView);

#[Object(name = "Campaign")]
impl CampaignObject {
    async fn id(&self) -> &str {
        &self.0.id
    }

    /// 案件名
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Active campaigns show in pickers and sort first (CMP-6).
    async fn active(&self) -> bool {
        self.0.active
    }

    /// ○ for active, × for inactive, as the campaign list shows them (CMP-6).
    async fn active_mark(&self) -> &str {
        if self.0.active { "○" } else { "×" }
    }

    /// Creation time in the configured zone (RFC 3339).
    async fn created_at(&self, ctx: &Context<'_>) -> String {
        local_time(ctx, self.0.created_at)
    }

    async fn updated_at(&self, ctx: &Context<'_>) -> String {
        local_time(ctx, self.0.updated_at)
    }

    /// CMP-1: the main caller number (national digits), if set.
    async fn main_caller_number(&self) -> Option<&str> {
        self.0.settings.main_caller_number.as_deref()
    }

    async fn sub_caller_numbers(&self) -> &[String] {
        &self.0.settings.sub_caller_numbers
    }

    /// CMP-2: whether lists can be imported and calls made; if not, `notReadyReason` says what
    /// to configure.
    async fn ready_for_calls(&self) -> bool {
        self.0.settings.check_ready().is_ok()
    }

    async fn not_ready_reason(&self) -> Option<String> {
        self.0.settings.check_ready().err().map(|e| e.to_string())
    }

    /// CMP-3: the six fixed statuses first, then the custom ones.
    async fn statuses(&self) -> Vec<StatusObject> {
        self.0
            .settings
            .statuses()
            .map(|name| StatusObject {
                name: name.to_string(),
                fixed: FIXED_STATUSES.contains(&name),
            })
            .collect()
    }

    /// CMP-4: 顧客属性.
    async fn customer_attributes(&self) -> Vec<AttributeObject> {
        self.0
            .settings
            .customer_attributes
            .iter()
            .map(AttributeObject::from)
            .collect()
    }

    /// CMP-4: 結果属性.
    async fn result_attributes(&self) -> Vec<AttributeObject> {
        self.0
            .settings
            .result_attributes
            .iter()
            .map(AttributeObject::from)
            .collect()
    }

    /// 見込レベル.
    async fn prospect_levels(&self) -> &[String] {
        &self.0.settings.prospect_levels
    }

    /// メモ定型文.
    async fn memo_templates(&self) -> &[String] {
        &self.0.settings.memo_templates
    }

    /// CMP-7: report settings.
    async fn report(&self) -> ReportObject {
        let r = &self.0.settings.report;
        ReportObject {
            enabled: r.enabled,
            subject: r.subject.clone(),
            header: r.header.clone(),
            footer: r.footer.clone(),
            addresses: r.addresses.clone(),
            recipient_user_ids: r.recipient_user_ids.clone(),
        }
    }
}

#[derive(SimpleObject)]
pub struct StatusObject {
    name: String,
    /// One of the six statuses every campaign has (cannot be renamed or removed).
    fixed: bool,
}

#[derive(SimpleObject)]
pub struct AttributeObject {
    name: String,
    /// checkbox, radio, pulldown or text.
    kind: String,
    choices: Vec<String>,
}

impl From<&Attribute> for AttributeObject {
    fn from(a: &Attribute) -> Self {
        let kind = match a.kind {
            AttributeKind::Checkbox => "checkbox",
            AttributeKind::Radio => "radio",
            AttributeKind::Pulldown => "pulldown",
            AttributeKind::Text => "text",
        };
        Self {
            name: a.name.clone(),
            kind: kind.to_string(),
            choices: a.choices.clone(),
        }
    }
}

#[derive(SimpleObject)]
pub struct ReportObject {
    enabled: bool,
    subject: String,
    header: String,
    footer: String,
    addresses: Vec<String>,
    recipient_user_ids: Vec<u64>,
}

#[derive(InputObject)]
pub struct AttributeInput {
    name: String,
    /// checkbox, radio, pulldown or text.
    kind: String,
    #[graphql(default)]
    choices: Vec<String>,
}

#[derive(InputObject)]
pub struct ReportInput {
    enabled: bool,
    #[graphql(default)]
    subject: String,
    #[graphql(default)]
    header: String,
    #[graphql(default)]
    footer: String,
    #[graphql(default)]
    addresses: Vec<String>,
    #[graphql(default)]
    recipient_user_ids: Vec<u64>,
}

fn parse_kind(text: &str) -> Result<AttributeKind, ApiError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "checkbox" => Ok(AttributeKind::Checkbox),
        "radio" => Ok(AttributeKind::Radio),
        "pulldown" => Ok(AttributeKind::Pulldown),
        "text" => Ok(AttributeKind::Text),
        _ => Err(ApiError::new(
            ErrorCode::AttributeKindUnknown,
            format!(
                "属性の種類「{text}」はありません。checkbox, radio, pulldown, text のいずれかを指定してください (attribute kind {text:?} is unknown: use checkbox, radio, pulldown or text)"
            ),
        )),
    }
}

fn parse_target(text: &str) -> Result<AttributeTarget, ApiError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "customer" => Ok(AttributeTarget::Customer),
        "result" => Ok(AttributeTarget::Result),
        _ => Err(ApiError::new(
            ErrorCode::AttributeTargetUnknown,
            format!(
                "「{text}」は customer(顧客属性)か result(結果属性)で指定してください (target {text:?} is unknown: use customer or result)"
            ),
        )),
    }
}

/// What a campaign mutation returns: the campaign as it is now, and the log position written.
#[derive(SimpleObject)]
pub struct CampaignPayload {
    campaign: CampaignObject,
    /// The log position of this write (null when nothing changed); send it as the
    /// `X-Kaden-After` header to read it back from any node.
    position: Option<String>,
}

#[derive(Default)]
pub struct CampaignQuery;

#[Object]
impl CampaignQuery {
    /// The tenant's campaigns, active first (CMP-6).
    async fn campaigns(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = true)] include_inactive: bool,
    ) -> Result<Vec<CampaignObject>> {
        let (request, _) = authorize(ctx, Capability::CampaignView)?;
        Ok(state(ctx).engine.read(|m| {
            m.campaigns
                .list(&request.tenant_id, include_inactive)
                .into_iter()
                .cloned()
                .map(CampaignObject)
                .collect()
        }))
    }

    /// CMP-1: the tenant's contracted numbers (number pickers show numbers, not campaigns).
    async fn contracted_numbers(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        let (request, _) = authorize(ctx, Capability::CampaignView)?;
        Ok(state(ctx).engine.read(|m| {
            m.directory
                .tenant(&request.tenant_id)
                .map(|t| t.contracted_numbers.clone())
                .unwrap_or_default()
        }))
    }

    async fn campaign(&self, ctx: &Context<'_>, id: String) -> Result<CampaignObject> {
        let (request, _) = authorize(ctx, Capability::CampaignView)?;
        let found = state(ctx)
            .engine
            .read(|m| m.campaigns.get(&request.tenant_id, &id).cloned());
        Ok(CampaignObject(
            found.ok_or_else(|| ApiError::not_found("案件", &id))?,
        ))
    }
}

#[derive(Default)]
pub struct CampaignMutation;

impl CampaignMutation {
    async fn run(
        &self,
        ctx: &Context<'_>,
        id: String,
        command: impl FnOnce(String) -> CampaignCommand,
    ) -> Result<CampaignPayload> {
        let (request, _) = authorize(ctx, Capability::CampaignEdit)?;
        let app = state(ctx);
        let position = app
            .commands
            .campaign(&id, command(request.tenant_id.clone()), request)
            .await?;
        reach(ctx, position).await?;
        let campaign = app
            .engine
            .read(|m| m.campaigns.get(&request.tenant_id, &id).cloned())
            .ok_or_else(|| ApiError::not_found("案件", &id))?;
        Ok(CampaignPayload {
            campaign: CampaignObject(campaign),
            position: position_text(position),
        })
    }
}

#[Object]
impl CampaignMutation {
    /// CMP-1: the main caller number and the sub caller numbers, from the tenant's contracted
    /// numbers (`contractedNumbers`). `main: null` clears it (calls stop, CMP-2).
    async fn set_caller_numbers(
        &self,
        ctx: &Context<'_>,
        id: String,
        main: Option<String>,
        subs: Vec<String>,
    ) -> Result<CampaignPayload> {
        let (request, _) = authorize(ctx, Capability::CampaignEdit)?;
        let contracted = state(ctx).engine.read(|m| {
            m.directory
                .tenant(&request.tenant_id)
                .map(|t| t.contracted_numbers.clone())
                .unwrap_or_default()
        });
        self.run(ctx, id, |tenant_id| CampaignCommand::SetCallerNumbers {
            tenant_id,
            main,
            subs,
            contracted,
        })
        .await
    }

    /// CMP-3: the custom statuses (the six fixed ones always come first).
    async fn set_statuses(
        &self,
        ctx: &Context<'_>,
        id: String,
        custom: Vec<String>,
    ) -> Result<CampaignPayload> {
        authorize(ctx, Capability::CampaignEdit)?;
        service::campaigns::check_column_collisions(
            &state(ctx).engine,
            &super::request(ctx)?.tenant_id,
            &id,
            "ステータス",
            custom.iter().map(String::as_str),
        )?;
        self.run(ctx, id, |tenant_id| CampaignCommand::SetStatuses {
            tenant_id,
            custom,
        })
        .await
    }

    /// CMP-4: the customer (`target: "customer"`) or result (`"result"`) attributes.
    async fn set_attributes(
        &self,
        ctx: &Context<'_>,
        id: String,
        target: String,
        attributes: Vec<AttributeInput>,
    ) -> Result<CampaignPayload> {
        authorize(ctx, Capability::CampaignEdit)?;
        let target = parse_target(&target)?;
        let attributes = attributes
            .into_iter()
            .map(|a| {
                Ok(Attribute {
                    kind: parse_kind(&a.kind)?,
                    name: a.name,
                    choices: a.choices,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        service::campaigns::check_column_collisions(
            &state(ctx).engine,
            &super::request(ctx)?.tenant_id,
            &id,
            "属性",
            attributes.iter().map(|a| a.name.as_str()),
        )?;
        self.run(ctx, id, |tenant_id| CampaignCommand::SetAttributes {
            tenant_id,
            target,
            attributes,
        })
        .await
    }

    async fn set_prospect_levels(
        &self,
        ctx: &Context<'_>,
        id: String,
        levels: Vec<String>,
    ) -> Result<CampaignPayload> {
        self.run(ctx, id, |tenant_id| CampaignCommand::SetProspectLevels {
            tenant_id,
            levels,
        })
        .await
    }

    async fn set_memo_templates(
        &self,
        ctx: &Context<'_>,
        id: String,
        templates: Vec<String>,
    ) -> Result<CampaignPayload> {
        self.run(ctx, id, |tenant_id| CampaignCommand::SetMemoTemplates {
            tenant_id,
            templates,
        })
        .await
    }

    /// CMP-7: report settings; recipient users must be users of the tenant.
    async fn set_report_settings(
        &self,
        ctx: &Context<'_>,
        id: String,
        input: ReportInput,
    ) -> Result<CampaignPayload> {
        let (request, _) = authorize(ctx, Capability::CampaignEdit)?;
        let unknown = state(ctx).engine.read(|m| {
            input
                .recipient_user_ids
                .iter()
                .copied()
                .find(|u| m.directory.active_user(&request.tenant_id, *u).is_none())
        });
        if let Some(user) = unknown {
            return Err(ApiError::not_found("報告先ユーザー", &user.to_string()).into());
        }
        let report = ReportSettings {
            enabled: input.enabled,
            subject: input.subject,
            header: input.header,
            footer: input.footer,
            addresses: input.addresses,
            recipient_user_ids: input.recipient_user_ids,
        };
        self.run(ctx, id, |tenant_id| CampaignCommand::SetReport {
            tenant_id,
            report,
        })
        .await
    }

    /// Creates an active campaign (CMP-1).
    async fn create_campaign(&self, ctx: &Context<'_>, name: String) -> Result<CampaignPayload> {
        let id = uuid::Uuid::now_v7().to_string();
        self.run(ctx, id, |tenant_id| CampaignCommand::Create {
            tenant_id,
            name,
        })
        .await
    }

    async fn rename_campaign(
        &self,
        ctx: &Context<'_>,
        id: String,
        name: String,
    ) -> Result<CampaignPayload> {
        self.run(ctx, id, |tenant_id| CampaignCommand::Rename {
            tenant_id,
            name,
        })
        .await
    }

    /// Shows the campaign and its folders in pickers again (CMP-6).
    async fn activate_campaign(&self, ctx: &Context<'_>, id: String) -> Result<CampaignPayload> {
        self.run(ctx, id, |tenant_id| CampaignCommand::Activate { tenant_id })
            .await
    }

    /// Hides the campaign and its folders from pickers; permissions stay (CMP-6).
    async fn deactivate_campaign(&self, ctx: &Context<'_>, id: String) -> Result<CampaignPayload> {
        self.run(ctx, id, |tenant_id| CampaignCommand::Deactivate {
            tenant_id,
        })
        .await
    }
}

#[derive(Default)]
pub struct CampaignSubscription;

#[Subscription]
impl CampaignSubscription {
    /// Every change to one of the tenant's campaigns, as the campaign is after the change.
    async fn campaign_changed(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = CampaignObject> + use<>> {
        let (request, _) = authorize(ctx, Capability::CampaignView)?;
        let tenant = request.tenant_id.clone();
        Ok(super::change_stream(
            state(ctx).clone(),
            "campaign",
            move |app, change| match change {
                Change::Campaign {
                    tenant_id,
                    campaign_id,
                } if *tenant_id == tenant => app
                    .engine
                    .read(|m| m.campaigns.get(tenant_id, campaign_id).cloned())
                    .map(CampaignObject),
                _ => None,
            },
        ))
    }
}
