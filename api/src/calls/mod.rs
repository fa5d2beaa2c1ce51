//! Calls: telephony wired into the domain.
//! (Slightly over 600 lines: the pending-call table and the pump that reads it stay together.)
//!
//! [`Calls::start`] starts telephony's `CallControl` (SIP registrar, user agent, RTP relay and
//! recorder) with the api's gate ([`gate::ApiGate`]: DNC-5, CMP-2, CMP-6, CALL-9, MON-3) and
//! the users' SIP passwords, and — when no trunk is configured — the built-in test carrier on
//! loopback. Every call is placed through [`Calls::place`] (the Call button and auto-call);
//! telephony's call events are turned, in order, into commands on the call's `Interaction`
//! (one task, [`pump`]), so the log holds every call's placement or refusal, ringing, answer,
//! failure with its cause, end with talk time, and recording.
//!
//! ## Layout
//! - `gate`: the `CallGate` and `SipCredentials` implementations, refusal codes and messages.
//! - `auto`: auto-call runs (CALL-7) walking a folder.
//! - `bindings`: softphones' registrations as events, restored at start and shared by nodes.
//! - `sip_metrics`: the SIP endpoint's counters for /metrics.

pub mod auto;
pub mod bindings;
pub mod gate;
pub mod sip_metrics;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kaden_domain::aggregate_ref::AggregateRef;
use kaden_domain::interaction::{
    CallOutcome, CallTarget, DialMode, EndedBy, InteractionCommand, interaction_aggregate_id,
};
use kaden_projections::folders::{CustomerView, FolderView};
use kaden_projections::log::LogPosition;
use kaden_telephony::carrier::{CarrierConfig, Odds, TestCarrier};
use kaden_telephony::dialer::{
    CallControl, CallEvent, CallRequest, Outcome, Refusal, Side, TelephonyConfig, TrunkConfig,
};
use tokio::sync::{mpsc, oneshot, watch};

use crate::commands::{Commands, RequestContext};
use crate::error::ApiError;
use gate::{ApiGate, SipUsers, call_tenant, refusal_code, refusal_message};
use kaden_projections::engine::Engine;

/// Where customer calls go when a real trunk is configured.
#[derive(Clone)]
pub struct TrunkSettings {
    pub addr: SocketAddr,
    /// Host of the Request-URI; the address's IP when empty.
    pub domain: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// The built-in test carrier's behaviour (used when no trunk is configured).
#[derive(Debug, Clone)]
pub struct TestCarrierSettings {
    pub odds: Odds,
    pub answer_delay: Duration,
    /// Answered calls are hung up by the carrier after this long (`None`: never).
    pub talk_limit: Option<Duration>,
}

impl Default for TestCarrierSettings {
    fn default() -> Self {
        Self {
            odds: Odds::default(),
            answer_delay: Duration::from_secs(3),
            talk_limit: Some(Duration::from_secs(120)),
        }
    }
}

/// Telephony settings of a server.
#[derive(Clone)]
pub struct TelephonySettings {
    /// Where softphones register and calls are signalled (UDP).
    pub sip_listen: SocketAddr,
    /// Address RTP binds to and SDP announces.
    pub media_ip: IpAddr,
    /// `None`: start the built-in test carrier on loopback.
    pub trunk: Option<TrunkSettings>,
    pub test_carrier: TestCarrierSettings,
    /// MON-3: licensed lines of a tenant whose contract sets none.
    pub default_lines: u32,
    /// Digest realm softphones sign in to.
    pub realm: String,
    /// How long the operator's phone may ring.
    pub operator_ring: Duration,
    /// How long a customer rings on a Call-button call.
    pub customer_ring: Duration,
    /// `sip_listen` is only the default: when its port is taken (a softphone on the same
    /// machine often holds 5060), another free port is used and printed.
    pub sip_port_may_move: bool,
}

impl TelephonySettings {
    /// One machine: SIP and media on `ip`, SIP port `port` (0: any), the test carrier.
    pub fn local(ip: IpAddr, port: u16) -> Self {
        Self {
            sip_listen: SocketAddr::new(ip, port),
            media_ip: if ip.is_unspecified() {
                IpAddr::from([127, 0, 0, 1])
            } else {
                ip
            },
            trunk: None,
            test_carrier: TestCarrierSettings::default(),
            default_lines: 10,
            realm: "kaden".into(),
            operator_ring: Duration::from_secs(30),
            customer_ring: Duration::from_secs(60),
            sip_port_may_move: false,
        }
    }
}

impl std::fmt::Debug for TelephonySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelephonySettings")
            .field("sip_listen", &self.sip_listen)
            .field("media_ip", &self.media_ip)
            .field("trunk", &self.trunk.as_ref().map(|t| t.addr))
            .field("default_lines", &self.default_lines)
            .field("realm", &self.realm)
            .finish()
    }
}

