//! Transaction timer tests with paused tokio time and a raw UDP peer on loopback.

use std::time::Duration;

use rsip::Method;
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::*;

async fn endpoint() -> (Endpoint, mpsc::UnboundedReceiver<Incoming>) {
    let t = UdpTransport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    Endpoint::start(t, Timers::default())
}

async fn peer() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

fn request(method: Method, branch: &str, via_host: SocketAddr) -> Message {
    let mut m = Message::request(method, "sip:bob@127.0.0.1");
    m.push("Via", format!("SIP/2.0/UDP {via_host};branch={branch}"));
    m.push("Max-Forwards", "70");
    m.push("From", "<sip:alice@127.0.0.1>;tag=f1");
    m.push("To", "<sip:bob@127.0.0.1>");
    m.push("Call-ID", format!("call-{branch}"));
    m.push("CSeq", format!("1 {method}"));
    m
}

async fn recv_msg(sock: &UdpSocket) -> Message {
    let mut buf = vec![0u8; 65_536];
    let (n, _) = sock.recv_from(&mut buf).await.unwrap();
    Message::parse(&buf[..n]).unwrap()
}

fn drain(sock: &UdpSocket) -> Vec<Message> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while let Ok((n, _)) = sock.try_recv_from(&mut buf) {
        out.push(Message::parse(&buf[..n]).unwrap());
    }
    out
}

#[tokio::test(start_paused = true)]
async fn invite_client_timer_a_doubles_and_timer_b_times_out_at_64_t1() {
    let (ep, _rx) = endpoint().await;
    let p = peer().await;
    let start = Instant::now();
    let mut tx = ep.send_request(
        request(Method::Invite, &new_branch(), ep.local_addr()),
        p.local_addr().unwrap(),
    );
    assert!(matches!(tx.recv().await, Some(TxEvent::Timeout)));
    assert_eq!(start.elapsed(), Duration::from_secs(32));
    // Sent at 0, 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s.
    tokio::time::resume();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(drain(&p).len(), 7);
}

#[tokio::test(start_paused = true)]
async fn non_invite_client_timer_e_caps_at_t2() {
    let (ep, _rx) = endpoint().await;
    let p = peer().await;
    let start = Instant::now();
    let mut tx = ep.send_request(
        request(Method::Options, &new_branch(), ep.local_addr()),
        p.local_addr().unwrap(),
    );
    assert!(matches!(tx.recv().await, Some(TxEvent::Timeout)));
    assert_eq!(start.elapsed(), Duration::from_secs(32));
    // 0, .5, 1.5, 3.5, 7.5, then every 4 s: 11.5 … 31.5.
    tokio::time::resume();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(drain(&p).len(), 11);
}

#[tokio::test]
async fn invite_client_acks_non_2xx_with_the_same_branch_and_reacks_retransmissions() {
    let (ep, _rx) = endpoint().await;
    let p = peer().await;
    let branch = new_branch();
    let mut tx = ep.send_request(
        request(Method::Invite, &branch, ep.local_addr()),
        p.local_addr().unwrap(),
    );
    let inv = recv_msg(&p).await;
    let mut busy = Message::response_to(&inv, 486, "Busy Here");
    busy.set("To", "<sip:bob@127.0.0.1>;tag=t9");
    p.send_to(&busy.to_bytes(), ep.local_addr()).await.unwrap();
    let got = tx.final_response().await.unwrap();
    assert_eq!(got.status(), Some(486));
    assert_eq!(got.reason(), Some("Busy Here"));
    let mut ack = recv_msg(&p).await;
    while ack.method() == Some(&Method::Invite) {
        ack = recv_msg(&p).await;
    }
    assert_eq!(ack.method(), Some(&Method::Ack));
    assert_eq!(ack.branch(), Some(branch.as_str()));
    assert_eq!(ack.to_tag(), Some("t9"));
    assert_eq!(ack.cseq(), Some((1, Method::Ack)));
    // Our ACK got lost: the 486 comes again and is ACKed again.
    p.send_to(&busy.to_bytes(), ep.local_addr()).await.unwrap();
    let again = tokio::time::timeout(Duration::from_secs(5), recv_msg(&p))
        .await
        .unwrap();
    assert_eq!(again.method(), Some(&Method::Ack));
}

