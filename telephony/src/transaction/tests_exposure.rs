//! The endpoint facing the open Internet (issue 17): what a hostile or careless peer can make
//! it log, keep or answer. Raw UDP peers on loopback, real time.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rsip::Method;
use tokio::net::UdpSocket;

use super::*;
use crate::sync::lock;

async fn peer() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

async fn recv_within(sock: &UdpSocket, limit: Duration) -> Option<Message> {
    let mut buf = vec![0u8; 65_536];
    match tokio::time::timeout(limit, sock.recv_from(&mut buf)).await {
        Ok(Ok((n, _))) => Some(Message::parse(&buf[..n]).unwrap()),
        _ => None,
    }
}

/// A log sink for `tracing` on this thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        lock(&self.0).extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&lock(&self.0)).to_string()
    }
}

/// UA-less endpoint answering every OPTIONS 200.
fn answering_endpoint() -> Endpoint {
    let t = UdpTransport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let (ep, mut rx) = Endpoint::start(t, Timers::default());
    tokio::spawn(async move {
        while let Some(i) = rx.recv().await {
            if let Incoming::Request(stx) = i {
                stx.reply(200, "OK");
            }
        }
    });
    ep
}

#[tokio::test]
async fn tel_17_8_another_client_reusing_a_branch_gets_its_own_answer() {
    let ep = answering_endpoint();
    let a = peer().await;
    let b = peer().await;
    for (sock, call) in [(&a, "from-a"), (&b, "from-b")] {
        let mut m = Message::request(Method::Options, "sip:k@127.0.0.1");
        let me = sock.local_addr().unwrap();
        m.push("Via", format!("SIP/2.0/UDP {me};branch=z9hG4bKsame"));
        m.push("From", "<sip:x@127.0.0.1>;tag=1");
        m.push("To", "<sip:k@127.0.0.1>");
        m.push("Call-ID", call);
        m.push("CSeq", "1 OPTIONS");
        sock.send_to(&m.to_bytes(), ep.local_addr()).await.unwrap();
        let got = recv_within(sock, Duration::from_secs(5))
            .await
            .expect("each client gets an answer");
        assert_eq!(
            (got.status(), got.call_id()),
            (Some(200), Some(call)),
            "its own answer"
        );
    }
    assert_eq!(ep.live_transactions().1, 2);
}

#[tokio::test]
async fn tel_17_8_unparseable_datagrams_are_counted_logged_once_per_source_without_credentials() {
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let ep = answering_endpoint();
    let a = peer().await;
    // Another source address (the limit is per source IP).
    let b = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    // A REGISTER whose Authorization line lost its colon: the line used to be quoted whole.
    let bad = "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKb\r\n\
From: <sip:op1@127.0.0.1>;tag=1\r\nTo: <sip:op1@127.0.0.1>\r\nCall-ID: leak\r\nCSeq: 2 REGISTER\r\n\
Authorization Digest username=\"op1\", password=\"hunter2-secret\", response=\"hunter2-secret\"\r\n\r\n";
    for _ in 0..50 {
        a.send_to(bad.as_bytes(), ep.local_addr()).await.unwrap();
    }
    // CRLF keep-alives are taken silently.
    for ka in [&b"\r\n\r\n"[..], b"\r\n", b"\r\n\r\n\r\n\r\n"] {
        a.send_to(ka, ep.local_addr()).await.unwrap();
    }
    b.send_to(b"garbage\r\n\r\n", ep.local_addr())
        .await
        .unwrap();
    // An OPTIONS after them all is answered: everything before it was read.
    let mut ping = Message::request(Method::Options, "sip:k@127.0.0.1");
    ping.push(
        "Via",
        format!("SIP/2.0/UDP {};branch=z9hG4bKp", b.local_addr().unwrap()),
    );
    ping.push("From", "<sip:x@127.0.0.1>;tag=1");
    ping.push("To", "<sip:k@127.0.0.1>");
    ping.push("Call-ID", "ping");
    ping.push("CSeq", "1 OPTIONS");
    b.send_to(&ping.to_bytes(), ep.local_addr()).await.unwrap();
    while let Some(m) = recv_within(&b, Duration::from_secs(5)).await {
        if m.call_id() == Some("ping") {
            break;
        }
    }
    // Whatever `a` got back (a line without a colon leaves nothing to answer) quotes no secret.
    while let Some(m) = recv_within(&a, Duration::from_millis(100)).await {
        assert!(!String::from_utf8_lossy(&m.to_bytes()).contains("hunter2"));
    }
    let stats = ep.stats();
    assert_eq!((stats.unparseable, stats.keepalives), (51, 3), "{stats:?}");
    let text = logs.text();
    assert!(!text.contains("hunter2"), "{text}");
    let warnings = text.lines().filter(|l| l.contains("unparseable")).count();
    assert_eq!(warnings, 2, "one per source: {text}");
    assert!(!text.to_ascii_lowercase().contains("keep"), "{text}");
}

