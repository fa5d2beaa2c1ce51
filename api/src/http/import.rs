//! Uploads: list import preview and commit (LST-2..4, LST-6), do-not-call CSV (DNC-3).
//!
//! Files come as `multipart/form-data`, read chunk by chunk up to [`MAX_UPLOAD_BYTES`] (the
//! request is refused as soon as it passes the limit, never buffered whole first). Answers and
//! errors are JSON; errors carry `code` and a message in Japanese then English.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kaden_domain::access::Capability;
use kaden_domain::dnc::{DncCommand, DncScope, DncSource};
use kaden_domain::error::DomainError;
use kaden_domain::error::ErrorCode;
use kaden_domain::list::parse_dnc_file;
use serde::Deserialize;
use serde_json::json;

use super::App;
use super::guard::{Checked, file_route};
use crate::error::ApiError;
use crate::service::imports::{self, Destination, Refusal};

/// Largest upload accepted (a 50,000-row file with long rows fits several times over).
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

pub(crate) fn error_response(error: &ApiError) -> Response {
    refusal_response(imports::refusal(error))
}

fn refusal_response(refusal: Refusal) -> Response {
    (
        StatusCode::from_u16(refusal.code.http_status())
            .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
        Json(refusal),
    )
        .into_response()
}

file_route!(
    ImportPreview,
    Capability::ListEdit,
    true,
    "list import preview"
);
file_route!(
    ImportCommit,
    Capability::ListEdit,
    true,
    "list import commit"
);
file_route!(
    DncImport,
    Capability::DncRegister,
    true,
    "do-not-call CSV import"
);

fn bad_request(code: ErrorCode, message: &str) -> ApiError {
    ApiError::new(code, message)
}

/// The form fields and the file of a multipart upload.
struct Upload {
    fields: Vec<(String, String)>,
    file: Option<Vec<u8>>,
}

impl Upload {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
}

async fn read_upload(mut multipart: Multipart) -> Result<Upload, ApiError> {
    let malformed = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            bad_request(
                ErrorCode::BadRequest,
                &format!(
                    "アップロードを読めません (the multipart upload is malformed: {e}; send multipart/form-data with a `file` part)"
                ),
            )
        }
    };
    let mut upload = Upload {
        fields: Vec::new(),
        file: None,
    };
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(malformed)? {
                if bytes.len() + chunk.len() > MAX_UPLOAD_BYTES {
                    return Err(too_large());
                }
                bytes.extend_from_slice(&chunk);
            }
            upload.file = Some(bytes);
        } else {
            let value = field.text().await.map_err(malformed)?;
            if value.len() > 1_000 {
                return Err(bad_request(
                    ErrorCode::BadRequest,
                    "フォームの値が長すぎます (a form field is longer than 1,000 bytes)",
                ));
            }
            upload.fields.push((name, value));
        }
    }
    Ok(upload)
}

fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::UploadTooLarge,
        format!(
            "ファイルが大きすぎます (the upload is larger than {} MiB: split the file; at most 50,000 rows per file)",
            MAX_UPLOAD_BYTES / 1024 / 1024
        ),
    )
}

fn file_of(upload: &mut Upload) -> Result<Vec<u8>, ApiError> {
    upload.file.take().ok_or_else(|| {
        bad_request(
            ErrorCode::FileMissing,
            "ファイルがありません (no `file` part in the upload: attach the CSV or .xlsx as form field `file`)",
        )
    })
}

