//! Login, logout and who am I.

use async_graphql::{Context, Object, Result, SimpleObject};
use axum::http::header::SET_COOKIE;
use kaden_domain::session::{SessionCommand, SessionEndReason};
use kaden_projections::directory::UserView;

use super::{local_time, request, state};
use crate::auth::SESSION_COOKIE;
use crate::error::ApiError;

/// A user as clients see it.
pub struct UserObject(pub UserView);

#[Object(name = "User")]
impl UserObject {
    async fn id(&self) -> u64 {
        self.0.user_id
    }

    /// ログインID
    async fn username(&self) -> &str {
        &self.0.username
    }

    /// 氏名
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }

    /// MGR, SV, OP, BIZ or BY (USR-1).
    async fn role(&self) -> &str {
        self.0.role.code()
    }

    /// The role's Japanese label.
    async fn role_label(&self) -> &str {
        self.0.role.label()
    }

    async fn created_at(&self, ctx: &Context<'_>) -> String {
        local_time(ctx, self.0.created_at)
    }

    /// When the password was last set (SEC-2 counts its age from here).
    async fn password_changed_at(&self, ctx: &Context<'_>) -> String {
        local_time(ctx, self.0.password_changed_at)
    }

    /// Deleted users stay visible on history with their last name (USR-3, USR-4).
    async fn deleted(&self) -> bool {
        self.0.is_deleted()
    }
}

#[derive(SimpleObject)]
pub struct LoginPayload {
    /// Bearer token for programs (`Authorization: Bearer <token>`). Browsers get the same
    /// session as an HttpOnly cookie.
    token: String,
    /// Send as the `X-CSRF-Token` header with cookie-authenticated requests.
    csrf_token: String,
    user: UserObject,
    position: String,
}

#[derive(Default)]
pub struct SessionQuery;

#[Object]
impl SessionQuery {
    /// The logged-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<UserObject> {
        let request = request(ctx)?;
        let user = request.user()?;
        let view = state(ctx)
            .engine
            .read(|m| m.directory.user(&request.tenant_id, user.user_id).cloned());
        Ok(UserObject(view.ok_or_else(ApiError::unauthenticated)?))
    }

    /// The configured time zone for displayed times (CNT-4). Needs no login.
    async fn time_zone(&self, ctx: &Context<'_>) -> String {
        state(ctx).settings.time_zone.name().to_string()
    }
}

#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Logs in with a username and password. Needs no session.
    async fn login(
        &self,
        ctx: &Context<'_>,
        username: String,
        password: String,
    ) -> Result<LoginPayload> {
        let request = request(ctx)?;
        let app = state(ctx);
        let client = request
            .client_addr
            .parse()
            .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
        let done =
            crate::service::session::login(&app.login(), request, client, &username, &password)
                .await?;
        let secure = if app.settings.secure_cookies {
            "; Secure"
        } else {
            ""
        };
        ctx.insert_http_header(
            SET_COOKIE,
            format!(
                "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/{secure}",
                done.token
            ),
        );
        Ok(LoginPayload {
            token: done.token,
            csrf_token: done.csrf_token,
            user: UserObject(done.user),
            position: done.position.to_string(),
        })
    }

    /// Ends the current session (the token and cookie stop working at once).
    async fn logout(&self, ctx: &Context<'_>) -> Result<bool> {
        let request = request(ctx)?;
        // A session that must change its password may still log out (SEC-2).
        let user = match (
            request.user(),
            ctx.data_opt::<crate::service::security::PasswordChangeOnly>(),
        ) {
            (Ok(user), _) => user,
            (Err(_), Some(gate)) => &gate.0,
            (Err(error), None) => return Err(error.into()),
        };
        let app = state(ctx);
        let position = app
            .commands
            .session(
                &user.session_id,
                SessionCommand::End {
                    reason: SessionEndReason::Logout,
                },
                request,
            )
            .await?;
        super::reach(ctx, position).await?;
        ctx.insert_http_header(
            SET_COOKIE,
            format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
        );
        Ok(true)
    }
}
