//! The list folder (リストフォルダ): one campaign's list of customers (SPEC LST-1..9).
//!
//! Aggregate id: `"{tenant}:{number}"`, where the number is the folder id users see. Numbers
//! never repeat within a tenant: creating a folder is a `Create` on a fresh stream, and a
//! stream once written (even of a deleted folder) refuses another create, so a caller that
//! picks a used number gets [`FolderError::AlreadyExists`] and tries the next.
//!
//! The decision state is small (columns, counts, the next customer number, deleted customer
//! numbers): the rows of an import are written as [`FolderRowsEvent`] chunks on their own
//! stream `"{folder}/{import_no}"` in the same transaction as the folder's
//! [`FolderEvent::CustomersAdded`], and are never loaded for decisions.

mod commands;
mod error;
mod events;

pub use commands::FolderCommand;
pub use error::FolderError;
pub use events::{AddSource, CellChange, FolderEvent, FolderRowsEvent};

use std::collections::{BTreeMap, BTreeSet, HashMap};

use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};

use crate::error::validate_name;
use crate::list::phone::normalise;
use crate::list::{MAX_CUSTOMERS_PER_FOLDER, PHONE_HEADER, ParsedList, SourceFormat};
use crate::metadata::TenantId;

/// Aggregate type of the import row streams.
pub const FOLDER_ROWS_TYPE: &str = "FolderRows";
/// Rows per [`FolderRowsEvent::Chunk`].
pub const CHUNK_ROWS: usize = 1_000;

/// The aggregate id of folder `number` of `tenant`.
pub fn folder_aggregate_id(tenant: &str, number: u32) -> String {
    crate::aggregate_ref::AggregateRef::new(tenant, &number.to_string()).to_string()
}

/// The customer id users see (LST-7): `FFF-CCC`, zero-padded to three digits each.
pub fn customer_id(folder: u32, customer: u32) -> String {
    format!("{folder:03}-{customer:03}")
}

/// Parses `FFF-CCC` back into (folder, customer).
pub fn parse_customer_id(id: &str) -> Option<(u32, u32)> {
    let (f, c) = id.trim().split_once('-')?;
    Some((f.parse().ok()?, c.parse().ok()?))
}

/// What a folder's decisions need to remember.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListFolder {
    tenant_id: Option<TenantId>,
    campaign_id: String,
    number: u32,
    name: String,
    active: bool,
    columns: Vec<String>,
    phone_column: usize,
    permitted: BTreeSet<u64>,
    /// Live customers.
    count: u32,
    next_customer: u32,
    imports: u32,
    deleted_customers: BTreeSet<u32>,
    /// Idempotency key → (first customer, count) of the import it made.
    import_keys: BTreeMap<String, (u32, u32)>,
    deleted: bool,
}

/// Where an import goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportTo {
    /// A new folder with this number and name in this campaign (the caller checked that the
    /// campaign exists).
    New {
        campaign_id: String,
        number: u32,
        name: String,
    },
    /// This (existing) folder.
    Existing,
}

/// An import request; the rows are the already validated [`ParsedList`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRequest {
    pub tenant_id: TenantId,
    pub to: ImportTo,
    pub source: AddSource,
}

/// The result of an import, also what a repeated idempotency key answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOutcome {
    pub folder: u32,
    pub first: u32,
    pub count: u32,
}

/// The events an import writes, in log order: the folder's events (`Created` for a new folder,
/// then `CustomersAdded`) and the row chunks for `rows_stream`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportDecision {
    pub created: Option<FolderEvent>,
    pub chunks: Vec<FolderRowsEvent>,
    pub added: Option<FolderEvent>,
    pub rows_stream: String,
    pub outcome: ImportOutcome,
}

impl ImportDecision {
    /// `true` when the idempotency key was seen before: nothing to write.
    pub fn is_repeat(&self) -> bool {
        self.added.is_none()
    }
}

impl ListFolder {
    pub const NAME_LABEL: &'static str = "フォルダ名";

    fn owned_by(&self, tenant: &str) -> Result<(), FolderError> {
        match &self.tenant_id {
            Some(t) if t == tenant && !self.deleted => Ok(()),
            _ => Err(FolderError::NotFound),
        }
    }