/// `POST /api/folders/import/preview`: checks an upload without writing anything.
pub async fn preview(
    State(app): State<App>,
    Checked { guarded, .. }: Checked<ImportPreview>,
    multipart: Multipart,
) -> Response {
    let ctx = guarded.ctx.clone();
    let user = guarded.user.clone();
    let response = async {
    let mut upload = match read_upload(multipart).await {
        Ok(u) => u,
        Err(e) => return error_response(&e),
    };
    let destination = match (
        upload.field("folderId"),
        upload.field("campaignId"),
        upload.field("folderName"),
    ) {
        (Some(id), _, _) => match id.parse() {
            Ok(number) => Destination::Folder { number },
            Err(_) => {
                return error_response(&ApiError::not_found("リストフォルダ", id));
            }
        },
        (None, Some(campaign_id), Some(name)) => Destination::NewFolder {
            campaign_id: campaign_id.to_owned(),
            name: name.to_owned(),
        },
        _ => {
            return error_response(&bad_request(
                ErrorCode::DestinationMissing,
                "取り込み先がありません (give either `folderId` to append, or `campaignId` and `folderName` for a new folder)",
            ));
        }
    };
    let bytes = match file_of(&mut upload) {
        Ok(b) => b,
        Err(e) => return error_response(&e),
    };
    let state = Arc::clone(&app.state);
    let checked = tokio::task::spawn_blocking(move || {
        imports::preview(&state.imports(), &ctx, user.user_id, destination, &bytes)
    })
    .await;
    match checked {
        Ok(Ok(report)) => Json(report).into_response(),
        Ok(Err(refusal)) => refusal_response(refusal),
        Err(_) => error_response(&ApiError::internal("preview")),
    }
    }
    .await;
    guarded.finish(&app, response, "list import preview")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitBody {
    preview_id: String,
    idempotency_key: String,
}

/// `POST /api/folders/import/commit`: writes a previewed upload, all or nothing.
pub async fn commit(
    State(app): State<App>,
    Checked { guarded, .. }: Checked<ImportCommit>,
    Json(body): Json<CommitBody>,
) -> Response {
    let ctx = guarded.ctx.clone();
    let user = guarded.user.clone();
    let response = async {
        match imports::commit(
            &app.state.imports(),
            &ctx,
            user.user_id,
            &body.preview_id,
            &body.idempotency_key,
        )
        .await
        {
            Ok(done) => Json(done).into_response(),
            Err(e) => error_response(&e),
        }
    }
    .await;
    guarded.finish(&app, response, "list import commit")
}

/// `POST /api/dnc/import`: registers every number of a do-not-call CSV (DNC-3), all or
/// nothing. Fields: `file`, and `campaignIds` (comma-separated) or `allCampaigns=true`.
pub async fn dnc_import(
    State(app): State<App>,
    Checked { guarded, .. }: Checked<DncImport>,
    multipart: Multipart,
) -> Response {
    let ctx = guarded.ctx.clone();
    let response = async {
    let mut upload = match read_upload(multipart).await {
        Ok(u) => u,
        Err(e) => return error_response(&e),
    };
    let scope = if upload.field("allCampaigns") == Some("true") {
        DncScope::All
    } else {
        DncScope::Campaigns(
            upload
                .field("campaignIds")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    };
    if let DncScope::Campaigns(ids) = &scope {
        let tenant = ctx.tenant_id.clone();
        if let Some(missing) = app.state.engine.read(|m| {
            ids.iter()
                .find(|id| m.campaigns.get(&tenant, id).is_none())
                .cloned()
        }) {
            return error_response(&ApiError::not_found("案件", &missing));
        }
    }
    let bytes = match file_of(&mut upload) {
        Ok(b) => b,
        Err(e) => return error_response(&e),
    };
    let parsed = match tokio::task::spawn_blocking(move || parse_dnc_file(&bytes)).await {
        Ok(p) => p,
        Err(_) => return error_response(&ApiError::internal(&ctx.request_id)),
    };
    let list = match parsed {
        Ok(list) => list,
        Err(failure) => {
            let errors = failure
                .errors
                .iter()
                .map(|e| json!({"code": e.code(), "line": e.line(), "column": e.column(), "value": e.value(), "message": e.to_string()}))
                .collect::<Vec<_>>();
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({"code": failure.code(), "message": failure.to_string(), "errors": errors})),
            )
                .into_response();
        }
    };
    let numbers = list.numbers.len();
    let command = DncCommand::Register {
        tenant_id: ctx.tenant_id.clone(),
        numbers: list.numbers,
        scope,
        source: DncSource {
            csv: true,
            ..DncSource::default()
        },
    };
    let tenant = ctx.tenant_id.clone();
    match app.state.commands.dnc(&tenant, command, &ctx).await {
        Ok(position) => {
            if let Err(e) = crate::commands::read_your_write(&app.state.engine, position).await {
                return error_response(&e);
            }
            Json(json!({
                "numbers": numbers,
                "warnings": list.warnings.iter().map(|w| json!({"code": w.code(), "line": w.line(), "message": w.to_string()})).collect::<Vec<_>>(),
                "position": position.map(|p| p.to_string()),
            }))
            .into_response()
        }
        Err(e) => error_response(&e),
    }
    }
    .await;
    guarded.finish(&app, response, "do-not-call CSV import")
}
