//! Kaden as a real process: first run, `admin create`, `--help`, graceful SIGTERM, and crash
//! safety under SIGKILL during a burst of writes, on both stores.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kaden_projections::ReadModels;
use kaden_projections::engine::Engine;
use kaden_projections::log::LogPosition;
use kaden_tests::{StoreKind, TestStore};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_kaden-under-test");

/// A running `kaden serve` and what it printed.
struct Server {
    child: Child,
    url: String,
    lines: Vec<String>,
}

fn serve(place: &TestStore) -> Server {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&place.dir)
        .env("KADEN_LOG", "warn");
    if let Some(url) = &place.database_url {
        cmd.env("KADEN_DATABASE_URL", url);
    } else {
        cmd.env_remove("KADEN_DATABASE_URL");
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("kaden starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut url = None;
    while Instant::now() < deadline {
        let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        if let Some(rest) = line.split("running at ").nth(1) {
            url = rest
                .split_whitespace()
                .next()
                .map(|u| u.trim_end_matches('/').to_string());
        }
        let done = line.starts_with("Log in with") || line.contains("one-time password");
        lines.push(line);
        if done {
            break;
        }
    }
    Server {
        child,
        url: url.expect("kaden prints its URL"),
        lines,
    }
}

impl Server {
    fn printed(&self, text: &str) -> Option<&String> {
        self.lines.iter().find(|l| l.contains(text))
    }

    fn one_time_password(&self) -> Option<String> {
        self.printed("one-time password:")
            .and_then(|l| l.split_whitespace().last())
            .map(str::to_string)
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    fn wait(mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "kaden did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

async fn gql(
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Result<Value, reqwest::Error> {
    let mut r = reqwest::Client::new()
        .post(format!("{url}/graphql"))
        .json(&json!({"query": query, "variables": variables}));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().await?.json().await
}

async fn login(url: &str, username: &str, password: &str) -> Option<String> {
    let r = gql(
        url,
        None,
        "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
        json!({"u": username, "p": password}),
    )
    .await
    .ok()?;
    r["data"]["login"]["token"].as_str().map(str::to_string)
}

#[tokio::test]
async fn first_run_prints_a_one_time_password_once_and_sigterm_stops_cleanly() {
    let place = TestStore::new(StoreKind::Sqlite).await;
    let server = serve(&place);
    let password = server
        .one_time_password()
        .expect("first run prints a one-time password");
    assert!(password.len() >= 16);
    assert!(server.printed("username: admin").is_some());
    // Telephony starts with it, on the built-in test carrier when no trunk is configured.
    let telephony = server
        .printed("Telephony: softphones register to sip:127.0.0.1:")
        .expect("serve says where softphones register");
    assert!(telephony.contains("built-in test carrier"), "{telephony}");
    assert!(
        login(&server.url, "admin", "admin").await.is_none(),
        "no default password"
    );
    let token = login(&server.url, "admin", &password)
        .await
        .expect("the printed password logs in");
    let me = gql(
        &server.url,
        Some(&token),
        "{ me { username role } }",
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(
        me["data"]["me"],
        json!({"username": "admin", "role": "MGR"})
    );
    server.signal("-TERM");
    assert!(
        server.wait(Duration::from_secs(15)).success(),
        "SIGTERM is a clean exit"
    );

    let again = serve(&place);
    assert!(
        again.one_time_password().is_none(),
        "the password is shown only once"
    );
    assert!(
        login(&again.url, "admin", &password).await.is_some(),
        "the account survives a restart"
    );
    again.signal("-INT");
    assert!(
        again.wait(Duration::from_secs(15)).success(),
        "ctrl-c is a clean exit"
    );
}

fn admin_create(place: &TestStore, username: &str, password: &str) -> std::process::Output {
    admin_with_password(place, "create", username, password)
}

/// `kaden admin <command> --username NAME` with the password on standard input.
fn admin_with_password(
    place: &TestStore,
    command: &str,
    username: &str,
    password: &str,
) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(["admin", command, "--username", username, "--data-dir"])
        .arg(&place.dir)
        .env("KADEN_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kaden admin starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("password written");
    child.wait_with_output().expect("kaden admin ends")
}

/// A GraphQL request from loopback address `from` (to try the IP allow-list).
async fn gql_from(url: &str, from: [u8; 4], token: Option<&str>, query: &str) -> Value {
    let mut r = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(from))
        .build()
        .expect("client")
        .post(format!("{url}/graphql"))
        .json(&json!({"query": query}));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().await.expect("request").json().await.expect("json")
}

/// Issue 12 item 7: when every manager is locked out (failed logins, a forgotten password, an
/// IP allow-list that shuts everyone out), the operator lets them back in from the command line.
#[tokio::test]
async fn sec_3_lockout_recovery_from_the_command_line() {
    let place = TestStore::new(StoreKind::Sqlite).await;
    let first = "a-long-and-uncommon-passphrase";
    assert!(admin_create(&place, "yamada", first).status.success());
    let server = serve(&place);
    // Ten wrong passwords lock the account (SEC-2 throttle)…
    for _ in 0..10 {
        assert!(
            login(&server.url, "yamada", "not-the-password-at-all")
                .await
                .is_none()
        );
    }
    assert!(
        login(&server.url, "yamada", first).await.is_none(),
        "locked out"
    );
    server.signal("-TERM");
    assert!(server.wait(Duration::from_secs(15)).success());

    let second = "another-long-uncommon-passphrase";
    let weak = admin_with_password(&place, "reset-password", "yamada", "short");
    assert!(!weak.status.success(), "the password policy applies");
    let unknown = admin_with_password(&place, "reset-password", "nobody", second);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nobody"));
    let reset = admin_with_password(&place, "reset-password", "yamada", second);
    assert!(
        reset.status.success(),
        "{}",
        String::from_utf8_lossy(&reset.stderr)
    );
    assert!(String::from_utf8_lossy(&reset.stdout).contains("changeOwnPassword"));

    let server = serve(&place);
    let token = login(&server.url, "yamada", second)
        .await
        .expect("the reset password logs in at once (the lockout ended)");
    // A reset password must be changed first (SEC-2), as after a manager's reset.
    let me = gql(&server.url, Some(&token), "{ me { role } }", json!({}))
        .await
        .unwrap();
    assert_eq!(
        me["errors"][0]["extensions"]["code"], "PASSWORD_EXPIRED",
        "{me}"
    );
    let third = "a-third-long-uncommon-passphrase";
    let changed = gql(
        &server.url,
        Some(&token),
        "mutation($c: String!, $n: String!) { changeOwnPassword(currentPassword: $c, newPassword: $n) { position } }",
        json!({"c": second, "n": third}),
    )
    .await
    .unwrap();
    assert!(changed["errors"].is_null(), "{changed}");
    let token = login(&server.url, "yamada", third).await.expect("login");
    // An allow-list that admits only 127.0.0.1 shuts out a manager at 127.0.0.2.
    let set = gql(
        &server.url,
        Some(&token),
        "mutation { updateSecuritySettings(ipAllowList: [\"127.0.0.1\"]) { position } }",
        json!({}),
    )
    .await
    .unwrap();
    assert!(set["errors"].is_null(), "{set}");
    let elsewhere = gql_from(&server.url, [127, 0, 0, 2], Some(&token), "{ me { role } }").await;
    assert_eq!(
        elsewhere["errors"][0]["extensions"]["code"],
        "ADDRESS_NOT_ALLOWED"
    );
    server.signal("-TERM");
    assert!(server.wait(Duration::from_secs(15)).success());

    let cleared = Command::new(BIN)
        .args(["admin", "clear-ip-allow-list", "--data-dir"])
        .arg(&place.dir)
        .env("KADEN_LOG", "warn")
        .output()
        .expect("kaden admin clear-ip-allow-list");
    assert!(
        cleared.status.success(),
        "{}",
        String::from_utf8_lossy(&cleared.stderr)
    );
    let server = serve(&place);
    let token = login(&server.url, "yamada", third).await.expect("login");
    let elsewhere = gql_from(&server.url, [127, 0, 0, 2], Some(&token), "{ me { role } }").await;
    assert_eq!(elsewhere["data"]["me"]["role"], "MGR", "{elsewhere}");
    server.signal("-TERM");
    assert!(server.wait(Duration::from_secs(15)).success());
}

#[tokio::test]
async fn admin_create_takes_the_password_from_stdin_and_checks_it() {
    let place = TestStore::new(StoreKind::Sqlite).await;
    let weak = admin_create(&place, "yamada", "short");
    assert!(!weak.status.success());
    let message = String::from_utf8_lossy(&weak.stderr);
    assert!(
        message.contains("12"),
        "the refusal names the minimum length: {message}"
    );
    let common = admin_create(&place, "yamada", "password1234");
    assert!(!common.status.success(), "a common password is refused");
    let ok = admin_create(&place, "yamada", "a-long-and-uncommon-passphrase");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let taken = admin_create(&place, "Yamada", "another-long-passphrase-here");
    assert!(!taken.status.success());
    assert!(String::from_utf8_lossy(&taken.stderr).contains("yamada"));

    let server = serve(&place);
    assert!(
        server.one_time_password().is_none(),
        "an existing account means no first-run password"
    );
    let token = login(&server.url, "yamada", "a-long-and-uncommon-passphrase")
        .await
        .expect("login");
    let me = gql(&server.url, Some(&token), "{ me { role } }", json!({}))
        .await
        .unwrap();
    assert_eq!(me["data"]["me"]["role"], "MGR");
    server.signal("-TERM");
    assert!(server.wait(Duration::from_secs(15)).success());
}

#[test]
fn help_explains_every_command_and_setting() {
    let top = Command::new(BIN).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&top.stdout);
    for word in ["serve", "migrate", "admin", "bench"] {
        assert!(text.contains(word), "--help lists {word}: {text}");
    }
    let serve = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&serve.stdout);
    for word in [
        "--listen",
        "KADEN_LISTEN",
        "--data-dir",
        "--database-url",
        "KADEN_DATABASE_URL",
        "--time-zone",
        "Asia/Tokyo",
        "--config",
        "--sip-listen",
        "--trunk",
        "KADEN_TRUNK_PASSWORD",
        "--no-telephony",
        "--licensed-lines",
        "--test-carrier-odds",
        "--test-carrier-answer-delay-ms",
    ] {
        assert!(text.contains(word), "serve --help mentions {word}: {text}");
    }
    let bad = Command::new(BIN)
        .args([
            "serve",
            "--time-zone",
            "Mars/Base",
            "--data-dir",
            "/nonexistent-kaden",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("Asia/Tokyo"),
        "the error says how to fix it"
    );
}

/// SIGKILL during a burst of writes: every acknowledged write is there after a restart, no
/// stream has a gap, and the read models equal a fresh replay.
async fn crash_safety(kind: StoreKind) {
    let place = TestStore::new(kind).await;
    let server = serve(&place);
    let password = server.one_time_password().expect("first run");
    let token = login(&server.url, "admin", &password).await.expect("login");
    let acked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..8 {
        let (url, token, acked, stop) = (
            server.url.clone(),
            token.clone(),
            Arc::clone(&acked),
            Arc::clone(&stop),
        );
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let name = format!("w{w}-{i}");
                match gql(
                    &url,
                    Some(&token),
                    "mutation($n: String!) { createCampaign(name: $n) { campaign { id } } }",
                    json!({"n": name}),
                )
                .await
                {
                    Ok(r) => {
                        if let Some(id) = r["data"]["createCampaign"]["campaign"]["id"].as_str() {
                            acked.lock().unwrap().push(id.to_string());
                        }
                    }
                    Err(_) => return,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.signal("-KILL");
    let status = server.wait(Duration::from_secs(10));
    assert!(!status.success(), "killed");
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let acked: Vec<String> = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 20,
        "the burst wrote something before the kill ({} acknowledged)",
        acked.len()
    );

    let again = serve(&place);
    let token = login(&again.url, "admin", &password)
        .await
        .expect("login after the crash");
    let list = gql(&again.url, Some(&token), "{ campaigns { id } }", json!({}))
        .await
        .unwrap();
    let present: HashSet<String> = list["data"]["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    for id in &acked {
        assert!(
            present.contains(id),
            "acknowledged campaign {id} lost in the crash"
        );
    }

    // No half command: every stream is 1..n without a gap; read models equal a fresh replay.
    let store = kaden_api::store::Store::open(&place.config())
        .await
        .unwrap();
    let rows = {
        use kaden_projections::log::EventLog;
        let mut all = Vec::new();
        let mut at = LogPosition::START;
        loop {
            let batch = store.read_after(at, 1000).await.unwrap();
            let Some(last) = batch.last() else { break };
            at = last.position;
            all.extend(batch);
        }
        all
    };
    let mut streams: std::collections::HashMap<(String, String), Vec<i64>> =
        std::collections::HashMap::new();
    for r in &rows {
        streams
            .entry((r.aggregate_type.clone(), r.aggregate_id.clone()))
            .or_default()
            .push(r.sequence);
    }
    for (stream, mut seqs) in streams {
        seqs.sort_unstable();
        let expected: Vec<i64> = (1..=seqs.len() as i64).collect();
        assert_eq!(seqs, expected, "stream {stream:?} has a gap");
    }
    let engine = Engine::new(ReadModels::default(), LogPosition::START);
    engine.catch_up(&store).await.unwrap();
    let replayed: HashSet<String> = engine.read(|m| {
        m.campaigns
            .list("default", true)
            .iter()
            .map(|c| c.id.clone())
            .collect()
    });
    assert_eq!(
        replayed, present,
        "the restarted server's read models equal a fresh replay"
    );
    store.close().await;
    again.signal("-TERM");
    assert!(again.wait(Duration::from_secs(15)).success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_writes_loses_nothing_acknowledged_sqlite() {
    crash_safety(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_writes_loses_nothing_acknowledged_postgres() {
    crash_safety(StoreKind::Postgres).await;
}

/// The laptop case: a softphone on the same machine already holds UDP 5060. `kaden serve`
/// without `--sip-listen` moves to a free SIP port and says which; with `--sip-listen` on the
/// taken port it refuses to start and says how to fix it.
#[test]
fn a_taken_default_sip_port_moves_an_explicit_one_refuses() {
    let place = std::env::temp_dir().join(format!("kaden-sip-port-{}", std::process::id()));
    // Hold 5060 (or find it held already by someone else: the same situation).
    let _holder = std::net::UdpSocket::bind("127.0.0.1:5060");
    assert!(
        std::net::UdpSocket::bind("127.0.0.1:5060").is_err(),
        "5060 is taken"
    );
    let http = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", &http.to_string(), "--data-dir"])
        .arg(&place)
        .env("KADEN_LOG", "warn")
        .env_remove("KADEN_DATABASE_URL")
        .env_remove("KADEN_SIP_LISTEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut telephony = None;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if line.starts_with("Telephony:") {
            telephony = Some(line);
            break;
        }
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let telephony = telephony.expect("serve started with telephony");
    assert!(telephony.contains("sip:127.0.0.1:"), "{telephony}");
    assert!(
        !telephony.contains("sip:127.0.0.1:5060 "),
        "moved off the taken port: {telephony}"
    );
    let refused = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--sip-listen",
            "127.0.0.1:5060",
            "--data-dir",
        ])
        .arg(&place)
        .env("KADEN_LOG", "warn")
        .env_remove("KADEN_DATABASE_URL")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("cannot start telephony") && stderr.contains("--sip-listen"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&place);
}
