//! Call control for the api: one entry point ([`CallControl::place_call`]) that every dialling
//! path goes through (gate, licensed lines, caller number), the two-leg call itself (operator's
//! phone first, then the customer through the trunk, bridged by the relay and recorded), call
//! events, and auto-call ([`auto`]).
//!
//! Long (about 740 lines) because the two-leg call is one state machine (operator leg, customer
//! leg, bridge, recording, hang-up from either side); its helpers already live beside it.

pub mod auto;
mod events;
mod gate;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::auth::Algorithm;
use crate::dialog::{
    CallLeg, InviteRequest, LegEvent, OutgoingCall, Progress, UaConfig, UserAgent,
};
use crate::media::{LegConfig, LegId, Relay, RelayStats};
use crate::registrar::{Registrar, SipCredentials};
use crate::sdp::{self, Codec, Direction, Sdp};
use crate::sync::lock;
use crate::transaction::{Endpoint, Timers};
use crate::transport::UdpTransport;

pub use events::{CallEvent, Outcome, Side};
pub use gate::{Admission, AllowAll, CallGate, LineGuard, LineLicences, Refusal};

/// RFC 4733 payload type we offer for DTMF.
pub const DTMF_PT: u8 = 101;

/// Where customer calls go.
#[derive(Debug, Clone)]
pub struct TrunkConfig {
    /// Next hop (the carrier's SIP address, or the built-in test carrier).
    pub addr: SocketAddr,
    /// Host part of the Request-URI (`sip:<number>@<domain>`).
    pub domain: String,
    /// Digest username and password the trunk challenges for.
    pub credentials: Option<(String, String)>,
}

/// Telephony settings.
#[derive(Clone)]
pub struct TelephonyConfig {
    /// SIP address to bind (port 0 picks one).
    pub sip_bind: SocketAddr,
    /// Address RTP sockets bind to and SDP announces.
    pub media_ip: IpAddr,
    pub trunk: TrunkConfig,
    pub recordings_dir: PathBuf,
    pub licensed_lines: u32,
    /// Digest realm of the registrar.
    pub realm: String,
    pub algorithm: Algorithm,
    /// How long the operator's phone may ring before the call is given up.
    pub operator_ring: Duration,
    pub timers: Timers,
}

impl TelephonyConfig {
    /// Defaults for one machine: SIP on 0.0.0.0:5060, media on `media_ip`, 10 licensed lines,
    /// realm "kaden" with MD5 digest (what most softphones speak), 30 s for the operator's phone
    /// to answer, RFC 3261 timers.
    pub fn new(trunk: TrunkConfig, recordings_dir: PathBuf, media_ip: IpAddr) -> Self {
        TelephonyConfig {
            sip_bind: SocketAddr::from(([0, 0, 0, 0], 5060)),
            media_ip,
            trunk,
            recordings_dir,
            licensed_lines: 10,
            realm: "kaden".into(),
            algorithm: Algorithm::Md5,
            operator_ring: Duration::from_secs(30),
            timers: Timers::default(),
        }
    }
}

impl std::fmt::Debug for TelephonyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The trunk password stays out of logs.
        f.debug_struct("TelephonyConfig")
            .field("sip_bind", &self.sip_bind)
            .field("media_ip", &self.media_ip)
            .field("trunk", &self.trunk.addr)
            .field("recordings_dir", &self.recordings_dir)
            .field("licensed_lines", &self.licensed_lines)
            .finish()
    }
}

/// Kaden's SIP and media speak IPv4 only: say so at start rather than fail every call later.
fn refuse_ipv6(config: &TelephonyConfig) -> io::Result<()> {
    let what = if config.sip_bind.is_ipv6() {
        format!("SIP listen address {}", config.sip_bind)
    } else if config.media_ip.is_ipv6() {
        format!("media address {}", config.media_ip)
    } else {
        return Ok(());
    };
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "IPv6 is not supported for telephony yet ({what}): listen on an IPv4 address \
             (e.g. --sip-listen 0.0.0.0:5060) and, for IPv6 phones, put a dual-stack SIP proxy \
             in front (docs/telephony.md)"
        ),
    ))
}

