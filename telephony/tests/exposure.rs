//! Kaden's SIP port under attack (issue 17 items 2 and 3): floods from a second loopback
//! address while a normal client measures how fast it is answered. These are load tests: they
//! run alone (.config/nextest.toml gives this binary every CPU), each bounded in time.
//! Figures are in docs/telephony.md, "Putting Kaden's SIP port on the Internet".

mod support;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use kaden_telephony::transaction::Timers;
use support::*;

/// Resident memory of this process, from /proc/self/status.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// An OPTIONS with the essentials, `pad` one-byte headers and `fill` bytes in one more.
fn padded_options(pad: usize, fill: usize) -> Vec<u8> {
    let mut m = String::from(
        "OPTIONS sip:k@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5999;branch=z9hG4bKbig\r\n\
From: <sip:x@127.0.0.1>;tag=1\r\nTo: <sip:k@127.0.0.1>\r\nCall-ID: big\r\nCSeq: 1 OPTIONS\r\n",
    );
    for _ in 0..pad {
        m.push_str("P:1\r\n");
    }
    m.push_str("X-Fill: ");
    m.push_str(&"a".repeat(fill));
    m.push_str("\r\n\r\n");
    m.into_bytes()
}

fn options(n: u32, me: SocketAddr) -> Vec<u8> {
    format!(
        "OPTIONS sip:k@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKping{n}\r\n\
From: <sip:x@127.0.0.1>;tag=1\r\nTo: <sip:k@127.0.0.1>\r\nCall-ID: ping-{n}\r\nCSeq: 1 OPTIONS\r\n\
Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// The p-th percentile of `xs` (sorted in place).
fn percentile(xs: &mut [Duration], p: f64) -> Duration {
    xs.sort();
    let i = ((xs.len() as f64 - 1.0) * p).round() as usize;
    xs[i]
}

/// RSS may grow by at most this much during the 15 s flood (documented in docs/telephony.md).
const RSS_BOUND_KIB: u64 = 16 * 1024;

/// Item 2: 100 datagrams/s of a 63 KB, 9,000-header message for 15 s. Each is answered 513
/// from its first lines and nothing of it is kept: RSS stays within [`RSS_BOUND_KIB`] of where
/// it started, and an OPTIONS from a normal client is answered in under 50 ms throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tel_17_2_oversize_flood_keeps_memory_bounded_and_options_fast() {
    let k = kaden_with("127.0.0.1:9".parse().unwrap(), None, Timers::default(), 1);
    let kaden = k.cc.sip_addr();
    let big = padded_options(9000, 18_000);
    assert!(big.len() > 62_000 && big.len() < 65_000);
    let flood_for = Duration::from_secs(15);

    // Warm up: the first answers allocate what every later one reuses.
    let pinger = UdpSocket::bind("127.0.0.1:0").unwrap();
    pinger
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let me = pinger.local_addr().unwrap();
    let mut buf = vec![0u8; 65_536];
    for n in 0..20 {
        pinger.send_to(&options(n, me), kaden).unwrap();
        pinger
            .recv_from(&mut buf)
            .expect("warm-up OPTIONS answered");
    }
    let baseline = rss_kib();

    let flooder = std::thread::spawn(move || {
        let s = UdpSocket::bind("127.0.0.2:0").unwrap();
        let start = Instant::now();
        let mut sent = 0u64;
        while start.elapsed() < flood_for {
            // 100 per second, evenly.
            let due = start + Duration::from_millis(10 * sent);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            s.send_to(&big, kaden).unwrap();
            sent += 1;
        }
        sent
    });

    let pings = tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let mut rtts = Vec::new();
        let mut peak = 0;
        let mut n = 100;
        while start.elapsed() < flood_for {
            n += 1;
            let sent_at = Instant::now();
            pinger.send_to(&options(n, me), kaden).unwrap();
            loop {
                let (len, _) = pinger
                    .recv_from(&mut buf)
                    .expect("OPTIONS answered within 1 s");
                let text = String::from_utf8_lossy(&buf[..len]);
                if text.contains(&format!("Call-ID: ping-{n}\r\n")) {
                    assert!(text.starts_with("SIP/2.0 200 "), "{text}");
                    break;
                }
            }
            rtts.push(sent_at.elapsed());
            peak = peak.max(rss_kib());
            std::thread::sleep(Duration::from_millis(50));
        }
        (rtts, peak)
    });
    let sent = flooder.join().unwrap();
    let (mut rtts, peak) = pings.await.unwrap();
    // Give the receive loop the last datagrams.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stats = k.cc.sip_stats();
    let after = rss_kib();
    let max = *rtts.iter().max().unwrap();
    let p99 = percentile(&mut rtts, 0.99);
    eprintln!(
        "tel_17_2: sent {sent} oversize datagrams, {} answered 513; RSS {baseline} KiB before, \
         peak {peak} KiB, {after} KiB after; OPTIONS p99 {p99:?}, max {max:?} over {} pings",
        stats.too_large,
        rtts.len()
    );
    assert!(sent >= 1400, "the flood ran at ~100/s: {sent}");
    assert!(
        stats.too_large >= sent * 95 / 100,
        "oversize datagrams seen and answered: {stats:?}"
    );
    assert!(
        peak.saturating_sub(baseline) <= RSS_BOUND_KIB,
        "RSS grew from {baseline} KiB to {peak} KiB"
    );
    assert!(max < Duration::from_millis(50), "OPTIONS max {max:?}");
    // Only the pings' own transactions are open (timer J), nothing for the flood.
    let (_, server) = k.cc.user_agent().endpoint().live_transactions();
    assert!(
        server <= rtts.len() + 20,
        "{server} server transactions open"
    );
}

