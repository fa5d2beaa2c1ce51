//! List folders and customers (SPEC LST-1, LST-2c/d, LST-5..9): queries, mutations. File
//! uploads and exports are plain HTTP (`crate::http::import`, `crate::http::export`).

use async_graphql::{Context, Object, Result};
use kaden_domain::access::Capability;
use kaden_domain::error::ErrorCode;
use kaden_domain::folder::{
    AddSource, FolderCommand, FolderError, customer_id, folder_aggregate_id, parse_customer_id,
};
use kaden_domain::list::ImportTarget;
use kaden_projections::folders::{Condition, MatchOp};

use super::{authorize, position_text, reach, state};
use crate::commands::RequestContext;
use crate::error::ApiError;
use crate::service::imports::{Destination, write_rows};

pub use super::folder_objects::*;

/// Largest page of customers.
const MAX_PAGE: usize = 500;
/// Attempts at a fresh folder number when another folder took it first.
const NUMBER_ATTEMPTS: u32 = 8;

fn not_found(number: u32) -> ApiError {
    ApiError::not_found("リストフォルダ", &number.to_string())
}

fn folder_object(ctx: &Context<'_>, tenant: &str, number: u32) -> Result<FolderObject, ApiError> {
    state(ctx)
        .engine
        .read(|m| {
            m.folders
                .folder(tenant, number)
                .map(|f| FolderObject::new(ctx, f))
        })
        .ok_or_else(|| not_found(number))
}

#[derive(Default)]
pub struct FolderQuery;

#[Object]
impl FolderQuery {
    /// The tenant's folders (LST-8a), optionally of one campaign.
    async fn folders(
        &self,
        ctx: &Context<'_>,
        campaign_id: Option<String>,
    ) -> Result<Vec<FolderObject>> {
        let (request, _) = authorize(ctx, Capability::ListView)?;
        Ok(state(ctx).engine.read(|m| {
            m.folders
                .tenant(&request.tenant_id)
                .map(|t| {
                    t.list(campaign_id.as_deref())
                        .into_iter()
                        .map(|f| FolderObject::new(ctx, f))
                        .collect()
                })
                .unwrap_or_default()
        }))
    }

    async fn folder(&self, ctx: &Context<'_>, id: u32) -> Result<FolderObject> {
        let (request, _) = authorize(ctx, Capability::ListView)?;
        Ok(folder_object(ctx, &request.tenant_id, id)?)
    }

    /// Customers of a folder matching every condition (LST-8), by customer number, in pages.
    async fn folder_customers(
        &self,
        ctx: &Context<'_>,
        folder_id: u32,
        #[graphql(default)] conditions: Vec<ConditionInput>,
        after: Option<String>,
        #[graphql(default = 50)] first: usize,
    ) -> Result<CustomerPage> {
        let (request, _) = authorize(ctx, Capability::ListView)?;
        let tenant = &request.tenant_id;
        let after = match after.as_deref() {
            None => 0,
            Some(cursor) => parse_customer_id(cursor)
                .filter(|(f, _)| *f == folder_id)
                .map(|(_, c)| c)
                .ok_or_else(|| ApiError::new(ErrorCode::BadCursor, format!("カーソル「{cursor}」が正しくありません (after must be the endCursor of the previous page of this folder)")))?,
        };
        let page = state(ctx).engine.read(|m| {
            let f = m
                .folders
                .folder(tenant, folder_id)
                .ok_or_else(|| not_found(folder_id))?;
            let mut parsed = Vec::with_capacity(conditions.len());
            for c in &conditions {
                let column = f
                    .columns
                    .iter()
                    .position(|n| *n == c.column)
                    .ok_or_else(|| {
                        ApiError::domain(&FolderError::UnknownColumn {
                            column: c.column.clone(),
                        })
                    })?;
                let op = match c.kind {
                    MatchKind::Equals => MatchOp::Equals,
                    MatchKind::Contains => MatchOp::Contains,
                    MatchKind::Prefix => MatchOp::Prefix,
                    MatchKind::Empty => MatchOp::Empty,
                    MatchKind::NotEmpty => MatchOp::NotEmpty,
                };
                parsed.push(Condition {
                    column,
                    op,
                    value: c.value.clone(),
                });
            }
            let found = f.search(&parsed, after, first.clamp(1, MAX_PAGE));
            let end_cursor = found.customers.last().map(|c| c.id.clone());
            Ok::<_, ApiError>(CustomerPage {
                total_count: found.total,
                has_more: found.has_more,
                end_cursor,
                nodes: found
                    .customers
                    .into_iter()
                    .map(|c| customer_object(m, tenant, f, c))
                    .collect(),
            })
        })?;
        Ok(page)
    }