/// A request to call a customer, from any path (list, auto-call, recall, manual).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRequest {
    /// The api's id for this call (e.g. the interaction id); every event carries it.
    pub call_ref: String,
    /// Kaden user whose registered phone rings first.
    pub operator: String,
    /// Customer number to dial (digits).
    pub number: String,
    /// Caller number shown to the customer (campaign main or sub number, CALL-9).
    pub caller_number: Option<String>,
    /// Campaign the call belongs to (for the gate's DNC check); `None` for manual calls.
    pub campaign: Option<String>,
    /// How long the customer may ring (auto-call: 10–45 s, CALL-7).
    pub ring_timeout: Duration,
    /// Record once answered (REC-1: every answered call is recorded).
    pub record: bool,
}

/// How a call finished, for whoever placed it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallSummary {
    pub call_ref: String,
    pub answered: bool,
    /// (SIP code, reason, suggested outcome) when not answered.
    pub failure: Option<(u16, String, Outcome)>,
    pub talk: Duration,
    pub recording: Option<PathBuf>,
    /// RTP packets the relay passed each way (answered calls).
    pub relay: Option<RelayStats>,
}

enum CallCmd {
    HangUp,
    Hold(bool),
}

/// Handle to a placed call.
#[derive(Debug)]
pub struct CallHandle {
    pub call_ref: String,
    done: oneshot::Receiver<CallSummary>,
}

impl CallHandle {
    /// Wait for the call to finish.
    pub async fn finished(self) -> CallSummary {
        let call_ref = self.call_ref.clone();
        self.done.await.unwrap_or(CallSummary {
            call_ref,
            answered: false,
            failure: Some((500, "call task ended".into(), Outcome::NetworkError)),
            talk: Duration::ZERO,
            recording: None,
            relay: None,
        })
    }
}

struct Inner {
    ua: UserAgent,
    registrar: Arc<Registrar>,
    gate: Arc<dyn CallGate>,
    lines: LineLicences,
    events: mpsc::UnboundedSender<CallEvent>,
    calls: Mutex<HashMap<String, mpsc::UnboundedSender<CallCmd>>>,
    config: TelephonyConfig,
}

/// The telephony service the api holds.
#[derive(Clone)]
pub struct CallControl {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CallControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallControl")
            .field("sip", &self.inner.ua.local_addr())
            .finish()
    }
}

impl CallControl {
    /// Bind SIP, start the registrar and the UA. Call events arrive on the returned receiver
    /// (one consumer: the api, which turns them into commands). Must be called inside a tokio
    /// runtime (it spawns the endpoint's tasks).
    ///
    /// An IPv6 SIP or media address is refused with [`io::ErrorKind::Unsupported`] and a
    /// message saying what to do (issue 17 item 7): URIs, Via, SDP and the relay speak IPv4
    /// only, and an IPv6 listener used to advertise itself and then answer every request 400.
    pub fn start(
        config: TelephonyConfig,
        gate: Arc<dyn CallGate>,
        credentials: Arc<dyn SipCredentials>,
    ) -> io::Result<(CallControl, mpsc::UnboundedReceiver<CallEvent>)> {
        refuse_ipv6(&config)?;
        let transport = UdpTransport::bind(config.sip_bind)?;
        let (ep, incoming) = Endpoint::start(transport, config.timers);
        let registrar = Arc::new(Registrar::new(
            config.realm.clone(),
            config.algorithm,
            credentials,
        ));
        let (ua, inbound) = UserAgent::start(
            ep,
            incoming,
            UaConfig {
                domain: config.realm.clone(),
                user_agent: "Kaden".into(),
            },
            Some(registrar.clone()),
        );
        // Inbound calls to operators are a later decision (SPEC §13): refuse them clearly.
        drop(inbound);
        let (tx, rx) = mpsc::unbounded_channel();
        let lines = LineLicences::new(config.licensed_lines);
        Ok((
            CallControl {
                inner: Arc::new(Inner {
                    ua,
                    registrar,
                    gate,
                    lines,
                    events: tx,
                    calls: Mutex::new(HashMap::new()),
                    config,
                }),
            },
            rx,
        ))
    }

    /// The SIP address softphones register to.
    pub fn sip_addr(&self) -> SocketAddr {
        self.inner.ua.local_addr()
    }

