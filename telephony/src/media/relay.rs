//! The two-leg RTP relay: operator ↔ customer, with symmetric latching, one continuous
//! outgoing stream per leg, A-law/μ-law transcoding, hold (silence to the customer) and the
//! stereo recorder (customer left, operator right).
//!
//! The relay's task only places decoded audio on the two recording tracks and, every tick,
//! hands the frames that are due to the recording writer ([`super::recorder`]) without waiting:
//! it never touches the disk, so a slow disk cannot delay relayed audio.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior};

use super::g711;
use super::recorder::{Recorder, WriterTuning};
use super::rtp::{Rewriter, RtpHeader, build};
use super::tone::CngDetector;
use crate::sdp::Codec;
use crate::sync::lock;
use crate::transport::bind_udp;

/// Samples per 20 ms packet at 8 kHz.
pub const FRAME: usize = 160;
/// The recorder writes audio this far behind real time, so packets up to this late still land
/// in their place (by RTP timestamp). Forwarding is not delayed.
const RECORD_DELAY: u64 = 1600; // 200 ms
/// A packet mapped further than this ahead of real time re-anchors its stream.
const HORIZON: u64 = 8000; // 1 s
/// A latched source silent this long may be replaced by a new source address.
const RELATCH_AFTER: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegId {
    Operator,
    Customer,
}

/// Where and how to send to a leg (from its SDP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegConfig {
    pub remote: SocketAddr,
    pub codec: Codec,
    pub dtmf_pt: Option<u8>,
}

/// Packet counters of one relay.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RelayStats {
    pub operator_to_customer: u64,
    pub customer_to_operator: u64,
    /// Not RTP, from an unexpected source, or no peer leg yet.
    pub dropped: u64,
    pub ssrc_changes: u64,
    /// Silence packets sent to the customer while on hold.
    pub hold_packets: u64,
    /// Times a leg's remote address was (re)latched from incoming packets.
    pub latches: u64,
    /// A fax CNG tone was heard from the customer.
    pub fax_tone: bool,
    /// Recording frames (1/8000 s) dropped because the recording writer fell behind (a slow
    /// disk); the recording is then reported incomplete.
    pub recording_dropped: u64,
}

/// What a relay leaves behind when stopped.
#[derive(Debug, Clone)]
pub struct RelayReport {
    pub stats: RelayStats,
    /// The recording and its length, if one was made.
    pub recording: Option<(PathBuf, Duration)>,
    pub recording_error: Option<String>,
}

enum Control {
    SetLeg(LegId, LegConfig),
    Hold(bool),
    Record(PathBuf, WriterTuning, oneshot::Sender<io::Result<Instant>>),
    Stop(oneshot::Sender<RelayReport>, Option<Instant>),
}

/// Handle to a running relay; dropping it stops the relay (without a report).
#[derive(Debug)]
pub struct Relay {
    ctl: mpsc::UnboundedSender<Control>,
    operator: SocketAddr,
    customer: SocketAddr,
    stats: Arc<Mutex<RelayStats>>,
    writer: WriterTuning,
}

struct Leg {
    sock: UdpSocket,
    config: Option<LegConfig>,
    latched: Option<SocketAddr>,
    last_rx: Option<Instant>,
    last_ssrc: Option<u32>,
    out: Rewriter,
    /// Decoded audio waiting for the recorder, placed by RTP timestamp.
    track: Track,
    /// Listens for a fax answering (customer leg only).
    cng: Option<CngDetector>,
}

impl Leg {
    fn dest(&self) -> Option<SocketAddr> {
        self.latched.or(self.config.map(|c| c.remote))
    }
}

impl Relay {
    /// Bind the two RTP sockets on `ip` (ports chosen by the OS) and start relaying.
    pub fn bind(ip: IpAddr) -> io::Result<Relay> {
        Self::bind_with_writer(ip, WriterTuning::default())
    }

