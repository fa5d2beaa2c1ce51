//! Every GraphQL request and WebSocket passes the tenant's security checks
//! (`service::security::screen`, SEC-1..3) and is recorded in the access log (AUD-1): one
//! entry per request, naming its root fields and outcome.

use kaden_domain::access::Outcome;

use super::App;
use crate::access_log;
use crate::commands::RequestContext;
use crate::service::security::screen;
use crate::state::AppState;

/// A WebSocket's connection context after the checks (a refusal becomes the user error, so
/// every subscription answers with it).
pub async fn screen_socket(state: &AppState, ctx: RequestContext) -> RequestContext {
    match screen(state.screen(), ctx).await {
        Ok(screened) => {
            // A session that must change its password keeps the refusal here: subscriptions
            // are not the place to change it.
            let ctx = screened.ctx;
            audit_socket(state, &ctx, screened.who);
            ctx
        }
        Err((mut ctx, error)) => {
            ctx.user = Err(error);
            audit_socket(state, &ctx, None);
            ctx
        }
    }
}

fn audit_socket(state: &AppState, ctx: &RequestContext, who: Option<(u64, String)>) {
    let (outcome, detail) = match &ctx.user {
        Ok(_) => (Outcome::Success, String::new()),
        Err(e) => (Outcome::Refused, e.code.to_string()),
    };
    let who = who.or_else(|| match &ctx.user {
        Ok(Some(u)) => Some((u.user_id, u.username.clone())),
        _ => None,
    });
    state.access.record(access_log::draft(
        ctx,
        who.as_ref().map(|(id, name)| (*id, name.as_str())),
        "websocket",
        outcome,
        &detail,
    ));
}

/// Runs a GraphQL request behind the security checks and records it in the access log.
pub async fn execute_graphql(
    app: &App,
    ctx: RequestContext,
    request: async_graphql::Request,
) -> async_graphql::Response {
    let (fields, name) = access_log::operation_of(&request);
    let operation = if fields.is_empty() {
        "graphql".to_string()
    } else {
        fields.join(",")
    };
    let detail_name = name.map(|n| format!("operationName={n}"));
    let state = &app.state;
    let screened = match screen(state.screen(), ctx).await {
        Ok(s) => s,
        Err((ctx, error)) => {
            let detail = error.code.to_string();
            state.access.record(access_log::draft(
                &ctx,
                None,
                &operation,
                Outcome::Refused,
                &detail,
            ));
            return async_graphql::Response::from_errors(vec![
                async_graphql::Error::from(error).into_server_error(async_graphql::Pos::default()),
            ]);
        }
    };
    let ctx = screened.ctx.clone();
    let mut request = request.data(screened.ctx);
    if let Some(gate) = screened.password_change_only {
        request = request.data(gate);
    }
    let response = app.schema.execute(request).await;
    // `login` records its own outcome (with the username tried), see `service::session::login`.
    if fields != ["login"] {
        let (outcome, mut detail) = access_log::outcome_of(&response);
        if let Some(name) = detail_name {
            if !detail.is_empty() {
                detail.push(' ');
            }
            detail.push_str(&name);
        }
        let who = screened.who.or_else(|| match &ctx.user {
            Ok(Some(u)) => Some((u.user_id, u.username.clone())),
            _ => None,
        });
        state.access.record(access_log::draft(
            &ctx,
            who.as_ref().map(|(id, name)| (*id, name.as_str())),
            &operation,
            outcome,
            &detail,
        ));
    }
    response
}