/// What the pump needs to write a call's first event, and who waits for it.
struct Pending {
    target: CallTarget,
    ctx: RequestContext,
    written: Option<oneshot::Sender<Result<Option<LogPosition>, ApiError>>>,
}

/// The calls service a server holds.
pub struct Calls {
    pub control: CallControl,
    pub gate: Arc<ApiGate>,
    pub settings: TelephonySettings,
    pub recordings_dir: PathBuf,
    /// Running only when no trunk is configured.
    pub carrier: Option<TestCarrier>,
    pending: Mutex<HashMap<String, Pending>>,
    /// Auto-call runs by (tenant, user).
    pub(crate) autos: Mutex<HashMap<(String, u64), auto::AutoRun>>,
    stop: watch::Sender<bool>,
    pump: Mutex<Option<tokio::task::JoinHandle<()>>>,
    bindings: Arc<bindings::StoredBindings>,
}

impl Calls {
    /// Starts telephony (and the test carrier when no trunk is set). Call events are turned
    /// into commands once [`Calls::run_pump`] is started with the read models and the command path.
    pub fn start(
        settings: TelephonySettings,
        engine: Arc<kaden_projections::engine::Engine>,
        data_dir: &Path,
    ) -> std::io::Result<(Arc<Calls>, mpsc::UnboundedReceiver<CallEvent>)> {
        let recordings_dir = data_dir.join("recordings");
        std::fs::create_dir_all(&recordings_dir)?;
        let (trunk, carrier) = match &settings.trunk {
            Some(t) => (
                TrunkConfig {
                    addr: t.addr,
                    domain: if t.domain.is_empty() {
                        t.addr.ip().to_string()
                    } else {
                        t.domain.clone()
                    },
                    credentials: t.username.clone().zip(t.password.clone()),
                },
                None,
            ),
            None => {
                let carrier = TestCarrier::start(CarrierConfig {
                    bind: SocketAddr::new(IpAddr::from([127, 0, 0, 1]), 0),
                    media_ip: IpAddr::from([127, 0, 0, 1]),
                    odds: settings.test_carrier.odds,
                    answer_delay: settings.test_carrier.answer_delay,
                    talk_limit: settings.test_carrier.talk_limit,
                    ..CarrierConfig::default()
                })?;
                (
                    TrunkConfig {
                        addr: carrier.addr(),
                        domain: carrier.addr().ip().to_string(),
                        credentials: None,
                    },
                    Some(carrier),
                )
            }
        };
        let mut config = TelephonyConfig::new(trunk, recordings_dir.clone(), settings.media_ip);
        config.sip_bind = settings.sip_listen;
        config.realm.clone_from(&settings.realm);
        config.operator_ring = settings.operator_ring;
        // The node's own ceiling; tenants' licences are enforced by the gate (MON-3).
        config.licensed_lines = u32::MAX;
        let bindings = bindings::StoredBindings::new(engine.clone());
        let gate = Arc::new(ApiGate::new(engine.clone(), settings.default_lines));
        let users = Arc::new(SipUsers { engine });
        let (control, events) = match CallControl::start(
            config.clone(),
            gate.clone(),
            users.clone(),
        ) {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && settings.sip_port_may_move => {
                tracing::warn!(taken = %config.sip_bind, "the SIP port is in use; using another");
                config.sip_bind.set_port(0);
                CallControl::start(config, gate.clone(), users)?
            }
            other => other?,
        };
        control.registrar().set_store(bindings.clone());
        Ok((
            Arc::new(Calls {
                control,
                gate,
                settings,
                recordings_dir,
                carrier,
                pending: Mutex::new(HashMap::new()),
                autos: Mutex::new(HashMap::new()),
                stop: watch::channel(false).0,
                pump: Mutex::new(None),
                bindings,
            }),
            events,
        ))
    }

