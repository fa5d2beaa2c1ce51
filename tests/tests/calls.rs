//! Calls end to end (issue: telephony wired into the product): a real softphone registers to
//! Kaden's registrar with the SIP password set through GraphQL, `placeCall` rings it, the
//! built-in test carrier answers over real SIP/RTP, and the interaction in the log follows the
//! call (placed, ringing, answered, ended with talk time, recording stored and downloadable);
//! saving 不通 drops the recording (REC-1). Refusals by the gate (DNC-5, MON-3, CMP-2) are
//! answered with their code and recorded. Auto-call (CALL-7) walks a folder. Both stores.
//!
//! Long because each call-screen rule is tried end to end over real SIP on both stores.

use std::time::{Duration, Instant};

use kaden_api::calls::TelephonySettings;
use kaden_domain::interaction::CallState;
use kaden_telephony::carrier::{Behaviour, Odds};
use kaden_telephony::dialer::{CallRequest, Refusal};
use kaden_telephony::softphone::Softphone;
use kaden_tests::{
    CALLER_NUMBER, Client, StoreKind, Subscription, TestServer, TestStore, error_code,
    ready_campaign,
};
use serde_json::{Value, json};

const CALL: &str = "id customerId state stateLabel talkSeconds talkMs endedBy status memo suggestedStatus failure { code outcome label } refusal { code reason } recording { url durationMs bytes }";

/// A server with telephony on loopback and a test carrier behaving as `behaviour`.
async fn server(store: &TestStore, behaviour: Behaviour, talk: Duration) -> TestServer {
    let mut settings = store.settings();
    let mut t = TelephonySettings::local([127, 0, 0, 1].into(), 0);
    t.test_carrier.odds = Odds::always(behaviour);
    t.test_carrier.answer_delay = Duration::from_millis(200);
    t.test_carrier.talk_limit = Some(talk);
    settings.telephony = Some(t);
    TestServer::start_with(settings).await
}

/// A campaign ready for calls, a folder with `phones` permitted to the admin; the folder id.
async fn folder(server: &TestServer, admin: &Client, phones: &[&str]) -> (String, u64) {
    let campaign = ready_campaign(server, admin, "電話の案件").await;
    let rows: Vec<Vec<String>> = phones
        .iter()
        .enumerate()
        .map(|(i, p)| vec![p.to_string(), format!("{}社", i + 1)])
        .collect();
    let created = admin
        .ok("mutation($c: String!, $r: [[String!]!]) { createFolder(campaignId: $c, name: \"架電リスト\", columns: [\"電話番号\", \"会社名\"], rows: $r) { folder { id } } }", json!({"c": campaign, "r": rows}))
        .await;
    let id = created["createFolder"]["folder"]["id"].as_u64().unwrap();
    let me = admin.ok("{ me { id } }", json!({})).await;
    admin
        .ok(
            "mutation($f: Int!, $u: [Int!]!) { setFolderUsers(id: $f, userIds: $u) { position } }",
            json!({"f": id, "u": [me["me"]["id"]]}),
        )
        .await;
    (campaign, id)
}

/// Sets the admin's SIP password and signs a softphone in with it.
async fn softphone(admin: &Client) -> Softphone {
    softphone_of(admin, "admin").await
}

/// Sets `user`'s SIP password (through their own client) and signs a softphone in with it.
async fn softphone_of(client: &Client, user: &str) -> Softphone {
    let admin = client;
    let sip = admin
        .ok(
            "mutation { setSipPassword { sipUser password registrar realm } }",
            json!({}),
        )
        .await;
    let sip = &sip["setSipPassword"];
    assert_eq!(sip["sipUser"], user);
    let registrar = sip["registrar"]
        .as_str()
        .unwrap()
        .trim_start_matches("sip:")
        .parse()
        .unwrap();
    let phone = Softphone::start(
        registrar,
        sip["realm"].as_str().unwrap(),
        user,
        sip["password"].as_str().unwrap(),
        None,
    )
    .await
    .expect("the softphone signs in with the SIP password");
    let t = admin
        .ok("{ telephony { registered sipUser lineLimit } }", json!({}))
        .await;
    assert_eq!(t["telephony"]["registered"], true, "{t}");
    phone
}

