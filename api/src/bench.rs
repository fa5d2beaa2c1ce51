//! `kaden bench`: measures the event store and subscriptions on this machine, each next to a
//! raw database baseline measured in the same run, and prints a Markdown table.
//!
//! Every scenario works in a scratch database (PostgreSQL: `kaden_bench_<pid>`, dropped after;
//! SQLite: a temporary file), never in a live store.
//!
//! Long because each benchmark sits beside its own raw baseline (the pair must stay together).

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::SerializedEvent;
use cqrs_es::{Aggregate, DomainEvent};
use futures::{SinkExt, StreamExt};
use kaden_domain::campaign::CampaignCommand;
use kaden_projections::ReadModels;
use kaden_projections::engine::Engine;
use kaden_projections::log::{EventLog, LogPosition};
use serde::{Deserialize, Serialize};
use sqlx::{Connection, Executor};

use crate::app::{App, create_manager};
use crate::commands::RequestContext;
use crate::config::Settings;
use crate::store::{Store, StoreConfig};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// PostgreSQL server to benchmark (an admin URL; a scratch database is created on it).
    /// Without it only SQLite is measured.
    #[arg(long, env = "KADEN_BENCH_DATABASE_URL", value_name = "URL")]
    database_url: Option<String>,
    /// Commands for the 32-writer append benchmark.
    #[arg(long, default_value_t = 20_000)]
    commands: usize,
    /// Events written then replayed for the replay benchmark.
    #[arg(long, default_value_t = 1_000_000)]
    replay_events: usize,
    /// Campaign changes whose subscription latency is measured.
    #[arg(long, default_value_t = 1_000)]
    subscription_messages: usize,
}

/// One line of the result table.
struct Row {
    scenario: &'static str,
    store: &'static str,
    ours: String,
    baseline: String,
    ratio: String,
}

pub async fn run(args: BenchArgs) -> Result<(), String> {
    let mut rows = Vec::new();
    let temp = std::env::temp_dir().join(format!("kaden-bench-{}", std::process::id()));
    let sqlite = |name: &str| StoreConfig::Sqlite {
        path: temp.join(format!("{name}.sqlite3")),
    };
    let mut targets: Vec<(&'static str, Target)> = vec![("sqlite", Target::Sqlite(temp.clone()))];
    if let Some(url) = &args.database_url {
        targets.push(("postgres", Target::Postgres(url.clone())));
    }
    for (label, target) in &targets {
        eprintln!("== {label}");
        let config = target.fresh("append32", &sqlite).await?;
        rows.push(append_concurrent(label, &config, args.commands).await?);
        target.drop("append32").await?;
        let config = target.fresh("append1000", &sqlite).await?;
        rows.push(append_chunks(label, &config).await?);
        target.drop("append1000").await?;
        let config = target.fresh("replay", &sqlite).await?;
        rows.push(replay(label, &config, args.replay_events).await?);
        target.drop("replay").await?;
        let config = target.fresh("subscription", &sqlite).await?;
        rows.push(subscription_latency(label, &config, &temp, args.subscription_messages).await?);
        target.drop("subscription").await?;
    }
    let _ = std::fs::remove_dir_all(&temp);
    println!("| scenario | store | Kaden | raw baseline (same run) | Kaden / baseline |");
    println!("| --- | --- | --- | --- | --- |");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            r.scenario, r.store, r.ours, r.baseline, r.ratio
        );
    }
    Ok(())
}

enum Target {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Target {
    async fn fresh(
        &self,
        name: &str,
        sqlite: &dyn Fn(&str) -> StoreConfig,
    ) -> Result<StoreConfig, String> {
        match self {
            Self::Sqlite(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
                Ok(sqlite(name))
            }
            Self::Postgres(url) => {
                let db = format!("kaden_bench_{}_{name}", std::process::id());
                Ok(StoreConfig::Postgres {
                    url: scratch_database(url, &db).await?,
                })
            }
        }
    }