#[tokio::test]
async fn tel_17_3_past_its_budget_a_source_gets_503_with_retry_after_statelessly() {
    let t = UdpTransport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let (ep, rx) = Endpoint::start_with(
        t,
        EndpointConfig {
            unauthenticated: Budget {
                burst: 3.0,
                per_second: 0.5,
            },
            ..EndpointConfig::default()
        },
    );
    struct NoOne;
    impl crate::registrar::SipCredentials for NoOne {
        fn ha1(&self, _: &str, _: &str, _: crate::auth::Algorithm) -> Option<String> {
            None
        }
    }
    let registrar = crate::registrar::Registrar::new(
        "kaden",
        crate::auth::Algorithm::Md5,
        std::sync::Arc::new(NoOne),
    );
    let (_ua, _calls) = crate::dialog::UserAgent::start(
        ep.clone(),
        rx,
        crate::dialog::UaConfig::default(),
        Some(std::sync::Arc::new(registrar)),
    );
    let a = peer().await;
    let me = a.local_addr().unwrap();
    let mut codes = Vec::new();
    for n in 0..5 {
        let mut m = Message::request(Method::Options, "sip:k@127.0.0.1");
        m.push("Via", format!("SIP/2.0/UDP {me};branch=z9hG4bKo{n}"));
        m.push("From", "<sip:x@127.0.0.1>;tag=1");
        m.push("To", "<sip:k@127.0.0.1>");
        m.push("Call-ID", format!("o{n}"));
        m.push("CSeq", "1 OPTIONS");
        a.send_to(&m.to_bytes(), ep.local_addr()).await.unwrap();
        let r = recv_within(&a, Duration::from_secs(5)).await.unwrap();
        if r.status() == Some(503) {
            assert_eq!(r.get("Retry-After"), Some("1"));
            assert!(r.to_tag().is_some());
        }
        codes.push(r.status().unwrap());
    }
    assert_eq!(codes, [200, 200, 200, 503, 503]);
    let stats = ep.stats();
    assert_eq!(stats.shed_unauthenticated, 2);
    assert_eq!(
        ep.live_transactions().1,
        3,
        "no transaction for the shed ones"
    );
    // A request naming a dialog that does not exist is answered 481 without a transaction
    // (here: past the budget, so 503).
    let mut bye = Message::request(Method::Bye, "sip:k@127.0.0.1");
    bye.push("Via", format!("SIP/2.0/UDP {me};branch=z9hG4bKbye"));
    bye.push("From", "<sip:x@127.0.0.1>;tag=1");
    bye.push("To", "<sip:k@127.0.0.1>;tag=none");
    bye.push("Call-ID", "nodialog");
    bye.push("CSeq", "2 BYE");
    a.send_to(&bye.to_bytes(), ep.local_addr()).await.unwrap();
    let r = recv_within(&a, Duration::from_secs(5)).await.unwrap();
    assert_eq!(r.status(), Some(503));
    assert_eq!(ep.live_transactions().1, 3);
}
