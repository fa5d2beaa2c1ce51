//! `kaden bench-import`: the list import benchmark of issue 6 (SPEC LST-2..4, LST-8, LST-9).
//! (About 600 lines, kept in one file: each measurement stands beside the baseline it is
//! compared with in the same run.)
//!
//! A 50,000-row, 12-column Shift_JIS CSV is uploaded over HTTP to a running Kaden (preview),
//! committed, and read back through folder search and the folder list (progress); the time of
//! the whole sequence is compared with the raw parse time of the same file in the same run
//! (the floor). Peak memory growth of the process (the server; the client is a few buffers)
//! is read from `/proc/self/status` (VmHWM, reset through `/proc/self/clear_refs`). Then four
//! imports fill one folder to 200,000 customers, and folder search by a column condition is
//! timed on the read model (p50/p99 of 1,000 searches) and through GraphQL over HTTP.
//!
//! First, the CSV record reader alone is timed over the decoded text of the same file, our own
//! (`list::records`, what imports use) and the `csv` crate's (`list::records_csv`) in the same
//! run, alternating, so the two figures share the machine's noise (issue 11 item 9: ours
//! stays only while it is at least twice as fast). `--readers-only` stops after that.

use std::time::{Duration, Instant};

use clap::Args;
use kaden_domain::list::{
    CsvExport, ExportEncoding, ImportRules, ImportTarget, OnUnmappable, ReservedNames, decode,
    parse_customer_file, records, records_csv,
};
use kaden_projections::folders::{Condition, MatchOp};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::app::{App, create_manager};
use crate::config::Settings;

#[derive(Debug, Args)]
pub struct BenchImportArgs {
    /// PostgreSQL server (an admin URL; a scratch database is created and dropped).
    /// Without it only SQLite is measured.
    #[arg(long, env = "KADEN_BENCH_DATABASE_URL", value_name = "URL")]
    database_url: Option<String>,
    /// Rows per file.
    #[arg(long, default_value_t = 50_000)]
    rows: usize,
    /// Timed import runs per store (min / median / max are reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Only time the CSV record readers (no server, no store).
    #[arg(long)]
    readers_only: bool,
}

const USER: &str = "bench";
const PASSWORD: &str = "bench-password-long-enough";
const COLUMNS: [&str; 12] = [
    "会社名",
    "電話番号",
    "住所",
    "担当者",
    "業種",
    "従業員数",
    "メール",
    "備考",
    "売上",
    "設立年",
    "地域",
    "ランク",
];

/// A Shift_JIS customer list: `rows` rows × 12 columns, numbers unique from `offset`.
pub fn sample_file(rows: usize, offset: usize) -> Vec<u8> {
    let mut export = CsvExport::new(
        Vec::with_capacity(rows * 200),
        ExportEncoding::ShiftJis,
        OnUnmappable::Refuse,
        &COLUMNS,
    )
    .expect("header fits Shift_JIS");
    let regions = [
        "東京都港区",
        "大阪府大阪市北区",
        "愛知県名古屋市中区",
        "福岡県福岡市博多区",
    ];
    for i in 0..rows {
        let n = offset + i;
        let row = [
            format!("株式会社テスト{n}"),
            format!("03-{:04}-{:04}", (n / 10_000) % 9_000 + 1000, n % 10_000),
            format!(
                "{}芝公園{}-{}-{}",
                regions[n % 4],
                n % 9 + 1,
                n % 20 + 1,
                n % 30 + 1
            ),
            format!("山田太郎{}", n % 100),
            "製造業".to_string(),
            (n % 500 + 10).to_string(),
            format!("info{n}@example.co.jp"),
            "初回は午前中に連絡 折り返し希望".to_string(),
            format!("{}万円", n * 7 % 100_000),
            (1950 + n % 70).to_string(),
            "関東".to_string(),
            ["A", "B", "C"][n % 3].to_string(),
        ];
        export.write_row(&row).expect("row fits Shift_JIS");
    }
    export.finish().expect("in memory").0
}

