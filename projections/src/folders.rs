//! List folders read model (SPEC LST-1, LST-5..9): folders with their settings and progress,
//! their customers stored column by column (one string per column with spans, so 200,000
//! customers × 12 columns are a few dozen allocations), a phone → holders index for duplicates
//! (LST-6), and search inside a folder by conditions on any column with keyset pagination.
//!
//! Long because the column store, its search and the phone index share one layout.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use kaden_domain::aggregate_ref::AggregateRef;
use kaden_domain::event::KadenEvent;
use kaden_domain::folder::{AddSource, FolderEvent, FolderRowsEvent, ImportOutcome, customer_id};
use kaden_domain::interaction::InteractionEvent;
use kaden_domain::list::PhoneNumber;
use kaden_domain::metadata::TenantId;
use kaden_domain::tenant::TenantEvent;
use serde::{Deserialize, Serialize};

use crate::Change;
use crate::log::StoredEvent;

/// (folder number, customer number).
pub type Holder = (u32, u32);

/// One column's cells: all text in one string, a span per customer.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct ColumnData {
    text: String,
    spans: Vec<(u32, u32)>,
}

impl ColumnData {
    fn push(&mut self, value: &str) {
        let start = self.text.len() as u32;
        self.text.push_str(value);
        self.spans.push((start, self.text.len() as u32));
    }

    /// Edits append the new value; the old bytes stay until the next rebuild (rare).
    fn set(&mut self, index: usize, value: &str) {
        let start = self.text.len() as u32;
        self.text.push_str(value);
        self.spans[index] = (start, self.text.len() as u32);
    }

    fn get(&self, index: usize) -> &str {
        let (s, e) = self.spans[index];
        &self.text[s as usize..e as usize]
    }
}

/// A folder as the admin list and the operator screen see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FolderView {
    pub number: u32,
    pub campaign_id: String,
    pub name: String,
    pub active: bool,
    /// Column names in file (storage) order.
    pub columns: Vec<String>,
    /// Display names, one per column (LST-5).
    pub display_names: Vec<String>,
    /// Display order: indexes into `columns`.
    pub display_order: Vec<usize>,
    pub phone_column: usize,
    pub permitted_users: Vec<u64>,
    /// Live customers (LST-9 registered count).
    pub registered: u32,
    /// Customers with at least one interaction (LST-9 work count).
    pub worked: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    columns_data: Vec<ColumnData>,
    phones: Vec<Option<PhoneNumber>>,
    live: Vec<bool>,
    interactions: Vec<u32>,
}

impl FolderView {
    /// Progress = work count / registered count (LST-9), 0 for an empty folder.
    pub fn progress(&self) -> f64 {
        if self.registered == 0 {
            0.0
        } else {
            f64::from(self.worked) / f64::from(self.registered)
        }
    }

    /// Total customers ever added (the next customer number is this + 1).
    pub fn added(&self) -> u32 {
        self.live.len() as u32
    }

    fn index(&self, customer: u32) -> Option<usize> {
        let i = (customer as usize).checked_sub(1)?;
        (i < self.live.len() && self.live[i]).then_some(i)
    }

    fn view(&self, i: usize) -> CustomerView {
        CustomerView {
            folder: self.number,
            number: i as u32 + 1,
            id: customer_id(self.number, i as u32 + 1),
            phone: self.phones[i],
            cells: self
                .columns_data
                .iter()
                .map(|c| c.get(i).to_owned())
                .collect(),
            interactions: self.interactions[i],
        }
    }

    /// LST-1: may `user_id` work on this folder (permitted AND active AND, as the caller
    /// answers, in an active campaign)?
    pub fn open_to(&self, user_id: u64, campaign_active: bool) -> bool {
        self.active && campaign_active && self.permitted_users.contains(&user_id)
    }

    /// One live customer.
    pub fn customer(&self, customer: u32) -> Option<CustomerView> {
        self.index(customer).map(|i| self.view(i))
    }

