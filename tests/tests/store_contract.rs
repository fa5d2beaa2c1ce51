//! The event-store contract, run against both backends: ordered global log, positions,
//! optimistic concurrency, wake-ups, read-model snapshots, and no skipped or repeated event
//! under 32 concurrent writers (PostgreSQL: also transactions that commit late).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use cqrs_es::persist::{PersistenceError, SerializedEvent};
use kaden_api::commands::{Commands, RequestContext};
use kaden_api::store::{Store, capture_position};
use kaden_domain::campaign::CampaignCommand;
use kaden_projections::log::{EventLog, LogPosition};
use kaden_tests::{StoreKind, TestStore};
use serde_json::json;

fn event(aggregate: &str, sequence: usize) -> SerializedEvent {
    let meta = json!(RequestContext::system("t").metadata().to_map());
    SerializedEvent::new(
        aggregate.into(),
        sequence,
        "Campaign".into(),
        "CampaignCreated".into(),
        "1".into(),
        json!({"Created": {"tenant_id": "t", "name": "x"}}),
        meta,
    )
}

async fn contract(kind: StoreKind) {
    let place = TestStore::new(kind).await;
    let store = Store::open(&place.config()).await.unwrap();
    assert_eq!(
        store.read_after(LogPosition::START, 10).await.unwrap(),
        vec![]
    );
    let mut wakeups = store.wakeups();
    wakeups.borrow_and_update();

    // A command's events land together and report the position they were written at.
    let commands = Commands::new(&store);
    let ctx = RequestContext::system("t");
    let p1 = commands
        .campaign(
            "c1",
            CampaignCommand::Create {
                tenant_id: "t".into(),
                name: "一".into(),
            },
            &ctx,
        )
        .await
        .unwrap()
        .unwrap();
    let p2 = commands
        .campaign(
            "c1",
            CampaignCommand::Rename {
                tenant_id: "t".into(),
                name: "二".into(),
            },
            &ctx,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(p1 < p2);
    assert!(wakeups.has_changed().unwrap(), "an append wakes readers");
    let unchanged = commands
        .campaign(
            "c1",
            CampaignCommand::Rename {
                tenant_id: "t".into(),
                name: "二".into(),
            },
            &ctx,
        )
        .await
        .unwrap();
    assert_eq!(
        unchanged, None,
        "a command that changes nothing writes nothing"
    );

    // PostgreSQL shows a transaction to readers once every transaction that began before it
    // has ended (no reader may skip a commit that lands at a smaller position); other tests'
    // transactions on the same server can hold that back for a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let rows = loop {
        let rows = store.read_after(LogPosition::START, 10).await.unwrap();
        if rows.len() >= 2 || std::time::Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].position, p1);
    assert_eq!(rows[1].position, p2);
    assert_eq!(
        (
            rows[1].aggregate_id.as_str(),
            rows[1].sequence,
            rows[1].event_type.as_str()
        ),
        ("c1", 2, "CampaignRenamed")
    );
    let decoded = rows[1].decode().unwrap();
    assert_eq!(decoded.metadata.tenant_id, "t");
    assert_eq!(decoded.metadata.client_addr, "local");
    assert_eq!(store.read_after(p1, 10).await.unwrap().len(), 1);
    assert_eq!(store.read_after(p2, 10).await.unwrap().len(), 0);
    assert_eq!(store.head().await.unwrap(), p2);

    // Two writers of the same aggregate sequence: one wins, the other is a conflict.
    let conflict = store.append(&[event("c1", 2)]).await;
    assert!(
        matches!(conflict, Err(PersistenceError::OptimisticLockError)),
        "{conflict:?}"
    );
    // ... and a refused batch leaves nothing behind (all or nothing).
    let mixed = store.append(&[event("c9", 1), event("c1", 1)]).await;
    assert!(matches!(mixed, Err(PersistenceError::OptimisticLockError)));
    assert_eq!(
        store
            .read_after(LogPosition::START, 10)
            .await
            .unwrap()
            .len(),
        2
    );

    // A bulk append of 1,000 events is one write with the last position.
    let bulk: Vec<_> = (1..=1000).map(|s| event("bulk", s)).collect();
    let (written, captured) = capture_position(store.append(&bulk)).await;
    let last = written.unwrap().unwrap();
    assert_eq!(captured, Some(last));
    let all = store.read_after(p2, 2000).await.unwrap();
    assert_eq!(all.len(), 1000);
    assert_eq!(all.last().unwrap().position, last);
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));

    // Read-model snapshots keep their position and are ignored at another schema version.
    assert_eq!(store.load_projection_snapshot("m", 1).await.unwrap(), None);
    store
        .save_projection_snapshot("m", 1, p2, "{\"a\":1}")
        .await
        .unwrap();
    store
        .save_projection_snapshot("m", 1, last, "{\"a\":2}")
        .await
        .unwrap();
    assert_eq!(
        store.load_projection_snapshot("m", 1).await.unwrap(),
        Some((last, "{\"a\":2}".to_string()))
    );
    assert_eq!(store.load_projection_snapshot("m", 2).await.unwrap(), None);
    store.close().await;
}

