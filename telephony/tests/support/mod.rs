//! Shared by the test binaries that drive Kaden against sipp: starting sipp on a free port
//! and waiting for it, the Kaden under test (a `CallControl` on loopback with user op1/pw),
//! a registered softphone, and collecting a call's events.
//!
//! Each test binary uses part of it, so unused items are allowed here (and only here).
#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use kaden_telephony::auth::{Algorithm, ha1};
use kaden_telephony::dialer::{
    AllowAll, CallControl, CallEvent, CallRequest, Outcome, Side, TelephonyConfig, TrunkConfig,
};
use kaden_telephony::media::g711;
use kaden_telephony::registrar::SipCredentials;
use kaden_telephony::softphone::Softphone;
use kaden_telephony::transaction::Timers;
use tokio::sync::mpsc;

pub fn sipp_bin() -> PathBuf {
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

pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

/// A free UDP port on loopback (and the one above it, which sipp may use for RTCP/video).
pub fn free_port() -> u16 {
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

pub struct Sipp {
    pub child: Child,
    /// sipp's working directory (its logs, `-trace_msg` output); removed on drop.
    pub dir: PathBuf,
    pub name: String,
    pub ip: IpAddr,
    pub port: u16,
}

impl Sipp {
    /// Start sipp with `scenario` on its own port; `extra` are more arguments (a remote
    /// address for client scenarios, -rtp_echo, -au/-ap…).
    pub fn start(scenario_name: &str, port: u16, extra: &[String]) -> Sipp {
        Sipp::start_on([127, 0, 0, 1].into(), scenario_name, port, extra)
    }

    /// Like [`Sipp::start`] on another loopback address (127.0.0.2 is a second source).
    pub fn start_on(ip: IpAddr, scenario_name: &str, port: u16, extra: &[String]) -> Sipp {
        let dir = std::env::temp_dir().join(format!("kaden-sipp-{:x}", rand_u64()));
        std::fs::create_dir_all(&dir).unwrap();
        write_tone(&dir.join("tone.wav"));
        let mut cmd = Command::new(sipp_bin());
        cmd.current_dir(&dir)
            .arg("-sf")
            .arg(scenario(scenario_name))
            .args(["-i", &ip.to_string(), "-p", &port.to_string()])
            .args(if extra.iter().any(|a| a == "-m") {
                vec![]
            } else {
                vec!["-m", "1"]
            })
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
            ip,
            port,
        };
        sipp.wait_listening();
        sipp
    }

    /// Wait until sipp holds its SIP port (it takes a while to start on a busy machine); fail
    /// with its logs if it exits first (e.g. the port was taken meanwhile).
    pub fn wait_listening(&mut self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "sipp {} exited at start ({status}):\n{}",
                    self.name,
                    self.logs()
                );
            }
            if std::net::UdpSocket::bind((self.ip, self.port)).is_err() {
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

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.port)
    }

    pub fn logs(&self) -> String {
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
    pub async fn success(mut self, limit: Duration) {
        self.finish(limit).await;
    }

    /// Like [`Sipp::success`], keeping sipp's directory (and its logs) until drop.
    pub async fn finish(&mut self, limit: Duration) {
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

    /// The datagrams sipp sent, from its `-trace_msg` log (start it with that argument).
    pub fn sent_messages(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.dir).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if !name.ends_with("_messages.log") {
                continue;
            }
            let log = std::fs::read(e.path()).unwrap();
            let marker = b"UDP message sent (";
            let mut at = 0;
            while let Some(p) = find(&log[at..], marker) {
                let start = at + p + marker.len();
                let digits: Vec<u8> = log[start..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .copied()
                    .collect();
                let n: usize = String::from_utf8(digits.clone()).unwrap().parse().unwrap();
                let body = start + digits.len() + b" bytes):\n\n".len();
                out.push(log[body..body + n].to_vec());
                at = body + n;
            }
        }
        out
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
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

pub fn rand_u64() -> u64 {
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
pub fn write_tone(path: &Path) {
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

pub struct Users;
impl SipCredentials for Users {
    fn ha1(&self, user: &str, realm: &str, algorithm: Algorithm) -> Option<String> {
        (user == "op1").then(|| ha1(algorithm, user, realm, "pw"))
    }
}

pub struct Kaden {
    pub cc: CallControl,
    pub events: mpsc::UnboundedReceiver<CallEvent>,
    pub recordings: PathBuf,
}

pub fn kaden(trunk: SocketAddr, credentials: Option<(String, String)>, timers: Timers) -> Kaden {
    kaden_with(trunk, credentials, timers, 10)
}

/// Kaden with `lines` licensed lines.
pub fn kaden_with(
    trunk: SocketAddr,
    credentials: Option<(String, String)>,
    timers: Timers,
    lines: u32,
) -> Kaden {
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
            licensed_lines: lines,
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

pub fn request(call_ref: &str) -> CallRequest {
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

pub async fn phone(k: &Kaden, hang_up_after: Option<Duration>) -> Softphone {
    Softphone::start(k.cc.sip_addr(), "kaden", "op1", "pw", hang_up_after)
        .await
        .expect("softphone registers")
}

/// Collect events of one call until it is over: Failed, or (every test records) the
/// recording after Ended.
pub async fn call_events(k: &mut Kaden) -> Vec<CallEvent> {
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

pub fn failed(events: &[CallEvent]) -> Option<(u16, String, Outcome)> {
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

pub async fn until_answered(k: &mut Kaden) {
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

pub fn ended(events: &[CallEvent]) -> (Duration, Side) {
    events
        .iter()
        .find_map(|e| match e {
            CallEvent::Ended { talk, ended_by, .. } => Some((*talk, *ended_by)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Ended in {events:?}"))
}

pub fn recording(events: &[CallEvent]) -> (PathBuf, Duration) {
    events
        .iter()
        .find_map(|e| match e {
            CallEvent::RecordingStored { path, duration, .. } => Some((path.clone(), *duration)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no recording in {events:?}"))
}

pub async fn sipp_phone(k: &Kaden, port: u16, scenario_name: &str) -> Sipp {
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