    /// Live customers matching every condition, in customer-number order, after customer
    /// number `after`, at most `limit`; with the total number of matches.
    pub fn search(&self, conditions: &[Condition], after: u32, limit: usize) -> SearchPage {
        // Each condition's column (bytes and spans) and substring finder, looked up once; the
        // scan then compares bytes only (no UTF-8 boundary checks: spans are cell boundaries).
        let mut checks = Vec::with_capacity(conditions.len());
        for c in conditions {
            let Some(column) = self.columns_data.get(c.column) else {
                return SearchPage {
                    customers: Vec::new(),
                    total: 0,
                    has_more: false,
                };
            };
            let finder = (c.op == MatchOp::Contains)
                .then(|| memchr::memmem::Finder::new(c.value.as_bytes()));
            checks.push((
                column.text.as_bytes(),
                column.spans.as_slice(),
                c.op,
                c.value.as_bytes(),
                finder,
            ));
        }
        let mut customers = Vec::with_capacity(limit.min(1_000));
        let mut total = 0;
        let mut has_more = false;
        'rows: for (i, live) in self.live.iter().enumerate() {
            if !live {
                continue;
            }
            for (text, spans, op, value, finder) in &checks {
                let (s, e) = spans[i];
                let (s, e) = (s as usize, e as usize);
                let n = value.len();
                let hit = match op {
                    MatchOp::Equals => e - s == n && text[s..e] == **value,
                    MatchOp::Prefix => e - s >= n && text[s..s + n] == **value,
                    MatchOp::Contains => {
                        e - s >= n
                            && finder
                                .as_ref()
                                .is_some_and(|f| f.find(&text[s..e]).is_some())
                    }
                    MatchOp::Empty => e == s,
                    MatchOp::NotEmpty => e > s,
                };
                if !hit {
                    continue 'rows;
                }
            }
            total += 1;
            if i as u32 + 1 > after {
                if customers.len() < limit {
                    customers.push(self.view(i));
                } else {
                    has_more = true;
                }
            }
        }
        SearchPage {
            customers,
            total,
            has_more,
        }
    }

    /// Every live customer in number order (for exports), cells in column order.
    pub fn for_each_customer(&self, mut f: impl FnMut(u32, &mut dyn Iterator<Item = &str>, u32)) {
        for i in 0..self.live.len() {
            if self.live[i] {
                let mut cells = self.columns_data.iter().map(|c| c.get(i));
                f(i as u32 + 1, &mut cells, self.interactions[i]);
            }
        }
    }

    /// Live customer numbers in order, for a caller that reads them in pages.
    pub fn customer_numbers(&self, after: u32, limit: usize) -> Vec<u32> {
        (after as usize..self.live.len())
            .filter(|&i| self.live[i])
            .take(limit)
            .map(|i| i as u32 + 1)
            .collect()
    }
}

/// How a condition matches a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Equals,
    Contains,
    Prefix,
    Empty,
    NotEmpty,
}

/// One search condition on a column (index into the folder's columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub column: usize,
    pub op: MatchOp,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    pub customers: Vec<CustomerView>,
    pub total: usize,
    pub has_more: bool,
}

/// One customer.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerView {
    pub folder: u32,
    pub number: u32,
    /// `FFF-CCC` (LST-7).
    pub id: String,
    pub phone: Option<PhoneNumber>,
    /// Cells in the folder's column (storage) order.
    pub cells: Vec<String>,
    pub interactions: u32,
}

/// A number held by more than one customer (LST-6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub phone: PhoneNumber,
    pub holders: Vec<Holder>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantFolders {
    folders: BTreeMap<u32, FolderView>,
    /// The first holder of each number.
    phones: HashMap<PhoneNumber, Holder>,
    /// Further holders of numbers held more than once.
    more_phones: HashMap<PhoneNumber, Vec<Holder>>,
    /// Idempotency key → outcome of the import that used it.
    import_keys: HashMap<String, ImportOutcome>,
    max_number: u32,
}

