//! The command line. `main` reads arguments, sets up logging, builds the runtime and runs one
//! subcommand; everything it starts lives in the library.

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use kaden_domain::access::PasswordPolicy;

use crate::app::{App, create_manager};
use crate::config::{Settings, StoreArgs, TelephonyOptions};

#[derive(Debug, Parser)]
#[command(name = "kaden", version, about = "架電 Kaden: cloud call-centre system for outbound teams", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (GraphQL at /graphql, GraphiQL at /graphiql). With no database URL the
    /// events are kept in <data-dir>/kaden.sqlite3. On first start it creates the manager
    /// account `admin` and prints its one-time password. Telephony (SIP/RTP) starts with it:
    /// softphones register to --sip-listen, and calls go to --trunk or, without one, to a
    /// built-in test carrier on loopback.
    Serve(ServeArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate(StoreArgs),
    /// Accounts from the command line.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Measure the event store and subscriptions on this machine against raw database
    /// baselines and print a Markdown table (see docs/BENCHMARKS.md).
    Bench(crate::bench::BenchArgs),
    /// Measure list import (50,000-row Shift_JIS CSV over HTTP → committed → searchable) and
    /// folder search on 200,000 customers; prints Markdown tables (see docs/BENCHMARKS.md).
    BenchImport(crate::bench_import::BenchImportArgs),
    /// The access log for auditors (AUD-1): export it, verify its hash chain.
    Audit {
        #[command(subcommand)]
        command: crate::access_log::AuditCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Set the tenant's contract (the operator's job, not the web's): the licensed user quota
    /// and the contracted caller numbers, e.g.
    /// `kaden admin contract --user-quota 50 --numbers 03-1234-5678,0120-111-222`.
    Contract(crate::contract::ContractArgs),
    /// Lockout recovery: set a new password for an account (every manager locked out, or a
    /// forgotten password); the user must choose their own at the next login. The password is
    /// read from standard input:
    /// `printf '%s\n' "$PASSWORD" | kaden admin reset-password --username admin`.
    ResetPassword(crate::recovery::ResetPasswordArgs),
    /// Lockout recovery: empty the tenant's IP allow-list when it shuts everyone out (SEC-3).
    ClearIpAllowList(crate::recovery::ClearIpAllowListArgs),
    /// Create a manager (MGR) account. The password is read from standard input (one line), so
    /// it never shows in the process list or shell history:
    /// `printf '%s\n' "$PASSWORD" | kaden admin create --username yamada`.
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// Login id: ASCII letters, digits and . _ - @ (1 to 64).
        #[arg(long)]
        username: String,
        /// Tenant to create the account in (created if missing).
        #[arg(long, default_value = crate::config::DEFAULT_TENANT)]
        tenant: String,
    },
}

/// `kaden serve`: the store flags plus telephony.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Run without SIP telephony (no calls).
    #[arg(long, env = "KADEN_NO_TELEPHONY")]
    no_telephony: bool,
    /// UDP address softphones register to and calls are signalled from [default: the HTTP
    /// listen address, port 5060].
    #[arg(long, env = "KADEN_SIP_LISTEN", value_name = "ADDR")]
    sip_listen: Option<SocketAddr>,
    /// Address RTP binds to and SDP announces [default: the SIP address, 127.0.0.1 for
    /// 0.0.0.0].
    #[arg(long, env = "KADEN_MEDIA_IP", value_name = "IP")]
    media_ip: Option<std::net::IpAddr>,
    /// The carrier's SIP trunk (ip:port). Without it, a built-in test carrier answers on
    /// loopback so calls can be tried on one machine.
    #[arg(long, env = "KADEN_TRUNK", value_name = "ADDR")]
    trunk: Option<SocketAddr>,
    /// Host of the trunk's Request-URI [default: the trunk's IP].
    #[arg(long, env = "KADEN_TRUNK_DOMAIN", value_name = "HOST")]
    trunk_domain: Option<String>,
    /// Digest username the trunk challenges for.
    #[arg(long, env = "KADEN_TRUNK_USERNAME", value_name = "USER")]
    trunk_username: Option<String>,
    /// Digest password of the trunk (prefer the environment variable).
    #[arg(
        long,
        env = "KADEN_TRUNK_PASSWORD",
        value_name = "PASSWORD",
        hide_env_values = true
    )]
    trunk_password: Option<String>,
    /// Licensed concurrent lines of a tenant whose contract sets none (MON-3) [default: 10].
    #[arg(long, env = "KADEN_LICENSED_LINES", value_name = "N")]
    licensed_lines: Option<u32>,
    /// Test carrier odds as weights answer,busy,no_answer,not_in_service,fax [default:
    /// 50,15,25,5,5].
    #[arg(long, env = "KADEN_TEST_CARRIER_ODDS", value_name = "WEIGHTS")]
    test_carrier_odds: Option<String>,
    /// How long the test carrier rings before it answers (or is busy) [default: 3000].
    #[arg(long, env = "KADEN_TEST_CARRIER_ANSWER_DELAY_MS", value_name = "MS")]
    test_carrier_answer_delay_ms: Option<u64>,
}

