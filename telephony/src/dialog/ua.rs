//! The user agent: outgoing and incoming INVITE sessions and the router for in-dialog
//! requests.
//!
//! Long (about 840 lines) because the INVITE client and server sides share one dialog table and
//! one router; splitting them would put the table's invariants in two files.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rsip::Method;
use tokio::sync::{mpsc, oneshot};

use super::Dialog;
use crate::auth::{Challenge, authorization};
use crate::registrar::Registrar;
use crate::sync::lock;
use crate::transaction::{
    Endpoint, Incoming, Responder, Screen, ServerTx, TxEvent, Verdict, cancel_for, new_branch,
    new_tag,
};
use crate::transport::Message;

/// Settings of a user agent.
#[derive(Debug, Clone)]
pub struct UaConfig {
    /// Host part used in our URIs (From, Contact).
    pub domain: String,
    pub user_agent: String,
}

impl Default for UaConfig {
    fn default() -> Self {
        UaConfig {
            domain: "kaden.invalid".into(),
            user_agent: "Kaden".into(),
        }
    }
}

type DialogKey = (String, String); // (Call-ID, our tag)

enum DialogInput {
    Request(ServerTx),
    Ack,
    Stray2xx,
}

struct Shared {
    ep: Endpoint,
    config: UaConfig,
    dialogs: Mutex<HashMap<DialogKey, mpsc::UnboundedSender<DialogInput>>>,
    /// Incoming INVITEs not yet answered, by [`pending_key`], for CANCEL.
    pending: Mutex<HashMap<String, (Responder, oneshot::Sender<()>)>>,
    registrar: Option<Arc<Registrar>>,
}

/// What proves a new request (issue 17 item 3): a live dialog, a pending INVITE for a CANCEL,
/// a valid digest answer for a REGISTER. What proves nothing and only needs an answer is
/// answered statelessly by the endpoint.
impl Screen for Shared {
    fn screen(&self, req: &Message, from: SocketAddr) -> Verdict {
        let method = req.method().copied().unwrap_or(Method::Options);
        if let Some(tag) = req.to_tag() {
            let key = (req.call_id().unwrap_or("").to_string(), tag.to_string());
            return if lock(&self.dialogs).contains_key(&key) {
                Verdict::Authenticated
            } else {
                Verdict::Answer(Message::response_to(
                    req,
                    481,
                    "Call/Transaction Does Not Exist",
                ))
            };
        }
        match method {
            Method::Cancel => {
                let pending =
                    pending_key(req, from).is_some_and(|k| lock(&self.pending).contains_key(&k));
                if pending || self.ep.has_invite_transaction(req, from) {
                    Verdict::Authenticated
                } else {
                    Verdict::Answer(Message::response_to(
                        req,
                        481,
                        "Call/Transaction Does Not Exist",
                    ))
                }
            }
            Method::Register => match &self.registrar {
                Some(r) => match r.screen(req) {
                    None => Verdict::Authenticated,
                    Some(answer) => Verdict::Answer(answer),
                },
                None => Verdict::Unauthenticated,
            },
            _ => Verdict::Unauthenticated,
        }
    }
}

/// A SIP user agent on one endpoint.
#[derive(Clone)]
pub struct UserAgent {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for UserAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAgent")
            .field("local", &self.shared.ep.local_addr())
            .finish()
    }
}

/// What to send as an outgoing INVITE.
#[derive(Debug, Clone)]
pub struct InviteRequest {
    /// Request-URI, e.g. `sip:0312345678@trunk.example`.
    pub target: String,
    /// Next hop (the trunk, or the registered phone's address).
    pub dest: SocketAddr,
    /// User part of From (the caller number), also sent as P-Asserted-Identity when
    /// `assert_identity` is set.
    pub from_user: String,
    /// Host part of From/P-Asserted-Identity (the trunk's domain); the UA's domain if `None`.
    pub from_domain: Option<String>,
    pub display_name: Option<String>,
    pub assert_identity: bool,
    pub sdp: Vec<u8>,
    /// Digest credentials for 401/407 challenges (trunk username, password).
    pub credentials: Option<(String, String)>,
    pub extra_headers: Vec<(String, String)>,
}

