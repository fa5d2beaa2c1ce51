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

mod commands;
pub use commands::*;
mod events;
pub use events::*;
mod error;
pub use error::*;

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
mod tests;
