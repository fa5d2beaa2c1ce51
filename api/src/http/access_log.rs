//! `GET /access-log.csv`: the access log (AUD-1) as CSV for managers (`access_log_export`):
//! UTF-8 with a BOM so Excel opens it, CRLF, cells that Excel would read as formulas
//! neutralised. Filters as in the `accessLog` query (`from`, `to`, `user`, `operation`,
//! `address`, `outcome`). The download itself is recorded in the access log.

use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use kaden_domain::access::{Capability, Outcome};
use kaden_domain::list::export::{CsvExport, ExportEncoding, OnUnmappable};

use super::App;
use super::guard::{Checked, file_route};
use crate::access_log::SearchArgs;
use crate::error::ApiError;

/// The export's columns.
pub const HEADER: [&str; 10] = [
    "番号",
    "日時",
    "ユーザーID",
    "ログインID",
    "氏名",
    "操作",
    "接続元",
    "結果",
    "詳細",
    "ハッシュ",
];

file_route!(
    AccessLogCsv,
    Capability::AccessLogExport,
    false,
    "download access-log.csv"
);

pub async fn export_csv(
    State(app): State<App>,
    Checked { guarded, .. }: Checked<AccessLogCsv>,
    Query(args): Query<SearchArgs>,
) -> Response {
    match csv(&app, &guarded.ctx, &args) {
        Ok((bytes, count)) => {
            guarded.record(&app, Outcome::Success, &format!("{count} rows"));
            let mut response = bytes.into_response();
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            h.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"access-log.csv\""),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => guarded.fail(&app, &error),
    }
}

fn csv(
    app: &App,
    ctx: &crate::commands::RequestContext,
    args: &SearchArgs,
) -> Result<(Vec<u8>, usize), ApiError> {
    let state = &app.state;
    let zone = state.settings.time_zone;
    let filter = args.filter(zone)?;
    let internal = |_| ApiError::internal(&ctx.request_id);
    let mut csv = CsvExport::new(
        Vec::new(),
        ExportEncoding::Utf8Bom,
        OnUnmappable::Substitute,
        &HEADER,
    )
    .map_err(internal)?;
    let rows = state.engine.read(|m| {
        m.access_log
            .all(&ctx.tenant_id, &filter)
            .map(|v| {
                let e = &v.entry;
                let name = e
                    .user_id
                    .and_then(|id| m.directory.user(&ctx.tenant_id, id))
                    .map(|u| u.display_name.clone())
                    .unwrap_or_default();
                [
                    e.seq.to_string(),
                    e.at.with_timezone(&zone)
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
                    e.user_id.map(|id| id.to_string()).unwrap_or_default(),
                    e.username.clone(),
                    name,
                    e.operation.clone(),
                    e.address.clone(),
                    e.outcome.name().to_string(),
                    e.detail.clone(),
                    v.hash.clone(),
                ]
            })
            .collect::<Vec<_>>()
    });
    let count = rows.len();
    for row in rows {
        csv.write_row(row).map_err(internal)?;
    }
    let (bytes, _) = csv.finish().map_err(internal)?;
    Ok((bytes, count))
}
