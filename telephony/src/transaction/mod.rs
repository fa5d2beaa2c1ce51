//! RFC 3261 §17 transactions over UDP: INVITE and non-INVITE, client and server, timers A–K,
//! plus RFC 6026's "Accepted" states so retransmitted 2xx responses and their ACKs are handled.
//!
//! Each transaction is a small tokio task fed by the [`Endpoint`]'s receive loop; timers are
//! tokio timers, so tests run them with paused time.

pub mod budget;
mod client;
mod log_limit;
mod screen;
mod server;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rsip::Method;
use tokio::sync::mpsc;

use crate::sync::lock;
use crate::transport::{Message, UdpTransport, bad_request_answer};

pub use budget::{Budget, SourceBudgets};
pub use client::{ClientTx, TxEvent};
pub use screen::{Screen, Verdict};
pub use server::{Responder, ServerOutcome, ServerTx};

/// RFC 3261 timer values (defaults: T1 = 500 ms, T2 = 4 s, T4 = 5 s).
#[derive(Debug, Clone, Copy)]
pub struct Timers {
    pub t1: Duration,
    pub t2: Duration,
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl Timers {
    /// Timers B, F, H, J and the Accepted-state wait: 64·T1.
    pub fn t64(&self) -> Duration {
        self.t1 * 64
    }
}

/// Settings of an [`Endpoint`]: RFC 3261 timers and admission control.
///
/// Admission control (RFC 3261 21.5.4): while `max_pending_setups` INVITE server
/// transactions are open without a final response (call setups received and not yet
/// answered), every NEW out-of-dialog request (no To tag: INVITE, REGISTER, OPTIONS, ...) is
/// answered `503 Service Unavailable` with `Retry-After: retry_after` straight from the receive
/// loop, statelessly: no transaction, no task, nothing handed to the UA. Requests inside a
/// dialog (To tag), ACK, CANCEL and retransmissions of requests whose transaction exists are
/// never refused, so calls already admitted finish. Refusals are counted in
/// [`EndpointStats::shed`].
///
/// The signal is work in progress: by Little's law open setups = setups/s × setup time, and an
/// endpoint that falls behind sees its setup time, and with it this count, climb. On the
/// benchmark machine (2 vCPU, a B2BUA forwarding to an answering sipp) at most 461 were open
/// at 1,000–3,000 setups/s and 1,000 is about a third of a second of what it completes; the
/// count does not see datagrams still waiting in the socket buffer. Figures in
/// docs/benchmarks/telephony.md.
#[derive(Debug, Clone, Copy)]
pub struct EndpointConfig {
    pub timers: Timers,
    /// New out-of-dialog requests are refused with 503 while at least this many INVITE
    /// server transactions have no final response yet. Default 1,000. `usize::MAX` turns
    /// admission control off.
    pub max_pending_setups: usize,
    /// The `Retry-After` of the 503 (whole seconds, at least 1; RFC 3261 20.33). Default 1 s:
    /// a proxy that honours it sends us no other request for that long (RFC 3261 21.5.4), so
    /// it is kept short.
    pub retry_after: Duration,
    /// Per-source budget for new requests that prove nothing ([`budget`], [`Screen`]); past
    /// it they are answered 503 + `Retry-After` statelessly. Default 100 at once, 50/s.
    pub unauthenticated: Budget,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            timers: Timers::default(),
            max_pending_setups: 1000,
            retry_after: Duration::from_secs(1),
            unauthenticated: Budget::default(),
        }
    }
}

/// What the endpoint hands to the transaction user (the UA).
#[derive(Debug)]
pub enum Incoming {
    /// A new request, with its server transaction to answer through.
    Request(ServerTx),
    /// An ACK that matched no transaction: the ACK for a 2xx (RFC 3261 17.1.1.3).
    Ack { msg: Message, from: SocketAddr },
    /// A response that matched no transaction (e.g. a 2xx retransmitted after the
    /// transaction ended): the UA re-sends its ACK.
    StrayResponse { msg: Message, from: SocketAddr },
}