    /// [`Relay::bind`] with a tuned recording writer (tests: a small queue, a slow disk).
    pub(crate) fn bind_with_writer(ip: IpAddr, writer: WriterTuning) -> io::Result<Relay> {
        let op = bind_udp(SocketAddr::new(ip, 0))?;
        let cu = bind_udp(SocketAddr::new(ip, 0))?;
        let operator = op.local_addr()?;
        let customer = cu.local_addr()?;
        let (ctl, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(Mutex::new(RelayStats::default()));
        let leg = |sock| Leg {
            sock,
            config: None,
            latched: None,
            last_rx: None,
            last_ssrc: None,
            out: Rewriter::new(rand::random()),
            track: Track::default(),
            cng: None,
        };
        let mut cu_leg = leg(cu);
        cu_leg.cng = Some(CngDetector::default());
        tokio::spawn(run(leg(op), cu_leg, rx, stats.clone()));
        Ok(Relay {
            ctl,
            operator,
            customer,
            stats,
            writer,
        })
    }

    /// Local RTP address to put in the SDP of the given leg.
    pub fn local_addr(&self, leg: LegId) -> SocketAddr {
        match leg {
            LegId::Operator => self.operator,
            LegId::Customer => self.customer,
        }
    }

    pub fn set_leg(&self, leg: LegId, config: LegConfig) {
        let _ = self.ctl.send(Control::SetLeg(leg, config));
    }

    /// Hold: the customer hears silence instead of the operator.
    pub fn hold(&self, on: bool) {
        let _ = self.ctl.send(Control::Hold(on));
    }

    /// Start recording both directions to `path` (stereo WAV); returns when the recording
    /// starts (its frame 0).
    pub async fn record(&self, path: PathBuf) -> io::Result<Instant> {
        let (tx, rx) = oneshot::channel();
        let _ = self
            .ctl
            .send(Control::Record(path, self.writer.clone(), tx));
        rx.await
            .unwrap_or_else(|_| Err(io::Error::other("relay stopped")))
    }

    pub fn stats(&self) -> RelayStats {
        *lock(&self.stats)
    }

    /// Stop relaying, finish the recording (as long as until now) and report.
    pub async fn stop(self) -> RelayReport {
        self.stop_inner(None).await
    }

    /// Stop, cutting the recording at `end` (the moment the talk ended), so that its length
    /// is exactly the talk time even when the relay task is busy.
    pub async fn stop_at(self, end: Instant) -> RelayReport {
        self.stop_inner(Some(end)).await
    }

    async fn stop_inner(self, end: Option<Instant>) -> RelayReport {
        let (tx, rx) = oneshot::channel();
        let _ = self.ctl.send(Control::Stop(tx, end));
        rx.await.unwrap_or_else(|_| RelayReport {
            stats: *lock(&self.stats),
            recording: None,
            recording_error: Some("relay task ended before stop".into()),
        })
    }
}

async fn run(
    mut op: Leg,
    mut cu: Leg,
    mut ctl: mpsc::UnboundedReceiver<Control>,
    stats: Arc<Mutex<RelayStats>>,
) {
    let mut buf_op = vec![0u8; 2048];
    let mut buf_cu = vec![0u8; 2048];
    let mut scratch = Vec::with_capacity(2048);
    let mut hold = false;
    let mut recording: Option<Recorder> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    loop {
        let ticking = hold || recording.is_some();
        tokio::select! {
            r = op.sock.recv_from(&mut buf_op) => {
                if let Ok((n, src)) = r {
                    let rec = recording.as_ref().map(Recorder::position);
                    let forward = !hold;
                    relay_packet(&buf_op[..n], src, &mut op, &mut cu, forward, rec, &mut scratch, &stats, LegId::Operator).await;
                }
            }
            r = cu.sock.recv_from(&mut buf_cu) => {
                if let Ok((n, src)) = r {
                    let rec = recording.as_ref().map(Recorder::position);
                    relay_packet(&buf_cu[..n], src, &mut cu, &mut op, true, rec, &mut scratch, &stats, LegId::Customer).await;
                }
            }
            _ = tick.tick(), if ticking => {
                if hold && let (Some(cfg), Some(dest)) = (cu.config, cu.dest()) {
                    let payload = [g711::silence_byte(cfg.codec); FRAME];
                    let (seq, ts) = cu.out.inject(FRAME as u32);
                    build(&mut scratch, cfg.codec.payload_type(), false, seq, ts, cu.out.ssrc, &payload);
                    let _ = cu.sock.send_to(&scratch, dest).await;
                    lock(&stats).hold_packets += 1;
                }
                if let Some(rec) = recording.as_mut() {
                    let due = rec.position().saturating_sub(RECORD_DELAY);
                    let dropped = flush_to(rec, &mut cu, &mut op, due);
                    if dropped > 0 {
                        lock(&stats).recording_dropped += dropped;
                    }
                }
            }
            c = ctl.recv() => match c {
                Some(Control::SetLeg(LegId::Operator, cfg)) => op.config = Some(cfg),
                Some(Control::SetLeg(LegId::Customer, cfg)) => cu.config = Some(cfg),
                Some(Control::Hold(on)) => {
                    if on && !ticking { tick.reset(); }
                    hold = on;
                }
                Some(Control::Record(path, tuning, reply)) => {
                    // The writer creates the file on its own thread and answers `reply`.
                    if !ticking { tick.reset(); }
                    op.track = Track::default();
                    cu.track = Track::default();
                    recording = Some(Recorder::start(path, tuning, reply));
                }
                Some(Control::Stop(reply, end)) => {
                    let mut report = RelayReport {
                        stats: *lock(&stats),
                        recording: None,
                        recording_error: None,
                    };
                    if let Some(rec) = recording.take() {
                        // Exactly as long as the talk: top up with what is queued (or silence),
                        // or cut what the ticks wrote after `end`.
                        let want = rec.frames_until(end.unwrap_or_else(Instant::now));
                        let have = rec.frames();
                        let tail = (want > have).then(|| {
                            let n = (want - have) as usize;
                            (cu.track.take(n), op.track.take(n))
                        });
                        (report.recording, report.recording_error) = rec.finish(want, tail).await;
                    }
                    let _ = reply.send(report);
                    return;
                }
                None => return,
            }
        }
    }
}

/// Hand both tracks up to file position `target` (frames) to the writer, without waiting;
/// returns the frames dropped because the writer is too far behind.
fn flush_to(rec: &mut Recorder, cu: &mut Leg, op: &mut Leg, target: u64) -> u64 {
    let have = rec.frames();
    if target <= have {
        return 0;
    }
    let n = (target - have) as usize;
    let left = cu.track.take(n);
    let right = op.track.take(n);
    rec.push(left, right)
}

/// One channel of the recording: samples are placed at the file position their RTP timestamp
/// maps to, so a lost packet leaves silence, reordered and late packets (up to
/// [`RECORD_DELAY`]) land in their place, and the two channels stay aligned.
#[derive(Debug, Default)]
struct Track {
    /// Samples from file position `base` on, not yet written.
    buf: VecDeque<i16>,
    base: u64,
    /// (SSRC, RTP timestamp, file position) of the stream's anchor.
    anchor: Option<(u32, u32, u64)>,
    /// Consecutive packets that came too late (a slow sender clock re-anchors after a few).
    late_run: u32,
    late: u64,
}

impl Track {
    fn put(&mut self, now: u64, ssrc: u32, ts: u32, samples: &[i16]) {
        let mapped = match self.anchor {
            Some((s, ts0, p0)) if s == ssrc => {
                Some(p0 as i64 + i64::from(ts.wrapping_sub(ts0) as i32))
            }
            _ => None,
        };
        let pos = match mapped {
            Some(p) if p >= self.base as i64 && p <= (now + HORIZON) as i64 => {
                self.late_run = 0;
                p as u64
            }
            Some(p) if p < self.base as i64 && self.late_run < 5 => {
                self.late_run += 1;
                self.late += 1;
                return;
            }
            _ => {
                // New stream, a timestamp jump, or a drifting clock: this packet is "now".
                let p = now.max(self.base);
                self.anchor = Some((ssrc, ts, p));
                self.late_run = 0;
                p
            }
        };
        let off = (pos - self.base) as usize;
        if self.buf.len() < off + samples.len() {
            self.buf.resize(off + samples.len(), 0);
        }
        for (slot, s) in self.buf.range_mut(off..off + samples.len()).zip(samples) {
            *slot = *s;
        }
    }