impl TenantFolders {
    fn add_holder(&mut self, phone: PhoneNumber, holder: Holder) {
        match self.phones.entry(phone) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(holder);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.more_phones.entry(phone).or_default().push(holder);
            }
        }
    }

    fn remove_holder(&mut self, phone: PhoneNumber, holder: Holder) {
        if self.phones.get(&phone) == Some(&holder) {
            match self.more_phones.get_mut(&phone) {
                Some(more) => {
                    let next = more.remove(0);
                    if more.is_empty() {
                        self.more_phones.remove(&phone);
                    }
                    self.phones.insert(phone, next);
                }
                None => {
                    self.phones.remove(&phone);
                }
            }
        } else if let Some(more) = self.more_phones.get_mut(&phone) {
            more.retain(|h| *h != holder);
            if more.is_empty() {
                self.more_phones.remove(&phone);
            }
        }
    }

    /// Every customer holding `phone`, in (folder, customer) order.
    pub fn holders(&self, phone: &PhoneNumber) -> Vec<Holder> {
        let mut all: Vec<Holder> = self.phones.get(phone).copied().into_iter().collect();
        if let Some(more) = self.more_phones.get(phone) {
            all.extend(more);
        }
        all.sort_unstable();
        all
    }

    /// How many customers hold `phone`.
    pub fn holder_count(&self, phone: &PhoneNumber) -> usize {
        usize::from(self.phones.contains_key(phone))
            + self.more_phones.get(phone).map_or(0, Vec::len)
    }

    pub fn folder(&self, number: u32) -> Option<&FolderView> {
        self.folders.get(&number)
    }

    /// Folders in number order, optionally of one campaign.
    pub fn list(&self, campaign: Option<&str>) -> Vec<&FolderView> {
        self.folders
            .values()
            .filter(|f| campaign.is_none_or(|c| f.campaign_id == c))
            .collect()
    }

    /// The folders an operator may pick (LST-1): permitted AND active AND in an active
    /// campaign (`campaign_active` answers the last).
    pub fn visible_to(
        &self,
        user_id: u64,
        campaign_active: impl Fn(&str) -> bool,
    ) -> Vec<&FolderView> {
        self.folders
            .values()
            .filter(|f| f.open_to(user_id, campaign_active(&f.campaign_id)))
            .collect()
    }

    /// Numbers held more than once (LST-6), optionally only those touching one folder.
    pub fn duplicates(&self, folder: Option<u32>) -> Vec<Duplicate> {
        let mut out: Vec<Duplicate> = self
            .more_phones
            .keys()
            .map(|phone| Duplicate {
                phone: *phone,
                holders: self.holders(phone),
            })
            .filter(|d| folder.is_none_or(|f| d.holders.iter().any(|h| h.0 == f)))
            .collect();
        out.sort_by_key(|d| d.phone);
        out
    }

    /// The number a new folder should try first (numbers never repeat: deleted ones count).
    pub fn next_number(&self) -> u32 {
        self.max_number + 1
    }

    pub fn import_outcome(&self, key: &str) -> Option<ImportOutcome> {
        self.import_keys.get(key).copied()
    }
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Folders {
    by_tenant: HashMap<TenantId, TenantFolders>,
}

impl Folders {
    pub fn tenant(&self, tenant: &str) -> Option<&TenantFolders> {
        self.by_tenant.get(tenant)
    }

    pub fn folder(&self, tenant: &str, number: u32) -> Option<&FolderView> {
        self.by_tenant.get(tenant)?.folder(number)
    }

    pub fn next_number(&self, tenant: &str) -> u32 {
        self.by_tenant
            .get(tenant)
            .map_or(1, TenantFolders::next_number)
    }

    pub fn apply(&mut self, event: &StoredEvent, changes: &mut Vec<Change>) {
        let tenant_id = &event.metadata.tenant_id;
        let at = event.metadata.recorded_at;
        match &event.event {
            KadenEvent::FolderRows(FolderRowsEvent::Chunk {
                folder,
                first,
                rows,
            }) => {
                let Some(t) = self.by_tenant.get_mut(tenant_id) else {
                    return;
                };
                let Some(f) = t.folders.get_mut(folder) else {
                    return;
                };
                let start = (*first as usize).saturating_sub(1);
                if f.live.len() != start {
                    tracing::error!(
                        folder,
                        first,
                        have = f.live.len(),
                        "rows chunk out of order; passed over"
                    );
                    return;
                }
                let mut added = Vec::with_capacity(rows.len());
                for (k, row) in rows.iter().enumerate() {
                    for (c, column) in f.columns_data.iter_mut().enumerate() {
                        column.push(row.get(c).map_or("", String::as_str));
                    }
                    let phone = row
                        .get(f.phone_column)
                        .and_then(|p| PhoneNumber::from_normalised(p).ok());
                    f.phones.push(phone);
                    f.live.push(true);
                    f.interactions.push(0);
                    if let Some(phone) = phone {
                        added.push((phone, (*folder, first + k as u32)));
                    }
                }
                f.registered += rows.len() as u32;
                f.updated_at = at;
                for (phone, holder) in added {
                    t.add_holder(phone, holder);
                }
            }
            // LST-9: a placed call (of any outcome) makes its customer worked.
            KadenEvent::Interaction(InteractionEvent::CallPlaced { target, .. }) => {
                let Some(f) = self
                    .by_tenant
                    .get_mut(tenant_id)
                    .and_then(|t| t.folders.get_mut(&target.folder))
                else {
                    return;
                };
                if let Some(i) = f.index(target.customer) {
                    f.interactions[i] += 1;
                    if f.interactions[i] == 1 {
                        f.worked += 1;
                    }
                    changes.push(Change::Folder {
                        tenant_id: tenant_id.clone(),
                        folder: target.folder,
                    });
                }
            }
            // USR-4: a deleted user leaves every folder's permission list.
            KadenEvent::Tenant(TenantEvent::UserDeleted { user_id, .. }) => {
                let Some(t) = self.by_tenant.get_mut(&event.aggregate_id) else {
                    return;
                };
                for (number, f) in &mut t.folders {
                    if f.permitted_users.contains(user_id) {
                        f.permitted_users.retain(|u| u != user_id);
                        changes.push(Change::Folder {
                            tenant_id: event.aggregate_id.clone(),
                            folder: *number,
                        });
                    }
                }
            }
            KadenEvent::Folder(e) => {
                let t = self.by_tenant.entry(tenant_id.clone()).or_default();
                let number = match e {
                    FolderEvent::Created { number, .. } => *number,
                    _ => match AggregateRef::parse(&event.aggregate_id)
                        .and_then(|r| r.id.parse().ok())
                    {
                        Some(n) => n,
                        None => return,
                    },
                };
                Self::apply_folder(t, number, e, at);
                changes.push(Change::Folder {
                    tenant_id: tenant_id.clone(),
                    folder: number,
                });
            }
            _ => {}
        }
    }

