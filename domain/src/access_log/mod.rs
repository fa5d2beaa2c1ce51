//! The access log (AUD-1) as an aggregate: one stream per tenant (aggregate id: the tenant
//! slug) whose state is the head of the hash chain ([`ChainHead`]).
//!
//! The api hands a batch of accesses to one [`AccessLogCommand::Record`]; the aggregate numbers
//! them from where the chain stands and stores one `AccessRecorded` event per entry, each
//! carrying its chain hash. Two nodes writing at once conflict on the stream and the loser is
//! retried on the new head, so the chain never forks. Verification (`kaden audit verify`)
//! recomputes the hashes from the stored entries with [`crate::access::audit_chain::verify`].

use crate::error::ErrorCode;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::access::audit_chain::{ChainHead, GENESIS_HASH, Hash, entry_hash, hash_to_hex};
use crate::access::{AccessEntry, Outcome};
use crate::error::DomainError;

mod commands;
pub use commands::*;
mod events;
pub use events::*;
mod error;
pub use error::*;

/// Most entries one command may record (the api's batcher sends at most 500).
pub const MAX_ENTRIES_PER_COMMAND: usize = 5_000;

/// An access not yet numbered: everything but `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessDraft {
    /// When it happened; cut to microseconds before hashing.
    pub at: DateTime<Utc>,
    pub tenant: String,
    pub user_id: Option<u64>,
    pub username: String,
    pub operation: String,
    pub address: String,
    pub outcome: Outcome,
    pub detail: String,
}

/// The head of one tenant's chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessLog {
    next_seq: u64,
    last_hash: Hash,
}

impl Default for AccessLog {
    fn default() -> Self {
        Self {
            next_seq: ChainHead::GENESIS.next_seq,
            last_hash: GENESIS_HASH,
        }
    }
}

impl AccessLog {
    /// The log after its last stored entry. The state depends on the last entry only, so a
    /// writer loads one row instead of replaying the whole stream (the api does this; cqrs-es
    /// 0.5 aggregate snapshots record a wrong `last_sequence` when a command's events cross a
    /// snapshot boundary, so they are not used for this long stream).
    pub fn continuing(last: &AccessEntry, last_hash: Hash) -> Self {
        Self {
            next_seq: last.seq + 1,
            last_hash,
        }
    }

    /// Numbers and hashes `drafts` after the current head: the events one `Record` command
    /// stores.
    pub fn record(&self, drafts: Vec<AccessDraft>) -> Result<Vec<AccessLogEvent>, AccessLogError> {
        self.decide(drafts)
    }

    pub fn head(&self) -> ChainHead {
        ChainHead {
            next_seq: self.next_seq,
            last_hash: self.last_hash,
        }
    }

    /// Numbers and hashes `drafts` after the current head.
    fn decide(&self, drafts: Vec<AccessDraft>) -> Result<Vec<AccessLogEvent>, AccessLogError> {
        if drafts.len() > MAX_ENTRIES_PER_COMMAND {
            return Err(AccessLogError::TooMany {
                count: drafts.len(),
                max: MAX_ENTRIES_PER_COMMAND,
            });
        }
        let mut head = self.head();
        let mut events = Vec::with_capacity(drafts.len());
        for d in drafts {
            let entry = AccessEntry {
                seq: head.next_seq,
                at: AccessEntry::at_precision(d.at),
                tenant: d.tenant,
                user_id: d.user_id,
                username: d.username,
                operation: d.operation,
                address: d.address,
                outcome: d.outcome,
                detail: d.detail,
            };
            let hash = entry_hash(&head.last_hash, &entry);
            head.next_seq += 1;
            head.last_hash = hash;
            events.push(AccessLogEvent::Recorded {
                entry,
                hash: hash_to_hex(&hash),
            });
        }
        Ok(events)
    }
}

impl Aggregate for AccessLog {
    const TYPE: &'static str = "AccessLog";
    type Command = AccessLogCommand;
    type Event = AccessLogEvent;
    type Error = AccessLogError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let AccessLogCommand::Record { entries } = command;
        for event in self.decide(entries)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        let AccessLogEvent::Recorded { entry, hash } = event;
        self.next_seq = entry.seq + 1;
        self.last_hash = crate::access::audit_chain::hash_from_hex(&hash).unwrap_or(self.last_hash);
    }
}

#[cfg(test)]
mod tests;
