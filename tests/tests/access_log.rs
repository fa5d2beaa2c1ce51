//! The access log (AUD-1) on both stores: every access recorded (who, when, what, from where,
//! outcome), searched through GraphQL with filters and cursors, exported as CSV, exported as
//! JSON lines and verified by the hash chain, and an altered or removed stored row found.

mod common;

use common::{create_user, login_as, message, settle_access_log};
use kaden_api::store::Store;
use kaden_domain::access::BreakReason;
use kaden_tests::{StoreKind, TestServer, TestStore, error_code};
use serde_json::{Value, json};
use sqlx::Connection;

const PAGE: &str = "query($f: Int!, $a: String, $op: String, $out: String, $user: String, $from: String, $to: String) {
  accessLog(first: $f, after: $a, operation: $op, outcome: $out, user: $user, from: $from, to: $to) {
    entries { seq at userId username displayName operation address outcome detail hash }
    endCursor hasNextPage } }";

fn entries(page: &Value) -> &Vec<Value> {
    page["accessLog"]["entries"].as_array().unwrap()
}

/// Runs SQL on the test's own store (to play the attacker who edits stored rows).
async fn tamper(place: &TestStore, sql: &str) {
    match &place.database_url {
        Some(url) => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
        None => {
            let url = format!("sqlite://{}", place.dir.join("kaden.sqlite3").display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
    }
}

async fn aud_1_access_log(kind: StoreKind) {
    let place = TestStore::new(kind).await;
    let server = TestServer::start(&place).await;
    let admin = server.admin().await;
    create_user(&admin, "op1", "OP").await;
    admin.ok("{ campaigns { id } }", json!({})).await;
    admin
        .ok(
            "mutation Spring { createCampaign(name: \"春\") { position } }",
            json!({}),
        )
        .await;
    let anonymous = server.client();
    anonymous
        .gql(
            "mutation { login(username: \"=1+2\", password: \"wrong-password\") { token } }",
            json!({}),
        )
        .await;
    let op = login_as(&server, "op1").await;
    assert_eq!(
        error_code(&op.gql("{ campaigns { id } }", json!({})).await),
        "FORBIDDEN"
    );
    op.ok("mutation { logout }", json!({})).await;
    admin
        .ok(
            "mutation { updateUser(id: 2, displayName: \"改名後\") { position } }",
            json!({}),
        )
        .await;
    settle_access_log(&server).await;

    let v = |f: i64| json!({"f": f});
    let newest = admin.ok(PAGE, v(100)).await;
    let all = entries(&newest);
    let seqs: Vec<u64> = all.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] == w[1] + 1),
        "newest first without gaps: {seqs:?}"
    );
    assert_eq!(*seqs.last().unwrap(), 1);
    let find = |op: &str| {
        all.iter()
            .find(|e| e["operation"] == op)
            .unwrap_or_else(|| panic!("no {op} in {all:?}"))
    };
    let created = find("createCampaign");
    assert_eq!(created["username"], "admin");
    assert_eq!(created["userId"], 1);
    assert_eq!(created["address"], "127.0.0.1");
    assert_eq!(created["outcome"], "success");
    assert!(
        created["detail"]
            .as_str()
            .unwrap()
            .contains("operationName=Spring")
    );
    assert!(created["at"].as_str().unwrap().ends_with("+09:00"));
    assert_eq!(created["hash"].as_str().unwrap().len(), 64);
    let failed = all
        .iter()
        .find(|e| e["operation"] == "login" && e["outcome"] == "failure")
        .unwrap();
    assert_eq!(
        failed["username"], "=1+2",
        "a failed login keeps the username tried"
    );
    assert_eq!(failed["userId"], Value::Null);
    let forbidden = all
        .iter()
        .find(|e| e["operation"] == "campaigns" && e["outcome"] == "refused")
        .unwrap();
    assert_eq!(
        forbidden["displayName"], "改名後",
        "USR-4: the name now, by id"
    );
    assert_eq!(forbidden["detail"], "FORBIDDEN");
    assert!(
        all.iter()
            .any(|e| e["operation"] == "logout" && e["userId"] == 2)
    );
    assert!(
        all.iter()
            .any(|e| e["operation"] == "login" && e["outcome"] == "success" && e["userId"] == 2)
    );

    // Cursor pagination: pages of two, in order, no overlap, to the end.
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = admin.ok(PAGE, json!({"f": 2, "a": after})).await;
        seen.extend(entries(&page).iter().map(|e| e["seq"].as_u64().unwrap()));
        if page["accessLog"]["hasNextPage"] == false {
            assert_eq!(page["accessLog"]["endCursor"], Value::Null);
            break;
        }
        after = page["accessLog"]["endCursor"].clone();
    }
    assert!(
        seen.len() >= seqs.len() && seen[seen.len() - seqs.len()..] == seqs[..],
        "{seen:?} vs {seqs:?}"
    );

    // Filters: operation, outcome, user, period.
    let refused = admin.ok(PAGE, json!({"f": 100, "out": "refused"})).await;
    assert!(entries(&refused).iter().all(|e| e["outcome"] == "refused"));
    assert!(!entries(&refused).is_empty());
    let by_op = admin.ok(PAGE, json!({"f": 100, "op": "createcamp"})).await;
    assert_eq!(entries(&by_op).len(), 1);
    let by_user = admin.ok(PAGE, json!({"f": 100, "user": "OP1"})).await;
    assert!(
        entries(&by_user).iter().all(|e| e["username"] == "op1") && entries(&by_user).len() >= 3
    );
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .format("%Y-%m-%d")
        .to_string();
    let in_day = admin
        .ok(PAGE, json!({"f": 500, "from": today, "to": today}))
        .await;
    assert!(entries(&in_day).len() >= seqs.len());
    let before = admin.ok(PAGE, json!({"f": 100, "to": "2000-01-01"})).await;
    assert!(entries(&before).is_empty());
    let bad = admin.gql(PAGE, json!({"f": 10, "from": "yesterday"})).await;
    assert_eq!(error_code(&bad), "BAD_TIME");
    assert!(message(&bad).contains("2026-11-23"), "{bad}");
    assert_eq!(
        error_code(&admin.gql(PAGE, json!({"f": 10, "out": "maybe"})).await),
        "BAD_OUTCOME"
    );
    assert_eq!(
        error_code(&admin.gql(PAGE, json!({"f": 0})).await),
        "PAGE_SIZE_INVALID"
    );
    assert_eq!(
        error_code(&admin.gql(PAGE, json!({"f": 5, "a": "x"})).await),
        "BAD_CURSOR"
    );

    // CSV export for managers: UTF-8 with BOM, CRLF, formula cells neutralised.
    let http = reqwest::Client::new();
    let csv = http
        .get(server.url("/access-log.csv?outcome=failure"))
        .bearer_auth(admin.token.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let bytes = csv.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    assert!(
        text.starts_with("番号,日時,ユーザーID,ログインID,氏名,操作,接続元,結果,詳細,ハッシュ\r\n"),
        "{text}"
    );
    assert!(text.contains(",'=1+2,"), "formula neutralised: {text}");
    assert!(!text.contains(",=1+2,"));
    let mut op = login_as(&server, "op1").await;
    let no = http
        .get(server.url("/access-log.csv"))
        .bearer_auth(op.token.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(no.status(), 403);
    let body: Value = no.json().await.unwrap();
    assert_eq!(body["code"], "FORBIDDEN");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("access_log_export")
    );
    assert_eq!(error_code(&op.gql(PAGE, v(5)).await), "FORBIDDEN");
    op.token = None;
    let anonymous_csv = http
        .get(server.url("/access-log.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_csv.status(), 401);
    settle_access_log(&server).await;
    let downloads = admin.ok(PAGE, json!({"f": 10, "op": "download"})).await;
    let outcomes: Vec<&str> = entries(&downloads)
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["refused", "refused", "success"],
        "downloads are accesses too"
    );
    server.stop().await;

    // Auditors: export in log order and verify the chain straight from the store.
    let store = Store::open(&place.config()).await.unwrap();
    let mut lines = Vec::new();
    let exported = kaden_api::access_log::export(&store, None, None, None, &mut lines)
        .await
        .unwrap();
    let lines: Vec<Value> = String::from_utf8(lines)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), exported);
    assert!(
        lines
            .iter()
            .enumerate()
            .all(|(i, l)| l["seq"] == i as u64 + 1),
        "log order"
    );
    assert_eq!(lines[0]["hash"].as_str().unwrap().len(), 64);
    let verdicts = kaden_api::access_log::verify(&store, None).await.unwrap();
    assert_eq!(verdicts.len(), 1);
    assert_eq!(verdicts[0].broken, None, "{}", verdicts[0]);
    assert_eq!(verdicts[0].entries, exported as u64);

    // An edited row is found at its entry…
    let payload = if kind == StoreKind::Postgres {
        "payload::text"
    } else {
        "payload"
    };
    let cast = if kind == StoreKind::Postgres {
        "::json"
    } else {
        ""
    };
    tamper(&place, &format!("UPDATE events SET payload = replace({payload}, '\"outcome\":\"failure\"', '\"outcome\":\"success\"'){cast} WHERE aggregate_type = 'AccessLog' AND sequence = (SELECT min(sequence) FROM events WHERE aggregate_type = 'AccessLog' AND {payload} LIKE '%\"outcome\":\"failure\"%')")).await;
    let first_failure = lines.iter().find(|l| l["outcome"] == "failure").unwrap()["seq"]
        .as_u64()
        .unwrap();
    let verdict = &kaden_api::access_log::verify(&store, None).await.unwrap()[0];
    let broken = verdict.broken.expect("altered entry found");
    assert_eq!(
        (broken.seq, broken.reason),
        (first_failure, BreakReason::HashMismatch),
        "{verdict}"
    );
    assert_eq!(verdict.entries, first_failure - 1);
    // …and a removed one too, wherever it was.
    tamper(
        &place,
        "DELETE FROM events WHERE aggregate_type = 'AccessLog' AND sequence = 2",
    )
    .await;
    let verdict = &kaden_api::access_log::verify(&store, None).await.unwrap()[0];
    assert_eq!(
        verdict.broken.map(|b| (b.seq, b.reason)),
        Some((2, BreakReason::Missing { found: 3 })),
        "{verdict}"
    );
    store.close().await;

    // The same through the command line, as an auditor runs it.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kaden-under-test"));
    cmd.args(["audit", "verify", "--data-dir"])
        .arg(&place.dir)
        .env("KADEN_LOG", "warn");
    match &place.database_url {
        Some(url) => cmd.env("KADEN_DATABASE_URL", url),
        None => cmd.env_remove("KADEN_DATABASE_URL"),
    };
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("BROKEN") && stdout.contains("entry 2"),
        "{stdout}"
    );
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kaden-under-test"));
    cmd.args([
        "audit",
        "export",
        "--from",
        &today,
        "--to",
        &today,
        "--data-dir",
    ])
    .arg(&place.dir)
    .env("KADEN_LOG", "warn");
    match &place.database_url {
        Some(url) => cmd.env("KADEN_DATABASE_URL", url),
        None => cmd.env_remove("KADEN_DATABASE_URL"),
    };
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        exported - 1,
        "one row was removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aud_1_access_log_sqlite() {
    aud_1_access_log(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aud_1_access_log_postgres() {
    aud_1_access_log(StoreKind::Postgres).await;
}

/// A long log: batches of 500 keep one unbroken chain, and two writers on one tenant's stream
/// never fork it (the loser of a race reloads the head and continues after it).
async fn aud_1_long_log_stays_chained(kind: StoreKind) {
    let place = TestStore::new(kind).await;
    let server = TestServer::start(&place).await;
    let state = &server.app.state;
    let ctx = kaden_api::commands::RequestContext::system("default");
    for i in 0..1_200 {
        state.access.record(kaden_api::access_log::draft(
            &ctx,
            Some((1, "admin")),
            &format!("bulk{i}"),
            kaden_domain::access::Outcome::Success,
            "",
        ));
    }
    // A second writer (another node, say) appends to the same stream at the same time.
    let drafts: Vec<_> = (0..300)
        .map(|i| {
            kaden_api::access_log::draft(
                &ctx,
                None,
                &format!("other{i}"),
                kaden_domain::access::Outcome::Failure,
                "",
            )
        })
        .collect();
    for chunk in drafts.chunks(100) {
        kaden_api::access_log::append(&state.store, "default", chunk.to_vec())
            .await
            .unwrap();
    }
    settle_access_log(&server).await;
    let total = state.engine.read(|m| m.access_log.len("default"));
    assert!(total >= 1_500, "{total}");
    let verdicts = kaden_api::access_log::verify(&state.store, Some("default"))
        .await
        .unwrap();
    assert_eq!(verdicts[0].broken, None, "{}", verdicts[0]);
    assert_eq!(verdicts[0].entries, total as u64);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aud_1_long_log_stays_chained_sqlite() {
    aud_1_long_log_stays_chained(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aud_1_long_log_stays_chained_postgres() {
    aud_1_long_log_stays_chained(StoreKind::Postgres).await;
}
