//! The do-not-call registry (架電禁止, SPEC DNC-1..5): one aggregate per tenant (aggregate id =
//! the tenant id), and [`dial_permission`], the one check every dialling path calls.
//!
//! A number is registered at most once; registering it again widens the campaigns it blocks.
//! The registry's state is the registrations themselves (a number and its campaigns: small
//! enough for the largest lists we expect, 50,000 per CSV).

mod error;

pub use error::DncError;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::list::PhoneNumber;
use crate::metadata::TenantId;

/// Which campaigns a registration blocks (DNC-1, DNC-2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DncScope {
    All,
    Campaigns(BTreeSet<String>),
}

impl DncScope {
    pub fn blocks(&self, campaign: &str) -> bool {
        match self {
            Self::All => true,
            Self::Campaigns(c) => c.contains(campaign),
        }
    }

    /// `self` widened by `other`.
    pub fn union(&self, other: &Self) -> Self {
        match (self, other) {
            (Self::Campaigns(a), Self::Campaigns(b)) => {
                Self::Campaigns(a.union(b).cloned().collect())
            }
            _ => Self::All,
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Self::Campaigns(c) if c.is_empty())
    }
}

/// Where a registration came from (DNC-1): a status 架電禁止 on a customer, or DNC management.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DncSource {
    /// `FFF-CCC` of the customer whose status registered it.
    pub customer_id: Option<String>,
    pub interaction_id: Option<String>,
    /// `true` when it came from a CSV upload.
    pub csv: bool,
}

/// One registered number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DncRegistration {
    pub id: u64,
    pub number: PhoneNumber,
    pub scope: DncScope,
    pub source: DncSource,
}

/// A tenant's registrations.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct DncRegistry {
    tenant_id: Option<TenantId>,
    next_id: u64,
    by_id: BTreeMap<u64, DncRegistration>,
    by_number: HashMap<PhoneNumber, u64>,
}

/// Looking a number up in a registry or a read model of it.
pub trait DncLookup {
    fn registration(&self, number: &PhoneNumber) -> Option<&DncRegistration>;
}

impl DncLookup for DncRegistry {
    fn registration(&self, number: &PhoneNumber) -> Option<&DncRegistration> {
        self.by_id.get(self.by_number.get(number)?)
    }
}

