//! List imports (SPEC LST-2..4, LST-6, LST-7, ERR-2): previews kept in memory for a while, and
//! the commit that writes a whole import in one statement.
//!
//! An import is one decision on the `ListFolder` aggregate ([`ListFolder::decide_import`]): the
//! folder's small events (`FolderCreated` for a new folder, `FolderCustomersAdded`) and the row
//! chunks (1,000 customers per event, on the stream `"{folder}/{import}"`) go to the store in
//! ONE `Store::append`, so an import is all or nothing even if the process dies half-way. A
//! concurrent change of the folder makes the append conflict; it is decided again.

use kaden_domain::error::ErrorCode;

use std::time::Duration;

use kaden_domain::dnc::{DialPermission, DialPurpose, dial_permission};
use kaden_domain::error::DomainError;
use kaden_domain::folder::{
    AddSource, FOLDER_ROWS_TYPE, FolderError, ImportOutcome, ImportRequest, ImportTo, ListFolder,
    customer_id, folder_aggregate_id,
};
use kaden_domain::list::{
    ImportFailure, ImportRules, ImportTarget, ParsedList, ReservedNames, parse_customer_file,
};
use kaden_projections::ReadModels;
use kaden_projections::engine::Engine;
use kaden_projections::log::LogPosition;
use serde::Serialize;

use crate::commands::{Commands, RequestContext};
use crate::error::ApiError;

/// How long a preview can be committed.
pub const PREVIEW_TTL: Duration = Duration::from_secs(30 * 60);

/// Where an upload goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    NewFolder { campaign_id: String, name: String },
    Folder { number: u32 },
}

pub use super::previews::{Preview, Previews};

/// What imports need: the read models, the write path, and the previews store.
#[derive(Clone, Copy)]
pub struct Imports<'a> {
    pub engine: &'a Engine,
    pub commands: &'a Commands,
    pub previews: &'a Previews,
}

/// One reported problem (errors and warnings alike).
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub code: &'static str,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub value: Option<String>,
    pub message: String,
}

/// The answer of a successful preview.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewReport {
    pub preview_id: String,
    pub rows: usize,
    pub columns: Vec<String>,
    pub source: String,
    pub warnings: Vec<Problem>,
    /// Rows whose number some customer of the tenant already holds (LST-6).
    pub numbers_already_in_folders: usize,
    /// Rows whose number the do-not-call list blocks for this campaign (DNC-5).
    pub numbers_on_dnc_list: usize,
    pub expires_in_seconds: u64,
}

/// A refused upload: every problem, nothing kept.
#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

/// What a commit did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Committed {
    pub folder_id: u32,
    pub imported: u32,
    pub first_customer_id: Option<String>,
    pub last_customer_id: Option<String>,
    /// The log position of the write (`X-Kaden-After`), absent for a repeat.
    pub position: Option<String>,
    /// `true` when this idempotency key was used before: nothing new was written.
    pub repeated: bool,
}

impl Committed {
    fn new(outcome: ImportOutcome, position: Option<LogPosition>, repeated: bool) -> Self {
        let range = (outcome.count > 0).then(|| {
            (
                customer_id(outcome.folder, outcome.first),
                customer_id(outcome.folder, outcome.first + outcome.count - 1),
            )
        });
        Self {
            folder_id: outcome.folder,
            imported: outcome.count,
            first_customer_id: range.as_ref().map(|r| r.0.clone()),
            last_customer_id: range.map(|r| r.1),
            position: position.map(|p| p.to_string()),
            repeated,
        }
    }
}

fn problems_of_failure(failure: &ImportFailure) -> (Vec<Problem>, Vec<Problem>) {
    let errors = failure
        .errors
        .iter()
        .map(|e| Problem {
            code: e.code().as_str(),
            line: e.line(),
            column: e.column(),
            value: e.value().map(str::to_owned),
            message: e.to_string(),
        })
        .collect();
    (errors, warnings(&failure.warnings))
}

fn warnings(list: &[kaden_domain::list::ImportWarning]) -> Vec<Problem> {
    list.iter()
        .map(|w| Problem {
            code: w.code(),
            line: w.line(),
            column: None,
            value: None,
            message: w.to_string(),
        })
        .collect()
}

/// An import refused with a domain error (no rows listed).
pub fn refusal(error: &ApiError) -> Refusal {
    Refusal {
        code: error.code,
        message: error.message.clone(),
        errors: Vec::new(),
        warnings: Vec::new(),
    }
}

/// An existing folder's columns and customer count.
type AppendTarget = (Vec<String>, usize);