/// Progress of an outgoing INVITE.
#[derive(Debug)]
pub enum Progress {
    /// 1xx (180 ringing, 183 with early media…).
    Provisional {
        code: u16,
        reason: String,
        sdp: Option<Vec<u8>>,
    },
    /// 2xx: the dialog is confirmed (ACK sent).
    Answered { leg: CallLeg, sdp: Vec<u8> },
    /// Final failure with the SIP cause kept (408 for timer B, 503 for transport errors, 487
    /// after our CANCEL).
    Failed { code: u16, reason: String },
}

/// Handle to an outgoing INVITE before it is answered.
#[derive(Debug)]
pub struct OutgoingCall {
    pub call_id: String,
    events: mpsc::UnboundedReceiver<Progress>,
    cancel: Option<oneshot::Sender<()>>,
}

impl OutgoingCall {
    pub async fn next(&mut self) -> Option<Progress> {
        self.events.recv().await
    }

    /// CANCEL the INVITE (sent once a provisional response has arrived, RFC 3261 9.1); an
    /// answer that crosses the CANCEL is ACKed and hung up at once.
    pub fn cancel(&mut self) {
        if let Some(c) = self.cancel.take() {
            let _ = c.send(());
        }
    }
}

/// Events on an established call leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegEvent {
    /// The far end sent BYE (answered 200).
    RemoteBye,
    /// The far end re-INVITEd (answered 200 with our SDP); its new SDP.
    RemoteSdp(Vec<u8>),
    /// The far end never ACKed our 2xx.
    AckTimeout,
}

enum LegCmd {
    Bye(oneshot::Sender<u16>),
    Reinvite(Vec<u8>, oneshot::Sender<Result<Vec<u8>, (u16, String)>>),
    SetLocalSdp(Vec<u8>),
}

/// An established dialog (either side).
#[derive(Debug)]
pub struct CallLeg {
    pub call_id: String,
    pub remote_target: String,
    cmd: mpsc::UnboundedSender<LegCmd>,
    events: mpsc::UnboundedReceiver<LegEvent>,
}

impl CallLeg {
    /// Next event; `None` once the dialog has ended.
    pub async fn event(&mut self) -> Option<LegEvent> {
        self.events.recv().await
    }

    /// Hang up: send BYE and wait for its final status (408 if unanswered).
    pub async fn bye(&self) -> u16 {
        let (tx, rx) = oneshot::channel();
        if self.cmd.send(LegCmd::Bye(tx)).is_err() {
            return 481;
        }
        rx.await.unwrap_or(481)
    }

    /// re-INVITE with a new offer (hold: `a=sendonly`); returns the answer SDP.
    pub async fn reinvite(&self, sdp: Vec<u8>) -> Result<Vec<u8>, (u16, String)> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(LegCmd::Reinvite(sdp, tx))
            .map_err(|_| (481, "dialog ended".to_string()))?;
        rx.await.unwrap_or(Err((481, "dialog ended".into())))
    }

    /// SDP used to answer the far end's re-INVITEs.
    pub fn set_local_sdp(&self, sdp: Vec<u8>) {
        let _ = self.cmd.send(LegCmd::SetLocalSdp(sdp));
    }
}

/// An incoming INVITE waiting for our answer.
#[derive(Debug)]
pub struct IncomingCall {
    pub request: Message,
    pub source: SocketAddr,
    tx: ServerTx,
    ua: UserAgent,
    cancelled: oneshot::Receiver<()>,
}

impl IncomingCall {
    pub fn sdp(&self) -> &[u8] {
        &self.request.body
    }

    /// Send a provisional (180 Ringing, or 183 with early-media SDP).
    pub fn provisional(&self, code: u16, reason: &str, sdp: Option<&[u8]>) {
        let mut r = Message::response_to(&self.request, code, reason);
        if let Some(sdp) = sdp {
            r.push("Contact", self.ua.contact("kaden"));
            r.push("Content-Type", "application/sdp");
            r.body = sdp.to_vec();
        }
        self.tx.respond(r);
    }

    /// Refuse with a final status (486, 404, 488…). A Warning carries the reason text.
    pub fn reject(self, code: u16, reason: &str, warning: Option<&str>) {
        self.ua.forget_pending(&self.request, self.source);
        let mut r = Message::response_to(&self.request, code, reason);
        if let Some(w) = warning {
            r.push("Warning", format!("399 kaden \"{}\"", w.replace('"', "'")));
        }
        self.tx.respond(r);
    }

