//! Issue 12 item 13: the first hour, tried as a new user would — a command-line tool pointed at
//! the wrong place says which flag to pass instead of creating an empty store; a taken port
//! names `--listen`; logs written to a file or pipe carry no colour codes.

use std::process::Command;

use kaden_tests::{StoreKind, TestStore};

const BIN: &str = env!("CARGO_BIN_EXE_kaden-under-test");

fn run(args: &[&str], place: &TestStore) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env("KADEN_LOG", "info");
    match &place.database_url {
        Some(url) => cmd.args(["--database-url", url]),
        None => cmd.arg("--data-dir").arg(&place.dir),
    };
    cmd.output().expect("kaden runs")
}

async fn tools_refuse_a_missing_store(kind: StoreKind) {
    // A fresh place: an empty folder, or a PostgreSQL database without Kaden's tables.
    let place = TestStore::new(kind).await;
    for args in [
        &["admin", "contract", "--numbers", "03-1234-5678"][..],
        &["admin", "clear-ip-allow-list"][..],
        &["audit", "verify"][..],
    ] {
        let out = run(args, &place);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} refuses");
        assert!(
            err.contains("--data-dir") && err.contains("--database-url"),
            "{args:?} names the flags: {err}"
        );
    }
    match kind {
        StoreKind::Sqlite => assert!(
            !place.dir.join("kaden.sqlite3").exists(),
            "no empty store was created"
        ),
        StoreKind::Postgres => {
            use sqlx::Connection as _;
            let url = place.database_url.as_deref().expect("url");
            let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
            let found: bool = sqlx::query_scalar("SELECT to_regclass('public.events') IS NOT NULL")
                .fetch_one(&mut conn)
                .await
                .expect("query");
            assert!(!found, "no Kaden tables were created");
        }
    }
}

#[tokio::test]
async fn err_first_hour_tools_refuse_a_missing_sqlite_store_and_name_the_flags() {
    tools_refuse_a_missing_store(StoreKind::Sqlite).await;
}

#[tokio::test]
async fn err_first_hour_tools_refuse_a_postgres_database_without_kaden_schema() {
    tools_refuse_a_missing_store(StoreKind::Postgres).await;
}

#[tokio::test]
async fn err_first_hour_a_taken_http_port_names_listen() {
    let place = TestStore::new(StoreKind::Sqlite).await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let out = run(&["serve", "--no-telephony", "--listen", &addr], &place);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("--listen"), "{err}");
}

#[tokio::test]
async fn err_first_hour_logs_carry_no_colour_codes_off_a_terminal() {
    let place = TestStore::new(StoreKind::Sqlite).await;
    // `migrate` with debug logs: its stderr is a pipe here, not a terminal.
    let out = Command::new(BIN)
        .args(["migrate", "--data-dir"])
        .arg(&place.dir)
        .env("KADEN_LOG", "debug")
        .output()
        .expect("kaden runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("DEBUG"), "it logged: {err}");
    assert!(!err.contains('\u{1b}'), "no ANSI escape codes: {err:?}");
}
