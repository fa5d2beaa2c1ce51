//! A minimal softphone made of this crate's own UA: registers with digest, answers every call,
//! sends a tone, counts the RTP it receives, optionally hangs up after a while. For tests and
//! demos (the api's whole-system tests can sign an operator in with it).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::UdpSocket;

use crate::dialog::{LegEvent, UaConfig, UserAgent};
use crate::media::{g711, probe, rtp};
use crate::sdp::{self, Codec, Sdp};
use crate::transaction::{Endpoint, Timers};
use crate::transport::UdpTransport;

/// Error signing the softphone in.
#[derive(Debug, thiserror::Error)]
pub enum SoftphoneError {
    #[error("could not bind: {0}")]
    Bind(#[from] io::Error),
    #[error("REGISTER refused: {code} {reason}")]
    Refused { code: u16, reason: String },
}

/// A registered softphone answering calls in the background.
#[derive(Debug, Clone)]
pub struct Softphone {
    received: Arc<AtomicU64>,
    answered: Arc<AtomicU64>,
    addr: SocketAddr,
}

impl Softphone {
    /// Register `user` at `registrar` (realm `realm`) and answer calls from then on; with
    /// `hang_up_after`, each answered call is hung up by the phone after that long.
    pub async fn start(
        registrar: SocketAddr,
        realm: &str,
        user: &str,
        password: &str,
        hang_up_after: Option<Duration>,
    ) -> Result<Softphone, SoftphoneError> {
        Self::start_with(registrar, realm, user, password, hang_up_after, false).await
    }

    /// Like [`Softphone::start`]; with `latency_probe` every packet it sends carries a
    /// [`crate::media::probe`] stamp (benchmarks).
    pub async fn start_with(
        registrar: SocketAddr,
        realm: &str,
        user: &str,
        password: &str,
        hang_up_after: Option<Duration>,
        latency_probe: bool,
    ) -> Result<Softphone, SoftphoneError> {
        let t = UdpTransport::bind(SocketAddr::new(registrar.ip(), 0))?;
        let (ep, rx) = Endpoint::start(t, Timers::default());
        let (ua, mut calls) = UserAgent::start(ep, rx, UaConfig::default(), None);
        let (code, reason) = ua.register(registrar, realm, user, password, 300).await;
        if code != 200 {
            return Err(SoftphoneError::Refused { code, reason });
        }
        let received = Arc::new(AtomicU64::new(0));
        let answered = Arc::new(AtomicU64::new(0));
        let (rec, ans) = (received.clone(), answered.clone());
        let addr = ua.local_addr();
        let media_ip = registrar.ip();
        tokio::spawn(async move {
            let _ua = ua;
            while let Some(call) = calls.recv().await {
                let Ok(sock) = UdpSocket::bind(SocketAddr::new(media_ip, 0)).await else {
                    call.reject(503, "Service Unavailable", Some("no media port"));
                    continue;
                };
                let port = sock.local_addr().map(|a| a.port()).unwrap_or(0);
                let answer = Sdp::parse(call.sdp()).and_then(|offer| {
                    sdp::answer(&offer, media_ip, port, &[Codec::Pcmu, Codec::Pcma], 1)
                });
                let (answer, neg) = match answer {
                    Ok(a) => a,
                    Err(e) => {
                        call.reject(488, "Not Acceptable Here", Some(&e.to_string()));
                        continue;
                    }
                };
                call.provisional(180, "Ringing", None);
                let Some(leg) = call.answer(answer.into_bytes()) else {
                    continue;
                };
                ans.fetch_add(1, Ordering::Relaxed);
                let remote = SocketAddr::new(neg.remote_addr, neg.remote_port);
                tokio::spawn(talk(
                    sock,
                    remote,
                    neg.codec,
                    leg,
                    hang_up_after,
                    rec.clone(),
                    latency_probe,
                ));
            }
        });
        Ok(Softphone {
            received,
            answered,
            addr,
        })
    }

    /// RTP packets received so far (all calls).
    pub fn rtp_received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    pub fn calls_answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    pub fn sip_addr(&self) -> SocketAddr {
        self.addr
    }
}

async fn talk(
    sock: UdpSocket,
    remote: SocketAddr,
    codec: Codec,
    mut leg: crate::dialog::CallLeg,
    hang_up_after: Option<Duration>,
    received: Arc<AtomicU64>,
    latency_probe: bool,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut buf = [0u8; 2048];
    let mut pkt = Vec::new();
    let samples: Vec<i16> = (0..160)
        .map(|i| ((i as f32 * 0.4).sin() * 5000.0) as i16)
        .collect();
    let mut payload = Vec::new();
    g711::encode(codec, &samples, &mut payload);
    let ssrc: u32 = rand::random();
    let mut seq = 0u16;
    let hang = tokio::time::sleep(hang_up_after.unwrap_or(Duration::from_secs(24 * 3600)));
    tokio::pin!(hang);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if latency_probe {
                    probe::stamp(&mut payload);
                }
                rtp::build(&mut pkt, codec.payload_type(), seq == 0, seq, u32::from(seq) * 160, ssrc, &payload);
                let _ = sock.send_to(&pkt, remote).await;
                seq = seq.wrapping_add(1);
            }
            r = sock.recv_from(&mut buf) => {
                if let Ok((n, _)) = r && rtp::RtpHeader::parse(&buf[..n]).is_some() {
                    received.fetch_add(1, Ordering::Relaxed);
                }
            }
            e = leg.event() => match e {
                Some(LegEvent::RemoteSdp(_)) => {}
                Some(LegEvent::RemoteBye) | Some(LegEvent::AckTimeout) | None => return,
            },
            _ = &mut hang, if hang_up_after.is_some() => {
                leg.bye().await;
                return;
            }
        }
    }
}