#[tokio::test(start_paused = true)]
async fn invite_server_timer_g_retransmits_final_until_ack_then_outcome_acked() {
    let (ep, mut rx) = endpoint().await;
    let p = peer().await;
    let inv = request(Method::Invite, &new_branch(), p.local_addr().unwrap());
    p.send_to(&inv.to_bytes(), ep.local_addr()).await.unwrap();
    let Some(Incoming::Request(mut stx)) = rx.recv().await else {
        panic!("no request")
    };
    assert_eq!(recv_msg(&p).await.status(), Some(100));
    let start = Instant::now();
    stx.reply(486, "Busy Here");
    // The original and 4 retransmissions: at 0, 0.5, 1.5, 3.5 and 7.5 s.
    for _ in 0..5 {
        let r = recv_msg(&p).await;
        assert_eq!(r.status(), Some(486));
        assert!(r.to_tag().is_some(), "final response carries a To tag");
    }
    assert_eq!(start.elapsed(), Duration::from_millis(7500));
    let busy = recv_msg_nonblocking_last(&p);
    let mut ack = Message::request(Method::Ack, "sip:bob@127.0.0.1");
    for h in ["Via", "From", "Call-ID"] {
        ack.push(h, inv.get(h).unwrap());
    }
    ack.push("To", busy.unwrap_or(inv.clone()).get("To").unwrap());
    ack.push("CSeq", "1 ACK");
    p.send_to(&ack.to_bytes(), ep.local_addr()).await.unwrap();
    assert_eq!(stx.outcome().await, server::ServerOutcome::Acked);
}

fn recv_msg_nonblocking_last(p: &UdpSocket) -> Option<Message> {
    drain(p).pop()
}

#[tokio::test(start_paused = true)]
async fn invite_server_timer_h_gives_up_without_ack() {
    let (ep, mut rx) = endpoint().await;
    let p = peer().await;
    let inv = request(Method::Invite, &new_branch(), p.local_addr().unwrap());
    p.send_to(&inv.to_bytes(), ep.local_addr()).await.unwrap();
    let Some(Incoming::Request(mut stx)) = rx.recv().await else {
        panic!("no request")
    };
    let start = Instant::now();
    stx.reply(603, "Decline");
    assert_eq!(stx.outcome().await, server::ServerOutcome::AckTimeout);
    assert_eq!(start.elapsed(), Duration::from_secs(32));
}

#[tokio::test]
async fn invite_server_2xx_is_retransmitted_until_the_ack_with_a_new_branch() {
    let timers = Timers {
        t1: Duration::from_millis(20),
        ..Timers::default()
    };
    let (ep, mut rx) = Endpoint::start(
        UdpTransport::bind("127.0.0.1:0".parse().unwrap()).unwrap(),
        timers,
    );
    let p = peer().await;
    let inv = request(Method::Invite, &new_branch(), p.local_addr().unwrap());
    p.send_to(&inv.to_bytes(), ep.local_addr()).await.unwrap();
    let Some(Incoming::Request(mut stx)) = rx.recv().await else {
        panic!("no request")
    };
    stx.reply(200, "OK");
    let mut oks = 0;
    let mut ok = None;
    while oks < 3 {
        let m = recv_msg(&p).await;
        if m.status() == Some(200) {
            oks += 1;
            ok = Some(m);
        }
    }
    let ok = ok.unwrap();
    let mut ack = Message::request(Method::Ack, "sip:bob@127.0.0.1");
    ack.push(
        "Via",
        format!(
            "SIP/2.0/UDP {};branch={}",
            p.local_addr().unwrap(),
            new_branch()
        ),
    );
    for h in ["From", "To", "Call-ID"] {
        ack.push(h, ok.get(h).unwrap());
    }
    ack.push("CSeq", "1 ACK");
    p.send_to(&ack.to_bytes(), ep.local_addr()).await.unwrap();
    assert_eq!(stx.outcome().await, server::ServerOutcome::Acked);
    // The ACK for the 2xx is also handed to the UA.
    assert!(matches!(rx.recv().await, Some(Incoming::Ack { .. })));
}

