//! The access log (AUD-1) in the api: an in-process batcher that appends the accesses of each
//! tenant every ~100 ms (or 500 entries) as one atomic write continuing the `AccessLog` stream's
//! hash chain (see [`append`]), the GraphQL operation names
//! and outcomes it records, and the auditors' tools behind `kaden audit export` and
//! `kaden audit verify`, which read the stored rows themselves (not the read models).

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use cqrs_es::DomainEvent;
use cqrs_es::persist::{PersistenceError, SerializedEvent};
use kaden_domain::access::audit_chain::{self, ChainHead, hash_from_hex};
use kaden_domain::access::{AccessEntry, BreakReason, ChainBreak, Outcome};
use kaden_domain::access_log::{AccessDraft, AccessLog, AccessLogEvent};
use kaden_domain::error::ErrorCode;
use kaden_projections::log::LogPosition;
use serde::Serialize;
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

use crate::commands::RequestContext;
use crate::store::{Backend, Store, StoreError};

mod append;
mod batcher;
mod cli;
mod entry;
mod search;
mod stored;

pub use append::*;
pub use batcher::*;
pub use cli::*;
pub use entry::*;
pub use search::*;
pub use stored::*;