impl DncRegistry {
    fn check_tenant(&self, tenant: &str) -> Result<(), DncError> {
        match &self.tenant_id {
            Some(t) if t != tenant => Err(DncError::WrongTenant),
            _ => Ok(()),
        }
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

impl Aggregate for DncRegistry {
    const TYPE: &'static str = "DncRegistry";
    type Command = DncCommand;
    type Event = DncEvent;
    type Error = DncError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            DncCommand::Register {
                tenant_id,
                numbers,
                scope,
                source,
            } => {
                self.check_tenant(&tenant_id)?;
                if scope.is_empty() {
                    return Err(DncError::NoCampaigns);
                }
                if numbers.is_empty() {
                    return Err(DncError::NoNumbers);
                }
                let mut new = Vec::new();
                let mut widened = Vec::new();
                let mut seen = BTreeSet::new();
                let mut next = self.next_id;
                for number in numbers {
                    if !seen.insert(number) {
                        continue;
                    }
                    match self.registration(&number) {
                        Some(r) => {
                            let wider = r.scope.union(&scope);
                            if wider != r.scope {
                                widened.push(DncEvent::Edited {
                                    id: r.id,
                                    number,
                                    scope: wider,
                                });
                            }
                        }
                        None => {
                            next += 1;
                            new.push(DncRegistration {
                                id: next,
                                number,
                                scope: scope.clone(),
                                source: source.clone(),
                            });
                        }
                    }
                }
                if !new.is_empty() {
                    sink.write(
                        DncEvent::Registered {
                            tenant_id,
                            registrations: new,
                        },
                        self,
                    )
                    .await;
                }
                for e in widened {
                    sink.write(e, self).await;
                }
            }
            DncCommand::Edit {
                tenant_id,
                id,
                number,
                scope,
            } => {
                self.check_tenant(&tenant_id)?;
                let current = self.by_id.get(&id).ok_or(DncError::NotFound { id })?;
                if scope.is_empty() {
                    return Err(DncError::NoCampaigns);
                }
                if let Some(other) = self.registration(&number)
                    && other.id != id
                {
                    return Err(DncError::NumberAlreadyRegistered {
                        number,
                        id: other.id,
                    });
                }
                if current.number != number || current.scope != scope {
                    sink.write(DncEvent::Edited { id, number, scope }, self)
                        .await;
                }
            }
            DncCommand::Unregister { tenant_id, ids } => {
                self.check_tenant(&tenant_id)?;
                let ids: BTreeSet<u64> = ids.into_iter().collect();
                if let Some(id) = ids.iter().find(|id| !self.by_id.contains_key(id)) {
                    return Err(DncError::NotFound { id: *id });
                }
                if !ids.is_empty() {
                    let ids = ids.into_iter().collect();
                    sink.write(DncEvent::Unregistered { ids }, self).await;
                }
            }
            DncCommand::UnregisterAll { tenant_id } => {
                self.check_tenant(&tenant_id)?;
                if !self.by_id.is_empty() {
                    let count = self.by_id.len() as u64;
                    sink.write(DncEvent::UnregisteredAll { count }, self).await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            DncEvent::Registered {
                tenant_id,
                registrations,
            } => {
                self.tenant_id = Some(tenant_id);
                for r in registrations {
                    self.next_id = self.next_id.max(r.id);
                    self.by_number.insert(r.number, r.id);
                    self.by_id.insert(r.id, r);
                }
            }
            DncEvent::Edited { id, number, scope } => {
                if let Some(r) = self.by_id.get_mut(&id) {
                    self.by_number.remove(&r.number);
                    self.by_number.insert(number, id);
                    r.number = number;
                    r.scope = scope;
                }
            }
            DncEvent::Unregistered { ids } => {
                for id in ids {
                    if let Some(r) = self.by_id.remove(&id) {
                        self.by_number.remove(&r.number);
                    }
                }
            }
            DncEvent::UnregisteredAll { .. } => {
                self.by_id.clear();
                self.by_number.clear();
            }
        }
    }
}

/// What a call is for (DNC-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialPurpose<'a> {
    /// A call in a campaign: list call, predictive, auto-call, recall.
    Campaign(&'a str),
    /// A manual call, in no campaign: refused when the number is registered for all
    /// campaigns or for any campaign the chosen caller number serves.
    Manual { served_campaigns: &'a [String] },
}

/// Why a dial was refused: the registration that blocks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialRefusal {
    pub registration_id: u64,
    pub number: PhoneNumber,
    pub scope: DncScope,
}

impl fmt::Display for DialRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scope = match &self.scope {
            DncScope::All => "全案件".to_string(),
            DncScope::Campaigns(c) => c.iter().cloned().collect::<Vec<_>>().join(", "),
        };
        write!(
            f,
            "{}は架電禁止に登録されています (登録番号 {}, 対象: {scope}) ({} is on the do-not-call list as registration {} for {scope}: it is never dialled; unregister it in DNC management if the registration is wrong)",
            self.number, self.registration_id, self.number, self.registration_id
        )
    }
}

/// The answer of [`dial_permission`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialPermission {
    Allowed,
    Refused(DialRefusal),
}

/// May `number` be dialled for `purpose`? The one check of DNC-5: every dialling path calls
/// it (for the main number and for each extra number of a customer).
pub fn dial_permission(
    registry: &impl DncLookup,
    purpose: DialPurpose<'_>,
    number: &PhoneNumber,
) -> DialPermission {
    let Some(r) = registry.registration(number) else {
        return DialPermission::Allowed;
    };
    let blocked = match purpose {
        DialPurpose::Campaign(c) => r.scope.blocks(c),
        DialPurpose::Manual { served_campaigns } => match &r.scope {
            DncScope::All => true,
            DncScope::Campaigns(c) => served_campaigns.iter().any(|s| c.contains(s)),
        },
    };
    if blocked {
        DialPermission::Refused(DialRefusal {
            registration_id: r.id,
            number: r.number,
            scope: r.scope.clone(),
        })
    } else {
        DialPermission::Allowed
    }
}

mod commands;
#[cfg(test)]
mod tests;
pub use commands::*;
mod events;
pub use events::*;