/// Statistics of what the endpoint refused or dropped (never silently).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EndpointStats {
    /// Datagrams that are not SIP we can read (also logged, at most once per source per
    /// minute: [`log_limit`]).
    pub unparseable: u64,
    /// CRLF keep-alives (RFC 5626 4.4.1 style pings; RFC 3261 7.5): taken silently.
    pub keepalives: u64,
    /// Datagrams over [`crate::transport::MAX_MESSAGE`] or [`crate::transport::MAX_HEADERS`]
    /// (also counted in `unparseable`): answered 513/400 statelessly, nothing kept.
    pub too_large: u64,
    pub answered_bad_request: u64,
    /// New out-of-dialog requests answered 503 by admission control ([`EndpointConfig`]).
    pub shed: u64,
    /// Unauthenticated requests answered 503 because their source spent its budget
    /// ([`EndpointConfig::unauthenticated`]).
    pub shed_unauthenticated: u64,
    /// Unauthenticated requests answered without a transaction (challenges, stale nonces,
    /// 403, 481 for dialogs that do not exist).
    pub answered_statelessly: u64,
}

pub(crate) struct Shared {
    pub(crate) transport: UdpTransport,
    pub(crate) timers: Timers,
    max_pending_setups: usize,
    retry_after: Duration,
    /// INVITE server transactions without a final response yet (the admission signal).
    pending_setups: AtomicUsize,
    client: Mutex<HashMap<String, mpsc::UnboundedSender<Message>>>,
    server: Mutex<HashMap<String, mpsc::UnboundedSender<Message>>>,
    /// Server INVITE transactions in the Accepted state, by `call-id cseq` (the ACK for a
    /// 2xx has a new branch).
    accepted: Mutex<HashMap<String, mpsc::UnboundedSender<Message>>>,
    stats: Mutex<EndpointStats>,
    log_limit: log_limit::LogLimit,
    budgets: SourceBudgets,
    /// The transaction user's screen, installed once it exists (weak: it owns the endpoint).
    screen: std::sync::OnceLock<std::sync::Weak<dyn Screen>>,
}

/// SIP endpoint: owns the transport, matches messages to transactions, runs timers.
#[derive(Clone)]
pub struct Endpoint {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("local", &self.shared.transport.local_addr())
            .finish()
    }
}

fn key(branch: &str, method: &Method) -> String {
    let m = if *method == Method::Ack {
        &Method::Invite
    } else {
        method
    };
    format!("{branch} {m}")
}

/// The key of a server transaction (RFC 3261 17.2.3): the top Via's branch AND sent-by, the
/// method (ACK counts as INVITE), and — stricter than the RFC — the address the request came
/// from. So another client reusing a branch, or replaying a captured request from elsewhere,
/// starts its own transaction and gets its own answer instead of the first one's.
pub fn server_key(msg: &Message, from: SocketAddr) -> Option<String> {
    let branch = msg.branch()?;
    let method = msg.method()?;
    let sent_by = msg.sent_by().unwrap_or_default();
    Some(format!("{} {sent_by} {from}", key(branch, method)))
}

/// A fresh RFC 3261 branch (magic cookie + 64 random bits).
pub fn new_branch() -> String {
    format!("z9hG4bK{:016x}", rand::random::<u64>())
}

