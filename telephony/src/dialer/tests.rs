//! Whole calls on loopback: CallControl + the built-in carrier + a softphone made of our own
//! UA (registering with digest, answering, sending RTP).

use std::time::Duration;

use super::auto::{self, AutoStop, NextCustomer, RingTime};
use super::*;
use crate::auth::ha1;
use crate::carrier::{Behaviour, CarrierConfig, Odds, TestCarrier};
use crate::media::wav;
use crate::softphone::Softphone;

struct Users;
impl SipCredentials for Users {
    fn ha1(&self, user: &str, realm: &str, algorithm: Algorithm) -> Option<String> {
        user.starts_with("op")
            .then(|| ha1(algorithm, user, realm, "pw"))
    }
}

struct Gate;
impl CallGate for Gate {
    fn check(&self, req: &CallRequest) -> Result<Admission, Refusal> {
        if req.number == "0399999999" {
            return Err(Refusal::DoNotCall {
                number: req.number.clone(),
                scope: "campaign c1".into(),
            });
        }
        Ok(Admission::allowed())
    }
}

fn carrier(behaviour: Behaviour) -> TestCarrier {
    carrier_with(behaviour, None)
}

fn carrier_with(behaviour: Behaviour, talk_limit: Option<Duration>) -> TestCarrier {
    let mut numbers = HashMap::new();
    numbers.insert("0311110000".to_string(), Behaviour::Busy);
    numbers.insert("0322220000".to_string(), Behaviour::NoAnswer);
    numbers.insert("0333330000".to_string(), Behaviour::NotInService);
    TestCarrier::start(CarrierConfig {
        odds: Odds::always(behaviour),
        answer_delay: Duration::from_millis(200),
        numbers,
        talk_limit,
        ..CarrierConfig::default()
    })
    .unwrap()
}

/// A recordings directory removed when the test ends (pass or fail).
struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
impl std::ops::Deref for TempDir {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

fn control(
    trunk: SocketAddr,
    lines: u32,
) -> (CallControl, mpsc::UnboundedReceiver<CallEvent>, TempDir) {
    let dir = TempDir(std::env::temp_dir().join(format!("kaden-rec-{:x}", rand::random::<u64>())));
    let mut config = TelephonyConfig::new(
        TrunkConfig {
            addr: trunk,
            domain: "trunk.invalid".into(),
            credentials: None,
        },
        dir.0.clone(),
        "127.0.0.1".parse().unwrap(),
    );
    config.sip_bind = "127.0.0.1:0".parse().unwrap();
    config.licensed_lines = lines;
    config.algorithm = Algorithm::Sha256;
    config.operator_ring = Duration::from_secs(5);
    let (cc, ev) = CallControl::start(config, Arc::new(Gate), Arc::new(Users)).unwrap();
    (cc, ev, dir)
}

async fn phone(cc: &CallControl, user: &str, hang_up_after: Option<Duration>) -> Softphone {
    Softphone::start(cc.sip_addr(), "kaden", user, "pw", hang_up_after)
        .await
        .expect("softphone signs in")
}

fn request(call_ref: &str, number: &str) -> CallRequest {
    CallRequest {
        call_ref: call_ref.into(),
        operator: "op1".into(),
        number: number.into(),
        caller_number: Some("0501234567".into()),
        campaign: Some("c1".into()),
        ring_timeout: Duration::from_secs(20),
        record: true,
    }
}

async fn next_event(ev: &mut mpsc::UnboundedReceiver<CallEvent>) -> CallEvent {
    tokio::time::timeout(Duration::from_secs(20), ev.recv())
        .await
        .expect("event in time")
        .expect("event")
}

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("in time")
}

