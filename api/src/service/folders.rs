//! List-folder use cases that span more than one command: deleting customers picked across
//! folders (LST-8; LST-6 "delete one or all duplicates") is one decision per folder, written
//! in ONE append — all of them or none.

use std::collections::BTreeMap;

use kaden_domain::folder::{FolderCommand, ListFolder, folder_aggregate_id, parse_customer_id};
use kaden_projections::log::LogPosition;

use kaden_domain::access::Role;
use kaden_domain::error::ErrorCode;
use kaden_projections::engine::Engine;

use crate::commands::{AuthUser, Commands, RequestContext};
use crate::error::ApiError;

/// USR-6 `customer_edit` with LST-1: managers and supervisors edit customers of any folder;
/// operators and back-yard users only those of folders open to them (active, in an active
/// campaign, listing them as permitted). An unknown folder is NOT_FOUND.
pub fn may_edit_customers(
    engine: &Engine,
    ctx: &RequestContext,
    user: &AuthUser,
    folder: u32,
) -> Result<(), ApiError> {
    let tenant = &ctx.tenant_id;
    let open = engine.read(|m| {
        let f = m.folders.folder(tenant, folder)?;
        let active = m
            .campaigns
            .get(tenant, &f.campaign_id)
            .is_some_and(|c| c.active);
        Some(f.open_to(user.user_id, active))
    });
    match open {
        None => Err(ApiError::not_found("リストフォルダ", &folder.to_string())),
        Some(_) if matches!(user.role, Role::Mgr | Role::Sv) => Ok(()),
        Some(true) => Ok(()),
        Some(false) => Err(ApiError::new(
            ErrorCode::FolderNotPermitted,
            format!(
                "リストフォルダ{folder}の顧客を編集する権限がありません (folder {folder} is not open to you: it must be active, in an active campaign, and list you as a permitted user; ask a manager)"
            ),
        )),
    }
}

/// Deletes customers by id (`FFF-CCC`); returns how many and where the append landed.
pub async fn delete_customers(
    commands: &Commands,
    ctx: &RequestContext,
    ids: &[String],
) -> Result<(usize, Option<LogPosition>), ApiError> {
    let mut by_folder: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for id in ids {
        let (f, c) = parse_customer_id(id).ok_or_else(|| ApiError::not_found("顧客", id))?;
        by_folder.entry(f).or_default().push(c);
    }
    let deleted = by_folder.values().map(Vec::len).sum();
    let writer = commands.writer(ctx)?;
    loop {
        let mut attempt = writer.attempt();
        for (folder, customers) in &by_folder {
            let id = folder_aggregate_id(&ctx.tenant_id, *folder);
            let mut loaded = writer.load::<ListFolder>(&id).await?;
            let command = FolderCommand::DeleteCustomers {
                tenant_id: ctx.tenant_id.clone(),
                customers: customers.clone(),
            };
            writer.decide(&mut attempt, &mut loaded, command).await?;
        }
        if let Some(position) = writer.append(attempt).await? {
            return Ok((deleted, position));
        }
    }
}
