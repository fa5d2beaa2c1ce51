use std::time::Duration;

use super::*;
use crate::transaction::Timers;
use crate::transport::UdpTransport;

fn ua() -> (UserAgent, mpsc::UnboundedReceiver<IncomingCall>) {
    let t = UdpTransport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let (ep, rx) = Endpoint::start(t, Timers::default());
    UserAgent::start(ep, rx, UaConfig::default(), None)
}

fn invite_to(b: &UserAgent, sdp: &str) -> InviteRequest {
    InviteRequest {
        target: format!("sip:0312345678@{}", b.local_addr()),
        dest: b.local_addr(),
        from_user: "0501234567".into(),
        from_domain: None,
        display_name: None,
        assert_identity: true,
        sdp: sdp.as_bytes().to_vec(),
        credentials: None,
        extra_headers: vec![],
    }
}

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("timed out")
}

#[tokio::test]
async fn invite_ring_answer_hold_and_remote_bye() {
    let (a, _ia) = ua();
    let (b, mut ib) = ua();
    let mut out = a.invite(invite_to(&b, "v=0\r\noffer"));
    let inc = within(ib.recv()).await.unwrap();
    assert_eq!(
        inc.request.get("P-Asserted-Identity"),
        Some("<sip:0501234567@kaden.invalid>")
    );
    assert!(inc.request.get("From").unwrap().contains("sip:0501234567@"));
    assert_eq!(inc.sdp(), b"v=0\r\noffer");
    inc.provisional(180, "Ringing", None);
    match within(out.next()).await.unwrap() {
        Progress::Provisional { code, reason, .. } => {
            assert_eq!((code, reason.as_str()), (180, "Ringing"))
        }
        other => panic!("{other:?}"),
    }
    let mut leg_b = inc.answer(b"v=0\r\nanswer".to_vec()).unwrap();
    let Progress::Answered { leg: leg_a, sdp } = within(out.next()).await.unwrap() else {
        panic!("not answered")
    };
    assert_eq!(sdp, b"v=0\r\nanswer");
    // Hold from A: B sees the new offer and answers with its SDP, receiving only
    // (tel_17_6, RFC 3264 6.1).
    let ans = within(leg_a.reinvite(b"v=0\r\na=sendonly".to_vec()))
        .await
        .unwrap();
    assert_eq!(ans, b"v=0\r\nanswer\r\na=recvonly\r\n");
    assert_eq!(
        within(leg_b.event()).await,
        Some(LegEvent::RemoteSdp(b"v=0\r\na=sendonly".to_vec()))
    );
    // B hangs up.
    assert_eq!(within(leg_b.bye()).await, 200);
    let mut leg_a = leg_a;
    assert_eq!(within(leg_a.event()).await, Some(LegEvent::RemoteBye));
}

