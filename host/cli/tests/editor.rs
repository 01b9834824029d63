//! What the flow editor asks of the server, against a real `weft serve`
//! with real plugins: validating without saving, test runs with pinned
//! outputs (the application hears nothing from a pinned step), expression
//! previews on sample data, and versions — diff and roll back.

use serde_json::{Value, json};
use weft_tests::app::TestApp;
use weft_tests::http::request;
use weft_tests::plugins;
use weft_tests::weft::{TOKEN, Weft, workspace};

const EXE: &str = env!("CARGO_BIN_EXE_weft");

/// Tidy a contact, POST it to the app, then tidy the answer again.
const FLOW: &str = r#"
name: to-app
trigger: manual
steps:
  - id: clean
    transform: clean-contact
    input: "{{ trigger }}"
  - id: create
    action: http.request
    connection: app
    input:
      method: POST
      url: /echo
      body: { email: "{{ steps.clean.output.email }}" }
  - id: done
    transform: identity
    input: { serial: "{{ steps.create.output.body.serial }}" }
"#;

/// A weft with the clean-contact and identity transforms, the http connector,
/// and the `app` connection to a real HTTP app that counts its requests.
async fn weft_with_app() -> (TestApp, tempfile::TempDir, Weft) {
    let app = TestApp::start().await;
    let (dir, data, plugin_dir) = workspace(&[plugins::HTTP, plugins::CLEAN_CONTACT, plugins::IDENTITY]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    let connection = json!({ "plugin": "http", "settings": { "base_url": app.url("") }, "hosts": [app.grant()] });
    weft.ok("PUT", "/api/connections/app", Some(&connection)).await;
    (app, dir, weft)
}

async fn send_text(weft: &Weft, method: &str, path: &str, text: &str) -> weft_tests::http::Reply {
    request(method, &weft.url(path), &[("authorization", &format!("Bearer {TOKEN}"))], text.to_string()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_without_saving_names_each_problem_and_its_place() {
    let (_app, _dir, weft) = weft_with_app().await;
    let check = |text: String| {
        let weft = &weft;
        async move {
            let reply = send_text(weft, "POST", "/api/flows/validate", &text).await;
            assert_eq!(reply.status, 200, "{}", reply.text());
            reply.json()
        }
    };

    let ok = check(FLOW.to_string()).await;
    assert_eq!(ok["valid"], json!(true), "{ok}");
    assert_eq!(ok["problems"], json!([]));
    assert_eq!(ok["flow"]["steps"][1]["action"], "http.request", "the parsed definition comes back");
    assert_eq!(weft.api("GET", "/api/flows/to-app", None).await.status, 404, "nothing was saved");

    let wrong_type = check(FLOW.replace("url: /echo", "url: 5")).await;
    assert_eq!(wrong_type["valid"], json!(false));
    assert_eq!(
        wrong_type["problems"],
        json!([{ "path": "steps.create.input.url", "message": "5 is not of type \"string\"" }])
    );
    let several = check(FLOW.replace("connection: app", "connection: nope").replace("clean-contact", "unclean")).await;
    let paths: Vec<&str> =
        several["problems"].as_array().unwrap().iter().map(|p| p["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["steps.clean.transform", "steps.create.connection"], "{several}");

    let misspelt = check(FLOW.replace("    transform: identity", "    transfrom: identity")).await;
    let problem = &misspelt["problems"][0];
    assert_eq!(problem["path"], "steps[2].transfrom", "{misspelt}");
    assert!(problem["message"].as_str().unwrap().contains("unknown field `transfrom`"), "{misspelt}");
    assert_eq!(misspelt["flow"], Value::Null);

    let broken = check("name: x\ntrigger: manual\nsteps: [\n".to_string()).await;
    let problem = &broken["problems"][0];
    assert_eq!((problem["line"].as_u64(), problem["path"].as_str()), (Some(4), Some("")), "{broken}");
    assert!(problem["message"].as_str().unwrap().starts_with("invalid flow YAML:"), "{broken}");

    // Saving an invalid flow is refused with the same problems, listed apart.
    let refused = send_text(&weft, "POST", "/api/flows", &FLOW.replace("url: /echo", "url: 5")).await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.json()["problems"], wrong_type["problems"]);
    assert!(refused.json()["error"].as_str().unwrap().contains("steps.create.input.url"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_test_run_with_a_pinned_action_sends_the_app_nothing_and_is_kept_apart() {
    let (app, _dir, weft) = weft_with_app().await;
    let contact = json!({ "name": "Ada Lovelace", "email": " ADA@Example.com " });

    // The flow is not even saved: a test runs what the editor holds.
    let body = json!({
        "flow": FLOW,
        "trigger": contact,
        "pinned": { "create": { "status": 201, "body": { "serial": 99 } } },
    });
    let out = weft.ok("POST", "/api/flows/test?wait=true", Some(&body)).await;
    assert_eq!(out["run"]["status"], "succeeded", "{out}");
    assert_eq!(out["run"]["output"], json!({ "serial": 99 }), "later steps read the pinned output");
    assert_eq!(app.requests(), 0, "the app received no request");
    let steps = out["steps"].as_array().unwrap();
    let create = steps.iter().find(|s| s["step_id"] == "create").unwrap();
    assert_eq!(create["pinned"], json!(true));
    assert_eq!(create["input"]["body"]["email"], "ada@example.com", "its input is shown all the same");
    assert!(out["run"]["test"]["pinned"]["create"].is_object(), "{out}");
    let test_id = out["run"]["id"].as_str().unwrap().to_string();

    // Unpinned, the action runs for real; `until` stops after one step.
    let body = json!({ "flow": serde_yaml_ng::from_str::<Value>(FLOW).unwrap(), "trigger": contact });
    let out = weft.ok("POST", "/api/flows/test?wait=true", Some(&body)).await;
    assert_eq!(out["run"]["status"], "succeeded", "{out}");
    assert_eq!(app.requests(), 1);
    let body = json!({ "flow": FLOW, "trigger": contact, "until": "clean" });
    let out = weft.ok("POST", "/api/flows/test?wait=true", Some(&body)).await;
    assert_eq!(out["run"]["output"]["email"], "ada@example.com", "{out}");
    assert_eq!(out["steps"].as_array().unwrap().len(), 1);
    assert_eq!(app.requests(), 1);

    // Test runs are listed apart and never counted as the flow's runs.
    send_text(&weft, "POST", "/api/flows", FLOW).await;
    assert_eq!(weft.ok("GET", "/api/runs?flow=to-app", None).await, json!([]));
    let tests = weft.ok("GET", "/api/runs?flow=to-app&test=true", None).await;
    assert_eq!(tests.as_array().unwrap().len(), 3);
    assert_eq!(tests[2]["id"], json!(test_id), "newest first");
    let stats = weft.ok("GET", "/api/stats", None).await;
    assert_eq!(stats["flows"]["to-app"]["runs_24h"], 0, "{stats}");

    // Bad requests say what is wrong.
    let bad = weft.api("POST", "/api/flows/test", Some(&json!({ "flow": FLOW, "pinned": { "ghost": 1 } }))).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"], r#"pinned output for "ghost": "ghost" is not a step of the flow"#);
    let bad = weft.api("POST", "/api/flows/test", Some(&json!({ "flow": FLOW.replace("url: /echo", "url: 5") }))).await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.json()["problems"][0]["path"], "steps.create.input.url");
    let bad = weft.api("POST", "/api/flows/test", Some(&json!({ "flow": "name: [" }))).await;
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"].as_str().unwrap().starts_with("flow: invalid flow YAML"), "{}", bad.text());
    let bad = weft.api("POST", "/api/flows/test", Some(&json!({ "flw": FLOW }))).await;
    assert!(bad.json()["error"].as_str().unwrap().contains("unknown field `flw`"), "{}", bad.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn expressions_preview_on_sample_data() {
    let (_app, _dir, weft) = weft_with_app().await;
    let preview = |body: Value| {
        let weft = &weft;
        async move { weft.ok("POST", "/api/expressions/preview", Some(&body)).await }
    };
    let sample = json!({ "trigger": { "name": "Ada" }, "steps": { "fetch": { "output": { "email": "ada@example.com", "n": 3 } } } });
    let mut body = sample.clone();
    body["template"] = json!("{{ steps.fetch.output.email }}");
    assert_eq!(preview(body.clone()).await, json!({ "value": "ada@example.com" }));
    body["template"] = json!({ "to": "{{ trigger.name | upper }} <{{ steps.fetch.output.email }}>", "n": "{{ steps.fetch.output.n }}" });
    assert_eq!(preview(body.clone()).await, json!({ "value": { "to": "ADA <ada@example.com>", "n": 3 } }));
    body["template"] = json!({ "a": "{{ steps.fetch.output. }}" });
    let out = preview(body.clone()).await;
    assert_eq!(out["path"], "a", "{out}");
    assert!(out["error"].as_str().unwrap().contains("syntax error"), "{out}");
    let bad = weft.api("POST", "/api/expressions/preview", Some(&json!({ "steps": [] }))).await;
    assert_eq!(bad.status, 400, "{}", bad.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn versions_diff_and_roll_back_and_new_runs_take_the_restored_one() {
    let (app, _dir, weft) = weft_with_app().await;
    assert_eq!(send_text(&weft, "POST", "/api/flows", FLOW).await.status, 201);
    let v2 = FLOW.replace("url: /echo", "url: /echo/v2");
    assert_eq!(send_text(&weft, "PUT", "/api/flows/to-app", &v2).await.status, 200);

    let diff = weft.ok("GET", "/api/flows/to-app/diff?from=1&to=2", None).await;
    let text = diff["diff"].as_str().unwrap();
    assert!(text.contains("--- to-app v1\n+++ to-app v2\n"), "{text}");
    assert!(text.contains("-    url: /echo\n+    url: /echo/v2\n"), "{text}");
    assert_eq!(diff["changed"], json!(true));
    let same = weft.ok("GET", "/api/flows/to-app/diff?from=2", None).await;
    assert_eq!(
        (same["to"].as_u64(), same["changed"].as_bool(), same["diff"].as_str()),
        (Some(2), Some(false), Some(""))
    );
    assert_eq!(weft.api("GET", "/api/flows/to-app/diff?from=7", None).await.status, 404);

    let restored = weft.ok("POST", "/api/flows/to-app/versions/1/restore", None).await;
    assert_eq!((restored["version"].as_u64(), restored["changed"].as_bool()), (Some(3), Some(true)), "{restored}");
    let v1 = weft.ok("GET", "/api/flows/to-app/versions/1", None).await;
    let v3 = weft.ok("GET", "/api/flows/to-app", None).await;
    assert_eq!(v3["flow"]["def"], v1["flow"]["def"]);
    let again = weft.ok("POST", "/api/flows/to-app/versions/3/restore", None).await;
    assert_eq!(again["changed"], json!(false), "restoring the current version changes nothing");
    assert_eq!(weft.api("POST", "/api/flows/to-app/versions/9/restore", None).await.status, 404);

    let run = weft.ok("POST", "/api/flows/to-app/runs?wait=true", Some(&json!({ "email": "a@b.c" }))).await;
    assert_eq!((run["run"]["status"].as_str(), run["run"]["version"].as_u64()), (Some("succeeded"), Some(3)), "{run}");
    let paths: Vec<String> = app.log().into_iter().map(|r| r.1).collect();
    assert_eq!(paths, ["/echo"], "the run took the restored version");
}

// ---- the editor in a real browser ------------------------------------------------------------------

use std::time::{Duration, Instant};
use weft_tests::browser::Browser;
use weft_tests::json_server::JsonServer;

async fn signed_in(weft: &Weft) -> Browser {
    let b = Browser::start().await;
    b.client.goto(&weft.url("/")).await.unwrap();
    b.type_into("[data-testid=token]", TOKEN).await;
    b.click("[data-testid=sign-in]").await;
    b.find("a[href='/flows']").await;
    b
}

/// Wait until `check` holds, polling (10 s at most).
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Type at the end of what a field holds (WebDriver types where the cursor is: the end).
async fn type_more(b: &Browser, css: &str, text: &str) {
    b.find(css).await.send_keys(text).await.unwrap();
}

/// A user builds "new contact → jq reshape → create lead" from nothing, maps
/// two fields by clicking them in a sample, saves, activates, and sees a new
/// contact become a lead; then breaks and fixes a field and watches the
/// problem come and go.
#[tokio::test(flavor = "multi_thread")]
async fn a_flow_is_built_in_the_editor_from_nothing_and_runs() {
    let crm = JsonServer::start(&json!({ "contacts": [{ "id": 1, "first_name": "Old", "last_name": "Contact", "email": "old@example.com" }], "leads": [] })).await;
    let (_dir, data, plugin_dir) = workspace(&[plugins::RECORDS, plugins::JQ]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    let connection = json!({ "plugin": "records", "settings": { "base_url": crm.url() }, "hosts": [crm.grant()] });
    weft.ok("PUT", "/api/connections/crm-records", Some(&connection)).await;
    let b = signed_in(&weft).await;

    // A new flow: its name, and its trigger picked from the connectors' polling triggers.
    b.click("a[href='/flows']").await;
    b.click("[data-testid=new-flow]").await;
    b.type_into("[data-testid=flow-name]", "new-contact-to-lead").await;
    b.click("[data-testid=flow-node-trigger]").await;
    b.find("[data-testid=trigger-kind]").await.select_by_value("polling").await.unwrap();
    b.find("[data-testid=trigger-connector]").await.select_by_value("records").await.unwrap();
    b.find("[data-testid=trigger-name]").await.select_by_value("new_record").await.unwrap();
    b.find("[data-testid=trigger-connection]").await.select_by_value("crm-records").await.unwrap();
    b.type_into("[data-testid=trigger-config-field-collection]", "contacts").await;
    b.type_into("[data-testid=trigger-interval]", "30s").await;

    // A sample event to map from.
    b.find("[data-testid=sample-source]").await.select_by_value("paste").await.unwrap();
    b.type_into(
        "[data-testid=sample-paste]",
        r#"{"id": 7, "first_name": "Ada", "last_name": "Lovelace", "email": "ADA@EXAMPLE.COM"}"#,
    )
    .await;
    b.click("[data-testid=sample-paste-use]").await;
    b.find("[data-testid='data-trigger.email']").await;

    // The jq step, from the palette; its data mapped by clicking the event.
    b.click("[data-testid=add-step]").await;
    b.type_into("[data-testid=palette-search]", "jq").await;
    b.click("[data-testid=palette-jq]").await;
    b.find("[data-testid=step-editor]").await;
    b.type_into("[data-testid=step-id]", "reshape").await;
    b.click("[data-testid=input-as-json-root]").await;
    let program = r#"{contact_id: .id, label: (.first_name + \" \" + .last_name), email: (.email | ascii_downcase)}"#;
    b.type_into("[data-testid=input-root]", &format!(r#"{{"program": "{program}", "data": "#)).await;
    b.click("[data-testid='data-trigger']").await;
    type_more(&b, "[data-testid=input-root]", "}").await;
    b.screenshot("editor-jq").await;
    // Test the step alone: its output becomes part of the sample.
    b.click("[data-testid=test-step]").await;
    b.text_until("[data-testid=step-result-status]", |t| t.to_lowercase().contains("succeeded")).await;

    // The records action, its record mapped by clicking two fields of the jq output.
    b.click("[data-testid=add-step]").await;
    b.type_into("[data-testid=palette-search]", "records.create").await;
    b.click("[data-testid='palette-records.create']").await;
    b.type_into("[data-testid=step-id]", "lead").await;
    b.find("[data-testid='data-steps.reshape.output.label']").await;
    b.type_into("[data-testid=input-field-collection]", "leads").await;
    b.type_into("[data-testid=input-field-record]", r#"{"contact_id": "#).await;
    b.click("[data-testid='data-steps.reshape.output.contact_id']").await;
    type_more(&b, "[data-testid=input-field-record]", r#", "label": "#).await;
    b.click("[data-testid='data-steps.reshape.output.label']").await;
    type_more(&b, "[data-testid=input-field-record]", "}").await;
    b.text_until("[data-testid=validity]", |t| t == "valid").await;
    b.screenshot("editor-action").await;

    // Save, activate; a contact added to the application becomes a lead.
    b.click("[data-testid=save-flow]").await;
    b.text_until("[data-testid=saved]", |t| t.contains("version 1")).await;
    b.click("[data-testid=editor-active]").await;
    eventually("the flow is active", || async {
        weft.ok("GET", "/api/flows/new-contact-to-lead", None).await["trigger"]["active"] == json!(true)
    })
    .await;
    let def = weft.ok("GET", "/api/flows/new-contact-to-lead", None).await["flow"]["def"].clone();
    assert_eq!(def["steps"][0]["input"]["data"], "{{ trigger }}", "{def}");
    assert_eq!(
        def["steps"][1]["input"]["record"],
        json!({ "contact_id": "{{ steps.reshape.output.contact_id }}", "label": "{{ steps.reshape.output.label }}" })
    );
    // The first poll only notes what is there; what comes after is new.
    weft.ok("POST", "/api/flows/new-contact-to-lead/poll", None).await;
    crm.add("contacts", &json!({ "first_name": "Grace", "last_name": "Hopper", "email": "GRACE@EXAMPLE.COM" })).await;
    weft.ok("POST", "/api/flows/new-contact-to-lead/poll", None).await;
    eventually("the lead appears", || async { crm.get("/leads").await.as_array().is_some_and(|l| !l.is_empty()) })
        .await;
    let leads = crm.get("/leads").await;
    assert_eq!(leads[0]["label"], "Grace Hopper", "{leads}");
    assert_eq!(leads[0]["contact_id"], 2, "{leads}");

    // The run, in the inspector.
    let runs = weft.ok("GET", "/api/runs?flow=new-contact-to-lead", None).await;
    let run = runs[0]["id"].as_str().unwrap().to_string();
    weft.finished(&run).await;
    b.client.goto(&weft.url(&format!("/runs/{run}"))).await.unwrap();
    b.text_until("[data-testid=run-status]", |t| t.contains("succeeded")).await;
    b.find("[data-testid='step-row-lead']").await;
    b.screenshot("editor-run").await;

    // A problem shows on its field while typing and goes when fixed.
    b.client.goto(&weft.url("/flows/new-contact-to-lead/edit")).await.unwrap();
    b.click("[data-testid=flow-node-trigger]").await;
    b.type_into("[data-testid=trigger-interval]", "soon").await;
    let problem = b.text_until("[data-testid=problem-interval]", |t| !t.is_empty()).await;
    assert!(problem.contains("\"soon\" is not a duration"), "{problem}");
    b.find("[data-testid=flow-node-trigger-problems]").await;
    b.screenshot("editor-problem").await;
    b.type_into("[data-testid=trigger-interval]", "45s").await;
    b.text_until("[data-testid=validity]", |t| t == "valid").await;
    let gone = b.script("return document.querySelector('[data-testid=problem-interval]') === null").await;
    assert_eq!(gone, json!(true), "the problem went with the fix");
    b.close().await;
}

/// Every example flow opens in the editor and saves back, through the
/// diagram and through the YAML tab, as the same definition: the server
/// finds nothing changed.
#[tokio::test(flavor = "multi_thread")]
async fn every_example_round_trips_through_the_editor() {
    let (_dir, data, plugin_dir) = workspace(&[
        plugins::HTTP,
        plugins::CLEAN_CONTACT,
        plugins::RECORDS,
        plugins::JQ,
        plugins::GITHUB,
        plugins::SLACK,
        plugins::TEMPLATE,
    ]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    for (id, plugin) in
        [("crm", "http"), ("inbox", "http"), ("crm-records", "records"), ("github", "github"), ("slack", "slack")]
    {
        weft.ok("PUT", &format!("/api/connections/{id}"), Some(&json!({ "plugin": plugin }))).await;
    }
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut files: Vec<_> = std::fs::read_dir(&examples).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    assert!(files.len() >= 7, "{files:?}");
    let b = signed_in(&weft).await;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let reply = send_text(&weft, "POST", "/api/flows", &text).await;
        assert_eq!(reply.status, 201, "{}: {}", file.display(), reply.text());
        let name = reply.json()["name"].as_str().unwrap().to_string();
        b.client.goto(&weft.url(&format!("/flows/{name}/edit"))).await.unwrap();
        b.text_until("[data-testid=validity]", |t| t == "valid").await;
        if name == "signup-answer" {
            // A sub-flow call and the webhook's answers are steps of their own on the diagram.
            for node in ["node-accepted", "node-sync", "node-refused"] {
                b.find(&format!("[data-testid={node}]")).await;
            }
            b.click("[data-testid=node-sync]").await;
            assert_eq!(
                b.find("[data-testid=step-call]").await.prop("value").await.unwrap().as_deref(),
                Some("contact-sync")
            );
            b.screenshot("editor-call-respond").await;
        }
        // Through the YAML tab and back to the diagram, then saved from the diagram…
        b.click("[data-testid=tab-yaml]").await;
        b.find("[data-testid=yaml-editor] .cm-content").await;
        b.click("[data-testid=tab-visual]").await;
        b.find("[data-testid=flow-diagram]").await;
        b.click("[data-testid=save-flow]").await;
        let saved = b.text_until("[data-testid=saved]", |t| !t.is_empty()).await;
        assert_eq!(saved, "No changes: still version 1.", "{name} from the diagram");
        // …and saved from the YAML tab, as text.
        b.click("[data-testid=tab-yaml]").await;
        b.find("[data-testid=yaml-editor] .cm-content").await;
        if name == "github-issue-to-slack" {
            b.screenshot("editor-yaml").await;
        }
        b.click("[data-testid=save-flow]").await;
        let saved = b.text_until("[data-testid=saved]", |t| !t.is_empty()).await;
        assert_eq!(saved, "No changes: still version 1.", "{name} from the YAML tab");
        let stored = weft.ok("GET", &format!("/api/flows/{name}"), None).await;
        let original = weft_core::model::FlowDef::parse(&text).unwrap();
        assert_eq!(weft_core::model::FlowDef::from_value(stored["flow"]["def"].clone()).unwrap(), original, "{name}");
        assert_eq!(stored["flow"]["version"], 1, "{name}");
    }
    b.close().await;
}

/// A test run with a pinned action sends the application nothing; a problem
/// typed in the YAML tab is marked on its line and goes when fixed; rolling
/// back to an earlier version from the flow page makes new runs take it.
#[tokio::test(flavor = "multi_thread")]
async fn pinned_tests_yaml_problems_and_roll_back_in_the_browser() {
    let (app, _dir, weft) = weft_with_app().await;
    assert_eq!(send_text(&weft, "POST", "/api/flows", FLOW).await.status, 201);
    let b = signed_in(&weft).await;
    b.client.goto(&weft.url("/flows/to-app/edit")).await.unwrap();
    b.text_until("[data-testid=validity]", |t| t == "valid").await;

    // A sample event, the action's output pinned: the whole flow is tested without the app.
    b.find("[data-testid=sample-source]").await.select_by_value("paste").await.unwrap();
    b.type_into("[data-testid=sample-paste]", r#"{"name": "Ada Lovelace", "email": "ADA@example.com"}"#).await;
    b.click("[data-testid=sample-paste-use]").await;
    b.click("[data-testid=node-create]").await;
    b.click("[data-testid=step-pin]").await;
    b.type_into("[data-testid=step-pin-value]", r#"{"status": 201, "body": {"serial": 41}}"#).await;
    b.click("[data-testid=test-flow]").await;
    b.text_until("[data-testid=node-done-status]", |t| t.to_lowercase().contains("succeeded")).await;
    b.text_until("[data-testid=node-create-status]", |t| t.to_lowercase().contains("pinned")).await;
    b.text_until("[data-testid=step-result-output]", |t| t.contains("41")).await;
    b.screenshot("editor-pinned-test").await;
    assert_eq!(app.requests(), 0, "the application received no request");
    let tests = weft.ok("GET", "/api/runs?flow=to-app&test=true", None).await;
    assert_eq!(tests[0]["status"], "succeeded", "{tests}");
    assert_eq!(tests[0]["output"], json!({ "serial": 41 }));
    assert_eq!(weft.ok("GET", "/api/runs?flow=to-app", None).await, json!([]), "no production run");

    // The YAML tab: a wrong type is marked while typing, and the mark goes with the fix.
    b.click("[data-testid=tab-yaml]").await;
    let editor = "[data-testid=yaml-editor] .cm-content";
    b.find(editor).await;
    b.script(
        "const line = [...document.querySelectorAll('[data-testid=yaml-editor] .cm-line')].find(l => l.textContent.includes('url: /echo')); \
         const range = document.createRange(); range.selectNodeContents(line); range.collapse(false); \
         const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range); return null",
    )
    .await;
    b.find(editor).await.send_keys("\u{0008}\u{0008}\u{0008}\u{0008}\u{0008}5").await.unwrap();
    let problems = b.text_until("[data-testid=yaml-editor-problems]", |t| t.contains("is not of type")).await;
    assert!(
        problems.contains("steps.create.input.url") && problems.contains("5 is not of type \"string\""),
        "{problems}"
    );
    b.find(".cm-lintRange-error").await;
    b.screenshot("editor-yaml-problem").await;
    b.find(editor).await.send_keys("\u{0008}/echo").await.unwrap();
    b.text_until("[data-testid=validity]", |t| t == "valid").await;
    let gone = b.script("return document.querySelector('[data-testid=yaml-editor-problems]') === null").await;
    assert_eq!(gone, json!(true));
    // A change saved from the YAML tab is a new version.
    b.script(
        "const line = [...document.querySelectorAll('[data-testid=yaml-editor] .cm-line')].find(l => l.textContent.includes('url: /echo')); \
         const range = document.createRange(); range.selectNodeContents(line); range.collapse(false); \
         const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range); return null",
    )
    .await;
    b.find(editor).await.send_keys("/v2").await.unwrap();
    b.text_until("[data-testid=validity]", |t| t == "valid").await;
    b.click("[data-testid=save-flow]").await;
    b.text_until("[data-testid=saved]", |t| t.contains("version 2")).await;
    let current = weft.ok("GET", "/api/flows/to-app", None).await;
    assert_eq!(current["flow"]["def"]["steps"][1]["input"]["url"], "/echo/v2");

    // The flow page: compare versions, then roll back to the first.
    b.client.goto(&weft.url("/flows/to-app")).await.unwrap();
    b.click("[data-testid=version-1]").await;
    b.find("[data-testid=diff-against]").await.select_by_value("2").await.unwrap();
    let diff = b.text_until("[data-testid=version-diff]", |t| t.contains("/echo/v2")).await;
    assert!(diff.contains("-    url: /echo") && diff.contains("+    url: /echo/v2"), "{diff}");
    b.script("document.querySelector('[data-testid=version-diff]').scrollIntoView({ block: 'center' }); return null")
        .await;
    b.screenshot("flow-versions-diff").await;
    b.click("[data-testid=restore-version]").await;
    b.find("[data-testid=version-3]").await;
    let run = weft.ok("POST", "/api/flows/to-app/runs?wait=true", Some(&json!({ "email": "a@b.c" }))).await;
    assert_eq!(run["run"]["version"], 3, "{run}");
    assert_eq!(app.log().into_iter().map(|r| r.1).collect::<Vec<_>>(), ["/echo"], "the run took version 1's url");
    b.close().await;
}
