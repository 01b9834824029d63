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
