//! Call-screen use cases and policies: who may call which customer (LST-1, CALL-9), one call
//! at a time, whose call it is, which interactions a user may see (USR-6), the operator's SIP
//! account, and saving a call's result (CALL-6) with what follows from it in the same
//! decision — 架電禁止 registers the number as do-not-call for the campaign (DNC-1).

use std::sync::Arc;

use kaden_domain::access::Access;
use kaden_domain::dnc::{DncCommand, DncRegistry, DncScope, DncSource};
use kaden_domain::error::ErrorCode;
use kaden_domain::folder::parse_customer_id;
use kaden_domain::interaction::{
    CallTarget, DialMode, Interaction, InteractionCommand, interaction_aggregate_id,
};
use kaden_domain::list::PhoneNumber;
use kaden_projections::ReadModels;
use kaden_projections::campaigns::CampaignView;
use kaden_projections::engine::Engine;
use kaden_projections::folders::FolderView;
use kaden_projections::interactions::InteractionView;
use kaden_projections::log::LogPosition;

use crate::calls::{Calls, customer_target, sip_user_name};
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

/// May `user` (with `access` to interaction history) see `v`? (USR-6: all / own / permitted
/// folders.)
pub fn may_see(
    m: &ReadModels,
    tenant: &str,
    user: &AuthUser,
    access: Access,
    v: &InteractionView,
) -> bool {
    match access {
        Access::All => true,
        Access::Own => v.target.user_id == user.user_id,
        Access::PermittedFolders => m
            .folders
            .folder(tenant, v.target.folder)
            .is_some_and(|f| f.permitted_users.contains(&user.user_id)),
        _ => false,
    }
}

/// Telephony, or TELEPHONY_OFF when this server runs without it.
pub fn telephony(calls: Option<Arc<Calls>>) -> Result<Arc<Calls>, ApiError> {
    calls.ok_or_else(|| {
        ApiError::new(
            ErrorCode::TelephonyOff,
            "このサーバーでは電話機能が無効です (telephony is off on this server: start kaden serve without --no-telephony)",
        )
    })
}

/// The operator's SIP account name and whether a password is set.
pub fn sip_account(engine: &Engine, tenant: &str, user: &AuthUser) -> Result<String, ApiError> {
    engine
        .read(|m| {
            m.directory
                .user(tenant, user.user_id)
                .and_then(|u| u.sip.as_ref().map(|s| s.sip_user.clone()))
        })
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NoSipAccount,
                "ソフトフォン用のSIPパスワードが未設定です。setSipPasswordで設定してください (you have no SIP password for your softphone yet: call the setSipPassword mutation, then sign the softphone in)",
            )
        })
}

/// What placing a call needs from the read models, checked (LST-1, CALL-9).
pub fn call_target(
    engine: &Engine,
    tenant: &str,
    user: &AuthUser,
    customer_id: &str,
    caller_number: Option<String>,
    mode: DialMode,
) -> Result<CallTarget, ApiError> {
    let (folder, number) =
        parse_customer_id(customer_id).ok_or_else(|| ApiError::not_found("顧客", customer_id))?;
    engine.read(|m| {
        let (f, campaign) = callable_folder(m, tenant, folder, user, || {
            ApiError::not_found("顧客", customer_id)
        })?;
        let c = f
            .customer(number)
            .ok_or_else(|| ApiError::not_found("顧客", customer_id))?;
        // CALL-9: the campaign's main number by default; the gate checks a chosen one.
        let caller = caller_number
            .map(|n| n.chars().filter(char::is_ascii_digit).collect::<String>())
            .or_else(|| campaign.settings.main_caller_number.clone())
            .unwrap_or_default();
        customer_target(f, &c, caller, user.user_id, mode).ok_or_else(|| {
            ApiError::new(
                ErrorCode::NoPhone,
                format!("顧客{customer_id}には電話番号がありません (customer {customer_id} has no phone number: add one first)"),
            )
        })
    })
}

