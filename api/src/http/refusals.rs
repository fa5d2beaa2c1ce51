//! One JSON refusal shape for every HTTP answer (ERR-1): axum's own rejections (a wrong content
//! type, a body that is not the JSON expected, an unknown route or method, a body over its
//! limit) come out as plain text; this layer rewrites any such error answer into the documented
//! `{"code", "message"}` with a stable code, keeping axum's text as the detail. Answers that are
//! already JSON pass untouched, and so do the plain-text probes (`/healthz`, `/readyz`).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use kaden_domain::error::ErrorCode;

use crate::error::ApiError;

/// Longest rejection text kept as the detail of the message.
const DETAIL_BYTES: usize = 2 * 1024;

pub(crate) async fn json_refusals(request: Request, next: Next) -> Response {
    let probe = matches!(request.uri().path(), "/healthz" | "/readyz" | "/metrics");
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    if probe || !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let detail = axum::body::to_bytes(body, DETAIL_BYTES)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::new(
            ErrorCode::RouteNotFound,
            format!(
                "ページがありません (no route {method} {path}: see docs/api.md for the routes)"
            ),
        ),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            ErrorCode::MethodNotAllowed,
            format!(
                "{method} は使えません ({method} is not allowed on {path}; GraphQL is POST /graphql with a JSON body)"
            ),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!(
                "Content-Type が違います ({detail}: send Content-Type: application/json, or multipart/form-data for uploads)"
            ),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            ErrorCode::UploadTooLarge,
            format!("送信データが大きすぎます ({detail}: split the file or send less)"),
        ),
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::new(
            ErrorCode::BadJson,
            format!(
                "リクエストの形式が違います ({detail}: check the JSON fields against docs/api.md)"
            ),
        ),
        s if s.is_client_error() => ApiError::new(
            ErrorCode::BadRequestBody,
            format!(
                "リクエストを読めません ({detail}: check the body and headers against docs/api.md)"
            ),
        ),
        _ => ApiError::new(
            ErrorCode::Internal,
            format!(
                "サーバー内部エラー (internal error {}; nothing was saved: retry, or tell the administrator)",
                status.as_u16()
            ),
        ),
    };
    let mut out = error.into_response();
    // The status axum chose stays (e.g. 400 for a malformed WebSocket upgrade); so do headers
    // such as `Allow` on a 405.
    *out.status_mut() = status;
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out.map(Body::new)
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}
