//! Calls from the call screen: the operator's SIP account, placing a call (every check in the
//! telephony gate), hang-up and hold, saving the result (CALL-6), auto-call (CALL-7), the
//! interactions read model, and `callChanged` for the call-state area.

use std::sync::Arc;

use async_graphql::{Context, Object, Result, SimpleObject};
use kaden_domain::access::{Access, Capability, check};
use kaden_domain::error::ErrorCode;
use kaden_domain::folder::parse_customer_id;
use kaden_projections::ReadModels;
use kaden_projections::interactions::InteractionView;

use super::call_enums::{CallOutcome, CallState, DialMode as DialModeEnum, EndedBy};
use super::{authorize, position_text, reach, state};
use crate::calls::auto;
use crate::commands::{AuthUser, RequestContext};
use crate::error::ApiError;
use crate::service;

/// The failure cause of an unanswered call.
#[derive(SimpleObject, Clone)]
pub struct CallFailureObject {
    /// SIP status (408 also for the ring time running out).
    pub code: u16,
    pub reason: String,
    pub outcome: CallOutcome,
    /// Japanese label (話し中…).
    pub label: String,
}

#[derive(SimpleObject, Clone)]
pub struct RefusalObject {
    pub code: String,
    pub reason: String,
}

#[derive(SimpleObject, Clone)]
pub struct RecordingObject {
    /// Download / play in the browser (same session).
    pub url: String,
    pub duration_ms: u64,
    pub bytes: u64,
}

/// One interaction (対応履歴): a call and its result.
#[derive(SimpleObject, Clone)]
pub struct InteractionObject {
    pub id: String,
    pub customer_id: String,
    pub folder_id: u32,
    pub campaign_id: String,
    pub number: String,
    pub caller_number: String,
    pub user_id: u64,
    pub user_name: String,
    pub mode: DialModeEnum,
    pub state: CallState,
    /// 発信中, 呼出中, 通話中…
    pub state_label: String,
    pub started_at: String,
    pub answered_at: Option<String>,
    pub ended_at: Option<String>,
    /// 180 or 183 once the customer's side rings.
    pub ringing: Option<u16>,
    pub operator_connected: bool,
    pub talk_seconds: u64,
    pub talk_ms: u64,
    pub ended_by: Option<EndedBy>,
    pub failure: Option<CallFailureObject>,
    pub refusal: Option<RefusalObject>,
    pub suggested_status: Option<String>,
    pub status: Option<String>,
    pub memo: String,
    pub saved_at: Option<String>,
    pub recording: Option<RecordingObject>,
    pub recording_error: Option<String>,
}

pub(crate) fn interaction_object(
    m: &ReadModels,
    tenant: &str,
    v: &InteractionView,
    zone: chrono_tz::Tz,
) -> InteractionObject {
    let local = |at: chrono::DateTime<chrono::Utc>| {
        at.with_timezone(&zone)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    };
    InteractionObject {
        id: v.id.clone(),
        customer_id: v.target.customer_id.clone(),
        folder_id: v.target.folder,
        campaign_id: v.target.campaign_id.clone(),
        number: v.target.number.clone(),
        caller_number: v.target.caller_number.clone(),
        user_id: v.target.user_id,
        user_name: m
            .directory
            .user(tenant, v.target.user_id)
            .map(|u| u.display_name.clone())
            .unwrap_or_default(),
        mode: v.target.mode.into(),
        state: v.state.into(),
        state_label: v.state.label().to_string(),
        started_at: local(v.started_at),
        answered_at: v.answered_at.map(local),
        ended_at: v.ended_at.map(local),
        ringing: v.ringing,
        operator_connected: v.operator_connected,
        talk_seconds: v.talk_seconds,
        talk_ms: v.talk_ms,
        ended_by: v.ended_by.map(Into::into),
        failure: v.failure.as_ref().map(|f| CallFailureObject {
            code: f.code,
            reason: f.reason.clone(),
            outcome: f.outcome.into(),
            label: f.outcome.label().to_string(),
        }),
        refusal: v.refusal.as_ref().map(|(code, reason)| RefusalObject {
            code: code.clone(),
            reason: reason.clone(),
        }),
        suggested_status: v.suggested_status.clone(),
        status: v.status.clone(),
        memo: v.memo(),
        saved_at: v.saved_at.map(local),
        recording: v.recording.as_ref().map(|r| RecordingObject {
            url: format!("/api/recordings/{}.wav", v.id),
            duration_ms: r.duration_ms,
            bytes: r.bytes,
        }),
        recording_error: v.recording_error.clone(),
    }
}

