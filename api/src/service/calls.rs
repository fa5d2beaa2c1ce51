//! Call-screen use cases: saving a call's result (CALL-6) and what follows from it in the
//! same decision — 架電禁止 registers the number as do-not-call for the campaign (DNC-1).

use kaden_domain::access::Access;
use kaden_domain::dnc::{DncCommand, DncRegistry, DncScope, DncSource};
use kaden_domain::interaction::{Interaction, InteractionCommand, interaction_aggregate_id};
use kaden_domain::list::PhoneNumber;
use kaden_projections::engine::Engine;
use kaden_projections::log::LogPosition;

use crate::commands::{AuthUser, Commands, RequestContext};
use crate::error::ApiError;

/// The fixed status that registers the number as do-not-call (CMP-3, DNC-1).
pub const DO_NOT_CALL_STATUS: &str = "架電禁止";

/// What the operator saves for a call.
pub struct SaveResult {
    pub interaction_id: String,
    pub status: String,
    pub memo: Option<String>,
}

/// Saves a call's result: the status overwrites, the memo joins earlier ones. Saving 架電禁止
/// also registers the number for the interaction's campaign, with the customer and the
/// interaction as its source — both decided and written in ONE append, so no crash or
/// concurrent writer can leave a 架電禁止 number dialable. Saving 不通 drops the recording;
/// its file is deleted by `crate::reactions` once the event is in the log.
pub async fn save_result(
    engine: &Engine,
    commands: &Commands,
    ctx: &RequestContext,
    user: &AuthUser,
    access: Access,
    save: SaveResult,
) -> Result<Option<LogPosition>, ApiError> {
    let tenant = &ctx.tenant_id;
    let id = &save.interaction_id;
    let (statuses, target) = engine
        .read(|m| {
            let v = m.interactions.get(tenant, id)?;
            let c = m.campaigns.get(tenant, &v.target.campaign_id)?;
            let statuses = c
                .settings
                .statuses()
                .map(str::to_string)
                .collect::<Vec<_>>();
            Some((statuses, v.target.clone()))
        })
        .ok_or_else(|| ApiError::not_found("対応履歴", id))?;
    let register = if save.status == DO_NOT_CALL_STATUS {
        let number =
            PhoneNumber::from_normalised(&target.number).map_err(|e| ApiError::domain(&e))?;
        Some(DncCommand::Register {
            tenant_id: tenant.clone(),
            numbers: vec![number],
            scope: DncScope::Campaigns(std::iter::once(target.campaign_id.clone()).collect()),
            source: DncSource {
                customer_id: Some(target.customer_id.clone()),
                interaction_id: Some(id.clone()),
                csv: false,
            },
        })
    } else {
        None
    };
    let call_ref = interaction_aggregate_id(tenant, id);
    let writer = commands.writer(ctx)?;
    loop {
        let mut attempt = writer.attempt();
        let mut call = writer.load::<Interaction>(&call_ref).await?;
        let cmd = InteractionCommand::SaveResult {
            tenant_id: tenant.clone(),
            by: Some((user.user_id, access == Access::All)),
            status: save.status.clone(),
            memo: save.memo.clone(),
            statuses: statuses.clone(),
        };
        writer.decide(&mut attempt, &mut call, cmd).await?;
        if let Some(register) = &register {
            let mut registry = writer.load::<DncRegistry>(tenant).await?;
            writer
                .decide(&mut attempt, &mut registry, register.clone())
                .await?;
        }
        if let Some(position) = writer.append(attempt).await? {
            return Ok(position);
        }
    }
}
