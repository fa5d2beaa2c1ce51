//! The one error type at the edge: a stable `code` and a message that says how to fix it.
//! Domain errors, permission refusals and store failures are mapped here once.

use kaden_domain::access::Forbidden;
use kaden_domain::error::DomainError;
use kaden_domain::error::ErrorCode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

// No `Display` on purpose: async-graphql converts any `Display` type into an error without its
// code, and this type must always keep its code on the way out (the `From` below).

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn domain<E: DomainError>(error: &E) -> Self {
        Self::new(error.code(), error.to_string())
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            ErrorCode::Unauthenticated,
            "ログインしてください (not logged in or the session has ended: log in again with the login mutation)",
        )
    }

    pub fn bad_login() -> Self {
        Self::new(
            ErrorCode::BadCredentials,
            "ログインIDまたはパスワードが違います (wrong username or password: check both and try again)",
        )
    }

    pub fn csrf() -> Self {
        Self::new(
            ErrorCode::CsrfTokenMissing,
            "CSRFトークンがありません (a request authenticated by cookie must send the X-CSRF-Token header with the csrfToken from login)",
        )
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            ErrorCode::NotFound,
            format!("{what}が見つかりません ({what} {id:?} not found: check the id)"),
        )
    }

    /// Every password-hashing slot stayed busy (a burst of logins): retry in a moment.
    pub fn busy(retry_after_secs: u64) -> Self {
        Self::new(
            ErrorCode::Busy,
            format!(
                "混み合っています。{retry_after_secs}秒後にもう一度お試しください (the server is busy checking passwords: retry after {retry_after_secs} s)"
            ),
        )
    }

    pub fn conflict() -> Self {
        Self::new(
            ErrorCode::ConflictRetry,
            "同時に更新されました。もう一度お試しください (the data changed while saving; retry the request)",
        )
    }

    pub fn internal(request_id: &str) -> Self {
        Self::new(
            ErrorCode::Internal,
            format!(
                "サーバー内部エラー (internal error; nothing was saved. If it persists, give the administrator request id {request_id})"
            ),
        )
    }

    pub fn lagging(error: &kaden_projections::engine::NotYetReached) -> Self {
        Self::new(ErrorCode::NotYetVisible, error.to_string())
    }
}

impl ApiError {
    /// The HTTP status for this refusal (one table: [`ErrorCode::http_status`]).
    pub fn status(&self) -> axum::http::StatusCode {
        axum::http::StatusCode::from_u16(self.code.http_status())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The documented JSON refusal of every HTTP route: `{"code", "message"}` with its status.
    pub fn into_response(self) -> axum::response::Response {
        use axum::response::IntoResponse as _;
        let body = serde_json::json!({"code": self.code, "message": self.message});
        (self.status(), axum::Json(body)).into_response()
    }
}

impl From<Forbidden> for ApiError {
    fn from(error: Forbidden) -> Self {
        Self::new(ErrorCode::Forbidden, error.to_string())
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        use async_graphql::ErrorExtensions as _;
        async_graphql::Error::new(error.message)
            .extend_with(|_, ext| ext.set("code", error.code.as_str()))
    }
}
