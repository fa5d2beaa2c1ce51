//! Registrations survive a restart and are shared by nodes (issue 17 item 4), and /metrics
//! shows the SIP endpoint's counters (issue 17 item 8).
//!
//! A real softphone registers to Kaden's registrar over SIP; the binding is written as a
//! `SipBindingsChanged` event; after a restart on the same store `placeCall`
//! rings the phone without it registering again. Expired bindings are not restored; refreshes
//! that change nothing write nothing; on two `kaden serve` sharing one PostgreSQL database, a
//! call placed on node B rings a phone registered on node A.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chrono::Utc;
use kaden_api::calls::TelephonySettings;
use kaden_domain::registration::{
    SipBinding, SipRegistration, SipRegistrationCommand, registration_aggregate_id,
};
use kaden_projections::log::{EventLog, LogPosition};
use kaden_telephony::carrier::{Behaviour, Odds};
use kaden_telephony::dialog::{UaConfig, UserAgent};
use kaden_telephony::softphone::Softphone;
use kaden_telephony::transaction::{Endpoint, Timers};
use kaden_telephony::transport::UdpTransport;
use kaden_tests::{Client, StoreKind, TestServer, TestStore, error_code, ready_campaign};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

/// A server on `store` with telephony on a free loopback port and a test carrier that answers
/// after 200 ms and hangs up after a second.
async fn server(store: &TestStore) -> TestServer {
    let mut settings = store.settings();
    let mut t = TelephonySettings::local([127, 0, 0, 1].into(), 0);
    t.test_carrier.odds = Odds::always(Behaviour::Answer);
    t.test_carrier.answer_delay = Duration::from_millis(200);
    t.test_carrier.talk_limit = Some(Duration::from_secs(1));
    settings.telephony = Some(t);
    TestServer::start_with(settings).await
}

fn sip_addr(server: &TestServer) -> SocketAddr {
    server.app.state.calls().expect("telephony").sip_addr()
}

/// A campaign and a folder with one customer (`001-001`) the admin may call.
async fn folder(server: &TestServer, admin: &Client) {
    let campaign = ready_campaign(server, admin, "再起動の案件").await;
    let created = admin
        .ok("mutation($c: String!) { createFolder(campaignId: $c, name: \"リスト\", columns: [\"電話番号\", \"会社名\"], rows: [[\"03-5555-0001\", \"一社\"]]) { folder { id } } }", json!({"c": campaign}))
        .await;
    let id = created["createFolder"]["folder"]["id"].as_u64().unwrap();
    let me = admin.ok("{ me { id } }", json!({})).await;
    admin
        .ok(
            "mutation($f: Int!, $u: [Int!]!) { setFolderUsers(id: $f, userIds: $u) { position } }",
            json!({"f": id, "u": [me["me"]["id"]]}),
        )
        .await;
}

/// Sets the admin's SIP password; (registrar address, realm, password).
async fn sip_password(admin: &Client) -> (SocketAddr, String, String) {
    let sip = admin
        .ok(
            "mutation { setSipPassword { sipUser password registrar realm } }",
            json!({}),
        )
        .await;
    let sip = &sip["setSipPassword"];
    (
        sip["registrar"]
            .as_str()
            .unwrap()
            .trim_start_matches("sip:")
            .parse()
            .unwrap(),
        sip["realm"].as_str().unwrap().to_string(),
        sip["password"].as_str().unwrap().to_string(),
    )
}

/// Signs a softphone in as the admin.
async fn softphone(admin: &Client) -> Softphone {
    let (registrar, realm, password) = sip_password(admin).await;
    Softphone::start(registrar, &realm, "admin", &password, None)
        .await
        .expect("the softphone signs in")
}

/// `SipBindingsChanged` events in the store.
async fn binding_events(server: &TestServer) -> usize {
    let store = &server.app.state.store;
    let (mut after, mut n) = (LogPosition::START, 0);
    loop {
        let batch = store.read_after(after, 1_000).await.expect("read the log");
        let Some(end) = batch.last() else { return n };
        after = end.position;
        n += batch
            .iter()
            .filter(|e| e.aggregate_type == "SipRegistration")
            .count();
    }
}

