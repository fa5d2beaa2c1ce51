//! Calls through Kaden against sipp: sipp as the carrier (scenarios in tests/sipp/) and as
//! the operator's phone. Needs /usr/bin/sipp (package sip-tester) or $SIPP; fails loudly
//! without it. Everything runs on 127.0.0.1 with free ports, each test bounded in time.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use kaden_telephony::auth::{Algorithm, ha1};
use kaden_telephony::dialer::{
    AllowAll, CallControl, CallEvent, CallRequest, Outcome, Side, TelephonyConfig, TrunkConfig,
};
use kaden_telephony::media::{g711, wav};
use kaden_telephony::registrar::SipCredentials;
use kaden_telephony::softphone::Softphone;
use kaden_telephony::transaction::Timers;
use tokio::sync::mpsc;

fn sipp_bin() -> PathBuf {
    let p = std::env::var_os("SIPP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/sipp"));
    assert!(
        p.exists(),
        "sipp not found at {}: install it (apt-get install sip-tester) or set SIPP=/path/to/sipp",
        p.display()
    );
    p
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

/// A free UDP port on loopback (and the one above it, which sipp may use for RTCP/video).
fn free_port() -> u16 {
    loop {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let p = s.local_addr().unwrap().port();
        if p < 65_000
            && p.is_multiple_of(2)
            && std::net::UdpSocket::bind(("127.0.0.1", p + 2)).is_ok()
        {
            return p;
        }
    }
}

struct Sipp {
    child: Child,
    dir: PathBuf,
    name: String,
    port: u16,
}

impl Sipp {
    /// Start sipp with `scenario` on its own port; `extra` are more arguments (a remote
    /// address for client scenarios, -rtp_echo, -au/-ap…).
    fn start(scenario_name: &str, port: u16, extra: &[String]) -> Sipp {
        let dir = std::env::temp_dir().join(format!("kaden-sipp-{:x}", rand_u64()));
        std::fs::create_dir_all(&dir).unwrap();
        write_tone(&dir.join("tone.wav"));
        let mut cmd = Command::new(sipp_bin());
        cmd.current_dir(&dir)
            .arg("-sf")
            .arg(scenario(scenario_name))
            .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-m", "1"])
            .args([
                "-timeout",
                "40s",
                "-timeout_error",
                "-nostdin",
                "-trace_err",
            ])
            .args(["-buff_size", "4194304"])
            .args(extra)
            // Every sipp gets its own media port: the default (6000) collides between
            // parallel tests.
            .args(if extra.iter().any(|a| a == "-mp") {
                vec![]
            } else {
                vec!["-mp".to_string(), free_port().to_string()]
            })
            .args(if std::env::var_os("KADEN_SIPP_TRACE").is_some() {
                &["-trace_msg"][..]
            } else {
                &[][..]
            })
            .stdin(Stdio::null())
            .stdout(Stdio::from(
                std::fs::File::create(dir.join("stdout.log")).unwrap(),
            ))
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("stderr.log")).unwrap(),
            ));
        let child = cmd.spawn().expect("sipp starts");
        let mut sipp = Sipp {
            child,
            dir,
            name: scenario_name.to_string(),
            port,
        };
        sipp.wait_listening();
        sipp
    }

    /// Wait until sipp holds its SIP port (it takes a while to start on a busy machine); fail
    /// with its logs if it exits first (e.g. the port was taken meanwhile).
    fn wait_listening(&mut self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "sipp {} exited at start ({status}):\n{}",
                    self.name,
                    self.logs()
                );
            }
            if std::net::UdpSocket::bind(("127.0.0.1", self.port)).is_err() {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "sipp {} did not bind port {} in 10 s:\n{}",
                self.name,
                self.port,
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn logs(&self) -> String {
        let mut out = String::new();
        if let Ok(rd) = std::fs::read_dir(&self.dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "log") {
                    let text = std::fs::read_to_string(&p).unwrap_or_default();
                    let tail: String = text
                        .chars()
                        .rev()
                        .take(3000)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    out.push_str(&format!("--- {} ---\n{tail}\n", p.display()));
                }
            }
        }
        out
    }

    /// Wait for sipp to exit and assert it counted its call as successful (exit 0).
    async fn success(mut self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "sipp {} failed ({status}):\n{}",
                    self.name,
                    self.logs()
                );
                return;
            }
            if tokio::time::Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "sipp {} did not finish in {limit:?}:\n{}",
                    self.name,
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::env::var_os("KADEN_SIPP_TRACE").is_some() {
            eprintln!("sipp {} logs kept in {}", self.name, self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

/// 10 s of a 440 Hz tone as raw μ-law bytes in a .wav container (sipp's rtp_stream plays the
/// payload bytes as they are).
fn write_tone(path: &Path) {
    let mut data = Vec::with_capacity(80_000);
    for i in 0..80_000 {
        let s = ((i as f32) * 440.0 / 8000.0 * std::f32::consts::TAU).sin() * 6000.0;
        data.push(g711::linear_to_ulaw(s as i16));
    }
    let mut h = Vec::with_capacity(44 + data.len());
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&7u16.to_le_bytes()); // μ-law
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&8000u32.to_le_bytes());
    h.extend_from_slice(&8000u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&8u16.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&(data.len() as u32).to_le_bytes());
    h.extend_from_slice(&data);
    std::fs::write(path, h).unwrap();
}