#[tokio::test]
async fn non_invite_server_answers_retransmissions_from_the_transaction() {
    let (ep, mut rx) = endpoint().await;
    let p = peer().await;
    let opt = request(Method::Options, &new_branch(), p.local_addr().unwrap());
    p.send_to(&opt.to_bytes(), ep.local_addr()).await.unwrap();
    let Some(Incoming::Request(stx)) = rx.recv().await else {
        panic!("no request")
    };
    assert_eq!(stx.request.call_id(), opt.call_id());
    stx.reply(200, "OK");
    assert_eq!(recv_msg(&p).await.status(), Some(200));
    p.send_to(&opt.to_bytes(), ep.local_addr()).await.unwrap();
    assert_eq!(recv_msg(&p).await.status(), Some(200));
    // The retransmission did not reach the UA as a new request.
    assert!(
        tokio::time::timeout(Duration::from_millis(100), rx.recv())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn unparseable_request_is_answered_and_counted() {
    let (ep, _rx) = endpoint().await;
    let p = peer().await;
    let text = format!(
        "INVITE tel:+8131234 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKq\r\nFrom: <sip:a@x>;tag=1\r\nTo: <tel:+8131234>\r\nCall-ID: q\r\nCSeq: 1 INVITE\r\n\r\n",
        p.local_addr().unwrap()
    );
    p.send_to(text.as_bytes(), ep.local_addr()).await.unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(5), recv_msg(&p))
        .await
        .unwrap();
    assert_eq!(resp.status(), Some(400));
    assert_eq!(ep.stats().answered_bad_request, 1);
}

#[tokio::test]
async fn max_forwards_zero_is_483() {
    let (ep, _rx) = endpoint().await;
    let p = peer().await;
    let mut inv = request(Method::Invite, &new_branch(), p.local_addr().unwrap());
    inv.set("Max-Forwards", "0");
    p.send_to(&inv.to_bytes(), ep.local_addr()).await.unwrap();
    assert_eq!(recv_msg(&p).await.status(), Some(483));
}

async fn endpoint_admitting(max: usize) -> (Endpoint, mpsc::UnboundedReceiver<Incoming>) {
    let t = UdpTransport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    Endpoint::start_with(
        t,
        EndpointConfig {
            max_pending_setups: max,
            retry_after: Duration::from_secs(7),
            ..EndpointConfig::default()
        },
    )
}

/// Next message from the peer that is not a 100 Trying.
async fn recv_final(sock: &UdpSocket) -> Message {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), recv_msg(sock))
            .await
            .expect("a response");
        if m.status() != Some(100) {
            return m;
        }
    }
}

fn ack_for(inv: &Message, resp: &Message) -> Message {
    let mut ack = Message::request(Method::Ack, "sip:bob@127.0.0.1");
    for h in ["Via", "From", "Call-ID"] {
        ack.push(h, inv.get(h).unwrap());
    }
    ack.push("To", resp.get("To").unwrap());
    ack.push("CSeq", "1 ACK");
    ack
}

