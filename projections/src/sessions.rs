//! Sessions read model: open sessions by token hash, so every request is authenticated from
//! memory on any node that folds the log.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use kaden_domain::event::KadenEvent;
use kaden_domain::metadata::TenantId;
use kaden_domain::session::SessionEvent;
use serde::{Deserialize, Serialize};

use crate::Change;
use crate::log::StoredEvent;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    pub session_id: String,
    pub tenant_id: TenantId,
    pub user_id: u64,
    pub started_at: DateTime<Utc>,
    pub client_addr: String,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sessions {
    by_token_hash: HashMap<String, SessionView>,
    /// Session id → token hash, to close a session by id.
    token_of: HashMap<String, String>,
}

impl Sessions {
    pub fn apply(&mut self, event: &StoredEvent, changes: &mut Vec<Change>) {
        let KadenEvent::Session(e) = &event.event else {
            return;
        };
        match e {
            SessionEvent::Started {
                tenant_id,
                user_id,
                token_hash,
            } => {
                self.token_of
                    .insert(event.aggregate_id.clone(), token_hash.clone());
                self.by_token_hash.insert(
                    token_hash.clone(),
                    SessionView {
                        session_id: event.aggregate_id.clone(),
                        tenant_id: tenant_id.clone(),
                        user_id: *user_id,
                        started_at: event.metadata.recorded_at,
                        client_addr: event.metadata.client_addr.clone(),
                    },
                );
            }
            SessionEvent::Ended { .. } => {
                if let Some(s) = self
                    .token_of
                    .remove(&event.aggregate_id)
                    .and_then(|hash| self.by_token_hash.remove(&hash))
                {
                    changes.push(Change::SessionEnded {
                        tenant_id: s.tenant_id,
                        session_id: s.session_id,
                    });
                }
            }
            SessionEvent::LoginRefused { .. } => {}
        }
    }

    pub fn by_token_hash(&self, hash: &str) -> Option<&SessionView> {
        self.by_token_hash.get(hash)
    }

    /// An open session by its id.
    pub fn get(&self, session_id: &str) -> Option<&SessionView> {
        self.by_token_hash.get(self.token_of.get(session_id)?)
    }

    /// The open sessions of one user (to end them when the user is deleted).
    pub fn of_user<'a>(
        &'a self,
        tenant: &'a str,
        user_id: u64,
    ) -> impl Iterator<Item = &'a SessionView> + 'a {
        self.by_token_hash
            .values()
            .filter(move |s| s.tenant_id == tenant && s.user_id == user_id)
    }

    pub fn open_count(&self) -> usize {
        self.by_token_hash.len()
    }
}