/// A minimal HTTP/1.1 client (one request per connection), so the benchmark measures Kaden's
/// HTTP stack without a client library's extras.
async fn http(
    addr: std::net::SocketAddr,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> Result<(u16, Vec<u8>), String> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let auth = token.map_or(String::new(), |t| format!("authorization: Bearer {t}\r\n"));
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n{auth}\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    stream.write_all(body).await.map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    let split = memchr_split(&answer).ok_or("no HTTP header in the answer")?;
    let status = std::str::from_utf8(&answer[9..12])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or("bad status line")?;
    let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
    let mut body = answer[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    Ok((status, body))
}

fn memchr_split(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n")
}

fn dechunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = bytes.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&bytes[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || bytes.len() < end + 2 + size {
            break;
        }
        out.extend_from_slice(&bytes[end + 2..end + 2 + size]);
        bytes = &bytes[(end + 4 + size).min(bytes.len())..];
    }
    out
}

async fn graphql(
    addr: std::net::SocketAddr,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Result<Value, String> {
    let body = serde_json::to_vec(&json!({"query": query, "variables": variables}))
        .map_err(|e| e.to_string())?;
    let (_, answer) = http(addr, "/graphql", token, "application/json", &body).await?;
    let value: Value = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
    if value.get("errors").is_some() {
        return Err(format!("GraphQL error: {value}"));
    }
    Ok(value["data"].clone())
}

fn multipart(fields: &[(&str, &str)], file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "kaden-bench-boundary-7d1f";
    let mut body = Vec::with_capacity(file.len() + 1024);
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"list.csv\"\r\ncontent-type: text/csv\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Uploads, commits and reads back one file; returns (folder, phases).
async fn import_once(
    addr: std::net::SocketAddr,
    token: &str,
    fields: &[(&str, &str)],
    file: &[u8],
    key: &str,
) -> Result<(u64, [Duration; 4]), String> {
    let started = Instant::now();
    let (content_type, body) = multipart(fields, file);
    let (status, answer) = http(
        addr,
        "/api/folders/import/preview",
        Some(token),
        &content_type,
        &body,
    )
    .await?;
    let preview: Value = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("preview answered {status}: {preview}"));
    }
    let previewed = started.elapsed();
    let commit =
        serde_json::to_vec(&json!({"previewId": preview["previewId"], "idempotencyKey": key}))
            .map_err(|e| e.to_string())?;
    let (status, answer) = http(
        addr,
        "/api/folders/import/commit",
        Some(token),
        "application/json",
        &commit,
    )
    .await?;
    let done: Value = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("commit answered {status}: {done}"));
    }
    let committed = started.elapsed();
    let folder = done["folderId"].as_u64().ok_or("no folder id")?;
    let found = graphql(
        addr,
        Some(token),
        "query($f: Int!) { folderCustomers(folderId: $f, conditions: [{column: \"会社名\", kind: EQUALS, value: \"株式会社テスト777\"}], first: 10) { totalCount nodes { id } } }",
        json!({"f": folder}),
    )
    .await?;
    let searched = started.elapsed();
    let list = graphql(
        addr,
        Some(token),
        "{ folders { id registeredCount workCount progress } }",
        json!({}),
    )
    .await?;
    let total = started.elapsed();
    let registered = list["folders"]
        .as_array()
        .and_then(|l| l.iter().find(|f| f["id"].as_u64() == Some(folder)))
        .and_then(|f| f["registeredCount"].as_u64());
    if registered.is_none() || found["folderCustomers"]["nodes"].as_array().is_none() {
        return Err(format!("the import is not visible: {list} {found}"));
    }
    Ok((
        folder,
        [
            previewed,
            committed - previewed,
            searched - committed,
            total - searched,
        ],
    ))
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn min_med_max(mut v: Vec<f64>) -> String {
    v.sort_by(f64::total_cmp);
    format!(
        "{:.0} / {:.0} / {:.0}",
        v[0],
        v[v.len() / 2],
        v[v.len() - 1]
    )
}

