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

mod commands;
pub use commands::*;
mod events;
pub use events::*;
mod error;
pub use error::*;

/// The stream of one change of `sip_user`'s bindings.
pub fn registration_aggregate_id(tenant: &str, sip_user: &str, change: &str) -> String {
    crate::aggregate_ref::AggregateRef::new(tenant, &format!("{sip_user}:{change}")).to_string()
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
mod tests;
