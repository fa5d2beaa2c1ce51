//! The GraphQL objects of list folders and customers (SPEC LST-1, LST-5..9): folders with their
//! columns and progress, customers with their fields, pages, duplicates, payloads and inputs.

use async_graphql::{Context, Enum, InputObject, SimpleObject};
use kaden_projections::ReadModels;
use kaden_projections::folders::{CustomerView, FolderView};

use super::local_time;

#[derive(SimpleObject, Clone)]
pub struct ColumnObject {
    /// The column's name in the file (the key for search and edits).
    pub(super) name: String,
    /// The name shown (LST-5).
    pub(super) display_name: String,
    /// `true` for the `電話番号` column.
    pub(super) is_phone: bool,
}

/// A folder as the admin list shows it (LST-8a).
#[derive(SimpleObject, Clone)]
#[graphql(name = "Folder")]
pub struct FolderObject {
    /// The folder number (never reused).
    pub(super) id: u32,
    pub(super) name: String,
    pub(super) campaign_id: String,
    pub(super) active: bool,
    /// Columns in display order.
    pub(super) columns: Vec<ColumnObject>,
    pub(super) permitted_user_ids: Vec<u64>,
    /// Customers registered (LST-9).
    pub(super) registered_count: u32,
    /// Customers with at least one interaction (LST-9).
    pub(super) work_count: u32,
    /// work count / registered count, 0..1.
    pub(super) progress: f64,
    pub(super) created_at: String,
    pub(super) updated_at: String,
}

impl FolderObject {
    pub(super) fn new(ctx: &Context<'_>, f: &FolderView) -> Self {
        Self::with_times(
            f,
            local_time(ctx, f.created_at),
            local_time(ctx, f.updated_at),
        )
    }

    pub(super) fn with_times(f: &FolderView, created_at: String, updated_at: String) -> Self {
        Self {
            id: f.number,
            name: f.name.clone(),
            campaign_id: f.campaign_id.clone(),
            active: f.active,
            columns: f
                .display_order
                .iter()
                .map(|&i| ColumnObject {
                    name: f.columns[i].clone(),
                    display_name: f.display_names[i].clone(),
                    is_phone: i == f.phone_column,
                })
                .collect(),
            permitted_user_ids: f.permitted_users.clone(),
            registered_count: f.registered,
            work_count: f.worked,
            progress: f.progress(),
            created_at,
            updated_at,
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct FieldObject {
    pub(super) column: String,
    pub(super) value: String,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "Customer")]
pub struct CustomerObject {
    /// `FFF-CCC` (LST-7).
    pub(super) id: String,
    pub(super) folder_id: u32,
    pub(super) phone: Option<String>,
    /// Fields in the folder's display order.
    pub(super) fields: Vec<FieldObject>,
    /// `true` when another customer (in any folder) holds the same number (LST-6, shown red).
    pub(super) duplicate: bool,
    pub(super) interaction_count: u32,
}

pub(super) fn customer_object(
    m: &ReadModels,
    tenant: &str,
    f: &FolderView,
    c: CustomerView,
) -> CustomerObject {
    let duplicate = c.phone.is_some_and(|p| {
        m.folders
            .tenant(tenant)
            .is_some_and(|t| t.holder_count(&p) > 1)
    });
    CustomerObject {
        id: c.id,
        folder_id: c.folder,
        phone: c.phone.map(|p| p.as_str().to_owned()),
        fields: f
            .display_order
            .iter()
            .map(|&i| FieldObject {
                column: f.columns[i].clone(),
                value: c.cells[i].clone(),
            })
            .collect(),
        duplicate,
        interaction_count: c.interactions,
    }
}

#[derive(SimpleObject)]
pub struct CustomerPage {
    pub(super) total_count: usize,
    pub(super) has_more: bool,
    /// Pass as `after` for the next page.
    pub(super) end_cursor: Option<String>,
    pub(super) nodes: Vec<CustomerObject>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum MatchKind {
    Equals,
    Contains,
    Prefix,
    Empty,
    NotEmpty,
}

/// One search condition (LST-8): all conditions must hold.
#[derive(InputObject)]
pub struct ConditionInput {
    pub(super) column: String,
    #[graphql(default_with = "MatchKind::Contains")]
    pub(super) kind: MatchKind,
    #[graphql(default)]
    pub(super) value: String,
}

#[derive(InputObject)]
pub struct FieldInput {
    pub(super) column: String,
    pub(super) value: String,
}

#[derive(SimpleObject)]
pub struct HolderObject {
    pub(super) customer_id: String,
    pub(super) folder_id: u32,
    pub(super) folder_name: String,
}

#[derive(SimpleObject)]
pub struct DuplicateObject {
    pub(super) phone: String,
    pub(super) customers: Vec<HolderObject>,
}

#[derive(SimpleObject)]
pub struct FolderPayload {
    pub(super) folder: FolderObject,
    pub(super) position: Option<String>,
}

#[derive(SimpleObject)]
pub struct AddCustomersPayload {
    pub(super) folder: FolderObject,
    pub(super) count: u32,
    pub(super) first_customer_id: Option<String>,
    pub(super) last_customer_id: Option<String>,
    pub(super) position: Option<String>,
}

#[derive(SimpleObject)]
pub struct DeletedPayload {
    pub(super) deleted: usize,
    pub(super) position: Option<String>,
}
