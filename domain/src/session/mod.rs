//! Login sessions. Aggregate id: a UUIDv7 per login attempt.
//!
//! A successful login starts a session (`SessionStarted`, carrying only a hash of the token); a
//! refused login is a stream of one `LoginRefused` event. Both are facts for the access log.
//! Password checking happens before the command (argon2 is the api's work); the session records
//! the outcome.

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::error::ErrorCode;
use crate::metadata::TenantId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SessionCommand {
    Start {
        tenant_id: TenantId,
        user_id: u64,
        token_hash: String,
    },
    Refuse {
        tenant_id: TenantId,
        username: String,
        reason: LoginRefusal,
    },
    End {
        reason: SessionEndReason,
    },
}

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginRefusal {
    UnknownUser,
    WrongPassword,
    Throttled,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionEndReason {
    Logout,
    IdleTimeout,
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SessionEvent {
    Started {
        tenant_id: TenantId,
        user_id: u64,
        token_hash: String,
    },
    LoginRefused {
        tenant_id: TenantId,
        username: String,
        reason: LoginRefusal,
    },
    Ended {
        reason: SessionEndReason,
    },
}

impl DomainEvent for SessionEvent {
    fn event_type(&self) -> String {
        match self {
            Self::Started { .. } => "SessionStarted",
            Self::LoginRefused { .. } => "LoginRefused",
            Self::Ended { .. } => "SessionEnded",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SessionError {
    #[error("このセッションIDは既に使われています (session id already used: log in again)")]
    AlreadyUsed,
    #[error("セッションが見つからないか終了しています (no such open session: log in again)")]
    NotOpen,
}

impl DomainError for SessionError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::AlreadyUsed => ErrorCode::AlreadyExists,
            Self::NotOpen => ErrorCode::Unauthenticated,
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    used: bool,
    open: bool,
}

impl Aggregate for Session {
    const TYPE: &'static str = "Session";
    type Command = SessionCommand;
    type Event = SessionEvent;
    type Error = SessionError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            SessionCommand::Start {
                tenant_id,
                user_id,
                token_hash,
            } => {
                if self.used {
                    return Err(SessionError::AlreadyUsed);
                }
                sink.write(
                    SessionEvent::Started {
                        tenant_id,
                        user_id,
                        token_hash,
                    },
                    self,
                )
                .await;
            }
            SessionCommand::Refuse {
                tenant_id,
                username,
                reason,
            } => {
                if self.used {
                    return Err(SessionError::AlreadyUsed);
                }
                sink.write(
                    SessionEvent::LoginRefused {
                        tenant_id,
                        username,
                        reason,
                    },
                    self,
                )
                .await;
            }
            SessionCommand::End { reason } => {
                if !self.open {
                    return Err(SessionError::NotOpen);
                }
                sink.write(SessionEvent::Ended { reason }, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.used = true;
        self.open = matches!(event, SessionEvent::Started { .. });
    }
}

#[cfg(test)]
mod tests {
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
}