    /// Wait until the caller CANCELs (the INVITE has then been answered 487).
    pub async fn cancelled(&mut self) {
        let _ = (&mut self.cancelled).await;
    }

    /// Answer 200 with `sdp`; the leg is live once the ACK arrives (or after the ACK wait).
    pub fn answer(self, sdp: Vec<u8>) -> Option<CallLeg> {
        self.ua.forget_pending(&self.request, self.source);
        let contact = self.ua.contact("kaden");
        let dialog = Dialog::from_uas(&self.request, &self.tx.local_tag, self.source, &contact)?;
        let mut ok = Message::response_to(&self.request, 200, "OK");
        ok.push("Contact", contact);
        ok.push("Content-Type", "application/sdp");
        ok.body = sdp.clone();
        self.tx.respond(ok);
        let mut tx = self.tx;
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let ev2 = ev_tx.clone();
        tokio::spawn(async move {
            if tx.outcome().await == crate::transaction::ServerOutcome::AckTimeout {
                let _ = ev2.send(LegEvent::AckTimeout);
            }
        });
        Some(self.ua.spawn_leg(dialog, sdp, 0, ev_tx, ev_rx))
    }
}

/// The INVITE a CANCEL refers to: same branch and sent-by (RFC 3261 9.2), same source.
fn pending_key(req: &Message, source: SocketAddr) -> Option<String> {
    Some(format!(
        "{} {} {source}",
        req.branch()?,
        req.sent_by().unwrap_or_default()
    ))
}

