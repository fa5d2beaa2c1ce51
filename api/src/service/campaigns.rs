//! Campaign rules that need more than the campaign aggregate sees: names that would collide
//! with the columns of the campaign's list folders (CMP-5).

use kaden_domain::campaign::CampaignError;
use kaden_projections::engine::Engine;

use crate::error::ApiError;

/// CMP-5 across folders: a status or attribute may not take the name of a column of one of
/// the campaign's list folders (the reverse is checked at import). The aggregate cannot see
/// folders, so the read model answers before the command.
pub fn check_column_collisions<'a>(
    engine: &Engine,
    tenant: &str,
    campaign_id: &str,
    what: &str,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<(), ApiError> {
    let names: Vec<&str> = names.into_iter().map(str::trim).collect();
    let clash = engine.read(|m| {
        let folders = m.folders.tenant(tenant)?;
        folders.list(Some(campaign_id)).into_iter().find_map(|f| {
            let column = f.columns.iter().find(|c| names.contains(&c.as_str()))?;
            Some((column.clone(), f.name.clone()))
        })
    });
    match clash {
        Some((name, folder)) => Err(ApiError::domain(&CampaignError::NameCollision {
            name,
            first: what.to_string(),
            second: format!("リストフォルダ「{folder}」の列"),
        })),
        None => Ok(()),
    }
}
