use chrono::TimeZone;
use cqrs_es::test::TestFramework;

use super::*;
use crate::access::audit_chain::verify;

fn draft(operation: &str) -> AccessDraft {
    AccessDraft {
        at: Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
            + chrono::Duration::nanoseconds(1_234_567),
        tenant: "acme".into(),
        user_id: Some(1),
        username: "yamada".into(),
        operation: operation.into(),
        address: "203.0.113.7".into(),
        outcome: Outcome::Success,
        detail: String::new(),
    }
}

fn recorded(events: &[AccessLogEvent]) -> Vec<(AccessEntry, Hash)> {
    events
        .iter()
        .map(|AccessLogEvent::Recorded { entry, hash }| {
            (
                entry.clone(),
                crate::access::audit_chain::hash_from_hex(hash).unwrap(),
            )
        })
        .collect()
}

#[test]
fn aud_1_entries_are_numbered_and_chained_across_commands() {
    let mut log = AccessLog::default();
    let first = log
        .decide(vec![draft("login"), draft("campaigns")])
        .unwrap();
    for e in first.clone() {
        log.apply(e);
    }
    let second = log.decide(vec![draft("logout")]).unwrap();
    let all: Vec<_> = recorded(&first)
        .into_iter()
        .chain(recorded(&second))
        .collect();
    assert_eq!(
        all.iter().map(|(e, _)| e.seq).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(
        all[0].0.at.timestamp_subsec_nanos() % 1_000,
        0,
        "microseconds"
    );
    assert_eq!(all[1].1, entry_hash(&all[0].1, &all[1].0));
    assert_eq!(verify(all).unwrap().next_seq, 4);
}

#[test]
fn aud_1_the_stream_continues_from_the_stored_head() {
    let mut log = AccessLog::default();
    let first = log.decide(vec![draft("login")]).unwrap();
    log.apply(first[0].clone());
    TestFramework::<AccessLog>::with(())
        .given(first)
        .when(AccessLogCommand::Record {
            entries: vec![draft("campaigns")],
        })
        .then_expect_events(log.decide(vec![draft("campaigns")]).unwrap());
}

#[test]
fn aud_1_oversized_batches_are_refused() {
    let drafts = vec![draft("x"); MAX_ENTRIES_PER_COMMAND + 1];
    assert_eq!(
        AccessLog::default().decide(drafts),
        Err(AccessLogError::TooMany {
            count: MAX_ENTRIES_PER_COMMAND + 1,
            max: MAX_ENTRIES_PER_COMMAND
        })
    );
}