/// What the rules need from the read models: the campaign, its reserved names, and the
/// target's columns and count.
fn target_of(
    models: &ReadModels,
    tenant: &str,
    destination: &Destination,
) -> Result<(String, ReservedNames, Option<AppendTarget>), ApiError> {
    let (campaign_id, target) = match destination {
        Destination::NewFolder { campaign_id, .. } => (campaign_id.clone(), None),
        Destination::Folder { number } => {
            let f = models
                .folders
                .folder(tenant, *number)
                .ok_or_else(|| ApiError::not_found("リストフォルダ", &number.to_string()))?;
            (
                f.campaign_id.clone(),
                Some((f.columns.clone(), f.registered as usize)),
            )
        }
    };
    let reserved = import_gate(models, tenant, &campaign_id)?;
    Ok((campaign_id, reserved, target))
}

/// CMP-2 and CMP-5 for adding customers to a campaign's folders: the campaign exists and has
/// a main caller number (the refusal says what to configure); its status and attribute names
/// are reserved, so no column may take them.
pub fn import_gate(
    models: &ReadModels,
    tenant: &str,
    campaign_id: &str,
) -> Result<ReservedNames, ApiError> {
    let campaign = models.campaigns.get(tenant, campaign_id).ok_or_else(|| {
        ApiError::domain(&FolderError::CampaignNotFound {
            campaign_id: campaign_id.to_owned(),
        })
    })?;
    campaign
        .settings
        .check_ready()
        .map_err(|e| ApiError::domain(&e))?;
    let settings = &campaign.settings;
    Ok(ReservedNames {
        statuses: settings.statuses().map(str::to_owned).collect(),
        attributes: settings
            .customer_attributes
            .iter()
            .chain(&settings.result_attributes)
            .map(|a| a.name.clone())
            .collect(),
    })
}

/// Parses and checks `bytes` for `destination` without writing anything (LST-2..4 dry run).
pub fn preview(
    imports: &Imports<'_>,
    ctx: &RequestContext,
    user_id: u64,
    destination: Destination,
    bytes: &[u8],
) -> Result<PreviewReport, Refusal> {
    let tenant = ctx.tenant_id.clone();
    let (campaign_id, reserved, target) = imports
        .engine
        .read(|m| target_of(m, &tenant, &destination))
        .map_err(|e| refusal(&e))?;
    let rules = ImportRules {
        reserved: &reserved,
        target: match &target {
            None => ImportTarget::NewFolder,
            Some((folder_columns, folder_count)) => ImportTarget::Append {
                folder_columns,
                folder_count: *folder_count,
            },
        },
    };
    let list = parse_customer_file(bytes, &rules).map_err(|failure| {
        let (errors, warnings) = problems_of_failure(&failure);
        Refusal {
            code: failure.code(),
            message: failure.to_string(),
            errors,
            warnings,
        }
    })?;
    let (already, dnc) = imports.engine.read(|m| {
        let folders = m.folders.tenant(&tenant);
        let registry = m.dnc.tenant(&tenant);
        let mut already = 0;
        let mut dnc = 0;
        for row in list.rows() {
            if folders.is_some_and(|f| f.holder_count(&row.phone) > 0) {
                already += 1;
            }
            if let Some(r) = registry
                && matches!(
                    dial_permission(r, DialPurpose::Campaign(&campaign_id), &row.phone),
                    DialPermission::Refused(_)
                )
            {
                dnc += 1;
            }
        }
        (already, dnc)
    });
    let report = PreviewReport {
        preview_id: String::new(),
        rows: list.len(),
        columns: list.columns().to_vec(),
        source: format!("{:?}", list.source),
        warnings: warnings(&list.warnings),
        numbers_already_in_folders: already,
        numbers_on_dnc_list: dnc,
        expires_in_seconds: PREVIEW_TTL.as_secs(),
    };
    let preview_id = imports.previews.insert(Preview::new(
        tenant,
        user_id,
        destination,
        campaign_id,
        list,
    ));
    Ok(PreviewReport {
        preview_id,
        ..report
    })
}

