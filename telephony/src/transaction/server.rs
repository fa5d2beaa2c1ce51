//! Server transactions (RFC 3261 17.2): INVITE (timers G, H, I, and RFC 6026 Accepted with
//! 2xx retransmission until the ACK) and non-INVITE (timer J).

use std::net::SocketAddr;

use rsip::Method;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};

use super::{Endpoint, ack_key, new_tag};
use crate::transport::Message;

/// How an INVITE server transaction ended after its final response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerOutcome {
    /// The ACK arrived.
    Acked,
    /// Timer H (non-2xx) or the Accepted wait (2xx) ran out without an ACK.
    AckTimeout,
    /// Not an INVITE, or no final response was ever sent.
    Done,
}

/// A request and the transaction to answer it through.
#[derive(Debug)]
pub struct ServerTx {
    pub request: Message,
    /// Where the request came from (responses go back there: RFC 3581 symmetric response).
    pub source: SocketAddr,
    /// The To tag this transaction adds to responses that lack one.
    pub local_tag: String,
    responses: mpsc::UnboundedSender<Message>,
    outcome: Option<oneshot::Receiver<ServerOutcome>>,
}

impl ServerTx {
    /// Send a response (provisional or final) through the transaction. A To tag is added to
    /// responses above 100 that have none.
    pub fn respond(&self, mut resp: Message) {
        if resp.status().unwrap_or(0) > 100
            && let Some(to) = resp.headers.iter_mut().find(|h| h.name == "To")
            && crate::transport::param(&to.value, "tag").is_none()
        {
            to.value = format!("{};tag={}", to.value, self.local_tag);
        }
        let _ = self.responses.send(resp);
    }

    /// A cloneable sender of responses into this transaction (used to answer an INVITE with
    /// 487 when a CANCEL arrives while the call is held elsewhere).
    pub fn responder(&self) -> Responder {
        Responder {
            request: self.request.clone(),
            local_tag: self.local_tag.clone(),
            responses: self.responses.clone(),
        }
    }

    /// Build and send a response with just the copied headers.
    pub fn reply(&self, code: u16, reason: &str) {
        self.respond(Message::response_to(&self.request, code, reason));
    }

    pub fn method(&self) -> Method {
        self.request.method().copied().unwrap_or(Method::Options)
    }

    /// For an INVITE: wait until the final response was acknowledged or timed out.
    pub async fn outcome(&mut self) -> ServerOutcome {
        match self.outcome.take() {
            Some(rx) => rx.await.unwrap_or(ServerOutcome::Done),
            None => ServerOutcome::Done,
        }
    }
}

/// Cloneable response sender for a server transaction.
#[derive(Debug, Clone)]
pub struct Responder {
    request: Message,
    local_tag: String,
    responses: mpsc::UnboundedSender<Message>,
}

impl Responder {
    pub fn reply(&self, code: u16, reason: &str) {
        let mut resp = Message::response_to(&self.request, code, reason);
        if code > 100
            && let Some(to) = resp.headers.iter_mut().find(|h| h.name == "To")
            && crate::transport::param(&to.value, "tag").is_none()
        {
            to.value = format!("{};tag={}", to.value, self.local_tag);
        }
        let _ = self.responses.send(resp);
    }
}

pub(super) fn spawn(ep: Endpoint, req: Message, source: SocketAddr, k: String) -> ServerTx {
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    let (resp_tx, resp_rx) = mpsc::unbounded_channel();
    let (out_tx, out_rx) = oneshot::channel();
    ep.register_server(k.clone(), in_tx);
    let is_invite = req.method() == Some(&Method::Invite);
    let request = req.clone();
    // Counted before the task runs, so a burst read by the receive loop in one go is seen.
    let open = is_invite.then(|| OpenSetup::new(&ep));
    tokio::spawn(async move {
        let outcome = if is_invite {
            run_invite(&ep, &req, source, in_rx, resp_rx, open).await
        } else {
            run_non_invite(&ep, &req, source, in_rx, resp_rx).await;
            ServerOutcome::Done
        };
        ep.unregister_server(&k);
        let _ = out_tx.send(outcome);
    });
    ServerTx {
        request,
        source,
        local_tag: new_tag(),
        responses: resp_tx,
        outcome: Some(out_rx),
    }
}

/// One INVITE server transaction without a final response, counted in
/// [`Endpoint::pending_setups`] until dropped (at the final response, or when the
/// transaction ends without one).
struct OpenSetup(Endpoint);

impl OpenSetup {
    fn new(ep: &Endpoint) -> Self {
        ep.setup_opened();
        OpenSetup(ep.clone())
    }
}

