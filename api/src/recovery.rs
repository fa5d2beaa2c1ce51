//! Lockout recovery from the command line (SEC-2/SEC-3, issue 12 item 7): the deployment's
//! operator can let a manager back in when nobody can log in — every manager locked out by
//! failed logins or a forgotten password (`kaden admin reset-password`), or the IP allow-list
//! excluding everyone's address (`kaden admin clear-ip-allow-list`). Both are ordinary events
//! with the system as their author, so the access log and the history show them.

use kaden_domain::access::{IpAllowList, PasswordPolicy, Role};
use kaden_domain::tenant::TenantCommand;

use crate::app::App;
use crate::commands::RequestContext;
use crate::config::StoreArgs;

/// `kaden admin reset-password`.
#[derive(Debug, clap::Args)]
pub struct ResetPasswordArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The login id whose password is reset (any role).
    #[arg(long)]
    pub username: String,
    /// The tenant of the account.
    #[arg(long, default_value = crate::config::DEFAULT_TENANT)]
    pub tenant: String,
}

/// `kaden admin clear-ip-allow-list`.
#[derive(Debug, clap::Args)]
pub struct ClearIpAllowListArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The tenant whose allow-list is emptied (every address may log in again).
    #[arg(long, default_value = crate::config::DEFAULT_TENANT)]
    pub tenant: String,
}

/// Sets a new password (read by the caller from standard input); the user must choose their
/// own at the next login, and their login lockout ends.
pub async fn reset_password(args: ResetPasswordArgs, password: String) -> Result<String, String> {
    let app = App::start(args.store.existing_settings().await?)
        .await
        .map_err(|e| e.to_string())?;
    let result = async {
        let state = &app.state;
        let tenant = args.tenant.as_str();
        let user = state
            .engine
            .read(|m| m.directory.user_by_name(tenant, &args.username).cloned())
            .ok_or_else(|| {
                format!(
                    "no user {:?} in tenant {tenant:?}: check the login id (and --tenant)",
                    args.username
                )
            })?;
        PasswordPolicy::default()
            .check(&user.username, &password)
            .map_err(|e| e.to_string())?;
        let command = TenantCommand::ResetPassword {
            by: Role::Mgr,
            user_id: user.user_id,
            password_hash: crate::auth::hash_password(password)
                .await
                .map_err(|e| e.message)?,
        };
        state
            .commands
            .tenant(tenant, command, &RequestContext::system(tenant))
            .await
            .map_err(|e| format!("{} ({})", e.message, e.code))?;
        Ok(format!(
            "reset the password of {:?} in tenant {tenant:?}: log in with it, then choose a new one (changeOwnPassword)",
            user.username
        ))
    }
    .await;
    app.shutdown().await;
    result
}

/// Empties the tenant's IP allow-list (SEC-3), keeping its other security settings.
pub async fn clear_ip_allow_list(args: ClearIpAllowListArgs) -> Result<String, String> {
    let app = App::start(args.store.existing_settings().await?)
        .await
        .map_err(|e| e.to_string())?;
    let result = async {
        let state = &app.state;
        let tenant = args.tenant.as_str();
        if state.engine.read(|m| m.directory.tenant(tenant).is_none()) {
            return Err(format!("tenant {tenant:?} does not exist: check --tenant"));
        }
        let mut settings = state.engine.read(|m| m.directory.security(tenant));
        settings.ip_allow = IpAllowList::default();
        state
            .commands
            .tenant(
                tenant,
                TenantCommand::ChangeSecuritySettings { settings },
                &RequestContext::system(tenant),
            )
            .await
            .map_err(|e| format!("{} ({})", e.message, e.code))?;
        Ok(format!(
            "cleared the IP allow-list of tenant {tenant:?}: every address may log in again"
        ))
    }
    .await;
    app.shutdown().await;
    result
}
