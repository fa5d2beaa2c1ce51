//! Issue 12 item 5: no anonymous client can hold the HTTP listener. A request head must arrive
//! within the header-read timeout (slowloris connections are cut off), and open connections are
//! capped per client address (and in total): beyond the cap a connection gets
//! `503 TOO_MANY_CONNECTIONS` with Retry-After, while other clients are served as usual.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use kaden_api::http::serve::{HEADER_READ_TIMEOUT, MAX_CONNECTIONS_PER_ADDRESS};
use kaden_tests::{StoreKind, TestServer, TestStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A TCP connection from loopback address `127.0.0.{n}`.
async fn connect_from(server: SocketAddr, n: u8) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from((Ipv4Addr::new(127, 0, 0, n), 0)))
        .expect("bind");
    socket.connect(server).await.expect("connect")
}

/// Reads until the peer closes (or `limit` passes); returns what came.
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut out = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut out))
        .await
        .ok()?
        .ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_12_5_a_request_head_that_never_ends_is_cut_off() {
    let store = TestStore::new(StoreKind::Sqlite).await;
    let server = TestServer::start(&store).await;
    let mut slow = connect_from(server.addr, 1).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: kaden\r\nX-Slow: ")
        .await
        .expect("partial head");
    let started = Instant::now();
    let closed = read_to_close(&mut slow, HEADER_READ_TIMEOUT + Duration::from_secs(5)).await;
    assert!(
        closed.is_some(),
        "the connection is closed once the header-read timeout passes"
    );
    assert!(
        started.elapsed() >= HEADER_READ_TIMEOUT - Duration::from_secs(1),
        "not before the timeout: {:?}",
        started.elapsed()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_12_5_slow_connections_from_one_address_do_not_starve_others() {
    let store = TestStore::new(StoreKind::Sqlite).await;
    let server = TestServer::start(&store).await;
    // An attacker at 127.0.0.1 opens 300 connections and trickles a header on each.
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..300 {
        let mut c = connect_from(server.addr, 1).await;
        let _ = c.write_all(b"GET / HTTP/1.1\r\nHost: kaden\r\n").await;
        held.push(c);
    }
    for c in &mut held {
        // Over the cap: answered at once and closed; under it: still waiting (no answer yet).
        let mut buf = [0u8; 512];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(20), c.read(&mut buf)).await
            && n > 0
        {
            let text = String::from_utf8_lossy(&buf[..n]);
            assert!(text.starts_with("HTTP/1.1 503"), "{text}");
            assert!(text.contains("retry-after: 5"), "{text}");
            assert!(text.contains("TOO_MANY_CONNECTIONS"), "{text}");
            refused += 1;
        }
    }
    assert_eq!(
        refused,
        300 - MAX_CONNECTIONS_PER_ADDRESS,
        "the per-address cap"
    );
    // Meanwhile another client is served promptly, again and again.
    let other = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("client");
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let started = Instant::now();
        let answer = other
            .get(server.url("/healthz"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("served");
        assert_eq!(answer.status(), 200);
        slowest = slowest.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("another address during the flood: slowest answer {slowest:?}");
    assert!(slowest < Duration::from_secs(1), "{slowest:?}");
    drop(held);
    server.stop().await;
}
