//! HTTP edge: mounts GraphQL (POST JSON and `graphql-transport-ws`), GraphiQL, health,
//! readiness and metrics; authenticates each request from a bearer token or a session cookie
//! (with a CSRF header) and resolves the tenant from the Host header.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use async_graphql::Data;
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::{ConnectInfo, Request, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kaden_domain::error::ErrorCode;
use kaden_projections::log::LogPosition;

use crate::auth;
use crate::commands::RequestContext;
use crate::error::ApiError;
use crate::graphql::KadenSchema;
use crate::metrics::Gauges;
use crate::state::AppState;

mod access_log;
mod export;
pub(crate) mod guard;
mod import;
mod recording;
mod refusals;
mod rights;
mod screening;
pub mod serve;

/// A started Kaden: state plus schema, cheap to clone.
#[derive(Clone)]
pub struct App {
    pub state: std::sync::Arc<AppState>,
    pub schema: KadenSchema,
}

pub use crate::auth::SESSION_COOKIE;
/// Header a client sends to read at least up to a position it wrote (from any node).
pub const AFTER_HEADER: &str = "x-kaden-after";
/// CSRF header for cookie-authenticated requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

pub fn router(app: App) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/graphql", post(graphql))
        .route("/graphql/ws", get(graphql_ws))
        .route("/graphiql", get(graphiql))
        .route(
            "/api/folders/import/preview",
            post(import::preview).layer(axum::extract::DefaultBodyLimit::max(
                import::MAX_UPLOAD_BYTES + 64 * 1024,
            )),
        )
        .route("/api/folders/import/commit", post(import::commit))
        .route("/api/folders/{id}/export", get(export::folder_export))
        .route(
            "/api/dnc/import",
            post(import::dnc_import).layer(axum::extract::DefaultBodyLimit::max(
                import::MAX_UPLOAD_BYTES + 64 * 1024,
            )),
        )
        .route("/access-log.csv", get(access_log::export_csv))
        .route("/api/recordings/{file}", get(recording::recording))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn(refusals::json_refusals))
        .layer(middleware::from_fn_with_state(app.clone(), observe))
        .with_state(app)
}

async fn observe(State(app): State<App>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let mut response = next.run(request).await;
    app.state.metrics.observe_request(started.elapsed());
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// Credentials found on a request.
enum Credentials<'a> {
    None,
    Bearer(&'a str),
    Cookie(&'a str),
}

fn credentials(headers: &HeaderMap) -> Credentials<'_> {
    if let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Credentials::Bearer(token.trim());
    }
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (name, value) = c.trim().split_once('=')?;
            (name == SESSION_COOKIE && !value.is_empty()).then_some(value)
        });
    cookie.map_or(Credentials::None, Credentials::Cookie)
}

fn host(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|v| v.to_str().ok())
}

/// Constant-time comparison for secrets.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The request's tenant, user and address. `check_csrf`: cookie sessions must prove they come
/// from our own page (the WebSocket checks Origin instead).
fn authenticate(
    app: &App,
    headers: &HeaderMap,
    client: IpAddr,
    check_csrf: bool,
) -> RequestContext {
    let tenant = app
        .state
        .settings
        .tenant_for_host(host(headers))
        .to_string();
    let mut ctx = RequestContext::from_http(&tenant, client);
    ctx.user = match credentials(headers) {
        Credentials::None => Ok(None),
        Credentials::Bearer(token) => {
            crate::service::session::session_user(&app.state.engine, &tenant, token)
                .map(Some)
                .ok_or_else(ApiError::unauthenticated)
        }
        Credentials::Cookie(token) => {
            let csrf = headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if check_csrf && !same_secret(csrf, &auth::csrf_token(token)) {
                Err(ApiError::csrf())
            } else {
                crate::service::session::session_user(&app.state.engine, &tenant, token)
                    .map(Some)
                    .ok_or_else(ApiError::unauthenticated)
            }
        }
    };
    ctx
}

