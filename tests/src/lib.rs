//! # kaden-tests
//!
//! Helpers for whole-system tests: a fresh store of either kind per test (PostgreSQL: a new
//! database on the local server, dropped afterwards; SQLite: a temporary folder), Kaden served
//! on port 0, and GraphQL clients over HTTP and WebSocket.
//!
//! ## Layout
//! - `lib.rs`: `StoreKind`, `TestStore`, `TestServer`, `Client`, `Subscription`.
//! - `tests/`: one file per area (store contract, projections, API end to end, process).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use kaden_api::App;
use kaden_api::config::Settings;
use kaden_api::store::StoreConfig;
use serde_json::{Value, json};
use sqlx::{Connection, Executor};
use tokio_tungstenite::tungstenite::Message;

/// The PostgreSQL server tests use (an admin URL; each test makes its own database on it).
pub fn postgres_admin_url() -> String {
    std::env::var("KADEN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Sqlite,
    Postgres,
}

/// A fresh, empty store location that is removed when dropped.
pub struct TestStore {
    pub kind: StoreKind,
    pub dir: PathBuf,
    pub database_url: Option<String>,
    database: Option<String>,
}

impl TestStore {
    pub async fn new(kind: StoreKind) -> Self {
        let id = uuid::Uuid::now_v7().simple().to_string();
        let dir = std::env::temp_dir().join(format!("kaden-test-{id}"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (database_url, database) = match kind {
            StoreKind::Sqlite => (None, None),
            StoreKind::Postgres => {
                // `KADEN_TEST_DB_PREFIX` lets a CI run find (and drop) exactly its own databases.
                let prefix = std::env::var("KADEN_TEST_DB_PREFIX")
                    .ok()
                    .filter(|p| {
                        !p.is_empty()
                            && p.bytes()
                                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                    })
                    .unwrap_or_else(|| "kaden_test_".to_string());
                let name = format!("{prefix}{id}");
                let admin = postgres_admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL must run at {admin} for these tests (set KADEN_TEST_DATABASE_URL): {e}"));
                conn.execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("create test database");
                let mut url = url::Url::parse(&admin).expect("admin url");
                url.set_path(&name);
                (Some(url.to_string()), Some(name))
            }
        };
        Self {
            kind,
            dir,
            database_url,
            database,
        }
    }

    pub fn config(&self) -> StoreConfig {
        self.settings().store()
    }

    pub fn settings(&self) -> Settings {
        let mut settings = Settings::for_data_dir(&self.dir);
        settings.database_url.clone_from(&self.database_url);
        settings
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(name) = self.database.take() {
            // Drop runs outside any runtime guarantee: use a thread with its own runtime.
            let admin = postgres_admin_url();
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                        let _ = conn
                            .execute(
                                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                            )
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "correct-horse-battery-staple";

/// Kaden served in this process on a free port.
pub struct TestServer {
    pub app: App,
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Starts Kaden on `store` with a manager `admin` / [`ADMIN_PASSWORD`] (created if missing).
    pub async fn start(store: &TestStore) -> Self {
        Self::start_with(store.settings()).await
    }

    pub async fn start_with(settings: Settings) -> Self {
        let app = App::start(settings).await.expect("Kaden starts");
        let exists = app
            .state
            .engine
            .read(|m| m.directory.user_by_name("default", ADMIN).is_some());
        if !exists {
            kaden_api::app::create_manager(&app.state, "default", ADMIN, ADMIN_PASSWORD)
                .await
                .expect("manager created");
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(kaden_api::run(listener, app.clone(), async move {
            let _ = stopped.await;
        }));
        Self {
            app,
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The position of the last stored event that is not an access-log entry. "Nothing was
    /// written" checks compare this, not the store head: the access log (AUD-1) records every
    /// request, refused ones included, a moment after it is answered.
    pub async fn domain_head(&self) -> kaden_projections::log::LogPosition {
        use kaden_projections::log::{EventLog, LogPosition};
        let store = &self.app.state.store;
        let (mut after, mut last) = (LogPosition::START, LogPosition::START);
        loop {
            let batch = store.read_after(after, 1_000).await.expect("read the log");
            let Some(end) = batch.last() else { return last };
            after = end.position;
            if let Some(e) = batch.iter().rev().find(|e| e.aggregate_type != "AccessLog") {
                last = e.position;
            }
        }
    }

    /// Waits until every queued access-log entry (AUD-1, written in batches a moment after each
    /// request) is stored and folded, so the store and the read models stand still.
    pub async fn settle(&self) {
        let state = &self.app.state;
        state.access.flush().await;
        let head = state.store.head().await.expect("store head");
        state
            .engine
            .wait_for(head, Duration::from_secs(10))
            .await
            .expect("read models catch up");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn client(&self) -> Client {
        Client {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .expect("client"),
            url: self.url("/graphql"),
            token: None,
            csrf: None,
        }
    }

    /// A client logged in as the manager.
    pub async fn admin(&self) -> Client {
        let mut c = self.client();
        c.login(ADMIN, ADMIN_PASSWORD).await;
        c
    }

    /// Graceful shutdown (saves the read-model snapshot, closes the store).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(20), task)
                .await
                .expect("server stops within 20 s")
                .expect("join")
                .expect("served");
        }
    }
}

/// A GraphQL client over HTTP.
pub struct Client {
    pub http: reqwest::Client,
    pub url: String,
    pub token: Option<String>,
    pub csrf: Option<String>,
}

impl Client {
    /// Logs in and keeps the bearer token (and the cookie, and the CSRF token).
    pub async fn login(&mut self, username: &str, password: &str) -> Value {
        let r = self
            .gql("mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token csrfToken position user { id username role } } }", json!({"u": username, "p": password}))
            .await;
        let login = &r["data"]["login"];
        assert!(login.is_object(), "login failed: {r}");
        self.token = login["token"].as_str().map(str::to_string);
        self.csrf = login["csrfToken"].as_str().map(str::to_string);
        r
    }

    /// A GraphQL request with the bearer token if there is one.
    fn request(&self, query: &str, variables: Value) -> reqwest::RequestBuilder {
        let request = self
            .http
            .post(&self.url)
            .json(&json!({"query": query, "variables": variables}));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends a query with the bearer token if there is one.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        send(self.request(query, variables)).await
    }

    /// The same with one extra header (e.g. `x-kaden-after`).
    pub async fn gql_with_header(
        &self,
        header: &str,
        value: &str,
        query: &str,
        variables: Value,
    ) -> Value {
        send(self.request(query, variables).header(header, value)).await
    }

    /// The data of a query that must succeed.
    pub async fn ok(&self, query: &str, variables: Value) -> Value {
        let r = self.gql(query, variables).await;
        assert!(r.get("errors").is_none(), "unexpected errors: {r}");
        r["data"].clone()
    }
}

/// The tenant's contracted number that [`ready_campaign`] uses as the main caller number.
pub const CALLER_NUMBER: &str = "0312340000";

/// A campaign ready for imports and calls (CMP-2): the tenant gets a contracted number (as
/// `kaden admin contract` would) and the campaign takes it as its main caller number.
pub async fn ready_campaign(server: &TestServer, admin: &Client, name: &str) -> String {
    let state = &server.app.state;
    let contracted = state.engine.read(|m| {
        m.directory
            .tenant("default")
            .is_some_and(|t| t.contracted_numbers.iter().any(|n| n == CALLER_NUMBER))
    });
    if !contracted {
        let ctx = kaden_api::commands::RequestContext::system("default");
        let numbers = kaden_domain::tenant::TenantCommand::SetContractedNumbers {
            numbers: vec![CALLER_NUMBER.to_string()],
        };
        let position = state
            .commands
            .tenant("default", numbers, &ctx)
            .await
            .expect("contract")
            .expect("written");
        state
            .engine
            .wait_for(position, Duration::from_secs(10))
            .await
            .expect("contract visible");
    }
    let created = admin
        .ok(
            "mutation($n: String!) { createCampaign(name: $n) { campaign { id } } }",
            json!({"n": name}),
        )
        .await;
    let id = created["createCampaign"]["campaign"]["id"]
        .as_str()
        .expect("campaign id")
        .to_string();
    let set = admin
        .ok(
            "mutation($id: String!, $main: String!) { setCallerNumbers(id: $id, main: $main, subs: []) { campaign { readyForCalls } } }",
            json!({"id": id, "main": CALLER_NUMBER}),
        )
        .await;
    assert_eq!(
        set["setCallerNumbers"]["campaign"]["readyForCalls"], true,
        "{set}"
    );
    id
}

/// Uploads `file` as the multipart part `file` with text `fields` to `path` (bearer token if
/// the client has one); returns the status and the JSON answer.
pub async fn upload(
    server: &TestServer,
    client: &Client,
    path: &str,
    fields: &[(&str, String)],
    file: Vec<u8>,
) -> (u16, Value) {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in fields {
        form = form.text(name.to_string(), value.clone());
    }
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(file).file_name("upload.csv"),
    );
    let mut request = client.http.post(server.url(path)).multipart(form);
    if let Some(token) = &client.token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("upload");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json answer"))
}

async fn send(request: reqwest::RequestBuilder) -> Value {
    request
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json body")
}

/// The first error's `extensions.code`.
pub fn error_code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<no code>")
}

/// A `graphql-transport-ws` subscription.
pub struct Subscription {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Subscription {
    /// Connects with `token` in the connection_init payload and subscribes to `query`.
    pub async fn open(server: &TestServer, token: Option<&str>, query: &str) -> Self {
        let mut request =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                format!("ws://{}/graphql/ws", server.addr),
            )
            .expect("request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().expect("header"),
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket connects");
        let payload = token.map_or(json!({}), |t| json!({"token": t}));
        ws.send(Message::text(
            json!({"type": "connection_init", "payload": payload}).to_string(),
        ))
        .await
        .expect("init");
        let mut s = Self { ws };
        let ack = s.next_message().await.expect("connection_ack");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        s.ws.send(Message::text(
            json!({"id": "1", "type": "subscribe", "payload": {"query": query}}).to_string(),
        ))
        .await
        .expect("subscribe");
        // Let the server register the subscription before the caller writes.
        tokio::time::sleep(Duration::from_millis(300)).await;
        s
    }

    /// The next protocol message (within 10 s), skipping pings.
    pub async fn next_message(&mut self) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .ok()??
                .ok()?;
            match msg {
                Message::Text(text) => {
                    let v: Value = serde_json::from_str(&text).ok()?;
                    if v["type"] == "ping" || v["type"] == "pong" {
                        continue;
                    }
                    return Some(v);
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }
}