    /// Starts the task that turns call events into interaction commands.
    pub fn run_pump(
        self: &Arc<Self>,
        engine: Arc<Engine>,
        commands: Commands,
        events: mpsc::UnboundedReceiver<CallEvent>,
    ) {
        self.bindings.run(commands.clone());
        let deps = Pump {
            calls: Arc::clone(self),
            engine,
            commands,
        };
        let task = tokio::spawn(pump(deps, events, self.stop.subscribe()));
        *self.pump.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
    }

    /// The SIP address softphones register to.
    pub fn sip_addr(&self) -> SocketAddr {
        self.control.sip_addr()
    }

    /// Places a call: telephony runs every check (the gate), then rings the operator's phone.
    /// Returns once the call's placement — or its refusal, which is recorded too (DNC-5) — is
    /// in the log.
    pub async fn place(
        &self,
        ctx: &RequestContext,
        target: CallTarget,
        operator_sip_user: String,
        ring: Duration,
    ) -> Result<(String, Option<LogPosition>), ApiError> {
        let (request, rx) = self.prepare(ctx, target, operator_sip_user, ring, true);
        let id = request.call_ref.clone();
        let placed = self.control.place_call(request);
        let written = rx
            .await
            .unwrap_or_else(|_| Err(ApiError::internal(&ctx.request_id)));
        if written.is_err() && placed.is_ok() {
            // A call the log does not know of must not go on.
            self.control.hang_up(&id);
        }
        let written = written?;
        match placed {
            Ok(_handle) => Ok((
                AggregateRef::parse(&id).map_or(id.clone(), |r| r.id.to_string()),
                written,
            )),
            Err(refusal) => Err(gate::refusal_error(&refusal)),
        }
    }

    /// Registers what the pump needs for a call about to be placed, and builds its request.
    pub(crate) fn prepare(
        &self,
        ctx: &RequestContext,
        target: CallTarget,
        operator_sip_user: String,
        ring: Duration,
        wait: bool,
    ) -> (
        CallRequest,
        oneshot::Receiver<Result<Option<LogPosition>, ApiError>>,
    ) {
        let id = uuid::Uuid::now_v7().simple().to_string();
        let call_ref = interaction_aggregate_id(&ctx.tenant_id, &id);
        let (tx, rx) = oneshot::channel();
        let request = CallRequest {
            call_ref: call_ref.clone(),
            operator: operator_sip_user,
            number: target.number.clone(),
            caller_number: Some(target.caller_number.clone()).filter(|c| !c.is_empty()),
            campaign: Some(target.campaign_id.clone()),
            ring_timeout: ring,
            record: true,
        };
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                call_ref,
                Pending {
                    target,
                    ctx: ctx.clone(),
                    written: wait.then_some(tx),
                },
            );
        (request, rx)
    }

    /// Hangs up (or cancels) a call in progress. False if telephony has no such call.
    pub fn hang_up(&self, tenant: &str, interaction_id: &str) -> bool {
        self.control
            .hang_up(&interaction_aggregate_id(tenant, interaction_id))
    }

    pub fn hold(&self, tenant: &str, interaction_id: &str, on: bool) -> bool {
        self.control
            .hold(&interaction_aggregate_id(tenant, interaction_id), on)
    }

    /// SIGTERM: auto-calls stop, calls are hung up and their events written, recordings
    /// flushed.
    pub async fn shutdown(&self) {
        let autos: Vec<auto::AutoRun> = self
            .autos
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .map(|(_, r)| r)
            .collect();
        for run in autos {
            run.abort();
        }
        let left = self.control.shutdown(Duration::from_secs(10)).await;
        self.bindings.flush(Duration::from_secs(5)).await;
        if left > 0 {
            tracing::warn!(left, "calls still running at shutdown");
        }
        self.stop.send_replace(true);
        let task = self.pump.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }

    fn take_pending(&self, call_ref: &str) -> Option<Pending> {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(call_ref)
    }

    fn pending_info(&self, call_ref: &str) -> Option<(u64, bool)> {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(call_ref)
            .map(|p| (p.target.user_id, p.target.mode == DialMode::Auto))
    }
}