/// Waits until the store holds `n` binding events and this node has folded them.
async fn wait_for_binding_events(server: &TestServer, n: usize) {
    let deadline = Instant::now() + WAIT;
    while binding_events(server).await < n {
        assert!(Instant::now() < deadline, "{n} binding events not written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.settle().await;
    assert_eq!(
        binding_events(server).await,
        n,
        "exactly {n} binding events"
    );
}

async fn registered(admin: &Client) -> bool {
    let t = admin.ok("{ telephony { registered } }", json!({})).await;
    t["telephony"]["registered"] == true
}

async fn place(admin: &Client) -> Value {
    admin
        .gql(
            "mutation { placeCall(customerId: \"001-001\") { interaction { id } } }",
            json!({}),
        )
        .await
}

/// Places a call to `001-001` and waits until `phone` has answered it.
async fn call_rings(admin: &Client, phone: &Softphone) {
    let before = phone.calls_answered();
    let placed = place(admin).await;
    assert!(
        placed["data"]["placeCall"]["interaction"].is_object(),
        "{placed}"
    );
    let deadline = Instant::now() + WAIT;
    while phone.calls_answered() == before {
        assert!(Instant::now() < deadline, "the phone did not ring");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn registrations_survive_a_restart(kind: StoreKind) {
    let store = TestStore::new(kind).await;
    let first = server(&store).await;
    let admin = first.admin().await;
    folder(&first, &admin).await;
    let phone = softphone(&admin).await;
    wait_for_binding_events(&first, 1).await;
    first.stop().await;

    // The same store; the phone does not register again. (The SIP port differs: in this test
    // process the first instance's SIP socket outlives it; a restarted `kaden serve` process
    // binds its port again. The phone takes the INVITE from either.)
    let second = server(&store).await;
    let admin = second.admin().await;
    assert!(registered(&admin).await, "the binding is restored");
    call_rings(&admin, &phone).await;
    // Restoring wrote nothing.
    assert_eq!(binding_events(&second).await, 1);
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tel_17_4_registrations_survive_a_restart_sqlite() {
    registrations_survive_a_restart(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tel_17_4_registrations_survive_a_restart_postgres() {
    registrations_survive_a_restart(StoreKind::Postgres).await;
}

async fn expired_registrations_are_not_restored(kind: StoreKind) {
    let store = TestStore::new(kind).await;
    let first = server(&store).await;
    let admin = first.admin().await;
    folder(&first, &admin).await;
    let phone = softphone(&admin).await;
    wait_for_binding_events(&first, 1).await;
    // The phone's last REGISTER (the newest change) asked for a binding that lapses in 300 ms,
    // and it never refreshed (the shortest real interval, 60 s, is too long for a test).
    let now = Utc::now();
    let state = &first.app.state;
    let ctx = kaden_api::commands::RequestContext::system("default");
    let writer = state.commands.writer(&ctx).expect("writer");
    let id = registration_aggregate_id("default", "admin", "short");
    let mut attempt = writer.attempt();
    let mut loaded = writer.load::<SipRegistration>(&id).await.expect("load");
    let record = SipRegistrationCommand::Record {
        tenant_id: "default".into(),
        sip_user: "admin".into(),
        at: now,
        bindings: vec![SipBinding {
            contact: format!("sip:admin@{}", phone.sip_addr()),
            source: phone.sip_addr().to_string(),
            expires_at: now + chrono::Duration::milliseconds(300),
        }],
    };
    writer
        .decide(&mut attempt, &mut loaded, record)
        .await
        .expect("decided");
    writer
        .append(attempt)
        .await
        .expect("appended")
        .expect("no conflict");
    first.stop().await;
    // Let the binding lapse (wall-clock time passing, not an assertion).
    let left = (now + chrono::Duration::milliseconds(400) - Utc::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(left).await;

    let second = server(&store).await;
    let admin = second.admin().await;
    assert!(
        !registered(&admin).await,
        "an expired binding is not restored"
    );
    let placed = place(&admin).await;
    assert_eq!(error_code(&placed), "PHONE_NOT_REGISTERED", "{placed}");
    assert_eq!(phone.calls_answered(), 0);
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tel_17_4_expired_registrations_are_not_restored_sqlite() {
    expired_registrations_are_not_restored(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tel_17_4_expired_registrations_are_not_restored_postgres() {
    expired_registrations_are_not_restored(StoreKind::Postgres).await;
}

/// A user agent of our own on loopback, to REGISTER as often as a test needs.
fn phone_ua() -> UserAgent {
    let t = UdpTransport::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
    let (ep, rx) = Endpoint::start(t, Timers::default());
    UserAgent::start(ep, rx, UaConfig::default(), None).0
}

async fn a_refresh_that_is_no_news_writes_no_event(kind: StoreKind) {
    let store = TestStore::new(kind).await;
    let server = server(&store).await;
    let admin = server.admin().await;
    let (registrar, realm, password) = sip_password(&admin).await;
    let ua = phone_ua();
    let register = |ua: &UserAgent, expires: u32| {
        let (ua, realm, password) = (ua.clone(), realm.clone(), password.clone());
        async move {
            let (code, reason) = ua
                .register(registrar, &realm, "admin", &password, expires)
                .await;
            assert_eq!(code, 200, "{reason}");
        }
    };
    register(&ua, 3600).await;
    wait_for_binding_events(&server, 1).await;
    // Ten refreshes: same contact, expiry only extended.
    for _ in 0..10 {
        register(&ua, 3600).await;
    }
    // News: the phone comes back from another address. Writes are queued in order, so had a
    // refresh written an event it would be in the log before this one.
    let moved = phone_ua();
    register(&moved, 3600).await;
    wait_for_binding_events(&server, 2).await;
    // Unregistering is news as well.
    register(&moved, 0).await;
    wait_for_binding_events(&server, 3).await;
    assert!(registered(&admin).await, "the first address is still bound");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tel_17_4_a_refresh_that_is_no_news_writes_no_event_sqlite() {
    a_refresh_that_is_no_news_writes_no_event(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tel_17_4_a_refresh_that_is_no_news_writes_no_event_postgres() {
    a_refresh_that_is_no_news_writes_no_event(StoreKind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tel_17_4_a_phone_registered_on_one_node_is_reachable_from_another_postgres() {
    let store = TestStore::new(StoreKind::Postgres).await;
    let a = server(&store).await;
    let b = server(&store).await;
    assert_ne!(sip_addr(&a), sip_addr(&b));
    let admin_a = a.admin().await;
    folder(&a, &admin_a).await;
    let phone = softphone(&admin_a).await;
    wait_for_binding_events(&a, 1).await;
    // Node B follows the log; its registrar finds the phone there.
    let head = a.app.state.store.head().await.expect("head");
    b.app
        .state
        .engine
        .wait_for(head, WAIT)
        .await
        .expect("node B catches up");
    let admin_b = b.admin().await;
    assert!(registered(&admin_b).await, "node B knows the binding");
    call_rings(&admin_b, &phone).await;
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tel_17_8_metrics_count_unparseable_sip_datagrams() {
    let store = TestStore::new(StoreKind::Sqlite).await;
    let server = server(&store).await;
    let scrape = || async {
        reqwest::get(server.url("/metrics"))
            .await
            .expect("scrape")
            .text()
            .await
            .expect("text")
    };
    let metrics = scrape().await;
    assert!(
        metrics.contains("kaden_sip_datagrams_unparseable_total 0"),
        "{metrics}"
    );
    for name in [
        "kaden_sip_keepalives_total",
        "kaden_sip_datagrams_too_large_total",
        "kaden_sip_answered_bad_request_total",
        "kaden_sip_shed_total",
        "kaden_sip_shed_unauthenticated_total",
        "kaden_sip_answered_statelessly_total",
    ] {
        assert!(
            metrics.contains(&format!("# TYPE {name} counter")),
            "{name}"
        );
    }
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket
        .send_to(b"\x00\x01 this is not SIP \xff\xfe", sip_addr(&server))
        .await
        .unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let metrics = scrape().await;
        if metrics.contains("kaden_sip_datagrams_unparseable_total 1") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the counter did not move: {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}