/// The folder and its campaign, if `user` may call its customers (LST-1); `missing` is the
/// error for a folder that does not exist.
pub fn callable_folder<'m>(
    m: &'m ReadModels,
    tenant: &str,
    folder: u32,
    user: &AuthUser,
    missing: impl FnOnce() -> ApiError,
) -> Result<(&'m FolderView, &'m CampaignView), ApiError> {
    let f = m.folders.folder(tenant, folder).ok_or_else(missing)?;
    let campaign = m.campaigns.get(tenant, &f.campaign_id);
    match campaign {
        Some(c) if f.open_to(user.user_id, c.active) => Ok((f, c)),
        _ => Err(ApiError::new(
            ErrorCode::FolderNotPermitted,
            format!(
                "リストフォルダ{folder}で架電する権限がありません (folder {folder} is not open to you for calling: it must be active, in an active campaign, and list you as a permitted user; ask a manager)"
            ),
        )),
    }
}

/// One call at a time per operator: Call is refused while the caller is on one.
pub fn busy_guard(engine: &Engine, tenant: &str, user: &AuthUser) -> Result<(), ApiError> {
    let live = engine.read(|m| {
        m.interactions
            .tenant(tenant)
            .and_then(|t| t.live_call(user.user_id))
            .map(|v| v.id.clone())
    });
    match live {
        Some(id) => Err(ApiError::new(
            ErrorCode::CallInProgress,
            format!(
                "通話中のため発信できません。終話してから発信してください (you are on call {id}: hang up first)"
            ),
        )),
        None => Ok(()),
    }
}

/// The interaction must be the caller's own (hang-up and hold act on your own call).
pub fn own_call(engine: &Engine, tenant: &str, user: &AuthUser, id: &str) -> Result<(), ApiError> {
    let owner = engine.read(|m| m.interactions.get(tenant, id).map(|v| v.target.user_id));
    match owner {
        Some(o) if o == user.user_id => Ok(()),
        _ => Err(ApiError::not_found("通話", id)),
    }
}

/// Places a call to a customer (CALL-5): one call at a time, a folder open to the caller
/// (LST-1), the campaign's number (CALL-9), a signed-in softphone; the telephony gate decides
/// the rest (DNC-5, MON-3, CMP-2) and records a refusal. Returns the interaction's id.
pub async fn place_call(
    engine: &Engine,
    calls: Option<Arc<Calls>>,
    ctx: &RequestContext,
    user: &AuthUser,
    customer_id: &str,
    caller_number: Option<String>,
) -> Result<(String, Option<LogPosition>), ApiError> {
    let calls = telephony(calls)?;
    let tenant = &ctx.tenant_id;
    busy_guard(engine, tenant, user)?;
    let target = call_target(
        engine,
        tenant,
        user,
        customer_id,
        caller_number,
        DialMode::List,
    )?;
    let sip_user = sip_account(engine, tenant, user)?;
    calls
        .place(ctx, target, sip_user, calls.settings.customer_ring)
        .await
}

/// Sets a new SIP password for the user's softphone (only its digests HA1 are stored) and
/// returns the SIP user name and the password, to be shown once.
pub async fn set_sip_password(
    commands: &Commands,
    calls: &Calls,
    default_tenant: &str,
    ctx: &RequestContext,
    user: &AuthUser,
) -> Result<(String, String, Option<LogPosition>), ApiError> {
    let sip_user = sip_user_name(default_tenant, &ctx.tenant_id, &user.username);
    let password = crate::auth::one_time_password();
    let realm = calls.settings.realm.clone();
    let ha1 = |a| kaden_telephony::auth::ha1(a, &sip_user, &realm, &password);
    let cmd = kaden_domain::tenant::TenantCommand::SetSipPassword {
        user_id: user.user_id,
        sip_user: sip_user.clone(),
        realm: realm.clone(),
        ha1_md5: ha1(kaden_telephony::auth::Algorithm::Md5),
        ha1_sha256: ha1(kaden_telephony::auth::Algorithm::Sha256),
    };
    let position = commands.tenant(&ctx.tenant_id, cmd, ctx).await?;
    Ok((sip_user, password, position))
}