async fn sleep_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl UserAgent {
    /// Start a UA on an endpoint. Incoming INVITEs go to the returned receiver (drop it to
    /// refuse them with 480); REGISTER goes to `registrar` if given (else 405). With a
    /// registrar the UA also screens new requests for the endpoint ([`Screen`]).
    pub fn start(
        ep: Endpoint,
        mut incoming: mpsc::UnboundedReceiver<Incoming>,
        config: UaConfig,
        registrar: Option<Arc<Registrar>>,
    ) -> (UserAgent, mpsc::UnboundedReceiver<IncomingCall>) {
        let ua = UserAgent {
            shared: Arc::new(Shared {
                ep,
                config,
                dialogs: Mutex::new(HashMap::new()),
                pending: Mutex::new(HashMap::new()),
                registrar,
            }),
        };
        // A UA with a registrar faces phones on the open network: new requests are screened
        // and unauthenticated ones budgeted per source. Without one (the test carrier, a
        // softphone, a benchmark's far end) every request gets a transaction as before, so a
        // peer sending hundreds of calls a second from one address is never shed.
        if ua.shared.registrar.is_some() {
            let screen: std::sync::Weak<dyn Screen> = Arc::downgrade(&ua.shared) as _;
            ua.shared.ep.set_screen(screen);
        }
        let (calls_tx, calls_rx) = mpsc::unbounded_channel();
        let weak = Arc::downgrade(&ua.shared);
        tokio::spawn(async move {
            while let Some(inc) = incoming.recv().await {
                let Some(shared) = weak.upgrade() else { break };
                let ua = UserAgent { shared };
                ua.route(inc, &calls_tx).await;
            }
        });
        (ua, calls_rx)
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.shared.ep
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.shared.ep.local_addr()
    }

    /// Our Contact for `user`.
    pub fn contact(&self, user: &str) -> String {
        format!("<sip:{user}@{}>", self.shared.ep.local_addr())
    }

    fn via(&self) -> impl Fn(&str) -> String + use<> {
        let ep = self.shared.ep.clone();
        move |b: &str| ep.via(b)
    }

    fn forget_pending(&self, req: &Message, source: SocketAddr) {
        if let Some(k) = pending_key(req, source) {
            lock(&self.shared.pending).remove(&k);
        }
    }

    async fn route(&self, inc: Incoming, calls: &mpsc::UnboundedSender<IncomingCall>) {
        match inc {
            Incoming::Request(stx) => {
                let req = &stx.request;
                let method = stx.method();
                if let Some(tag) = req.to_tag() {
                    let key = (req.call_id().unwrap_or("").to_string(), tag.to_string());
                    let sender = lock(&self.shared.dialogs).get(&key).cloned();
                    match sender {
                        Some(s) => {
                            if let Err(mpsc::error::SendError(DialogInput::Request(stx))) =
                                s.send(DialogInput::Request(stx))
                            {
                                stx.reply(481, "Call/Transaction Does Not Exist");
                            }
                        }
                        None => stx.reply(481, "Call/Transaction Does Not Exist"),
                    }
                    return;
                }
                match method {
                    Method::Invite => {
                        let (ctx, crx) = oneshot::channel();
                        if let Some(k) = pending_key(req, stx.source) {
                            lock(&self.shared.pending).insert(k, (stx.responder(), ctx));
                        }
                        let call = IncomingCall {
                            request: stx.request.clone(),
                            source: stx.source,
                            tx: stx,
                            ua: self.clone(),
                            cancelled: crx,
                        };
                        if let Err(mpsc::error::SendError(call)) = calls.send(call) {
                            call.reject(
                                480,
                                "Temporarily Unavailable",
                                Some("no one takes calls here"),
                            );
                        }
                    }
                    Method::Cancel => {
                        let pending = pending_key(req, stx.source)
                            .and_then(|k| lock(&self.shared.pending).remove(&k));
                        match pending {
                            Some((responder, notify)) => {
                                stx.reply(200, "OK");
                                responder.reply(487, "Request Terminated");
                                let _ = notify.send(());
                            }
                            // RFC 3261 9.2: the INVITE was already answered finally; the
                            // CANCEL has no effect but is acknowledged.
                            None if self.shared.ep.has_invite_transaction(req, stx.source) => {
                                stx.reply(200, "OK");
                            }
                            None => stx.reply(481, "Call/Transaction Does Not Exist"),
                        }
                    }
                    Method::Register => match &self.shared.registrar {
                        Some(r) => r.handle(stx),
                        None => stx.reply(405, "Method Not Allowed"),
                    },
                    Method::Options => {
                        let mut r = Message::response_to(&stx.request, 200, "OK");
                        r.push("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER");
                        stx.respond(r);
                    }
                    Method::Bye => stx.reply(481, "Call/Transaction Does Not Exist"),
                    _ => stx.reply(405, "Method Not Allowed"),
                }
            }
            Incoming::Ack { msg, .. } => {
                if let (Some(cid), Some(tag)) = (msg.call_id(), msg.to_tag()) {
                    let key = (cid.to_string(), tag.to_string());
                    if let Some(s) = lock(&self.shared.dialogs).get(&key) {
                        let _ = s.send(DialogInput::Ack);
                    }
                }
            }
            Incoming::StrayResponse { msg, .. } => {
                if msg.status().is_some_and(|c| (200..300).contains(&c))
                    && msg.cseq().is_some_and(|c| c.1 == Method::Invite)
                    && let (Some(cid), Some(tag)) = (msg.call_id(), msg.from_tag())
                {
                    let key = (cid.to_string(), tag.to_string());
                    if let Some(s) = lock(&self.shared.dialogs).get(&key) {
                        let _ = s.send(DialogInput::Stray2xx);
                    }
                }
            }
        }
    }

    /// Register `user` at a registrar (or trunk) with digest authentication; returns the
    /// final status (200 on success, the refusal otherwise, 408 on timeout).
    pub async fn register(
        &self,
        registrar: SocketAddr,
        domain: &str,
        user: &str,
        password: &str,
        expires: u32,
    ) -> (u16, String) {
        let call_id = format!("{}-{}", new_tag(), new_tag());
        let tag = new_tag();
        let uri = format!("sip:{domain}");
        let build = |cseq: u32, auth: Option<String>| {
            let mut m = Message::request(Method::Register, uri.clone());
            m.push("Via", self.shared.ep.via(&new_branch()));
            m.push("Max-Forwards", "70");
            m.push("From", format!("<sip:{user}@{domain}>;tag={tag}"));
            m.push("To", format!("<sip:{user}@{domain}>"));
            m.push("Call-ID", call_id.clone());
            m.push("CSeq", format!("{cseq} REGISTER"));
            m.push("Contact", self.contact(user));
            m.push("Expires", expires.to_string());
            if let Some(a) = auth {
                m.push("Authorization", a);
            }
            m
        };
        let mut tx = self.shared.ep.send_request(build(1, None), registrar);
        let first = match tx.final_response().await {
            Ok(r) => r,
            Err(_) => return (408, "Request Timeout".into()),
        };
        let code = first.status().unwrap_or(500);
        if code != 401 {
            return (code, first.reason().unwrap_or("").to_string());
        }
        let Some(Ok(ch)) = first.get("WWW-Authenticate").map(Challenge::parse) else {
            return (401, "Unauthorized (unusable challenge)".into());
        };
        let auth = authorization(&ch, user, password, "REGISTER", &uri, &new_tag(), 1);
        let mut tx = self.shared.ep.send_request(build(2, Some(auth)), registrar);
        match tx.final_response().await {
            Ok(r) => (
                r.status().unwrap_or(500),
                r.reason().unwrap_or("").to_string(),
            ),
            Err(_) => (408, "Request Timeout".into()),
        }
    }

    fn build_invite(&self, req: &InviteRequest, call_id: &str, tag: &str, cseq: u32) -> Message {
        let domain = req
            .from_domain
            .as_deref()
            .unwrap_or(&self.shared.config.domain);
        let mut m = Message::request(Method::Invite, req.target.clone());
        m.push("Via", self.shared.ep.via(&new_branch()));
        m.push("Max-Forwards", "70");
        let from_uri = format!("sip:{}@{domain}", req.from_user);
        let from = match &req.display_name {
            Some(d) => format!("\"{}\" <{from_uri}>;tag={tag}", d.replace('"', "")),
            None => format!("<{from_uri}>;tag={tag}"),
        };
        m.push("From", from);
        m.push("To", format!("<{}>", req.target));
        m.push("Call-ID", call_id.to_string());
        m.push("CSeq", format!("{cseq} INVITE"));
        m.push("Contact", self.contact(&req.from_user));
        if req.assert_identity {
            m.push("P-Asserted-Identity", format!("<{from_uri}>"));
        }
        m.push("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS");
        m.push("User-Agent", self.shared.config.user_agent.clone());
        for (k, v) in &req.extra_headers {
            m.push(k, v.clone());
        }
        m.push("Content-Type", "application/sdp");
        m.body = req.sdp.clone();
        m
    }

    /// Place an outgoing INVITE.
    pub fn invite(&self, req: InviteRequest) -> OutgoingCall {
        let call_id = format!("{}-{}", new_tag(), new_tag());
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let (cancel_tx, cancel_rx) = oneshot::channel();
        let ua = self.clone();
        let cid = call_id.clone();
        tokio::spawn(async move { ua.run_invite(req, cid, ev_tx, cancel_rx).await });
        OutgoingCall {
            call_id,
            events: ev_rx,
            cancel: Some(cancel_tx),
        }
    }

    async fn run_invite(
        self,
        req: InviteRequest,
        call_id: String,
        ev: mpsc::UnboundedSender<Progress>,
        mut cancel_rx: oneshot::Receiver<()>,
    ) {
        let tag = new_tag();
        let mut cseq = 1;
        let mut invite = self.build_invite(&req, &call_id, &tag, cseq);
        let mut tx = self.shared.ep.send_request(invite.clone(), req.dest);
        let mut authed = false;
        let mut cancel_wanted = false;
        let mut cancel_closed = false;
        let mut cancel_sent = false;
        let mut got_provisional = false;
        // RFC 3261 9.1: no final response within 64·T1 of our CANCEL ends the INVITE.
        let mut give_up: Option<tokio::time::Instant> = None;
        let t64 = self.shared.ep.timers().t64();
        loop {
            let event = tokio::select! {
                e = tx.recv() => e,
                _ = sleep_opt(give_up) => {
                    let _ = ev.send(Progress::Failed {
                        code: 408,
                        reason: "Request Timeout (no answer to CANCEL)".into(),
                    });
                    return;
                }
                r = &mut cancel_rx, if !cancel_wanted && !cancel_closed => {
                    if r.is_err() {
                        // The handle was dropped without cancelling: keep going.
                        cancel_closed = true;
                        continue;
                    }
                    cancel_wanted = true;
                    if got_provisional && !cancel_sent {
                        cancel_sent = true;
                        give_up = Some(tokio::time::Instant::now() + t64);
                        self.send_cancel(&invite, req.dest);
                    }
                    continue;
                }
            };
            let resp = match event {
                Some(TxEvent::Response(r)) => r,
                Some(TxEvent::Timeout) | None => {
                    let _ = ev.send(Progress::Failed {
                        code: 408,
                        reason: "Request Timeout".into(),
                    });
                    return;
                }
                Some(TxEvent::TransportError(e)) => {
                    let _ = ev.send(Progress::Failed {
                        code: 503,
                        reason: format!("Service Unavailable ({e})"),
                    });
                    return;
                }
            };
            let code = resp.status().unwrap_or(0);
            let reason = resp.reason().unwrap_or("").to_string();
            match code {
                100 => {
                    got_provisional = true;
                }
                101..=199 => {
                    got_provisional = true;
                    let sdp = (!resp.body.is_empty()).then(|| resp.body.clone());
                    let _ = ev.send(Progress::Provisional { code, reason, sdp });
                }
                200..=299 => {
                    let Some(mut dialog) = Dialog::from_uac(&invite, &resp, req.dest) else {
                        let _ = ev.send(Progress::Failed {
                            code: 502,
                            reason: "Bad Gateway (2xx without Contact or To tag)".into(),
                        });
                        return;
                    };
                    let via = self.via();
                    let ack = dialog.ack(cseq, &via);
                    self.shared.ep.send_stateless(&ack, dialog.dest).await;
                    if cancel_wanted {
                        // The answer crossed our CANCEL: hang up at once.
                        let bye = dialog.request(Method::Bye, &via);
                        let mut btx = self.shared.ep.send_request(bye, dialog.dest);
                        let _ = btx.final_response().await;
                        let _ = ev.send(Progress::Failed {
                            code: 487,
                            reason: "Request Terminated (answered after cancel, hung up)".into(),
                        });
                        return;
                    }
                    // Each 2xx gets its own ACK, a new in-dialog request with a fresh branch
                    // (RFC 3261 13.2.2.4).
                    let ack_dialog = dialog.clone();
                    let (lev_tx, lev_rx) = mpsc::unbounded_channel();
                    let leg = self.spawn_leg(dialog, req.sdp.clone(), cseq, lev_tx, lev_rx);
                    let _ = ev.send(Progress::Answered {
                        leg,
                        sdp: resp.body.clone(),
                    });
                    // 2xx retransmissions while the transaction is Accepted: re-ACK.
                    while let Some(TxEvent::Response(r)) = tx.recv().await {
                        if r.status().is_some_and(|c| (200..300).contains(&c)) {
                            let again = ack_dialog.ack(cseq, &via);
                            self.shared.ep.send_stateless(&again, ack_dialog.dest).await;
                        }
                    }
                    return;
                }
                401 | 407 if !authed && req.credentials.is_some() => {
                    let header = if code == 401 {
                        "WWW-Authenticate"
                    } else {
                        "Proxy-Authenticate"
                    };
                    let challenge = resp.get(header).map(Challenge::parse);
                    let (Some(Ok(ch)), Some((user, pass))) = (challenge, &req.credentials) else {
                        let _ = ev.send(Progress::Failed { code, reason });
                        return;
                    };
                    authed = true;
                    cseq += 1;
                    invite = self.build_invite(&req, &call_id, &tag, cseq);
                    let value =
                        authorization(&ch, user, pass, "INVITE", &req.target, &new_tag(), 1);
                    let auth_header = if code == 401 {
                        "Authorization"
                    } else {
                        "Proxy-Authorization"
                    };
                    invite.push(auth_header, value);
                    tx = self.shared.ep.send_request(invite.clone(), req.dest);
                    got_provisional = false;
                    cancel_sent = false;
                }
                _ => {
                    let _ = ev.send(Progress::Failed { code, reason });
                    return;
                }
            }
            if cancel_wanted && got_provisional && !cancel_sent {
                cancel_sent = true;
                give_up = Some(tokio::time::Instant::now() + t64);
                self.send_cancel(&invite, req.dest);
            }
        }
    }

    fn send_cancel(&self, invite: &Message, dest: SocketAddr) {
        let mut ctx = self.shared.ep.send_request(cancel_for(invite), dest);
        tokio::spawn(async move {
            let _ = ctx.final_response().await;
        });
    }

    fn spawn_leg(
        &self,
        dialog: Dialog,
        local_sdp: Vec<u8>,
        invite_cseq: u32,
        ev: mpsc::UnboundedSender<LegEvent>,
        ev_rx: mpsc::UnboundedReceiver<LegEvent>,
    ) -> CallLeg {
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        let key = (dialog.call_id.clone(), dialog.local_tag.clone());
        lock(&self.shared.dialogs).insert(key.clone(), in_tx);
        let leg = CallLeg {
            call_id: dialog.call_id.clone(),
            remote_target: dialog.remote_target.clone(),
            cmd: cmd_tx,
            events: ev_rx,
        };
        let ua = self.clone();
        tokio::spawn(async move {
            ua.run_leg(dialog, local_sdp, invite_cseq, cmd_rx, in_rx, ev)
                .await;
            lock(&ua.shared.dialogs).remove(&key);
        });
        leg
    }

    async fn run_leg(
        &self,
        mut dialog: Dialog,
        mut local_sdp: Vec<u8>,
        mut invite_cseq: u32,
        mut cmd: mpsc::UnboundedReceiver<LegCmd>,
        mut input: mpsc::UnboundedReceiver<DialogInput>,
        ev: mpsc::UnboundedSender<LegEvent>,
    ) {
        let via = self.via();
        // The SDP the far end last got from us (RFC 3264 §8 versions answers against it).
        let mut sent_sdp = local_sdp.clone();
        loop {
            tokio::select! {
                c = cmd.recv() => match c {
                    None => {
                        // Every handle is gone: hang up rather than leave the call open.
                        let bye = dialog.request(Method::Bye, &via);
                        let mut tx = self.shared.ep.send_request(bye, dialog.dest);
                        let _ = tx.final_response().await;
                        return;
                    }
                    Some(LegCmd::Bye(reply)) => {
                        let bye = dialog.request(Method::Bye, &via);
                        let mut tx = self.shared.ep.send_request(bye, dialog.dest);
                        let code = match tx.final_response().await {
                            Ok(r) => r.status().unwrap_or(500),
                            Err(_) => 408,
                        };
                        let _ = reply.send(code);
                        return;
                    }
                    Some(LegCmd::SetLocalSdp(sdp)) => local_sdp = sdp,
                    Some(LegCmd::Reinvite(sdp, reply)) => {
                        let mut inv = dialog.request(Method::Invite, &via);
                        inv.push("Content-Type", "application/sdp");
                        inv.body = sdp.clone();
                        let cseq = dialog.local_cseq;
                        let mut tx = self.shared.ep.send_request(inv, dialog.dest);
                        let result = match tx.final_response().await {
                            Ok(r) if r.status().is_some_and(|c| (200..300).contains(&c)) => {
                                let ack = dialog.ack(cseq, &via);
                                self.shared.ep.send_stateless(&ack, dialog.dest).await;
                                invite_cseq = cseq;
                                sent_sdp = sdp.clone();
                                local_sdp = sdp;
                                Ok(r.body)
                            }
                            Ok(r) => Err((r.status().unwrap_or(500), r.reason().unwrap_or("").to_string())),
                            Err(_) => Err((408, "Request Timeout".to_string())),
                        };
                        let _ = reply.send(result);
                    }
                },
                i = input.recv() => match i {
                    None => return,
                    Some(DialogInput::Ack) => {}
                    Some(DialogInput::Stray2xx) => {
                        let ack = dialog.ack(invite_cseq, &via);
                        self.shared.ep.send_stateless(&ack, dialog.dest).await;
                    }
                    Some(DialogInput::Request(stx)) => {
                        match stx.method() {
                            Method::Bye => {
                                stx.reply(200, "OK");
                                let _ = ev.send(LegEvent::RemoteBye);
                                return;
                            }
                            Method::Invite => {
                                let mut ok = Message::response_to(&stx.request, 200, "OK");
                                ok.push("Contact", dialog.local_contact.clone());
                                ok.push("Content-Type", "application/sdp");
                                // RFC 3264: hold (sendonly) is answered recvonly, and so on.
                                let body = super::reoffer::answer(&local_sdp, &stx.request.body, &sent_sdp);
                                sent_sdp = body.clone();
                                ok.body = body;
                                if let Some(c) = stx.request.get("Contact") {
                                    dialog.remote_target = crate::transport::addr_uri(c).to_string();
                                }
                                let remote = stx.request.body.clone();
                                stx.respond(ok);
                                let _ = ev.send(LegEvent::RemoteSdp(remote));
                            }
                            Method::Options | Method::Info | Method::Update => stx.reply(200, "OK"),
                            _ => stx.reply(405, "Method Not Allowed"),
                        }
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests;
