//! GraphQL end to end over HTTP and WebSocket against a running server, on both stores:
//! login, the campaign slice, subscriptions, errors with codes, cookies with CSRF, roles.

use kaden_api::auth::hash_password;
use kaden_api::commands::RequestContext;
use kaden_domain::access::Role;
use kaden_domain::tenant::TenantCommand;
use kaden_projections::log::EventLog;
use kaden_tests::{ADMIN, StoreKind, Subscription, TestServer, TestStore, error_code};
use serde_json::json;

const CAMPAIGN: &str = "campaign { id name active activeMark createdAt } position";

async fn campaign_slice(kind: StoreKind) {
    let place = TestStore::new(kind).await;
    let server = TestServer::start(&place).await;
    let admin = server.admin().await;

    // Subscribe first, then change campaigns.
    let mut sub = Subscription::open(
        &server,
        admin.token.as_deref(),
        "subscription { campaignChanged { id name active } }",
    )
    .await;

    let created = admin
        .ok(
            &format!("mutation {{ createCampaign(name: \" 春の案件 \") {{ {CAMPAIGN} }} }}"),
            json!({}),
        )
        .await;
    let spring = created["createCampaign"]["campaign"].clone();
    assert_eq!(spring["name"], "春の案件", "names are trimmed");
    assert_eq!(spring["active"], true);
    assert_eq!(spring["activeMark"], "○");
    assert!(
        spring["createdAt"].as_str().unwrap().ends_with("+09:00"),
        "times are shown in Asia/Tokyo: {spring}"
    );
    let id = spring["id"].as_str().unwrap().to_string();
    let pushed = sub.next_message().await.unwrap();
    assert_eq!(pushed["type"], "next", "{pushed}");
    assert_eq!(
        pushed["payload"]["data"]["campaignChanged"]["name"],
        "春の案件"
    );

    let autumn = admin
        .ok(
            &format!("mutation {{ createCampaign(name: \"秋の案件\") {{ {CAMPAIGN} }} }}"),
            json!({}),
        )
        .await;
    let autumn_id = autumn["createCampaign"]["campaign"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        sub.next_message().await.unwrap()["payload"]["data"]["campaignChanged"]["name"],
        "秋の案件"
    );

    let renamed = admin
        .ok(&format!("mutation($id: String!) {{ renameCampaign(id: $id, name: \"夏の案件\") {{ {CAMPAIGN} }} }}"), json!({"id": id}))
        .await;
    assert_eq!(renamed["renameCampaign"]["campaign"]["name"], "夏の案件");
    let pushed = sub.next_message().await.unwrap();
    assert_eq!(
        pushed["payload"]["data"]["campaignChanged"],
        json!({"id": id, "name": "夏の案件", "active": true})
    );

    // CMP-6: deactivated campaigns sort last and can be filtered out.
    let off = admin
        .ok(
            &format!("mutation($id: String!) {{ deactivateCampaign(id: $id) {{ {CAMPAIGN} }} }}"),
            json!({"id": id}),
        )
        .await;
    assert_eq!(off["deactivateCampaign"]["campaign"]["activeMark"], "×");
    assert_eq!(
        sub.next_message().await.unwrap()["payload"]["data"]["campaignChanged"]["active"],
        false
    );
    let list = admin.ok("{ campaigns { id active } }", json!({})).await;
    assert_eq!(
        list["campaigns"],
        json!([{"id": autumn_id, "active": true}, {"id": id, "active": false}])
    );
    let active_only = admin
        .ok("{ campaigns(includeInactive: false) { id } }", json!({}))
        .await;
    assert_eq!(active_only["campaigns"], json!([{"id": autumn_id}]));
    let on = admin
        .ok(
            &format!("mutation($id: String!) {{ activateCampaign(id: $id) {{ {CAMPAIGN} }} }}"),
            json!({"id": id}),
        )
        .await;
    assert_eq!(on["activateCampaign"]["campaign"]["active"], true);
    let unchanged = admin
        .ok(
            &format!("mutation($id: String!) {{ activateCampaign(id: $id) {{ {CAMPAIGN} }} }}"),
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        unchanged["activateCampaign"]["position"],
        json!(null),
        "nothing to change, nothing written"
    );

    // Refusals carry a code and say how to fix the input; nothing is written.
    let before = server.domain_head().await;
    let empty = admin
        .gql(
            "mutation { createCampaign(name: \"   \") { position } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&empty), "NAME_EMPTY");
    assert!(
        empty["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("1 to 100")
    );
    let long = admin
        .gql(
            "mutation($n: String!) { createCampaign(name: $n) { position } }",
            json!({"n": "あ".repeat(101)}),
        )
        .await;
    assert_eq!(error_code(&long), "NAME_TOO_LONG");
    let missing = admin
        .gql(
            "mutation { renameCampaign(id: \"no-such-id\", name: \"x\") { position } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&missing), "NOT_FOUND");
    let unknown = admin
        .gql("{ campaign(id: \"no-such-id\") { id } }", json!({}))
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    assert_eq!(server.domain_head().await, before);

    // Every operation except login needs a session.
    let anonymous = server.client();
    assert_eq!(
        error_code(&anonymous.gql("{ campaigns { id } }", json!({})).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        error_code(
            &anonymous
                .gql(
                    "mutation { createCampaign(name: \"x\") { position } }",
                    json!({})
                )
                .await
        ),
        "UNAUTHENTICATED"
    );
    let mut anonymous_sub =
        Subscription::open(&server, None, "subscription { campaignChanged { id } }").await;
    let refused = anonymous_sub.next_message().await.unwrap();
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{refused}"
    );
    assert_eq!(refused["payload"]["data"], json!(null));

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_slice_sqlite() {
    campaign_slice(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_slice_postgres() {
    campaign_slice(StoreKind::Postgres).await;
}

async fn sessions_and_roles(kind: StoreKind) {
    let place = TestStore::new(kind).await;
    let server = TestServer::start(&place).await;

    // Wrong passwords and unknown users get the same answer, and are recorded.
    let mut c = server.client();
    let wrong = c
        .gql(
            "mutation { login(username: \"admin\", password: \"nope\") { token } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&wrong), "BAD_CREDENTIALS");
    let unknown = c
        .gql(
            "mutation { login(username: \"ghost\", password: \"nope\") { token } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&unknown), "BAD_CREDENTIALS");
    let refusals = server
        .app
        .state
        .store
        .read_after(Default::default(), 100)
        .await
        .unwrap();
    assert_eq!(
        refusals
            .iter()
            .filter(|r| r.event_type == "LoginRefused")
            .count(),
        2
    );

    // The browser path: an HttpOnly cookie, and a CSRF header required with it.
    let login = c.login(ADMIN, kaden_tests::ADMIN_PASSWORD).await;
    assert_eq!(login["data"]["login"]["user"]["role"], "MGR");
    let token = c.token.take().unwrap();
    let no_csrf = c.gql("{ me { username } }", json!({})).await;
    assert_eq!(error_code(&no_csrf), "CSRF_TOKEN_MISSING");
    let with_csrf: serde_json::Value = c
        .http
        .post(&c.url)
        .header("x-csrf-token", c.csrf.clone().unwrap())
        .json(&json!({"query": "{ me { username roleLabel } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(with_csrf["data"]["me"]["username"], "admin", "{with_csrf}");
    let raw = reqwest::Client::new()
        .post(server.url("/graphql"))
        .json(&json!({"query": "mutation { login(username: \"admin\", password: \"correct-horse-battery-staple\") { token } }"}))
        .send()
        .await
        .unwrap();
    let cookie = raw
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );

    // GraphQL only over POST with JSON: no forms a foreign page could submit.
    let form = reqwest::Client::new()
        .post(server.url("/graphql"))
        .body("query={me{username}}")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);

    // Logout ends the session everywhere at once.
    c.token = Some(token);
    assert_eq!(c.ok("mutation { logout }", json!({})).await["logout"], true);
    assert_eq!(
        error_code(&c.gql("{ me { username } }", json!({})).await),
        "UNAUTHENTICATED"
    );

    // Roles come from the one permission table: an operator may not manage campaigns.
    let ctx = RequestContext::system("default");
    let hash = hash_password("operator-password-1".into()).await.unwrap();
    let register = TenantCommand::RegisterUser {
        username: "op1".into(),
        display_name: "佐藤".into(),
        role: Role::Op,
        password_hash: hash,
    };
    let position = server
        .app
        .state
        .commands
        .tenant("default", register, &ctx)
        .await
        .unwrap()
        .unwrap();
    server
        .app
        .state
        .engine
        .wait_for(position, std::time::Duration::from_secs(5))
        .await
        .unwrap();
    let mut op = server.client();
    op.login("op1", "operator-password-1").await;
    let refused = op
        .gql(
            "mutation { createCampaign(name: \"x\") { position } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("campaign_edit"),
        "{refused}"
    );
    assert_eq!(
        error_code(&op.gql("{ campaigns { id } }", json!({})).await),
        "FORBIDDEN"
    );
    assert_eq!(
        op.ok("{ me { role } }", json!({})).await["me"]["role"],
        "OP"
    );

    // Read-your-writes from any node: wait for a position; a malformed one is refused.
    let admin = server.admin().await;
    let written = admin
        .ok(
            "mutation { createCampaign(name: \"位置\") { position } }",
            json!({}),
        )
        .await;
    let position = written["createCampaign"]["position"]
        .as_str()
        .unwrap()
        .to_string();
    let read = admin
        .gql_with_header(
            "x-kaden-after",
            &position,
            "{ campaigns { name } }",
            json!({}),
        )
        .await;
    assert_eq!(read["data"]["campaigns"][0]["name"], "位置");
    let bad = admin
        .gql_with_header("x-kaden-after", "soon", "{ campaigns { name } }", json!({}))
        .await;
    assert_eq!(error_code(&bad), "BAD_POSITION");

    // Health, readiness, metrics.
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    assert_eq!(
        http.get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let metrics = http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("kaden_events_appended_total"), "{metrics}");
    assert!(
        metrics.contains("kaden_projection_lag_events 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kaden_http_request_duration_seconds_count"),
        "{metrics}"
    );
    let graphiql = http
        .get(server.url("/graphiql"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(graphiql.contains("/graphql/ws"));

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_roles_sqlite() {
    sessions_and_roles(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_roles_postgres() {
    sessions_and_roles(StoreKind::Postgres).await;
}
