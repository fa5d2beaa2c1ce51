use cqrs_es::test::TestFramework;

use super::*;

type Given = TestFramework<Interaction>;

fn target() -> CallTarget {
    CallTarget {
        customer_id: "001-001".into(),
        folder: 1,
        customer: 1,
        campaign_id: "c1".into(),
        number: "0312345678".into(),
        caller_number: "0311112222".into(),
        user_id: 7,
        mode: DialMode::List,
    }
}

fn placed() -> InteractionEvent {
    InteractionEvent::CallPlaced {
        tenant_id: "acme".into(),
        target: target(),
    }
}

fn statuses() -> Vec<String> {
    crate::campaign::settings::FIXED_STATUSES
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn save(by: Option<(u64, bool)>, status: &str) -> InteractionCommand {
    InteractionCommand::SaveResult {
        tenant_id: "acme".into(),
        by,
        status: status.into(),
        memo: Some(" 留守電 ".into()),
        statuses: statuses(),
    }
}

fn talked_and_recorded() -> Vec<InteractionEvent> {
    vec![
        placed(),
        InteractionEvent::OperatorConnected,
        InteractionEvent::CustomerRinging { code: 180 },
        InteractionEvent::CallAnswered,
        InteractionEvent::CallEnded {
            talk_ms: 12_345,
            talk_seconds: 12,
            ended_by: EndedBy::Customer,
            suggested_status: None,
        },
        InteractionEvent::RecordingStored {
            file: "acme/x.wav".into(),
            duration_ms: 12_345,
            bytes: 395_084,
        },
    ]
}

#[test]
fn call_6_one_interaction_per_call_and_placing_it_twice_is_refused() {
    Given::with(())
        .given_no_previous_events()
        .when(InteractionCommand::Place {
            tenant_id: "acme".into(),
            target: target(),
        })
        .then_expect_events(vec![placed()]);
    Given::with(())
        .given(vec![placed()])
        .when(InteractionCommand::Place {
            tenant_id: "acme".into(),
            target: target(),
        })
        .then_expect_error(InteractionError::AlreadyExists);
}

#[test]
fn call_events_follow_the_call_in_order() {
    Given::with(())
        .given(vec![placed()])
        .when(InteractionCommand::Answer)
        .then_expect_events(vec![InteractionEvent::CallAnswered]);
    // An ended call cannot be answered again, nor ended before it was answered.
    Given::with(())
        .given(talked_and_recorded())
        .when(InteractionCommand::Answer)
        .then_expect_error(InteractionError::WrongState {
            state: "通話終了",
            what: "応答",
        });
    Given::with(())
        .given(vec![placed()])
        .when(InteractionCommand::End {
            talk_ms: 1,
            ended_by: EndedBy::Kaden,
            fax_tone: false,
        })
        .then_expect_error(InteractionError::WrongState {
            state: "発信中",
            what: "通話終了",
        });
    Given::with(())
        .given_no_previous_events()
        .when(InteractionCommand::Answer)
        .then_expect_error(InteractionError::NotFound);
}

#[test]
fn cnt_failure_suggests_the_status_of_its_cause() {
    Given::with(())
        .given(vec![
            placed(),
            InteractionEvent::CustomerRinging { code: 183 },
        ])
        .when(InteractionCommand::Fail {
            code: 404,
            reason: "Not Found".into(),
            outcome: CallOutcome::NotInService,
        })
        .then_expect_events(vec![InteractionEvent::CallFailed {
            code: 404,
            reason: "Not Found".into(),
            outcome: CallOutcome::NotInService,
            suggested_status: "現アナ".into(),
        }]);
    assert_eq!(CallOutcome::Busy.suggested_status(), "不通");
    assert_eq!(CallOutcome::Fax.suggested_status(), "FAX");
}

#[test]
fn call_ended_carries_talk_seconds_and_a_fax_tone_suggests_fax() {
    Given::with(())
        .given(vec![placed(), InteractionEvent::CallAnswered])
        .when(InteractionCommand::End {
            talk_ms: 4_999,
            ended_by: EndedBy::Operator,
            fax_tone: true,
        })
        .then_expect_events(vec![InteractionEvent::CallEnded {
            talk_ms: 4_999,
            talk_seconds: 4,
            ended_by: EndedBy::Operator,
            suggested_status: Some("FAX".into()),
        }]);
}

#[test]
fn rec_1_saving_no_answer_drops_the_recording_other_statuses_keep_it() {
    Given::with(())
        .given(talked_and_recorded())
        .when(save(Some((7, false)), "不通"))
        .then_expect_events(vec![
            InteractionEvent::ResultSaved {
                status: "不通".into(),
                memo: Some("留守電".into()),
                user_id: Some(7),
            },
            InteractionEvent::RecordingDropped {
                file: "acme/x.wav".into(),
            },
        ]);
    Given::with(())
        .given(talked_and_recorded())
        .when(save(Some((7, false)), "見込"))
        .then_expect_events(vec![InteractionEvent::ResultSaved {
            status: "見込".into(),
            memo: Some("留守電".into()),
            user_id: Some(7),
        }]);
}

#[test]
fn rec_1_a_recording_stored_after_a_no_answer_save_is_dropped_at_once() {
    let mut given = vec![placed(), InteractionEvent::CallAnswered];
    given.push(InteractionEvent::ResultSaved {
        status: "不通".into(),
        memo: None,
        user_id: Some(7),
    });
    Given::with(())
        .given(given)
        .when(InteractionCommand::StoreRecording {
            file: "acme/y.wav".into(),
            duration_ms: 10,
            bytes: 44,
        })
        .then_expect_events(vec![
            InteractionEvent::RecordingStored {
                file: "acme/y.wav".into(),
                duration_ms: 10,
                bytes: 44,
            },
            InteractionEvent::RecordingDropped {
                file: "acme/y.wav".into(),
            },
        ]);
}

#[test]
fn call_6_save_refuses_unknown_statuses_others_rows_and_refused_calls() {
    Given::with(())
        .given(talked_and_recorded())
        .when(save(Some((7, false)), "成約"))
        .then_expect_error(InteractionError::UnknownStatus {
            status: "成約".into(),
            allowed: "不通・FAX・現アナ・見込・再コール・架電禁止".into(),
        });
    Given::with(())
        .given(talked_and_recorded())
        .when(save(Some((8, false)), "見込"))
        .then_expect_error(InteractionError::NotYours { holder: 7 });
    // A manager edits every row (USR-6).
    Given::with(())
        .given(talked_and_recorded())
        .when(save(Some((8, true)), "見込"))
        .then_expect_events(vec![InteractionEvent::ResultSaved {
            status: "見込".into(),
            memo: Some("留守電".into()),
            user_id: Some(8),
        }]);
    Given::with(())
        .given(vec![InteractionEvent::CallRefused {
            tenant_id: "acme".into(),
            target: target(),
            code: "DO_NOT_CALL".into(),
            reason: "x".into(),
        }])
        .when(save(Some((7, false)), "不通"))
        .then_expect_error(InteractionError::WasRefused {
            code: "DO_NOT_CALL".into(),
        });
    // Another tenant's interaction is reported as missing.
    Given::with(())
        .given(talked_and_recorded())
        .when(InteractionCommand::SaveResult {
            tenant_id: "other".into(),
            by: Some((7, false)),
            status: "見込".into(),
            memo: None,
            statuses: statuses(),
        })
        .then_expect_error(InteractionError::NotFound);
}

#[test]
fn call_7_the_system_saves_an_unanswered_auto_call_as_no_answer() {
    Given::with(())
        .given(vec![
            placed(),
            InteractionEvent::CallFailed {
                code: 408,
                reason: "ring time".into(),
                outcome: CallOutcome::NoAnswer,
                suggested_status: "不通".into(),
            },
        ])
        .when(InteractionCommand::SaveResult {
            tenant_id: "acme".into(),
            by: None,
            status: "不通".into(),
            memo: None,
            statuses: statuses(),
        })
        .then_expect_events(vec![InteractionEvent::ResultSaved {
            status: "不通".into(),
            memo: None,
            user_id: None,
        }]);
}
