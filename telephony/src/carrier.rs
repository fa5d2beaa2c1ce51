//! A built-in test carrier on loopback: a real SIP UAS with RTP that answers calls with
//! configurable odds (answer, busy, no answer, not-in-service announcement, fax tone) after a
//! configurable delay, and plays generated speech-like audio. `kaden serve` starts it when no
//! trunk is configured, so the product can be tried on one machine.

use std::collections::HashMap;
use std::f32::consts::TAU;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tokio::time::MissedTickBehavior;

use crate::dialog::{IncomingCall, LegEvent, UaConfig, UserAgent};
use crate::media::{FRAME, g711, probe, rtp};
use crate::sdp::{self, Codec, Sdp};
use crate::sync::lock;
use crate::transaction::{Endpoint, Timers};
use crate::transport::{UdpTransport, addr_uri, uri_user};

/// What the carrier does with one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Answer,
    Busy,
    NoAnswer,
    /// 183 with an announcement, then 404.
    NotInService,
    /// Answers and plays a CNG fax tone.
    Fax,
}

/// Relative weights of the behaviours (all zero = always answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Odds {
    pub answer: u32,
    pub busy: u32,
    pub no_answer: u32,
    pub not_in_service: u32,
    pub fax: u32,
}

impl Default for Odds {
    fn default() -> Self {
        Odds {
            answer: 50,
            busy: 15,
            no_answer: 25,
            not_in_service: 5,
            fax: 5,
        }
    }
}

impl Odds {
    pub fn always(b: Behaviour) -> Odds {
        let mut o = Odds {
            answer: 0,
            busy: 0,
            no_answer: 0,
            not_in_service: 0,
            fax: 0,
        };
        match b {
            Behaviour::Answer => o.answer = 1,
            Behaviour::Busy => o.busy = 1,
            Behaviour::NoAnswer => o.no_answer = 1,
            Behaviour::NotInService => o.not_in_service = 1,
            Behaviour::Fax => o.fax = 1,
        }
        o
    }

    fn pick(&self, roll: u32) -> Behaviour {
        let table = [
            (self.answer, Behaviour::Answer),
            (self.busy, Behaviour::Busy),
            (self.no_answer, Behaviour::NoAnswer),
            (self.not_in_service, Behaviour::NotInService),
            (self.fax, Behaviour::Fax),
        ];
        let total: u32 = table.iter().map(|(w, _)| w).sum();
        if total == 0 {
            return Behaviour::Answer;
        }
        let mut r = roll % total;
        for (w, b) in table {
            if r < w {
                return b;
            }
            r -= w;
        }
        Behaviour::Answer
    }
}

#[derive(Debug, Clone)]
pub struct CarrierConfig {
    pub bind: SocketAddr,
    pub media_ip: IpAddr,
    pub odds: Odds,
    /// Ringing before answering (or before busy / not-in-service).
    pub answer_delay: Duration,
    /// A "no answer" call gives up with 480 after this long (unless cancelled first).
    pub no_answer_limit: Duration,
    /// Hang up answered calls after this long (`None`: wait for the caller's BYE).
    pub talk_limit: Option<Duration>,
    /// Behaviour for particular dialled numbers, overriding the odds.
    pub numbers: HashMap<String, Behaviour>,
}

impl Default for CarrierConfig {
    fn default() -> Self {
        CarrierConfig {
            bind: "127.0.0.1:0".parse().expect("literal address"),
            media_ip: "127.0.0.1".parse().expect("literal address"),
            odds: Odds::default(),
            answer_delay: Duration::from_secs(3),
            no_answer_limit: Duration::from_secs(120),
            talk_limit: None,
            numbers: HashMap::new(),
        }
    }
}

/// Counters of what the carrier did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CarrierStats {
    pub invites: u64,
    pub answered: u64,
    pub busy: u64,
    pub no_answer: u64,
    pub not_in_service: u64,
    pub fax: u64,
    pub cancelled: u64,
    /// re-INVITEs putting the call on hold (`a=sendonly` / `a=inactive`).
    pub holds: u64,
    pub rtp_sent: u64,
    pub rtp_received: u64,
}

type Latencies = Arc<Mutex<Vec<u32>>>;
const MAX_LATENCY_SAMPLES: usize = 2_000_000;