    fn take(&mut self, n: usize) -> Vec<i16> {
        let k = n.min(self.buf.len());
        let mut v: Vec<i16> = self.buf.drain(..k).collect();
        v.resize(n, 0);
        self.base += n as u64;
        v
    }
}

#[allow(clippy::too_many_arguments)]
async fn relay_packet(
    pkt: &[u8],
    src: SocketAddr,
    from: &mut Leg,
    to: &mut Leg,
    forward: bool,
    record: Option<u64>,
    scratch: &mut Vec<u8>,
    stats: &Mutex<RelayStats>,
    dir: LegId,
) {
    let Some(h) = RtpHeader::parse(pkt) else {
        lock(stats).dropped += 1;
        return;
    };
    let now = Instant::now();
    // Symmetric latching: send back to where the leg's packets really come from.
    match from.latched {
        Some(l) if l == src => {}
        Some(_) if from.last_rx.is_some_and(|t| now - t < RELATCH_AFTER) => {
            lock(stats).dropped += 1;
            return;
        }
        _ => {
            from.latched = Some(src);
            lock(stats).latches += 1;
        }
    }
    from.last_rx = Some(now);
    if from.last_ssrc.is_some_and(|s| s != h.ssrc) {
        lock(stats).ssrc_changes += 1;
    }
    from.last_ssrc = Some(h.ssrc);
    let Some(from_cfg) = from.config else {
        lock(stats).dropped += 1;
        return;
    };
    let payload = &pkt[h.payload_offset..h.payload_offset + h.payload_len];
    let is_audio = h.payload_type == from_cfg.codec.payload_type();
    let detecting = from.cng.as_ref().is_some_and(|d| !d.detected());
    if (record.is_some() || detecting) && is_audio {
        let mut samples = Vec::with_capacity(payload.len());
        g711::decode(from_cfg.codec, payload, &mut samples);
        if detecting
            && let Some(d) = from.cng.as_mut()
            && d.frame(&samples)
        {
            lock(stats).fax_tone = true;
        }
        if let Some(now) = record {
            from.track.put(now, h.ssrc, h.timestamp, &samples);
        }
    }
    if !forward {
        return;
    }
    let (Some(to_cfg), Some(dest)) = (to.config, to.dest()) else {
        lock(stats).dropped += 1;
        return;
    };
    let mut body = payload.to_vec();
    let pt = if is_audio {
        g711::transcode(from_cfg.codec, to_cfg.codec, &mut body);
        to_cfg.codec.payload_type()
    } else if Some(h.payload_type) == from_cfg.dtmf_pt && to_cfg.dtmf_pt.is_some() {
        to_cfg.dtmf_pt.unwrap_or(h.payload_type)
    } else {
        lock(stats).dropped += 1;
        return;
    };
    let samples = if is_audio {
        body.len() as u32
    } else {
        FRAME as u32
    };
    let (seq, ts, marker) = to.out.rewrite(h.ssrc, h.seq, h.timestamp, samples);
    build(scratch, pt, h.marker || marker, seq, ts, to.out.ssrc, &body);
    if to.sock.send_to(scratch, dest).await.is_ok() {
        let mut s = lock(stats);
        match dir {
            LegId::Operator => s.operator_to_customer += 1,
            LegId::Customer => s.customer_to_operator += 1,
        }
    }
}

#[cfg(test)]
mod tests;