    async fn customer(&self, ctx: &Context<'_>, id: String) -> Result<CustomerObject> {
        let (request, _) = authorize(ctx, Capability::ListView)?;
        let tenant = &request.tenant_id;
        let (folder, number) =
            parse_customer_id(&id).ok_or_else(|| ApiError::not_found("顧客", &id))?;
        Ok(read_customer(ctx, tenant, folder, number, &id)?)
    }

    /// Numbers held by more than one customer, with every holder (LST-6); optionally only
    /// those involving one folder.
    async fn duplicate_numbers(
        &self,
        ctx: &Context<'_>,
        folder_id: Option<u32>,
    ) -> Result<Vec<DuplicateObject>> {
        let (request, _) = authorize(ctx, Capability::ListView)?;
        Ok(state(ctx).engine.read(|m| {
            let Some(t) = m.folders.tenant(&request.tenant_id) else {
                return Vec::new();
            };
            t.duplicates(folder_id)
                .into_iter()
                .map(|d| DuplicateObject {
                    phone: d.phone.as_str().to_owned(),
                    customers: d
                        .holders
                        .iter()
                        .map(|&(f, c)| HolderObject {
                            customer_id: customer_id(f, c),
                            folder_id: f,
                            folder_name: t.folder(f).map(|f| f.name.clone()).unwrap_or_default(),
                        })
                        .collect(),
                })
                .collect()
        }))
    }
}

#[derive(Default)]
pub struct FolderMutation;

async fn run(
    ctx: &Context<'_>,
    request: &RequestContext,
    number: u32,
    command: FolderCommand,
) -> Result<FolderPayload> {
    let app = state(ctx);
    let id = folder_aggregate_id(&request.tenant_id, number);
    let position = app.commands.folder(&id, command, request).await?;
    reach(ctx, position).await?;
    Ok(FolderPayload {
        folder: folder_object(ctx, &request.tenant_id, number)?,
        position: position_text(position),
    })
}

/// One customer as clients see it, or NOT_FOUND naming `id`.
fn read_customer(
    ctx: &Context<'_>,
    tenant: &str,
    folder: u32,
    number: u32,
    id: &str,
) -> Result<CustomerObject, ApiError> {
    state(ctx)
        .engine
        .read(|m| {
            let f = m.folders.folder(tenant, folder)?;
            f.customer(number).map(|c| customer_object(m, tenant, f, c))
        })
        .ok_or_else(|| ApiError::not_found("顧客", id))
}

#[Object]
impl FolderMutation {
    /// A new folder (LST-2d): empty with its column names, or with rows typed in (LST-2c; each
    /// row one value per column). One column must be `電話番号`.
    async fn create_folder(
        &self,
        ctx: &Context<'_>,
        campaign_id: String,
        name: String,
        columns: Vec<String>,
        rows: Option<Vec<Vec<String>>>,
    ) -> Result<FolderPayload> {
        let (request, _) = authorize(ctx, Capability::ListEdit)?;
        let app = state(ctx);
        let tenant = request.tenant_id.clone();
        // An empty folder is configuration and needs only the campaign; rows typed in with it
        // pass the import gate (CMP-2, CMP-5) in `manual_rows`.
        if app
            .engine
            .read(|m| m.campaigns.get(&tenant, &campaign_id).is_none())
        {
            return Err(ApiError::domain(&FolderError::CampaignNotFound { campaign_id }).into());
        }
        if let Some(rows) = rows.filter(|r| !r.is_empty()) {
            let list = crate::service::imports::manual_rows(
                &app.engine,
                &tenant,
                &campaign_id,
                &columns,
                &rows,
                ImportTarget::NewFolder,
            )?;
            let destination = Destination::NewFolder {
                campaign_id: campaign_id.clone(),
                name,
            };
            let (outcome, position) = write_rows(
                &app.imports(),
                request,
                &destination,
                &campaign_id,
                &list,
                AddSource::Manual,
            )
            .await?;
            return Ok(FolderPayload {
                folder: folder_object(ctx, &tenant, outcome.folder)?,
                position: position_text(position),
            });
        }
        let mut number = app.engine.read(|m| m.folders.next_number(&tenant));
        for _ in 0..NUMBER_ATTEMPTS {
            let command = FolderCommand::CreateEmpty {
                tenant_id: tenant.clone(),
                campaign_id: campaign_id.clone(),
                number,
                name: name.clone(),
                columns: columns.clone(),
            };
            match run(ctx, request, number, command).await {
                Err(e)
                    if e.extensions
                        .as_ref()
                        .and_then(|x| x.get("code"))
                        .is_some_and(|c| *c == async_graphql::Value::from("ALREADY_EXISTS")) =>
                {
                    number += 1
                }
                other => return other,
            }
        }
        Err(ApiError::conflict().into())
    }