/// The caller may dial: CallScreen with full access (BIZ is view only).
fn dialler<'a>(ctx: &Context<'a>) -> Result<(&'a RequestContext, &'a AuthUser), ApiError> {
    let (request, user) = authorize(ctx, Capability::CallScreen)?;
    if check(user.role, Capability::CallScreen)? != Access::All {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "{}は架電画面を閲覧のみできます (role {} may view the call screen but not dial: {} is view only)",
                user.role,
                user.role,
                Capability::CallScreen.name()
            ),
        ));
    }
    Ok((request, user))
}

#[derive(SimpleObject)]
pub struct TelephonyObject {
    /// Where softphones register (`sip:host:port`).
    pub registrar: String,
    pub realm: String,
    /// Your SIP account name (set a password with setSipPassword first).
    pub sip_user: Option<String>,
    /// Your softphone is signed in now.
    pub registered: bool,
    /// MON-3: your tenant's lines in use and licensed.
    pub lines_in_use: u32,
    pub line_limit: u32,
    /// The built-in test carrier's address when no trunk is configured.
    pub test_carrier: Option<String>,
}

#[derive(SimpleObject)]
pub struct SipPasswordPayload {
    pub sip_user: String,
    /// Shown once: enter it in the softphone.
    pub password: String,
    pub registrar: String,
    pub realm: String,
}

#[derive(SimpleObject)]
pub struct PlaceCallPayload {
    pub interaction: InteractionObject,
    pub position: Option<String>,
}

#[derive(SimpleObject)]
pub struct PassedOverObject {
    pub customer_id: String,
    pub code: String,
    pub reason: String,
}

#[derive(SimpleObject)]
pub struct AutoCallObject {
    pub running: bool,
    pub folder_id: u32,
    pub ring_seconds: u64,
    /// The interaction dialled now (or last).
    pub current: Option<String>,
    pub dialled: u32,
    pub passed_over: Vec<PassedOverObject>,
    pub stopped_code: Option<String>,
    pub stopped_message: Option<String>,
}

fn auto_object(s: auto::AutoStatus) -> AutoCallObject {
    AutoCallObject {
        running: s.running,
        folder_id: s.folder,
        ring_seconds: s.ring_seconds,
        current: s.current,
        dialled: s.dialled,
        passed_over: s
            .passed_over
            .into_iter()
            .map(|p| PassedOverObject {
                customer_id: p.customer_id,
                code: p.code,
                reason: p.reason,
            })
            .collect(),
        stopped_code: s.stopped.as_ref().map(|(c, _)| c.clone()),
        stopped_message: s.stopped.map(|(_, m)| m),
    }
}

/// An interaction the caller may see, or NOT_FOUND.
fn visible_interaction(ctx: &Context<'_>, id: &str) -> Result<InteractionObject, ApiError> {
    let (request, user) = authorize(ctx, Capability::HistorySearch)?;
    let access = check(user.role, Capability::HistorySearch)?;
    let app = state(ctx);
    let tenant = &request.tenant_id;
    app.engine
        .read(|m| {
            let v = m.interactions.get(tenant, id)?;
            service::calls::may_see(m, tenant, user, access, v)
                .then(|| interaction_object(m, tenant, v, app.settings.time_zone))
        })
        .ok_or_else(|| ApiError::not_found("対応履歴", id))
}

#[derive(Default)]
pub struct CallQuery;

#[Object]
impl CallQuery {
    /// Telephony as the call screen needs it: where to sign the softphone in, whether it is,
    /// and the tenant's lines (MON-3).
    async fn telephony(&self, ctx: &Context<'_>) -> Result<TelephonyObject> {
        let (request, user) = authorize(ctx, Capability::CallScreen)?;
        let app = state(ctx);
        let calls = service::calls::telephony(app.calls())?;
        let sip_user = service::calls::sip_account(&app.engine, &request.tenant_id, user).ok();
        let lines = calls.gate.tenant_lines(&request.tenant_id);
        Ok(TelephonyObject {
            registrar: format!("sip:{}", calls.sip_addr()),
            realm: calls.settings.realm.clone(),
            registered: sip_user
                .as_deref()
                .is_some_and(|u| !calls.control.registrar().lookup(u).is_empty()),
            sip_user,
            lines_in_use: lines.in_use(),
            line_limit: lines.limit(),
            test_carrier: calls.carrier.as_ref().map(|c| c.addr().to_string()),
        })
    }

    /// One interaction (history scope of USR-6: all, own, permitted folders).
    async fn interaction(&self, ctx: &Context<'_>, id: String) -> Result<InteractionObject> {
        Ok(visible_interaction(ctx, &id)?)
    }