#[tokio::test]
async fn invites_past_max_pending_setups_get_503_with_retry_after_while_admitted_ones_complete() {
    let (ep, mut rx) = endpoint_admitting(2).await;
    let p = peer().await;
    let src = p.local_addr().unwrap();
    let invites: Vec<Message> = (0..4)
        .map(|_| request(Method::Invite, &new_branch(), src))
        .collect();
    let mut admitted = Vec::new();
    for inv in &invites[..2] {
        p.send_to(&inv.to_bytes(), ep.local_addr()).await.unwrap();
        let Some(Incoming::Request(stx)) = rx.recv().await else {
            panic!("admitted INVITE not handed to the TU")
        };
        assert_eq!(recv_msg(&p).await.status(), Some(100));
        admitted.push(stx);
    }
    assert_eq!(ep.pending_setups(), 2);

    // Two more setups while two are open: refused statelessly, never reach the TU.
    for inv in &invites[2..] {
        p.send_to(&inv.to_bytes(), ep.local_addr()).await.unwrap();
        let r = recv_final(&p).await;
        assert_eq!(r.status(), Some(503));
        assert_eq!(r.call_id(), inv.call_id());
        assert_eq!(r.get("Retry-After"), Some("7"));
        assert!(r.to_tag().is_some(), "503 carries a To tag");
        // The caller ACKs the 503: absorbed, and the next refusal is not disturbed.
        p.send_to(&ack_for(inv, &r).to_bytes(), ep.local_addr())
            .await
            .unwrap();
    }
    // A retransmitted refused INVITE is refused again with the same To tag.
    p.send_to(&invites[3].to_bytes(), ep.local_addr())
        .await
        .unwrap();
    let again = recv_final(&p).await;
    assert_eq!(again.status(), Some(503));
    assert_eq!(again.call_id(), invites[3].call_id());
    // Out-of-dialog non-INVITE requests are shed too; a CANCEL is not.
    let opt = request(Method::Options, &new_branch(), src);
    p.send_to(&opt.to_bytes(), ep.local_addr()).await.unwrap();
    assert_eq!(recv_final(&p).await.status(), Some(503));
    assert_eq!(ep.stats().shed, 4);

    // A retransmission of an admitted INVITE still reaches its transaction (100 again).
    p.send_to(&invites[0].to_bytes(), ep.local_addr())
        .await
        .unwrap();
    assert_eq!(recv_msg(&p).await.status(), Some(100));
    let cancel = cancel_for(&invites[1]);
    p.send_to(&cancel.to_bytes(), ep.local_addr())
        .await
        .unwrap();
    // (The ACKs of the 503s matched no transaction and went to the TU as ACKs for a 2xx
    // would; the UA finds no dialog for them and drops them.)
    let cancel_tx = loop {
        match rx.recv().await {
            Some(Incoming::Ack { .. }) => {}
            Some(Incoming::Request(stx)) => break stx,
            other => panic!("CANCEL not handed to the TU while overloaded: {other:?}"),
        }
    };
    assert_eq!(cancel_tx.method(), Method::Cancel);

    // The admitted setups complete: answered, ACKed.
    for (stx, inv) in admitted.iter_mut().zip(&invites) {
        stx.reply(486, "Busy Here");
        let busy = recv_final(&p).await;
        assert_eq!(busy.status(), Some(486));
        assert_eq!(busy.call_id(), inv.call_id());
        p.send_to(&ack_for(inv, &busy).to_bytes(), ep.local_addr())
            .await
            .unwrap();
        assert_eq!(stx.outcome().await, server::ServerOutcome::Acked);
    }
    // Answered setups no longer count: new INVITEs are admitted again.
    assert_eq!(ep.pending_setups(), 0);
    let late = request(Method::Invite, &new_branch(), src);
    p.send_to(&late.to_bytes(), ep.local_addr()).await.unwrap();
    assert!(matches!(rx.recv().await, Some(Incoming::Request(_))));
    assert_eq!(ep.stats().shed, 4);
}

#[tokio::test]
async fn in_dialog_requests_are_never_shed() {
    let (ep, mut rx) = endpoint_admitting(0).await;
    let p = peer().await;
    let mut bye = request(Method::Bye, &new_branch(), p.local_addr().unwrap());
    bye.set("To", "<sip:bob@127.0.0.1>;tag=ours");
    p.send_to(&bye.to_bytes(), ep.local_addr()).await.unwrap();
    let Some(Incoming::Request(stx)) = rx.recv().await else {
        panic!("in-dialog BYE not handed to the TU")
    };
    stx.reply(200, "OK");
    assert_eq!(recv_msg(&p).await.status(), Some(200));
    assert_eq!(ep.stats().shed, 0);
}
