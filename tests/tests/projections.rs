//! The read side: replay from position 0 gives exactly the state live folding gave; a restart
//! resumes from a saved snapshot plus the tail and still equals a fresh replay.

use kaden_projections::ReadModels;
use kaden_projections::engine::Engine;
use kaden_projections::log::LogPosition;
use kaden_tests::{StoreKind, TestServer, TestStore};
use serde_json::json;

/// A fresh engine folding the whole log of `server`'s store.
async fn fresh_replay(server: &TestServer) -> (LogPosition, ReadModels) {
    let engine = Engine::new(ReadModels::default(), LogPosition::START);
    engine.catch_up(&server.app.state.store).await.unwrap();
    engine.snapshot()
}

async fn activity(server: &TestServer, n: usize) {
    let admin = server.admin().await;
    for i in 0..n {
        let created = admin
            .ok(
                "mutation($n: String!) { createCampaign(name: $n) { campaign { id } } }",
                json!({"n": format!("案件{i}")}),
            )
            .await;
        let id = created["createCampaign"]["campaign"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        if i % 2 == 0 {
            admin.ok("mutation($id: String!) { renameCampaign(id: $id, name: \"改名\") { position } }", json!({"id": id})).await;
        }
        if i % 3 == 0 {
            admin
                .ok(
                    "mutation($id: String!) { deactivateCampaign(id: $id) { position } }",
                    json!({"id": id}),
                )
                .await;
        }
    }
    let mut other = server.client();
    other
        .login(kaden_tests::ADMIN, kaden_tests::ADMIN_PASSWORD)
        .await;
    other.ok("mutation { logout }", json!({})).await;
}

async fn replay_equals_live(kind: StoreKind) {
    let place = TestStore::new(kind).await;
    let server = TestServer::start(&place).await;
    activity(&server, 12).await;
    server.settle().await;
    let live = server.app.state.engine.snapshot();
    let replayed = fresh_replay(&server).await;
    assert_eq!(live.0, replayed.0);
    assert_eq!(live.1, replayed.1, "replay from 0 must equal live folding");
    assert_eq!(live.1.campaigns.list("default", true).len(), 12);

    // Restart: the snapshot saved at shutdown is the starting point; more writes follow.
    server.stop().await;
    let store = kaden_api::store::Store::open(&place.config())
        .await
        .unwrap();
    let (snap_position, _) = store
        .load_projection_snapshot("read_models", ReadModels::SCHEMA_VERSION)
        .await
        .unwrap()
        .expect("snapshot saved at shutdown");
    assert_eq!(snap_position, live.0);
    store.close().await;

    let server = TestServer::start(&place).await;
    assert_eq!(
        server.app.state.engine.applied(),
        0,
        "started from the snapshot: nothing replayed"
    );
    assert_eq!(server.app.state.engine.snapshot().1, live.1);
    activity(&server, 5).await;
    server.settle().await;
    let live = server.app.state.engine.snapshot();
    let replayed = fresh_replay(&server).await;
    assert_eq!(live, replayed, "snapshot + tail must equal a fresh replay");
    assert_eq!(live.1.campaigns.list("default", true).len(), 17);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_equals_live_folding_sqlite() {
    replay_equals_live(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_equals_live_folding_postgres() {
    replay_equals_live(StoreKind::Postgres).await;
}
