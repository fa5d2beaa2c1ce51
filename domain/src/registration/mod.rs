//! SIP registrations (issue 17 item 4): a softphone's bindings (contact, where its REGISTER
//! came from, expiry) as facts in the log, so they survive a restart and every node knows them.
//!
//! One stream per change: aggregate id `"{tenant}:{sip_user}:{change id}"`, holding exactly one
//! `SipBindingsChanged` with the user's whole binding set after the REGISTER that changed it
//! (an empty set: unregistered). A stream per change keeps every write a load of nothing, however
//! long a phone has been refreshing; the latest change in log order is the user's bindings
//! (the `registrations` read model). Which REGISTERs are news is the registrar's decision
//! (kaden-telephony `registrar::shared`): a refresh that only extends the expiry writes nothing.

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorCode};
use crate::metadata::TenantId;

/// The stream of one change of `sip_user`'s bindings.
pub fn registration_aggregate_id(tenant: &str, sip_user: &str, change: &str) -> String {
    format!("{tenant}:{sip_user}:{change}")
}

/// One registered contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SipBinding {
    /// The Contact URI the phone registered.
    pub contact: String,
    /// Where the REGISTER came from (`ip:port`): calls to the phone are sent there.
    pub source: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SipRegistrationCommand {
    Record {
        tenant_id: TenantId,
        sip_user: String,
        /// When the REGISTER that set these bindings was accepted.
        at: DateTime<Utc>,
        bindings: Vec<SipBinding>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SipRegistrationEvent {
    BindingsChanged {
        tenant_id: TenantId,
        sip_user: String,
        at: DateTime<Utc>,
        bindings: Vec<SipBinding>,
    },
}

impl DomainEvent for SipRegistrationEvent {
    fn event_type(&self) -> String {
        match self {
            Self::BindingsChanged { .. } => "SipBindingsChanged",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SipRegistrationError {
    #[error("this registration change is already recorded (record each change on a new stream)")]
    AlreadyRecorded,
    #[error("a SIP registration needs a SIP user name")]
    NoSipUser,
    #[error("binding {contact:?} is not a usable SIP binding: {why}")]
    BadBinding { contact: String, why: &'static str },
}

impl DomainError for SipRegistrationError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::AlreadyRecorded => ErrorCode::AlreadyExists,
            Self::NoSipUser | Self::BadBinding { .. } => ErrorCode::BadArgument,
        }
    }
}

/// One change of a SIP user's bindings.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct SipRegistration {
    recorded: bool,
}

impl Aggregate for SipRegistration {
    const TYPE: &'static str = "SipRegistration";
    type Command = SipRegistrationCommand;
    type Event = SipRegistrationEvent;
    type Error = SipRegistrationError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let SipRegistrationCommand::Record {
            tenant_id,
            sip_user,
            at,
            bindings,
        } = command;
        if self.recorded {
            return Err(SipRegistrationError::AlreadyRecorded);
        }
        if sip_user.trim().is_empty() {
            return Err(SipRegistrationError::NoSipUser);
        }
        for b in &bindings {
            let bad = |why| SipRegistrationError::BadBinding {
                contact: b.contact.clone(),
                why,
            };
            if b.contact.trim().is_empty() {
                return Err(bad("the contact is empty"));
            }
            if b.source.parse::<std::net::SocketAddr>().is_err() {
                return Err(bad("the source is not an ip:port address"));
            }
            if b.expires_at <= at {
                return Err(bad("it expires before it was registered"));
            }
        }
        sink.write(
            SipRegistrationEvent::BindingsChanged {
                tenant_id,
                sip_user,
                at,
                bindings,
            },
            self,
        )
        .await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            SipRegistrationEvent::BindingsChanged { .. } => self.recorded = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(bindings: Vec<SipBinding>) -> SipRegistrationCommand {
        SipRegistrationCommand::Record {
            tenant_id: "default".into(),
            sip_user: "op1".into(),
            at: DateTime::from_timestamp(1_000, 0).unwrap(),
            bindings,
        }
    }

    fn binding(source: &str, expires: i64) -> SipBinding {
        SipBinding {
            contact: "sip:op1@127.0.0.1:6000".into(),
            source: source.into(),
            expires_at: DateTime::from_timestamp(expires, 0).unwrap(),
        }
    }

    async fn decide(
        agg: &mut SipRegistration,
        cmd: SipRegistrationCommand,
    ) -> Result<Vec<SipRegistrationEvent>, SipRegistrationError> {
        let sink = EventSink::default();
        agg.handle(cmd, &(), &sink).await?;
        Ok(sink.collect().await)
    }

    #[tokio::test]
    async fn tel_17_4_a_change_is_recorded_once_and_bad_bindings_are_refused() {
        let mut agg = SipRegistration::default();
        let events = decide(&mut agg, record(vec![binding("127.0.0.1:6000", 4_600)]))
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_type(), "SipBindingsChanged");
        assert_eq!(
            decide(&mut agg, record(vec![])).await,
            Err(SipRegistrationError::AlreadyRecorded)
        );
        let mut fresh = SipRegistration::default();
        let err = decide(&mut fresh, record(vec![binding("phone", 4_600)]))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("ip:port"), "{err}");
        let err = decide(&mut fresh, record(vec![binding("127.0.0.1:6000", 1_000)]))
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::BadArgument);
        // Unregistered: an empty set is a change like any other.
        assert_eq!(decide(&mut fresh, record(vec![])).await.unwrap().len(), 1);
    }
}