/// GraphQL over HTTP: POST with a JSON body only (no GET, no forms), so a cross-site page
/// cannot send one without a CORS preflight, which Kaden never grants.
async fn graphql(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(request): Json<async_graphql::Request>,
) -> Response {
    let ctx = authenticate(&app, &headers, peer.ip(), true);
    if let Some(after) = headers.get(AFTER_HEADER).and_then(|v| v.to_str().ok()) {
        let waited = match after.parse::<LogPosition>() {
            Ok(position) => app
                .state
                .engine
                .wait_for(position, crate::commands::READ_YOUR_WRITES)
                .await
                .map_err(|e| ApiError::lagging(&e)),
            Err(e) => Err(ApiError::new(ErrorCode::BadPosition, e.to_string())),
        };
        if let Err(error) = waited {
            let response = async_graphql::Response::from_errors(vec![
                async_graphql::Error::from(error).into_server_error(async_graphql::Pos::default()),
            ]);
            return Json(response).into_response();
        }
    }
    // SEC-1..3 checks, then the operation, recorded in the access log (AUD-1).
    let response = screening::execute_graphql(&app, ctx, request).await;
    let extra = response.http_headers.clone();
    // Every password-hashing slot busy: 429 with Retry-After, so clients back off (SEC-3).
    let busy = response
        .errors
        .iter()
        .any(|e| error_code_of(e) == Some(kaden_domain::error::ErrorCode::Busy.as_str()));
    let mut out = Json(response).into_response();
    out.headers_mut().extend(extra);
    if busy {
        *out.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        out.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(crate::auth::HASH_QUEUE.as_secs()),
        );
    }
    out.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    out
}

/// The `extensions.code` of a GraphQL error.
fn error_code_of(error: &async_graphql::ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(code) => Some(code.as_str()),
        _ => None,
    }
}

/// Subscriptions over WebSocket (`graphql-transport-ws`, and the older `graphql-ws`).
/// Programs send `{"token": "<bearer token>"}` as the connection_init payload; a browser's
/// session cookie is honoured only when the Origin is this server.
async fn graphql_ws(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let same_origin = match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        host(&headers),
    ) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest == host),
        (Some(_), None) => false,
    };
    let mut base = authenticate(&app, &headers, peer.ip(), false);
    if !same_origin && matches!(credentials(&headers), Credentials::Cookie(_)) {
        base.user = Err(ApiError::new(
            ErrorCode::ForbiddenOrigin,
            "このページからは接続できません (WebSocket from another origin: connect from Kaden's own page)",
        ));
    }
    let schema = app.schema.clone();
    let closing = app.state.closing();
    let watched = rights::Watched::default();
    let rights_end = rights::ended(
        std::sync::Arc::clone(&app.state),
        std::sync::Arc::clone(&watched),
    );
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| async move {
            let init_app = app.clone();
            let ws = GraphQLWebSocket::new(socket, schema, protocol).on_connection_init(
                move |payload| async move {
                    let mut ctx = base;
                    let token = payload.get("token").and_then(|v| v.as_str()).or_else(|| {
                        payload
                            .get("Authorization")
                            .and_then(|v| v.as_str())
                            .and_then(|v| v.strip_prefix("Bearer "))
                    });
                    if let Some(token) = token {
                        ctx.user = crate::service::session::session_user(
                            &init_app.state.engine,
                            &ctx.tenant_id,
                            token,
                        )
                        .map(Some)
                        .ok_or_else(ApiError::unauthenticated);
                    }
                    let ctx = screening::screen_socket(&init_app.state, ctx).await;
                    *watched
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(ctx.clone());
                    let mut data = Data::default();
                    data.insert(ctx);
                    Ok(data)
                },
            );
            tokio::select! {
                () = ws.serve() => {}
                () = closing => {}
                () = rights_end => {}
            }
        })
}

async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .title("Kaden GraphiQL")
            .finish(),
    )
}

async fn index() -> Html<&'static str> {
    Html(concat!(
        "<!doctype html><html lang=\"ja\"><meta charset=\"utf-8\"><title>架電 Kaden</title>",
        "<h1>架電 Kaden</h1><p>GraphQL: <a href=\"/graphiql\">/graphiql</a> (POST /graphql, WebSocket /graphql/ws)</p>",
        "<p>ログインは <code>mutation { login(username: \"admin\", password: \"…\") { token } }</code></p></html>"
    ))
}

/// Ready once the read models have read the whole log at least once since start.
async fn readyz(State(app): State<App>) -> impl IntoResponse {
    if app.state.engine.caught_up() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "replaying the event log")
    }
}

async fn metrics(State(app): State<App>) -> Response {
    let s = &app.state;
    let head = tokio::time::timeout(Duration::from_secs(2), s.store.head())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let gauges = Gauges {
        events_appended: s.store.appended(),
        events_applied: s.engine.applied(),
        events_skipped: s.engine.skipped(),
        projection_position: s.engine.position().pos,
        store_head_position: head.pos,
        open_sessions: s.engine.read(|m| m.sessions.open_count()),
        counters: s.calls().map_or_else(Vec::new, |c| {
            crate::calls::sip_metrics::counters(&c.control.sip_stats())
        }),
    };
    match s.metrics.render(&gauges) {
        Ok(text) => ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response(),
        Err(e) => {
            tracing::error!("rendering /metrics failed: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