    fn apply_folder(t: &mut TenantFolders, number: u32, e: &FolderEvent, at: DateTime<Utc>) {
        if let FolderEvent::Created {
            campaign_id,
            name,
            columns,
            phone_column,
            ..
        } = e
        {
            t.max_number = t.max_number.max(number);
            t.folders.insert(
                number,
                FolderView {
                    number,
                    campaign_id: campaign_id.clone(),
                    name: name.clone(),
                    active: true,
                    columns: columns.clone(),
                    display_names: columns.clone(),
                    display_order: (0..columns.len()).collect(),
                    phone_column: *phone_column,
                    permitted_users: Vec::new(),
                    registered: 0,
                    worked: 0,
                    created_at: at,
                    updated_at: at,
                    columns_data: vec![ColumnData::default(); columns.len()],
                    phones: Vec::new(),
                    live: Vec::new(),
                    interactions: Vec::new(),
                },
            );
            return;
        }
        if let FolderEvent::Deleted { .. } = e {
            if let Some(f) = t.folders.remove(&number) {
                for i in 0..f.live.len() {
                    if f.live[i]
                        && let Some(phone) = f.phones[i]
                    {
                        t.remove_holder(phone, (number, i as u32 + 1));
                    }
                }
                t.import_keys.retain(|_, o| o.folder != number);
            }
            return;
        }
        let Some(f) = t.folders.get_mut(&number) else {
            return;
        };
        f.updated_at = at;
        match e {
            FolderEvent::CustomersAdded {
                first,
                count,
                source,
                ..
            } => {
                if let AddSource::File {
                    idempotency_key: Some(key),
                    ..
                } = source
                {
                    t.import_keys.insert(
                        key.clone(),
                        ImportOutcome {
                            folder: number,
                            first: *first,
                            count: *count,
                        },
                    );
                }
            }
            FolderEvent::Renamed { name, .. } => f.name.clone_from(name),
            FolderEvent::Activated => f.active = true,
            FolderEvent::Deactivated => f.active = false,
            FolderEvent::PermittedUsersSet { users } => f.permitted_users.clone_from(users),
            FolderEvent::ColumnsArranged { order, names } => {
                f.display_order.clone_from(order);
                f.display_names.clone_from(names);
            }
            FolderEvent::CustomerEdited {
                customer,
                changes,
                phone,
            } => {
                let Some(i) = f.index(*customer) else { return };
                for c in changes {
                    if let Some(column) = f.columns_data.get_mut(c.column) {
                        column.set(i, &c.value);
                    }
                }
                if let Some(phone) = phone {
                    if let Some(old) = f.phones[i].replace(*phone) {
                        t.remove_holder(old, (number, *customer));
                    }
                    t.add_holder(*phone, (number, *customer));
                }
            }
            FolderEvent::CustomersDeleted { customers } => {
                let mut gone = Vec::new();
                for c in customers {
                    if let Some(i) = f.index(*c) {
                        f.live[i] = false;
                        f.registered -= 1;
                        if f.interactions[i] > 0 {
                            f.worked -= 1;
                        }
                        if let Some(phone) = f.phones[i] {
                            gone.push((phone, (number, *c)));
                        }
                    }
                }
                for (phone, holder) in gone {
                    t.remove_holder(phone, holder);
                }
            }
            FolderEvent::Created { .. } | FolderEvent::Deleted { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests;