    /// A customer's interactions, newest first (the call screen's history).
    async fn customer_interactions(
        &self,
        ctx: &Context<'_>,
        customer_id: String,
    ) -> Result<Vec<InteractionObject>> {
        let (request, user) = authorize(ctx, Capability::HistorySearch)?;
        let access = check(user.role, Capability::HistorySearch)?;
        let (folder, number) = parse_customer_id(&customer_id)
            .ok_or_else(|| ApiError::not_found("顧客", &customer_id))?;
        let app = state(ctx);
        let tenant = &request.tenant_id;
        Ok(app.engine.read(|m| {
            m.interactions
                .tenant(tenant)
                .map(|t| {
                    t.of_customer(folder, number)
                        .into_iter()
                        .filter(|v| service::calls::may_see(m, tenant, user, access, v))
                        .map(|v| interaction_object(m, tenant, v, app.settings.time_zone))
                        .collect()
                })
                .unwrap_or_default()
        }))
    }

    /// Your call in progress, if any.
    async fn my_call(&self, ctx: &Context<'_>) -> Result<Option<InteractionObject>> {
        let (request, user) = authorize(ctx, Capability::CallScreen)?;
        let app = state(ctx);
        let tenant = &request.tenant_id;
        Ok(app.engine.read(|m| {
            m.interactions
                .tenant(tenant)
                .and_then(|t| t.live_call(user.user_id))
                .map(|v| interaction_object(m, tenant, v, app.settings.time_zone))
        }))
    }

    /// Your auto-call run (CALL-7), running or last stopped.
    async fn auto_call(&self, ctx: &Context<'_>) -> Result<Option<AutoCallObject>> {
        let (request, user) = dialler(ctx)?;
        let calls = service::calls::telephony(state(ctx).calls())?;
        let snapshot = calls
            .autos
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(request.tenant_id.clone(), user.user_id))
            .map(auto::AutoRun::snapshot);
        Ok(snapshot.map(auto_object))
    }
}

#[derive(Default)]
pub struct CallMutation;

#[Object]
impl CallMutation {
    /// Sets a new SIP password for your softphone and shows it once (only its digest HA1 is
    /// stored).
    async fn set_sip_password(&self, ctx: &Context<'_>) -> Result<SipPasswordPayload> {
        let (request, user) = dialler(ctx)?;
        let app = state(ctx);
        let calls = service::calls::telephony(app.calls())?;
        let (sip_user, password, position) = service::calls::set_sip_password(
            &app.commands,
            &calls,
            &app.settings.default_tenant,
            request,
            user,
        )
        .await?;
        reach(ctx, position).await?;
        Ok(SipPasswordPayload {
            sip_user,
            password,
            registrar: format!("sip:{}", calls.sip_addr()),
            realm: calls.settings.realm.clone(),
        })
    }

    /// Calls a customer (CALL-5): the operator's phone rings, then the customer through the
    /// trunk with the caller number (CALL-9: the campaign's main number unless another of its
    /// numbers is given). Refused, and the refusal recorded, when the number is do-not-call
    /// (DNC-5), every licensed line is busy (MON-3) or the campaign has no main number (CMP-2).
    async fn place_call(
        &self,
        ctx: &Context<'_>,
        customer_id: String,
        caller_number: Option<String>,
    ) -> Result<PlaceCallPayload> {
        let (request, user) = dialler(ctx)?;
        let app = state(ctx);
        let placed = service::calls::place_call(
            &app.engine,
            app.calls(),
            request,
            user,
            &customer_id,
            caller_number,
        )
        .await;
        let (id, position) = placed?;
        reach(ctx, position).await?;
        let interaction = visible_interaction(ctx, &id)?;
        Ok(PlaceCallPayload {
            interaction,
            position: position_text(position),
        })
    }

    /// Hangs up your call (cancels it while it rings). False when it has already ended.
    async fn hang_up(&self, ctx: &Context<'_>, interaction_id: String) -> Result<bool> {
        let (request, user) = dialler(ctx)?;
        let app = state(ctx);
        let calls = service::calls::telephony(app.calls())?;
        service::calls::own_call(&app.engine, &request.tenant_id, user, &interaction_id)?;
        Ok(calls.hang_up(&request.tenant_id, &interaction_id))
    }

    /// Hold (CALL-5): the customer hears silence and not the operator; `on: false` resumes.
    async fn hold_call(&self, ctx: &Context<'_>, interaction_id: String, on: bool) -> Result<bool> {
        let (request, user) = dialler(ctx)?;
        let app = state(ctx);
        let calls = service::calls::telephony(app.calls())?;
        service::calls::own_call(&app.engine, &request.tenant_id, user, &interaction_id)?;
        Ok(calls.hold(&request.tenant_id, &interaction_id, on))
    }