/// A fresh From/To tag or Call-ID part.
pub fn new_tag() -> String {
    format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

impl Endpoint {
    /// Start an endpoint on `transport` with `timers` and the default admission control
    /// ([`EndpointConfig::default`]); see [`Endpoint::start_with`].
    pub fn start(
        transport: UdpTransport,
        timers: Timers,
    ) -> (Endpoint, mpsc::UnboundedReceiver<Incoming>) {
        Endpoint::start_with(
            transport,
            EndpointConfig {
                timers,
                ..EndpointConfig::default()
            },
        )
    }

    /// Start an endpoint on `transport`; new requests arrive on the returned receiver. The
    /// receive loop stops at the first datagram after every `Endpoint` clone has been dropped
    /// (or when the runtime shuts down).
    pub fn start_with(
        transport: UdpTransport,
        config: EndpointConfig,
    ) -> (Endpoint, mpsc::UnboundedReceiver<Incoming>) {
        let shared = Arc::new(Shared {
            transport,
            timers: config.timers,
            max_pending_setups: config.max_pending_setups,
            retry_after: config.retry_after,
            pending_setups: AtomicUsize::new(0),
            client: Mutex::new(HashMap::new()),
            server: Mutex::new(HashMap::new()),
            accepted: Mutex::new(HashMap::new()),
            stats: Mutex::new(EndpointStats::default()),
            log_limit: log_limit::LogLimit::default(),
            budgets: SourceBudgets::new(config.unauthenticated),
            screen: std::sync::OnceLock::new(),
        });
        let (tu_tx, tu_rx) = mpsc::unbounded_channel();
        let weak = Arc::downgrade(&shared);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            loop {
                let Some(shared) = weak.upgrade() else { break };
                let transport = shared.transport.clone();
                drop(shared);
                let Ok((parsed, from)) = transport.recv(&mut buf).await else {
                    continue;
                };
                let Some(shared) = weak.upgrade() else { break };
                let ep = Endpoint { shared };
                if !ep.dispatch(parsed, from, &tu_tx).await {
                    break;
                }
            }
        });
        (Endpoint { shared }, tu_rx)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.shared.transport.local_addr()
    }

    pub fn timers(&self) -> Timers {
        self.shared.timers
    }

    pub fn transport(&self) -> &UdpTransport {
        &self.shared.transport
    }

    pub fn stats(&self) -> EndpointStats {
        *lock(&self.shared.stats)
    }

    /// INVITE server transactions open without a final response: the admission-control
    /// signal ([`EndpointConfig::max_pending_setups`]).
    pub fn pending_setups(&self) -> usize {
        self.shared.pending_setups.load(Ordering::Relaxed)
    }

    pub(crate) fn setup_opened(&self) {
        self.shared.pending_setups.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn setup_answered(&self) {
        self.shared.pending_setups.fetch_sub(1, Ordering::Relaxed);
    }

    /// Admission control: is `msg` (a request that matched no transaction) a new
    /// out-of-dialog request arriving while the endpoint is overloaded?
    fn must_shed(&self, msg: &Message, method: &Method) -> bool {
        !matches!(method, Method::Ack | Method::Cancel)
            && msg.to_tag().is_none()
            && self.pending_setups() >= self.shared.max_pending_setups
    }

    /// Answer a shed request 503 + Retry-After without a transaction.
    async fn shed(&self, msg: &Message, branch: &str, from: SocketAddr) {
        let mut resp = Message::response_to(msg, 503, "Service Unavailable");
        resp.push(
            "Retry-After",
            self.shared.retry_after.as_secs().max(1).to_string(),
        );
        lock(&self.shared.stats).shed += 1;
        self.answer_statelessly(resp, msg, branch, from).await;
    }

    /// Returns false when the TU has gone away.
    async fn dispatch(
        &self,
        parsed: Result<Message, (crate::transport::ParseError, Vec<u8>)>,
        from: SocketAddr,
        tu: &mpsc::UnboundedSender<Incoming>,
    ) -> bool {
        let mut msg = match parsed {
            Ok(m) => m,
            Err((err, raw)) => {
                if raw
                    .iter()
                    .all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
                {
                    // A keep-alive (CRLF or CRLFCRLF): expected, not a warning.
                    lock(&self.shared.stats).keepalives += 1;
                    return true;
                }
                let answer = bad_request_answer(&err, &raw);
                {
                    let mut st = lock(&self.shared.stats);
                    st.unparseable += 1;
                    if matches!(
                        err,
                        crate::transport::ParseError::TooLarge { .. }
                            | crate::transport::ParseError::TooManyHeaders { .. }
                    ) {
                        st.too_large += 1;
                    }
                    if answer.is_some() {
                        st.answered_bad_request += 1;
                    }
                }
                // The error text quotes at most a redacted line (ParseError), and only the
                // first one per source per minute is written.
                if self.shared.log_limit.allow(from.ip()) {
                    tracing::warn!(%from, error = %err, "unparseable SIP message (more from this source within a minute are only counted)");
                }
                if let Some(resp) = answer {
                    let _ = self.shared.transport.send(&resp, from).await;
                }
                return true;
            }
        };
        let Some(branch) = msg.branch().map(str::to_string) else {
            if self.shared.log_limit.allow(from.ip()) {
                tracing::warn!(%from, "message without a Via branch dropped");
            }
            lock(&self.shared.stats).unparseable += 1;
            return true;
        };
        match msg.method().copied() {
            None => {
                let Some((_, method)) = msg.cseq() else {
                    return true;
                };
                let k = key(&branch, &method);
                let sender = lock(&self.shared.client).get(&k).cloned();
                match sender {
                    Some(s) if s.send(msg.clone()).is_ok() => {}
                    _ => {
                        if tu.send(Incoming::StrayResponse { msg, from }).is_err() {
                            return false;
                        }
                    }
                }
            }
            Some(method) => {
                let k = server_key(&msg, from).unwrap_or_else(|| key(&branch, &method));
                let sender = lock(&self.shared.server).get(&k).cloned();
                if let Some(s) = sender
                    && s.send(msg.clone()).is_ok()
                {
                    return true;
                }
                if method == Method::Ack {
                    let akey = ack_key(&msg);
                    let acc = lock(&self.shared.accepted).get(&akey).cloned();
                    if let Some(s) = acc {
                        let _ = s.send(msg.clone());
                    }
                    return tu.send(Incoming::Ack { msg, from }).is_ok();
                }
                if self.must_shed(&msg, &method) {
                    self.shed(&msg, &branch, from).await;
                    return true;
                }
                if method != Method::Ack && self.screened_away(&msg, &branch, from).await {
                    return true;
                }
                if msg.max_forwards() == Some(0) && method != Method::Options {
                    let resp = Message::response_to(&msg, 483, "Too Many Hops");
                    let _ = self.shared.transport.send(&resp, from).await;
                    return true;
                }
                mark_received(&mut msg, from);
                let stx = server::spawn(self.clone(), msg, from, k);
                return tu.send(Incoming::Request(stx)).is_ok();
            }
        }
        true
    }

    /// Send a request in a new client transaction. The request must carry its Via with a
    /// branch (use [`new_branch`]); ACK is not sent through a transaction (use
    /// [`Endpoint::send_stateless`]).
    pub fn send_request(&self, req: Message, dest: SocketAddr) -> ClientTx {
        client::spawn(self.clone(), req, dest)
    }

    /// Send without a transaction (ACK for 2xx, retransmitted 2xx).
    pub async fn send_stateless(&self, msg: &Message, dest: SocketAddr) {
        if let Err(e) = self.shared.transport.send(msg, dest).await {
            tracing::warn!(%dest, error = %e, "send failed");
        }
    }

    /// The Via value this endpoint puts on its requests.
    pub fn via(&self, branch: &str) -> String {
        format!(
            "SIP/2.0/UDP {};rport;branch={branch}",
            self.shared.transport.local_addr()
        )
    }

    pub(crate) fn register_client(&self, k: String, s: mpsc::UnboundedSender<Message>) {
        lock(&self.shared.client).insert(k, s);
    }
    pub(crate) fn unregister_client(&self, k: &str) {
        lock(&self.shared.client).remove(k);
    }
    pub(crate) fn register_server(&self, k: String, s: mpsc::UnboundedSender<Message>) {
        lock(&self.shared.server).insert(k, s);
    }
    pub(crate) fn unregister_server(&self, k: &str) {
        lock(&self.shared.server).remove(k);
    }
    pub(crate) fn register_accepted(&self, k: String, s: mpsc::UnboundedSender<Message>) {
        lock(&self.shared.accepted).insert(k, s);
    }
    pub(crate) fn unregister_accepted(&self, k: &str) {
        lock(&self.shared.accepted).remove(k);
    }

    /// Whether the INVITE server transaction a CANCEL (or ACK) from `from` refers to still
    /// exists (RFC 3261 9.2: a CANCEL for an answered INVITE gets 200, an unknown one 481).
    pub fn has_invite_transaction(&self, msg: &Message, from: SocketAddr) -> bool {
        let Some(branch) = msg.branch() else {
            return false;
        };
        let sent_by = msg.sent_by().unwrap_or_default();
        let k = format!("{} {sent_by} {from}", key(branch, &Method::Invite));
        lock(&self.shared.server).contains_key(&k)
    }

    /// Number of live transactions (client, server) — for tests and metrics.
    pub fn live_transactions(&self) -> (usize, usize) {
        (
            lock(&self.shared.client).len(),
            lock(&self.shared.server).len(),
        )
    }
}

