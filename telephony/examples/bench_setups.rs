//! Call setups per second: sipp uac → Kaden (B2BUA: two dialogs, two sets of transactions)
//! → sipp uas, against sipp uac → sipp uas directly, in the same run.
//!
//! ```text
//! cargo run --release -p kaden-telephony --example bench_setups -- [calls] [rate]
//! ```
//!
//! Prints one line per configuration: completed calls, failed calls, elapsed, setups/s.
//! Kaden forwards the SDP unchanged (signalling only: the relay and recorder are measured
//! by the relay tests, not here). Needs /usr/bin/sipp or $SIPP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kaden_telephony::dialog::{
    IncomingCall, InviteRequest, LegEvent, Progress, UaConfig, UserAgent,
};
use kaden_telephony::transaction::{Endpoint, Timers};
use kaden_telephony::transport::UdpTransport;

fn sipp() -> PathBuf {
    let p = std::env::var_os("SIPP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/sipp"));
    if !p.exists() {
        eprintln!(
            "sipp not found at {}: apt-get install sip-tester",
            p.display()
        );
        std::process::exit(2);
    }
    p
}

fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

struct Run {
    ok: u64,
    failed: u64,
    elapsed: Duration,
}

/// Parse sipp's final screen ("Successful call", "Failed call" rows, cumulative column).
fn count(screen: &str, row: &str) -> u64 {
    screen
        .lines()
        .rev()
        .filter(|l| l.trim_start().starts_with(row))
        .filter_map(|l| l.split('|').nth(2))
        .filter_map(|c| c.split_whitespace().next())
        .find_map(|n| n.parse().ok())
        .unwrap_or(0)
}

fn run_uac(target: SocketAddr, calls: u64, rate: u64) -> Run {
    let port = free_port();
    let started = Instant::now();
    let out = Command::new(sipp())
        .args(["-sn", "uac", &target.to_string(), "-i", "127.0.0.1"])
        .args(["-p", &port.to_string(), "-m", &calls.to_string()])
        .args(["-r", &rate.to_string(), "-l", "2000", "-nostdin"])
        .args([
            "-buff_size",
            "4194304",
            "-timeout",
            "120s",
            "-mp",
            &free_port().to_string(),
        ])
        .stdin(Stdio::null())
        .output()
        .expect("sipp uac runs");
    let elapsed = started.elapsed();
    let screen = String::from_utf8_lossy(&out.stdout);
    Run {
        ok: count(&screen, "Successful call"),
        failed: count(&screen, "Failed call"),
        elapsed,
    }
}

fn start_uas(port: u16) -> std::process::Child {
    Command::new(sipp())
        .args(["-sn", "uas", "-i", "127.0.0.1", "-p", &port.to_string()])
        .args([
            "-nostdin",
            "-buff_size",
            "4194304",
            "-mp",
            &free_port().to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sipp uas starts")
}

/// Forward one incoming call to `uas` and bridge the two dialogs until either side hangs up.
async fn forward(ua: UserAgent, call: IncomingCall, uas: SocketAddr) {
    let user = call
        .request
        .uri()
        .and_then(kaden_telephony::transport::uri_user)
        .unwrap_or("service")
        .to_string();
    let mut out = ua.invite(InviteRequest {
        target: format!("sip:{user}@{uas}"),
        dest: uas,
        from_user: "kaden".into(),
        from_domain: None,
        display_name: None,
        assert_identity: false,
        sdp: call.sdp().to_vec(),
        credentials: None,
        extra_headers: vec![],
    });
    let mut rang = false;
    loop {
        match out.next().await {
            Some(Progress::Provisional { code, reason, .. }) => {
                if !rang {
                    rang = true;
                    call.provisional(code, &reason, None);
                }
            }
            Some(Progress::Answered { leg: mut b, sdp }) => {
                let Some(mut a) = call.answer(sdp) else {
                    b.bye().await;
                    return;
                };
                tokio::select! {
                    e = a.event() => if matches!(e, Some(LegEvent::RemoteBye) | None) { b.bye().await; },
                    e = b.event() => if matches!(e, Some(LegEvent::RemoteBye) | None) { a.bye().await; },
                }
                return;
            }
            Some(Progress::Failed { code, reason }) => {
                call.reject(code, &reason, None);
                return;
            }
            None => return,
        }
    }
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let calls = args.first().copied().unwrap_or(3000);
    let rate = args.get(1).copied().unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");

    // Direct: sipp → sipp.
    let uas_port = free_port();
    let mut uas = start_uas(uas_port);
    std::thread::sleep(Duration::from_millis(300));
    let uas_addr: SocketAddr = ([127, 0, 0, 1], uas_port).into();
    let direct = run_uac(uas_addr, calls, rate);
    let _ = uas.kill();
    let _ = uas.wait();

    // Through Kaden.
    let uas_port = free_port();
    let mut uas = start_uas(uas_port);
    let uas_addr: SocketAddr = ([127, 0, 0, 1], uas_port).into();
    let kaden_addr = rt.block_on(async {
        let t = UdpTransport::bind("127.0.0.1:0".parse().expect("literal")).expect("bind");
        let (ep, rx) = Endpoint::start(t, Timers::default());
        let (ua, mut calls_rx) = UserAgent::start(ep, rx, UaConfig::default(), None);
        let addr = ua.local_addr();
        tokio::spawn(async move {
            while let Some(call) = calls_rx.recv().await {
                tokio::spawn(forward(ua.clone(), call, uas_addr));
            }
        });
        addr
    });
    std::thread::sleep(Duration::from_millis(300));
    let through = run_uac(kaden_addr, calls, rate);
    let _ = uas.kill();
    let _ = uas.wait();

    for (name, r) in [("sipp->sipp", &direct), ("sipp->kaden->sipp", &through)] {
        let secs = r.elapsed.as_secs_f64();
        println!(
            "{name:20} offered {rate}/s: {} ok, {} failed ({:.2}%), {:.2} s, {:.0} setups/s",
            r.ok,
            r.failed,
            100.0 * r.failed as f64 / (r.ok + r.failed).max(1) as f64,
            secs,
            r.ok as f64 / secs
        );
    }
    let ratio = (through.ok as f64 / through.elapsed.as_secs_f64())
        / (direct.ok as f64 / direct.elapsed.as_secs_f64()).max(f64::MIN_POSITIVE);
    println!("ratio kaden/direct: {ratio:.2}");
}
