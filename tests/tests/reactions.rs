//! Reactions follow the log (REC-1): a recording dropped by a saved 不通 has its file deleted
//! by the node that reads the event — also when the process that wrote the event died before
//! it could act (kill -9 between the write and the effect): the next start reads on from its
//! checkpoint. Names that would leave the recordings folder are never followed.

use std::time::{Duration, Instant};

use cqrs_es::DomainEvent;
use cqrs_es::persist::SerializedEvent;
use kaden_api::commands::RequestContext;
use kaden_api::store::Store;
use kaden_domain::interaction::InteractionEvent;
use kaden_tests::{StoreKind, TestServer, TestStore};

fn dropped(id: &str, sequence: usize, file: &str) -> SerializedEvent {
    let event = InteractionEvent::RecordingDropped { file: file.into() };
    SerializedEvent {
        aggregate_id: format!("default:{id}"),
        sequence,
        aggregate_type: "Interaction".into(),
        event_type: event.event_type(),
        event_version: event.event_version(),
        payload: serde_json::to_value(&event).expect("payload"),
        metadata: serde_json::to_value(RequestContext::system("default").metadata().to_map())
            .expect("metadata"),
    }
}

async fn rec_1_dropped_recording_deleted_after_a_crash(kind: StoreKind) {
    let test = TestStore::new(kind).await;
    let recordings = test.dir.join("recordings");
    std::fs::create_dir_all(&recordings).expect("recordings folder");
    std::fs::write(recordings.join("a.wav"), b"RIFF").expect("a.wav");
    std::fs::write(recordings.join("kept.wav"), b"RIFF").expect("kept.wav");
    std::fs::write(test.dir.join("outside.wav"), b"RIFF").expect("outside.wav");
    // The events are in the log, but no process acted on them (as after a kill -9).
    let store = Store::open(&test.config()).await.expect("store");
    store
        .append(&[dropped("a", 1, "a.wav"), dropped("b", 1, "../outside.wav")])
        .await
        .expect("append");
    store.close().await;

    let server = TestServer::start(&test).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while recordings.join("a.wav").exists() {
        assert!(
            Instant::now() < deadline,
            "the dropped recording was not deleted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        recordings.join("kept.wav").exists(),
        "other recordings stay"
    );
    assert!(
        test.dir.join("outside.wav").exists(),
        "a ../ name is not followed"
    );
    let checkpoint = kaden_api::reactions::checkpoint_path(&test.dir);
    while !checkpoint.exists() {
        assert!(Instant::now() < deadline, "no checkpoint written");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rec_1_dropped_recording_deleted_after_a_crash_sqlite() {
    rec_1_dropped_recording_deleted_after_a_crash(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rec_1_dropped_recording_deleted_after_a_crash_postgres() {
    rec_1_dropped_recording_deleted_after_a_crash(StoreKind::Postgres).await;
}
