//! The tenant's security settings through the API on both stores: IP allow-list on login and
//! every call (SEC-3), idle logout decided by the server (SEC-1), password maximum age and
//! reset passwords (SEC-2), minimum password length, per-user login throttling.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::{GOOD_PASSWORD, create_user, login_as, message};
use cqrs_es::persist::SerializedEvent;
use kaden_api::auth::token_hash;
use kaden_api::commands::RequestContext;
use kaden_domain::access::{IpAllowList, SecuritySettings};
use kaden_domain::metadata::EventMetadata;
use kaden_domain::tenant::{TenantCommand, TenantEvent};
use kaden_projections::log::{EventLog, LogPosition};
use kaden_tests::{ADMIN, Client, StoreKind, Subscription, TestServer, TestStore, error_code};
use serde_json::json;

async fn system_settings(server: &TestServer, settings: SecuritySettings) {
    let ctx = RequestContext::system("default");
    let position = server
        .app
        .state
        .commands
        .tenant(
            "default",
            TenantCommand::ChangeSecuritySettings { settings },
            &ctx,
        )
        .await
        .unwrap()
        .unwrap();
    server
        .app
        .state
        .engine
        .wait_for(position, Duration::from_secs(5))
        .await
        .unwrap();
}

fn session_id(server: &TestServer, client: &Client) -> String {
    let hash = token_hash(client.token.as_deref().unwrap());
    server
        .app
        .state
        .engine
        .read(|m| m.sessions.by_token_hash(&hash).unwrap().session_id.clone())
}