    /// What the SIP endpoint refused, shed or could not read (unparseable datagrams,
    /// keep-alives, 503s, oversize messages, unauthenticated requests past their budget): the
    /// counters the api exposes in /metrics (docs/telephony.md, "Putting Kaden's SIP port on
    /// the Internet").
    pub fn sip_stats(&self) -> crate::transaction::EndpointStats {
        self.inner.ua.endpoint().stats()
    }

    pub fn registrar(&self) -> &Registrar {
        &self.inner.registrar
    }

    pub fn lines(&self) -> &LineLicences {
        &self.inner.lines
    }

    pub fn user_agent(&self) -> &UserAgent {
        &self.inner.ua
    }

    /// Check everything that can forbid the call, take a line and start it. A refusal is
    /// also sent as a [`CallEvent::Refused`] so it is recorded (DNC-5).
    pub fn place_call(&self, req: CallRequest) -> Result<CallHandle, Refusal> {
        match self.admit(&req) {
            Ok((line, admission, binding)) => Ok(self.spawn_call(req, (line, admission), binding)),
            Err(refusal) => {
                let _ = self.inner.events.send(CallEvent::Refused {
                    call_ref: req.call_ref.clone(),
                    refusal: refusal.clone(),
                });
                Err(refusal)
            }
        }
    }

    fn admit(
        &self,
        req: &CallRequest,
    ) -> Result<(LineGuard, Admission, crate::registrar::Binding), Refusal> {
        let digits = req.number.strip_prefix('+').unwrap_or(&req.number);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Refusal::BadNumber {
                number: req.number.clone(),
            });
        }
        if req.caller_number.as_deref().is_none_or(str::is_empty) {
            return Err(Refusal::NoCallerNumber);
        }
        let admission = self.inner.gate.check(req)?;
        let binding = self
            .inner
            .registrar
            .lookup(&req.operator)
            .into_iter()
            .next()
            .ok_or_else(|| Refusal::OperatorNotRegistered {
                user: req.operator.clone(),
            })?;
        let line = self.inner.lines.try_acquire()?;
        Ok((line, admission, binding))
    }

    /// Hang up a call (cancels it while ringing). False if no such call.
    pub fn hang_up(&self, call_ref: &str) -> bool {
        self.send(call_ref, CallCmd::HangUp)
    }

    /// Hold: the customer hears silence and is re-INVITEd sendonly; `false` resumes.
    pub fn hold(&self, call_ref: &str, on: bool) -> bool {
        self.send(call_ref, CallCmd::Hold(on))
    }

    /// Graceful shutdown: hang up (or cancel) every call in progress and wait, up to `limit`,
    /// until each has finished its bookkeeping (events sent, recordings flushed). Returns the
    /// number of calls still running when the limit was reached. New calls are not refused:
    /// the api stops placing them first.
    pub async fn shutdown(&self, limit: Duration) -> usize {
        let refs: Vec<String> = lock(&self.inner.calls).keys().cloned().collect();
        for r in &refs {
            self.hang_up(r);
        }
        let deadline = Instant::now() + limit;
        while self.active_calls() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.active_calls()
    }

    /// Calls in progress.
    pub fn active_calls(&self) -> usize {
        lock(&self.inner.calls).len()
    }

    fn send(&self, call_ref: &str, cmd: CallCmd) -> bool {
        lock(&self.inner.calls)
            .get(call_ref)
            .is_some_and(|c| c.send(cmd).is_ok())
    }

    fn spawn_call(
        &self,
        req: CallRequest,
        line: (LineGuard, Admission),
        binding: crate::registrar::Binding,
    ) -> CallHandle {
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (done_tx, done_rx) = oneshot::channel();
        lock(&self.inner.calls).insert(req.call_ref.clone(), cmd_tx);
        let _ = self.inner.events.send(CallEvent::Placed {
            call_ref: req.call_ref.clone(),
            number: req.number.clone(),
            caller_number: req.caller_number.clone().unwrap_or_default(),
            at: SystemTime::now(),
        });
        let this = self.clone();
        let call_ref = req.call_ref.clone();
        tokio::spawn(async move {
            let mut call = Call {
                cc: this.clone(),
                req,
                cmd: cmd_rx,
            };
            let summary = call.run(binding).await;
            lock(&this.inner.calls).remove(&summary.call_ref);
            drop(line);
            let _ = done_tx.send(summary);
        });
        CallHandle {
            call_ref,
            done: done_rx,
        }
    }
}

