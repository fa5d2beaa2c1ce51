use cqrs_es::test::TestFramework;

use super::*;

type Given = TestFramework<Session>;

fn started() -> SessionEvent {
    SessionEvent::Started {
        tenant_id: "t".into(),
        user_id: 1,
        token_hash: "h".into(),
    }
}

#[test]
fn a_session_starts_once_and_ends_once() {
    Given::with(())
        .given_no_previous_events()
        .when(SessionCommand::Start {
            tenant_id: "t".into(),
            user_id: 1,
            token_hash: "h".into(),
        })
        .then_expect_events(vec![started()]);
    Given::with(())
        .given(vec![started()])
        .when(SessionCommand::Start {
            tenant_id: "t".into(),
            user_id: 1,
            token_hash: "h".into(),
        })
        .then_expect_error(SessionError::AlreadyUsed);
    Given::with(())
        .given(vec![started()])
        .when(SessionCommand::End {
            reason: SessionEndReason::Logout,
        })
        .then_expect_events(vec![SessionEvent::Ended {
            reason: SessionEndReason::Logout,
        }]);
    Given::with(())
        .given(vec![
            started(),
            SessionEvent::Ended {
                reason: SessionEndReason::Logout,
            },
        ])
        .when(SessionCommand::End {
            reason: SessionEndReason::Logout,
        })
        .then_expect_error(SessionError::NotOpen);
}
