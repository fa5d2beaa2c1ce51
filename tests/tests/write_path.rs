//! The one write path (`commands::Writer`): a decision over several aggregates is ONE append —
//! all of it or none. This is what keeps 架電禁止 and its do-not-call registration together
//! (DNC-1): a conflict on the second aggregate writes neither, and the retry lands both in
//! one transaction.

use cqrs_es::Aggregate;
use kaden_api::commands::{Attempt, Commands, RequestContext, Writer};
use kaden_api::store::Store;
use kaden_domain::campaign::{Campaign, CampaignCommand};
use kaden_domain::dnc::{DncCommand, DncRegistry, DncScope, DncSource};
use kaden_domain::list::PhoneNumber;
use kaden_projections::log::{EventLog, LogPosition, RawEvent};
use kaden_tests::{StoreKind, TestStore};

fn register(number: &str) -> DncCommand {
    DncCommand::Register {
        tenant_id: "t".into(),
        numbers: vec![PhoneNumber::from_normalised(number).expect("number")],
        scope: DncScope::All,
        source: DncSource::default(),
    }
}

async fn log(store: &Store) -> Vec<RawEvent> {
    store
        .read_after(LogPosition::START, 1_000)
        .await
        .expect("read")
}

/// One decision over two aggregates: create campaign `t:c1` and register a number.
async fn decide_both(writer: &Writer<'_>) -> Attempt {
    let mut attempt = writer.attempt();
    let mut campaign = writer.load::<Campaign>("t:c1").await.expect("load");
    let create = CampaignCommand::Create {
        tenant_id: "t".into(),
        name: "春".into(),
    };
    writer
        .decide(&mut attempt, &mut campaign, create)
        .await
        .expect("decide");
    let mut registry = writer.load::<DncRegistry>("t").await.expect("load");
    writer
        .decide(&mut attempt, &mut registry, register("0312345678"))
        .await
        .expect("decide");
    attempt
}

async fn dnc_1_two_aggregates_one_append_or_none(kind: StoreKind) {
    let test = TestStore::new(kind).await;
    let store = Store::open(&test.config()).await.expect("store");
    let commands = Commands::new(&store);
    let ctx = RequestContext::system("t");
    let writer = commands.writer(&ctx).expect("writer");

    // A decision over a campaign and the registry…
    let attempt = decide_both(&writer).await;
    // …while another writer changes the registry first.
    commands
        .dnc("t", register("0399999999"), &ctx)
        .await
        .expect("the other writer");
    let before = log(&store).await.len();
    assert_eq!(
        writer.append(attempt).await.expect("append"),
        None,
        "a conflict"
    );
    let after = log(&store).await;
    assert_eq!(after.len(), before, "nothing of the attempt was written");
    assert!(after.iter().all(|e| e.aggregate_type != Campaign::TYPE));

    // Deciding again from fresh state lands both, in one transaction.
    let position = loop {
        let attempt = decide_both(&writer).await;
        if let Some(p) = writer.append(attempt).await.expect("append") {
            break p.expect("written");
        }
    };
    let events = log(&store).await;
    let ours: Vec<&RawEvent> = events.iter().skip(before).collect();
    assert_eq!(ours.len(), 2, "{ours:?}");
    assert_eq!(ours[0].aggregate_type, Campaign::TYPE);
    assert_eq!(ours[1].aggregate_type, DncRegistry::TYPE);
    assert_eq!(ours[1].position, position);
    match kind {
        // PostgreSQL: the transaction id is part of every position.
        StoreKind::Postgres => assert_eq!(ours[0].position.tx, ours[1].position.tx),
        // SQLite: one writer, one transaction per append: neighbouring positions.
        StoreKind::Sqlite => assert_eq!(ours[0].position.pos + 1, ours[1].position.pos),
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnc_1_two_aggregates_one_append_or_none_sqlite() {
    dnc_1_two_aggregates_one_append_or_none(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnc_1_two_aggregates_one_append_or_none_postgres() {
    dnc_1_two_aggregates_one_append_or_none(StoreKind::Postgres).await;
}
