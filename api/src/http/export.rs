//! Folder export (SPEC EXP-1): `GET /api/folders/{id}/export?encoding=utf8|sjis`, streamed.
//!
//! One row per customer: customer id, the folder's columns in display order with their display
//! names, then last status, last handler, interaction count and memos (empty / 0 until the
//! interaction issue adds them). UTF-8 with BOM, or Shift_JIS: characters Shift_JIS cannot hold
//! are found by a first pass and the export is refused listing them (or, with
//! `unmappable=substitute`, written as `〓` and counted in `X-Kaden-Unmappable-Count`), never
//! replaced silently. Cells starting with `= + - @`, tab or CR are neutralised by `CsvExport`.

use kaden_domain::error::ErrorCode;

use std::io::{self, Write};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kaden_domain::access::Capability;
use kaden_domain::folder::customer_id;
use kaden_domain::list::export::folder_export_header;
use kaden_domain::list::{CsvExport, ExportEncoding, OnUnmappable};
use serde::Deserialize;
use serde_json::json;
use tokio_stream::wrappers::ReceiverStream;

use super::App;
use super::guard::{Checked, file_route};
use super::import::error_response;
use crate::error::ApiError;

/// Customers read per read-lock.
const PAGE: usize = 2_000;
/// Unmappable characters listed in a refusal.
const LISTED: usize = 100;

#[derive(Deserialize)]
pub struct ExportQuery {
    encoding: Option<String>,
    unmappable: Option<String>,
}

/// Sends what `CsvExport` writes to the response body.
struct ChannelWriter(tokio::sync::mpsc::Sender<Result<Vec<u8>, io::Error>>);

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .blocking_send(Ok(buf.to_vec()))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes every customer of folder `number` to `export`, page by page.
fn write_folder<W: Write>(
    app: &App,
    tenant: &str,
    number: u32,
    export: &mut CsvExport<W>,
) -> Result<(), kaden_domain::list::ExportError> {
    let mut after = 0;
    loop {
        let page: Vec<Vec<String>> = app.state.engine.read(|m| {
            let Some(f) = m.folders.folder(tenant, number) else {
                return Vec::new();
            };
            f.customer_numbers(after, PAGE)
                .into_iter()
                .filter_map(|n| f.customer(n))
                .map(|c| {
                    let mut row = Vec::with_capacity(f.display_order.len() + 5);
                    row.push(customer_id(number, c.number));
                    row.extend(f.display_order.iter().map(|&i| c.cells[i].clone()));
                    row.extend([
                        String::new(),
                        String::new(),
                        c.interactions.to_string(),
                        String::new(),
                    ]);
                    row
                })
                .collect()
        });
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = kaden_domain::folder::parse_customer_id(&last[0]).map_or(u32::MAX, |(_, c)| c);
        for row in &page {
            export.write_row(row)?;
        }
        if page.len() < PAGE {
            return Ok(());
        }
    }
}

// A download link cannot send a header: no CSRF check (see `FileRoute::CSRF`).
file_route!(
    FolderExport,
    Capability::CsvExport,
    false,
    "folder CSV export"
);

pub async fn folder_export(
    State(app): State<App>,
    Checked { guarded, .. }: Checked<FolderExport>,
    Path(number): Path<u32>,
    Query(query): Query<ExportQuery>,
) -> Response {
    let ctx = guarded.ctx.clone();
    let response = async {
    let encoding = match query.encoding.as_deref().unwrap_or("utf8") {
        "utf8" => ExportEncoding::Utf8Bom,
        "sjis" => ExportEncoding::ShiftJis,
        other => {
            return error_response(&ApiError::new(
                ErrorCode::BadRequest,
                format!("文字コード「{other}」は使えません (encoding must be utf8 or sjis)"),
            ));
        }
    };
    let substitute = query.unmappable.as_deref() == Some("substitute");
    let tenant = ctx.tenant_id.clone();
    let Some((name, header_row)) = app.state.engine.read(|m| {
        m.folders.folder(&tenant, number).map(|f| {
            let columns: Vec<&str> = f
                .display_order
                .iter()
                .map(|&i| f.display_names[i].as_str())
                .collect();
            (
                f.name.clone(),
                folder_export_header(&columns, &[] as &[&str]),
            )
        })
    }) else {
        return error_response(&ApiError::not_found("リストフォルダ", &number.to_string()));
    };
    // Shift_JIS: find what it cannot hold before sending anything.
    let mut unmappable_total = 0;
    if encoding == ExportEncoding::ShiftJis {
        let (a, t, h) = (app.clone(), tenant.clone(), header_row.clone());
        let scanned = tokio::task::spawn_blocking(move || {
            let mut export = CsvExport::new(
                io::sink(),
                ExportEncoding::ShiftJis,
                OnUnmappable::Substitute,
                &h,
            )?;
            write_folder(&a, &t, number, &mut export)?;
            export.finish().map(|(_, summary)| summary)
        })
        .await;
        let summary = match scanned {
            Ok(Ok(s)) => s,
            _ => return error_response(&ApiError::internal(&ctx.request_id)),
        };
        unmappable_total = summary.unmappable_total;
        if unmappable_total > 0 && !substitute {
            let listed: Vec<_> = summary
                .unmappable
                .iter()
                .take(LISTED)
                .map(|u| json!({"row": u.row, "column": u.column, "header": u.header, "character": u.character.to_string(), "message": u.to_string()}))
                .collect();
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                axum::Json(json!({
                    "code": "SJIS_UNMAPPABLE",
                    "message": format!("Shift_JISで表せない文字が{unmappable_total}個あります ({unmappable_total} characters cannot be written in Shift_JIS: export with encoding=utf8, or add unmappable=substitute to write them as 〓)"),
                    "unmappable": listed,
                    "unmappableTotal": unmappable_total,
                })),
            )
                .into_response();
        }
    }
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let a = app.clone();
    let on_unmappable = if substitute {
        OnUnmappable::Substitute
    } else {
        OnUnmappable::Refuse
    };
    tokio::task::spawn_blocking(move || {
        let failure = tx.clone();
        let result = CsvExport::new(ChannelWriter(tx), encoding, on_unmappable, &header_row)
            .and_then(|mut export| {
                write_folder(&a, &tenant, number, &mut export)?;
                export.finish().map(|_| ())
            });
        if let Err(error) = result {
            tracing::warn!(%error, folder = number, "folder export stopped");
            let _ = failure.blocking_send(Err(io::Error::other(error.to_string())));
        }
    });
    let suffix = if encoding == ExportEncoding::ShiftJis {
        "sjis"
    } else {
        "utf8"
    };
    let file = format!("folder-{number}-{suffix}.csv");
    let charset = if encoding == ExportEncoding::ShiftJis {
        "Shift_JIS"
    } else {
        "utf-8"
    };
    let mut response = Response::new(Body::from_stream(ReceiverStream::new(rx)));
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("text/csv; charset={charset}")) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let encoded: String = name.bytes().map(|b| format!("%{b:02X}")).collect();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{file}\"; filename*=UTF-8''{encoded}.csv"
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        "x-kaden-unmappable-count",
        HeaderValue::from(unmappable_total),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
    }
    .await;
    guarded.finish(&app, response, "folder CSV export")
}
