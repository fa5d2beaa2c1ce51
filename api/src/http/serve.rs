//! The HTTP listener (SEC, issue 12 item 5): no anonymous client can hold the server. Each
//! connection is served by hyper's HTTP/1 server with a header-read timeout (a client that
//! does not send a whole request head in [`HEADER_READ_TIMEOUT`] — first request or the next
//! one on a kept-alive connection — is disconnected, so slowloris connections cannot pile up),
//! and the number of open connections is capped in total and per client address (IPv6 per
//! /64): beyond a cap the connection is answered `503 TOO_MANY_CONNECTIONS` with Retry-After
//! and closed at once. A WebSocket counts while its upgrade is served; once upgraded it is
//! bounded by its session (it closes when the server shuts down).

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt as _;

/// How long a client may take to send a request head.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Open connections at most.
pub const MAX_CONNECTIONS: usize = 1_000;
/// Open connections from one client address (an IPv6 /64) at most.
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 250;
/// How long in-flight requests may run on after shutdown begins.
const DRAIN: Duration = Duration::from_secs(10);

/// Open connections, in total and per address.
#[derive(Default)]
pub struct Connections {
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
    refused: std::sync::atomic::AtomicU64,
}

/// One open connection; gives its place back when dropped.
struct Slot {
    connections: Arc<Connections>,
    key: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .connections
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.1.remove(&self.key);
            }
        }
    }
}

/// The per-address key: the address itself, or its /64 for IPv6.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
            }
        },
    }
}

impl Connections {
    /// Takes a place for a connection from `ip`, or says which cap is reached.
    fn take(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, &'static str> {
        let key = address_key(ip);
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if open.0 >= MAX_CONNECTIONS {
            return Err("the server holds its maximum of open connections");
        }
        let from = open.1.entry(key).or_insert(0);
        if *from >= MAX_CONNECTIONS_PER_ADDRESS {
            return Err("your address holds its maximum of open connections");
        }
        *from += 1;
        open.0 += 1;
        Ok(Slot {
            connections: Arc::clone(self),
            key,
        })
    }

    /// Open connections now.
    pub fn open(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
    }

    /// Connections refused by a cap since start.
    pub fn refused(&self) -> u64 {
        self.refused.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Answers a connection over a cap and closes it (bounded in time: a client that does not
/// read is simply dropped).
async fn refuse(mut stream: TcpStream, why: &'static str) {
    let body = serde_json::json!({
        "code": kaden_domain::error::ErrorCode::TooManyConnections.as_str(),
        "message": format!("接続数が上限に達しています。しばらくしてから再接続してください ({why}: retry in a few seconds)"),
    })
    .to_string();
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 5\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting and lets
/// requests in flight finish (at most [`DRAIN`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    connections: Arc<Connections>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    let (closing, closed) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(error) => {
                // Out of file descriptors and the like: wait a moment rather than spin.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = match connections.take(peer.ip()) {
            Ok(slot) => slot,
            Err(why) => {
                connections
                    .refused
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tasks.spawn(refuse(stream, why));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        // Every request knows its peer (`ConnectInfo`, as axum's own server would add it).
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                router.clone().oneshot(request.map(axum::body::Body::new))
            },
        );
        let mut closed = closed.clone();
        tasks.spawn(async move {
            let _slot = slot;
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(conn);
            let shutting_down = tokio::select! {
                _ = conn.as_mut() => false,
                _ = async { let _ = closed.wait_for(|c| *c).await; } => true,
            };
            if shutting_down {
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
            }
        });
        // Reap finished connection tasks as we go.
        while tasks.try_join_next().is_some() {}
    }
    closing.send_replace(true);
    let _ = tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
    Ok(())
}