/// One two-leg call in progress.
struct Call {
    cc: CallControl,
    req: CallRequest,
    cmd: mpsc::UnboundedReceiver<CallCmd>,
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn leg_config(neg: &sdp::Negotiated) -> LegConfig {
    LegConfig {
        remote: SocketAddr::new(neg.remote_addr, neg.remote_port),
        codec: neg.codec,
        dtmf_pt: neg.dtmf_pt,
    }
}

enum Ring {
    Answered(CallLeg, Vec<u8>),
    Failed(u16, String, Outcome),
    /// The operator hung up while the customer was ringing (the customer was cancelled).
    OperatorGone(u16, String),
}

impl Call {
    fn emit(&self, e: CallEvent) {
        let _ = self.cc.inner.events.send(e);
    }

    fn fail(&self, code: u16, reason: String, outcome: Outcome) -> CallSummary {
        self.emit(CallEvent::Failed {
            call_ref: self.req.call_ref.clone(),
            code,
            reason: reason.clone(),
            outcome,
        });
        CallSummary {
            call_ref: self.req.call_ref.clone(),
            answered: false,
            failure: Some((code, reason, outcome)),
            talk: Duration::ZERO,
            recording: None,
            relay: None,
        }
    }

    /// Wait for an outgoing INVITE's answer, with a ring limit and the api's hang-up.
    ///
    /// A hang-up (or the operator hanging up while the customer rings, or the ring limit)
    /// CANCELs the INVITE and returns at once (issue 17 item 5): the line and the operator are
    /// free now, not when the far end gets round to answering the CANCEL — a phone that never
    /// sent even a 100 would otherwise hold both for timer B (32 s). The user agent finishes the
    /// INVITE on its own: it sends the CANCEL as soon as a provisional arrives (RFC 3261 9.1)
    /// and ACKs and hangs up an answer that crosses it.
    async fn ring(
        &mut self,
        out: &mut OutgoingCall,
        limit: Duration,
        relay: &Relay,
        customer: bool,
        mut operator: Option<&mut CallLeg>,
    ) -> Ring {
        let deadline = Instant::now() + limit;
        let mut rang = false;
        loop {
            tokio::select! {
                // The operator hanging up while the customer rings cancels the customer.
                e = async { match operator.as_mut() { Some(l) => l.event().await, None => std::future::pending().await } } => {
                    if matches!(e, Some(LegEvent::RemoteBye) | Some(LegEvent::AckTimeout) | None) {
                        out.cancel();
                        return Ring::OperatorGone(487, "operator hung up while ringing".into());
                    }
                }
                p = out.next() => match p {
                    Some(Progress::Provisional { code, sdp, .. }) => {
                        if customer {
                            // Early media (an announcement) goes to the operator at once.
                            if let Some(body) = sdp
                                && let Ok(neg) = Sdp::parse(&body).and_then(|s| sdp::accept_answer(&s, &[Codec::Pcmu, Codec::Pcma]))
                            {
                                relay.set_leg(LegId::Customer, leg_config(&neg));
                            }
                            if !rang || code == 183 {
                                rang = true;
                                self.emit(CallEvent::Ringing { call_ref: self.req.call_ref.clone(), code });
                            }
                        }
                    }
                    Some(Progress::Answered { leg, sdp }) => return Ring::Answered(leg, sdp),
                    Some(Progress::Failed { code, reason }) => {
                        let outcome = if customer {
                            Outcome::from_sip(code)
                        } else {
                            Outcome::OperatorUnavailable
                        };
                        return Ring::Failed(code, reason, outcome);
                    }
                    None => return Ring::Failed(500, "call ended unexpectedly".into(), Outcome::NetworkError),
                },
                _ = tokio::time::sleep_until(deadline) => {
                    out.cancel();
                    return Ring::Failed(408, "ring time ran out".into(), Outcome::NoAnswer);
                }
                c = self.cmd.recv() => {
                    if matches!(c, Some(CallCmd::HangUp) | None) {
                        out.cancel();
                        return Ring::Failed(487, "Request Terminated (hung up while dialling)".into(), Outcome::Cancelled);
                    }
                }
            }
        }
    }

