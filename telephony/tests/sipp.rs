//! Calls through Kaden against sipp: sipp as the carrier (scenarios in tests/sipp/) and as
//! the operator's phone. Needs /usr/bin/sipp (package sip-tester) or $SIPP; fails loudly
//! without it. Everything runs on 127.0.0.1 with free ports, each test bounded in time.

mod support;

use std::path::Path;
use std::time::Duration;

use kaden_telephony::dialer::{CallEvent, Outcome, Side};
use kaden_telephony::media::wav;
use kaden_telephony::transaction::Timers;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_carrier_busy_486_is_acked_and_reported_busy() {
    let port = free_port();
    let carrier = Sipp::start("carrier_busy.xml", port, &[]);
    let mut k = kaden(carrier.addr(), None, Timers::default());
    let _phone = phone(&k, None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    k.cc.place_call(request("busy")).unwrap();
    let events = call_events(&mut k).await;
    assert_eq!(
        failed(&events),
        Some((486, "Busy Here".into(), Outcome::Busy)),
        "{events:?}"
    );
    carrier.success(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_carrier_answers_and_kaden_hangs_up_with_bye() {
    let carrier = Sipp::start("carrier_answer.xml", free_port(), &[]);
    let mut k = kaden(carrier.addr(), None, Timers::default());
    let phone = phone(&k, None).await;
    let handle = k.cc.place_call(request("answer")).unwrap();
    until_answered(&mut k).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(k.cc.hang_up("answer"));
    let events = call_events(&mut k).await;
    let (talk, by) = ended(&events);
    assert_eq!(by, Side::Kaden);
    let (_, rec) = recording(&events);
    assert!((rec.as_millis() as i128 - talk.as_millis() as i128).abs() <= 100);
    let summary = handle.finished().await;
    assert!(summary.answered);
    assert_eq!(phone.calls_answered(), 1);
    carrier.success(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_carrier_hangs_up_and_kaden_releases_the_operator() {
    let carrier = Sipp::start("carrier_answer_bye.xml", free_port(), &[]);
    let mut k = kaden(carrier.addr(), None, Timers::default());
    let _phone = phone(&k, None).await;
    k.cc.place_call(request("bye-from-carrier")).unwrap();
    let events = call_events(&mut k).await;
    let (talk, by) = ended(&events);
    assert_eq!(by, Side::Customer);
    assert!(
        talk >= Duration::from_millis(1900) && talk < Duration::from_secs(5),
        "{talk:?}"
    );
    carrier.success(Duration::from_secs(10)).await;
    assert_eq!(k.cc.lines().in_use(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_carrier_no_answer_ring_time_cancel_487() {
    let carrier = Sipp::start("carrier_no_answer.xml", free_port(), &[]);
    let mut k = kaden(carrier.addr(), None, Timers::default());
    let _phone = phone(&k, None).await;
    let mut req = request("no-answer");
    req.ring_timeout = Duration::from_secs(1);
    k.cc.place_call(req).unwrap();
    let events = call_events(&mut k).await;
    assert_eq!(
        failed(&events).map(|f| (f.0, f.2)),
        Some((408, Outcome::NoAnswer)),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, CallEvent::Ringing { code: 180, .. }))
    );
    carrier.success(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_carrier_silent_timer_b_gives_408() {
    let carrier = Sipp::start("carrier_silent.xml", free_port(), &[]);
    // T1 = 50 ms: timer B fires after 3.2 s instead of 32 s.
    let timers = Timers {
        t1: Duration::from_millis(50),
        ..Timers::default()
    };
    let mut k = kaden(carrier.addr(), None, timers);
    let _phone = phone(&k, None).await;
    let started = tokio::time::Instant::now();
    k.cc.place_call(request("silent")).unwrap();
    let events = call_events(&mut k).await;
    assert_eq!(
        failed(&events),
        Some((408, "Request Timeout".into(), Outcome::NoAnswer)),
        "{events:?}"
    );
    let e = started.elapsed();
    assert!(
        e >= Duration::from_millis(3200) && e < Duration::from_secs(6),
        "{e:?}"
    );
    carrier.success(Duration::from_secs(15)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_carrier_retransmitted_200_is_acked_again() {
    let carrier = Sipp::start("carrier_retransmit_200.xml", free_port(), &[]);
    let mut k = kaden(carrier.addr(), None, Timers::default());
    let _phone = phone(&k, None).await;
    k.cc.place_call(request("retrans")).unwrap();
    until_answered(&mut k).await;
    // sipp only reaches its BYE step after receiving the second ACK.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(k.cc.hang_up("retrans"));
    let events = call_events(&mut k).await;
    assert_eq!(ended(&events).1, Side::Kaden);
    carrier.success(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_carrier_digest_challenge_is_answered() {
    let carrier = Sipp::start("carrier_auth.xml", free_port(), &[]);
    let creds = Some(("kaden".to_string(), "trunk-secret".to_string()));
    let mut k = kaden(carrier.addr(), creds, Timers::default());
    let _phone = phone(&k, None).await;
    k.cc.place_call(request("auth")).unwrap();
    until_answered(&mut k).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(k.cc.hang_up("auth"));
    let events = call_events(&mut k).await;
    assert_eq!(ended(&events).1, Side::Kaden);
    carrier.success(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_carrier_refuses_a_wrong_trunk_password_with_403() {
    let carrier = Sipp::start("carrier_auth.xml", free_port(), &[]);
    let creds = Some(("kaden".to_string(), "wrong".to_string()));
    let mut k = kaden(carrier.addr(), creds, Timers::default());
    let _phone = phone(&k, None).await;
    k.cc.place_call(request("auth-bad")).unwrap();
    let events = call_events(&mut k).await;
    assert_eq!(
        failed(&events).map(|f| (f.0, f.2)),
        Some((403, Outcome::Rejected)),
        "{events:?}"
    );
    drop(carrier);
}

/// sipp as the operator's phone: REGISTER with digest from port `port`, then answer there.
fn channel_energy(path: &Path) -> (i64, i64, u32) {
    let (channels, rate, frames, samples) = wav::read(path).unwrap();
    assert_eq!((channels, rate), (2, 8000));
    let left = samples.iter().step_by(2).map(|s| i64::from(*s).abs()).sum();
    let right = samples
        .iter()
        .skip(1)
        .step_by(2)
        .map(|s| i64::from(*s).abs())
        .sum();
    (left, right, frames)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_phone_and_sipp_carrier_rtp_relayed_both_ways_and_recording_matches_talk_time() {
    let carrier_port = free_port();
    let echo_port = free_port();
    let carrier = Sipp::start(
        "carrier_answer_bye.xml",
        carrier_port,
        &["-rtp_echo".into(), "-mp".into(), echo_port.to_string()],
    );
    let mut k = kaden(carrier.addr(), None, Timers::default());
    let phone = sipp_phone(&k, free_port(), "phone_answer.xml").await;
    let handle = k.cc.place_call(request("flagship")).unwrap();
    let events = call_events(&mut k).await;
    let (talk, by) = ended(&events);
    assert_eq!(by, Side::Customer, "the carrier hung up");
    let (path, rec) = recording(&events);
    let diff = rec.as_millis() as i128 - talk.as_millis() as i128;
    assert!(diff.abs() <= 100, "recording {rec:?} vs talk {talk:?}");
    let (left, right, frames) = channel_energy(&path);
    assert_eq!(u128::from(frames) / 8, rec.as_millis());
    assert!(right > 0, "operator's tone recorded on the right");
    assert!(left > 0, "the carrier's echo of it recorded on the left");
    let relay = handle.finished().await.relay.expect("relay stats");
    assert!(relay.operator_to_customer > 50, "{relay:?}");
    assert!(relay.customer_to_operator > 50, "{relay:?}");
    carrier.success(Duration::from_secs(10)).await;
    phone.success(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_phone_hangs_up_and_kaden_byes_the_carrier() {
    let carrier_port = free_port();
    let echo_port = free_port();
    let carrier = Sipp::start(
        "carrier_answer.xml",
        carrier_port,
        &["-rtp_echo".into(), "-mp".into(), echo_port.to_string()],
    );
    let mut k = kaden(carrier.addr(), None, Timers::default());
    let phone = sipp_phone(&k, free_port(), "phone_answer_bye.xml").await;
    k.cc.place_call(request("phone-bye")).unwrap();
    let events = call_events(&mut k).await;
    let (talk, by) = ended(&events);
    assert_eq!(by, Side::Operator);
    let (_, rec) = recording(&events);
    assert!((rec.as_millis() as i128 - talk.as_millis() as i128).abs() <= 100);
    phone.success(Duration::from_secs(10)).await;
    carrier.success(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_caller_gets_503_with_retry_after_from_an_overloaded_endpoint_and_its_bye_still_works()
{
    use kaden_telephony::dialog::{InviteRequest, LegEvent, Progress, UaConfig, UserAgent};
    use kaden_telephony::transaction::{Endpoint, EndpointConfig};
    use kaden_telephony::transport::UdpTransport;

    let bind = || UdpTransport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    // Kaden's endpoint admits one open setup at a time.
    let (ep, rx) = Endpoint::start_with(
        bind(),
        EndpointConfig {
            max_pending_setups: 1,
            ..EndpointConfig::default()
        },
    );
    let (kaden, mut calls) = UserAgent::start(ep, rx, UaConfig::default(), None);
    // A second UA that will hold a setup open at Kaden.
    let (ep2, rx2) = Endpoint::start(bind(), Timers::default());
    let (other, _other_calls) = UserAgent::start(ep2, rx2, UaConfig::default(), None);

    let port = free_port();
    let sipp = Sipp::start(
        "caller_overloaded.xml",
        port,
        &[kaden.local_addr().to_string()],
    );
    // sipp's call A is answered.
    let call_a = tokio::time::timeout(Duration::from_secs(10), calls.recv())
        .await
        .expect("sipp's INVITE in time")
        .expect("incoming call");
    let mut leg_a = call_a.answer(b"v=0\r\n".to_vec()).expect("dialog");
    // Call A's setup ends with sipp's ACK; under load that ACK can come late, and the held
    // setup below must be the only open one (or it, not INVITE C, would get the 503).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while kaden.endpoint().pending_setups() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "call A's setup never ended"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Another setup is opened and left ringing: Kaden is at its limit.
    let mut held = other.invite(InviteRequest {
        target: format!("sip:0399999999@{}", kaden.local_addr()),
        dest: kaden.local_addr(),
        from_user: "0501234567".into(),
        from_domain: None,
        display_name: None,
        assert_identity: false,
        sdp: b"v=0\r\n".to_vec(),
        credentials: None,
        extra_headers: vec![],
    });
    let ringing = tokio::time::timeout(Duration::from_secs(5), calls.recv())
        .await
        .expect("held INVITE in time")
        .expect("incoming call");
    ringing.provisional(180, "Ringing", None);
    // Under load Kaden's automatic 100 Trying (after 200 ms without an answer) may come first.
    loop {
        match tokio::time::timeout(Duration::from_secs(5), held.next()).await {
            Ok(Some(Progress::Provisional { code: 100, .. })) => continue,
            Ok(Some(Progress::Provisional { code: 180, .. })) => break,
            other => panic!("the held setup rings: {other:?}"),
        }
    }
    assert_eq!(kaden.endpoint().pending_setups(), 1);
    // sipp's INVITE C gets 503 + Retry-After (checked by the scenario), and its BYE for
    // call A gets 200.
    sipp.success(Duration::from_secs(20)).await;
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), leg_a.event())
            .await
            .expect("BYE in time"),
        Some(LegEvent::RemoteBye)
    );
    assert_eq!(kaden.endpoint().stats().shed, 1);
    assert!(calls.try_recv().is_err(), "the shed INVITE reached the UA");
    drop(ringing);
}

/// Issue 17 item 1: a REGISTER captured on the wire and sent again from another port gets
/// 401 `stale=true`; the binding keeps pointing at the real phone, which still gets the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tel_17_1_replayed_register_from_another_port_is_refused_and_calls_ring_the_real_phone() {
    let carrier_port = free_port();
    let echo_port = free_port();
    let carrier = Sipp::start(
        "carrier_answer_bye.xml",
        carrier_port,
        &["-rtp_echo".into(), "-mp".into(), echo_port.to_string()],
    );
    let mut k = kaden(carrier.addr(), None, Timers::default());
    let phone_port = free_port();
    let mut reg = Sipp::start(
        "phone_register.xml",
        phone_port,
        &[
            k.cc.sip_addr().to_string(),
            "-s".into(),
            "op1".into(),
            "-au".into(),
            "op1".into(),
            "-ap".into(),
            "pw".into(),
            "-trace_msg".into(),
        ],
    );
    reg.finish(Duration::from_secs(10)).await;
    let captured = reg
        .sent_messages()
        .into_iter()
        .rfind(|m| m.starts_with(b"REGISTER") && find_bytes(m, b"Authorization:"))
        .expect("sipp's authenticated REGISTER in its trace");
    drop(reg);
    let real = k.cc.registrar().lookup("op1");
    assert_eq!(real.len(), 1);
    assert_eq!(real[0].source.port(), phone_port);

    // The attacker replays it byte for byte from its own port.
    let attacker = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    attacker
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    attacker.send_to(&captured, k.cc.sip_addr()).unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = attacker
        .recv_from(&mut buf)
        .expect("an answer to the replay");
    let answer = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(answer.starts_with("SIP/2.0 401 "), "{answer}");
    assert!(answer.contains("stale=true"), "{answer}");
    let after = k.cc.registrar().lookup("op1");
    assert_eq!(after, real, "binding unchanged");

    // The call rings the real phone.
    let phone = Sipp::start("phone_answer.xml", phone_port, &[]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    k.cc.place_call(request("after-replay")).unwrap();
    let events = call_events(&mut k).await;
    assert_eq!(ended(&events).1, Side::Customer, "{events:?}");
    phone.success(Duration::from_secs(10)).await;
    carrier.success(Duration::from_secs(10)).await;
}

fn find_bytes(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Registers a sipp phone from `port` and waits for its binding.
async fn register_sipp_phone(k: &Kaden, port: u16) {
    let reg = Sipp::start(
        "phone_register.xml",
        port,
        &[
            k.cc.sip_addr().to_string(),
            "-s".into(),
            "op1".into(),
            "-au".into(),
            "op1".into(),
            "-ap".into(),
            "pw".into(),
        ],
    );
    reg.success(Duration::from_secs(10)).await;
    assert_eq!(k.cc.registrar().lookup("op1").len(), 1);
}

/// Hang up `call_ref` and expect its Failed(Cancelled) within a second, the line and the
/// call freed.
async fn hang_up_frees_at_once(k: &mut Kaden, call_ref: &str) {
    let started = tokio::time::Instant::now();
    assert!(k.cc.hang_up(call_ref));
    let events = tokio::time::timeout(Duration::from_secs(1), call_events(k))
        .await
        .expect("the call ends within a second of the hang-up");
    let (code, _, outcome) = failed(&events).expect("a Failed event");
    assert_eq!((code, outcome), (487, Outcome::Cancelled), "{events:?}");
    // The task frees the line right after its last event.
    while k.cc.lines().in_use() > 0 || k.cc.active_calls() > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "line still held"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Issue 17 item 5: hanging up while the operator's phone rings CANCELs it at once (sipp checks
/// the CANCEL, answers 200 and 487) and the only licensed line is free for the next call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tel_17_5_hang_up_while_the_phone_rings_cancels_it_and_the_next_call_gets_the_line() {
    let mut k = kaden_with("127.0.0.1:9".parse().unwrap(), None, Timers::default(), 1);
    let port = free_port();
    register_sipp_phone(&k, port).await;
    let phone = Sipp::start("phone_ring_cancel.xml", port, &[]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    k.cc.place_call(request("ringing")).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    hang_up_frees_at_once(&mut k, "ringing").await;
    phone.success(Duration::from_secs(10)).await;
    let next = k.cc.place_call(request("next"));
    assert!(next.is_ok(), "{next:?}");
    hang_up_frees_at_once(&mut k, "next").await;
}

/// Issue 17 item 5: a phone that takes the INVITE and sends nothing back (no 100 either, so
/// RFC 3261 9.1 allows no CANCEL yet) no longer holds the line and the operator for timer B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tel_17_5_hang_up_while_a_silent_phone_is_dialled_frees_the_line_at_once() {
    let mut k = kaden_with("127.0.0.1:9".parse().unwrap(), None, Timers::default(), 1);
    let port = free_port();
    register_sipp_phone(&k, port).await;
    let phone = Sipp::start("phone_silent.xml", port, &[]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    k.cc.place_call(request("silent-phone")).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    hang_up_frees_at_once(&mut k, "silent-phone").await;
    let next = k.cc.place_call(request("right-after"));
    assert!(next.is_ok(), "{next:?}");
    hang_up_frees_at_once(&mut k, "right-after").await;
    phone.success(Duration::from_secs(10)).await;
}
