//! Do-not-call end to end on both stores (SPEC DNC-1..5, LST-3 parsing, ERR-2): register by
//! form and by CSV (all or nothing), search, edit, unregister, the dial check, and the import
//! preview counting numbers on the list.

use kaden_tests::{Client, StoreKind, TestServer, TestStore, error_code, upload};
use serde_json::{Value, json};

async fn campaign(server: &TestServer, admin: &Client, name: &str) -> String {
    kaden_tests::ready_campaign(server, admin, name).await
}

async fn permission(admin: &Client, campaign: &str, number: &str) -> Value {
    admin
        .ok("query($c: String!, $n: String!) { dialPermission(campaignId: $c, number: $n) { allowed registrationId reason } }", json!({"c": campaign, "n": number}))
        .await["dialPermission"]
        .clone()
}

async fn dnc_register_search_edit_unregister(kind: StoreKind) {
    let place = TestStore::new(kind).await;
    let server = TestServer::start(&place).await;
    let admin = server.admin().await;
    let spring = campaign(&server, &admin, "春の案件").await;
    let autumn = campaign(&server, &admin, "秋の案件").await;

    // DNC-3 by form, for one campaign; the number is normalised like LST-3.
    let registered = admin
        .ok("mutation($c: [String!]!) { registerDnc(numbers: [\"03-1234-5678\"], campaignIds: $c) { totalCount position } }", json!({"c": [spring]}))
        .await;
    assert_eq!(registered["registerDnc"]["totalCount"], 1);
    // DNC-5: refused in the campaign it blocks, naming the registration; allowed elsewhere.
    let refused = permission(&admin, &spring, "0312345678").await;
    assert_eq!(
        (
            refused["allowed"].as_bool(),
            refused["registrationId"].as_u64()
        ),
        (Some(false), Some(1))
    );
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .contains("registration 1"),
        "{refused}"
    );
    assert_eq!(
        permission(&admin, &autumn, "0312345678").await["allowed"],
        true
    );

    // DNC-3 by CSV: all or nothing.
    let before = server.domain_head().await;
    let bad = "電話番号\n0312345679\nabc\n09012345678\n"
        .as_bytes()
        .to_vec();
    let (status, body) = upload(
        &server,
        &admin,
        "/api/dnc/import",
        &[("allCampaigns", "true".into())],
        bad,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("IMPORT_REFUSED")),
        "{body}"
    );
    assert_eq!(body["errors"][0]["line"], 3);
    assert_eq!(
        server.domain_head().await,
        before,
        "ERR-2: nothing registered"
    );
    let good = "電話番号\n0312345679\n090-1234-5678\n0312345678\n"
        .as_bytes()
        .to_vec();
    let (status, body) = upload(
        &server,
        &admin,
        "/api/dnc/import",
        &[("allCampaigns", "true".into())],
        good,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["numbers"], 3);
    assert_eq!(
        permission(&admin, &autumn, "0312345678").await["allowed"],
        false,
        "registering again widened it to all campaigns"
    );

    // DNC-2 list / DNC-4 search.
    let all = admin.ok("{ dncRegistrations { totalCount nodes { id number allCampaigns campaignIds fromCsv } } }", json!({})).await;
    assert_eq!(all["dncRegistrations"]["totalCount"], 3);
    let found = admin
        .ok(
            "{ dncRegistrations(number: \"090-1234\") { totalCount nodes { id number fromCsv } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        found["dncRegistrations"]["nodes"],
        json!([{"id": 3, "number": "09012345678", "fromCsv": true}])
    );

    // Preview of a list import counts the numbers on the list for its campaign.
    let (status, preview) = upload(
        &server,
        &admin,
        "/api/folders/import/preview",
        &[("campaignId", spring.clone()), ("folderName", "x".into())],
        "電話番号\n0312345678\n0311110000\n".as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["numbersOnDncList"], 1);

    // DNC-2 edit: number and campaigns; a number held by another registration is refused.
    let edited = admin
        .ok("mutation($c: [String!]!) { editDnc(id: 3, number: \"09099998888\", campaignIds: $c) { totalCount } }", json!({"c": [autumn]}))
        .await;
    assert_eq!(edited["editDnc"]["totalCount"], 3);
    assert_eq!(
        permission(&admin, &autumn, "09012345678").await["allowed"],
        true
    );
    assert_eq!(
        permission(&admin, &autumn, "09099998888").await["allowed"],
        false
    );
    let before = server.domain_head().await;
    let taken = admin.gql("mutation { editDnc(id: 3, number: \"0312345678\", allCampaigns: true) { totalCount } }", json!({})).await;
    assert_eq!(error_code(&taken), "DNC_ALREADY_REGISTERED");
    let none = admin
        .gql(
            "mutation { registerDnc(numbers: [\"0312345678\"]) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&none), "DNC_NO_CAMPAIGNS");
    let bad_number = admin
        .gql(
            "mutation { registerDnc(numbers: [\"12\"], allCampaigns: true) { totalCount } }",
            json!({}),
        )
        .await;
    assert!(
        error_code(&bad_number).starts_with("PHONE_"),
        "{bad_number}"
    );
    let missing = admin
        .gql(
            "mutation { unregisterDnc(ids: [1, 99]) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&missing), "NOT_FOUND");
    assert_eq!(server.domain_head().await, before, "refusals write nothing");

    // Unregister one, then all.
    let one = admin
        .ok(
            "mutation { unregisterDnc(ids: [1]) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(one["unregisterDnc"]["totalCount"], 2);
    assert_eq!(
        permission(&admin, &spring, "0312345678").await["allowed"],
        true
    );
    let all = admin
        .ok("mutation { unregisterAllDnc { totalCount } }", json!({}))
        .await;
    assert_eq!(all["unregisterAllDnc"]["totalCount"], 0);
    assert_eq!(
        permission(&admin, &spring, "0312345679").await["allowed"],
        true
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnc_1_to_5_sqlite() {
    dnc_register_search_edit_unregister(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnc_1_to_5_postgres() {
    dnc_register_search_edit_unregister(StoreKind::Postgres).await;
}