/// Item 3: sipp floods Kaden with ~3,000 unauthenticated REGISTERs a second from 127.0.0.2
/// for 10 s while an operator (a user agent on 127.0.0.1) registers with digest every 50 ms.
/// The flood is challenged statelessly up to its budget and shed with 503 beyond it; the
/// operator's REGISTERs (challenge and answer, both round trips) stay under 100 ms at p99.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tel_17_3_operator_registers_in_under_100_ms_p99_during_a_register_flood() {
    use kaden_telephony::dialog::{UaConfig, UserAgent};
    use kaden_telephony::transaction::Endpoint;
    use kaden_telephony::transport::UdpTransport;

    let k = kaden_with("127.0.0.1:9".parse().unwrap(), None, Timers::default(), 1);
    let kaden = k.cc.sip_addr();
    let flood_for = Duration::from_secs(10);
    let rate = 3000;
    let mut flood = Sipp::start_on(
        [127, 0, 0, 2].into(),
        "flood_register.xml",
        free_port(),
        &[
            kaden.to_string(),
            "-r".into(),
            rate.to_string(),
            "-m".into(),
            (rate * flood_for.as_secs()).to_string(),
            "-l".into(),
            "10000".into(),
            "-recv_timeout".into(),
            "2000".into(),
        ],
    );
    let t = UdpTransport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let (ep, rx) = Endpoint::start(t, Timers::default());
    let (operator, _calls) = UserAgent::start(ep, rx, UaConfig::default(), None);
    // Let the flood reach its rate.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = k.cc.sip_stats();
    let started = Instant::now();
    let mut rtts = Vec::new();
    while started.elapsed() < flood_for - Duration::from_secs(2) {
        let t0 = Instant::now();
        let (code, reason) = operator.register(kaden, "kaden", "op1", "pw", 300).await;
        assert_eq!(code, 200, "{reason}");
        rtts.push(t0.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let after = k.cc.sip_stats();
    let flood_seen = (after.answered_statelessly + after.shed_unauthenticated)
        - (before.answered_statelessly + before.shed_unauthenticated);
    let flood_rate = flood_seen as f64 / elapsed;
    let p99 = percentile(&mut rtts, 0.99);
    let max = *rtts.iter().max().unwrap();
    eprintln!(
        "tel_17_3: flood answered at {flood_rate:.0}/s ({} challenged statelessly, {} shed 503 \
         in total); operator REGISTER (challenge + answer) p50 {:?}, p99 {p99:?}, max {max:?} \
         over {} registrations",
        after.answered_statelessly,
        after.shed_unauthenticated,
        percentile(&mut rtts, 0.5),
        rtts.len()
    );
    let _ = flood.child.kill();
    let _ = flood.child.wait();
    assert!(
        flood_rate >= 1500.0,
        "the flood reached Kaden at {flood_rate:.0}/s only:\n{}",
        flood.logs()
    );
    assert!(after.shed_unauthenticated > 0, "{after:?}");
    assert!(
        p99 < Duration::from_millis(100),
        "operator REGISTER p99 {p99:?}"
    );
    assert_eq!(k.cc.registrar().lookup("op1").len(), 1);
    // The flood left no transactions behind: only the operator's (timer J) are open.
    let (_, server) = k.cc.user_agent().endpoint().live_transactions();
    assert!(
        server <= rtts.len() + 5,
        "{server} server transactions open"
    );
}
