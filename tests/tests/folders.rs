//! List folders end to end on both stores (SPEC LST-1..9, EXP-1, ERR-1/2): HTTP upload with
//! preview and commit, GraphQL folder operations, search, duplicates, export.
//!
//! Long because each list rule is tried end to end on both stores.

use kaden_tests::{Client, StoreKind, Subscription, TestServer, TestStore, error_code, upload};
use serde_json::{Value, json};

const FOLDER: &str = "folder { id name active registeredCount workCount progress columns { name displayName isPhone } } position";

fn sjis(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!unmappable, "test text must fit Shift_JIS");
    bytes.into_owned()
}

/// POSTs a multipart upload with `fields` and `file`; returns (status, JSON body).
async fn commit(server: &TestServer, client: &Client, preview_id: &str, key: &str) -> (u16, Value) {
    let response = client
        .http
        .post(server.url("/api/folders/import/commit"))
        .bearer_auth(client.token.as_deref().unwrap_or_default())
        .json(&json!({"previewId": preview_id, "idempotencyKey": key}))
        .send()
        .await
        .expect("commit");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json answer"))
}

async fn campaign(server: &TestServer, admin: &Client, name: &str) -> String {
    kaden_tests::ready_campaign(server, admin, name).await
}

async fn head(server: &TestServer) -> String {
    server.domain_head().await.to_string()
}

async fn customers(admin: &Client, folder: u64, conditions: Value) -> Value {
    let data = admin
        .ok(
            "query($f: Int!, $c: [ConditionInput!]!) { folderCustomers(folderId: $f, conditions: $c, first: 10) { totalCount hasMore endCursor nodes { id phone duplicate fields { column value } } } }",
            json!({"f": folder, "c": conditions}),
        )
        .await;
    data["folderCustomers"].clone()
}