    async fn run(&mut self, binding: crate::registrar::Binding) -> CallSummary {
        let cfg = self.cc.inner.config.clone();
        let relay = match Relay::bind(cfg.media_ip) {
            Ok(r) => r,
            Err(e) => {
                return self.fail(503, format!("no media port: {e}"), Outcome::NetworkError);
            }
        };
        let ua = self.cc.inner.ua.clone();
        let version = u64::from(rand::random::<u32>());

        // 1. The operator's phone.
        let offered = [Codec::Pcmu, Codec::Pcma];
        let op_sdp = sdp::render(
            cfg.media_ip,
            relay.local_addr(LegId::Operator).port(),
            &offered,
            Some(DTMF_PT),
            Direction::SendRecv,
            version,
        );
        let mut op_out = ua.invite(InviteRequest {
            target: binding.contact.clone(),
            dest: binding.source,
            from_user: self.req.number.clone(),
            from_domain: None,
            display_name: Some(format!("Kaden {}", self.req.number)),
            assert_identity: false,
            sdp: op_sdp.clone().into_bytes(),
            credentials: None,
            extra_headers: vec![],
        });
        let (op_leg, op_answer) = match self
            .ring(&mut op_out, cfg.operator_ring, &relay, false, None)
            .await
        {
            Ring::Answered(leg, sdp) => (leg, sdp),
            Ring::Failed(code, reason, outcome) => {
                let outcome = if outcome == Outcome::Cancelled {
                    outcome
                } else {
                    Outcome::OperatorUnavailable
                };
                relay.stop().await;
                return self.fail(code, format!("operator phone: {reason}"), outcome);
            }
            Ring::OperatorGone(code, reason) => {
                relay.stop().await;
                return self.fail(code, reason, Outcome::Cancelled);
            }
        };
        let op_neg = match Sdp::parse(&op_answer).and_then(|s| sdp::accept_answer(&s, &offered)) {
            Ok(n) => n,
            Err(e) => {
                op_leg.bye().await;
                relay.stop().await;
                return self.fail(
                    488,
                    format!("operator phone SDP: {e}"),
                    Outcome::OperatorUnavailable,
                );
            }
        };
        relay.set_leg(LegId::Operator, leg_config(&op_neg));
        self.emit(CallEvent::OperatorAnswered {
            call_ref: self.req.call_ref.clone(),
        });

        // 2. The customer, through the trunk, offering the operator's codec first.
        let cust_codecs = if op_neg.codec == Codec::Pcmu {
            [Codec::Pcmu, Codec::Pcma]
        } else {
            [Codec::Pcma, Codec::Pcmu]
        };
        let cust_sdp = |dir| {
            sdp::render(
                cfg.media_ip,
                relay.local_addr(LegId::Customer).port(),
                &cust_codecs,
                Some(DTMF_PT),
                dir,
                version,
            )
        };
        let mut cu_out = ua.invite(InviteRequest {
            target: format!("sip:{}@{}", self.req.number, cfg.trunk.domain),
            dest: cfg.trunk.addr,
            from_user: self.req.caller_number.clone().unwrap_or_default(),
            from_domain: Some(cfg.trunk.domain.clone()),
            display_name: None,
            assert_identity: true,
            sdp: cust_sdp(Direction::SendRecv).into_bytes(),
            credentials: cfg.trunk.credentials.clone(),
            extra_headers: vec![],
        });
        let ring_limit = self.req.ring_timeout;
        let mut op_leg = op_leg;
        let rung = self
            .ring(&mut cu_out, ring_limit, &relay, true, Some(&mut op_leg))
            .await;
        let (cu_leg, cu_answer) = match rung {
            Ring::Answered(leg, sdp) => (leg, sdp),
            Ring::Failed(code, reason, outcome) => {
                op_leg.bye().await;
                relay.stop().await;
                return self.fail(code, reason, outcome);
            }
            Ring::OperatorGone(code, reason) => {
                relay.stop().await;
                return self.fail(code, reason, Outcome::Cancelled);
            }
        };
        let cu_neg = match Sdp::parse(&cu_answer).and_then(|s| sdp::accept_answer(&s, &cust_codecs))
        {
            Ok(n) => n,
            Err(e) => {
                cu_leg.bye().await;
                op_leg.bye().await;
                relay.stop().await;
                return self.fail(488, format!("customer SDP: {e}"), Outcome::NetworkError);
            }
        };
        relay.set_leg(LegId::Customer, leg_config(&cu_neg));
        let mut talk_start = Instant::now();
        self.emit(CallEvent::Answered {
            call_ref: self.req.call_ref.clone(),
            at: SystemTime::now(),
        });
        if self.req.record {
            let path = cfg
                .recordings_dir
                .join(format!("{}.wav", sanitize(&self.req.call_ref)));
            match relay.record(path).await {
                // Talk time and the recording share their start.
                Ok(started) => talk_start = started,
                Err(e) => self.emit(CallEvent::RecordingFailed {
                    call_ref: self.req.call_ref.clone(),
                    error: e.to_string(),
                }),
            }
        }

        // 3. Talking until either side hangs up.
        let mut op_leg = op_leg;
        let mut cu_leg = cu_leg;
        let ended_by = loop {
            tokio::select! {
                e = op_leg.event() => match e {
                    Some(LegEvent::RemoteBye) | None | Some(LegEvent::AckTimeout) => {
                        break Side::Operator;
                    }
                    Some(LegEvent::RemoteSdp(body)) => {
                        if let Ok(neg) = Sdp::parse(&body).and_then(|s| sdp::accept_answer(&s, &offered)) {
                            relay.set_leg(LegId::Operator, leg_config(&neg));
                        }
                    }
                },
                e = cu_leg.event() => match e {
                    Some(LegEvent::RemoteBye) | None | Some(LegEvent::AckTimeout) => {
                        break Side::Customer;
                    }
                    Some(LegEvent::RemoteSdp(body)) => {
                        if let Ok(neg) = Sdp::parse(&body).and_then(|s| sdp::accept_answer(&s, &cust_codecs)) {
                            relay.set_leg(LegId::Customer, leg_config(&neg));
                        }
                    }
                },
                c = self.cmd.recv() => match c {
                    Some(CallCmd::Hold(on)) => {
                        relay.hold(on);
                        let dir = if on { Direction::SendOnly } else { Direction::SendRecv };
                        let offer = cust_sdp(dir).into_bytes();
                        cu_leg.set_local_sdp(offer.clone());
                        if let Err((code, reason)) = cu_leg.reinvite(offer).await {
                            tracing::warn!(code, %reason, "hold re-INVITE refused; holding in the relay only");
                        }
                    }
                    Some(CallCmd::HangUp) | None => break Side::Kaden,
                },
            }
        };
        // The talk ends now: the recording is cut at this instant, then the other legs get BYE.
        let end = Instant::now();
        let talk = end - talk_start;
        let report = relay.stop_at(end).await;
        match ended_by {
            Side::Operator => {
                cu_leg.bye().await;
            }
            Side::Customer => {
                op_leg.bye().await;
            }
            Side::Kaden => {
                let (a, b) = tokio::join!(cu_leg.bye(), op_leg.bye());
                tracing::debug!(customer = a, operator = b, "hung up");
            }
        }
        self.emit(CallEvent::Ended {
            call_ref: self.req.call_ref.clone(),
            talk,
            talk_seconds: talk.as_secs(),
            ended_by,
            suggested: report.stats.fax_tone.then_some(Outcome::Fax),
        });
        let mut recording = None;
        if let Some((path, duration)) = report.recording {
            recording = Some(path.clone());
            self.emit(CallEvent::RecordingStored {
                call_ref: self.req.call_ref.clone(),
                path,
                duration,
            });
        } else if let Some(error) = report.recording_error {
            self.emit(CallEvent::RecordingFailed {
                call_ref: self.req.call_ref.clone(),
                error,
            });
        }
        CallSummary {
            call_ref: self.req.call_ref.clone(),
            answered: true,
            failure: None,
            talk,
            recording,
            relay: Some(report.stats),
        }
    }
}

#[cfg(test)]
mod tests;