#[tokio::test]
async fn cancel_while_ringing_gives_487_and_callee_sees_cancel() {
    let (a, _ia) = ua();
    let (b, mut ib) = ua();
    let mut out = a.invite(invite_to(&b, "v=0"));
    let mut inc = within(ib.recv()).await.unwrap();
    inc.provisional(180, "Ringing", None);
    assert!(matches!(
        within(out.next()).await,
        Some(Progress::Provisional { code: 180, .. })
    ));
    out.cancel();
    within(inc.cancelled()).await;
    match within(out.next()).await.unwrap() {
        Progress::Failed { code, reason } => {
            assert_eq!((code, reason.as_str()), (487, "Request Terminated"))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn rejection_keeps_the_cause() {
    let (a, _ia) = ua();
    let (b, mut ib) = ua();
    let mut out = a.invite(invite_to(&b, "v=0"));
    let inc = within(ib.recv()).await.unwrap();
    inc.reject(404, "Not Found", Some("number not in service"));
    match within(out.next()).await.unwrap() {
        Progress::Failed { code, reason } => {
            assert_eq!((code, reason.as_str()), (404, "Not Found"))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn bye_from_caller_reaches_callee() {
    let (a, _ia) = ua();
    let (b, mut ib) = ua();
    let mut out = a.invite(invite_to(&b, "v=0"));
    let inc = within(ib.recv()).await.unwrap();
    let mut leg_b = inc.answer(b"v=0".to_vec()).unwrap();
    let Some(Progress::Answered { leg: leg_a, .. }) = within(out.next()).await else {
        panic!()
    };
    assert_eq!(within(leg_a.bye()).await, 200);
    assert_eq!(within(leg_b.event()).await, Some(LegEvent::RemoteBye));
    // The dialog is gone: a second BYE gets 481.
    assert_eq!(within(leg_a.bye()).await, 481);
}

#[tokio::test]
async fn unanswered_invite_to_nowhere_fails_408() {
    let timers = Timers {
        t1: Duration::from_millis(10),
        ..Timers::default()
    };
    let t = UdpTransport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let (ep, rx) = Endpoint::start(t, timers);
    let (a, _ia) = UserAgent::start(ep, rx, UaConfig::default(), None);
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut req = invite_to(&a, "v=0");
    req.dest = silent.local_addr().unwrap();
    let mut out = a.invite(req);
    match within(out.next()).await.unwrap() {
        Progress::Failed { code, .. } => assert_eq!(code, 408),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn cancel_never_answered_ends_the_invite_after_64_t1() {
    let timers = Timers {
        t1: Duration::from_millis(10),
        ..Timers::default()
    };
    let t = UdpTransport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let (ep, rx) = Endpoint::start(t, timers);
    let (a, _ia) = UserAgent::start(ep, rx, UaConfig::default(), None);
    // A broken far end: rings, then ignores everything.
    let peer = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut req = invite_to(&a, "v=0");
    req.dest = peer.local_addr().unwrap();
    let mut out = a.invite(req);
    let mut buf = vec![0u8; 65_536];
    let (n, from) = within(peer.recv_from(&mut buf)).await.unwrap();
    let inv = Message::parse(&buf[..n]).unwrap();
    let mut ringing = Message::response_to(&inv, 180, "Ringing");
    ringing.set("To", format!("{};tag=broken", inv.get("To").unwrap()));
    peer.send_to(&ringing.to_bytes(), from).await.unwrap();
    assert!(matches!(
        within(out.next()).await,
        Some(Progress::Provisional { code: 180, .. })
    ));
    let started = tokio::time::Instant::now();
    out.cancel();
    match within(out.next()).await.unwrap() {
        Progress::Failed { code, .. } => assert_eq!(code, 408),
        other => panic!("{other:?}"),
    }
    let e = started.elapsed();
    assert!(
        e >= Duration::from_millis(640) && e < Duration::from_secs(3),
        "{e:?}"
    );
    // The CANCEL itself went out with the INVITE's branch.
    let mut saw_cancel = false;
    while let Ok((n, _)) = peer.try_recv_from(&mut buf) {
        if let Ok(m) = Message::parse(&buf[..n])
            && m.method() == Some(&Method::Cancel)
        {
            assert_eq!(m.branch(), inv.branch());
            saw_cancel = true;
        }
    }
    assert!(saw_cancel);
}

#[tokio::test]
async fn proxy_challenge_407_is_answered_with_proxy_authorization() {
    let (a, _ia) = ua();
    let peer = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut req = invite_to(&a, "v=0");
    req.dest = peer.local_addr().unwrap();
    req.credentials = Some(("trunkuser".into(), "s3cret".into()));
    let mut out = a.invite(req);
    let mut buf = vec![0u8; 65_536];
    let (n, from) = within(peer.recv_from(&mut buf)).await.unwrap();
    let first = Message::parse(&buf[..n]).unwrap();
    let mut challenge = Message::response_to(&first, 407, "Proxy Authentication Required");
    challenge.set("To", format!("{};tag=p1", first.get("To").unwrap()));
    challenge.push(
        "Proxy-Authenticate",
        "Digest realm=\"trunk\", nonce=\"abc\", algorithm=SHA-256, qop=\"auth,auth-int\"",
    );
    peer.send_to(&challenge.to_bytes(), from).await.unwrap();
    // The ACK for the 407, then the new INVITE with credentials and the next CSeq.
    let second = loop {
        let (n, _) = within(peer.recv_from(&mut buf)).await.unwrap();
        let m = Message::parse(&buf[..n]).unwrap();
        if m.method() == Some(&Method::Invite) && m.cseq().map(|c| c.0) == Some(2) {
            break m;
        }
    };
    assert_eq!(second.call_id(), first.call_id());
    assert_ne!(second.branch(), first.branch());
    let creds =
        crate::auth::Credentials::parse(second.get("Proxy-Authorization").unwrap()).unwrap();
    assert_eq!(creds.username, "trunkuser");
    assert_eq!(creds.algorithm, crate::auth::Algorithm::Sha256);
    let ha1 = crate::auth::ha1(
        crate::auth::Algorithm::Sha256,
        "trunkuser",
        "trunk",
        "s3cret",
    );
    assert!(creds.verify(&ha1, "INVITE"));
    // A second challenge is not answered again: the cause is reported.
    let mut again = Message::response_to(&second, 407, "Proxy Authentication Required");
    again.set("To", format!("{};tag=p2", second.get("To").unwrap()));
    again.push(
        "Proxy-Authenticate",
        "Digest realm=\"trunk\", nonce=\"def\"",
    );
    peer.send_to(&again.to_bytes(), from).await.unwrap();
    match within(out.next()).await.unwrap() {
        Progress::Failed { code, .. } => assert_eq!(code, 407),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn overloaded_callee_answers_new_invites_503_while_its_calls_hang_up_and_cancel() {
    let (a, _ia) = ua();
    let t = UdpTransport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let (ep, rx) = Endpoint::start_with(
        t,
        crate::transaction::EndpointConfig {
            max_pending_setups: 1,
            ..Default::default()
        },
    );
    let (b, mut ib) = UserAgent::start(ep, rx, UaConfig::default(), None);
    // Call 1 is established.
    let mut out1 = a.invite(invite_to(&b, "v=0"));
    let mut leg_b1 = within(ib.recv())
        .await
        .unwrap()
        .answer(b"v=0".to_vec())
        .unwrap();
    let Some(Progress::Answered { leg: leg_a1, .. }) = within(out1.next()).await else {
        panic!("call 1 not answered")
    };
    // Call 2 rings unanswered: B is now at its limit of open setups.
    let mut out2 = a.invite(invite_to(&b, "v=0"));
    let mut inc2 = within(ib.recv()).await.unwrap();
    inc2.provisional(180, "Ringing", None);
    assert!(matches!(
        within(out2.next()).await,
        Some(Progress::Provisional { code: 180, .. })
    ));
    assert_eq!(b.endpoint().pending_setups(), 1);
    // Call 3 is refused at once with 503, without reaching B's user.
    let mut out3 = a.invite(invite_to(&b, "v=0"));
    match within(out3.next()).await.unwrap() {
        Progress::Failed { code, reason } => {
            assert_eq!((code, reason.as_str()), (503, "Service Unavailable"))
        }
        other => panic!("{other:?}"),
    }
    assert!(ib.try_recv().is_err(), "the shed INVITE reached the UA");
    assert_eq!(b.endpoint().stats().shed, 1);
    // In-dialog BYE still flows while overloaded.
    assert_eq!(within(leg_a1.bye()).await, 200);
    assert_eq!(within(leg_b1.event()).await, Some(LegEvent::RemoteBye));
    // So does the CANCEL of the ringing call.
    out2.cancel();
    within(inc2.cancelled()).await;
    assert!(matches!(
        within(out2.next()).await,
        Some(Progress::Failed { code: 487, .. })
    ));
    assert_eq!(b.endpoint().stats().shed, 1);
}

/// tel_17_6: RFC 3261 9.2: a CANCEL for an INVITE that already got its final response is
/// answered 200 (it has no effect), not 481; a CANCEL matching nothing still gets 481.
#[tokio::test]
async fn tel_17_6_cancel_after_the_final_response_gets_200() {
    let (b, mut ib) = ua();
    let raw = UdpTransport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut invite = Message::request(Method::Invite, format!("sip:x@{}", b.local_addr()));
    invite.push(
        "Via",
        format!("SIP/2.0/UDP {};branch=z9hG4bKlate", raw.local_addr()),
    );
    invite.push("From", "<sip:a@127.0.0.1>;tag=a");
    invite.push("To", "<sip:x@127.0.0.1>");
    invite.push("Call-ID", "late-cancel");
    invite.push("CSeq", "1 INVITE");
    invite.push("Contact", format!("<sip:a@{}>", raw.local_addr()));
    raw.send(&invite, b.local_addr()).await.unwrap();
    let inc = within(ib.recv()).await.unwrap();
    let _leg = inc.answer(b"v=0".to_vec()).unwrap();
    let mut buf = vec![0u8; 65_536];
    let status_of = |r: std::io::Result<(Result<Message, _>, SocketAddr)>| {
        r.unwrap().0.unwrap().status().unwrap()
    };
    loop {
        let code = status_of(within(raw.recv(&mut buf)).await);
        if code == 200 {
            break;
        }
    }
    raw.send(&cancel_for(&invite), b.local_addr())
        .await
        .unwrap();
    loop {
        let (m, _) = within(raw.recv(&mut buf)).await.unwrap();
        let m = m.unwrap();
        if m.cseq().map(|c| c.1) == Some(Method::Cancel) {
            assert_eq!(m.status(), Some(200));
            break;
        }
    }
    let mut other = cancel_for(&invite);
    other.set(
        "Via",
        format!("SIP/2.0/UDP {};branch=z9hG4bKnone", raw.local_addr()),
    );
    raw.send(&other, b.local_addr()).await.unwrap();
    loop {
        let (m, _) = within(raw.recv(&mut buf)).await.unwrap();
        let m = m.unwrap();
        if m.cseq().map(|c| c.1) == Some(Method::Cancel) {
            assert_eq!(m.status(), Some(481));
            break;
        }
    }
}