/// The call to a folder's customer: `None` when the customer has no phone number.
pub fn customer_target(
    folder: &FolderView,
    customer: &CustomerView,
    caller_number: String,
    user_id: u64,
    mode: DialMode,
) -> Option<CallTarget> {
    Some(CallTarget {
        customer_id: customer.id.clone(),
        folder: folder.number,
        customer: customer.number,
        campaign_id: folder.campaign_id.clone(),
        number: customer.phone?.as_str().to_string(),
        caller_number,
        user_id,
        mode,
    })
}

/// SIP cause → the domain's outcome.
pub fn outcome(o: Outcome) -> CallOutcome {
    match o {
        Outcome::NoAnswer => CallOutcome::NoAnswer,
        Outcome::Busy => CallOutcome::Busy,
        Outcome::NotInService => CallOutcome::NotInService,
        Outcome::Rejected => CallOutcome::Rejected,
        Outcome::NetworkError => CallOutcome::NetworkError,
        Outcome::Cancelled => CallOutcome::Cancelled,
        Outcome::OperatorUnavailable => CallOutcome::OperatorUnavailable,
        Outcome::Fax => CallOutcome::Fax,
    }
}

/// The events of a call are written from the telephony layer, as the call's operator (or as
/// the system, `None`).
fn call_context(tenant: &str, user_id: Option<u64>) -> RequestContext {
    let mut ctx = RequestContext::system(tenant);
    ctx.client_addr = "telephony".into();
    ctx.user = Ok(user_id.map(|user_id| crate::commands::AuthUser {
        user_id,
        username: String::new(),
        role: kaden_domain::access::Role::Op,
        session_id: String::new(),
    }));
    ctx
}

/// What the pump writes with.
struct Pump {
    calls: Arc<Calls>,
    engine: Arc<Engine>,
    commands: Commands,
}

/// Turns call events into interaction commands, one at a time in telephony's order.
async fn pump(
    state: Pump,
    mut events: mpsc::UnboundedReceiver<CallEvent>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let event = tokio::select! {
            e = events.recv() => match e { Some(e) => e, None => return },
            _ = stop.wait_for(|s| *s) => match events.try_recv() {
                Ok(e) => e,
                Err(_) => return,
            },
        };
        handle_event(&state, event).await;
    }
}