/// A running test carrier.
#[derive(Debug, Clone)]
pub struct TestCarrier {
    addr: SocketAddr,
    stats: Arc<Mutex<CarrierStats>>,
    latencies: Latencies,
}

impl TestCarrier {
    pub fn start(config: CarrierConfig) -> io::Result<TestCarrier> {
        let transport = UdpTransport::bind(config.bind)?;
        let (ep, incoming) = Endpoint::start(transport, Timers::default());
        let addr = ep.local_addr();
        let (ua, mut calls) = UserAgent::start(
            ep,
            incoming,
            UaConfig {
                domain: "carrier.invalid".into(),
                user_agent: "Kaden test carrier".into(),
            },
            None,
        );
        let stats = Arc::new(Mutex::new(CarrierStats::default()));
        let latencies: Latencies = Arc::new(Mutex::new(Vec::new()));
        let st = stats.clone();
        let lat = latencies.clone();
        let config = Arc::new(config);
        tokio::spawn(async move {
            // Keep the UA alive as long as calls arrive.
            let _ua = ua;
            while let Some(call) = calls.recv().await {
                let st = st.clone();
                let lat = lat.clone();
                let config = config.clone();
                tokio::spawn(async move { handle_call(call, &config, &st, &lat).await });
            }
        });
        Ok(TestCarrier {
            addr,
            stats,
            latencies,
        })
    }

    /// SIP address to use as the trunk.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stats(&self) -> CarrierStats {
        *lock(&self.stats)
    }

    /// Ages (µs) of probe-stamped packets received so far (see [`crate::media::probe`]).
    pub fn latency_samples(&self) -> Vec<u32> {
        lock(&self.latencies).clone()
    }
}

async fn handle_call(
    mut call: IncomingCall,
    config: &CarrierConfig,
    stats: &Arc<Mutex<CarrierStats>>,
    latencies: &Latencies,
) {
    let number = uri_user(call.request.uri().unwrap_or(""))
        .or_else(|| call.request.get("To").and_then(|t| uri_user(addr_uri(t))))
        .unwrap_or("")
        .to_string();
    let behaviour = config
        .numbers
        .get(&number)
        .copied()
        .unwrap_or_else(|| config.odds.pick(rand::random()));
    lock(stats).invites += 1;

    let offer = match Sdp::parse(call.sdp()) {
        Ok(o) => o,
        Err(e) => {
            call.reject(488, "Not Acceptable Here", Some(&e.to_string()));
            return;
        }
    };
    let sock = match crate::transport::bind_udp(SocketAddr::new(config.media_ip, 0)) {
        Ok(s) => s,
        Err(_) => {
            call.reject(503, "Service Unavailable", Some("no media port"));
            return;
        }
    };
    let port = sock.local_addr().map(|a| a.port()).unwrap_or(0);
    let (answer, neg) = match sdp::answer(
        &offer,
        config.media_ip,
        port,
        &[Codec::Pcmu, Codec::Pcma],
        1,
    ) {
        Ok(a) => a,
        Err(e) => {
            call.reject(488, "Not Acceptable Here", Some(&e.to_string()));
            return;
        }
    };
    let remote = SocketAddr::new(neg.remote_addr, neg.remote_port);
    let sock = Arc::new(sock);

    call.provisional(180, "Ringing", None);
    let delay = config.answer_delay;
    match behaviour {
        Behaviour::Busy => {
            if wait_or_cancel(&mut call, delay).await {
                lock(stats).cancelled += 1;
                return;
            }
            lock(stats).busy += 1;
            call.reject(486, "Busy Here", None);
        }
        Behaviour::NoAnswer => {
            lock(stats).no_answer += 1;
            if wait_or_cancel(&mut call, config.no_answer_limit).await {
                lock(stats).cancelled += 1;
                return;
            }
            call.reject(480, "Temporarily Unavailable", None);
        }
        Behaviour::NotInService => {
            lock(stats).not_in_service += 1;
            call.provisional(183, "Session Progress", Some(answer.as_bytes()));
            let (stop_tx, stop_rx) = oneshot::channel();
            let player = tokio::spawn(play(
                sock.clone(),
                remote,
                neg.codec,
                Sound::Announcement,
                stop_rx,
                stats.clone(),
                latencies.clone(),
            ));
            let cancelled = wait_or_cancel(&mut call, Duration::from_secs(4)).await;
            let _ = stop_tx.send(());
            let _ = player.await;
            if cancelled {
                lock(stats).cancelled += 1;
                return;
            }
            call.reject(404, "Not Found", Some("this number is not in service"));
        }
        Behaviour::Answer | Behaviour::Fax => {
            if wait_or_cancel(&mut call, delay).await {
                lock(stats).cancelled += 1;
                return;
            }
            {
                let mut s = lock(stats);
                s.answered += 1;
                if behaviour == Behaviour::Fax {
                    s.fax += 1;
                }
            }
            let Some(mut leg) = call.answer(answer.into_bytes()) else {
                return;
            };
            let sound = if behaviour == Behaviour::Fax {
                Sound::FaxTone
            } else {
                Sound::Speech
            };
            let (stop_tx, stop_rx) = oneshot::channel();
            let player = tokio::spawn(play(
                sock.clone(),
                remote,
                neg.codec,
                sound,
                stop_rx,
                stats.clone(),
                latencies.clone(),
            ));
            let talk = config.talk_limit.unwrap_or(Duration::from_secs(24 * 3600));
            let hang_up = tokio::time::sleep(talk);
            tokio::pin!(hang_up);
            loop {
                tokio::select! {
                    e = leg.event() => match e {
                        // A re-INVITE (hold) was answered by the leg; keep talking.
                        Some(LegEvent::RemoteSdp(body)) => {
                            let held = Sdp::parse(&body).is_ok_and(|s| {
                                s.media.iter().any(|m| matches!(m.direction, sdp::Direction::SendOnly | sdp::Direction::Inactive))
                            });
                            if held {
                                lock(stats).holds += 1;
                            }
                        }
                        Some(LegEvent::AckTimeout) => { leg.bye().await; break }
                        Some(LegEvent::RemoteBye) | None => break,
                    },
                    _ = &mut hang_up => { leg.bye().await; break }
                }
            }
            let _ = stop_tx.send(());
            let _ = player.await;
        }
    }
}