pub async fn run(args: BenchImportArgs) -> Result<(), String> {
    let file = sample_file(args.rows, 0);
    println!(
        "# list import benchmark: {} rows x 12 columns, Shift_JIS, {:.1} MB; {} cores",
        args.rows,
        file.len() as f64 / 1e6,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    bench_readers(&file)?;
    if args.readers_only {
        return Ok(());
    }
    let mut stores = vec![("sqlite", None)];
    if let Some(url) = &args.database_url {
        stores.push(("postgres", Some(url.clone())));
    }
    for (label, admin_url) in stores {
        bench_store(label, admin_url.as_deref(), &file, &args).await?;
    }
    Ok(())
}

/// Times both CSV record readers over the decoded text of `file`, 11 runs each, alternating.
fn bench_readers(file: &[u8]) -> Result<(), String> {
    let decoded = decode(file).map_err(|e| e.to_string())?;
    let text: &str = &decoded.text;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let (mut ours_bytes, mut their_bytes) = (0, 0);
    for _ in 0..11 {
        let t = Instant::now();
        let mut reader = records::Records::new(text);
        let mut cells = Vec::with_capacity(32);
        ours_bytes = 0;
        while let Some(line) = reader.next_into(&mut cells) {
            line.map_err(|e| format!("{e:?}"))?;
            ours_bytes += cells.iter().map(|c| c.len()).sum::<usize>();
        }
        ours.push(ms(t.elapsed()));

        let t = Instant::now();
        let mut reader = records_csv::Records::new(text);
        their_bytes = 0;
        while let Some(line) = reader.next_record() {
            line.map_err(|e| format!("{e:?}"))?;
            their_bytes += reader.cells().map(str::len).sum::<usize>();
        }
        theirs.push(ms(t.elapsed()));
    }
    if ours_bytes != their_bytes {
        return Err(format!(
            "the readers disagree: {ours_bytes} vs {their_bytes} bytes of cells"
        ));
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let ratio = median(&theirs) / median(&ours);
    println!("\n## CSV record reader alone, over the decoded text (11 runs each, alternating)");
    println!("| reader | min / median / max |");
    println!("| --- | --- |");
    println!(
        "| csv crate (`list::records_csv`: reused ByteRecord, cells as slices of the text) | {} ms |",
        min_med_max(theirs)
    );
    println!(
        "| ours (`list::records`, what imports use: borrowing, memchr), baseline | {} ms |",
        min_med_max(ours)
    );
    println!("| csv crate / ours, medians | {ratio:.2} |");
    Ok(())
}

async fn bench_store(
    label: &str,
    admin_url: Option<&str>,
    file: &[u8],
    args: &BenchImportArgs,
) -> Result<(), String> {
    let temp =
        std::env::temp_dir().join(format!("kaden-bench-import-{}-{label}", std::process::id()));
    let mut settings = Settings::for_data_dir(&temp);
    let db = format!("kaden_bench_import_{}", std::process::id());
    if let Some(url) = admin_url {
        settings.database_url = Some(crate::bench::scratch_database(url, &db).await?);
    }
    let app = App::start(settings).await.map_err(|e| e.to_string())?;
    create_manager(&app.state, "default", USER, PASSWORD)
        .await
        .map_err(|e| e.message)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::app::run(listener, app.clone(), async move {
        let _ = stop_rx.await;
    }));
    let login = graphql(
        addr,
        None,
        "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
        json!({"u": USER, "p": PASSWORD}),
    )
    .await?;
    let token = login["login"]["token"]
        .as_str()
        .ok_or("no token")?
        .to_string();
    let campaign = graphql(
        addr,
        Some(&token),
        "mutation { createCampaign(name: \"計測\") { campaign { id } } }",
        json!({}),
    )
    .await?;
    let campaign = campaign["createCampaign"]["campaign"]["id"]
        .as_str()
        .ok_or("no campaign")?
        .to_string();
    // CMP-2: imports need a main caller number from the tenant's contracted numbers.
    let contract = kaden_domain::tenant::TenantCommand::SetContractedNumbers {
        numbers: vec!["0312340000".to_string()],
    };
    let ctx = crate::commands::RequestContext::system("default");
    if let Some(position) = app
        .state
        .commands
        .tenant("default", contract, &ctx)
        .await
        .map_err(|e| e.message)?
    {
        app.state
            .engine
            .wait_for(position, Duration::from_secs(10))
            .await
            .map_err(|e| e.to_string())?;
    }
    graphql(
        addr,
        Some(&token),
        "mutation($id: String!) { setCallerNumbers(id: $id, main: \"0312340000\", subs: []) { position } }",
        json!({"id": campaign}),
    )
    .await?;

    let mut parse = Vec::new();
    let mut totals = Vec::new();
    let mut phases = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    let mut memory = Vec::new();
    for run in 0..args.runs {
        // The floor: the raw parse of the same bytes (decode + CSV + phone rules), same run.
        let reserved = ReservedNames::default();
        let rules = ImportRules {
            reserved: &reserved,
            target: ImportTarget::NewFolder,
        };
        let t = Instant::now();
        let parsed = parse_customer_file(file, &rules).map_err(|e| e.to_string())?;
        parse.push(ms(t.elapsed()));
        drop(parsed);

        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let before = rss_kib("VmRSS:");
        let name = format!("計測{run}");
        let fields = [
            ("campaignId", campaign.as_str()),
            ("folderName", name.as_str()),
        ];
        let t = Instant::now();
        let (_, p) = import_once(addr, &token, &fields, file, &format!("run-{run}")).await?;
        totals.push(ms(t.elapsed()));
        for (i, d) in p.iter().enumerate() {
            phases[i].push(ms(*d));
        }
        memory.push((rss_kib("VmHWM:").saturating_sub(before)) as f64 / 1024.0);
    }
    println!("\n## {label}");
    println!("| what | min / median / max |");
    println!("| --- | --- |");
    println!(
        "| raw parse (floor): decode + CSV + phone rules | {} ms |",
        min_med_max(parse)
    );
    println!(
        "| upload → commit → visible in search and progress | {} ms |",
        min_med_max(totals)
    );
    for (name, v) in [
        "preview (upload + parse + checks)",
        "commit (one append + projection)",
        "folder search query",
        "folder list (progress) query",
    ]
    .iter()
    .zip(phases)
    {
        println!("| · {name} | {} ms |", min_med_max(v));
    }
    println!(
        "| peak memory growth of the process during one import | {} MiB |",
        min_med_max(memory)
    );

    // 200,000 customers in one folder: four more appends of 50,000.
    let fields = [("campaignId", campaign.as_str()), ("folderName", "20万件")];
    let (big, _) = import_once(
        addr,
        &token,
        &fields,
        &sample_file(50_000, 1_000_000),
        "big-0",
    )
    .await?;
    let big_s = big.to_string();
    for k in 1..4 {
        let fields = [("folderId", big_s.as_str())];
        import_once(
            addr,
            &token,
            &fields,
            &sample_file(50_000, 1_000_000 + k * 50_000),
            &format!("big-{k}"),
        )
        .await?;
    }
    let count = app.state.engine.read(|m| {
        m.folders
            .folder("default", big as u32)
            .map_or(0, |f| f.registered)
    });
    let conditions = [
        (
            "会社名 = (one match)",
            Condition {
                column: 0,
                op: MatchOp::Equals,
                value: "株式会社テスト1123456".into(),
            },
        ),
        (
            "住所 prefix (1/4 match)",
            Condition {
                column: 2,
                op: MatchOp::Prefix,
                value: "大阪府".into(),
            },
        ),
        (
            "備考 contains (no match)",
            Condition {
                column: 7,
                op: MatchOp::Contains,
                value: "至急".into(),
            },
        ),
    ];
    println!("\n| folder search on {count} customers, 1,000 searches, page of 50 | p50 / p99 |");
    println!("| --- | --- |");
    for (name, condition) in &conditions {
        let mut samples = Vec::with_capacity(1_000);
        for _ in 0..1_000 {
            let t = Instant::now();
            let page = app.state.engine.read(|m| {
                m.folders
                    .folder("default", big as u32)
                    .map(|f| f.search(std::slice::from_ref(condition), 0, 50).total)
            });
            samples.push(t.elapsed());
            std::hint::black_box(page);
        }
        samples.sort();
        println!(
            "| read model, {name} | {:.2} / {:.2} ms |",
            ms(samples[499]),
            ms(samples[989])
        );
    }
    let mut samples = Vec::with_capacity(200);
    for _ in 0..200 {
        let t = Instant::now();
        graphql(addr, Some(&token), "query($f: Int!) { folderCustomers(folderId: $f, conditions: [{column: \"住所\", kind: PREFIX, value: \"大阪府\"}], first: 50) { totalCount nodes { id phone fields { value } } } }", json!({"f": big})).await?;
        samples.push(t.elapsed());
    }
    samples.sort();
    println!(
        "| GraphQL over HTTP, 住所 prefix, 50 customers with fields | {:.2} / {:.2} ms |",
        ms(samples[99]),
        ms(samples[197])
    );

    let _ = stop_tx.send(());
    let _ = server.await;
    app.shutdown().await;
    if let Some(url) = admin_url {
        let _ = crate::bench::drop_database(url, &db).await;
    }
    let _ = std::fs::remove_dir_all(&temp);
    Ok(())
}
