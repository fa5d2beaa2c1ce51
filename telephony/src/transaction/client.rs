//! Client transactions (RFC 3261 17.1): INVITE (timers A, B, D) and non-INVITE (E, F, K).

use std::net::SocketAddr;

use rsip::Method;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use super::{Endpoint, ack_for_non_2xx, key};
use crate::transport::Message;

/// What a client transaction reports to its user.
#[derive(Debug, Clone)]
pub enum TxEvent {
    /// A provisional or final response (2xx retransmissions are reported again so the UA
    /// can re-send its ACK).
    Response(Message),
    /// Timer B or F fired: no final response (the UA treats it as 408).
    Timeout,
    /// The datagram could not be sent (the UA treats it as 503).
    TransportError(String),
}

/// Handle to a running client transaction.
#[derive(Debug)]
pub struct ClientTx {
    pub request: Message,
    pub dest: SocketAddr,
    events: mpsc::UnboundedReceiver<TxEvent>,
}

impl ClientTx {
    /// Next event; `None` once the transaction has terminated.
    pub async fn recv(&mut self) -> Option<TxEvent> {
        self.events.recv().await
    }

    /// Wait for the final response (skipping provisionals), or a timeout/transport error.
    pub async fn final_response(&mut self) -> Result<Message, TxEvent> {
        loop {
            match self.events.recv().await {
                Some(TxEvent::Response(r)) if r.status().unwrap_or(0) >= 200 => return Ok(r),
                Some(TxEvent::Response(_)) => {}
                Some(other) => return Err(other),
                None => return Err(TxEvent::Timeout),
            }
        }
    }
}

pub(super) fn spawn(ep: Endpoint, req: Message, dest: SocketAddr) -> ClientTx {
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    let method = req.method().copied().unwrap_or(Method::Options);
    let k = key(req.branch().unwrap_or(""), &method);
    ep.register_client(k.clone(), in_tx);
    let request = req.clone();
    tokio::spawn(async move {
        if method == Method::Invite {
            run_invite(&ep, req, dest, in_rx, ev_tx).await;
        } else {
            run_non_invite(&ep, req, dest, in_rx, ev_tx).await;
        }
        ep.unregister_client(&k);
    });
    ClientTx {
        request,
        dest,
        events: ev_rx,
    }
}

async fn send(ep: &Endpoint, bytes: &[u8], dest: SocketAddr) -> Result<(), String> {
    ep.shared
        .transport
        .send_raw(bytes, dest)
        .await
        .map_err(|e| e.to_string())
}

async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn run_invite(
    ep: &Endpoint,
    req: Message,
    dest: SocketAddr,
    mut rx: mpsc::UnboundedReceiver<Message>,
    ev: mpsc::UnboundedSender<TxEvent>,
) {
    let t = ep.timers();
    let bytes = req.to_bytes();
    if let Err(e) = send(ep, &bytes, dest).await {
        let _ = ev.send(TxEvent::TransportError(e));
        return;
    }
    // Calling: timer A doubles from T1, timer B = 64·T1. Proceeding (after a 1xx): no
    // retransmissions and no timer B; the TU ends a long ring with CANCEL.
    let start = Instant::now();
    let timer_b = start + t.t64();
    let mut interval = t.t1;
    let mut next_a = Some(start + interval);
    let final_resp = loop {
        tokio::select! {
            m = rx.recv() => {
                let Some(m) = m else { return };
                let code = m.status().unwrap_or(0);
                let _ = ev.send(TxEvent::Response(m.clone()));
                if code >= 200 {
                    break m;
                }
                next_a = None;
            }
            _ = sleep_opt(next_a) => {
                if let Err(e) = send(ep, &bytes, dest).await {
                    let _ = ev.send(TxEvent::TransportError(e));
                    return;
                }
                interval *= 2;
                next_a = next_a.map(|at| at + interval);
            }
            _ = sleep_opt(next_a.map(|_| timer_b)) => {
                let _ = ev.send(TxEvent::Timeout);
                return;
            }
        }
    };
    let code = final_resp.status().unwrap_or(0);
    if (200..300).contains(&code) {
        // Accepted (RFC 6026, timer M = 64·T1): pass on 2xx retransmissions so the UA
        // re-sends its ACK.
        let m = Instant::now() + t.t64();
        loop {
            tokio::select! {
                r = rx.recv() => match r {
                    Some(r) => { let _ = ev.send(TxEvent::Response(r)); }
                    None => return,
                },
                _ = sleep_until(m) => return,
            }
        }
    }
    // Completed: ACK the non-2xx, re-ACK retransmissions until timer D (32 s on UDP).
    let ack = ack_for_non_2xx(&req, &final_resp).to_bytes();
    let _ = send(ep, &ack, dest).await;
    drop(ev);
    // Timer D: 32 s with the default T1 (64·T1 keeps the ratio when tests shrink T1).
    let d = Instant::now() + t.t64();
    loop {
        tokio::select! {
            r = rx.recv() => {
                if r.is_none() { return }
                let _ = send(ep, &ack, dest).await;
            }
            _ = sleep_until(d) => return,
        }
    }
}

async fn run_non_invite(
    ep: &Endpoint,
    req: Message,
    dest: SocketAddr,
    mut rx: mpsc::UnboundedReceiver<Message>,
    ev: mpsc::UnboundedSender<TxEvent>,
) {
    let t = ep.timers();
    let bytes = req.to_bytes();
    if let Err(e) = send(ep, &bytes, dest).await {
        let _ = ev.send(TxEvent::TransportError(e));
        return;
    }
    let start = Instant::now();
    let timer_f = start + t.t64();
    let mut interval = t.t1;
    let mut next_e = start + interval;
    loop {
        tokio::select! {
            m = rx.recv() => {
                let Some(m) = m else { return };
                let code = m.status().unwrap_or(0);
                let _ = ev.send(TxEvent::Response(m));
                if code >= 200 {
                    break;
                }
                // Proceeding: timer E keeps firing at T2.
                interval = t.t2;
                next_e = Instant::now() + interval;
            }
            _ = sleep_until(next_e) => {
                if let Err(e) = send(ep, &bytes, dest).await {
                    let _ = ev.send(TxEvent::TransportError(e));
                    return;
                }
                interval = (interval * 2).min(t.t2);
                next_e += interval;
            }
            _ = sleep_until(timer_f) => {
                let _ = ev.send(TxEvent::Timeout);
                return;
            }
        }
    }
    // Completed: timer K = T4 absorbs retransmitted responses.
    drop(ev);
    let k = Instant::now() + t.t4;
    loop {
        tokio::select! {
            m = rx.recv() => { if m.is_none() { return } }
            _ = sleep_until(k) => return,
        }
    }
}
