//! Registrations read model (issue 17 item 4): each SIP user's bindings as last changed, so a
//! node that restarts, or that did not take the REGISTER, still finds the phone. The newest
//! change (by the time its REGISTER was accepted) wins, whatever order concurrent writers'
//! events reached the log in, so every node settles on the same set. Expiry is the reader's
//! business: the registrar never adopts an expired binding.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use kaden_domain::event::KadenEvent;
use kaden_domain::metadata::TenantId;
use kaden_domain::registration::{SipBinding, SipRegistrationEvent};
use serde::{Deserialize, Serialize};

use crate::Change;
use crate::log::StoredEvent;

/// A SIP user's bindings as set by the REGISTER at `at` (empty: unregistered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredView {
    pub tenant_id: TenantId,
    pub at: DateTime<Utc>,
    pub bindings: Vec<SipBinding>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registrations {
    by_sip_user: HashMap<String, RegisteredView>,
}

impl Registrations {
    pub fn apply(&mut self, event: &StoredEvent, _changes: &mut Vec<Change>) {
        let KadenEvent::SipRegistration(SipRegistrationEvent::BindingsChanged {
            tenant_id,
            sip_user,
            at,
            bindings,
        }) = &event.event
        else {
            return;
        };
        if self.by_sip_user.get(sip_user).is_some_and(|v| v.at > *at) {
            return;
        }
        self.by_sip_user.insert(
            sip_user.clone(),
            RegisteredView {
                tenant_id: tenant_id.clone(),
                at: *at,
                bindings: bindings.clone(),
            },
        );
    }

    /// The SIP user's bindings as last changed (expired ones included).
    pub fn get(&self, sip_user: &str) -> Option<&RegisteredView> {
        self.by_sip_user.get(sip_user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::event;

    fn changed(at: i64, contact: &str) -> KadenEvent {
        KadenEvent::SipRegistration(SipRegistrationEvent::BindingsChanged {
            tenant_id: "default".into(),
            sip_user: "op1".into(),
            at: DateTime::from_timestamp(at, 0).unwrap(),
            bindings: vec![SipBinding {
                contact: contact.into(),
                source: "127.0.0.1:6000".into(),
                expires_at: DateTime::from_timestamp(at + 3600, 0).unwrap(),
            }],
        })
    }

    #[test]
    fn tel_17_4_the_newest_change_wins_in_any_log_order() {
        let mut m = Registrations::default();
        let mut changes = Vec::new();
        m.apply(
            &event("default", "default:op1:a", changed(10, "sip:a")),
            &mut changes,
        );
        m.apply(
            &event("default", "default:op1:c", changed(30, "sip:c")),
            &mut changes,
        );
        // A change accepted earlier that reached the log later does not win.
        m.apply(
            &event("default", "default:op1:b", changed(20, "sip:b")),
            &mut changes,
        );
        assert_eq!(m.get("op1").unwrap().bindings[0].contact, "sip:c");
        assert!(m.get("op2").is_none());
    }
}
