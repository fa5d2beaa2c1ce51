//! `kaden audit …`: the auditors' tools (the command word operators type stays `audit`).

use super::*;

/// `kaden audit …`: auditors' tools; they read the store directly, never the read models.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Write access-log entries as JSON lines in log order (tenant, then entry number), each
    /// with its chain hash: `kaden audit export --from 2026-11-01 --to 2026-11-30 > audit.jsonl`.
    Export {
        #[command(flatten)]
        store: crate::config::StoreArgs,
        /// First day (in the configured time zone) or RFC 3339 time to include.
        #[arg(long)]
        from: Option<String>,
        /// Last day to include (the whole day), or an RFC 3339 time to stop before.
        #[arg(long)]
        to: Option<String>,
        /// Only this tenant (default: every tenant).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Recompute every tenant's hash chain from the stored entries and report the first entry
    /// that was altered, removed or moved. Exits with status 1 when the chain is broken.
    Verify {
        #[command(flatten)]
        store: crate::config::StoreArgs,
        /// Only this tenant (default: every tenant).
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// Runs `kaden audit …`. `Ok(false)`: verification found a break.
pub async fn run_cli(command: AuditCommand) -> Result<bool, String> {
    match command {
        AuditCommand::Export {
            store,
            from,
            to,
            tenant,
        } => {
            let settings = store.existing_settings().await?;
            let zone = settings.time_zone;
            let from = from
                .map(|t| parse_time("--from", &t, zone, false))
                .transpose()
                .map_err(|e| e.message)?;
            let to = to
                .map(|t| parse_time("--to", &t, zone, true))
                .transpose()
                .map_err(|e| e.message)?;
            let store = Store::open(&settings.store())
                .await
                .map_err(|e| e.to_string())?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let result = export(&store, tenant.as_deref(), from, to, &mut out).await;
            store.close().await;
            let written = result?;
            out.flush().map_err(|e| e.to_string())?;
            eprintln!("exported {written} access-log entries");
            Ok(true)
        }
        AuditCommand::Verify { store, tenant } => {
            let settings = store.existing_settings().await?;
            let store = Store::open(&settings.store())
                .await
                .map_err(|e| e.to_string())?;
            let result = verify(&store, tenant.as_deref()).await;
            store.close().await;
            let verdicts = result?;
            if verdicts.is_empty() {
                println!("the access log is empty");
            }
            for v in &verdicts {
                println!("{v}");
            }
            Ok(verdicts.iter().all(|v| v.broken.is_none()))
        }
    }
}
