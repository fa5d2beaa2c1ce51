//! Campaigns (案件): queries, mutations and the change subscription.

use async_graphql::{Context, Object, Result, SimpleObject, Subscription};
use futures::{Stream, StreamExt};
use kaden_domain::access::Capability;
use kaden_domain::campaign::CampaignCommand;
use kaden_projections::Change;
use kaden_projections::campaigns::CampaignView;
use tokio_stream::wrappers::BroadcastStream;

use super::{authorize, local_time, position_text, reach, state};
use crate::error::ApiError;

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
        let app = state(ctx).clone();
        let closing = app.closing();
        let stream = BroadcastStream::new(app.engine.subscribe()).filter_map(move |change| {
            let found = match change.as_deref() {
                Ok(Change::Campaign { tenant_id, campaign_id }) if *tenant_id == tenant => {
                    app.engine.read(|m| m.campaigns.get(tenant_id, campaign_id).cloned()).map(CampaignObject)
                }
                Ok(_) => None,
                Err(error) => {
                    tracing::warn!(%error, "campaign subscriber fell behind; some changes were not sent");
                    None
                }
            };
            futures::future::ready(found)
        });
        Ok(stream.take_until(closing))
    }
}