async fn lst_2_import_preview_commit(kind: StoreKind) {
    let place = TestStore::new(kind).await;
    let server = TestServer::start(&place).await;
    let admin = server.admin().await;
    let spring = campaign(&server, &admin, "春の案件").await;

    // Shift_JIS, detected; hyphens, a lost leading zero and full-width digits (LST-3).
    let file = sjis(
        "会社名,電話番号,住所\r\n山田商事,03-1234-5678,東京都港区\r\n鈴木工業,312345679,大阪市北区\r\n佐藤物産,０３１２３４５６８０,東京都新宿区\r\n",
    );
    let before = head(&server).await;
    let fields = [
        ("campaignId", spring.clone()),
        ("folderName", "東京リスト".to_string()),
    ];
    let (status, preview) = upload(
        &server,
        &admin,
        "/api/folders/import/preview",
        &fields,
        file.clone(),
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["rows"], 3);
    assert_eq!(preview["columns"], json!(["会社名", "電話番号", "住所"]));
    assert!(
        preview["source"].as_str().unwrap().contains("ShiftJis"),
        "{preview}"
    );
    let codes: Vec<&str> = preview["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"PHONE_LEADING_ZERO_RESTORED"), "{preview}");
    assert_eq!(preview["numbersAlreadyInFolders"], 0);
    assert_eq!(head(&server).await, before, "a preview writes nothing");

    let preview_id = preview["previewId"].as_str().unwrap();
    let (status, done) = commit(&server, &admin, preview_id, "key-1").await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["imported"], 3);
    assert_eq!(done["repeated"], false);
    assert_eq!(done["firstCustomerId"], "001-001");
    assert_eq!(done["lastCustomerId"], "001-003");
    let folder = done["folderId"].as_u64().unwrap();
    assert_eq!(folder, 1);

    // A retried commit is a no-op answering the first outcome.
    let after_commit = head(&server).await;
    let (status, again) = commit(&server, &admin, preview_id, "key-1").await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        (again["folderId"].as_u64(), again["repeated"].as_bool()),
        (Some(folder), Some(true))
    );
    assert_eq!(
        head(&server).await,
        after_commit,
        "a repeated commit writes nothing"
    );

    // Visible at once (read-your-writes), searchable by any column (LST-8), progress (LST-9).
    let tokyo = customers(
        &admin,
        folder,
        json!([{"column": "住所", "kind": "PREFIX", "value": "東京都"}]),
    )
    .await;
    assert_eq!(tokyo["totalCount"], 2);
    assert_eq!(tokyo["nodes"][1]["phone"], "0312345680");
    assert_eq!(
        tokyo["nodes"][0]["fields"][0],
        json!({"column": "会社名", "value": "山田商事"})
    );
    let osaka = customers(
        &admin,
        folder,
        json!([{"column": "電話番号", "kind": "EQUALS", "value": "0312345679"}]),
    )
    .await;
    assert_eq!(osaka["nodes"][0]["id"], "001-002");
    let list = admin.ok("query($c: String) { folders(campaignId: $c) { id name registeredCount workCount progress } }", json!({"c": spring})).await;
    assert_eq!(
        list["folders"],
        json!([{"id": 1, "name": "東京リスト", "registeredCount": 3, "workCount": 0, "progress": 0.0}])
    );

    // LST-2b append: same columns in another order; LST-6 numbers already registered flagged.
    let append = "住所,電話番号,会社名\n京都市,0312345678,田中商店\n"
        .as_bytes()
        .to_vec();
    let (status, preview) = upload(
        &server,
        &admin,
        "/api/folders/import/preview",
        &[("folderId", folder.to_string())],
        append,
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["numbersAlreadyInFolders"], 1);
    let (_, done) = commit(
        &server,
        &admin,
        preview["previewId"].as_str().unwrap(),
        "key-2",
    )
    .await;
    assert_eq!(
        done["firstCustomerId"], "001-004",
        "LST-7: numbers continue"
    );
    let dups = admin
        .ok(
            "{ duplicateNumbers { phone customers { customerId folderId folderName } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        dups["duplicateNumbers"],
        json!([{"phone": "0312345678", "customers": [
        {"customerId": "001-001", "folderId": 1, "folderName": "東京リスト"},
        {"customerId": "001-004", "folderId": 1, "folderName": "東京リスト"}]}])
    );
    let flagged = customers(
        &admin,
        folder,
        json!([{"column": "電話番号", "kind": "EQUALS", "value": "0312345678"}]),
    )
    .await;
    assert_eq!(flagged["nodes"][0]["duplicate"], true);
    // Delete one of the duplicates: no duplicates remain.
    admin
        .ok(
            "mutation { deleteCustomers(ids: [\"001-004\"]) { deleted position } }",
            json!({}),
        )
        .await;
    let dups = admin.ok("{ duplicateNumbers { phone } }", json!({})).await;
    assert_eq!(dups["duplicateNumbers"], json!([]));

    // A header that differs from the folder's columns is refused (LST-2b).
    let (status, refused) = upload(
        &server,
        &admin,
        "/api/folders/import/preview",
        &[("folderId", folder.to_string())],
        "会社名,電話番号\nA,0312345678\n".as_bytes().to_vec(),
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (422, Some("IMPORT_REFUSED")),
        "{refused}"
    );
    assert_eq!(refused["errors"][0]["code"], "HEADER_MISMATCH", "{refused}");

    // An unknown preview id and a missing key are refused with codes.
    let (status, unknown) = commit(&server, &admin, "nope", "k").await;
    assert_eq!(
        (status, unknown["code"].as_str()),
        (404, Some("PREVIEW_NOT_FOUND"))
    );
    let (status, nokey) = commit(&server, &admin, preview_id, " ").await;
    assert_eq!(
        (status, nokey["code"].as_str()),
        (400, Some("IDEMPOTENCY_KEY_INVALID"))
    );

    // Uploads need a session.
    let anonymous = server.client();
    let (status, body) = upload(
        &server,
        &anonymous,
        "/api/folders/import/preview",
        &fields,
        file,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lst_2_import_preview_commit_sqlite() {
    lst_2_import_preview_commit(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lst_2_import_preview_commit_postgres() {
    lst_2_import_preview_commit(StoreKind::Postgres).await;
}

async fn lst_3_every_bad_row_reported_nothing_written(kind: StoreKind) {
    let place = TestStore::new(kind).await;
    let server = TestServer::start(&place).await;
    let admin = server.admin().await;
    let spring = campaign(&server, &admin, "春の案件").await;
    let before = head(&server).await;
    let file = "会社名,電話番号\nA,0312345678\nB,12\nC,0312345679\nD,+1 555 0100\n"
        .as_bytes()
        .to_vec();
    let fields = [
        ("campaignId", spring.clone()),
        ("folderName", "x".to_string()),
    ];
    let (status, refused) = upload(
        &server,
        &admin,
        "/api/folders/import/preview",
        &fields,
        file,
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["code"], "IMPORT_REFUSED");
    let errors = refused["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{refused}");
    assert_eq!(
        (
            errors[0]["line"].as_u64(),
            errors[0]["column"].as_u64(),
            errors[0]["value"].as_str()
        ),
        (Some(3), Some(2), Some("12"))
    );
    assert_eq!(errors[1]["line"], 5);
    assert!(
        errors[1]["message"].as_str().unwrap().contains('5'),
        "{refused}"
    );

    // .xls is refused with the way out; an unknown campaign too.
    let (status, xls) = upload(
        &server,
        &admin,
        "/api/folders/import/preview",
        &fields,
        b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest".to_vec(),
    )
    .await;
    assert_eq!(
        (status, xls["errors"][0]["code"].as_str()),
        (422, Some("XLS_NOT_SUPPORTED"))
    );
    let (status, nocampaign) = upload(
        &server,
        &admin,
        "/api/folders/import/preview",
        &[("campaignId", "nope".into()), ("folderName", "x".into())],
        b"a".to_vec(),
    )
    .await;
    assert_eq!(
        (status, nocampaign["code"].as_str()),
        (404, Some("CAMPAIGN_NOT_FOUND"))
    );
    assert_eq!(
        head(&server).await,
        before,
        "ERR-2: refusals leave the store unchanged"
    );

    // USR-6: SV views lists but does not import or edit them; OP does not manage lists.
    for (name, role) in [("sv1", "SV"), ("op1", "OP")] {
        admin
            .ok(
                "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
                json!({"i": {"username": name, "displayName": name, "role": role, "password": "blue-violin-harbour-42"}}),
            )
            .await;
    }
    let mut sv = server.client();
    sv.login("sv1", "blue-violin-harbour-42").await;
    let mut op = server.client();
    op.login("op1", "blue-violin-harbour-42").await;
    let before = head(&server).await;
    assert!(
        sv.gql("{ folders { id } }", json!({}))
            .await
            .get("errors")
            .is_none()
    );
    let (status, body) = upload(
        &server,
        &sv,
        "/api/folders/import/preview",
        &fields,
        b"a".to_vec(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("FORBIDDEN")),
        "{body}"
    );
    let create = sv.gql("mutation($c: String!) { createFolder(campaignId: $c, name: \"x\", columns: [\"電話番号\"]) { position } }", json!({"c": spring})).await;
    assert_eq!(error_code(&create), "FORBIDDEN");
    assert_eq!(
        error_code(&op.gql("{ folders { id } }", json!({})).await),
        "FORBIDDEN"
    );
    let export = op
        .http
        .get(server.url("/api/folders/1/export"))
        .bearer_auth(op.token.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(export.status().as_u16(), 403);
    assert_eq!(head(&server).await, before, "refused roles write nothing");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lst_3_every_bad_row_reported_nothing_written_sqlite() {
    lst_3_every_bad_row_reported_nothing_written(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lst_3_every_bad_row_reported_nothing_written_postgres() {
    lst_3_every_bad_row_reported_nothing_written(StoreKind::Postgres).await;
}

async fn lst_8_folder_operations(kind: StoreKind) {
    let place = TestStore::new(kind).await;
    let server = TestServer::start(&place).await;
    let admin = server.admin().await;
    let spring = campaign(&server, &admin, "春の案件").await;

    // LST-2d empty folder with column names; LST-2c manual rows.
    let created = admin
        .ok(&format!("mutation($c: String!) {{ createFolder(campaignId: $c, name: \"手入力\", columns: [\"会社名\", \"電話番号\"]) {{ {FOLDER} }} }}"), json!({"c": spring}))
        .await;
    assert_eq!(created["createFolder"]["folder"]["id"], 1);
    assert_eq!(created["createFolder"]["folder"]["registeredCount"], 0);
    let added = admin
        .ok("mutation { addCustomers(folderId: 1, columns: [\"電話番号\", \"会社名\"], rows: [[\"03-1111-2222\", \"=HYPERLINK()\"], [\"0311112223\", \"B社\"]]) { count firstCustomerId lastCustomerId folder { registeredCount } } }", json!({}))
        .await;
    assert_eq!(
        added["addCustomers"],
        json!({"count": 2, "firstCustomerId": "001-001", "lastCustomerId": "001-002", "folder": {"registeredCount": 2}})
    );
    // LST-9 progress is live: a subscriber sees the registered count change.
    let mut sub = Subscription::open(
        &server,
        admin.token.as_deref(),
        "subscription { folderChanged { id registeredCount workCount progress } }",
    )
    .await;
    admin
        .ok("mutation { addCustomers(folderId: 1, columns: [\"電話番号\", \"会社名\"], rows: [[\"0311112224\", \"D社\"]]) { count } }", json!({}))
        .await;
    let pushed = sub.next_message().await.expect("folderChanged");
    assert_eq!(
        pushed["payload"]["data"]["folderChanged"],
        json!({"id": 1, "registeredCount": 3, "workCount": 0, "progress": 0.0}),
        "{pushed}"
    );
    admin
        .ok(
            "mutation { deleteCustomers(ids: [\"001-003\"]) { deleted } }",
            json!({}),
        )
        .await;
    let pushed = sub.next_message().await.expect("folderChanged");
    assert_eq!(
        pushed["payload"]["data"]["folderChanged"]["registeredCount"],
        2
    );
    let bad = admin.gql("mutation { addCustomers(folderId: 1, columns: [\"電話番号\", \"会社名\"], rows: [[\"abc\", \"x\"]]) { count } }", json!({})).await;
    assert_eq!(error_code(&bad), "IMPORT_REFUSED", "{bad}");

    // Rename, deactivate, column display (LST-5), permissions (LST-1).
    let before = head(&server).await;
    let renamed = admin
        .ok(
            &format!("mutation {{ renameFolder(id: 1, name: \"大阪\") {{ {FOLDER} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(renamed["renameFolder"]["folder"]["name"], "大阪");
    let off = admin
        .ok(
            &format!("mutation {{ deactivateFolder(id: 1) {{ {FOLDER} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(off["deactivateFolder"]["folder"]["active"], false);
    let arranged = admin
        .ok(&format!("mutation {{ arrangeFolderColumns(id: 1, order: [\"電話番号\", \"会社名\"], displayNames: [\"電話番号\", \"社名\"]) {{ {FOLDER} }} }}"), json!({}))
        .await;
    assert_eq!(
        arranged["arrangeFolderColumns"]["folder"]["columns"],
        json!([
        {"name": "電話番号", "displayName": "電話番号", "isPhone": true},
        {"name": "会社名", "displayName": "社名", "isPhone": false}])
    );
    assert_ne!(head(&server).await, before);
    let refused_before = head(&server).await;
    let phone_rename = admin.gql("mutation { arrangeFolderColumns(id: 1, order: [\"電話番号\", \"会社名\"], displayNames: [\"TEL\", \"社名\"]) { position } }", json!({})).await;
    assert_eq!(error_code(&phone_rename), "PHONE_COLUMN_RENAME");
    let me = admin.ok("{ me { id } }", json!({})).await;
    let users = admin.ok("mutation($u: [Int!]!) { setFolderUsers(id: 1, userIds: $u) { folder { permittedUserIds } } }", json!({"u": [me["me"]["id"]]})).await;
    assert_eq!(
        users["setFolderUsers"]["folder"]["permittedUserIds"],
        json!([me["me"]["id"]])
    );
    let unknown_user = admin
        .gql(
            "mutation { setFolderUsers(id: 1, userIds: [999]) { position } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&unknown_user), "NOT_FOUND");
    let _ = refused_before;

    // Edit one customer: the phone is normalised (LST-3); a bad one is refused.
    let edited = admin
        .ok("mutation { editCustomer(id: \"001-002\", fields: [{column: \"電話番号\", value: \"03-9999-0000\"}, {column: \"会社名\", value: \"C社\"}]) { id phone fields { column value } } }", json!({}))
        .await;
    assert_eq!(edited["editCustomer"]["phone"], "0399990000");
    assert_eq!(
        edited["editCustomer"]["fields"][1],
        json!({"column": "会社名", "value": "C社"})
    );
    let before = head(&server).await;
    let bad_phone = admin.gql("mutation { editCustomer(id: \"001-002\", fields: [{column: \"電話番号\", value: \"12\"}]) { id } }", json!({})).await;
    assert!(error_code(&bad_phone).starts_with("PHONE_"), "{bad_phone}");
    let missing = admin.gql("mutation { editCustomer(id: \"001-009\", fields: [{column: \"会社名\", value: \"x\"}]) { id } }", json!({})).await;
    assert_eq!(error_code(&missing), "CUSTOMER_NOT_FOUND");
    assert_eq!(head(&server).await, before, "refused edits write nothing");

    // EXP-1 export: UTF-8 with BOM, display order and names, formula guard.
    let csv = admin
        .http
        .get(server.url("/api/folders/1/export?encoding=utf8"))
        .bearer_auth(admin.token.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status().as_u16(), 200);
    let bytes = csv.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "顧客ID,電話番号,社名,最終ステータス,最終対応者,対応回数,メモ"
    );
    assert_eq!(lines[1], "001-001,0311112222,'=HYPERLINK(),,,0,");
    // Shift_JIS: a character it cannot hold is reported, not silently replaced.
    admin.ok("mutation { editCustomer(id: \"001-002\", fields: [{column: \"会社名\", value: \"𠮷野家\"}]) { id } }", json!({})).await;
    let refused = admin
        .http
        .get(server.url("/api/folders/1/export?encoding=sjis"))
        .bearer_auth(admin.token.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 422);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        (body["code"].as_str(), body["unmappableTotal"].as_u64()),
        (Some("SJIS_UNMAPPABLE"), Some(1))
    );
    assert_eq!(body["unmappable"][0]["character"], "𠮷");
    let substituted = admin
        .http
        .get(server.url("/api/folders/1/export?encoding=sjis&unmappable=substitute"))
        .bearer_auth(admin.token.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(substituted.headers()["x-kaden-unmappable-count"], "1");
    let body = substituted.bytes().await.unwrap();
    let (decoded, _, _) = encoding_rs::SHIFT_JIS.decode(&body);
    assert!(decoded.contains("〓野家"), "{decoded}");

    // LST-8 delete the folder: it leaves every read model; its number is never reused.
    let deleted = admin
        .ok(
            "mutation { deleteFolder(id: 1) { deleted position } }",
            json!({}),
        )
        .await;
    assert_eq!(deleted["deleteFolder"]["deleted"], 2);
    assert_eq!(
        error_code(&admin.gql("{ folder(id: 1) { id } }", json!({})).await),
        "NOT_FOUND"
    );
    assert_eq!(
        error_code(
            &admin
                .gql("{ customer(id: \"001-001\") { id } }", json!({}))
                .await
        ),
        "NOT_FOUND"
    );
    let again = admin.ok(&format!("mutation($c: String!) {{ createFolder(campaignId: $c, name: \"次\", columns: [\"電話番号\"]) {{ {FOLDER} }} }}"), json!({"c": spring})).await;
    assert_eq!(
        again["createFolder"]["folder"]["id"], 2,
        "LST-7: folder numbers never repeat"
    );
    server.stop().await;

    // Replay from the log gives the same read models (a restart without snapshot).
    let fresh = kaden_projections::engine::Engine::new(
        Default::default(),
        kaden_projections::log::LogPosition::START,
    );
    let store = kaden_api::store::Store::open(&place.config())
        .await
        .unwrap();
    fresh.catch_up(&store).await.unwrap();
    let replayed = fresh.read(|m| m.folders.clone());
    let server = TestServer::start(&place).await;
    let live = server.app.state.engine.read(|m| m.folders.clone());
    assert_eq!(replayed, live);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lst_8_folder_operations_sqlite() {
    lst_8_folder_operations(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lst_8_folder_operations_postgres() {
    lst_8_folder_operations(StoreKind::Postgres).await;
}

/// CMP-2: a campaign without a main caller number takes no imports (file or typed rows), and
/// the refusal says what to configure. CMP-5: a column may not take a status's name.
async fn cmp_2_import_needs_a_ready_campaign(kind: StoreKind) {
    let place = TestStore::new(kind).await;
    let server = TestServer::start(&place).await;
    let admin = server.admin().await;
    let created = admin
        .ok(
            "mutation { createCampaign(name: \"未設定の案件\") { campaign { id } } }",
            json!({}),
        )
        .await;
    let bare = created["createCampaign"]["campaign"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = head(&server).await;
    let file = "会社名,電話番号\nA,0312345678\n".as_bytes().to_vec();
    let fields = [
        ("campaignId", bare.clone()),
        ("folderName", "x".to_string()),
    ];
    let (status, refused) = upload(
        &server,
        &admin,
        "/api/folders/import/preview",
        &fields,
        file.clone(),
    )
    .await;
    assert_eq!(refused["code"], "NO_MAIN_CALLER_NUMBER", "{refused}");
    assert!(status >= 400, "{status}");
    let typed = admin
        .gql(
            "mutation($c: String!) { createFolder(campaignId: $c, name: \"手入力\", columns: [\"電話番号\"], rows: [[\"0312345678\"]]) { position } }",
            json!({"c": bare}),
        )
        .await;
    assert_eq!(
        kaden_tests::error_code(&typed),
        "NO_MAIN_CALLER_NUMBER",
        "{typed}"
    );
    assert_eq!(head(&server).await, before, "nothing written");

    // Ready: the same file passes, and a column named like a fixed status is refused.
    let ready = campaign(&server, &admin, "設定済みの案件").await;
    let fields = [
        ("campaignId", ready.clone()),
        ("folderName", "x".to_string()),
    ];
    let (status, ok) = upload(
        &server,
        &admin,
        "/api/folders/import/preview",
        &fields,
        file,
    )
    .await;
    assert_eq!(status, 200, "{ok}");
    let clash = "会社名,電話番号,見込\nA,0312345678,高\n"
        .as_bytes()
        .to_vec();
    let (status, refused) = upload(
        &server,
        &admin,
        "/api/folders/import/preview",
        &fields,
        clash,
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(
        refused["errors"][0]["code"], "HEADER_COLLIDES_WITH_STATUS",
        "{refused}"
    );
    // ... and the other way round: a status or attribute may not take a folder column's name.
    admin
        .ok(
            "mutation($c: String!) { createFolder(campaignId: $c, name: \"列あり\", columns: [\"会社名\", \"電話番号\"]) { position } }",
            json!({"c": ready}),
        )
        .await;
    let before = head(&server).await;
    let status_clash = admin
        .gql(
            "mutation($id: String!) { setStatuses(id: $id, custom: [\"会社名\"]) { position } }",
            json!({"id": ready}),
        )
        .await;
    assert_eq!(
        error_code(&status_clash),
        "NAME_COLLISION",
        "{status_clash}"
    );
    assert!(
        status_clash["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("列あり"),
        "{status_clash}"
    );
    let attribute_clash = admin
        .gql(
            "mutation($id: String!) { setAttributes(id: $id, target: \"customer\", attributes: [{name: \"会社名\", kind: \"text\", choices: []}]) { position } }",
            json!({"id": ready}),
        )
        .await;
    assert_eq!(
        error_code(&attribute_clash),
        "NAME_COLLISION",
        "{attribute_clash}"
    );
    assert_eq!(head(&server).await, before, "nothing written");
    admin
        .ok(
            "mutation($id: String!) { setStatuses(id: $id, custom: [\"資料送付\"]) { position } }",
            json!({"id": ready}),
        )
        .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmp_2_import_needs_a_ready_campaign_sqlite() {
    cmp_2_import_needs_a_ready_campaign(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmp_2_import_needs_a_ready_campaign_postgres() {
    cmp_2_import_needs_a_ready_campaign(StoreKind::Postgres).await;
}
