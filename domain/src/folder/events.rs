use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::list::{PhoneNumber, SourceFormat};
use crate::metadata::TenantId;

/// How customers came in (LST-2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AddSource {
    /// An uploaded file (CSV or `.xlsx`), with the client's idempotency key.
    File {
        format: SourceFormat,
        idempotency_key: Option<String>,
    },
    /// Rows typed in by hand (LST-2c).
    Manual,
}

/// One changed cell of a customer: the folder's column index and the new value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellChange {
    pub column: usize,
    pub value: String,
}

/// Facts about a list folder (the decision stream: small events only; the rows of an import
/// travel in [`FolderRowsEvent`]s on their own stream). Stored names never change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FolderEvent {
    /// A new folder (LST-1), active, with its columns in file order.
    Created {
        tenant_id: TenantId,
        campaign_id: String,
        number: u32,
        name: String,
        columns: Vec<String>,
        phone_column: usize,
    },
    /// An import or manual rows finished: customers `first ..= first + count - 1` are in the
    /// `chunks` events of stream `rows_stream` written in the same transaction.
    CustomersAdded {
        import_no: u32,
        first: u32,
        count: u32,
        chunks: u32,
        rows_stream: String,
        source: AddSource,
    },
    Renamed {
        from: String,
        name: String,
    },
    Activated,
    Deactivated,
    /// The users who may see the folder from now on (LST-1), replacing the old set.
    PermittedUsersSet {
        users: Vec<u64>,
    },
    /// Display order (indexes into the columns) and display names, one per column (LST-5).
    ColumnsArranged {
        order: Vec<usize>,
        names: Vec<String>,
    },
    CustomerEdited {
        customer: u32,
        changes: Vec<CellChange>,
        /// The new phone number when the phone cell changed (normalised).
        phone: Option<PhoneNumber>,
    },
    CustomersDeleted {
        customers: Vec<u32>,
    },
    /// The folder and all its customers are gone (LST-8); the event keeps who and when.
    Deleted {
        name: String,
        customers: u32,
    },
}

impl DomainEvent for FolderEvent {
    fn event_type(&self) -> String {
        match self {
            Self::Created { .. } => "FolderCreated",
            Self::CustomersAdded { .. } => "FolderCustomersAdded",
            Self::Renamed { .. } => "FolderRenamed",
            Self::Activated => "FolderActivated",
            Self::Deactivated => "FolderDeactivated",
            Self::PermittedUsersSet { .. } => "FolderPermittedUsersSet",
            Self::ColumnsArranged { .. } => "FolderColumnsArranged",
            Self::CustomerEdited { .. } => "FolderCustomerEdited",
            Self::CustomersDeleted { .. } => "FolderCustomersDeleted",
            Self::Deleted { .. } => "FolderDeleted",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}

/// The rows of one import, in chunks of at most [`super::CHUNK_ROWS`], on the stream
/// `"{folder aggregate id}/{import_no}"` (aggregate type [`super::FOLDER_ROWS_TYPE`]). Never
/// loaded for decisions, so a folder's decision stream stays small.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FolderRowsEvent {
    Chunk {
        folder: u32,
        /// Customer number of `rows[0]`; the rest follow in order.
        first: u32,
        /// One entry per customer, one cell per folder column (folder column order); the
        /// phone cell holds the normalised number.
        rows: Vec<Vec<String>>,
    },
}

impl FolderRowsEvent {
    pub const EVENT_TYPE: &'static str = "FolderRowsChunk";
}