async fn interaction(admin: &Client, id: &str) -> Value {
    admin
        .ok(
            &format!("query($id: String!) {{ interaction(id: $id) {{ {CALL} }} }}"),
            json!({"id": id}),
        )
        .await["interaction"]
        .clone()
}

/// Polls the interaction until `done` holds (a call takes seconds). An auto-call names the call
/// it dials before its placement is recorded, so `NOT_FOUND` means "not yet" here.
async fn wait_until(admin: &Client, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let answer = admin
            .gql(
                &format!("query($id: String!) {{ interaction(id: $id) {{ {CALL} }} }}"),
                json!({"id": id}),
            )
            .await;
        let code = error_code(&answer);
        assert!(
            code == "<no code>" || code == "NOT_FOUND",
            "interaction {id}: {answer}"
        );
        let v = answer["data"]["interaction"].clone();
        if code == "<no code>" && done(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "call did not get there: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn place(admin: &Client, customer: &str) -> Value {
    admin
        .gql(
            &format!("mutation($c: String!) {{ placeCall(customerId: $c) {{ interaction {{ {CALL} }} position }} }}"),
            json!({"c": customer}),
        )
        .await
}

async fn answered_call_is_recorded_linked_and_dropped_by_no_answer(kind: StoreKind) {
    let store = TestStore::new(kind).await;
    let server = server(&store, Behaviour::Answer, Duration::from_millis(3_000)).await;
    let admin = server.admin().await;
    let (_, folder) = folder(&server, &admin, &["03-5555-0001", "03-5555-0002"]).await;
    let _phone = softphone(&admin).await;
    let mut live = Subscription::open(
        &server,
        admin.token.as_deref(),
        "subscription { callChanged { id state talkSeconds } }",
    )
    .await;

    let placed = place(&admin, "001-001").await;
    let call = &placed["data"]["placeCall"]["interaction"];
    assert!(call.is_object(), "{placed}");
    assert_eq!(call["customerId"], "001-001");
    let id = call["id"].as_str().unwrap().to_string();

    // Hold (CALL-5): the customer is re-INVITEd and hears silence instead of the operator.
    wait_until(&admin, &id, |v| v["state"] == "TALKING").await;
    let hold = |on: bool| {
        admin.ok(
            "mutation($i: String!, $on: Boolean!) { holdCall(interactionId: $i, on: $on) }",
            json!({"i": id, "on": on}),
        )
    };
    assert_eq!(hold(true).await["holdCall"], true);
    let carrier = server.app.state.calls().unwrap();
    let carrier = carrier.carrier.as_ref().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while carrier.stats().holds < 1 {
        assert!(
            Instant::now() < deadline,
            "the customer was not put on hold"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(hold(false).await["holdCall"], true);

    // The carrier answers after 200 ms and hangs up 3 s later.
    let ended = wait_until(&admin, &id, |v| {
        v["state"] == "ENDED" && v["recording"].is_object()
    })
    .await;
    assert_eq!(ended["endedBy"], "CUSTOMER");
    let talk_ms = ended["talkMs"].as_u64().unwrap();
    assert!((2_800..=3_600).contains(&talk_ms), "talk {talk_ms} ms");
    assert_eq!(ended["talkSeconds"].as_u64().unwrap(), talk_ms / 1000);
    let rec = &ended["recording"];
    let duration = rec["durationMs"].as_u64().unwrap();
    assert!(
        duration.abs_diff(talk_ms) <= 100,
        "recording {duration} ms vs talk {talk_ms} ms"
    );
    // The call-state area follows it live.
    let mut states: Vec<String> = Vec::new();
    while !states.iter().any(|s| s == "ENDED") {
        let m = live
            .next_message()
            .await
            .expect("callChanged sends every step");
        let call = &m["payload"]["data"]["callChanged"];
        assert_eq!(call["id"], id.as_str(), "{m}");
        let state = call["state"].as_str().unwrap().to_string();
        if states.last() != Some(&state) {
            states.push(state);
        }
    }
    // Each message shows the call as it is after a change, so changes folded in one batch
    // show once; the order never goes back and the talk is always seen.
    let order = ["DIALLING", "RINGING", "TALKING", "ENDED"];
    let ranks: Vec<usize> = states
        .iter()
        .map(|s| order.iter().position(|o| o == s).expect("a call state"))
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{states:?}");
    assert!(states.iter().any(|s| s == "TALKING"), "{states:?}");

    // The recording downloads as WAV, whole or by range (playback seeks).
    let url = server.url(rec["url"].as_str().unwrap());
    let http = reqwest::Client::new();
    let token = admin.token.clone().unwrap();
    let wav = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(wav.status(), 200);
    assert_eq!(wav.headers()["content-type"], "audio/wav");
    let body = wav.bytes().await.unwrap();
    assert_eq!(&body[..4], b"RIFF");
    assert_eq!(body.len() as u64, rec["bytes"].as_u64().unwrap());
    // Stereo 8 kHz 16-bit: 32 bytes per millisecond after the 44-byte header.
    let wav_ms = (body.len() as u64 - 44) / 32;
    assert!(
        wav_ms.abs_diff(talk_ms) <= 100,
        "WAV {wav_ms} ms vs talk {talk_ms} ms"
    );
    let part = http
        .get(&url)
        .bearer_auth(&token)
        .header("range", "bytes=0-43")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.unwrap().len(), 44);
    let anonymous = http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);

    // LST-9: the customer is worked now.
    let f = admin
        .ok(
            "query($f: Int!) { folder(id: $f) { workCount registeredCount } }",
            json!({"f": folder}),
        )
        .await;
    assert_eq!(f["folder"]["workCount"], 1, "{f}");

    // CALL-6: saves overwrite the status and join the memos; REC-1: 見込 keeps the recording.
    let save = |status: &str, memo: &str| {
        let q = format!(
            "mutation($id: String!, $s: String!, $m: String) {{ saveResult(interactionId: $id, status: $s, memo: $m) {{ {CALL} }} }}"
        );
        let vars = json!({"id": id, "s": status, "m": memo});
        let admin = &admin;
        async move { admin.gql(&q, vars).await }
    };
    let kept = save("見込", "来週に再提案").await;
    assert_eq!(kept["data"]["saveResult"]["status"], "見込", "{kept}");
    assert!(kept["data"]["saveResult"]["recording"].is_object());
    let unknown = save("成約", "").await;
    assert_eq!(error_code(&unknown), "UNKNOWN_STATUS");
    let dropped = save("不通", "留守電でした").await;
    let dropped = &dropped["data"]["saveResult"];
    assert_eq!(dropped["status"], "不通");
    assert_eq!(dropped["memo"], "来週に再提案\n留守電でした");
    assert!(
        dropped["recording"].is_null(),
        "不通 drops the recording: {dropped}"
    );
    let gone = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(gone.status(), 404);
    // The file is deleted by the reaction that reads RecordingDropped from the log.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let files = std::fs::read_dir(store.dir.join("recordings"))
            .unwrap()
            .count();
        if files == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the dropped recording's file is deleted ({files} left)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let history = admin
        .ok(
            &format!("{{ customerInteractions(customerId: \"001-001\") {{ {CALL} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(history["customerInteractions"].as_array().unwrap().len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn answered_call_is_recorded_linked_and_dropped_by_no_answer_sqlite() {
    answered_call_is_recorded_linked_and_dropped_by_no_answer(StoreKind::Sqlite).await;
}

#[tokio::test]
async fn answered_call_is_recorded_linked_and_dropped_by_no_answer_postgres() {
    answered_call_is_recorded_linked_and_dropped_by_no_answer(StoreKind::Postgres).await;
}

/// The refused interactions in the log, as (customer, code).
fn refusals(server: &TestServer) -> Vec<(String, String)> {
    server.app.state.engine.read(|m| {
        m.interactions
            .tenant("default")
            .map(|t| {
                t.recent(None, 100)
                    .into_iter()
                    .filter(|v| v.state == CallState::Refused)
                    .map(|v| (v.target.customer_id.clone(), v.refusal.clone().unwrap().0))
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// Three customers with the second's number on the DNC list of the campaign, a signed-in
/// softphone: (store, server, admin, folder id, phone).
async fn second_on_dnc(
    kind: StoreKind,
    behaviour: Behaviour,
    talk: Duration,
) -> (TestStore, TestServer, Client, String, u64, Softphone) {
    let store = TestStore::new(kind).await;
    let server = server(&store, behaviour, talk).await;
    let admin = server.admin().await;
    let (campaign, folder) = folder(
        &server,
        &admin,
        &["03-5555-0001", "03-5555-0002", "03-5555-0003"],
    )
    .await;
    let phone = softphone(&admin).await;
    admin
        .ok("mutation($c: String!) { registerDnc(numbers: [\"0355550002\"], campaignIds: [$c]) { position } }", json!({"c": campaign}))
        .await;
    (store, server, admin, campaign, folder, phone)
}

async fn the_gate_refuses_and_records(kind: StoreKind) {
    let (_store, server, admin, campaign, _, _phone) =
        second_on_dnc(kind, Behaviour::Answer, Duration::from_millis(1_500)).await;
    // DNC-5: a registered number is never dialled in a campaign it blocks; the refusal names
    // the registration and is recorded.
    let dnc = place(&admin, "001-002").await;
    assert_eq!(error_code(&dnc), "DO_NOT_CALL", "{dnc}");
    let message = dnc["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("架電禁止") && message.contains("0355550002"),
        "{message}"
    );
    server.settle().await;
    assert_eq!(
        refusals(&server),
        vec![("001-002".to_string(), "DO_NOT_CALL".to_string())]
    );

    // CALL-9: only the campaign's own caller numbers can be shown to the customer.
    let foreign = admin
        .gql(
            "mutation { placeCall(customerId: \"001-001\", callerNumber: \"03-9999-8888\") { position } }",
            json!({}),
        )
        .await;
    assert_eq!(
        error_code(&foreign),
        "CALLER_NUMBER_NOT_IN_CAMPAIGN",
        "{foreign}"
    );
    // DNC-5 for manual calls (no campaign), through the same gate: refused when the number is
    // registered for a campaign the chosen caller number serves.
    let calls = server.app.state.calls().unwrap();
    let manual = calls.control.place_call(CallRequest {
        call_ref: "default:manual-check".into(),
        operator: "admin".into(),
        number: "0355550002".into(),
        caller_number: Some(CALLER_NUMBER.into()),
        campaign: None,
        ring_timeout: Duration::from_secs(10),
        record: true,
    });
    assert!(
        matches!(manual, Err(Refusal::DoNotCall { .. })),
        "{manual:?}"
    );

    // MON-3: one licensed line; a second call while the first talks is refused naming the limit.
    let state = &server.app.state;
    let ctx = kaden_api::commands::RequestContext::system("default");
    let p = state
        .commands
        .tenant(
            "default",
            kaden_domain::tenant::TenantCommand::SetLicensedLines { lines: Some(1) },
            &ctx,
        )
        .await
        .unwrap()
        .unwrap();
    state
        .engine
        .wait_for(p, Duration::from_secs(10))
        .await
        .unwrap();
    // A second operator, permitted on the folder, with a phone of their own.
    let op2_id = admin
        .ok("mutation { createUser(input: {username: \"op2\", displayName: \"二号\", role: \"OP\", password: \"blue-violin-harbour-42\"}) { user { id } } }", json!({}))
        .await["createUser"]["user"]["id"]
        .clone();
    let me = admin.ok("{ me { id } }", json!({})).await["me"]["id"].clone();
    admin
        .ok(
            "mutation($u: [Int!]!) { setFolderUsers(id: 1, userIds: $u) { position } }",
            json!({"u": [me, op2_id]}),
        )
        .await;
    let mut op2 = server.client();
    op2.login("op2", "blue-violin-harbour-42").await;
    let _phone2 = softphone_of(&op2, "op2").await;
    let first = place(&admin, "001-001").await;
    let first_id = first["data"]["placeCall"]["interaction"]["id"]
        .as_str()
        .expect("first call placed")
        .to_string();
    // The same operator cannot start a second call while on one.
    let twice = place(&admin, "001-003").await;
    assert_eq!(error_code(&twice), "CALL_IN_PROGRESS", "{twice}");
    let busy = place(&op2, "001-003").await;
    assert_eq!(error_code(&busy), "LINES_EXHAUSTED", "{busy}");
    assert!(
        busy["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("all 1 licensed lines")
    );
    let t = admin
        .ok("{ telephony { linesInUse lineLimit } }", json!({}))
        .await;
    assert_eq!(t["telephony"], json!({"linesInUse": 1, "lineLimit": 1}));
    wait_until(&admin, &first_id, |v| v["state"] == "ENDED").await;
    // The line is back once the call has ended.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let t = admin.ok("{ telephony { linesInUse } }", json!({})).await;
        if t["telephony"]["linesInUse"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "line not returned: {t}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let again = place(&admin, "001-003").await;
    assert!(again["data"]["placeCall"].is_object(), "{again}");
    let again_id = again["data"]["placeCall"]["interaction"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The operator hangs up: the call ends by Kaden.
    let hung = admin
        .ok(
            "mutation($i: String!) { hangUp(interactionId: $i) }",
            json!({"i": again_id}),
        )
        .await;
    assert_eq!(hung["hangUp"], true);
    wait_until(&admin, &again_id, |v| {
        v["state"] == "ENDED" || v["state"] == "FAILED"
    })
    .await;
    // DNC-1: saving 架電禁止 registers the number for the campaign, with its source; the next
    // call to it is refused.
    let saved = admin
        .ok("mutation($i: String!) { saveResult(interactionId: $i, status: \"架電禁止\", memo: \"クレーム\") { status } }", json!({"i": again_id}))
        .await;
    assert_eq!(saved["saveResult"]["status"], "架電禁止");
    // …in the same append as the saved status: adjacent in the log, one transaction.
    {
        use kaden_projections::log::{EventLog, LogPosition};
        let log = server
            .app
            .state
            .store
            .read_after(LogPosition::START, 10_000)
            .await
            .expect("log");
        let saved_at = log
            .iter()
            .rposition(|e| e.event_type == "ResultSaved" && e.aggregate_id.ends_with(&again_id))
            .expect("ResultSaved in the log");
        let next = &log[saved_at + 1];
        assert_eq!(next.aggregate_type, "DncRegistry", "{next:?}");
        assert_eq!(next.position.tx, log[saved_at].position.tx);
    }
    let registered = server.app.state.engine.read(|m| {
        let number = kaden_domain::list::PhoneNumber::from_normalised("0355550003").unwrap();
        kaden_domain::dnc::DncLookup::registration(m.dnc.tenant("default").unwrap(), &number).map(
            |r| {
                (
                    r.source.customer_id.clone(),
                    r.source.interaction_id.clone(),
                )
            },
        )
    });
    assert_eq!(
        registered,
        Some((Some("001-003".to_string()), Some(again_id.clone())))
    );
    let blocked = place(&admin, "001-003").await;
    assert_eq!(error_code(&blocked), "DO_NOT_CALL", "{blocked}");

    // CMP-2: without a main caller number no call is possible, and the refusal says so.
    admin
        .ok(
            "mutation($id: String!) { setCallerNumbers(id: $id, subs: []) { position } }",
            json!({"id": campaign}),
        )
        .await;
    let no_number = place(&admin, "001-001").await;
    assert_eq!(
        error_code(&no_number),
        "NO_MAIN_CALLER_NUMBER",
        "{no_number}"
    );
    server.settle().await;
    let codes: Vec<String> = refusals(&server).into_iter().map(|(_, c)| c).collect();
    assert!(
        codes.contains(&"LINES_EXHAUSTED".to_string())
            && codes.contains(&"NO_MAIN_CALLER_NUMBER".to_string()),
        "{codes:?}"
    );
    // Refused attempts are not calls: only the placed calls count as work (LST-9).
    let f = admin.ok("{ folder(id: 1) { workCount } }", json!({})).await;
    assert_eq!(f["folder"]["workCount"], 2, "{f}");
    // The read-model snapshot (saved every 5 minutes and at shutdown) holds the calls too.
    server
        .app
        .state
        .save_snapshot()
        .await
        .expect("the read models with calls encode as a snapshot");
    let (_, models) = server.app.state.engine.snapshot();
    let back: kaden_projections::ReadModels =
        serde_json::from_str(&serde_json::to_string(&models).unwrap()).unwrap();
    assert_eq!(back, models);
    server.stop().await;
}

#[tokio::test]
async fn dnc_5_mon_3_cmp_2_the_gate_refuses_and_records_sqlite() {
    the_gate_refuses_and_records(StoreKind::Sqlite).await;
}

#[tokio::test]
async fn dnc_5_mon_3_cmp_2_the_gate_refuses_and_records_postgres() {
    the_gate_refuses_and_records(StoreKind::Postgres).await;
}

#[tokio::test]
async fn call_7_auto_call_saves_no_answer_passes_over_dnc_and_dials_the_next() {
    let (_store, server, admin, _, folder, _phone) = second_on_dnc(
        StoreKind::Sqlite,
        Behaviour::NoAnswer,
        Duration::from_secs(5),
    )
    .await;
    let out_of_range = admin
        .gql(
            "mutation($f: Int!) { startAutoCall(folderId: $f, ringSeconds: 9) { running } }",
            json!({"f": folder}),
        )
        .await;
    assert_eq!(error_code(&out_of_range), "RING_TIME_OUT_OF_RANGE");
    let started = admin
        .ok("mutation($f: Int!) { startAutoCall(folderId: $f, ringSeconds: 10) { running ringSeconds } }", json!({"f": folder}))
        .await;
    assert_eq!(started["startAutoCall"]["running"], true);
    let q = "{ autoCall { running dialled current passedOver { customerId code } stoppedCode stoppedMessage } }";
    let deadline = Instant::now() + Duration::from_secs(50);
    let stopped = loop {
        let a = admin.ok(q, json!({})).await;
        if a["autoCall"]["running"] == false {
            break a["autoCall"].clone();
        }
        assert!(Instant::now() < deadline, "auto-call still running: {a}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(stopped["stoppedCode"], "NO_MORE_CUSTOMERS", "{stopped}");
    assert_eq!(
        stopped["passedOver"],
        json!([{"customerId": "001-002", "code": "DO_NOT_CALL"}])
    );
    for customer in ["001-001", "001-003"] {
        let h = admin
            .ok(
                &format!("{{ customerInteractions(customerId: \"{customer}\") {{ {CALL} }} }}"),
                json!({}),
            )
            .await;
        let calls = h["customerInteractions"].as_array().unwrap();
        assert_eq!(calls.len(), 1, "{customer}: {h}");
        let call = &calls[0];
        assert_eq!(call["state"], "FAILED");
        assert_eq!(call["failure"]["outcome"], "NO_ANSWER", "{call}");
        assert_eq!(call["status"], "不通", "CALL-7: saved as 不通: {call}");
        assert!(call["recording"].is_null());
    }
    server.settle().await;
    assert_eq!(
        refusals(&server),
        vec![("001-002".to_string(), "DO_NOT_CALL".to_string())]
    );

    // Stopping a run hangs up the call it is dialling; a cancelled call is not saved as 不通.
    admin
        .ok(
            "mutation($f: Int!) { startAutoCall(folderId: $f, ringSeconds: 10) { running } }",
            json!({"f": folder}),
        )
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let current = loop {
        let a = admin.ok(q, json!({})).await;
        if let Some(c) = a["autoCall"]["current"].as_str() {
            break c.to_string();
        }
        assert!(Instant::now() < deadline, "nothing dialled: {a}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let stopped = admin.ok("mutation { stopAutoCall }", json!({})).await;
    assert_eq!(stopped["stopAutoCall"], true);
    let again = admin.ok("mutation { stopAutoCall }", json!({})).await;
    assert_eq!(again["stopAutoCall"], false, "nothing left to stop");
    let a = admin.ok(q, json!({})).await;
    assert_eq!(a["autoCall"]["running"], false);
    assert_eq!(a["autoCall"]["stoppedCode"], "STOPPED");
    let cancelled = wait_until(&admin, &current, |v| v["state"] == "FAILED").await;
    assert!(cancelled["status"].is_null(), "{cancelled}");
    server.stop().await;
}

#[tokio::test]
async fn calls_need_a_sip_account_and_biz_cannot_dial() {
    let store = TestStore::new(StoreKind::Sqlite).await;
    let server = server(&store, Behaviour::Answer, Duration::from_secs(1)).await;
    let admin = server.admin().await;
    folder(&server, &admin, &["03-5555-0001"]).await;
    let no_account = place(&admin, "001-001").await;
    assert_eq!(error_code(&no_account), "NO_SIP_ACCOUNT", "{no_account}");
    // A SIP account without a signed-in phone: the gate says to start the softphone.
    admin
        .ok("mutation { setSipPassword { sipUser } }", json!({}))
        .await;
    let no_phone = place(&admin, "001-001").await;
    assert_eq!(error_code(&no_phone), "PHONE_NOT_REGISTERED", "{no_phone}");
    admin
        .ok("mutation { createUser(input: {username: \"biz1\", displayName: \"閲覧\", role: \"BIZ\", password: \"blue-violin-harbour-42\"}) { user { id } } }", json!({}))
        .await;
    let mut biz = server.client();
    biz.login("biz1", "blue-violin-harbour-42").await;
    let refused = place(&biz, "001-001").await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    server.stop().await;
}

/// USR-7 for calls: another tenant (by Host) sees none of this tenant's calls, recordings or
/// customers, cannot hang up or save them, and its users get SIP accounts of their own.
#[tokio::test]
async fn usr_7_calls_stay_inside_their_tenant() {
    let store = TestStore::new(StoreKind::Sqlite).await;
    let mut settings = store.settings();
    settings.tenant_hosts =
        std::collections::HashMap::from([("beta.test".to_string(), "beta".to_string())]);
    let mut t = TelephonySettings::local([127, 0, 0, 1].into(), 0);
    t.test_carrier.odds = Odds::always(Behaviour::Answer);
    t.test_carrier.answer_delay = Duration::from_millis(200);
    t.test_carrier.talk_limit = Some(Duration::from_millis(800));
    settings.telephony = Some(t);
    let server = TestServer::start_with(settings).await;
    let admin = server.admin().await;
    folder(&server, &admin, &["03-5555-0001"]).await;
    let _phone = softphone(&admin).await;
    let placed = place(&admin, "001-001").await;
    let id = placed["data"]["placeCall"]["interaction"]["id"]
        .as_str()
        .expect("placed")
        .to_string();
    let ended = wait_until(&admin, &id, |v| v["recording"].is_object()).await;
    let url = server.url(ended["recording"]["url"].as_str().unwrap());

    kaden_api::app::create_manager(&server.app.state, "beta", "mgr", "blue-violin-harbour-42")
        .await
        .unwrap();
    let mut beta = server.client();
    let login = beta
        .gql_with_header(
            "host",
            "beta.test",
            "mutation { login(username: \"mgr\", password: \"blue-violin-harbour-42\") { token } }",
            json!({}),
        )
        .await;
    beta.token = login["data"]["login"]["token"].as_str().map(str::to_string);
    assert!(beta.token.is_some(), "{login}");
    let ask = |query: String| {
        let beta = &beta;
        async move {
            beta.gql_with_header("host", "beta.test", &query, json!({}))
                .await
        }
    };
    let seen = ask(format!("{{ interaction(id: \"{id}\") {{ id }} }}")).await;
    assert_eq!(error_code(&seen), "NOT_FOUND", "{seen}");
    let history = ask("{ customerInteractions(customerId: \"001-001\") { id } }".into()).await;
    assert_eq!(
        history["data"]["customerInteractions"],
        json!([]),
        "{history}"
    );
    let hang = ask(format!("mutation {{ hangUp(interactionId: \"{id}\") }}")).await;
    assert_eq!(error_code(&hang), "NOT_FOUND", "{hang}");
    let save = ask(format!(
        "mutation {{ saveResult(interactionId: \"{id}\", status: \"不通\") {{ id }} }}"
    ))
    .await;
    assert_eq!(error_code(&save), "NOT_FOUND", "{save}");
    let call = ask("mutation { placeCall(customerId: \"001-001\") { position } }".into()).await;
    assert_eq!(
        error_code(&call),
        "NOT_FOUND",
        "beta cannot call alpha's customer: {call}"
    );
    let sip = ask("mutation { setSipPassword { sipUser } }".into()).await;
    assert_eq!(sip["data"]["setSipPassword"]["sipUser"], "mgr+beta");
    let wav = reqwest::Client::new()
        .get(&url)
        .header("host", "beta.test")
        .bearer_auth(beta.token.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(wav.status(), 404, "another tenant's recording is not found");
    // The owner still has it all.
    assert!(interaction(&admin, &id).await["recording"].is_object());
    server.stop().await;
}