    async fn drop(&self, name: &str) -> Result<(), String> {
        if let Self::Postgres(url) = self {
            drop_database(url, &format!("kaden_bench_{}_{name}", std::process::id())).await?;
        }
        Ok(())
    }
}

/// Creates the empty database `db` on the server of `admin_url` (dropping a leftover of the
/// same name) and returns its URL.
pub(crate) async fn scratch_database(admin_url: &str, db: &str) -> Result<String, String> {
    drop_database(admin_url, db).await?;
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .map_err(|e| e.to_string())?;
    admin
        .execute(format!("CREATE DATABASE {db}").as_str())
        .await
        .map_err(|e| e.to_string())?;
    let mut u = url::Url::parse(admin_url).map_err(|e| e.to_string())?;
    u.set_path(db);
    Ok(u.to_string())
}

/// Drops the database `db` on the server of `admin_url`, closing its connections.
pub(crate) async fn drop_database(admin_url: &str, db: &str) -> Result<(), String> {
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .map_err(|e| e.to_string())?;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)").as_str())
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

fn row(scenario: &'static str, store: &'static str, ours: f64, baseline: f64, unit: &str) -> Row {
    eprintln!("  {scenario}: {ours:.0} {unit} (baseline {baseline:.0} {unit})");
    Row {
        scenario,
        store,
        ours: format!("{ours:.0} {unit}"),
        baseline: format!("{baseline:.0} {unit}"),
        ratio: format!("{:.2}", ours / baseline),
    }
}

/// A raw table shaped like `events`, for baselines.
async fn baseline_table(store: &Store) -> Result<(), String> {
    let sql = match store.kind() {
        "postgres" => {
            "CREATE TABLE IF NOT EXISTS baseline (id bigint GENERATED ALWAYS AS IDENTITY, aggregate_type text NOT NULL, aggregate_id text NOT NULL, sequence bigint NOT NULL, event_type text NOT NULL, event_version text NOT NULL, payload json NOT NULL, metadata json NOT NULL, PRIMARY KEY (aggregate_type, aggregate_id, sequence))"
        }
        _ => {
            "CREATE TABLE IF NOT EXISTS baseline (id INTEGER PRIMARY KEY AUTOINCREMENT, aggregate_type TEXT NOT NULL, aggregate_id TEXT NOT NULL, sequence INTEGER NOT NULL, event_type TEXT NOT NULL, event_version TEXT NOT NULL, payload TEXT NOT NULL, metadata TEXT NOT NULL)"
        }
    };
    raw_execute(store, sql).await
}

async fn raw_execute(store: &Store, sql: &str) -> Result<(), String> {
    match store.backend() {
        crate::store::Backend::Postgres(b) => b
            .pool()
            .execute(sql)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        crate::store::Backend::Sqlite(b) => b
            .write_pool()
            .execute(sql)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
    }
}

/// Inserts `rows` rows into the baseline table in one statement/transaction (raw floor).
async fn raw_insert(
    store: &Store,
    aggregate_id: &str,
    first_sequence: i64,
    rows: usize,
    payload: &str,
    metadata: &str,
) -> Result<(), String> {
    match store.backend() {
        crate::store::Backend::Postgres(b) => {
            let ids = vec![aggregate_id; rows];
            let seqs: Vec<i64> = (first_sequence..first_sequence + rows as i64).collect();
            let types = vec!["Bench"; rows];
            let names = vec!["BenchEvent"; rows];
            let versions = vec!["1"; rows];
            let payloads = vec![payload; rows];
            let metas = vec![metadata; rows];
            sqlx::query(
                "INSERT INTO baseline (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                 SELECT t, i, s, e, v, p::json, m::json FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[]) AS u(t, i, s, e, v, p, m)",
            )
            .bind(&types)
            .bind(&ids)
            .bind(&seqs)
            .bind(&names)
            .bind(&versions)
            .bind(&payloads)
            .bind(&metas)
            .execute(b.pool())
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
        }
        crate::store::Backend::Sqlite(b) => {
            let mut tx = b.write_pool().begin().await.map_err(|e| e.to_string())?;
            for s in first_sequence..first_sequence + rows as i64 {
                sqlx::query("INSERT INTO baseline (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) VALUES ('Bench', ?, ?, 'BenchEvent', '1', ?, ?)")
                    .bind(aggregate_id)
                    .bind(s)
                    .bind(payload)
                    .bind(metadata)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            tx.commit().await.map_err(|e| e.to_string())
        }
    }
}

fn sample_metadata() -> String {
    let meta = RequestContext::system("bench").metadata();
    serde_json::to_string(&meta.to_map()).unwrap_or_default()
}

/// 32 concurrent writers, one event per command (a new campaign each), against 32 concurrent
/// plain single-row INSERTs.
async fn append_concurrent(
    label: &'static str,
    config: &StoreConfig,
    commands: usize,
) -> Result<Row, String> {
    const WRITERS: usize = 32;
    let store = Store::open(config).await.map_err(|e| e.to_string())?;
    baseline_table(&store).await?;
    let per_writer = commands / WRITERS;
    let metadata = sample_metadata();
    let payload = r#"{"Created":{"tenant_id":"bench","name":"ベンチマーク案件"}}"#;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        let metadata = metadata.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_writer {
                raw_insert(&store, &format!("b-{w}-{i}"), 1, 1, payload, &metadata).await?;
            }
            Ok::<(), String>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    let baseline = rate(per_writer * WRITERS, started.elapsed());
    let commands_fw = Arc::new(crate::commands::Commands::new(&store));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let commands_fw = Arc::clone(&commands_fw);
        tasks.push(tokio::spawn(async move {
            let ctx = RequestContext::system("bench");
            for _ in 0..per_writer {
                let id = uuid::Uuid::now_v7().to_string();
                commands_fw
                    .campaign(
                        &id,
                        CampaignCommand::Create {
                            tenant_id: "bench".into(),
                            name: "ベンチマーク案件".into(),
                        },
                        &ctx,
                    )
                    .await
                    .map_err(|e| e.message)?;
            }
            Ok::<(), String>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    let ours = rate(per_writer * WRITERS, started.elapsed());
    store.close().await;
    Ok(row(
        "append, 32 writers, 1 event per command",
        label,
        ours,
        baseline,
        "events/s",
    ))
}

/// An aggregate whose one command writes a chunk of events, the shape of a list import.
#[derive(Debug, Default, Serialize, Deserialize)]
struct BenchImport {
    rows: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum BenchImportEvent {
    CustomerImported {
        number: u64,
        phone: String,
        fields: Vec<String>,
    },
}

impl DomainEvent for BenchImportEvent {
    fn event_type(&self) -> String {
        "CustomerImported".into()
    }
    fn event_version(&self) -> String {
        "1".into()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct NoError;

impl kaden_domain::error::DomainError for NoError {
    fn code(&self) -> kaden_domain::error::ErrorCode {
        kaden_domain::error::ErrorCode::Internal
    }
}

impl Aggregate for BenchImport {
    const TYPE: &'static str = "BenchImport";
    type Command = usize;
    type Event = BenchImportEvent;
    type Error = NoError;
    type Services = ();

    async fn handle(&mut self, rows: usize, _: &(), sink: &EventSink<Self>) -> Result<(), NoError> {
        for _ in 0..rows {
            let number = self.rows + 1;
            let event = BenchImportEvent::CustomerImported {
                number,
                phone: format!("03{number:08}"),
                fields: vec![
                    "株式会社サンプル".into(),
                    "東京都千代田区丸の内1-1-1".into(),
                    "山田 太郎".into(),
                    "営業部".into(),
                ],
            };
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: BenchImportEvent) {
        let BenchImportEvent::CustomerImported { number, .. } = event;
        self.rows = number;
    }
}

/// One command producing 1,000 events (an import chunk), through cqrs-es, against the raw
/// one-statement insert of the same rows.
async fn append_chunks(label: &'static str, config: &StoreConfig) -> Result<Row, String> {
    const CHUNK: usize = 1_000;
    const CHUNKS: usize = 20;
    let store = Store::open(config).await.map_err(|e| e.to_string())?;
    baseline_table(&store).await?;
    let metadata = sample_metadata();
    let payload = serde_json::to_string(&BenchImportEvent::CustomerImported {
        number: 1,
        phone: "0300000001".into(),
        fields: vec![
            "株式会社サンプル".into(),
            "東京都千代田区丸の内1-1-1".into(),
            "山田 太郎".into(),
            "営業部".into(),
        ],
    })
    .unwrap_or_default();
    let started = Instant::now();
    for c in 0..CHUNKS {
        raw_insert(&store, &format!("chunk-{c}"), 1, CHUNK, &payload, &metadata).await?;
    }
    let baseline = rate(CHUNK * CHUNKS, started.elapsed());
    // Through the api's one write path (load, decide, one append).
    let ctx = RequestContext::system("bench");
    let writer = crate::commands::Writer::new(&store, &ctx).map_err(|e| e.message)?;
    let started = Instant::now();
    for c in 0..CHUNKS {
        let mut attempt = writer.attempt();
        let mut loaded = writer
            .load::<BenchImport>(&format!("import-{c}"))
            .await
            .map_err(|e| e.message)?;
        writer
            .decide(&mut attempt, &mut loaded, CHUNK)
            .await
            .map_err(|e| e.message)?;
        writer
            .append(attempt)
            .await
            .map_err(|e| e.message)?
            .ok_or("a fresh stream conflicted")?;
    }
    let ours = rate(CHUNK * CHUNKS, started.elapsed());
    store.close().await;
    Ok(row(
        "append, one command of 1,000 events",
        label,
        ours,
        baseline,
        "events/s",
    ))
}

/// Writes `n` campaign events, then replays them from position 0 into the read models,
/// against a raw read of the same rows (no decoding, no folding).
async fn replay(label: &'static str, config: &StoreConfig, n: usize) -> Result<Row, String> {
    let store = Store::open(config).await.map_err(|e| e.to_string())?;
    let meta = serde_json::to_value(RequestContext::system("bench").metadata().to_map())
        .unwrap_or_default();
    let campaigns = 1_000;
    let mut written = 0;
    let mut batch = Vec::with_capacity(10_000);
    let mut sequence = vec![0usize; campaigns];
    while written < n {
        let c = written % campaigns;
        sequence[c] += 1;
        let payload = if sequence[c] == 1 {
            serde_json::json!({"Created": {"tenant_id": "bench", "name": format!("案件{c}")}})
        } else {
            serde_json::json!({"Renamed": {"from": format!("案件{c}"), "name": format!("案件{c}-{}", sequence[c])}})
        };
        let event_type = if sequence[c] == 1 {
            "CampaignCreated"
        } else {
            "CampaignRenamed"
        };
        batch.push(SerializedEvent::new(
            format!("campaign-{c:04}"),
            sequence[c],
            "Campaign".into(),
            event_type.into(),
            "1".into(),
            payload,
            meta.clone(),
        ));
        written += 1;
        if batch.len() == 10_000 || written == n {
            store.append(&batch).await.map_err(|e| e.to_string())?;
            batch.clear();
        }
    }
    // Raw floor: read every row in log order, nothing else.
    let started = Instant::now();
    let mut position = LogPosition::START;
    let mut read = 0;
    loop {
        let rows = store
            .read_after(position, kaden_projections::engine::BATCH)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = rows.last() else { break };
        position = last.position;
        read += rows.len();
    }
    let baseline = rate(read, started.elapsed());
    let engine = Engine::new(ReadModels::default(), LogPosition::START);
    let started = Instant::now();
    let replayed = engine.catch_up(&store).await.map_err(|e| e.to_string())?;
    let ours = rate(
        usize::try_from(replayed).unwrap_or(usize::MAX),
        started.elapsed(),
    );
    let names = engine.read(|m| m.campaigns.list("bench", true).len());
    if names != campaigns.min(n) || replayed as usize != n {
        return Err(format!(
            "replay folded {replayed} events into {names} campaigns; expected {n} into {}",
            campaigns.min(n)
        ));
    }
    store.close().await;
    Ok(row(
        "replay into the read models",
        label,
        ours,
        baseline,
        "events/s",
    ))
}

/// Commit → `campaignChanged` message on a WebSocket client, p99, against the p99 of the
/// command alone (append and commit).
async fn subscription_latency(
    label: &'static str,
    config: &StoreConfig,
    temp: &std::path::Path,
    messages: usize,
) -> Result<Row, String> {
    let mut settings = Settings::for_data_dir(temp.join("subscription"));
    if let StoreConfig::Postgres { url } = config {
        settings.database_url = Some(url.clone());
    } else if let StoreConfig::Sqlite { path } = config {
        settings.data_dir = path.with_extension("d");
    }
    let app = App::start(settings).await.map_err(|e| e.to_string())?;
    create_manager(&app.state, "default", "bench", "bench-password-long")
        .await
        .map_err(|e| e.message)?;
    let ctx = RequestContext::system("default");
    let client: std::net::IpAddr = [127, 0, 0, 1].into();
    let login = crate::service::session::login(
        &app.state.login(),
        &ctx,
        client,
        "bench",
        "bench-password-long",
    )
    .await
    .map_err(|e| e.message)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::app::run(listener, app.clone(), async move {
        let _ = stop_rx.await;
    }));
    let id = uuid::Uuid::now_v7().to_string();
    let mut as_user = ctx.clone();
    as_user.user = Ok(Some(crate::commands::AuthUser {
        user_id: login.user.user_id,
        username: "bench".into(),
        role: login.user.role,
        session_id: String::new(),
    }));
    app.state
        .commands
        .campaign(
            &id,
            CampaignCommand::Create {
                tenant_id: "default".into(),
                name: "計測".into(),
            },
            &as_user,
        )
        .await
        .map_err(|e| e.message)?;

    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{address}/graphql/ws"
        ))
        .map_err(|e| e.to_string())?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        axum::http::HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| e.to_string())?;
    use tokio_tungstenite::tungstenite::Message;
    let init = serde_json::json!({"type": "connection_init", "payload": {"token": login.token}});
    ws.send(Message::text(init.to_string()))
        .await
        .map_err(|e| e.to_string())?;
    let _ack = ws.next().await;
    let sub = serde_json::json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { campaignChanged { id name } }"}});
    ws.send(Message::text(sub.to_string()))
        .await
        .map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut delivery = Vec::with_capacity(messages);
    let mut command = Vec::with_capacity(messages);
    for i in 0..messages {
        let t0 = Instant::now();
        app.state
            .commands
            .campaign(
                &id,
                CampaignCommand::Rename {
                    tenant_id: "default".into(),
                    name: format!("計測{i}"),
                },
                &as_user,
            )
            .await
            .map_err(|e| e.message)?;
        command.push(t0.elapsed());
        let wanted = format!("計測{i}");
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
                .await
                .map_err(|_| format!("no subscription message for change {i} within 5 s"))?;
            let Some(Ok(Message::Text(text))) = msg else {
                continue;
            };
            if text.contains(&wanted) {
                break;
            }
        }
        delivery.push(t0.elapsed());
    }
    let _ = stop_tx.send(());
    let _ = ws.close(None).await;
    let _ = server.await;
    Ok(Row {
        scenario: "commit → WebSocket subscription message, p99",
        store: label,
        ours: format!("{:.2} ms", p99(&mut delivery)),
        baseline: format!(
            "{:.2} ms (the command's own append + commit, p99)",
            p99(&mut command)
        ),
        ratio: format!("{:.2}", p99(&mut delivery) / p99(&mut command)),
    })
}

fn p99(samples: &mut [Duration]) -> f64 {
    samples.sort();
    let i = ((samples.len() as f64) * 0.99).ceil() as usize;
    samples
        .get(i.saturating_sub(1))
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}