impl Drop for OpenSetup {
    fn drop(&mut self) {
        self.0.setup_answered();
    }
}

async fn send(ep: &Endpoint, bytes: &[u8], dest: SocketAddr) {
    if let Err(e) = ep.shared.transport.send_raw(bytes, dest).await {
        tracing::warn!(%dest, error = %e, "response send failed");
    }
}

async fn run_invite(
    ep: &Endpoint,
    req: &Message,
    src: SocketAddr,
    mut rx: mpsc::UnboundedReceiver<Message>,
    mut tu: mpsc::UnboundedReceiver<Message>,
    mut open: Option<OpenSetup>,
) -> ServerOutcome {
    let t = ep.timers();
    // Proceeding: answer 100 at once so the client stops timer A.
    let mut last = Message::response_to(req, 100, "Trying").to_bytes();
    send(ep, &last, src).await;
    let final_resp = loop {
        tokio::select! {
            r = rx.recv() => {
                match r {
                    Some(m) if m.method() == Some(&Method::Invite) => send(ep, &last, src).await,
                    Some(_) => {}
                    None => return ServerOutcome::Done,
                }
            }
            resp = tu.recv() => {
                let resp = resp.unwrap_or_else(|| Message::response_to(req, 500, "Server Internal Error"));
                last = resp.to_bytes();
                send(ep, &last, src).await;
                if resp.status().unwrap_or(0) >= 200 {
                    drop(open.take());
                    break resp;
                }
            }
        }
    };
    let code = final_resp.status().unwrap_or(0);
    let start = Instant::now();
    let give_up = start + t.t64();
    let mut interval = t.t1;
    let mut next_g = start + interval;
    if (200..300).contains(&code) {
        // Accepted: the 2xx is retransmitted until its ACK (new branch, matched by Call-ID and
        // CSeq) arrives.
        let akey = ack_key(req);
        let (ack_tx, mut ack_rx) = mpsc::unbounded_channel();
        ep.register_accepted(akey.clone(), ack_tx);
        let outcome = loop {
            tokio::select! {
                _ = ack_rx.recv() => break ServerOutcome::Acked,
                r = rx.recv() => {
                    if r.is_none() { break ServerOutcome::Done }
                    send(ep, &last, src).await;
                }
                _ = sleep_until(next_g) => {
                    send(ep, &last, src).await;
                    interval = (interval * 2).min(t.t2);
                    next_g += interval;
                }
                _ = sleep_until(give_up) => break ServerOutcome::AckTimeout,
            }
        };
        ep.unregister_accepted(&akey);
        return outcome;
    }
    // Completed: timer G retransmits, timer H gives up, the ACK (same branch) confirms.
    let outcome = loop {
        tokio::select! {
            r = rx.recv() => match r {
                Some(m) if m.method() == Some(&Method::Ack) => break ServerOutcome::Acked,
                Some(_) => send(ep, &last, src).await,
                None => return ServerOutcome::Done,
            },
            _ = sleep_until(next_g) => {
                send(ep, &last, src).await;
                interval = (interval * 2).min(t.t2);
                next_g += interval;
            }
            _ = sleep_until(give_up) => break ServerOutcome::AckTimeout,
        }
    };
    if outcome == ServerOutcome::Acked {
        // Confirmed: timer I = T4 absorbs further ACKs.
        let i = Instant::now() + t.t4;
        loop {
            tokio::select! {
                r = rx.recv() => if r.is_none() { break },
                _ = sleep_until(i) => break,
            }
        }
    }
    outcome
}

async fn run_non_invite(
    ep: &Endpoint,
    req: &Message,
    src: SocketAddr,
    mut rx: mpsc::UnboundedReceiver<Message>,
    mut tu: mpsc::UnboundedReceiver<Message>,
) {
    let t = ep.timers();
    let mut last: Option<Vec<u8>> = None;
    loop {
        tokio::select! {
            r = rx.recv() => match r {
                Some(_) => if let Some(b) = &last { send(ep, b, src).await },
                None => return,
            },
            resp = tu.recv() => {
                let resp = resp.unwrap_or_else(|| Message::response_to(req, 500, "Server Internal Error"));
                let bytes = resp.to_bytes();
                send(ep, &bytes, src).await;
                last = Some(bytes);
                if resp.status().unwrap_or(0) >= 200 {
                    break;
                }
            }
        }
    }
    // Completed: timer J = 64·T1 answers retransmitted requests with the final response.
    let j = Instant::now() + t.t64();
    loop {
        tokio::select! {
            r = rx.recv() => match r {
                Some(_) => if let Some(b) = &last { send(ep, b, src).await },
                None => return,
            },
            _ = sleep_until(j) => return,
        }
    }
}