#[tokio::test]
async fn answered_call_is_bridged_recorded_and_reported_in_order() {
    let carrier = carrier(Behaviour::Answer);
    let (cc, mut ev, _dir) = control(carrier.addr(), 4);
    let phone = phone(&cc, "op1", Some(Duration::from_millis(1500))).await;
    let handle = cc.place_call(request("i-1", "0312345678")).unwrap();
    assert!(
        matches!(next_event(&mut ev).await, CallEvent::Placed { ref number, .. } if number == "0312345678")
    );
    assert!(matches!(
        next_event(&mut ev).await,
        CallEvent::OperatorAnswered { .. }
    ));
    assert!(matches!(
        next_event(&mut ev).await,
        CallEvent::Ringing { code: 180, .. }
    ));
    assert!(matches!(
        next_event(&mut ev).await,
        CallEvent::Answered { .. }
    ));
    let CallEvent::Ended {
        talk,
        talk_seconds,
        ended_by,
        ..
    } = next_event(&mut ev).await
    else {
        panic!("no Ended")
    };
    assert_eq!(ended_by, Side::Operator);
    assert_eq!(talk_seconds, talk.as_secs());
    let CallEvent::RecordingStored {
        path,
        duration,
        call_ref,
    } = next_event(&mut ev).await
    else {
        panic!("no recording")
    };
    assert_eq!(call_ref, "i-1");
    let diff = duration.as_millis() as i128 - talk.as_millis() as i128;
    assert!(diff.abs() <= 100, "recording {duration:?} vs talk {talk:?}");
    let (channels, rate, frames, samples) = wav::read(&path).unwrap();
    assert_eq!((channels, rate), (2, 8000));
    assert_eq!(u128::from(frames) / 8, duration.as_millis());
    let left: i64 = samples.iter().step_by(2).map(|s| i64::from(*s).abs()).sum();
    let right: i64 = samples
        .iter()
        .skip(1)
        .step_by(2)
        .map(|s| i64::from(*s).abs())
        .sum();
    assert!(left > 0, "customer channel has audio");
    assert!(right > 0, "operator channel has audio");
    let summary = within(handle.finished()).await;
    assert!(summary.answered);
    assert!(
        carrier.stats().rtp_received > 20,
        "operator audio reached the customer: {:?}",
        carrier.stats()
    );
    assert!(
        phone.rtp_received() > 20,
        "customer audio reached the operator"
    );
    assert_eq!(cc.lines().in_use(), 0, "line returned");
}

#[tokio::test]
async fn busy_customer_fails_with_486_busy_and_no_recording() {
    let carrier = carrier(Behaviour::Answer);
    let (cc, mut ev, _dir) = control(carrier.addr(), 4);
    let _phone = phone(&cc, "op1", None).await;
    let handle = cc.place_call(request("i-2", "0311110000")).unwrap();
    let summary = within(handle.finished()).await;
    assert_eq!(
        summary.failure,
        Some((486, "Busy Here".into(), Outcome::Busy))
    );
    let mut saw_failed = false;
    while let Ok(e) = ev.try_recv() {
        assert!(!matches!(
            e,
            CallEvent::RecordingStored { .. } | CallEvent::Answered { .. }
        ));
        if let CallEvent::Failed {
            code: 486,
            outcome: Outcome::Busy,
            ..
        } = e
        {
            saw_failed = true;
        }
    }
    assert!(saw_failed);
    assert_eq!(cc.lines().in_use(), 0);
}

#[tokio::test]
async fn not_in_service_announcement_then_404_suggests_not_in_service() {
    let carrier = carrier(Behaviour::Answer);
    let (cc, mut ev, _dir) = control(carrier.addr(), 4);
    let phone = phone(&cc, "op1", None).await;
    let handle = cc.place_call(request("i-3", "0333330000")).unwrap();
    let summary = within(handle.finished()).await;
    assert_eq!(
        summary.failure.as_ref().map(|f| (f.0, f.2)),
        Some((404, Outcome::NotInService))
    );
    let mut codes = vec![];
    while let Ok(e) = ev.try_recv() {
        if let CallEvent::Ringing { code, .. } = e {
            codes.push(code);
        }
    }
    assert_eq!(codes, vec![180, 183]);
    assert!(
        phone.rtp_received() > 20,
        "the operator heard the announcement (early media)"
    );
}

