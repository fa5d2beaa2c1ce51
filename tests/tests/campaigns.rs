//! Campaign configuration through the API on both stores (CMP-1..5, CMP-7): caller numbers from
//! the contracted pool, the CMP-2 readiness gate, fixed and custom statuses, attributes of the
//! four kinds, name collisions, prospect levels, memo templates, report settings.

mod common;

use std::time::Duration;

use common::{create_user, domain_head, login_as, message};
use kaden_api::commands::RequestContext;
use kaden_domain::tenant::TenantCommand;
use kaden_tests::{StoreKind, TestServer, TestStore, error_code};
use serde_json::json;

const FIELDS: &str = "campaign { mainCallerNumber subCallerNumbers readyForCalls notReadyReason statuses { name fixed }
  customerAttributes { name kind choices } resultAttributes { name kind choices } prospectLevels memoTemplates
  report { enabled subject header footer addresses recipientUserIds } } position";

async fn cmp_campaign_configuration(kind: StoreKind) {
    let place = TestStore::new(kind).await;
    let server = TestServer::start(&place).await;
    let admin = server.admin().await;
    let ctx = RequestContext::system("default");
    let numbers = TenantCommand::SetContractedNumbers {
        numbers: vec!["03-1234-5678".into(), "0120-111-222".into()],
    };
    let position = server
        .app
        .state
        .commands
        .tenant("default", numbers, &ctx)
        .await
        .unwrap()
        .unwrap();
    server
        .app
        .state
        .engine
        .wait_for(position, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        admin.ok("{ contractedNumbers }", json!({})).await["contractedNumbers"],
        json!(["0312345678", "0120111222"])
    );

    let created = admin
        .ok(
            &format!("mutation {{ createCampaign(name: \"春\") {{ {FIELDS} }} }}"),
            json!({}),
        )
        .await;
    let c = &created["createCampaign"]["campaign"];
    let id = admin.ok("{ campaigns { id } }", json!({})).await["campaigns"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // CMP-2: no main number, no calls or imports, and the reason says what to set.
    assert_eq!(c["readyForCalls"], false);
    assert!(
        c["notReadyReason"]
            .as_str()
            .unwrap()
            .contains("main caller number")
    );
    // CMP-3: the six fixed statuses are there from the start.
    let fixed: Vec<&str> = c["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        fixed,
        ["不通", "FAX", "現アナ", "見込", "再コール", "架電禁止"]
    );

    let set_numbers = admin
        .ok(&format!("mutation($id: String!) {{ setCallerNumbers(id: $id, main: \"03-1234-5678\", subs: [\"0120 111 222\"]) {{ {FIELDS} }} }}"), json!({"id": id}))
        .await;
    let c = &set_numbers["setCallerNumbers"]["campaign"];
    assert_eq!(
        (
            c["mainCallerNumber"].clone(),
            c["subCallerNumbers"].clone(),
            c["readyForCalls"].clone()
        ),
        (json!("0312345678"), json!(["0120111222"]), json!(true))
    );

    let statuses = admin.ok(&format!("mutation($id: String!) {{ setStatuses(id: $id, custom: [\"アポ\", \"資料送付\"]) {{ {FIELDS} }} }}"), json!({"id": id})).await;
    let all = &statuses["setStatuses"]["campaign"]["statuses"];
    assert_eq!(all.as_array().unwrap().len(), 8);
    assert_eq!(all[6], json!({"name": "アポ", "fixed": false}));
    assert_eq!(all[0], json!({"name": "不通", "fixed": true}));

    let attributes = json!([
        {"name": "業種", "kind": "pulldown", "choices": ["IT", "製造"]},
        {"name": "興味", "kind": "checkbox", "choices": ["A", "B"]},
        {"name": "決裁者", "kind": "radio", "choices": ["はい", "いいえ"]},
        {"name": "備考", "kind": "text"}
    ]);
    let set = admin
        .ok(&format!("mutation($id: String!, $a: [AttributeInput!]!) {{ setAttributes(id: $id, target: \"customer\", attributes: $a) {{ {FIELDS} }} }}"), json!({"id": id, "a": attributes}))
        .await;
    let customer = &set["setAttributes"]["campaign"]["customerAttributes"];
    assert_eq!(
        customer[3],
        json!({"name": "備考", "kind": "text", "choices": []})
    );
    admin.ok(&format!("mutation($id: String!) {{ setProspectLevels(id: $id, levels: [\"A\", \"B\", \"C\"]) {{ {FIELDS} }} }}"), json!({"id": id})).await;
    admin.ok(&format!("mutation($id: String!) {{ setMemoTemplates(id: $id, templates: [\"不在のため再コール\", \"担当者名:\\n\"]) {{ {FIELDS} }} }}"), json!({"id": id})).await;
    let sv = create_user(&admin, "sv1", "SV").await;
    let report = admin
        .ok(
            &format!("mutation($id: String!, $r: ReportInput!) {{ setReportSettings(id: $id, input: $r) {{ {FIELDS} }} }}"),
            json!({"id": id, "r": {"enabled": true, "subject": "【報告】", "header": "お疲れ様です。", "footer": "以上", "addresses": [" sales@example.co.jp "], "recipientUserIds": [sv]}}),
        )
        .await;
    assert_eq!(
        report["setReportSettings"]["campaign"]["report"],
        json!({"enabled": true, "subject": "【報告】", "header": "お疲れ様です。", "footer": "以上", "addresses": ["sales@example.co.jp"], "recipientUserIds": [sv]})
    );
    let read = admin.ok("query($id: String!) { campaign(id: $id) { prospectLevels memoTemplates resultAttributes { name } } }", json!({"id": id})).await;
    assert_eq!(read["campaign"]["prospectLevels"], json!(["A", "B", "C"]));
    assert_eq!(read["campaign"]["memoTemplates"][1], "担当者名:\n");

    // Refusals: typed, helpful, nothing written.
    let before = domain_head(&server).await;
    let m = |q: &str| format!("mutation($id: String!) {{ {q} {{ position }} }}");
    let cases = [
        (
            m("setCallerNumbers(id: $id, main: \"045-999-0000\", subs: [])"),
            "NUMBER_NOT_CONTRACTED",
            "contracted numbers",
        ),
        (
            m("setCallerNumbers(id: $id, main: \"abc\", subs: [])"),
            "PHONE_INVALID_CHARACTER",
            "digits",
        ),
        (
            m("setCallerNumbers(id: $id, main: \"0312345678\", subs: [\"03-1234-5678\"])"),
            "DUPLICATE",
            "listed twice",
        ),
        (
            m("setStatuses(id: $id, custom: [\"見込\"])"),
            "FIXED_STATUS",
            "six fixed statuses",
        ),
        (
            m("setStatuses(id: $id, custom: [\"業種\"])"),
            "NAME_COLLISION",
            "業種",
        ),
        (
            m("setStatuses(id: $id, custom: [\"A\", \"A\"])"),
            "DUPLICATE",
            "keep one",
        ),
        (
            m("setStatuses(id: $id, custom: [\"\"])"),
            "NAME_EMPTY",
            "1 to 100",
        ),
        (
            m(
                "setAttributes(id: $id, target: \"result\", attributes: [{name: \"アポ\", kind: \"text\"}])",
            ),
            "NAME_COLLISION",
            "結果ステータス",
        ),
        (
            m(
                "setAttributes(id: $id, target: \"result\", attributes: [{name: \"x\", kind: \"slider\"}])",
            ),
            "ATTRIBUTE_KIND_UNKNOWN",
            "checkbox",
        ),
        (
            m("setAttributes(id: $id, target: \"order\", attributes: [])"),
            "ATTRIBUTE_TARGET_UNKNOWN",
            "customer or result",
        ),
        (
            m(
                "setAttributes(id: $id, target: \"result\", attributes: [{name: \"x\", kind: \"radio\"}])",
            ),
            "ATTRIBUTE_NEEDS_CHOICES",
            "at least one choice",
        ),
        (
            m(
                "setReportSettings(id: $id, input: {enabled: true, addresses: [\"ok@example.jp\", \"not-an-address\"]})",
            ),
            "EMAIL_INVALID",
            "address 2",
        ),
        (
            m("setReportSettings(id: $id, input: {enabled: true})"),
            "REPORT_WITHOUT_RECIPIENTS",
            "at least one recipient",
        ),
        (
            m("setReportSettings(id: $id, input: {enabled: false, recipientUserIds: [999]})"),
            "NOT_FOUND",
            "999",
        ),
        (
            "mutation { setStatuses(id: \"nope\", custom: []) { position } }".to_string(),
            "NOT_FOUND",
            "check the id",
        ),
    ];
    for (query, code, hint) in &cases {
        let r = admin.gql(query, json!({"id": id})).await;
        assert_eq!(error_code(&r), *code, "{query}: {r}");
        assert!(message(&r).contains(hint), "{query}: {r}");
    }
    assert_eq!(
        domain_head(&server).await,
        before,
        "nothing written on refusal"
    );

    // SV views campaigns but does not configure them.
    let sv_client = login_as(&server, "sv1").await;
    assert_eq!(
        sv_client
            .ok("{ campaigns { readyForCalls } }", json!({}))
            .await["campaigns"][0]["readyForCalls"],
        true
    );
    let refused = sv_client
        .gql(&m("setStatuses(id: $id, custom: [])"), json!({"id": id}))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    assert!(message(&refused).contains("campaign_edit"));
    server.stop().await;

    // The operator sets the contract from the command line.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kaden-under-test"));
    cmd.args([
        "admin",
        "contract",
        "--user-quota",
        "10",
        "--numbers",
        "06-1111-2222, 03-1234-5678",
        "--lines",
        "4",
        "--data-dir",
    ])
    .arg(&place.dir)
    .env("KADEN_LOG", "warn");
    match &place.database_url {
        Some(url) => cmd.env("KADEN_DATABASE_URL", url),
        None => cmd.env_remove("KADEN_DATABASE_URL"),
    };
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "users 2 of 10; licensed lines: 4; contracted numbers: 0611112222, 0312345678"
        ),
        "{stdout}"
    );
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kaden-under-test"));
    cmd.args(["admin", "contract", "--user-quota", "1", "--data-dir"])
        .arg(&place.dir)
        .env("KADEN_LOG", "warn");
    match &place.database_url {
        Some(url) => cmd.env("KADEN_DATABASE_URL", url),
        None => cmd.env_remove("KADEN_DATABASE_URL"),
    };
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("USER_QUOTA_TOO_LOW"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmp_campaign_configuration_sqlite() {
    cmp_campaign_configuration(StoreKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmp_campaign_configuration_postgres() {
    cmp_campaign_configuration(StoreKind::Postgres).await;
}
