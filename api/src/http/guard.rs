//! The checks every HTTP route outside GraphQL runs, in one place: authenticate, the tenant's
//! security settings (IP allow-list, idle logout, password age: `crate::service::security::screen`), the
//! permission table (USR-6), and the access-log entry (AUD-1) for a refusal. A route states its
//! rule once with [`file_route!`] and takes a [`Checked`] argument: the checks run as an axum
//! extractor before the handler, and before any body is read. A route records its own outcome
//! with [`Guarded::record`] (or [`Guarded::finish`]) when it is done.

use std::marker::PhantomData;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use axum::http::HeaderMap;
use axum::response::Response;
use kaden_domain::access::{Capability, Outcome, check};
use kaden_domain::error::ErrorCode;

use super::App;
use super::authenticate;
use crate::access_log;
use crate::commands::{AuthUser, RequestContext};
use crate::error::ApiError;

/// The rule of one route outside GraphQL: the capability it needs, whether a cookie session
/// must send the CSRF header, and the operation's name in the access log.
pub(crate) trait FileRoute {
    const CAPABILITY: Capability;
    /// Downloads opened by a link or `<audio>` cannot send a header: they do without (the
    /// session cookie is SameSite=Strict and a foreign page cannot read the answer).
    const CSRF: bool;
    const OPERATION: &'static str;
}

/// Declares a [`FileRoute`]: `file_route!(Marker, Capability::X, csrf, "operation")`.
macro_rules! file_route {
    ($name:ident, $capability:expr, $csrf:expr, $operation:literal) => {
        pub(crate) struct $name;
        impl $crate::http::guard::FileRoute for $name {
            const CAPABILITY: kaden_domain::access::Capability = $capability;
            const CSRF: bool = $csrf;
            const OPERATION: &'static str = $operation;
        }
    };
}
pub(crate) use file_route;

/// A request that passed the checks of route `R` (an axum extractor; a refusal is recorded and
/// answered before the handler runs).
pub(crate) struct Checked<R> {
    pub guarded: Guarded,
    route: PhantomData<R>,
}

impl<R: FileRoute> FromRequestParts<App> for Checked<R> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        // Served with `into_make_service_with_connect_info`: the peer is always known.
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>().copied()
        else {
            return Err(refusal(&ApiError::internal("no peer address")));
        };
        let guarded = guard(
            app,
            &parts.headers,
            peer,
            R::CAPABILITY,
            R::CSRF,
            R::OPERATION,
        )
        .await?;
        Ok(Self {
            guarded,
            route: PhantomData,
        })
    }
}

/// A request that passed the checks.
pub(crate) struct Guarded {
    pub ctx: RequestContext,
    pub user: AuthUser,
    operation: String,
}

impl Guarded {
    /// Records how the route ended in the access log.
    pub fn record(&self, app: &App, outcome: Outcome, detail: &str) {
        app.state.access.record(access_log::draft(
            &self.ctx,
            Some((self.user.user_id, self.user.username.as_str())),
            &self.operation,
            outcome,
            detail,
        ));
    }

    /// Records how the route ended from its response (success or failure) and passes it on.
    pub fn finish(&self, app: &App, response: Response, detail: &str) -> Response {
        let outcome = if response.status().is_success() {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        self.record(app, outcome, detail);
        response
    }

    /// Records a failure and turns it into the JSON refusal.
    pub fn fail(&self, app: &App, error: &ApiError) -> Response {
        self.record(app, outcome_of(error), error.code.as_str());
        refusal(error)
    }
}

fn outcome_of(error: &ApiError) -> Outcome {
    match error.code {
        ErrorCode::Forbidden
        | ErrorCode::Unauthenticated
        | ErrorCode::PasswordExpired
        | ErrorCode::SessionExpired
        | ErrorCode::AddressNotAllowed
        | ErrorCode::CsrfTokenMissing => Outcome::Refused,
        _ => Outcome::Failure,
    }
}

/// `{"code", "message"}` with the code's status ([`ApiError::into_response`]).
pub(crate) fn refusal(error: &ApiError) -> Response {
    error.clone().into_response()
}

/// Runs the checks for `operation` (as it will appear in the access log, e.g.
/// `download access-log.csv`). A refusal is recorded and answered here.
async fn guard(
    app: &App,
    headers: &HeaderMap,
    peer: SocketAddr,
    capability: Capability,
    check_csrf: bool,
    operation: &str,
) -> Result<Guarded, Response> {
    let state = &app.state;
    let ctx = authenticate(app, headers, peer.ip(), check_csrf);
    let screened = match crate::service::security::screen(state.screen(), ctx).await {
        Ok(s) => s,
        Err((ctx, error)) => {
            state.access.record(access_log::draft(
                &ctx,
                None,
                operation,
                Outcome::Refused,
                error.code.as_str(),
            ));
            return Err(refusal(&error));
        }
    };
    let ctx = screened.ctx;
    let allowed = ctx.user().cloned().and_then(|user| {
        check(user.role, capability)
            .map(|_| user)
            .map_err(ApiError::from)
    });
    match allowed {
        Ok(user) => Ok(Guarded {
            ctx,
            user,
            operation: operation.to_string(),
        }),
        Err(error) => {
            let who = screened.who.as_ref().map(|(id, name)| (*id, name.as_str()));
            state.access.record(access_log::draft(
                &ctx,
                who,
                operation,
                Outcome::Refused,
                error.code.as_str(),
            ));
            Err(refusal(&error))
        }
    }
}