#[tokio::test]
async fn call_7_ring_time_runs_out_cancel_and_no_answer() {
    let carrier = carrier(Behaviour::Answer);
    let (cc, _ev, _dir) = control(carrier.addr(), 4);
    let _phone = phone(&cc, "op1", None).await;
    let mut req = request("i-4", "0322220000");
    req.ring_timeout = Duration::from_secs(1);
    let started = Instant::now();
    let summary = within(cc.place_call(req).unwrap().finished()).await;
    assert_eq!(
        summary.failure.as_ref().map(|f| (f.0, f.2)),
        Some((408, Outcome::NoAnswer))
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(carrier.stats().cancelled, 1, "the carrier saw our CANCEL");
}

#[tokio::test]
async fn dnc_5_refused_before_dialling_and_recorded() {
    let carrier = carrier(Behaviour::Answer);
    let (cc, mut ev, _dir) = control(carrier.addr(), 4);
    let _phone = phone(&cc, "op1", None).await;
    let err = cc.place_call(request("i-5", "0399999999")).unwrap_err();
    assert!(matches!(err, Refusal::DoNotCall { .. }));
    assert!(matches!(
        next_event(&mut ev).await,
        CallEvent::Refused {
            refusal: Refusal::DoNotCall { .. },
            ..
        }
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(carrier.stats().invites, 0, "nothing was dialled");
}

#[tokio::test]
async fn cmp_2_no_caller_number_and_unregistered_operator_are_refused() {
    let carrier = carrier(Behaviour::Answer);
    let (cc, _ev, _dir) = control(carrier.addr(), 4);
    let mut req = request("i-6", "0312345678");
    req.caller_number = None;
    assert_eq!(cc.place_call(req).unwrap_err(), Refusal::NoCallerNumber);
    assert_eq!(
        cc.place_call(request("i-7", "0312345678")).unwrap_err(),
        Refusal::OperatorNotRegistered { user: "op1".into() }
    );
    assert!(matches!(
        cc.place_call(request("i-8", "03-1234")).unwrap_err(),
        Refusal::BadNumber { .. }
    ));
}

#[tokio::test]
async fn mon_3_second_call_over_the_licence_is_refused_naming_the_limit() {
    let carrier = carrier(Behaviour::Answer);
    let (cc, _ev, _dir) = control(carrier.addr(), 1);
    let _phone = phone(&cc, "op1", None).await;
    let first = cc.place_call(request("i-9", "0322220000")).unwrap();
    let err = cc.place_call(request("i-10", "0312345678")).unwrap_err();
    assert_eq!(err, Refusal::LinesExhausted { limit: 1 });
    assert!(cc.hang_up("i-9"));
    let summary = within(first.finished()).await;
    assert_eq!(summary.failure.map(|f| f.2), Some(Outcome::Cancelled));
    assert_eq!(cc.lines().in_use(), 0);
}

#[tokio::test]
async fn hold_and_hang_up_from_kaden() {
    let carrier = carrier(Behaviour::Answer);
    let (cc, mut ev, _dir) = control(carrier.addr(), 4);
    let _phone = phone(&cc, "op1", None).await;
    let handle = cc.place_call(request("i-11", "0312345678")).unwrap();
    loop {
        if let CallEvent::Answered { .. } = next_event(&mut ev).await {
            break;
        }
    }
    assert!(cc.hold("i-11", true));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        carrier.stats().holds,
        1,
        "the customer was re-INVITEd sendonly"
    );
    assert!(cc.hold("i-11", false));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(cc.hang_up("i-11"));
    let summary = within(handle.finished()).await;
    assert!(summary.answered);
    assert!(summary.recording.is_some());
    let relay = summary.relay.unwrap();
    assert!(
        relay.hold_packets >= 5,
        "silence sent to the customer on hold: {relay:?}"
    );
    let ended = loop {
        if let CallEvent::Ended { ended_by, .. } = next_event(&mut ev).await {
            break ended_by;
        }
    };
    assert_eq!(ended, Side::Kaden);
}

struct List(Vec<&'static str>, Vec<String>);
impl NextCustomer for List {
    fn next_call(&mut self) -> Option<CallRequest> {
        if self.0.is_empty() {
            return None;
        }
        let n = self.0.remove(0);
        Some(request(&format!("auto-{n}"), n))
    }
    fn passed_over(&mut self, request: &CallRequest, _: &Refusal) {
        self.1.push(request.number.clone());
    }
}

#[tokio::test]
async fn call_7_auto_call_skips_dnc_moves_on_after_no_answer_and_stops_when_connected() {
    // The customer hangs up the connected call after 500 ms; the operator stays on the line.
    let carrier = carrier_with(Behaviour::Answer, Some(Duration::from_millis(500)));
    let (cc, _ev, _dir) = control(carrier.addr(), 4);
    let _phone = phone(&cc, "op1", None).await;
    let mut list = List(
        vec![
            "0399999999",
            "0322220000",
            "0311110000",
            "0312345678",
            "0312345679",
        ],
        vec![],
    );
    let started = Instant::now();
    let stop = within(auto::run(
        &cc,
        RingTime::new(Duration::from_secs(10)).unwrap(),
        &mut list,
    ))
    .await;
    let AutoStop::Connected(summary) = stop else {
        panic!("{stop:?}")
    };
    assert_eq!(summary.call_ref, "auto-0312345678");
    assert_eq!(list.1, vec!["0399999999"], "DNC number passed over");
    assert_eq!(
        list.0,
        vec!["0312345679"],
        "stopped after the connected call"
    );
    let e = started.elapsed();
    assert!(
        e >= Duration::from_secs(10) && e < Duration::from_secs(20),
        "rang the no-answer for 10 s: {e:?}"
    );
    assert_eq!(carrier.stats().cancelled, 1);
}

#[tokio::test]
async fn fax_answering_is_suggested_as_fax() {
    let carrier = carrier(Behaviour::Fax);
    let (cc, mut ev, _dir) = control(carrier.addr(), 4);
    let _phone = phone(&cc, "op1", Some(Duration::from_millis(1200))).await;
    let handle = cc.place_call(request("fax", "0312345678")).unwrap();
    let suggested = loop {
        if let CallEvent::Ended { suggested, .. } = next_event(&mut ev).await {
            break suggested;
        }
    };
    assert_eq!(suggested, Some(Outcome::Fax));
    assert!(within(handle.finished()).await.relay.unwrap().fax_tone);
}

#[tokio::test]
async fn speech_answering_is_not_suggested_as_fax() {
    let carrier = carrier(Behaviour::Answer);
    let (cc, mut ev, _dir) = control(carrier.addr(), 4);
    let _phone = phone(&cc, "op1", Some(Duration::from_millis(1500))).await;
    cc.place_call(request("speech", "0312345678")).unwrap();
    let suggested = loop {
        if let CallEvent::Ended { suggested, .. } = next_event(&mut ev).await {
            break suggested;
        }
    };
    assert_eq!(suggested, None);
}

#[tokio::test]
async fn operator_hanging_up_while_the_customer_rings_cancels_the_customer() {
    let carrier = carrier(Behaviour::Answer);
    let (cc, _ev, _dir) = control(carrier.addr(), 4);
    // The phone hangs up 500 ms after answering, while the customer (no answer) rings.
    let _phone = phone(&cc, "op1", Some(Duration::from_millis(500))).await;
    let started = Instant::now();
    let summary = within(
        cc.place_call(request("op-gone", "0322220000"))
            .unwrap()
            .finished(),
    )
    .await;
    assert_eq!(
        summary.failure.as_ref().map(|f| f.2),
        Some(Outcome::Cancelled),
        "{summary:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "did not wait for the ring time"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        carrier.stats().cancelled,
        1,
        "the customer's INVITE was cancelled"
    );
    assert_eq!(cc.lines().in_use(), 0);
}

#[tokio::test]
async fn shutdown_hangs_up_every_call_and_flushes_recordings() {
    let carrier = carrier(Behaviour::Answer);
    let (cc, mut ev, _dir) = control(carrier.addr(), 4);
    let _phone = phone(&cc, "op1", None).await;
    cc.place_call(request("s-1", "0312345678")).unwrap();
    cc.place_call(request("s-2", "0322220000")).unwrap(); // still ringing at shutdown
    loop {
        if let CallEvent::Answered { .. } = next_event(&mut ev).await {
            break;
        }
    }
    assert_eq!(cc.active_calls(), 2);
    assert_eq!(cc.shutdown(Duration::from_secs(10)).await, 0);
    assert_eq!(cc.lines().in_use(), 0);
    let mut stored = 0;
    let mut cancelled = 0;
    while let Ok(e) = ev.try_recv() {
        match e {
            CallEvent::RecordingStored { path, .. } => {
                assert!(wav::read(&path).is_ok(), "the recording is a complete WAV");
                stored += 1;
            }
            CallEvent::Failed {
                outcome: Outcome::Cancelled,
                ..
            } => cancelled += 1,
            _ => {}
        }
    }
    assert_eq!((stored, cancelled), (1, 1));
}

#[tokio::test]
async fn tel_17_7_an_ipv6_listen_or_media_address_is_refused_at_start_with_what_to_do() {
    let trunk = TrunkConfig {
        addr: "127.0.0.1:9".parse().unwrap(),
        domain: "trunk.invalid".into(),
        credentials: None,
    };
    let dir = std::env::temp_dir();
    let mut v6_sip = TelephonyConfig::new(trunk.clone(), dir.clone(), "127.0.0.1".parse().unwrap());
    v6_sip.sip_bind = "[::1]:0".parse().unwrap();
    let v6_media = TelephonyConfig::new(trunk, dir, "::1".parse().unwrap());
    for config in [v6_sip, v6_media] {
        let err = CallControl::start(config, Arc::new(Gate), Arc::new(Users)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        let text = err.to_string();
        assert!(text.contains("IPv6 is not supported"), "{text}");
        assert!(text.contains("--sip-listen 0.0.0.0:5060"), "{text}");
    }
}