    /// Adds rows typed in by hand to a folder (LST-2c): `columns` must be the folder's columns
    /// (any order); all rows or none.
    async fn add_customers(
        &self,
        ctx: &Context<'_>,
        folder_id: u32,
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
    ) -> Result<AddCustomersPayload> {
        let (request, _) = authorize(ctx, Capability::ListEdit)?;
        let app = state(ctx);
        let tenant = request.tenant_id.clone();
        let (folder_columns, count, campaign_id) = app
            .engine
            .read(|m| {
                m.folders.folder(&tenant, folder_id).map(|f| {
                    (
                        f.columns.clone(),
                        f.registered as usize,
                        f.campaign_id.clone(),
                    )
                })
            })
            .ok_or_else(|| not_found(folder_id))?;
        let list = crate::service::imports::manual_rows(
            &app.engine,
            &tenant,
            &campaign_id,
            &columns,
            &rows,
            ImportTarget::Append {
                folder_columns: &folder_columns,
                folder_count: count,
            },
        )?;
        let destination = Destination::Folder { number: folder_id };
        let (outcome, position) = write_rows(
            &app.imports(),
            request,
            &destination,
            &campaign_id,
            &list,
            AddSource::Manual,
        )
        .await?;
        let range = (outcome.count > 0).then(|| {
            (
                customer_id(folder_id, outcome.first),
                customer_id(folder_id, outcome.first + outcome.count - 1),
            )
        });
        Ok(AddCustomersPayload {
            folder: folder_object(ctx, &tenant, folder_id)?,
            count: outcome.count,
            first_customer_id: range.as_ref().map(|r| r.0.clone()),
            last_customer_id: range.map(|r| r.1),
            position: position_text(position),
        })
    }

    async fn rename_folder(
        &self,
        ctx: &Context<'_>,
        id: u32,
        name: String,
    ) -> Result<FolderPayload> {
        let (request, _) = authorize(ctx, Capability::ListEdit)?;
        let command = FolderCommand::Rename {
            tenant_id: request.tenant_id.clone(),
            name,
        };
        run(ctx, request, id, command).await
    }

    async fn activate_folder(&self, ctx: &Context<'_>, id: u32) -> Result<FolderPayload> {
        let (request, _) = authorize(ctx, Capability::ListEdit)?;
        let command = FolderCommand::Activate {
            tenant_id: request.tenant_id.clone(),
        };
        run(ctx, request, id, command).await
    }

    async fn deactivate_folder(&self, ctx: &Context<'_>, id: u32) -> Result<FolderPayload> {
        let (request, _) = authorize(ctx, Capability::ListEdit)?;
        let command = FolderCommand::Deactivate {
            tenant_id: request.tenant_id.clone(),
        };
        run(ctx, request, id, command).await
    }

    /// The users who may see the folder (LST-1), replacing the previous set.
    async fn set_folder_users(
        &self,
        ctx: &Context<'_>,
        id: u32,
        user_ids: Vec<u64>,
    ) -> Result<FolderPayload> {
        let (request, _) = authorize(ctx, Capability::ListEdit)?;
        let tenant = request.tenant_id.clone();
        if let Some(unknown) = state(ctx).engine.read(|m| {
            user_ids
                .iter()
                .find(|u| m.directory.user(&tenant, **u).is_none())
                .copied()
        }) {
            return Err(ApiError::not_found("ユーザー", &unknown.to_string()).into());
        }
        let command = FolderCommand::SetPermittedUsers {
            tenant_id: tenant,
            users: user_ids,
        };
        run(ctx, request, id, command).await
    }

