//! # kaden-projections
//!
//! The read side: in-memory read models folded from the global event log, in log order.
//!
//! ## Layout
//! - `log`: log positions, raw and decoded events, and the `EventLog` contract of the stores.
//! - `engine`: holds the read models, follows the log live, tells waiting queries when a
//!   position is reached (read-your-writes) and publishes what changed for subscriptions.
//! - one file per read model: `campaigns`, `directory` (tenants and users), `sessions`,
//!   `access_log` (AUD-1), `folders` (list folders, customers, duplicates, search), `dnc`
//!   (do-not-call registrations), `interactions` (calls, their state, recordings and results),
//!   `registrations` (softphones' SIP bindings, issue 17 item 4).

pub mod access_log;
pub mod campaigns;
pub mod directory;
pub mod dnc;
pub mod engine;
pub mod folders;
pub mod interactions;
pub mod log;
pub mod registrations;
pub mod sessions;

use serde::{Deserialize, Serialize};

use kaden_domain::metadata::TenantId;

use crate::log::StoredEvent;

/// Every read model, folded together in one pass over the log.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadModels {
    pub campaigns: campaigns::Campaigns,
    pub directory: directory::Directory,
    pub sessions: sessions::Sessions,
    pub access_log: access_log::AccessLogModel,
    pub folders: folders::Folders,
    pub dnc: dnc::DncLists,
    #[serde(default)]
    pub interactions: interactions::Interactions,
    #[serde(default)]
    pub registrations: registrations::Registrations,
}

impl ReadModels {
    /// Bump when a read model's shape or folding changes: older snapshots are then ignored and
    /// the models are rebuilt by replay.
    pub const SCHEMA_VERSION: i32 = 6;

    /// Folds one event into every model, noting what changed.
    pub fn apply(&mut self, event: &StoredEvent, changes: &mut Vec<Change>) {
        self.campaigns.apply(event, changes);
        self.directory.apply(event, changes);
        self.sessions.apply(event, changes);
        self.folders.apply(event, changes);
        self.dnc.apply(event, changes);
        self.interactions.apply(event, changes);
        self.access_log.apply(event, changes);
        self.registrations.apply(event, changes);
    }
}

/// What changed in a read model, published to subscriptions after the change is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Campaign {
        tenant_id: TenantId,
        campaign_id: String,
    },
    User {
        tenant_id: TenantId,
        user_id: u64,
    },
    SessionEnded {
        tenant_id: TenantId,
        session_id: String,
    },
    /// A list folder or its customers changed (LST-9 progress is live).
    Folder {
        tenant_id: TenantId,
        folder: u32,
    },
    /// The tenant's do-not-call list changed.
    Dnc {
        tenant_id: TenantId,
    },
    /// A call (interaction) changed: its state, result or recording.
    Interaction {
        tenant_id: TenantId,
        interaction_id: String,
        user_id: u64,
    },
}

impl Change {
    pub fn tenant_id(&self) -> &str {
        match self {
            Self::Campaign { tenant_id, .. }
            | Self::User { tenant_id, .. }
            | Self::SessionEnded { tenant_id, .. }
            | Self::Folder { tenant_id, .. }
            | Self::Dnc { tenant_id }
            | Self::Interaction { tenant_id, .. } => tenant_id,
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use std::sync::atomic::{AtomicI64, Ordering};

    use chrono::Utc;
    use kaden_domain::event::KadenEvent;
    use kaden_domain::metadata::EventMetadata;

    use crate::log::{LogPosition, StoredEvent};

    static NEXT: AtomicI64 = AtomicI64::new(1);

    /// A decoded event for unit tests of read models.
    pub fn event(tenant: &str, aggregate_id: &str, event: KadenEvent) -> StoredEvent {
        StoredEvent {
            position: LogPosition::new(0, NEXT.fetch_add(1, Ordering::Relaxed)),
            aggregate_id: aggregate_id.into(),
            sequence: 1,
            metadata: EventMetadata {
                tenant_id: tenant.into(),
                user_id: Some(1),
                request_id: "test".into(),
                client_addr: "127.0.0.1".into(),
                recorded_at: Utc::now(),
            },
            event,
        }
    }
}