/// True if the caller cancelled within `d`.
async fn wait_or_cancel(call: &mut IncomingCall, d: Duration) -> bool {
    tokio::select! {
        _ = call.cancelled() => true,
        _ = tokio::time::sleep(d) => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sound {
    Speech,
    Announcement,
    FaxTone,
}

/// Generates speech-like audio: voiced syllables (a glottal pitch with a few harmonics and a
/// moving formant-like emphasis) of 120–300 ms, short gaps between them and longer pauses
/// between phrases. Deterministic for a seed; no recordings needed.
#[derive(Debug, Clone)]
pub struct SpeechSynth {
    rng: u64,
    phase: f32,
    /// Samples left in the current syllable or gap.
    left: u32,
    voiced: bool,
    pitch: f32,
    formant: f32,
    len: u32,
    syllables_in_phrase: u32,
}

impl SpeechSynth {
    pub fn new(seed: u64) -> Self {
        SpeechSynth {
            rng: seed | 1,
            phase: 0.0,
            left: 0,
            voiced: false,
            pitch: 150.0,
            formant: 2.0,
            len: 1,
            syllables_in_phrase: 0,
        }
    }

    fn rand(&mut self) -> u32 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }

    fn next_segment(&mut self) {
        if self.voiced {
            self.voiced = false;
            self.left = if self.syllables_in_phrase == 0 {
                4000 + self.rand() % 2400 // phrase pause: 0.5–0.8 s
            } else {
                400 + self.rand() % 800 // 50–150 ms
            };
        } else {
            self.voiced = true;
            if self.syllables_in_phrase == 0 {
                self.syllables_in_phrase = 3 + self.rand() % 6;
            }
            self.syllables_in_phrase -= 1;
            self.left = 960 + self.rand() % 1440; // 120–300 ms
            self.len = self.left;
            self.pitch = 110.0 + (self.rand() % 110) as f32;
            self.formant = 2.0 + (self.rand() % 5) as f32;
        }
    }

    /// Fill one frame of linear samples.
    pub fn fill(&mut self, out: &mut [i16]) {
        for s in out.iter_mut() {
            if self.left == 0 {
                self.next_segment();
            }
            self.left -= 1;
            if !self.voiced {
                *s = ((self.rand() % 64) as i32 - 32) as i16; // room noise
                continue;
            }
            let pos = 1.0 - self.left as f32 / self.len as f32;
            let env = (pos * std::f32::consts::PI).sin();
            self.phase = (self.phase + self.pitch / 8000.0).fract();
            let mut v = 0.0;
            for h in 1..=5 {
                let emphasis = 1.0 / (1.0 + (h as f32 - self.formant).abs());
                v += (TAU * self.phase * h as f32).sin() * emphasis;
            }
            *s = (v * env * 4000.0) as i16;
        }
    }
}

fn tone(phase: &mut f32, freq: f32, on: bool, out: &mut [i16]) {
    for s in out.iter_mut() {
        *phase = (*phase + freq / 8000.0).fract();
        *s = if on {
            ((TAU * *phase).sin() * 8000.0) as i16
        } else {
            0
        };
    }
}

/// Send 20 ms RTP frames of `sound` to `remote` until stopped, and count what comes back.
async fn play(
    sock: Arc<UdpSocket>,
    remote: SocketAddr,
    codec: Codec,
    sound: Sound,
    mut stop: oneshot::Receiver<()>,
    stats: Arc<Mutex<CarrierStats>>,
    latencies: Latencies,
) {
    let mut synth = SpeechSynth::new(rand::random());
    let ssrc: u32 = rand::random();
    let mut seq: u16 = rand::random();
    let mut ts: u32 = rand::random();
    let mut phase = 0.0f32;
    let mut n: u64 = 0;
    let mut samples = [0i16; FRAME];
    let mut payload = Vec::with_capacity(FRAME);
    let mut pkt = Vec::with_capacity(FRAME + 12);
    let mut buf = [0u8; 2048];
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            r = sock.recv_from(&mut buf) => {
                if let Ok((len, _)) = r && let Some(h) = rtp::RtpHeader::parse(&buf[..len]) {
                    lock(&stats).rtp_received += 1;
                    let payload = &buf[h.payload_offset..h.payload_offset + h.payload_len];
                    if let Some(age) = probe::age(payload) {
                        let mut l = lock(&latencies);
                        if l.len() < MAX_LATENCY_SAMPLES {
                            l.push(age.as_micros().min(u128::from(u32::MAX)) as u32);
                        }
                    }
                }
            }
            _ = tick.tick() => {
                match sound {
                    Sound::Speech | Sound::Announcement => synth.fill(&mut samples),
                    // CNG: 1100 Hz, 0.5 s on, 3 s off.
                    Sound::FaxTone => tone(&mut phase, 1100.0, n % 175 < 25, &mut samples),
                }
                payload.clear();
                g711::encode(codec, &samples, &mut payload);
                rtp::build(&mut pkt, codec.payload_type(), n == 0, seq, ts, ssrc, &payload);
                if sock.send_to(&pkt, remote).await.is_ok() {
                    lock(&stats).rtp_sent += 1;
                }
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(FRAME as u32);
                n += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odds_pick_by_weight() {
        let o = Odds::always(Behaviour::Busy);
        assert!((0..100).all(|r| o.pick(r) == Behaviour::Busy));
        let mixed = Odds {
            answer: 1,
            busy: 1,
            no_answer: 0,
            not_in_service: 0,
            fax: 2,
        };
        assert_eq!(mixed.pick(0), Behaviour::Answer);
        assert_eq!(mixed.pick(1), Behaviour::Busy);
        assert_eq!(mixed.pick(2), Behaviour::Fax);
        assert_eq!(mixed.pick(3), Behaviour::Fax);
    }

    #[test]
    fn speech_has_syllables_and_pauses() {
        let mut s = SpeechSynth::new(7);
        let mut frame = [0i16; FRAME];
        let mut loud = 0;
        let mut quiet = 0;
        for _ in 0..500 {
            s.fill(&mut frame);
            let energy: i64 = frame.iter().map(|x| i64::from(*x).abs()).sum::<i64>() / FRAME as i64;
            if energy > 500 {
                loud += 1
            } else if energy < 40 {
                quiet += 1
            }
        }
        assert!(loud > 100, "voiced frames: {loud}");
        assert!(quiet > 50, "pauses: {quiet}");
    }
}
