//! ERR-1 everywhere: every refusal, whoever makes it (a resolver, GraphQL's parser or
//! validator, axum's extractors or router), carries a stable code from the one catalogue, and
//! every HTTP refusal is the documented JSON `{"code", "message"}`. docs/api.md lists every code
//! with its HTTP status.

use kaden_domain::error::ErrorCode;
use kaden_tests::{StoreKind, TestServer, TestStore, error_code};
use serde_json::{Value, json};

/// Sends `body` to `path` with `content_type`; returns status, content type and JSON body.
async fn raw(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> (u16, String, Value) {
    let mut request = reqwest::Client::new()
        .request(method, server.url(path))
        .body(body.to_string());
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let ct = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = response.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or_else(|_| json!({"not json": text}));
    (status, ct, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn err_1_http_rejections_answer_the_documented_json() {
    let store = TestStore::new(StoreKind::Sqlite).await;
    let server = TestServer::start(&store).await;
    use reqwest::Method;
    // (method, path, content type, body, status, code)
    type Case = (
        Method,
        &'static str,
        Option<&'static str>,
        &'static str,
        u16,
        &'static str,
    );
    let cases: [Case; 6] = [
        (
            Method::POST,
            "/graphql",
            Some("text/plain"),
            "{}",
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            Method::POST,
            "/graphql",
            Some("application/json"),
            "{not json",
            400,
            "BAD_REQUEST_BODY",
        ),
        (
            Method::POST,
            "/graphql",
            Some("application/json"),
            r#"{"query":5}"#,
            422,
            "BAD_JSON",
        ),
        (
            Method::GET,
            "/no-such-page",
            None,
            "",
            404,
            "ROUTE_NOT_FOUND",
        ),
        (Method::GET, "/graphql", None, "", 405, "METHOD_NOT_ALLOWED"),
        (
            Method::GET,
            "/graphql/ws",
            None,
            "",
            400,
            "BAD_REQUEST_BODY",
        ),
    ];
    for (method, path, ct, body, status, code) in cases {
        let (got_status, got_ct, json) = raw(&server, method.clone(), path, ct, body).await;
        assert_eq!(got_status, status, "{method} {path} {body}: {json}");
        assert!(
            got_ct.starts_with("application/json"),
            "{method} {path}: {got_ct}"
        );
        assert_eq!(json["code"], code, "{method} {path} {body}: {json}");
        let message = json["message"].as_str().unwrap_or_default();
        assert!(
            message.len() > 10,
            "{method} {path}: a message says how to fix it: {json}"
        );
    }
    // A file route checks who asks before it reads the body: an anonymous commit with a broken
    // body is UNAUTHENTICATED, not BAD_REQUEST_BODY (and its body is never parsed).
    let (status, _, json) = raw(
        &server,
        Method::POST,
        "/api/folders/import/commit",
        Some("application/json"),
        "{broken",
    )
    .await;
    assert_eq!(
        (status, json["code"].as_str()),
        (401, Some("UNAUTHENTICATED")),
        "{json}"
    );
    // The probes keep their plain text.
    let (status, ct, _) = raw(&server, Method::GET, "/healthz", None, "").await;
    assert_eq!((status, ct.starts_with("text/plain")), (200, true));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn err_1_graphql_parse_validation_and_limits_carry_codes() {
    let store = TestStore::new(StoreKind::Sqlite).await;
    let server = TestServer::start(&store).await;
    let admin = server.admin().await;
    let fine = admin.gql("{ __typename }", json!({})).await;
    assert!(
        fine.get("errors").is_none(),
        "a good query has no error: {fine}"
    );
    let cases = [
        ("{ campaigns { id ", "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
        (
            "query($n: Int!) { campaigns { id } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ("{ me { id } }", "<no code>"),
    ];
    for (query, code) in cases {
        let answer = admin.gql(query, json!({})).await;
        assert_eq!(error_code(&answer), code, "{query}: {answer}");
    }
    // 20 levels of nesting, over the limit of 16.
    let deep = format!(
        "{{ __schema {{ types {{ fields {{ type {} name {} }} }} }} }}",
        "{ ofType ".repeat(16),
        "}".repeat(16)
    );
    assert_eq!(
        error_code(&admin.gql(&deep, json!({})).await),
        "QUERY_TOO_DEEP"
    );
    // Many aliases of one cheap field push the complexity over its limit.
    let wide = format!(
        "{{ {} }}",
        (0..1_100)
            .map(|i| format!("a{i}: me {{ id }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    assert_eq!(
        error_code(&admin.gql(&wide, json!({})).await),
        "QUERY_TOO_COMPLEX"
    );
    // A variable of the wrong type.
    let answer = admin
        .gql(
            "query($id: ID!) { campaign(id: $id) { id } }",
            json!({"id": {"x": 1}}),
        )
        .await;
    let code = error_code(&answer);
    assert!(
        code == "GRAPHQL_VALIDATION_FAILED" || code == "BAD_ARGUMENT",
        "{answer}"
    );
    server.stop().await;
}

/// The "Error codes" table of docs/api.md lists every code of the catalogue with its status,
/// and nothing else.
#[test]
fn err_1_docs_list_every_code_with_its_status() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md"))
        .expect("docs/api.md");
    let table = docs
        .split("<!-- error codes: begin -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- error codes: end -->").next())
        .expect("docs/api.md has the error-code table between its markers");
    let mut documented = std::collections::BTreeMap::new();
    for line in table.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let code = cells[1].trim_matches('`');
        let status: u16 = cells[2].parse().unwrap_or(0);
        assert!(!cells[3].is_empty(), "{code} has a meaning");
        assert!(
            documented.insert(code.to_string(), status).is_none(),
            "{code} twice"
        );
    }
    let expected: std::collections::BTreeMap<String, u16> = ErrorCode::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), c.http_status()))
        .collect();
    let missing: Vec<String> = expected
        .iter()
        .filter(|(c, s)| documented.get(*c) != Some(s))
        .map(|(c, s)| format!("| `{c}` | {s} | … |"))
        .collect();
    let unknown: Vec<&String> = documented
        .keys()
        .filter(|c| !expected.contains_key(*c))
        .collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "docs/api.md error codes out of date.\nadd or fix:\n{}\nremove: {unknown:?}",
        missing.join("\n")
    );
}
