//! List-folder use cases that span more than one command: deleting customers picked across
//! folders (LST-8; LST-6 "delete one or all duplicates") is one decision per folder, written
//! in ONE append — all of them or none.

use std::collections::BTreeMap;

use kaden_domain::folder::{FolderCommand, ListFolder, folder_aggregate_id, parse_customer_id};
use kaden_projections::log::LogPosition;

use crate::commands::{Commands, RequestContext};
use crate::error::ApiError;

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
