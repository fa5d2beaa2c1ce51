//! Call setups per second: sipp uac → Kaden (B2BUA: two dialogs, two sets of transactions)
//! → sipp uas, against sipp uac → sipp uas directly, in the same run.
//!
//! ```text
//! cargo run --release -p kaden-telephony --example bench_setups -- [calls] [rate] [limit] [max_pending]
//! ```
//!
//! `limit` is sipp's cap on open calls (`-l`, default 2,000): sipp stops placing calls while
//! that many are open, so a slow Kaden slows the offered load down; a limit above `calls` makes
//! the load open-loop (every call is offered at `rate` whatever happens to the earlier ones).
//!
//! Prints one line per configuration: completed calls, failed calls, elapsed, setups/s, then
//! why calls failed: sipp's own counters (unexpected message = a final error response such as
//! Kaden's 503, UDP retransmissions given up, receive timeouts, retransmissions seen) and, for
//! the Kaden run, the final status Kaden answered each refused call with (503 = shed by
//! admission control, 408 = the outgoing leg timed out, ...), how many new requests Kaden's
//! endpoint shed with 503 and the peak of its admission signal (INVITE server transactions
//! without a final response). `max_pending` sets `EndpointConfig::max_pending_setups`
//! (default: the library default; a huge value turns admission control off).
//! Kaden forwards the SDP unchanged (signalling only: the relay and recorder are measured
//! by the relay tests, not here). Needs /usr/bin/sipp or $SIPP.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kaden_telephony::dialog::{
    IncomingCall, InviteRequest, LegEvent, Progress, UaConfig, UserAgent,
};
use kaden_telephony::transaction::{Endpoint, EndpointConfig};
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
    /// sipp's cumulative failure and retransmission counters (`-trace_stat`), by column.
    sipp_stats: BTreeMap<String, u64>,
}

/// The sipp `-trace_stat` columns worth printing (cumulative values).
const SIPP_COLUMNS: [&str; 6] = [
    "FailedUnexpectedMessage(C)",
    "FailedCallRejected(C)",
    "FailedMaxUDPRetrans(C)",
    "FailedTimeoutOnRecv(C)",
    "DeadCallMsgs(C)",
    "Retransmissions(C)",
];

/// The last row of sipp's statistics CSV, as column → value for [`SIPP_COLUMNS`].
fn sipp_stats(csv: &str) -> BTreeMap<String, u64> {
    let lines: Vec<&str> = csv.lines().filter(|l| !l.trim().is_empty()).collect();
    let (Some(header), Some(last)) = (lines.first(), lines.last()) else {
        return BTreeMap::new();
    };
    if lines.len() < 2 {
        return BTreeMap::new();
    }
    header
        .split(';')
        .zip(last.split(';'))
        .filter(|(h, _)| SIPP_COLUMNS.contains(h))
        .filter_map(|(h, v)| Some((h.to_string(), v.trim().parse().ok()?)))
        .collect()
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

fn run_uac(target: SocketAddr, calls: u64, rate: u64, limit: u64) -> Run {
    let port = free_port();
    let stat_file = std::env::temp_dir().join(format!("kaden-bench-setups-{port}.csv"));
    let started = Instant::now();
    let out = Command::new(sipp())
        .args(["-sn", "uac", &target.to_string(), "-i", "127.0.0.1"])
        .args(["-p", &port.to_string(), "-m", &calls.to_string()])
        .args([
            "-r",
            &rate.to_string(),
            "-l",
            &limit.to_string(),
            "-nostdin",
        ])
        .args(["-trace_stat", "-fd", "1", "-stf"])
        .arg(&stat_file)
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
    let csv = std::fs::read_to_string(&stat_file).unwrap_or_default();
    let _ = std::fs::remove_file(&stat_file);
    Run {
        ok: count(&screen, "Successful call"),
        failed: count(&screen, "Failed call"),
        elapsed,
        sipp_stats: sipp_stats(&csv),
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

/// Final statuses Kaden refused forwarded calls with, by code.
type Refusals = Arc<Mutex<BTreeMap<u16, u64>>>;

/// Forward one incoming call to `uas` and bridge the two dialogs until either side hangs up.
async fn forward(ua: UserAgent, call: IncomingCall, uas: SocketAddr, refusals: Refusals) {
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
                *refusals.lock().unwrap().entry(code).or_default() += 1;
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
    let limit = args.get(2).copied().unwrap_or(2000);
    let max_pending_setups = args
        .get(3)
        .map(|&m| usize::try_from(m).unwrap_or(usize::MAX))
        .unwrap_or(EndpointConfig::default().max_pending_setups);
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
    let direct = run_uac(uas_addr, calls, rate, limit);
    let _ = uas.kill();
    let _ = uas.wait();

    // Through Kaden.
    let uas_port = free_port();
    let mut uas = start_uas(uas_port);
    let uas_addr: SocketAddr = ([127, 0, 0, 1], uas_port).into();
    let refusals = Refusals::default();
    let forwarded = refusals.clone();
    let (kaden_addr, ep) = rt.block_on(async {
        let t = UdpTransport::bind("127.0.0.1:0".parse().expect("literal")).expect("bind");
        let (ep, rx) = Endpoint::start_with(
            t,
            EndpointConfig {
                max_pending_setups,
                ..EndpointConfig::default()
            },
        );
        let (ua, mut calls_rx) = UserAgent::start(ep.clone(), rx, UaConfig::default(), None);
        let addr = ua.local_addr();
        tokio::spawn(async move {
            while let Some(call) = calls_rx.recv().await {
                tokio::spawn(forward(ua.clone(), call, uas_addr, forwarded.clone()));
            }
        });
        (addr, ep)
    });
    std::thread::sleep(Duration::from_millis(300));
    let running = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (ep, running) = (ep.clone(), running.clone());
        std::thread::spawn(move || {
            let mut peak = 0;
            while running.load(Ordering::Relaxed) {
                peak = peak.max(ep.pending_setups());
                std::thread::sleep(Duration::from_millis(1));
            }
            peak
        })
    };
    let through = run_uac(kaden_addr, calls, rate, limit);
    running.store(false, Ordering::Relaxed);
    let peak_pending = sampler.join().unwrap_or(0);
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
        let sipp: Vec<String> = r
            .sipp_stats
            .iter()
            .map(|(k, v)| format!("{}={v}", k.trim_end_matches("(C)")))
            .collect();
        println!("{:20} sipp: {}", "", sipp.join(" "));
    }
    println!(
        "{:20} kaden refused forwarded calls with: {:?}; shed with 503: {} (max_pending_setups {}, peak open setups {})",
        "",
        refusals.lock().unwrap(),
        ep.stats().shed,
        max_pending_setups,
        peak_pending
    );
    let ratio = (through.ok as f64 / through.elapsed.as_secs_f64())
        / (direct.ok as f64 / direct.elapsed.as_secs_f64()).max(f64::MIN_POSITIVE);
    println!("ratio kaden/direct: {ratio:.2}");
}