struct Users;
impl SipCredentials for Users {
    fn ha1(&self, user: &str, realm: &str, algorithm: Algorithm) -> Option<String> {
        (user == "op1").then(|| ha1(algorithm, user, realm, "pw"))
    }
}

struct Kaden {
    cc: CallControl,
    events: mpsc::UnboundedReceiver<CallEvent>,
    recordings: PathBuf,
}

fn kaden(trunk: SocketAddr, credentials: Option<(String, String)>, timers: Timers) -> Kaden {
    let recordings = std::env::temp_dir().join(format!("kaden-sipp-rec-{:x}", rand_u64()));
    let (cc, events) = CallControl::start(
        TelephonyConfig {
            sip_bind: "127.0.0.1:0".parse().unwrap(),
            media_ip: "127.0.0.1".parse().unwrap(),
            trunk: TrunkConfig {
                addr: trunk,
                domain: "127.0.0.1".into(),
                credentials,
            },
            recordings_dir: recordings.clone(),
            licensed_lines: 10,
            realm: "kaden".into(),
            algorithm: Algorithm::Md5,
            operator_ring: Duration::from_secs(10),
            timers,
        },
        Arc::new(AllowAll),
        Arc::new(Users),
    )
    .unwrap();
    Kaden {
        cc,
        events,
        recordings,
    }
}

impl Drop for Kaden {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.recordings);
    }
}

fn request(call_ref: &str) -> CallRequest {
    CallRequest {
        call_ref: call_ref.into(),
        operator: "op1".into(),
        number: "0312345678".into(),
        caller_number: Some("0501234567".into()),
        campaign: None,
        ring_timeout: Duration::from_secs(20),
        record: true,
    }
}

async fn phone(k: &Kaden, hang_up_after: Option<Duration>) -> Softphone {
    Softphone::start(k.cc.sip_addr(), "kaden", "op1", "pw", hang_up_after)
        .await
        .expect("softphone registers")
}

/// Collect events of one call until it is over: Failed, or (every test records) the
/// recording after Ended.
async fn call_events(k: &mut Kaden) -> Vec<CallEvent> {
    let mut out = Vec::new();
    loop {
        let e = tokio::time::timeout(Duration::from_secs(40), k.events.recv())
            .await
            .expect("call events in time")
            .expect("event stream open");
        let last = matches!(
            e,
            CallEvent::Failed { .. }
                | CallEvent::RecordingStored { .. }
                | CallEvent::RecordingFailed { .. }
                | CallEvent::Refused { .. }
        );
        out.push(e);
        if last {
            return out;
        }
    }
}

fn failed(events: &[CallEvent]) -> Option<(u16, String, Outcome)> {
    events.iter().find_map(|e| match e {
        CallEvent::Failed {
            code,
            reason,
            outcome,
            ..
        } => Some((*code, reason.clone(), *outcome)),
        _ => None,
    })
}

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

async fn until_answered(k: &mut Kaden) {
    loop {
        let e = tokio::time::timeout(Duration::from_secs(30), k.events.recv())
            .await
            .expect("answered in time")
            .expect("events open");
        match e {
            CallEvent::Answered { .. } => return,
            CallEvent::Failed { code, reason, .. } => panic!("call failed: {code} {reason}"),
            _ => {}
        }
    }
}

fn ended(events: &[CallEvent]) -> (Duration, Side) {
    events
        .iter()
        .find_map(|e| match e {
            CallEvent::Ended { talk, ended_by, .. } => Some((*talk, *ended_by)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Ended in {events:?}"))
}

fn recording(events: &[CallEvent]) -> (PathBuf, Duration) {
    events
        .iter()
        .find_map(|e| match e {
            CallEvent::RecordingStored { path, duration, .. } => Some((path.clone(), *duration)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no recording in {events:?}"))
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
async fn sipp_phone(k: &Kaden, port: u16, scenario_name: &str) -> Sipp {
    let kaden_addr = k.cc.sip_addr().to_string();
    let reg = Sipp::start(
        "phone_register.xml",
        port,
        &[
            kaden_addr,
            "-s".into(),
            "op1".into(),
            "-au".into(),
            "op1".into(),
            "-ap".into(),
            "pw".into(),
        ],
    );
    reg.success(Duration::from_secs(10)).await;
    assert_eq!(
        k.cc.registrar().lookup("op1").len(),
        1,
        "sipp phone registered"
    );
    let phone = Sipp::start(scenario_name, port, &[]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    phone
}

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
    assert!(matches!(
        held.next().await,
        Some(Progress::Provisional { code: 180, .. })
    ));
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
