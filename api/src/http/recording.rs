//! `GET /api/recordings/{id}.wav`: an interaction's recording (REC-1), to play in the browser
//! (single byte ranges, so the audio element can seek) or download. Who may fetch it is the
//! interaction-history scope of USR-6 (all / own / permitted folders).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kaden_domain::access::{Capability, Outcome, check};
use kaden_domain::error::ErrorCode;

use super::App;
use super::guard::{Checked, file_route, refusal};
use crate::error::ApiError;
use crate::service::calls::may_see as may_see_interaction;

// A link or <audio> cannot send a header: no CSRF check (see `FileRoute::CSRF`).
file_route!(
    RecordingDownload,
    Capability::HistorySearch,
    false,
    "recording download"
);

pub async fn recording(
    State(app): State<App>,
    Checked { guarded, .. }: Checked<RecordingDownload>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Response {
    let id = file.strip_suffix(".wav").unwrap_or(&file).to_string();
    let tenant = guarded.ctx.tenant_id.clone();
    let access = match check(guarded.user.role, Capability::HistorySearch) {
        Ok(a) => a,
        Err(e) => return guarded.fail(&app, &ApiError::from(e)),
    };
    let found = app.state.engine.read(|m| {
        let v = m.interactions.get(&tenant, &id)?;
        if !may_see_interaction(m, &tenant, &guarded.user, access, v) {
            return None;
        }
        v.recording.as_ref().map(|r| r.file.clone())
    });
    let (Some(file), Some(calls)) = (found, app.state.calls()) else {
        return guarded.fail(&app, &ApiError::not_found("録音", &id));
    };
    let path = calls.recordings_dir.join(&file);
    let bytes = match tokio::fs::read(&path).await {
        Ok(b) => b,
        Err(error) => {
            tracing::warn!(%error, path = %path.display(), "recording listed but not readable");
            return guarded.fail(&app, &ApiError::not_found("録音", &id));
        }
    };
    guarded.record(&app, Outcome::Success, &id);
    let total = bytes.len();
    let mut response_headers = HeaderMap::new();
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    response_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{id}.wav\"")) {
        response_headers.insert(header::CONTENT_DISPOSITION, v);
    }
    match headers
        .get(header::RANGE)
        .and_then(|r| r.to_str().ok())
        .map(|r| byte_range(r, total))
    {
        None => (StatusCode::OK, response_headers, bytes).into_response(),
        Some(Some((start, end))) => {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{total}")) {
                response_headers.insert(header::CONTENT_RANGE, v);
            }
            (
                StatusCode::PARTIAL_CONTENT,
                response_headers,
                bytes[start..=end].to_vec(),
            )
                .into_response()
        }
        Some(None) => {
            let mut r = refusal(&ApiError::new(
                ErrorCode::BadRange,
                format!(
                    "Rangeヘッダーが正しくありません (the Range header must be one range inside 0-{} bytes)",
                    total.saturating_sub(1)
                ),
            ));
            *r.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            r
        }
    }
}

/// One `bytes=a-b` / `bytes=a-` / `bytes=-n` range inside `total` bytes, inclusive.
fn byte_range(header: &str, total: usize) -> Option<(usize, usize)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || total == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: usize = n.parse().ok()?;
            (total.checked_sub(n.min(total))?, total - 1)
        }
        (a, "") => (a.parse().ok()?, total - 1),
        (a, b) => (a.parse().ok()?, b.parse::<usize>().ok()?.min(total - 1)),
    };
    (start <= end && start < total).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn byte_ranges_for_playback() {
        assert_eq!(byte_range("bytes=0-99", 1000), Some((0, 99)));
        assert_eq!(byte_range("bytes=900-", 1000), Some((900, 999)));
        assert_eq!(byte_range("bytes=-100", 1000), Some((900, 999)));
        assert_eq!(byte_range("bytes=0-5000", 1000), Some((0, 999)));
        assert_eq!(byte_range("bytes=1000-", 1000), None);
        assert_eq!(byte_range("bytes=5-1", 1000), None);
        assert_eq!(byte_range("bytes=0-1,5-6", 1000), None);
        assert_eq!(byte_range("items=0-1", 1000), None);
    }
}
