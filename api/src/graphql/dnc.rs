//! Do-not-call management (SPEC DNC-1..5): list and search registrations, register, edit,
//! unregister, and the dial check every dialling path makes (`dialPermission`).

use async_graphql::{Context, Object, Result, SimpleObject};
use kaden_domain::access::Capability;
use kaden_domain::dnc::{
    DialPermission, DialPurpose, DncCommand, DncScope, DncSource, dial_permission,
};
use kaden_domain::list::PhoneNumber;
use kaden_domain::list::phone::normalise;
use kaden_projections::dnc::DncView;

use super::{authorize, local_time, position_text, reach, state};
use crate::commands::RequestContext;
use crate::error::ApiError;

const MAX_PAGE: usize = 1_000;

#[derive(SimpleObject)]
#[graphql(name = "DncRegistration")]
pub struct DncObject {
    id: u64,
    number: String,
    /// `true`: blocks every campaign.
    all_campaigns: bool,
    /// The campaigns it blocks when not all.
    campaign_ids: Vec<String>,
    /// The customer whose status registered it (DNC-1), `FFF-CCC`.
    source_customer_id: Option<String>,
    from_csv: bool,
    registered_at: String,
    registered_by: Option<u64>,
    updated_at: String,
}

fn object(ctx: &Context<'_>, v: &DncView) -> DncObject {
    let r = &v.registration;
    let (all, ids) = match &r.scope {
        DncScope::All => (true, Vec::new()),
        DncScope::Campaigns(c) => (false, c.iter().cloned().collect()),
    };
    DncObject {
        id: r.id,
        number: r.number.as_str().to_owned(),
        all_campaigns: all,
        campaign_ids: ids,
        source_customer_id: r.source.customer_id.clone(),
        from_csv: r.source.csv,
        registered_at: local_time(ctx, v.registered_at),
        registered_by: v.registered_by,
        updated_at: local_time(ctx, v.updated_at),
    }
}

#[derive(SimpleObject)]
pub struct DncPage {
    total_count: usize,
    nodes: Vec<DncObject>,
}

#[derive(SimpleObject)]
pub struct DncPayload {
    /// Registrations on the list after the change.
    total_count: usize,
    position: Option<String>,
}

#[derive(SimpleObject)]
pub struct DialPermissionObject {
    allowed: bool,
    /// The blocking registration.
    registration_id: Option<u64>,
    /// Why it is refused (names the registration).
    reason: Option<String>,
}

fn number(raw: &str) -> Result<PhoneNumber, ApiError> {
    normalise(raw)
        .map(|n| n.number)
        .map_err(|e| ApiError::domain(&e))
}

fn scope(
    ctx: &Context<'_>,
    tenant: &str,
    all_campaigns: bool,
    campaign_ids: Vec<String>,
) -> Result<DncScope, ApiError> {
    if all_campaigns {
        return Ok(DncScope::All);
    }
    if let Some(missing) = state(ctx).engine.read(|m| {
        campaign_ids
            .iter()
            .find(|c| m.campaigns.get(tenant, c).is_none())
            .cloned()
    }) {
        return Err(ApiError::not_found("案件", &missing));
    }
    Ok(DncScope::Campaigns(campaign_ids.into_iter().collect()))
}

async fn run(
    ctx: &Context<'_>,
    request: &RequestContext,
    command: DncCommand,
) -> Result<DncPayload> {
    let app = state(ctx);
    let position = app
        .commands
        .dnc(&request.tenant_id, command, request)
        .await?;
    reach(ctx, position).await?;
    let total_count = app
        .engine
        .read(|m| m.dnc.tenant(&request.tenant_id).map_or(0, |t| t.len()));
    Ok(DncPayload {
        total_count,
        position: position_text(position),
    })
}

#[derive(Default)]
pub struct DncQuery;

