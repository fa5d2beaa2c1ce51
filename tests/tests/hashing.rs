//! SEC-3 (issue 12 item 3): password hashing is bounded. argon2id takes 19 MiB and tens of
//! milliseconds per check on purpose; a burst of logins must neither take every core nor
//! hold 19 MiB per request. Checks run in a fixed number of slots (one per core, at least two);
//! beyond them a login waits briefly, then is refused `BUSY` with HTTP 429 and Retry-After.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use kaden_tests::{StoreKind, TestServer, TestStore};
use serde_json::{Value, json};

/// Resident memory of this process (the server runs in it), in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// A client that connects from loopback address `127.0.0.{n}`, so the per-address login limit
/// does not answer before the password is checked.
fn client_from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .build()
        .expect("client")
}

/// One anonymous login (an unknown user: the server still checks against a decoy hash).
async fn login_from(
    server: &TestServer,
    client: &reqwest::Client,
    n: u8,
) -> (u16, Option<String>, Value) {
    let response = client
        .post(server.url("/graphql"))
        .json(&json!({
            "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
            "variables": {"u": format!("nobody{n}"), "p": "wrong-password-123"}
        }))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, retry, response.json().await.expect("json"))
}

fn code(answer: &Value) -> &str {
    answer["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<no code>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sec_3_200_concurrent_anonymous_logins_keep_memory_bounded() {
    let store = TestStore::new(StoreKind::Sqlite).await;
    let server = Arc::new(TestServer::start(&store).await);
    // The clients (and their TLS roots) exist before the baseline: only the server's growth
    // is measured.
    let clients: Vec<(u8, reqwest::Client)> = (1..=200u8).map(|n| (n, client_from(n))).collect();
    let before = rss();
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (Arc::clone(&peak), Arc::clone(&done));
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let logins: Vec<_> = clients
        .into_iter()
        .map(|(n, client)| {
            let server = Arc::clone(&server);
            tokio::spawn(async move { login_from(&server, &client, n).await })
        })
        .collect();
    let mut refused = 0;
    let mut busy = 0;
    for login in logins {
        let (status, retry, answer) = login.await.expect("task");
        match code(&answer) {
            "BAD_CREDENTIALS" => refused += 1,
            "BUSY" => {
                assert_eq!(status, 429, "{answer}");
                assert_eq!(retry.as_deref(), Some("2"), "BUSY says when to retry");
                busy += 1;
            }
            other => panic!("unexpected answer {other}: {answer}"),
        }
    }
    done.store(true, Ordering::Relaxed);
    sampler.await.expect("sampler");
    let grown = peak.load(Ordering::Relaxed).saturating_sub(before);
    eprintln!(
        "200 logins: {refused} checked, {busy} BUSY; RSS {} MiB → peak +{} MiB",
        before >> 20,
        grown >> 20
    );
    assert!(refused >= 2, "some passwords were checked");
    assert_eq!(refused + busy, 200);
    // Unbounded, 200 checks at 19 MiB each would need ~3.8 GiB; bounded, one reused 19 MiB
    // buffer per slot (two to a handful, one per core) and the requests themselves.
    assert!(
        grown < 120 << 20,
        "memory grew by {} MiB during the burst (bound: 120 MiB)",
        grown >> 20
    );
    // A second burst reuses the same buffers: memory does not climb burst after burst.
    let first_peak = peak.load(Ordering::Relaxed);
    let again: Vec<_> = (201..=250u8)
        .map(|n| {
            let server = Arc::clone(&server);
            tokio::spawn(async move { login_from(&server, &client_from(n), n).await })
        })
        .collect();
    let mut second_peak = rss();
    for login in again {
        second_peak = second_peak.max(rss());
        let (_, _, answer) = login.await.expect("task");
        assert!(
            matches!(code(&answer), "BAD_CREDENTIALS" | "BUSY"),
            "{answer}"
        );
    }
    let climbed = second_peak.max(rss()).saturating_sub(first_peak);
    assert!(
        climbed < 24 << 20,
        "a second burst took {} MiB more",
        climbed >> 20
    );
    Arc::into_inner(server).expect("server").stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_3_a_login_after_a_burst_works_again() {
    let store = TestStore::new(StoreKind::Sqlite).await;
    let server = Arc::new(TestServer::start(&store).await);
    // A burst that takes every slot for a while…
    let burst: Vec<_> = (10..=40u8)
        .map(|n| {
            let server = Arc::clone(&server);
            tokio::spawn(async move { login_from(&server, &client_from(n), n).await })
        })
        .collect();
    for b in burst {
        let (_, _, answer) = b.await.expect("task");
        assert!(
            matches!(code(&answer), "BAD_CREDENTIALS" | "BUSY"),
            "{answer}"
        );
    }
    // …and once it is over, the manager logs in as usual.
    let admin = server.admin().await;
    let me = admin.ok("{ me { username } }", json!({})).await;
    assert_eq!(me["me"]["username"], "admin");
    Arc::into_inner(server).expect("server").stop().await;
}