/// Commits preview `preview_id` once; a repeated `idempotency_key` answers the first outcome.
pub async fn commit(
    imports: &Imports<'_>,
    ctx: &RequestContext,
    user_id: u64,
    preview_id: &str,
    idempotency_key: &str,
) -> Result<Committed, ApiError> {
    let key = idempotency_key.trim();
    if key.is_empty() || key.len() > 200 {
        return Err(ApiError::new(
            ErrorCode::IdempotencyKeyInvalid,
            "冪等キーを指定してください (give an idempotencyKey of 1 to 200 characters, e.g. a UUID, and reuse it when retrying)",
        ));
    }
    let tenant = &ctx.tenant_id;
    if let Some(outcome) = imports
        .engine
        .read(|m| m.folders.tenant(tenant).and_then(|t| t.import_outcome(key)))
    {
        return Ok(Committed::new(outcome, None, true));
    }
    let preview = imports
        .previews
        .get(preview_id, tenant, user_id)
        .map_err(|gone| gone.error(preview_id))?;
    let mut first = preview.outcome.lock().await;
    if let Some(done) = first.as_ref() {
        return Ok(Committed {
            repeated: true,
            position: None,
            ..done.clone()
        });
    }
    let source = AddSource::File {
        format: preview.list.source,
        idempotency_key: Some(key.to_owned()),
    };
    let (outcome, position) = write_rows(
        imports,
        ctx,
        &preview.destination,
        &preview.campaign_id,
        &preview.list,
        source,
    )
    .await?;
    let done = Committed::new(outcome, position, false);
    *first = Some(done.clone());
    Ok(done)
}

/// Writes `list` to `destination` as one import (files and manual rows alike); waits until the
/// read models show it.
pub async fn write_rows(
    imports: &Imports<'_>,
    ctx: &RequestContext,
    destination: &Destination,
    campaign_id: &str,
    list: &ParsedList,
    source: AddSource,
) -> Result<(ImportOutcome, Option<LogPosition>), ApiError> {
    let tenant = ctx.tenant_id.clone();
    let writer = imports.commands.writer(ctx)?;
    let mut number = match destination {
        Destination::NewFolder { .. } => imports.engine.read(|m| m.folders.next_number(&tenant)),
        Destination::Folder { number } => *number,
    };
    loop {
        let aggregate_id = folder_aggregate_id(&tenant, number);
        let mut attempt = writer.attempt();
        let mut folder = writer.load::<ListFolder>(&aggregate_id).await?;
        let to = match destination {
            Destination::NewFolder { name, .. } => ImportTo::New {
                campaign_id: campaign_id.to_owned(),
                number,
                name: name.clone(),
            },
            Destination::Folder { .. } => ImportTo::Existing,
        };
        let request = ImportRequest {
            tenant_id: tenant.clone(),
            to,
            source: source.clone(),
        };
        let decision = match folder
            .aggregate
            .decide_import(&request, list, &aggregate_id)
        {
            Err(FolderError::AlreadyExists)
                if matches!(destination, Destination::NewFolder { .. }) =>
            {
                number += 1;
                continue;
            }
            Err(e) => return Err(ApiError::domain(&e)),
            Ok(d) if d.is_repeat() => return Ok((d.outcome, None)),
            Ok(d) => d,
        };
        if let Some(created) = &decision.created {
            writer.add(&mut attempt, &mut folder, created)?;
        }
        // Each chunk is dropped as soon as it is serialized, so the rows are held once more at most.
        for (i, chunk) in decision.chunks.into_iter().enumerate() {
            let event = writer.serialize(
                FOLDER_ROWS_TYPE,
                &decision.rows_stream,
                i + 1,
                kaden_domain::folder::FolderRowsEvent::EVENT_TYPE.to_owned(),
                "1".to_owned(),
                &chunk,
            )?;
            writer.push(&mut attempt, event);
        }
        if let Some(added) = &decision.added {
            writer.add(&mut attempt, &mut folder, added)?;
        }
        match writer.append(attempt).await? {
            Some(position) => {
                crate::commands::read_your_write(imports.engine, position).await?;
                return Ok((decision.outcome, position));
            }
            // Another writer came first: decide again (a new folder takes the next number).
            None => {
                if matches!(destination, Destination::NewFolder { .. }) {
                    number += 1;
                }
            }
        }
    }
}

/// Rows typed in by hand, under the same rules as a file: the campaign must be ready for
/// imports (CMP-2) and its status and attribute names are reserved (CMP-5).
pub fn manual_rows(
    engine: &Engine,
    tenant: &str,
    campaign_id: &str,
    columns: &[String],
    rows: &[Vec<String>],
    target: ImportTarget<'_>,
) -> Result<kaden_domain::list::ParsedList, ApiError> {
    let reserved = engine.read(|m| import_gate(m, tenant, campaign_id))?;
    kaden_domain::list::parse_manual_rows(
        columns,
        rows,
        &ImportRules {
            reserved: &reserved,
            target,
        },
    )
    .map_err(|failure| ApiError::domain(&failure))
}
