//! The tenant's security settings applied to every request (SEC-1..3): the IP allow-list on
//! login and every API call, idle logout (last activity kept in memory per node; a session found
//! idle is ended with `SessionEnded { IdleTimeout }`), and the password age (a session whose
//! password is too old, or was reset by a manager, may only change it). The edge runs every
//! GraphQL request, WebSocket and file route through [`screen`] (`crate::http`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use kaden_domain::access::PasswordExpired;
use kaden_domain::error::ErrorCode;
use kaden_domain::session::{SessionCommand, SessionEndReason};
use kaden_projections::directory::UserView;
use kaden_projections::engine::Engine;

use crate::commands::{AuthUser, Commands, RequestContext};
use crate::error::ApiError;

/// Last activity of each session seen by this node.
pub struct Activity {
    /// When this node started: a session not seen since counts as active from then, so a
    /// restart does not log everybody out (but never extends a session by more than one idle
    /// period).
    booted: DateTime<Utc>,
    last_seen: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl Activity {
    pub fn new() -> Self {
        Self {
            booted: Utc::now(),
            last_seen: Mutex::new(HashMap::new()),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, DateTime<Utc>>> {
        self.last_seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The session's last activity as this node knows it.
    pub fn last_seen(&self, session_id: &str, started_at: DateTime<Utc>) -> DateTime<Utc> {
        self.map()
            .get(session_id)
            .copied()
            .unwrap_or_else(|| started_at.max(self.booted))
    }

    /// Notes activity on a session (also used by tests to pretend time has passed).
    pub fn set_last_seen(&self, session_id: &str, at: DateTime<Utc>) {
        let mut map = self.map();
        if map.len() > 200_000 {
            let cutoff = at - chrono::Duration::days(2);
            map.retain(|_, seen| *seen > cutoff);
        }
        map.insert(session_id.to_string(), at);
    }

    fn forget(&self, session_id: &str) {
        self.map().remove(session_id);
    }
}

impl Default for Activity {
    fn default() -> Self {
        Self::new()
    }
}

/// A session whose password must be changed: only `changeOwnPassword` and `logout` work.
#[derive(Debug, Clone)]
pub struct PasswordChangeOnly(pub AuthUser);

/// A request after the security checks.
pub struct Screened {
    pub ctx: RequestContext,
    /// Set when the password must be changed first.
    pub password_change_only: Option<PasswordChangeOnly>,
    /// Who is behind the request, for the access log, even when the session was refused.
    pub who: Option<(u64, String)>,
}

/// What the checks need: the read models, the command path (to end an idle session) and this
/// node's activity record.
#[derive(Clone, Copy)]
pub struct Screen<'a> {
    pub engine: &'a Engine,
    pub commands: &'a Commands,
    pub activity: &'a Activity,
}

fn address(ctx: &RequestContext) -> Option<IpAddr> {
    ctx.client_addr.parse().ok()
}

/// SEC-3 alone: refuses an address the tenant does not allow (for routes outside GraphQL too).
pub fn check_address(engine: &Engine, ctx: &RequestContext) -> Result<(), ApiError> {
    let Some(ip) = address(ctx) else {
        return Ok(());
    };
    let allow = engine.read(|m| {
        m.directory
            .tenant(&ctx.tenant_id)
            .map(|t| t.security.ip_allow.clone())
    });
    match allow {
        Some(list) => list.check(ip).map_err(|e| ApiError::domain(&e)),
        None => Ok(()),
    }
}

fn reset_password_error() -> ApiError {
    ApiError::new(
        ErrorCode::PasswordExpired,
        "パスワードが再設定されました。新しいパスワードに変更してください (your password was reset \
         by a manager: choose your own with the changeOwnPassword mutation to continue)",
    )
}

/// SEC-1..3 for one request: the address, the session's idle time, the password's age.
/// `Err` refuses the whole request (the address is not allowed).
pub async fn screen(
    state: Screen<'_>,
    mut ctx: RequestContext,
) -> Result<Screened, (RequestContext, ApiError)> {
    if let Err(error) = check_address(state.engine, &ctx) {
        return Err((ctx, error));
    }
    let Ok(Some(user)) = ctx.user.clone() else {
        return Ok(Screened {
            ctx,
            password_change_only: None,
            who: None,
        });
    };
    let who = Some((user.user_id, user.username.clone()));
    let now = Utc::now();
    let (settings, view, started) = state.engine.read(|m| {
        (
            m.directory.security(&ctx.tenant_id),
            m.directory
                .active_user(&ctx.tenant_id, user.user_id)
                .cloned(),
            m.sessions.get(&user.session_id).map(|s| s.started_at),
        )
    });
    // SEC-1: idle logout, decided on the server.
    let last = state
        .activity
        .last_seen(&user.session_id, started.unwrap_or(now));
    if let Err(expired) = settings.check_session(last, now) {
        end_idle_session(state, &ctx, &user).await;
        ctx.user = Err(ApiError::domain(&expired));
        return Ok(Screened {
            ctx,
            password_change_only: None,
            who,
        });
    }
    state.activity.set_last_seen(&user.session_id, now);
    // SEC-2: an old or reset password must be changed before anything else.
    let gate = match view {
        Some(UserView {
            must_change_password: true,
            ..
        }) => Some(reset_password_error()),
        Some(v) => settings
            .check_password_age(v.password_changed_at, now)
            .err()
            .map(|e: PasswordExpired| {
                let mut error = ApiError::domain(&e);
                error.message.push_str(" — changeOwnPassword");
                error
            }),
        None => None,
    };
    let password_change_only = gate.map(|error| {
        ctx.user = Err(error);
        PasswordChangeOnly(user)
    });
    Ok(Screened {
        ctx,
        password_change_only,
        who,
    })
}

/// SEC-1 for a socket that only listens: ends the session if it has been idle longer than the
/// tenant allows. `true`: it was (and has now ended).
pub async fn end_if_idle(state: Screen<'_>, ctx: &RequestContext, user: &AuthUser) -> bool {
    let now = Utc::now();
    let (settings, started) = state.engine.read(|m| {
        (
            m.directory.security(&ctx.tenant_id),
            m.sessions.get(&user.session_id).map(|s| s.started_at),
        )
    });
    let last = state
        .activity
        .last_seen(&user.session_id, started.unwrap_or(now));
    if settings.check_session(last, now).is_ok() {
        return false;
    }
    end_idle_session(state, ctx, user).await;
    true
}

async fn end_idle_session(state: Screen<'_>, ctx: &RequestContext, user: &AuthUser) {
    let mut as_user = ctx.clone();
    as_user.user = Ok(Some(user.clone()));
    let end = SessionCommand::End {
        reason: SessionEndReason::IdleTimeout,
    };
    match state
        .commands
        .session(&user.session_id, end, &as_user)
        .await
    {
        Ok(position) => {
            if let Some(position) = position {
                // The next request must not find the session open on this node.
                let _ = state
                    .engine
                    .wait_for(position, crate::commands::READ_YOUR_WRITES)
                    .await;
            }
        }
        // Already ended by a concurrent request: nothing to do.
        Err(error) if error.code == ErrorCode::Unauthenticated => {}
        Err(error) => {
            tracing::warn!(code = error.code.as_str(), message = %error.message, "could not end an idle session");
        }
    }
    state.activity.forget(&user.session_id);
}