    /// Display order (all column names) and display names aligned with it (LST-5).
    async fn arrange_folder_columns(
        &self,
        ctx: &Context<'_>,
        id: u32,
        order: Vec<String>,
        display_names: Vec<String>,
    ) -> Result<FolderPayload> {
        let (request, _) = authorize(ctx, Capability::ListEdit)?;
        let command = FolderCommand::ArrangeColumns {
            tenant_id: request.tenant_id.clone(),
            order,
            display_names,
        };
        run(ctx, request, id, command).await
    }

    /// Edits one customer's fields by column name (LST-8); a phone is normalised (LST-3).
    /// USR-6 `customer_edit`: MGR and SV in any folder, OP and BY in folders open to them.
    async fn edit_customer(
        &self,
        ctx: &Context<'_>,
        id: String,
        fields: Vec<FieldInput>,
    ) -> Result<CustomerObject> {
        let (request, user) = authorize(ctx, Capability::CustomerEdit)?;
        let (folder, number) =
            parse_customer_id(&id).ok_or_else(|| ApiError::not_found("顧客", &id))?;
        crate::service::folders::may_edit_customers(&state(ctx).engine, request, user, folder)?;
        let command = FolderCommand::EditCustomer {
            tenant_id: request.tenant_id.clone(),
            customer: number,
            values: fields.into_iter().map(|f| (f.column, f.value)).collect(),
        };
        run(ctx, request, folder, command).await?;
        let tenant = &request.tenant_id;
        Ok(read_customer(ctx, tenant, folder, number, &id)?)
    }

    /// Deletes customers by id (LST-8; LST-6 "delete one or all duplicates"), across folders in
    /// one append.
    async fn delete_customers(
        &self,
        ctx: &Context<'_>,
        ids: Vec<String>,
    ) -> Result<DeletedPayload> {
        let (request, _) = authorize(ctx, Capability::ListEdit)?;
        let (deleted, last) =
            crate::service::folders::delete_customers(&state(ctx).commands, request, &ids).await?;
        reach(ctx, last).await?;
        Ok(DeletedPayload {
            deleted,
            position: position_text(last),
        })
    }

    /// Deletes a folder with all its customers (LST-8): they leave every read model; the event
    /// keeps who and when.
    async fn delete_folder(&self, ctx: &Context<'_>, id: u32) -> Result<DeletedPayload> {
        let (request, _) = authorize(ctx, Capability::ListEdit)?;
        let app = state(ctx);
        let count = app
            .engine
            .read(|m| {
                m.folders
                    .folder(&request.tenant_id, id)
                    .map(|f| f.registered as usize)
            })
            .ok_or_else(|| not_found(id))?;
        let command = FolderCommand::Delete {
            tenant_id: request.tenant_id.clone(),
        };
        let position = app
            .commands
            .folder(
                &folder_aggregate_id(&request.tenant_id, id),
                command,
                request,
            )
            .await?;
        reach(ctx, position).await?;
        Ok(DeletedPayload {
            deleted: count,
            position: position_text(position),
        })
    }
}

#[derive(Default)]
pub struct FolderSubscription;

#[async_graphql::Subscription]
impl FolderSubscription {
    /// Every change to one of the tenant's folders (settings, customers added or deleted), as
    /// the folder is after it: progress (LST-9) live.
    async fn folder_changed(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl futures::Stream<Item = FolderObject> + use<>> {
        let (request, _) = authorize(ctx, Capability::ListView)?;
        let tenant = request.tenant_id.clone();
        Ok(super::change_stream(
            state(ctx).clone(),
            "folder",
            move |app, change| {
                let kaden_projections::Change::Folder { tenant_id, folder } = change else {
                    return None;
                };
                if *tenant_id != tenant {
                    return None;
                }
                let zone = app.settings.time_zone;
                app.engine.read(|m| {
                    m.folders.folder(tenant_id, *folder).map(|f| {
                        let local = |at: chrono::DateTime<chrono::Utc>| {
                            at.with_timezone(&zone)
                                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
                        };
                        FolderObject::with_times(f, local(f.created_at), local(f.updated_at))
                    })
                })
            },
        ))
    }
}
