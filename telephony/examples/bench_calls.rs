//! Concurrent bridged and recorded calls: Kaden's CPU while N calls are held, and whether every
//! recording is complete.
//!
//! ```text
//! cargo run --release -p kaden-telephony --example bench_calls -- [calls] [hold_seconds] [no-direct]
//! ```
//!
//! The far ends (the built-in test carrier playing speech-like audio and one softphone sending a
//! tone on every call) run in a child process, so the CPU figure is Kaden's alone: SIP, the
//! relay (both directions, μ-law both sides) and the WAV recorder.
//!
//! Latency: the softphone stamps every packet ([`kaden_telephony::media::probe`]) and the
//! carrier reads the stamp, so "phone → Kaden relay → carrier" is the whole path between two
//! processes, scheduling included. To get the relay's ADDED latency the far-end process also
//! runs, during the same hold and at the same time, one direct pair per call: a sender set up
//! like the softphone's media (tokio socket, stamped packet every 20 ms) sending straight to a
//! receiver set up like the carrier's (`bind_udp`, reads the stamp, sends its own 20 ms packets
//! back), no Kaden in between. Added latency = through-Kaden percentile − direct percentile,
//! both over the hold only. `no-direct` leaves the direct pairs out (the far end then has half
//! the packets to handle, as in runs before 2026-12-01).

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kaden_telephony::auth::{Algorithm, ha1};
use kaden_telephony::carrier::{Behaviour, CarrierConfig, Odds, TestCarrier};
use kaden_telephony::dialer::{
    AllowAll, CallControl, CallEvent, CallRequest, TelephonyConfig, TrunkConfig,
};
use kaden_telephony::media::{g711, probe, rtp};
use kaden_telephony::registrar::SipCredentials;
use kaden_telephony::sdp::Codec;
use kaden_telephony::softphone::Softphone;
use kaden_telephony::transaction::Timers;
use kaden_telephony::transport::bind_udp;
use tokio::net::UdpSocket;
use tokio::sync::watch;

struct Users;
impl SipCredentials for Users {
    fn ha1(&self, user: &str, realm: &str, algorithm: Algorithm) -> Option<String> {
        Some(ha1(algorithm, user, realm, "pw"))
    }
}

/// CPU time (user + system) of this process.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the ")" of the command name: state is field 3; utime/stime are 14/15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10) // USER_HZ = 100 on Linux
}

/// Latency samples in µs.
type Samples = Arc<Mutex<Vec<u32>>>;

