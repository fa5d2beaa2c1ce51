//! Concurrent bridged and recorded calls: Kaden's CPU while N calls are held, and whether every
//! recording is complete.
//!
//! ```text
//! cargo run --release -p kaden-telephony --example bench_calls -- [calls] [hold_seconds]
//! ```
//!
//! The far ends (the built-in test carrier playing speech-like audio and one softphone sending a
//! tone on every call) run in a child process, so the CPU figure is Kaden's alone: SIP, the
//! relay (both directions, μ-law both sides) and the WAV recorder.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kaden_telephony::auth::{Algorithm, ha1};
use kaden_telephony::carrier::{Behaviour, CarrierConfig, Odds, TestCarrier};
use kaden_telephony::dialer::{
    AllowAll, CallControl, CallEvent, CallRequest, TelephonyConfig, TrunkConfig,
};
use kaden_telephony::registrar::SipCredentials;
use kaden_telephony::softphone::Softphone;
use kaden_telephony::transaction::Timers;

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
        // "report" → latency percentiles of phone → Kaden → carrier packets; EOF → exit.
        loop {
            let line = tokio::task::spawn_blocking(|| {
                let mut s = String::new();
                std::io::stdin().read_line(&mut s).map(|n| (n, s))
            })
            .await
            .expect("stdin");
            match line {
                Ok((n, s)) if n > 0 && s.trim() == "report" => {
                    let mut l = carrier.latency_samples();
                    l.sort_unstable();
                    let pct = |p: usize| {
                        l.get((l.len() * p / 100).min(l.len().saturating_sub(1)))
                            .copied()
                            .unwrap_or(0)
                    };
                    println!(
                        "{} {} {} {}",
                        l.len(),
                        pct(50),
                        pct(99),
                        l.last().copied().unwrap_or(0)
                    );
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
        let cpu0 = cpu_time();
        let w0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(hold)).await;
        let cpu = cpu_time() - cpu0;
        let wall = w0.elapsed();
        writeln!(stdin, "report").expect("ask far end");
        let mut report = String::new();
        out.read_line(&mut report).expect("latency report");
        let f: Vec<u64> = report.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        if let [n, p50, p99, max] = f[..] {
            println!(
                "phone -> Kaden relay -> carrier, {n} packets: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                p50 as f64 / 1000.0,
                p99 as f64 / 1000.0,
                max as f64 / 1000.0
            );
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