impl ServeArgs {
    fn settings(&self) -> Result<Settings, String> {
        self.store.settings_with(TelephonyOptions {
            enabled: self.no_telephony.then_some(false),
            sip_listen: self.sip_listen,
            media_ip: self.media_ip,
            trunk: self.trunk,
            trunk_domain: self.trunk_domain.clone(),
            trunk_username: self.trunk_username.clone(),
            trunk_password: self.trunk_password.clone(),
            licensed_lines: self.licensed_lines,
            test_carrier_odds: self.test_carrier_odds.clone(),
            test_carrier_answer_delay_ms: self.test_carrier_answer_delay_ms,
            ..TelephonyOptions::default()
        })
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KADEN_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never in files or journald.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(error) => {
            eprintln!("kaden: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("kaden: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => serve(args.settings()?).await,
        Command::Migrate(args) => {
            let settings = args.settings()?;
            let store = crate::store::Store::open(&settings.store())
                .await
                .map_err(|e| e.to_string())?;
            println!("migrated the {} store", store.kind());
            store.close().await;
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    store,
                    username,
                    tenant,
                },
        } => {
            let settings = store.settings()?;
            let password = read_password()?;
            PasswordPolicy::default()
                .check(&username, &password)
                .map_err(|e| e.to_string())?;
            let app = App::start(settings).await.map_err(|e| e.to_string())?;
            let created = create_manager(&app.state, &tenant, &username, &password).await;
            app.shutdown().await;
            created.map_err(|e| e.message)?;
            println!("created manager {username:?} in tenant {tenant:?}");
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::ResetPassword(args),
        } => {
            let password = read_password()?;
            println!("{}", crate::recovery::reset_password(args, password).await?);
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::ClearIpAllowList(args),
        } => {
            println!("{}", crate::recovery::clear_ip_allow_list(args).await?);
            Ok(())
        }
        Command::Bench(args) => crate::bench::run(args).await,
        Command::BenchImport(args) => crate::bench_import::run(args).await,
        Command::Admin {
            command: AdminCommand::Contract(args),
        } => crate::contract::run(args).await,
        Command::Audit { command } => match crate::access_log::run_cli(command).await? {
            true => Ok(()),
            false => Err("the access log's hash chain is broken (see above)".into()),
        },
    }
}

fn read_password() -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        eprint!("password (input is shown; prefer piping it): ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err("no password on standard input: pipe one line, e.g. printf '%s\\n' \"$PASSWORD\" | kaden admin create --username NAME".into());
    }
    Ok(password)
}

async fn serve(settings: Settings) -> Result<(), String> {
    let stop = shutdown_signal();
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {}: {e} (another program holds the port? choose another with --listen ADDR:PORT or KADEN_LISTEN)",
                settings.listen
            )
        })?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let store = if settings.database_url.is_some() {
        "PostgreSQL".to_string()
    } else {
        format!("SQLite at {}", settings.sqlite_path().display())
    };
    let app = App::start(settings).await.map_err(|e| e.to_string())?;
    println!(
        "架電 Kaden is running at http://{address}/  (GraphiQL: http://{address}/graphiql, store: {store})"
    );
    match app.state.calls() {
        Some(calls) => {
            let carrier = match &calls.carrier {
                Some(c) => format!(
                    "built-in test carrier at {} (no trunk configured)",
                    c.addr()
                ),
                None => format!(
                    "trunk {}",
                    calls
                        .settings
                        .trunk
                        .as_ref()
                        .map_or(String::new(), |t| t.addr.to_string())
                ),
            };
            println!(
                "Telephony: softphones register to sip:{} (realm {}; set a SIP password with the setSipPassword mutation); calls go to the {carrier}.",
                calls.sip_addr(),
                calls.settings.realm
            );
            if calls.settings.media_ip.is_loopback() && !calls.sip_addr().ip().is_loopback() {
                println!(
                    "  Note: audio is announced on {} (loopback): softphones on other machines need --media-ip <this machine's address>.",
                    calls.settings.media_ip
                );
            }
        }
        None => println!("Telephony is off (--no-telephony): no calls."),
    }
    match app.first_run().await.map_err(|e| e.message)? {
        Some((username, password)) => {
            println!("First run: created the manager account.");
            println!("  username: {username}");
            println!("  one-time password: {password}");
            println!(
                "  This password is shown only once. Log in with: mutation {{ login(username: \"{username}\", password: \"…\") {{ token }} }}"
            );
        }
        None => println!(
            "Log in with your account (kaden admin create --username NAME adds a manager)."
        ),
    }
    crate::app::run(listener, app, stop)
        .await
        .map_err(|e| e.to_string())
}

/// Resolves on ctrl-c or SIGTERM. The handlers are installed when this is called, not when the
/// future is first polled: `serve` calls it before it prints anything, so a supervisor (or a
/// test) that stops the process right after reading the one-time password gets a clean exit.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(interrupt) => {}
                () = wait(terminate) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
