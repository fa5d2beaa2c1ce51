//! Issue 12 item 1 (SEC-1, USR-3): rights end the moment a session ends — over real
//! WebSockets. A socket closes when its session is logged out, when another session changes
//! the user's password (every other session ends with it) or a manager resets it, when the
//! user's role changes, and when the user is deleted. The session that changed its own
//! password goes on.

use std::time::{Duration, Instant};

use kaden_tests::{Client, StoreKind, Subscription, TestServer, TestStore, error_code};
use serde_json::json;

mod common;
use common::{GOOD_PASSWORD, create_user, login_as};

/// A subscription every role with a call screen may open.
const SUBSCRIBE: &str = "subscription { callChanged { id } }";

/// Waits for the server to close the socket (a few seconds at most).
async fn closes(socket: &mut Subscription, why: &str) {
    let started = Instant::now();
    let next = socket.next_message().await;
    assert!(
        next.is_none() && started.elapsed() < Duration::from_secs(8),
        "{why}: the socket stays open ({next:?})"
    );
}

fn token(c: &Client) -> String {
    c.token.clone().expect("logged in")
}

async fn sec_1_sockets_close_when_rights_end(kind: StoreKind) {
    let store = TestStore::new(kind).await;
    let server = TestServer::start(&store).await;
    let admin = server.admin().await;
    let op = create_user(&admin, "sato", "OP").await;

    // Logout.
    let sato = login_as(&server, "sato").await;
    let mut socket = Subscription::open(&server, Some(&token(&sato)), SUBSCRIBE).await;
    sato.ok("mutation { logout }", json!({})).await;
    closes(&mut socket, "logout").await;

    // Another session changes the password: this one ends, that one goes on.
    let first = login_as(&server, "sato").await;
    let second = login_as(&server, "sato").await;
    let mut socket = Subscription::open(&server, Some(&token(&first)), SUBSCRIBE).await;
    let new_password = "a-brand-new-password-77";
    second
        .ok(
            "mutation($c: String!, $n: String!) { changeOwnPassword(currentPassword: $c, newPassword: $n) { position } }",
            json!({"c": GOOD_PASSWORD, "n": new_password}),
        )
        .await;
    closes(&mut socket, "password changed elsewhere").await;
    let refused = first.gql("{ me { id } }", json!({})).await;
    assert_eq!(error_code(&refused), "UNAUTHENTICATED", "{refused}");
    let me = second.ok("{ me { id } }", json!({})).await;
    assert_eq!(me["me"]["id"], op, "the changing session goes on");

    // A manager's reset ends every session of the user.
    let mut socket = Subscription::open(&server, Some(&token(&second)), SUBSCRIBE).await;
    admin
        .ok(
            "mutation($id: Int!, $p: String!) { resetPassword(id: $id, newPassword: $p) { position } }",
            json!({"id": op, "p": "reset-by-the-manager-42"}),
        )
        .await;
    closes(&mut socket, "password reset").await;
    let refused = second.gql("{ me { id } }", json!({})).await;
    assert_eq!(error_code(&refused), "UNAUTHENTICATED", "{refused}");

    // A role change (after the user chose their own password again).
    let mut sato = server.client();
    sato.login("sato", "reset-by-the-manager-42").await;
    sato.ok(
        "mutation($c: String!, $n: String!) { changeOwnPassword(currentPassword: $c, newPassword: $n) { position } }",
        json!({"c": "reset-by-the-manager-42", "n": "sato-own-password-99"}),
    )
    .await;
    let mut socket = Subscription::open(&server, Some(&token(&sato)), SUBSCRIBE).await;
    admin
        .ok(
            "mutation($id: Int!) { updateUser(id: $id, role: \"SV\") { position } }",
            json!({"id": op}),
        )
        .await;
    closes(&mut socket, "role changed").await;

    // Deletion.
    let mut sato = server.client();
    sato.login("sato", "sato-own-password-99").await;
    let mut socket = Subscription::open(&server, Some(&token(&sato)), SUBSCRIBE).await;
    admin
        .ok(
            "mutation($id: Int!) { deleteUser(id: $id) { id } }",
            json!({"id": op}),
        )
        .await;
    closes(&mut socket, "user deleted").await;

    // The allowed side: an untouched session's socket stays open and keeps streaming.
    let mut socket = Subscription::open(
        &server,
        Some(&token(&admin)),
        "subscription { campaignChanged { id } }",
    )
    .await;
    admin
        .ok(
            "mutation { createCampaign(name: \"春\") { position } }",
            json!({}),
        )
        .await;
    let pushed = socket.next_message().await.expect("still open");
    assert_eq!(pushed["type"], "next", "{pushed}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_1_sockets_close_when_rights_end_sqlite() {
    sec_1_sockets_close_when_rights_end(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_1_sockets_close_when_rights_end_postgres() {
    sec_1_sockets_close_when_rights_end(StoreKind::Postgres).await;
}
