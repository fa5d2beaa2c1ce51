//! `kaden admin contract`: the tenant's contract settings, set by the deployment's operator
//! (the vendor), not through the web: the licensed user quota (USR-3) and the contracted caller
//! numbers campaigns take their caller numbers from (CMP-1).

use kaden_domain::tenant::TenantCommand;

use crate::app::App;
use crate::commands::RequestContext;

/// What to change; options left out stay as they are.
#[derive(Debug, clap::Args)]
pub struct ContractArgs {
    #[command(flatten)]
    pub store: crate::config::StoreArgs,
    /// The tenant whose contract this is.
    #[arg(long, default_value = crate::config::DEFAULT_TENANT)]
    pub tenant: String,
    /// Licensed users (seats); deleting a user frees one.
    #[arg(long, conflicts_with = "unlimited_users")]
    pub user_quota: Option<u32>,
    /// Remove the user quota.
    #[arg(long)]
    pub unlimited_users: bool,
    /// The contracted caller numbers, comma-separated (replaces the list):
    /// `--numbers 03-1234-5678,0120-111-222`.
    #[arg(long, value_delimiter = ',')]
    pub numbers: Option<Vec<String>>,
    /// Licensed concurrent lines (MON-3): calls beyond it are refused, first come first served.
    #[arg(long, value_name = "N")]
    pub lines: Option<u32>,
    /// Return to the deployment's default number of lines (`kaden serve --licensed-lines`).
    #[arg(long, conflicts_with = "lines")]
    pub default_lines: bool,
}

/// Applies the contract settings and prints what the tenant has now.
pub async fn run(args: ContractArgs) -> Result<(), String> {
    let settings = args.store.existing_settings().await?;
    let app = App::start(settings).await.map_err(|e| e.to_string())?;
    let result = apply(&app, &args).await;
    app.shutdown().await;
    result
}

async fn apply(app: &App, args: &ContractArgs) -> Result<(), String> {
    let state = &app.state;
    let tenant = args.tenant.as_str();
    if state.engine.read(|m| m.directory.tenant(tenant).is_none()) {
        return Err(format!(
            "tenant {tenant:?} does not exist: create it with `kaden admin create --tenant {tenant}`"
        ));
    }
    let ctx = RequestContext::system(tenant);
    let mut commands = Vec::new();
    if args.unlimited_users {
        commands.push(TenantCommand::SetUserQuota { quota: None });
    } else if let Some(quota) = args.user_quota {
        commands.push(TenantCommand::SetUserQuota { quota: Some(quota) });
    }
    if let Some(numbers) = &args.numbers {
        commands.push(TenantCommand::SetContractedNumbers {
            numbers: numbers
                .iter()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .collect(),
        });
    }
    if args.default_lines {
        commands.push(TenantCommand::SetLicensedLines { lines: None });
    } else if let Some(lines) = args.lines {
        commands.push(TenantCommand::SetLicensedLines { lines: Some(lines) });
    }
    for command in commands {
        let position = state
            .commands
            .tenant(tenant, command, &ctx)
            .await
            .map_err(|e| format!("{} ({})", e.message, e.code))?;
        if let Some(position) = position {
            state
                .engine
                .wait_for(position, std::time::Duration::from_secs(10))
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    let (quota, used, numbers, lines) = state.engine.read(|m| {
        let t = m.directory.tenant(tenant);
        (
            t.and_then(|t| t.user_quota),
            t.map_or(0, |t| t.active_users().count()),
            t.map(|t| t.contracted_numbers.clone()).unwrap_or_default(),
            t.and_then(|t| t.licensed_lines),
        )
    });
    let lines = lines.map_or_else(|| "the server's default".to_string(), |l| l.to_string());
    let quota = quota.map_or_else(|| "unlimited".to_string(), |q| q.to_string());
    println!(
        "tenant {tenant}: users {used} of {quota}; licensed lines: {lines}; contracted numbers: {}",
        if numbers.is_empty() {
            "none".to_string()
        } else {
            numbers.join(", ")
        }
    );
    Ok(())
}