#[tokio::test]
async fn contract_sqlite() {
    contract(StoreKind::Sqlite).await;
}

#[tokio::test]
async fn contract_postgres() {
    contract(StoreKind::Postgres).await;
}

const WRITERS: usize = 32;
const COMMANDS_PER_WRITER: usize = 60;

/// Transactions that take their log position early and commit late: the classic way a
/// position-ordered reader skips events.
async fn late_commits(place: &TestStore, rounds: usize) -> usize {
    let Some(url) = &place.database_url else {
        return 0;
    };
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let meta = json!(RequestContext::system("t").metadata().to_map()).to_string();
    for round in 0..rounds {
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) VALUES ('Campaign', $1, 1, 'CampaignCreated', '1', $2::json, $3::json)")
            .bind(format!("late-{round}"))
            .bind(json!({"Created": {"tenant_id": "t", "name": "late"}}).to_string())
            .bind(&meta)
            .execute(&mut *tx)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
        tx.commit().await.unwrap();
    }
    pool.close().await;
    rounds
}

async fn no_event_skipped_or_repeated(kind: StoreKind) {
    let place = Arc::new(TestStore::new(kind).await);
    let store = Store::open(&place.config()).await.unwrap();
    let late_rounds = if kind == StoreKind::Postgres { 40 } else { 0 };
    let expected = WRITERS * COMMANDS_PER_WRITER + late_rounds;

    let reader = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut seen = Vec::with_capacity(expected);
            let mut position = LogPosition::START;
            let mut wakeups = store.wakeups();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
            while seen.len() < expected && tokio::time::Instant::now() < deadline {
                wakeups.borrow_and_update();
                let rows = store.read_after(position, 100).await.unwrap();
                if let Some(last) = rows.last() {
                    assert!(last.position > position);
                    position = last.position;
                }
                let empty = rows.is_empty();
                seen.extend(rows.into_iter().map(|r| (r.aggregate_id, r.sequence)));
                if empty {
                    let _ = tokio::time::timeout(store.poll_interval(), wakeups.changed()).await;
                }
            }
            seen
        })
    };
    let late = {
        let place = Arc::clone(&place);
        tokio::spawn(async move { late_commits(&place, late_rounds).await })
    };
    let commands = Arc::new(Commands::new(&store));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let commands = Arc::clone(&commands);
        writers.push(tokio::spawn(async move {
            let ctx = RequestContext::system("t");
            for i in 0..COMMANDS_PER_WRITER {
                let id = format!("w{w}-{i}");
                commands
                    .campaign(
                        &id,
                        CampaignCommand::Create {
                            tenant_id: "t".into(),
                            name: id.clone(),
                        },
                        &ctx,
                    )
                    .await
                    .unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(late.await.unwrap(), late_rounds);
    let seen = reader.await.unwrap();
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "an event was delivered twice");
    assert_eq!(seen.len(), expected, "the tailing reader missed events");
    for w in 0..WRITERS {
        for i in 0..COMMANDS_PER_WRITER {
            assert!(unique.contains(&(format!("w{w}-{i}"), 1)));
        }
    }
    for round in 0..late_rounds {
        assert!(
            unique.contains(&(format!("late-{round}"), 1)),
            "late commit {round} skipped"
        );
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_writers_and_a_tailing_reader_sqlite() {
    no_event_skipped_or_repeated(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_writers_late_commits_and_a_tailing_reader_postgres() {
    no_event_skipped_or_repeated(StoreKind::Postgres).await;
}

/// Another node (a second store on the same database) is woken by NOTIFY when this node
/// commits, and a burst of commits does not turn into a storm of notifications.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_node_is_woken_by_notify_postgres() {
    let place = TestStore::new(StoreKind::Postgres).await;
    let writer = Store::open(&place.config()).await.unwrap();
    let reader = Store::open(&place.config()).await.unwrap();
    let mut wakeups = reader.wakeups();
    // Let the listener connect, then forget anything seen so far.
    tokio::time::sleep(Duration::from_millis(300)).await;
    wakeups.borrow_and_update();
    writer.append(&[event("n1", 1)]).await.unwrap();
    tokio::time::timeout(Duration::from_secs(2), wakeups.changed())
        .await
        .expect("woken within 2 s")
        .unwrap();
    // Quiet after the burst: no notification loop between the nodes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    wakeups.borrow_and_update();
    assert!(
        tokio::time::timeout(Duration::from_millis(500), wakeups.changed())
            .await
            .is_err(),
        "nodes keep waking each other"
    );
    writer.close().await;
    reader.close().await;
}
