//! Every event Kaden stores, as one enum for the read side: the log holds events of all
//! aggregates in one order, and projections match on this.

use serde::de::Error as _;

use crate::access_log::{AccessLog, AccessLogEvent};
use crate::campaign::{Campaign, CampaignEvent};
use crate::dnc::{DncEvent, DncRegistry};
use crate::folder::{FOLDER_ROWS_TYPE, FolderEvent, FolderRowsEvent, ListFolder};
use crate::interaction::{Interaction, InteractionEvent};
use crate::registration::{SipRegistration, SipRegistrationEvent};
use crate::session::{Session, SessionEvent};
use crate::tenant::{Tenant, TenantEvent};
use cqrs_es::Aggregate;

#[derive(Debug, Clone, PartialEq)]
pub enum KadenEvent {
    Campaign(CampaignEvent),
    Tenant(TenantEvent),
    Session(SessionEvent),
    Folder(FolderEvent),
    FolderRows(FolderRowsEvent),
    Dnc(DncEvent),
    Interaction(InteractionEvent),
    AccessLog(AccessLogEvent),
    SipRegistration(SipRegistrationEvent),
}

impl KadenEvent {
    /// Decodes a stored payload by its aggregate type.
    ///
    /// `event_version` is where an upcaster would hook in when an event's shape changes; every
    /// event is at version 1 today.
    pub fn decode(
        aggregate_type: &str,
        event_version: &str,
        payload: &str,
    ) -> Result<Self, serde_json::Error> {
        if event_version != "1" {
            return Err(serde_json::Error::custom(format!(
                "{aggregate_type} event version {event_version} is newer than this Kaden understands: upgrade Kaden"
            )));
        }
        Ok(match aggregate_type {
            Campaign::TYPE => Self::Campaign(serde_json::from_str(payload)?),
            Tenant::TYPE => Self::Tenant(serde_json::from_str(payload)?),
            Session::TYPE => Self::Session(serde_json::from_str(payload)?),
            ListFolder::TYPE => Self::Folder(serde_json::from_str(payload)?),
            FOLDER_ROWS_TYPE => Self::FolderRows(serde_json::from_str(payload)?),
            DncRegistry::TYPE => Self::Dnc(serde_json::from_str(payload)?),
            Interaction::TYPE => Self::Interaction(serde_json::from_str(payload)?),
            AccessLog::TYPE => Self::AccessLog(serde_json::from_str(payload)?),
            SipRegistration::TYPE => Self::SipRegistration(serde_json::from_str(payload)?),
            other => {
                return Err(serde_json::Error::custom(format!(
                    "unknown aggregate type {other:?}"
                )));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_cqrs_es_stores() {
        let event = CampaignEvent::Renamed {
            from: "a".into(),
            name: "b".into(),
        };
        let payload = serde_json::to_string(&event).unwrap();
        assert_eq!(
            KadenEvent::decode("Campaign", "1", &payload).unwrap(),
            KadenEvent::Campaign(event)
        );
        assert!(KadenEvent::decode("Nope", "1", "{}").is_err());
        assert!(KadenEvent::decode("Campaign", "2", &payload).is_err());
    }
}