    pub fn exists(&self) -> bool {
        self.tenant_id.is_some()
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    pub fn number(&self) -> u32 {
        self.number
    }

    /// Decides an import of `list` (already checked by `parse_customer_file` or
    /// `parse_manual_rows` against this folder's columns and count). Pure: the caller writes
    /// the events of the decision in one transaction, the folder's at the next sequences.
    pub fn decide_import(
        &self,
        request: &ImportRequest,
        list: &ParsedList,
        aggregate_id: &str,
    ) -> Result<ImportDecision, FolderError> {
        let (created, number, columns, phone_column) = match &request.to {
            ImportTo::New {
                campaign_id,
                number,
                name,
            } => {
                if self.exists() {
                    return Err(FolderError::AlreadyExists);
                }
                let name = validate_name(Self::NAME_LABEL, name)?;
                let created = FolderEvent::Created {
                    tenant_id: request.tenant_id.clone(),
                    campaign_id: campaign_id.clone(),
                    number: *number,
                    name,
                    columns: list.columns().to_vec(),
                    phone_column: list.phone_column(),
                };
                (
                    Some(created),
                    *number,
                    list.columns().to_vec(),
                    list.phone_column(),
                )
            }
            ImportTo::Existing => {
                self.owned_by(&request.tenant_id)?;
                if let AddSource::File {
                    idempotency_key: Some(key),
                    ..
                } = &request.source
                    && let Some(&(first, count)) = self.import_keys.get(key)
                {
                    return Ok(ImportDecision {
                        created: None,
                        chunks: Vec::new(),
                        added: None,
                        rows_stream: String::new(),
                        outcome: ImportOutcome {
                            folder: self.number,
                            first,
                            count,
                        },
                    });
                }
                (None, self.number, self.columns.clone(), self.phone_column)
            }
        };
        let adding = list.len();
        if self.count as usize + adding > MAX_CUSTOMERS_PER_FOLDER {
            return Err(FolderError::FolderFull {
                count: self.count as usize,
                adding,
            });
        }
        // File column i goes to folder column map[i] (an append may order columns differently).
        let mut map = Vec::with_capacity(list.columns().len());
        for c in list.columns() {
            let Some(i) = columns.iter().position(|f| f == c) else {
                return Err(FolderError::UnknownColumn { column: c.clone() });
            };
            map.push(i);
        }
        let first = self.next_customer.max(1);
        let import_no = self.imports + 1;
        let mut chunks = Vec::with_capacity(adding.div_ceil(CHUNK_ROWS));
        let mut rows = Vec::with_capacity(CHUNK_ROWS.min(adding));
        let mut chunk_first = first;
        for (i, row) in list.rows().enumerate() {
            let mut cells = vec![String::new(); columns.len()];
            for (j, cell) in row.cells().enumerate() {
                cells[map[j]] = cell.to_owned();
            }
            cells[phone_column] = row.phone.as_str().to_owned();
            rows.push(cells);
            if rows.len() == CHUNK_ROWS || i + 1 == adding {
                let full = std::mem::replace(&mut rows, Vec::with_capacity(CHUNK_ROWS));
                let len = full.len() as u32;
                chunks.push(FolderRowsEvent::Chunk {
                    folder: number,
                    first: chunk_first,
                    rows: full,
                });
                chunk_first += len;
            }
        }
        let rows_stream = format!("{aggregate_id}/{import_no}");
        let outcome = ImportOutcome {
            folder: number,
            first,
            count: adding as u32,
        };
        let added = FolderEvent::CustomersAdded {
            import_no,
            first,
            count: adding as u32,
            chunks: chunks.len() as u32,
            rows_stream: rows_stream.clone(),
            source: request.source.clone(),
        };
        Ok(ImportDecision {
            created,
            chunks,
            added: Some(added),
            rows_stream,
            outcome,
        })
    }

    fn check_columns(columns: &[String]) -> Result<Vec<String>, FolderError> {
        let mut seen = HashMap::new();
        let mut out = Vec::with_capacity(columns.len());
        for c in columns {
            let c = c.trim().to_owned();
            if c.is_empty() {
                return Err(FolderError::Name(crate::error::NameError::Empty {
                    what: "列名",
                }));
            }
            if seen.insert(c.clone(), ()).is_some() {
                return Err(FolderError::DuplicateColumn { name: c });
            }
            out.push(c);
        }
        if !out.iter().any(|c| c == PHONE_HEADER) {
            return Err(FolderError::PhoneColumnMissing);
        }
        Ok(out)
    }

    fn customer_exists(&self, customer: u32) -> bool {
        customer >= 1
            && customer < self.next_customer
            && !self.deleted_customers.contains(&customer)
    }
}

impl Aggregate for ListFolder {
    const TYPE: &'static str = "ListFolder";
    type Command = FolderCommand;
    type Event = FolderEvent;
    type Error = FolderError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            FolderCommand::CreateEmpty {
                tenant_id,
                campaign_id,
                number,
                name,
                columns,
            } => {
                if self.exists() {
                    return Err(FolderError::AlreadyExists);
                }
                let name = validate_name(Self::NAME_LABEL, &name)?;
                let columns = Self::check_columns(&columns)?;
                let phone_column = columns
                    .iter()
                    .position(|c| c == PHONE_HEADER)
                    .ok_or(FolderError::PhoneColumnMissing)?;
                sink.write(
                    FolderEvent::Created {
                        tenant_id,
                        campaign_id,
                        number,
                        name,
                        columns,
                        phone_column,
                    },
                    self,
                )
                .await;
            }
            FolderCommand::Rename { tenant_id, name } => {
                self.owned_by(&tenant_id)?;
                let name = validate_name(Self::NAME_LABEL, &name)?;
                if name != self.name {
                    let from = self.name.clone();
                    sink.write(FolderEvent::Renamed { from, name }, self).await;
                }
            }
            FolderCommand::Activate { tenant_id } => {
                self.owned_by(&tenant_id)?;
                if !self.active {
                    sink.write(FolderEvent::Activated, self).await;
                }
            }
            FolderCommand::Deactivate { tenant_id } => {
                self.owned_by(&tenant_id)?;
                if self.active {
                    sink.write(FolderEvent::Deactivated, self).await;
                }
            }
            FolderCommand::SetPermittedUsers { tenant_id, users } => {
                self.owned_by(&tenant_id)?;
                let users: BTreeSet<u64> = users.into_iter().collect();
                if users != self.permitted {
                    let users = users.into_iter().collect();
                    sink.write(FolderEvent::PermittedUsersSet { users }, self)
                        .await;
                }
            }
            FolderCommand::ArrangeColumns {
                tenant_id,
                order,
                display_names,
            } => {
                self.owned_by(&tenant_id)?;
                let n = self.columns.len();
                let bad = || FolderError::BadColumnOrder { columns: n };
                if order.len() != n || display_names.len() != n {
                    return Err(bad());
                }
                let mut indexes = Vec::with_capacity(n);
                let mut names = self.columns.clone();
                for (column, display) in order.iter().zip(&display_names) {
                    let i = self
                        .columns
                        .iter()
                        .position(|c| c == column)
                        .ok_or_else(|| FolderError::UnknownColumn {
                            column: column.clone(),
                        })?;
                    if indexes.contains(&i) {
                        return Err(bad());
                    }
                    let display = validate_name("表示名", display)?;
                    if i == self.phone_column && display != PHONE_HEADER {
                        return Err(FolderError::PhoneColumnRename);
                    }
                    names[i] = display;
                    indexes.push(i);
                }
                sink.write(
                    FolderEvent::ColumnsArranged {
                        order: indexes,
                        names,
                    },
                    self,
                )
                .await;
            }
            FolderCommand::EditCustomer {
                tenant_id,
                customer,
                values,
            } => {
                self.owned_by(&tenant_id)?;
                if !self.customer_exists(customer) {
                    return Err(FolderError::CustomerNotFound {
                        customer: customer_id(self.number, customer),
                    });
                }
                let mut changes = Vec::with_capacity(values.len());
                let mut phone = None;
                for (column, value) in values {
                    let i = self
                        .columns
                        .iter()
                        .position(|c| *c == column)
                        .ok_or(FolderError::UnknownColumn { column })?;
                    let value = if i == self.phone_column {
                        let number = normalise(&value)?.number;
                        phone = Some(number);
                        number.as_str().to_owned()
                    } else {
                        value
                    };
                    changes.push(CellChange { column: i, value });
                }
                if !changes.is_empty() {
                    sink.write(
                        FolderEvent::CustomerEdited {
                            customer,
                            changes,
                            phone,
                        },
                        self,
                    )
                    .await;
                }
            }
            FolderCommand::DeleteCustomers {
                tenant_id,
                customers,
            } => {
                self.owned_by(&tenant_id)?;
                let mut list: Vec<u32> = customers
                    .into_iter()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                if let Some(missing) = list.iter().find(|c| !self.customer_exists(**c)) {
                    return Err(FolderError::CustomerNotFound {
                        customer: customer_id(self.number, *missing),
                    });
                }
                list.sort_unstable();
                if !list.is_empty() {
                    sink.write(FolderEvent::CustomersDeleted { customers: list }, self)
                        .await;
                }
            }
            FolderCommand::Delete { tenant_id } => {
                self.owned_by(&tenant_id)?;
                let event = FolderEvent::Deleted {
                    name: self.name.clone(),
                    customers: self.count,
                };
                sink.write(event, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            FolderEvent::Created {
                tenant_id,
                campaign_id,
                number,
                name,
                columns,
                phone_column,
            } => {
                self.tenant_id = Some(tenant_id);
                self.campaign_id = campaign_id;
                self.number = number;
                self.name = name;
                self.active = true;
                self.columns = columns;
                self.phone_column = phone_column;
                self.next_customer = 1;
            }
            FolderEvent::CustomersAdded {
                import_no,
                first,
                count,
                source,
                ..
            } => {
                self.imports = import_no;
                self.count += count;
                self.next_customer = first + count;
                if let AddSource::File {
                    idempotency_key: Some(key),
                    ..
                } = source
                {
                    self.import_keys.insert(key, (first, count));
                }
            }
            FolderEvent::Renamed { name, .. } => self.name = name,
            FolderEvent::Activated => self.active = true,
            FolderEvent::Deactivated => self.active = false,
            FolderEvent::PermittedUsersSet { users } => {
                self.permitted = users.into_iter().collect()
            }
            FolderEvent::ColumnsArranged { .. } | FolderEvent::CustomerEdited { .. } => {}
            FolderEvent::CustomersDeleted { customers } => {
                self.count -= customers.len() as u32;
                self.deleted_customers.extend(customers);
            }
            FolderEvent::Deleted { .. } => {
                self.deleted = true;
                self.count = 0;
            }
        }
    }
}

/// The source of a parsed file, for [`AddSource::File`].
pub fn file_source(format: SourceFormat, idempotency_key: Option<String>) -> AddSource {
    AddSource::File {
        format,
        idempotency_key,
    }
}

#[cfg(test)]
mod tests;