async fn handle_event(state: &Pump, event: CallEvent) {
    let calls = &state.calls;
    let call_ref = event.call_ref().to_string();
    let tenant = call_tenant(&call_ref).to_string();
    let cmd = match event {
        CallEvent::Placed { .. } | CallEvent::Refused { .. } => {
            // A refused call is done; a placed one stays pending for its later events (who,
            // and whether it is an auto-call).
            let refused = matches!(event, CallEvent::Refused { .. });
            let taken = {
                let mut pending = calls.pending.lock().unwrap_or_else(|p| p.into_inner());
                if refused {
                    pending
                        .remove(&call_ref)
                        .map(|p| (p.target, p.ctx, p.written))
                } else {
                    pending
                        .get_mut(&call_ref)
                        .map(|p| (p.target.clone(), p.ctx.clone(), p.written.take()))
                }
            };
            let Some((target, ctx, written)) = taken else {
                tracing::warn!(%call_ref, "call event for a call the api did not place");
                return;
            };
            let cmd = match &event {
                CallEvent::Refused { refusal, .. } => InteractionCommand::Refuse {
                    tenant_id: tenant.clone(),
                    target,
                    code: refusal_code(refusal).to_string(),
                    reason: refusal_message(refusal),
                },
                _ => InteractionCommand::Place {
                    tenant_id: tenant.clone(),
                    target,
                },
            };
            let result = state.commands.interaction(&call_ref, cmd, &ctx).await;
            if let Err(e) = &result {
                tracing::error!(%call_ref, code = e.code.as_str(), message = %e.message, "could not record the call");
            }
            if let Some(tx) = written {
                let _ = tx.send(result);
            }
            return;
        }
        CallEvent::OperatorAnswered { .. } => InteractionCommand::OperatorConnected,
        CallEvent::Ringing { code, .. } => InteractionCommand::Ring { code },
        CallEvent::Answered { .. } => InteractionCommand::Answer,
        CallEvent::Failed {
            code,
            reason,
            outcome: o,
            ..
        } => InteractionCommand::Fail {
            code,
            reason,
            outcome: outcome(o),
        },
        CallEvent::Ended {
            talk,
            ended_by,
            suggested,
            ..
        } => InteractionCommand::End {
            talk_ms: talk.as_millis() as u64,
            ended_by: match ended_by {
                Side::Operator => EndedBy::Operator,
                Side::Customer => EndedBy::Customer,
                Side::Kaden => EndedBy::Kaden,
            },
            fax_tone: suggested == Some(Outcome::Fax),
        },
        CallEvent::RecordingStored { path, duration, .. } => {
            let bytes = tokio::fs::metadata(&path)
                .await
                .map(|m| m.len())
                .unwrap_or(0);
            let file = path
                .strip_prefix(&calls.recordings_dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            InteractionCommand::StoreRecording {
                file,
                duration_ms: duration.as_millis() as u64,
                bytes,
            }
        }
        CallEvent::RecordingFailed { error, .. } => InteractionCommand::RecordingFailed { error },
    };
    // Who the call is for, and whether it is an auto-call: kept from placement until the call
    // ends or fails; the recording events that follow the end read it from the read model.
    let info = calls.pending_info(&call_ref).or_else(|| {
        let id = AggregateRef::parse(&call_ref).map_or("", |r| r.id);
        state.engine.read(|m| {
            m.interactions
                .get(&tenant, id)
                .map(|v| (v.target.user_id, v.target.mode == DialMode::Auto))
        })
    });
    if matches!(
        cmd,
        InteractionCommand::Fail { .. } | InteractionCommand::End { .. }
    ) {
        calls.take_pending(&call_ref);
    }
    let ctx = call_context(&tenant, info.map(|(user, _)| user));
    let failed = match &cmd {
        InteractionCommand::Fail { outcome, .. } => Some(*outcome),
        _ => None,
    };
    match state.commands.interaction(&call_ref, cmd, &ctx).await {
        Err(e) => {
            tracing::error!(%call_ref, code = e.code.as_str(), message = %e.message, "could not record a call event");
        }
        Ok(_) => {
            // CALL-7: an unanswered auto-call is saved by the system with the status its
            // cause suggests (不通; 現アナ for a not-in-service number).
            if let (Some(o), Some((_, true))) = (failed, info)
                && !matches!(o, CallOutcome::OperatorUnavailable | CallOutcome::Cancelled)
            {
                let save = InteractionCommand::SaveResult {
                    tenant_id: tenant.clone(),
                    by: None,
                    status: o.suggested_status().to_string(),
                    memo: None,
                    statuses: kaden_domain::campaign::settings::FIXED_STATUSES
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                };
                let system = call_context(&tenant, None);
                if let Err(e) = state.commands.interaction(&call_ref, save, &system).await {
                    tracing::error!(%call_ref, code = e.code.as_str(), "could not save the auto-call as 不通");
                }
            }
        }
    }
}

/// The SIP account name of a user: the username in the default tenant, `username+tenant`
/// elsewhere (`+` never appears in usernames, so names of different tenants never meet).
pub fn sip_user_name(default_tenant: &str, tenant: &str, username: &str) -> String {
    if tenant == default_tenant {
        username.to_string()
    } else {
        format!("{username}+{tenant}")
    }
}

/// Refusals that concern the operator, not the customer (auto-call stops on them).
pub fn stops_auto(refusal: &Refusal) -> bool {
    matches!(
        refusal,
        Refusal::LinesExhausted { .. }
            | Refusal::OperatorNotRegistered { .. }
            | Refusal::NoCallerNumber
    )
}
