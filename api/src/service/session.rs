//! Logging in and the sessions behind tokens (SEC-2, USR-3): the per-user throttle is checked
//! before the password, a refused login is an event the next attempt counts, a successful one
//! opens a session whose token works on the very next request; every attempt has its
//! access-log entry (AUD-1), a failed one with the username tried.

use std::net::IpAddr;

use kaden_domain::access::Outcome;
use kaden_domain::error::ErrorCode;
use kaden_domain::session::{LoginRefusal, SessionCommand};
use kaden_projections::directory::UserView;
use kaden_projections::engine::Engine;
use kaden_projections::log::LogPosition;

use crate::access_log::AccessRecorder;
use crate::auth::{DECOY_HASH, LoginLimiter, csrf_token, new_token, token_hash, verify_password};
use crate::commands::{AuthUser, Commands, RequestContext};
use crate::error::ApiError;

/// What logging in needs.
#[derive(Clone, Copy)]
pub struct Login<'a> {
    pub engine: &'a Engine,
    pub commands: &'a Commands,
    pub limiter: &'a LoginLimiter,
    pub access: &'a AccessRecorder,
    /// The configured zone, for the time a throttled user may try again.
    pub zone: chrono_tz::Tz,
}

/// A successful login.
pub struct LoggedIn {
    pub token: String,
    pub csrf_token: String,
    pub user: UserView,
    pub position: LogPosition,
}

/// Per-user login throttling: the refusal names the time, in the configured zone, from which
/// the user may try again.
pub fn throttled(zone: chrono_tz::Tz, retry: kaden_domain::access::RetryAt) -> ApiError {
    use kaden_domain::access::throttle::{FAILED_LOGIN_WINDOW_MINUTES, MAX_FAILED_LOGINS};
    let at = retry.0.with_timezone(&zone).format("%Y-%m-%d %H:%M:%S");
    ApiError::new(
        ErrorCode::LoginThrottled,
        format!(
            "ログインの失敗が続いたため、{at}({zone})までこのユーザーではログインできません。その時刻以降に\
             再度お試しいただくか、マネージャーにパスワードの再設定を依頼してください (too many failed \
             logins for this user ({MAX_FAILED_LOGINS} within {FAILED_LOGIN_WINDOW_MINUTES} minutes): \
             try again at {at} {zone}, or ask a manager to reset the password)"
        ),
    )
}

/// Checks the password, records the outcome as an event and in the access log, and opens a
/// session.
pub async fn login(
    app: &Login<'_>,
    ctx: &RequestContext,
    client: IpAddr,
    username: &str,
    password: &str,
) -> Result<LoggedIn, ApiError> {
    let tried: String = username.chars().take(64).collect();
    let result = login_checked(app, ctx, client, &tried, password).await;
    let entry = |user: Option<u64>, outcome, detail: &str| {
        let mut draft = crate::access_log::draft(
            ctx,
            user.map(|id| (id, tried.as_str())),
            "login",
            outcome,
            detail,
        );
        if user.is_none() {
            // A failed login keeps the username tried, though no user has it.
            draft.username.clone_from(&tried);
        }
        app.access.record(draft);
    };
    match &result {
        Ok(done) => entry(Some(done.user.user_id), Outcome::Success, ""),
        Err((user, error)) => {
            let outcome = if error.code == ErrorCode::BadCredentials {
                Outcome::Failure
            } else {
                Outcome::Refused
            };
            entry(*user, outcome, error.code.as_str());
        }
    }
    result.map_err(|(_, error)| error)
}

/// Stores a refused login and waits until the read models count it, so the very next attempt
/// on this node sees it (login throttling).
async fn record_refusal(
    app: &Login<'_>,
    session_id: &str,
    refuse: SessionCommand,
    ctx: &RequestContext,
) -> Result<(), ApiError> {
    let position = app.commands.session(session_id, refuse, ctx).await?;
    crate::commands::read_your_write(app.engine, position).await
}

async fn login_checked(
    app: &Login<'_>,
    ctx: &RequestContext,
    client: IpAddr,
    username: &str,
    password: &str,
) -> Result<LoggedIn, (Option<u64>, ApiError)> {
    app.limiter.attempt(client).map_err(|e| (None, e))?;
    let (user, throttle) = app.engine.read(|m| {
        (
            m.directory.user_by_name(&ctx.tenant_id, username).cloned(),
            m.directory.throttle(&ctx.tenant_id, username).cloned(),
        )
    });
    let user_id = user.as_ref().map(|u| u.user_id);
    let session_id = uuid::Uuid::now_v7().to_string();
    // Per-user throttling, before the password is even checked.
    if let Some(Err(retry)) = throttle.map(|t| t.check(chrono::Utc::now())) {
        let refuse = SessionCommand::Refuse {
            tenant_id: ctx.tenant_id.clone(),
            username: username.to_string(),
            reason: LoginRefusal::Throttled,
        };
        record_refusal(app, &session_id, refuse, ctx)
            .await
            .map_err(|e| (user_id, e))?;
        return Err((user_id, throttled(app.zone, retry)));
    }
    let hash = user
        .as_ref()
        .map_or_else(|| DECOY_HASH.to_string(), |u| u.password_hash.clone());
    let ok = verify_password(password.to_string(), hash)
        .await
        .map_err(|e| (user_id, e))?;
    let known = user.is_some();
    let Some(user) = user.filter(|_| ok) else {
        let reason = if known {
            LoginRefusal::WrongPassword
        } else {
            LoginRefusal::UnknownUser
        };
        let refuse = SessionCommand::Refuse {
            tenant_id: ctx.tenant_id.clone(),
            username: username.to_string(),
            reason,
        };
        record_refusal(app, &session_id, refuse, ctx)
            .await
            .map_err(|e| (user_id, e))?;
        return Err((user_id, ApiError::bad_login()));
    };
    let token = new_token();
    let start = SessionCommand::Start {
        tenant_id: ctx.tenant_id.clone(),
        user_id: user.user_id,
        token_hash: token_hash(&token),
    };
    let mut as_user = ctx.clone();
    as_user.user = Ok(Some(AuthUser {
        user_id: user.user_id,
        username: user.username.clone(),
        role: user.role,
        session_id: session_id.clone(),
    }));
    let position = app
        .commands
        .session(&session_id, start, &as_user)
        .await
        .map_err(|e| (user_id, e))?
        .unwrap_or_default();
    // The token must work on the very next request: wait until the sessions model has it.
    crate::commands::read_your_write(app.engine, Some(position))
        .await
        .map_err(|e| (user_id, e))?;
    Ok(LoggedIn {
        csrf_token: csrf_token(&token),
        token,
        user,
        position,
    })
}

/// The session a token belongs to, if it is open, with its user.
pub fn session_user(engine: &Engine, tenant_id: &str, token: &str) -> Option<AuthUser> {
    let hash = token_hash(token);
    engine.read(|m| {
        let session = m.sessions.by_token_hash(&hash)?;
        if session.tenant_id != tenant_id {
            return None;
        }
        // A deleted user's sessions stop working at once (USR-3).
        let user = m.directory.active_user(tenant_id, session.user_id)?;
        Some(AuthUser {
            user_id: user.user_id,
            username: user.username.clone(),
            role: user.role,
            session_id: session.session_id.clone(),
        })
    })
}
