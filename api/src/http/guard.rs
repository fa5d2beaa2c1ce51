//! The checks every HTTP route outside GraphQL runs, in one call: authenticate, the tenant's
//! security settings (IP allow-list, idle logout, password age: `crate::security::screen`), the
//! permission table (USR-6), and the access-log entry (AUD-1) for a refusal. A route records
//! its own outcome with [`Guarded::record`] when it is done.

use std::net::SocketAddr;

use kaden_domain::error::ErrorCode;
use axum::http::HeaderMap;
use axum::response::Response;
use kaden_domain::access::{Capability, Outcome, check};

use super::authenticate;
use crate::app::App;
use crate::audit;
use crate::commands::{AuthUser, RequestContext};
use crate::error::ApiError;

/// A request that passed the checks.
pub(crate) struct Guarded {
    pub ctx: RequestContext,
    pub user: AuthUser,
    operation: String,
}

impl Guarded {
    /// Records how the route ended in the access log.
    pub fn record(&self, app: &App, outcome: Outcome, detail: &str) {
        app.state.access.record(audit::draft(
            &self.ctx,
            Some((self.user.user_id, self.user.username.as_str())),
            &self.operation,
            outcome,
            detail,
        ));
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
pub(crate) async fn guard(
    app: &App,
    headers: &HeaderMap,
    peer: SocketAddr,
    capability: Capability,
    check_csrf: bool,
    operation: &str,
) -> Result<Guarded, Response> {
    let state = &app.state;
    let ctx = authenticate(app, headers, peer.ip(), check_csrf);
    let screened = match crate::security::screen(state, ctx).await {
        Ok(s) => s,
        Err((ctx, error)) => {
            state.access.record(audit::draft(
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
            state.access.record(audit::draft(
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
