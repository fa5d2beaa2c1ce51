//! USR-6 through the API: the whole permission matrix (every capability that has an API
//! operation today × every role: allowed, or FORBIDDEN naming the capability), and tenant
//! isolation (USR-7): two tenants by Host header, nothing of one readable or changeable from
//! the other, through queries, mutations and subscriptions.

mod common;

use std::collections::HashMap;

use common::{GOOD_PASSWORD, create_user, login_as};
use futures::{SinkExt, StreamExt};
use kaden_domain::access::{Capability, Role, scope};
use kaden_tests::{StoreKind, TestServer, TestStore, error_code};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// One API operation per capability that has one today.
enum Probe {
    Graphql(&'static str),
    Get(&'static str),
}

fn probes() -> Vec<(Capability, Probe)> {
    vec![
        (
            Capability::CampaignView,
            Probe::Graphql("{ campaigns { id } }"),
        ),
        (
            Capability::CampaignEdit,
            Probe::Graphql("mutation { createCampaign(name: \"権限確認\") { position } }"),
        ),
        (Capability::UserManage, Probe::Graphql("{ users { id } }")),
        (
            Capability::UserDelete,
            Probe::Graphql("mutation { deleteUser(id: 999) { id } }"),
        ),
        (
            Capability::SecuritySettings,
            Probe::Graphql("{ securitySettings { minPasswordLength } }"),
        ),
        (
            Capability::AccessLogView,
            Probe::Graphql("{ accessLog(first: 1) { hasNextPage } }"),
        ),
        (Capability::AccessLogExport, Probe::Get("/access-log.csv")),
        (Capability::ListView, Probe::Graphql("{ folders { id } }")),
        (
            Capability::ListEdit,
            Probe::Graphql("mutation { renameFolder(id: 999, name: \"x\") { __typename } }"),
        ),
        (Capability::CsvExport, Probe::Get("/api/folders/999/export")),
        (
            Capability::CustomerEdit,
            Probe::Graphql("mutation { editCustomer(id: \"999-1\", fields: []) { id } }"),
        ),
        (
            Capability::DncView,
            Probe::Graphql("{ dncRegistrations { __typename } }"),
        ),
        (
            Capability::DncRegister,
            Probe::Graphql("mutation { registerDnc(numbers: [\"abc\"]) { __typename } }"),
        ),
        (
            Capability::DncEdit,
            Probe::Graphql("mutation { unregisterDnc(ids: [999]) { __typename } }"),
        ),
        (
            Capability::CallScreen,
            Probe::Graphql("{ telephony { realm } }"),
        ),
        (
            Capability::HistorySearch,
            Probe::Graphql("{ interaction(id: \"x\") { id } }"),
        ),
        (
            Capability::InteractionEdit,
            Probe::Graphql(
                "mutation { saveResult(interactionId: \"x\", status: \"不通\") { id } }",
            ),
        ),
        (
            Capability::HistorySearch,
            Probe::Get("/api/recordings/x.wav"),
        ),
    ]
}

async fn usr_6_permission_matrix(kind: StoreKind) {
    let place = TestStore::new(kind).await;
    let server = TestServer::start(&place).await;
    let admin = server.admin().await;
    let mut clients = vec![(Role::Mgr, admin)];
    for role in [Role::Sv, Role::Op, Role::Biz, Role::By] {
        let name = format!("user-{}", role.code().to_lowercase());
        create_user(&clients[0].1, &name, role.code()).await;
        clients.push((role, login_as(&server, &name).await));
    }
    let http = reqwest::Client::new();
    let mut checked = 0;
    for (capability, probe) in probes() {
        for (role, client) in &clients {
            let (code, text) = match &probe {
                Probe::Graphql(query) => {
                    let r = client.gql(query, json!({})).await;
                    let code = r["errors"][0]["extensions"]["code"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    (
                        code,
                        r["errors"][0]["message"].as_str().unwrap_or("").to_string(),
                    )
                }
                Probe::Get(path) => {
                    let r = http
                        .get(server.url(path))
                        .bearer_auth(client.token.as_deref().unwrap())
                        .send()
                        .await
                        .unwrap();
                    if r.status().is_success() {
                        (String::new(), String::new())
                    } else {
                        let body: Value = r.json().await.unwrap();
                        (
                            body["code"].as_str().unwrap_or("").to_string(),
                            body["message"].as_str().unwrap_or("").to_string(),
                        )
                    }
                }
            };
            if scope(*role, capability).is_allowed() {
                assert_ne!(
                    code, "FORBIDDEN",
                    "{role} should be allowed {capability}: {text}"
                );
            } else {
                assert_eq!(code, "FORBIDDEN", "{role} should be refused {capability}");
                assert!(
                    text.contains(capability.name()),
                    "the refusal names {capability}: {text}"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, probes().len() * Role::ALL.len());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usr_6_permission_matrix_sqlite() {
    usr_6_permission_matrix(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usr_6_permission_matrix_postgres() {
    usr_6_permission_matrix(StoreKind::Postgres).await;
}

/// A GraphQL client that names its tenant by the Host header.
struct TenantClient {
    http: reqwest::Client,
    url: String,
    host: &'static str,
    token: Option<String>,
}

impl TenantClient {
    async fn gql(&self, query: &str, variables: Value) -> Value {
        let mut r = self
            .http
            .post(&self.url)
            .header("host", self.host)
            .json(&json!({"query": query, "variables": variables}));
        if let Some(t) = &self.token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap().json().await.unwrap()
    }

    async fn ok(&self, query: &str, variables: Value) -> Value {
        let r = self.gql(query, variables).await;
        assert!(
            r.get("errors").is_none(),
            "{} unexpected errors: {r}",
            self.host
        );
        r["data"].clone()
    }

    async fn login(
        server: &TestServer,
        host: &'static str,
        username: &str,
        password: &str,
    ) -> Self {
        let mut c = Self {
            http: reqwest::Client::new(),
            url: server.url("/graphql"),
            host,
            token: None,
        };
        let r = c.ok("mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }", json!({"u": username, "p": password})).await;
        c.token = r["login"]["token"].as_str().map(str::to_string);
        c
    }
}

async fn usr_7_tenant_isolation(kind: StoreKind) {
    let place = TestStore::new(kind).await;
    let mut settings = place.settings();
    settings.tenant_hosts = HashMap::from([
        ("alpha.test".to_string(), "alpha".to_string()),
        ("beta.test".to_string(), "beta".to_string()),
    ]);
    let server = TestServer::start_with(settings).await;
    for tenant in ["alpha", "beta"] {
        kaden_api::app::create_manager(&server.app.state, tenant, "mgr", GOOD_PASSWORD)
            .await
            .unwrap();
    }
    let a = TenantClient::login(&server, "alpha.test", "mgr", GOOD_PASSWORD).await;
    let b = TenantClient::login(&server, "beta.test", "mgr", GOOD_PASSWORD).await;
    let create = "mutation($u: String!) { createUser(input: {username: $u, displayName: \"x\", role: \"OP\", password: \"blue-violin-harbour-42\"}) { user { id } } }";
    assert_eq!(
        a.ok(create, json!({"u": "op-a"})).await["createUser"]["user"]["id"],
        2
    );
    assert_eq!(
        b.ok(create, json!({"u": "op-b"})).await["createUser"]["user"]["id"],
        2
    );
    assert_eq!(
        b.ok(create, json!({"u": "op-b2"})).await["createUser"]["user"]["id"],
        3
    );
    let b_campaign = b
        .ok(
            "mutation { createCampaign(name: \"B案件\") { campaign { id } } }",
            json!({}),
        )
        .await["createCampaign"]["campaign"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // A subscribes to campaign changes before B writes.
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{}/graphql/ws",
            server.addr
        ))
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    request
        .headers_mut()
        .insert("Host", "alpha.test".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::text(
        json!({"type": "connection_init", "payload": {"token": a.token}}).to_string(),
    ))
    .await
    .unwrap();
    let ack = ws.next().await.unwrap().unwrap();
    assert!(ack.to_text().unwrap().contains("connection_ack"), "{ack}");
    ws.send(Message::text(json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { campaignChanged { name } }"}}).to_string())).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    // Queries: A sees only its own.
    let users = a
        .ok("{ users(includeDeleted: true) { username } }", json!({}))
        .await;
    assert_eq!(
        users["users"],
        json!([{"username": "mgr"}, {"username": "op-a"}])
    );
    assert_eq!(
        error_code(&a.gql("{ user(id: 3) { id } }", json!({})).await),
        "NOT_FOUND"
    );
    assert_eq!(
        a.ok("{ campaigns { id } }", json!({})).await["campaigns"],
        json!([])
    );
    assert_eq!(
        error_code(
            &a.gql(
                "query($id: String!) { campaign(id: $id) { id } }",
                json!({"id": b_campaign})
            )
            .await
        ),
        "NOT_FOUND"
    );

    // Mutations: A's ids reach A's users only; B's ids are unknown to A.
    a.ok(
        "mutation { updateUser(id: 2, displayName: \"A変更\") { position } }",
        json!({}),
    )
    .await;
    assert_eq!(
        error_code(
            &a.gql(
                "query($id: String!) { x: campaign(id: $id) { id } }",
                json!({"id": b_campaign})
            )
            .await
        ),
        "NOT_FOUND"
    );
    assert_eq!(error_code(&a.gql("mutation($id: String!) { renameCampaign(id: $id, name: \"乗っ取り\") { position } }", json!({"id": b_campaign})).await), "NOT_FOUND");
    assert_eq!(
        error_code(
            &a.gql(
                "mutation($id: String!) { deactivateCampaign(id: $id) { position } }",
                json!({"id": b_campaign})
            )
            .await
        ),
        "NOT_FOUND"
    );
    assert_eq!(
        error_code(
            &a.gql("mutation { deleteUser(id: 3) { id } }", json!({}))
                .await
        ),
        "NOT_FOUND"
    );
    assert_eq!(error_code(&a.gql("mutation { resetPassword(id: 3, newPassword: \"blue-violin-harbour-43\") { position } }", json!({})).await), "NOT_FOUND");
    a.ok("mutation { updateSecuritySettings(minPasswordLength: 20, idleLogoutMinutes: 30) { position } }", json!({})).await;
    let b_users = b
        .ok("{ users { id username displayName } }", json!({}))
        .await;
    assert_eq!(
        b_users["users"][1],
        json!({"id": 2, "username": "op-b", "displayName": "x"})
    );
    assert_eq!(b_users["users"].as_array().unwrap().len(), 3);
    let b_campaigns = b.ok("{ campaigns { name active } }", json!({})).await;
    assert_eq!(
        b_campaigns["campaigns"],
        json!([{"name": "B案件", "active": true}])
    );
    assert_eq!(
        b.ok(
            "{ securitySettings { minPasswordLength idleLogoutMinutes } }",
            json!({})
        )
        .await["securitySettings"],
        json!({"minPasswordLength": 12, "idleLogoutMinutes": null})
    );

    // Sessions belong to their tenant: A's token means nothing at B's host.
    let stolen = TenantClient {
        http: reqwest::Client::new(),
        url: server.url("/graphql"),
        host: "beta.test",
        token: a.token.clone(),
    };
    assert_eq!(
        error_code(&stolen.gql("{ me { id } }", json!({})).await),
        "UNAUTHENTICATED"
    );
    let wrong_tenant = TenantClient {
        http: reqwest::Client::new(),
        url: server.url("/graphql"),
        host: "alpha.test",
        token: None,
    };
    assert_eq!(error_code(&wrong_tenant.gql("mutation { login(username: \"op-b\", password: \"blue-violin-harbour-42\") { token } }", json!({})).await), "BAD_CREDENTIALS");

    // Subscriptions: B's changes never reach A; A's own change is the first thing A sees.
    b.ok(
        "mutation { createCampaign(name: \"B2\") { position } }",
        json!({}),
    )
    .await;
    a.ok(
        "mutation { createCampaign(name: \"A案件\") { position } }",
        json!({}),
    )
    .await;
    let pushed: Value = loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "next" {
                break v;
            }
        }
    };
    assert_eq!(
        pushed["payload"]["data"]["campaignChanged"]["name"], "A案件",
        "{pushed}"
    );

    // The access log is per tenant too.
    common::settle_access_log(&server).await;
    let a_log = a
        .ok(
            "{ accessLog(first: 500) { entries { username operation } } }",
            json!({}),
        )
        .await;
    let a_entries = a_log["accessLog"]["entries"].as_array().unwrap();
    assert!(!a_entries.is_empty());
    assert_eq!(
        a_entries
            .iter()
            .filter(|e| e["operation"] == "createUser")
            .count(),
        1,
        "A created one user, B two: {a_entries:?}"
    );
    assert!(
        !a_entries
            .iter()
            .any(|e| e["operation"] == "securitySettings"),
        "B's reads are not in A's log"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usr_7_tenant_isolation_sqlite() {
    usr_7_tenant_isolation(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usr_7_tenant_isolation_postgres() {
    usr_7_tenant_isolation(StoreKind::Postgres).await;
}

/// Issue 12 item 11: the allowed side of `customer_edit` (USR-6) asserted as success, not just
/// "not FORBIDDEN": MGR and SV edit any folder's customers; OP and BY those of folders open to
/// them (LST-1) — another folder is FOLDER_NOT_PERMITTED; BIZ is refused.
async fn usr_6_customer_edit_allowed_side(kind: StoreKind) {
    let place = TestStore::new(kind).await;
    let server = TestServer::start(&place).await;
    let admin = server.admin().await;
    let campaign = kaden_tests::ready_campaign(&server, &admin, "編集の案件").await;
    let mut folders = Vec::new();
    for name in ["許可あり", "許可なし"] {
        let created = admin
            .ok(
                "mutation($c: String!, $n: String!) { createFolder(campaignId: $c, name: $n, columns: [\"電話番号\", \"会社名\"], rows: [[\"03-5555-0001\", \"一社\"]]) { folder { id } } }",
                json!({"c": campaign, "n": name}),
            )
            .await;
        folders.push(created["createFolder"]["folder"]["id"].as_u64().unwrap());
    }
    let mut ids = HashMap::new();
    let mut clients = Vec::new();
    for role in [Role::Sv, Role::Op, Role::Biz, Role::By] {
        let name = format!("edit-{}", role.code().to_lowercase());
        ids.insert(role, create_user(&admin, &name, role.code()).await);
        clients.push((role, login_as(&server, &name).await));
    }
    let permitted: Vec<u64> = ids.values().copied().collect();
    admin
        .ok(
            "mutation($f: Int!, $u: [Int!]!) { setFolderUsers(id: $f, userIds: $u) { position } }",
            json!({"f": folders[0], "u": permitted}),
        )
        .await;
    let edit = "mutation($id: String!, $v: String!) { editCustomer(id: $id, fields: [{column: \"会社名\", value: $v}]) { id fields { column value } } }";
    let company = |answer: &Value| {
        answer["data"]["editCustomer"]["fields"]
            .as_array()
            .and_then(|f| f.iter().find(|x| x["column"] == "会社名"))
            .map(|x| x["value"].as_str().unwrap_or("").to_string())
    };
    let open = format!("{:03}-001", folders[0]);
    let closed = format!("{:03}-001", folders[1]);
    let answer = admin
        .gql(edit, json!({"id": open, "v": "管理者が編集"}))
        .await;
    assert_eq!(
        company(&answer).as_deref(),
        Some("管理者が編集"),
        "{answer}"
    );
    for (role, client) in &clients {
        let value = format!("{role}が編集");
        let answer = client.gql(edit, json!({"id": open, "v": value})).await;
        let elsewhere = client.gql(edit, json!({"id": closed, "v": value})).await;
        match role {
            Role::Biz => {
                assert_eq!(error_code(&answer), "FORBIDDEN", "{answer}");
                assert_eq!(error_code(&elsewhere), "FORBIDDEN", "{elsewhere}");
            }
            Role::Sv => {
                assert_eq!(
                    company(&answer).as_deref(),
                    Some(value.as_str()),
                    "{answer}"
                );
                assert_eq!(
                    company(&elsewhere).as_deref(),
                    Some(value.as_str()),
                    "{elsewhere}"
                );
            }
            _ => {
                assert_eq!(
                    company(&answer).as_deref(),
                    Some(value.as_str()),
                    "{role}: {answer}"
                );
                assert_eq!(
                    error_code(&elsewhere),
                    "FOLDER_NOT_PERMITTED",
                    "{role}: {elsewhere}"
                );
            }
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usr_6_customer_edit_allowed_side_sqlite() {
    usr_6_customer_edit_allowed_side(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usr_6_customer_edit_allowed_side_postgres() {
    usr_6_customer_edit_allowed_side(StoreKind::Postgres).await;
}