#[Object]
impl DncQuery {
    /// Registrations in id order (DNC-2); `number`: digits the number contains (DNC-4).
    async fn dnc_registrations(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] number: String,
        #[graphql(default)] after: u64,
        #[graphql(default = 100)] first: usize,
    ) -> Result<DncPage> {
        let (request, _) = authorize(ctx, Capability::DncView)?;
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        Ok(state(ctx)
            .engine
            .read(|m| match m.dnc.tenant(&request.tenant_id) {
                None => DncPage {
                    total_count: 0,
                    nodes: Vec::new(),
                },
                Some(t) => {
                    let (page, total_count) = t.search(&digits, after, first.clamp(1, MAX_PAGE));
                    DncPage {
                        total_count,
                        nodes: page.into_iter().map(|v| object(ctx, v)).collect(),
                    }
                }
            }))
    }

    /// May `number` be dialled in `campaignId`? (DNC-5; the dialler makes the same check.)
    async fn dial_permission(
        &self,
        ctx: &Context<'_>,
        campaign_id: String,
        number: String,
    ) -> Result<DialPermissionObject> {
        let (request, _) = authorize(ctx, Capability::DncView)?;
        let number = self::number(&number)?;
        Ok(state(ctx).engine.read(|m| {
            let answer = m
                .dnc
                .tenant(&request.tenant_id)
                .map_or(DialPermission::Allowed, |t| {
                    dial_permission(t, DialPurpose::Campaign(&campaign_id), &number)
                });
            match answer {
                DialPermission::Allowed => DialPermissionObject {
                    allowed: true,
                    registration_id: None,
                    reason: None,
                },
                DialPermission::Refused(r) => DialPermissionObject {
                    allowed: false,
                    registration_id: Some(r.registration_id),
                    reason: Some(r.to_string()),
                },
            }
        }))
    }
}

#[derive(Default)]
pub struct DncMutation;

#[Object]
impl DncMutation {
    /// Registers numbers (DNC-3) for the chosen campaigns or all; a number already on the list
    /// is widened to cover them.
    async fn register_dnc(
        &self,
        ctx: &Context<'_>,
        numbers: Vec<String>,
        #[graphql(default)] campaign_ids: Vec<String>,
        #[graphql(default)] all_campaigns: bool,
        source_customer_id: Option<String>,
    ) -> Result<DncPayload> {
        let (request, _) = authorize(ctx, Capability::DncRegister)?;
        let numbers = numbers
            .iter()
            .map(|n| number(n))
            .collect::<Result<Vec<_>, _>>()?;
        let scope = scope(ctx, &request.tenant_id, all_campaigns, campaign_ids)?;
        let command = DncCommand::Register {
            tenant_id: request.tenant_id.clone(),
            numbers,
            scope,
            source: DncSource {
                customer_id: source_customer_id,
                ..DncSource::default()
            },
        };
        run(ctx, request, command).await
    }

    /// Changes a registration's number and campaigns (DNC-2).
    async fn edit_dnc(
        &self,
        ctx: &Context<'_>,
        id: u64,
        number: String,
        #[graphql(default)] campaign_ids: Vec<String>,
        #[graphql(default)] all_campaigns: bool,
    ) -> Result<DncPayload> {
        let (request, _) = authorize(ctx, Capability::DncEdit)?;
        let number = self::number(&number)?;
        let scope = scope(ctx, &request.tenant_id, all_campaigns, campaign_ids)?;
        let command = DncCommand::Edit {
            tenant_id: request.tenant_id.clone(),
            id,
            number,
            scope,
        };
        run(ctx, request, command).await
    }

    /// Unregisters one or several registrations (DNC-2); past statuses stay as they were.
    async fn unregister_dnc(&self, ctx: &Context<'_>, ids: Vec<u64>) -> Result<DncPayload> {
        let (request, _) = authorize(ctx, Capability::DncEdit)?;
        let command = DncCommand::Unregister {
            tenant_id: request.tenant_id.clone(),
            ids,
        };
        run(ctx, request, command).await
    }

    /// Empties the tenant's do-not-call list (DNC-2).
    async fn unregister_all_dnc(&self, ctx: &Context<'_>) -> Result<DncPayload> {
        let (request, _) = authorize(ctx, Capability::DncEdit)?;
        let command = DncCommand::UnregisterAll {
            tenant_id: request.tenant_id.clone(),
        };
        run(ctx, request, command).await
    }
}