async fn sec_3_ip_allow_list(kind: StoreKind) {
    let place = TestStore::new(kind).await;
    let server = TestServer::start(&place).await;
    let admin = server.admin().await;
    let set = admin
        .ok("mutation { updateSecuritySettings(ipAllowList: [\"10.0.0.0/8\", \" 127.0.0.1 \"]) { settings { ipAllowList } position } }", json!({}))
        .await;
    assert_eq!(
        set["updateSecuritySettings"]["settings"]["ipAllowList"],
        json!(["10.0.0.0/8", "127.0.0.1"])
    );
    assert_eq!(
        admin.ok("{ me { username } }", json!({})).await["me"]["username"],
        ADMIN,
        "an allowed address works"
    );

    // Only 10.0.0.0/8 allowed (set from the command line side): tests connect from 127.0.0.1.
    let only_ten = SecuritySettings {
        ip_allow: IpAllowList::parse(["10.0.0.0/8"]).unwrap(),
        ..SecuritySettings::default()
    };
    system_settings(&server, only_ten).await;
    let refused = admin.gql("{ me { username } }", json!({})).await;
    assert_eq!(error_code(&refused), "ADDRESS_NOT_ALLOWED", "{refused}");
    assert!(
        message(&refused).contains("127.0.0.1"),
        "the refusal names the caller's address: {refused}"
    );
    let login = server
        .client()
        .gql(
            "mutation { login(username: \"admin\", password: \"x\") { token } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&login), "ADDRESS_NOT_ALLOWED", "login too");
    let mut sub = Subscription::open(
        &server,
        admin.token.as_deref(),
        "subscription { campaignChanged { id } }",
    )
    .await;
    let pushed = sub.next_message().await.unwrap();
    assert_eq!(
        pushed["payload"]["errors"][0]["extensions"]["code"], "ADDRESS_NOT_ALLOWED",
        "{pushed}"
    );
    let csv = reqwest::Client::new()
        .get(server.url("/access-log.csv"))
        .bearer_auth(admin.token.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 403, "downloads too");

    system_settings(&server, SecuritySettings::default()).await;
    assert_eq!(
        admin.ok("{ me { username } }", json!({})).await["me"]["username"],
        ADMIN
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_3_ip_allow_list_sqlite() {
    sec_3_ip_allow_list(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_3_ip_allow_list_postgres() {
    sec_3_ip_allow_list(StoreKind::Postgres).await;
}

async fn sec_1_idle_logout(kind: StoreKind) {
    let place = TestStore::new(kind).await;
    let server = TestServer::start(&place).await;
    let admin = server.admin().await;
    admin.ok("mutation { updateSecuritySettings(idleLogoutMinutes: 5) { settings { idleLogoutMinutes } } }", json!({})).await;
    let busy = server.admin().await;
    let idle = server.admin().await;

    // Four idle minutes are fine; the request counts as activity.
    let activity = &server.app.state.activity;
    activity.set_last_seen(
        &session_id(&server, &busy),
        Utc::now() - chrono::Duration::minutes(4),
    );
    busy.ok("{ me { id } }", json!({})).await;
    activity.set_last_seen(
        &session_id(&server, &busy),
        Utc::now() - chrono::Duration::minutes(4),
    );
    busy.ok("{ me { id } }", json!({})).await;

    // Six idle minutes: the server ends the session and says why, then it is simply gone.
    let idle_session = session_id(&server, &idle);
    activity.set_last_seen(&idle_session, Utc::now() - chrono::Duration::minutes(6));
    let expired = idle.gql("{ me { id } }", json!({})).await;
    assert_eq!(error_code(&expired), "SESSION_EXPIRED", "{expired}");
    assert!(message(&expired).contains("5 idle minutes"), "{expired}");
    assert_eq!(
        error_code(&idle.gql("{ me { id } }", json!({})).await),
        "UNAUTHENTICATED"
    );
    let log = server
        .app
        .state
        .store
        .read_after(LogPosition::START, 10_000)
        .await
        .unwrap();
    let ended = log
        .iter()
        .find(|e| e.aggregate_id == idle_session && e.event_type == "SessionEnded")
        .expect("SessionEnded stored");
    assert!(ended.payload.contains("IdleTimeout"), "{}", ended.payload);
    busy.ok("{ me { id } }", json!({})).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_1_idle_logout_sqlite() {
    sec_1_idle_logout(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_1_idle_logout_postgres() {
    sec_1_idle_logout(StoreKind::Postgres).await;
}

/// Stores a `PasswordChanged` dated `days` ago for `user_id`, as if the password were that old.
async fn age_password(server: &TestServer, user_id: u64, days: i64) {
    let state = &server.app.state;
    let log = state
        .store
        .read_after(LogPosition::START, 10_000)
        .await
        .unwrap();
    let sequence = log
        .iter()
        .filter(|e| e.aggregate_type == "Tenant" && e.aggregate_id == "default")
        .map(|e| e.sequence)
        .max()
        .unwrap()
        + 1;
    let hash = state.engine.read(|m| {
        m.directory
            .user("default", user_id)
            .unwrap()
            .password_hash
            .clone()
    });
    let metadata = EventMetadata {
        recorded_at: Utc::now() - chrono::Duration::days(days),
        ..RequestContext::system("default").metadata()
    };
    let event = SerializedEvent {
        aggregate_id: "default".into(),
        sequence: sequence as usize,
        aggregate_type: "Tenant".into(),
        event_type: "PasswordChanged".into(),
        event_version: "1".into(),
        payload: serde_json::to_value(TenantEvent::PasswordChanged {
            user_id,
            password_hash: hash,
        })
        .unwrap(),
        metadata: serde_json::to_value(metadata.to_map()).unwrap(),
    };
    let position = state.store.append(&[event]).await.unwrap().unwrap();
    state
        .engine
        .wait_for(position, Duration::from_secs(5))
        .await
        .unwrap();
}

async fn sec_2_password_max_age_and_policy(kind: StoreKind) {
    let place = TestStore::new(kind).await;
    let server = TestServer::start(&place).await;
    let admin = server.admin().await;
    let op = create_user(&admin, "op1", "OP").await;
    admin.ok("mutation { updateSecuritySettings(passwordMaxAgeDays: 30, minPasswordLength: 16) { position } }", json!({})).await;
    let fresh = login_as(&server, "op1").await;
    assert_eq!(
        fresh.ok("{ me { id } }", json!({})).await["me"]["id"],
        op,
        "a 0-day-old password is fine"
    );

    age_password(&server, op, 31).await;
    let mut old = server.client();
    old.login("op1", GOOD_PASSWORD).await;
    for query in [
        "{ me { id } }",
        "{ campaigns { id } }",
        "mutation { createCampaign(name: \"x\") { position } }",
    ] {
        let r = old.gql(query, json!({})).await;
        assert_eq!(error_code(&r), "PASSWORD_EXPIRED", "{query}: {r}");
        assert!(message(&r).contains("30"), "{r}");
    }
    // Minimum length is the tenant's (16 here), not the default 12.
    let short = old
        .gql("mutation($c: String!) { changeOwnPassword(currentPassword: $c, newPassword: \"thirteen-char\") { position } }", json!({"c": GOOD_PASSWORD}))
        .await;
    assert_eq!(error_code(&short), "PASSWORD_TOO_SHORT");
    assert!(message(&short).contains("at least 16"), "{short}");
    old.ok("mutation($c: String!) { changeOwnPassword(currentPassword: $c, newPassword: \"a-much-longer-passphrase\") { position } }", json!({"c": GOOD_PASSWORD}))
        .await;
    assert_eq!(
        old.ok("{ me { id } }", json!({})).await["me"]["id"],
        op,
        "after the change the session works"
    );
    assert_eq!(
        old.ok("mutation { logout }", json!({})).await["logout"],
        true
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_2_password_max_age_and_policy_sqlite() {
    sec_2_password_max_age_and_policy(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_2_password_max_age_and_policy_postgres() {
    sec_2_password_max_age_and_policy(StoreKind::Postgres).await;
}

async fn sec_login_throttled_per_user(kind: StoreKind) {
    let place = TestStore::new(kind).await;
    let server = TestServer::start(&place).await;
    let admin = server.admin().await;
    let op = create_user(&admin, "op1", "OP").await;
    create_user(&admin, "op2", "OP").await;
    let c = server.client();
    for _ in 0..10 {
        let r = c
            .gql(
                "mutation { login(username: \"OP1\", password: \"wrong-password-123\") { token } }",
                json!({}),
            )
            .await;
        assert_eq!(error_code(&r), "BAD_CREDENTIALS");
    }
    let right = c
        .gql(
            "mutation($p: String!) { login(username: \"op1\", password: $p) { token } }",
            json!({"p": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(error_code(&right), "LOGIN_THROTTLED", "{right}");
    let text = message(&right);
    assert!(
        text.contains("Asia/Tokyo") && text.contains("ask a manager"),
        "the wait is given in the configured zone: {text}"
    );
    login_as(&server, "op2").await;
    let log = server
        .app
        .state
        .store
        .read_after(LogPosition::START, 10_000)
        .await
        .unwrap();
    assert_eq!(
        log.iter()
            .filter(|e| e.event_type == "LoginRefused" && e.payload.contains("WrongPassword"))
            .count(),
        10
    );
    assert_eq!(
        log.iter()
            .filter(|e| e.event_type == "LoginRefused" && e.payload.contains("Throttled"))
            .count(),
        1
    );
    // A manager's reset lets the user in again at once.
    admin.ok("mutation($id: Int!) { resetPassword(id: $id, newPassword: \"reset-by-manager-99\") { position } }", json!({"id": op})).await;
    let mut again = server.client();
    again.login("op1", "reset-by-manager-99").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_login_throttled_per_user_sqlite() {
    sec_login_throttled_per_user(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_login_throttled_per_user_postgres() {
    sec_login_throttled_per_user(StoreKind::Postgres).await;
}
