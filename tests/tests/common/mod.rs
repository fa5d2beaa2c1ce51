//! Helpers shared by the users, security, audit and permission tests.

#![allow(dead_code)]

use kaden_projections::log::LogPosition;
use kaden_tests::{Client, TestServer};
use serde_json::{Value, json};

/// A password the default policy accepts.
pub const GOOD_PASSWORD: &str = "blue-violin-harbour-42";

/// Creates a user through the API as `by`; returns its id.
pub async fn create_user(by: &Client, username: &str, role: &str) -> u64 {
    let data = by
        .ok(
            "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } position } }",
            json!({"i": {"username": username, "displayName": format!("{username}さん"), "role": role, "password": GOOD_PASSWORD}}),
        )
        .await;
    data["createUser"]["user"]["id"].as_u64().expect("user id")
}

/// A client logged in as `username` with [`GOOD_PASSWORD`].
pub async fn login_as(server: &TestServer, username: &str) -> Client {
    let mut c = server.client();
    c.login(username, GOOD_PASSWORD).await;
    c
}

/// Waits until every queued access-log entry is stored and folded into the read models.
pub async fn settle_access_log(server: &TestServer) {
    server.settle().await;
}

/// The position of the last event that is not an access-log entry.
pub async fn domain_head(server: &TestServer) -> LogPosition {
    server.domain_head().await
}

/// The first error's message.
pub fn message(response: &Value) -> &str {
    response["errors"][0]["message"]
        .as_str()
        .unwrap_or("<no message>")
}