pub(crate) fn ack_key(msg: &Message) -> String {
    format!(
        "{} {}",
        msg.call_id().unwrap_or(""),
        msg.cseq().map(|c| c.0).unwrap_or(0)
    )
}

/// RFC 3261 18.2.1 / RFC 3581: note where the request really came from in its top Via.
fn mark_received(msg: &mut Message, from: SocketAddr) {
    if let Some(h) = msg.headers.iter_mut().find(|h| h.name == "Via") {
        let mut v = h.value.clone();
        if v.contains(";rport") && !v.contains(";rport=") {
            v = v.replacen(";rport", &format!(";rport={}", from.port()), 1);
        }
        if !v.contains(";received=") {
            v.push_str(&format!(";received={}", from.ip()));
        }
        h.value = v;
    }
}

/// Build the ACK for a non-2xx final response (RFC 3261 17.1.1.3): same branch, top Via only.
pub fn ack_for_non_2xx(invite: &Message, resp: &Message) -> Message {
    let mut ack = Message::request(Method::Ack, invite.uri().unwrap_or(""));
    if let Some(v) = invite.top_via() {
        ack.push("Via", v);
    }
    ack.push("Max-Forwards", "70");
    for name in ["From", "Call-ID"] {
        if let Some(v) = invite.get(name) {
            ack.push(name, v);
        }
    }
    if let Some(v) = resp.get("To") {
        ack.push("To", v);
    }
    let num = invite.cseq().map(|c| c.0).unwrap_or(1);
    ack.push("CSeq", format!("{num} ACK"));
    for r in invite.get_all("Route") {
        ack.push("Route", r);
    }
    ack
}

/// Build a CANCEL for a sent INVITE (RFC 3261 9.1): same branch, Request-URI, Call-ID, From,
/// To, CSeq number and Route.
pub fn cancel_for(invite: &Message) -> Message {
    let mut c = Message::request(Method::Cancel, invite.uri().unwrap_or(""));
    if let Some(v) = invite.top_via() {
        c.push("Via", v);
    }
    c.push("Max-Forwards", "70");
    for name in ["From", "To", "Call-ID"] {
        if let Some(v) = invite.get(name) {
            c.push(name, v);
        }
    }
    let num = invite.cseq().map(|c| c.0).unwrap_or(1);
    c.push("CSeq", format!("{num} CANCEL"));
    for r in invite.get_all("Route") {
        c.push("Route", r);
    }
    c
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_exposure;