/// `n` p50 p99 max (µs) of `samples`.
fn percentiles(mut l: Vec<u32>) -> String {
    l.sort_unstable();
    let pct = |p: usize| {
        l.get((l.len() * p / 100).min(l.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    format!(
        "{} {} {} {}",
        l.len(),
        pct(50),
        pct(99),
        l.last().copied().unwrap_or(0)
    )
}

/// One direct call without Kaden: a phone-like sender (plain tokio socket, a stamped μ-law
/// packet every 20 ms, counting what comes back) and a carrier-like receiver (`bind_udp`
/// socket, reads stamps, sends its own packet every 20 ms with missed ticks skipped).
async fn direct_pair(samples: Samples, mut stop: watch::Receiver<bool>) -> std::io::Result<()> {
    let phone = UdpSocket::bind("127.0.0.1:0").await?;
    let carrier = bind_udp("127.0.0.1:0".parse().expect("literal"))?;
    let (phone_addr, carrier_addr) = (phone.local_addr()?, carrier.local_addr()?);
    let samples_pcm: Vec<i16> = (0..160)
        .map(|i| ((i as f32 * 0.4).sin() * 5000.0) as i16)
        .collect();
    let mut tone = Vec::new();
    g711::encode(Codec::Pcmu, &samples_pcm, &mut tone);
    let mut stop2 = stop.clone();
    let sender = async move {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        let (mut buf, mut pkt, mut payload) = ([0u8; 2048], Vec::new(), tone.clone());
        let (ssrc, mut seq) = (rand::random::<u32>(), 0u16);
        loop {
            tokio::select! {
                _ = stop2.changed() => return,
                _ = tick.tick() => {
                    probe::stamp(&mut payload);
                    rtp::build(&mut pkt, 0, seq == 0, seq, u32::from(seq) * 160, ssrc, &payload);
                    let _ = phone.send_to(&pkt, carrier_addr).await;
                    seq = seq.wrapping_add(1);
                }
                r = phone.recv_from(&mut buf) => {
                    let _ = r.map(|(n, _)| rtp::RtpHeader::parse(&buf[..n]));
                }
            }
        }
    };
    let receiver = async move {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let (mut buf, mut pkt) = ([0u8; 2048], Vec::new());
        let (ssrc, mut seq) = (rand::random::<u32>(), 0u16);
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                r = carrier.recv_from(&mut buf) => {
                    if let Ok((len, _)) = r && let Some(h) = rtp::RtpHeader::parse(&buf[..len]) {
                        let payload = &buf[h.payload_offset..h.payload_offset + h.payload_len];
                        if let Some(age) = probe::age(payload) {
                            samples.lock().unwrap().push(age.as_micros().min(u128::from(u32::MAX)) as u32);
                        }
                    }
                }
                _ = tick.tick() => {
                    rtp::build(&mut pkt, 0, seq == 0, seq, u32::from(seq) * 160, ssrc, &[0xFF; 160]);
                    let _ = carrier.send_to(&pkt, phone_addr).await;
                    seq = seq.wrapping_add(1);
                }
            }
        }
    };
    tokio::join!(sender, receiver);
    Ok(())
}

fn far_end() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let carrier = TestCarrier::start(CarrierConfig {
            odds: Odds::always(Behaviour::Answer),
            answer_delay: Duration::from_millis(100),
            ..CarrierConfig::default()
        })
        .expect("carrier");
        println!("{}", carrier.addr());
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .expect("kaden address");
        let kaden: SocketAddr = line.trim().parse().expect("address");
        let _phone = Softphone::start_with(kaden, "kaden", "op1", "pw", None, true)
            .await
            .expect("softphone");
        println!("ready");
        // "direct N" → start N direct pairs and the measurement window; "report" → latency
        // percentiles over the window, through Kaden then direct; EOF → exit.
        let direct: Samples = Arc::default();
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut window_start = 0;
        loop {
            let line = tokio::task::spawn_blocking(|| {
                let mut s = String::new();
                std::io::stdin().read_line(&mut s).map(|n| (n, s))
            })
            .await
            .expect("stdin");
            match line {
                Ok((n, s)) if n > 0 && s.starts_with("direct ") => {
                    window_start = carrier.latency_samples().len();
                    let pairs: usize = s["direct ".len()..].trim().parse().unwrap_or(0);
                    for _ in 0..pairs {
                        let (samples, stop) = (direct.clone(), stop_rx.clone());
                        tokio::spawn(async move {
                            if let Err(e) = direct_pair(samples, stop).await {
                                eprintln!("direct pair: {e}");
                            }
                        });
                    }
                }
                Ok((n, s)) if n > 0 && s.trim() == "report" => {
                    let _ = stop_tx.send(true);
                    let through = carrier.latency_samples().split_off(window_start);
                    let direct = std::mem::take(&mut *direct.lock().unwrap());
                    println!("{} {}", percentiles(through), percentiles(direct));
                }
                Ok((n, _)) if n > 0 => {}
                _ => break,
            }
        }
    });
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--far-end") {
        far_end();
        return;
    }
    let calls: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(200);
    let hold: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(60);
    let with_direct = args.get(2).map(String::as_str) != Some("no-direct");

    let mut child = Command::new(std::env::current_exe().expect("exe"))
        .arg("--far-end")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("far end starts");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("carrier address");
    let carrier: SocketAddr = line.trim().parse().expect("address");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = std::env::temp_dir().join(format!("kaden-bench-calls-{}", std::process::id()));
    let (cc, mut events) = rt.block_on(async {
        CallControl::start(
            TelephonyConfig {
                sip_bind: "127.0.0.1:0".parse().expect("literal"),
                media_ip: "127.0.0.1".parse().expect("literal"),
                trunk: TrunkConfig {
                    addr: carrier,
                    domain: "127.0.0.1".into(),
                    credentials: None,
                },
                recordings_dir: dir.clone(),
                licensed_lines: calls as u32,
                realm: "kaden".into(),
                algorithm: Algorithm::Md5,
                operator_ring: Duration::from_secs(10),
                timers: Timers::default(),
            },
            Arc::new(AllowAll),
            Arc::new(Users),
        )
        .expect("kaden starts")
    });
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{}", cc.sip_addr()).expect("tell far end");
    line.clear();
    out.read_line(&mut line).expect("far end ready");

    rt.block_on(async {
        let t0 = Instant::now();
        for i in 0..calls {
            cc.place_call(CallRequest {
                call_ref: format!("c{i}"),
                operator: "op1".into(),
                number: format!("03{:08}", i),
                caller_number: Some("0501234567".into()),
                campaign: None,
                ring_timeout: Duration::from_secs(30),
                record: true,
            })
            .expect("call placed");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut answered = 0;
        let mut failed = 0;
        while answered + failed < calls {
            match events.recv().await {
                Some(CallEvent::Answered { .. }) => answered += 1,
                Some(CallEvent::Failed { code, reason, .. }) => {
                    failed += 1;
                    eprintln!("failed: {code} {reason}");
                }
                Some(_) => {}
                None => break,
            }
        }
        println!(
            "{answered} of {calls} answered in {:.1} s ({failed} failed)",
            t0.elapsed().as_secs_f64()
        );
        writeln!(stdin, "direct {}", if with_direct { answered } else { 0 })
            .expect("tell far end");
        let cpu0 = cpu_time();
        let w0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(hold)).await;
        let cpu = cpu_time() - cpu0;
        let wall = w0.elapsed();
        writeln!(stdin, "report").expect("ask far end");
        let mut report = String::new();
        out.read_line(&mut report).expect("latency report");
        let f: Vec<f64> = report.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        let ms = |us: f64| us / 1000.0;
        if let [n, p50, p99, max, dn, d50, d99, dmax] = f[..] {
            println!(
                "phone -> Kaden relay -> carrier, {n} packets: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                ms(p50), ms(p99), ms(max)
            );
            if dn > 0.0 {
                println!(
                    "direct phone -> carrier (no Kaden, same process, same time), {dn} packets: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                    ms(d50), ms(d99), ms(dmax)
                );
                println!(
                    "relay added latency (through Kaden - direct): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                    ms(p50 - d50), ms(p99 - d99), ms(max - dmax)
                );
            }
        }
        for i in 0..calls {
            cc.hang_up(&format!("c{i}"));
        }
        let mut talk = std::collections::HashMap::new();
        let mut recs = Vec::new();
        while recs.len() < answered {
            match tokio::time::timeout(Duration::from_secs(30), events.recv()).await {
                Ok(Some(CallEvent::Ended {
                    call_ref, talk: t, ..
                })) => {
                    talk.insert(call_ref, t);
                }
                Ok(Some(CallEvent::RecordingStored {
                    call_ref,
                    duration,
                    path,
                })) => {
                    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                    recs.push((call_ref, duration, bytes));
                }
                Ok(Some(CallEvent::RecordingFailed { call_ref, error })) => {
                    eprintln!("recording failed for {call_ref}: {error}");
                    recs.push((call_ref, Duration::ZERO, 0));
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        let mut worst = 0i128;
        let mut complete = 0;
        for (r, d, bytes) in &recs {
            let t = talk.get(r).copied().unwrap_or_default();
            let diff = (d.as_millis() as i128 - t.as_millis() as i128).abs();
            worst = worst.max(diff);
            // 16-bit stereo 8 kHz: 4 bytes per 125 µs frame plus the 44-byte header.
            let expected = 44 + (d.as_micros() / 125) as u64 * 4;
            if diff <= 100 && *bytes == expected {
                complete += 1;
            }
        }
        println!(
            "held {calls} bridged+recorded calls for {:.1} s: Kaden CPU {:.1} % of one core",
            wall.as_secs_f64(),
            100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
        );
        println!(
            "recordings complete: {complete} of {} (worst |recording - talk| = {worst} ms)",
            recs.len()
        );
    });
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(dir);
}
