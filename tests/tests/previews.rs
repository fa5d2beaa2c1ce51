//! Issue 12 item 8 (LST-2): previews are bounded per user, and a commit that comes too late
//! says why its preview is gone, through the HTTP routes a client uses.

use kaden_tests::{Client, StoreKind, TestServer, TestStore, upload};
use serde_json::{Value, json};

async fn commit(server: &TestServer, client: &Client, preview_id: &str) -> (u16, Value) {
    let response = client
        .http
        .post(server.url("/api/folders/import/commit"))
        .bearer_auth(client.token.as_deref().unwrap_or_default())
        .json(&json!({"previewId": preview_id, "idempotencyKey": format!("k-{preview_id}")}))
        .send()
        .await
        .expect("commit");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json answer"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lst_2_sec_12_8_a_users_sixth_preview_evicts_the_first_and_its_commit_says_why() {
    let store = TestStore::new(StoreKind::Sqlite).await;
    let server = TestServer::start(&store).await;
    let admin = server.admin().await;
    let campaign = kaden_tests::ready_campaign(&server, &admin, "プレビューの案件").await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let (status, answer) = upload(
            &server,
            &admin,
            "/api/folders/import/preview",
            &[
                ("campaignId", campaign.clone()),
                ("folderName", format!("リスト{i}")),
            ],
            format!("電話番号,会社名\r\n0312345{i:03},社{i}\r\n").into_bytes(),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        ids.push(
            answer["previewId"]
                .as_str()
                .expect("preview id")
                .to_string(),
        );
    }
    let (status, answer) = commit(&server, &admin, &ids[0]).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (410, Some("PREVIEW_EVICTED")),
        "{answer}"
    );
    assert!(
        answer["message"].as_str().unwrap_or("").contains("again"),
        "{answer}"
    );
    let (status, answer) = commit(&server, &admin, "0123456789abcdef").await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (404, Some("PREVIEW_NOT_FOUND")),
        "{answer}"
    );
    // The newest five are still there: the last one commits.
    let (status, answer) = commit(&server, &admin, &ids[5]).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["imported"], 1);
    server.stop().await;
}