    /// Saves the call's result (CALL-6): the status overwrites, the memo is joined to earlier
    /// ones. Saving 不通 drops the recording (REC-1); saving 架電禁止 registers the number as
    /// do-not-call for the campaign (DNC-1).
    async fn save_result(
        &self,
        ctx: &Context<'_>,
        interaction_id: String,
        status: String,
        memo: Option<String>,
    ) -> Result<InteractionObject> {
        let (request, user) = authorize(ctx, Capability::InteractionEdit)?;
        let access = check(user.role, Capability::InteractionEdit)?;
        let app = state(ctx);
        let save = service::calls::SaveResult {
            interaction_id: interaction_id.clone(),
            status,
            memo,
        };
        let position =
            service::calls::save_result(&app.engine, &app.commands, request, user, access, save)
                .await?;
        reach(ctx, position).await?;
        Ok(visible_interaction(ctx, &interaction_id)?)
    }

    /// Auto-call (CALL-7): dials the folder's customers in id order from `fromCustomerId`
    /// (or the first), each ringing `ringSeconds` (10–45); unanswered calls are saved as 不通
    /// and the next is dialled; refused customers are passed over with the reason; a
    /// connected call stops the run.
    async fn start_auto_call(
        &self,
        ctx: &Context<'_>,
        folder_id: u32,
        ring_seconds: u64,
        from_customer_id: Option<String>,
        #[graphql(default = false)] only_new: bool,
    ) -> Result<AutoCallObject> {
        let (request, user) = dialler(ctx)?;
        let app = state(ctx);
        let calls = service::calls::telephony(app.calls())?;
        let tenant = &request.tenant_id;
        let sip_user = service::calls::sip_account(&app.engine, tenant, user)?;
        let start = match &from_customer_id {
            Some(id) => parse_customer_id(id)
                .filter(|(f, _)| *f == folder_id)
                .map(|(_, c)| c)
                .ok_or_else(|| ApiError::not_found("顧客", id))?,
            None => 1,
        };
        let caller_number = app.engine.read(|m| {
            service::calls::callable_folder(m, tenant, folder_id, user, || {
                ApiError::not_found("リストフォルダ", &folder_id.to_string())
            })
            .map(|(_, c)| c.settings.main_caller_number.clone().unwrap_or_default())
        })?;
        let walk = auto::Walk {
            engine: Arc::clone(&app.engine),
            calls: Arc::clone(&calls),
            ctx: request.clone(),
            folder: folder_id,
            caller_number,
            user_id: user.user_id,
            sip_user,
            cursor: start - 1,
            only_new,
            status: Arc::default(),
        };
        service::calls::busy_guard(&app.engine, tenant, user)?;
        let status = auto::start(walk, ring_seconds)?;
        let snapshot = status.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Ok(auto_object(snapshot))
    }

    /// Stops your auto-call run and hangs up the call it is dialling.
    async fn stop_auto_call(&self, ctx: &Context<'_>) -> Result<bool> {
        let (request, user) = dialler(ctx)?;
        let calls = service::calls::telephony(state(ctx).calls())?;
        Ok(auto::stop(&calls, &request.tenant_id, user.user_id))
    }
}

#[derive(Default)]
pub struct CallSubscription;

#[async_graphql::Subscription]
impl CallSubscription {
    /// Every change to your calls (placed, ringing, talking, ended, saved, recording stored),
    /// or — with `userId` and the monitoring right (MON-1) — to that user's calls.
    async fn call_changed(
        &self,
        ctx: &Context<'_>,
        user_id: Option<u64>,
    ) -> Result<impl futures::Stream<Item = InteractionObject> + use<>> {
        let (request, user) = authorize(ctx, Capability::CallScreen)?;
        let watched = match user_id {
            Some(u) if u != user.user_id => {
                check(user.role, Capability::OperatorMonitoring)?;
                u
            }
            _ => user.user_id,
        };
        let tenant = request.tenant_id.clone();
        Ok(super::change_stream(
            state(ctx).clone(),
            "call",
            move |app, change| match change {
                kaden_projections::Change::Interaction {
                    tenant_id,
                    interaction_id,
                    user_id,
                } if *tenant_id == tenant && *user_id == watched => app.engine.read(|m| {
                    m.interactions
                        .get(tenant_id, interaction_id)
                        .map(|v| interaction_object(m, tenant_id, v, app.settings.time_zone))
                }),
                _ => None,
            },
        ))
    }
}
