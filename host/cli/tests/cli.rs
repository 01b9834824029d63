//! The `weft plugin …` commands, run as a real process.

use std::process::{Command, Output};
use weft_tests::app::TestApp;
use weft_tests::plugins;

/// Run `weft`; its stderr without the note a first compile of a plugin adds
/// (`the_cli_compiles_a_plugin_once` checks that note).
fn weft(args: &[&str]) -> Output {
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-compile-cache");
    let mut out =
        Command::new(env!("CARGO_BIN_EXE_weft")).args(args).env("WEFT_CACHE_DIR", cache).output().expect("run weft");
    let stderr = text(&out.stderr);
    let kept: Vec<&str> = stderr.split_inclusive('\n').filter(|l| !l.starts_with("[weft] compiled ")).collect();
    out.stderr = kept.concat().into_bytes();
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn describe_prints_what_a_connector_offers() {
    let out = weft(&["plugin", "describe", plugins::HTTP]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("http 0.1.0 — Call any HTTP JSON API\nworld: connector\nactions:\n  request"),
        "{stdout}"
    );
    assert!(stdout.contains("authorization") && stdout.contains("(secret)"), "{stdout}");

    let out = weft(&["plugin", "describe", plugins::HTTP, "--json"]);
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(manifest["actions"][0]["input_schema"]["required"], serde_json::json!(["url"]));

    let out = weft(&["plugin", "describe", plugins::CLEAN_CONTACT]);
    assert!(text(&out.stdout).starts_with("clean-contact — a transform"), "{}", text(&out.stdout));
}

/// `describe` and `call` keep compiled components between runs, as the server
/// does: only the first run of a plugin compiles it.
#[test]
fn the_cli_compiles_a_plugin_once() {
    let cache = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_weft"))
            .args(args)
            .env("WEFT_CACHE_DIR", cache.path())
            .output()
            .expect("run weft");
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stderr)
    };
    let first = run(&["plugin", "describe", plugins::HTTP]);
    assert!(first.contains(&format!("[weft] compiled {} in ", plugins::HTTP)), "{first}");
    assert!(first.contains(&format!("(kept in {} for the next run)", cache.path().display())), "{first}");
    assert!(std::fs::read_dir(cache.path()).unwrap().next().is_some(), "the cache holds the compiled component");
    let second = run(&["plugin", "describe", plugins::HTTP]);
    assert!(!second.contains("[weft] compiled"), "the second run takes it from the cache: {second}");
    let called = run(&["plugin", "call", plugins::CLEAN_CONTACT, "--input", r#"{"email":"a@b.c"}"#]);
    assert!(called.contains("[weft] compiled "), "{called}");
    let again = run(&["plugin", "call", plugins::CLEAN_CONTACT, "--input", r#"{"email":"a@b.c"}"#]);
    assert!(!again.contains("[weft] compiled"), "{again}");
}

#[test]
fn call_runs_a_transform_and_prints_json() {
    let out = weft(&["plugin", "call", plugins::CLEAN_CONTACT, "--input", r#"{"email":" X@Y.Z "}"#]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value, serde_json::json!({ "email": "x@y.z" }));
    assert!(text(&out.stderr).contains("[debug] cleaned contact x@y.z"), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn call_reaches_a_granted_host_and_only_that() {
    let app = TestApp::start().await;
    let input = format!(r#"{{"url":"{}"}}"#, app.url("/json"));
    let granted = tokio::task::spawn_blocking({
        let (input, grant) = (input.clone(), app.grant());
        move || weft(&["plugin", "call", plugins::HTTP, "request", "--input", &input, "--grant-host", &grant])
    })
    .await
    .unwrap();
    assert!(granted.status.success(), "{}", text(&granted.stderr));
    let value: serde_json::Value = serde_json::from_slice(&granted.stdout).unwrap();
    assert_eq!(value["body"], serde_json::json!({ "hello": "world" }));

    let denied =
        tokio::task::spawn_blocking(move || weft(&["plugin", "call", plugins::HTTP, "request", "--input", &input]))
            .await
            .unwrap();
    assert_eq!(denied.status.code(), Some(1));
    let stderr = text(&denied.stderr);
    assert!(stderr.contains("is not granted to this connection (no hosts are granted)"), "{stderr}");
}

#[test]
fn mistakes_get_clear_messages() {
    let out = weft(&["plugin", "call", plugins::CLEAN_CONTACT, "--input", "{not json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("error: --input is not valid JSON: key must be a string at line 1 column 2"),
        "{}",
        text(&out.stderr)
    );

    let out = weft(&["plugin", "call", plugins::HTTP, "nope"]);
    assert_eq!(text(&out.stderr).trim(), r#"error: connector "http" has no action "nope"; its actions: request"#);

    let out = weft(&["plugin", "call", plugins::HTTP]);
    assert_eq!(text(&out.stderr).trim(), "error: http is a connector: name the action to run (one of: request)");

    let out = weft(&["plugin", "call", plugins::HTTP, "request", "--input", r#"{"url": 5, "verb": "GET"}"#]);
    assert_eq!(
        text(&out.stderr).trim(),
        r#"error: the input does not fit the input schema of http.request: /url: 5 is not of type "string"; Additional properties are not allowed ('verb' was unexpected)"#
    );

    let out = weft(&["plugin", "call", plugins::HTTP, "request", "--grant-host", "http://x.com/"]);
    assert!(text(&out.stderr).contains("bad host grant \"http://x.com/\": write a host"), "{}", text(&out.stderr));

    let out = weft(&["plugin", "describe", plugins::SNEAKY]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("wasi:sockets is not available to plugins"), "{}", text(&out.stderr));

    let out = weft(&["plugin", "call", plugins::HOSTILE, "spin", "--fuel", "1000000"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr)
            .contains(r#"error: plugin "hostile" exceeded its CPU budget (1000000 fuel) in invoke("spin")"#)
    );
}

/// `poll` and `webhook` try a connector's triggers without a server: the
/// poll shows what the trigger's strategy would emit (the state kept in a
/// file between runs, as a flow keeps it), the webhook what a request makes.
#[tokio::test(flavor = "multi_thread")]
async fn triggers_are_tried_locally() {
    let app = weft_tests::saas::SaasApp::start("sk-local-poll-key").await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let (base, grant) = (format!("base_url={}", app.url()), app.addr.to_string());
    let poll = |extra: &[&str]| {
        let mut args = vec!["plugin", "poll", plugins::SAAS, "new_record", "--setting", &base];
        args.extend_from_slice(&["--secret", "api_key=sk-local-poll-key", "--grant-host", &grant]);
        args.extend_from_slice(extra);
        weft(&args)
    };
    let state_arg = state.to_str().unwrap();
    app.add("Ada");
    let first = poll(&["--state", state_arg]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(
        (shown["first_poll"].clone(), shown["emitted"].clone()),
        (serde_json::json!(true), serde_json::json!([]))
    );
    assert_eq!(shown["strategy"], "increasing-id");
    assert!(text(&first.stderr).contains("a first poll: a flow emits nothing now"), "{}", text(&first.stderr));
    app.add("Bob");
    app.add("Cy");
    let second: serde_json::Value = serde_json::from_slice(&poll(&["--state", state_arg]).stdout).unwrap();
    let names: Vec<_> = second["emitted"].as_array().unwrap().iter().map(|e| e["payload"]["name"].clone()).collect();
    assert_eq!(names, [serde_json::json!("Bob"), serde_json::json!("Cy")], "{second}");
    let third: serde_json::Value = serde_json::from_slice(&poll(&["--state", state_arg]).stdout).unwrap();
    assert_eq!(third["emitted"], serde_json::json!([]), "nothing is emitted twice: {third}");
    let wrong = weft(&["plugin", "poll", plugins::SAAS, "nope"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        text(&wrong.stderr)
            .contains("has no polling trigger \"nope\"; its polling triggers: new_record, updated_record, any_record"),
        "{}",
        text(&wrong.stderr)
    );

    // A webhook: a handshake answered by the connector, then a signed event.
    let challenge = weft(&["plugin", "webhook", plugins::SAAS, "record_event", "--body", r#"{"challenge":"c-42"}"#]);
    let shown: serde_json::Value = serde_json::from_slice(&challenge.stdout).unwrap();
    assert_eq!(shown["response"]["status"], 200, "{shown}");
    assert_eq!(shown["response"]["body"], r#"{"challenge":"c-42"}"#);
    let body = r#"{"type":"created","record":{"id":7,"name":"Ada"}}"#;
    let deliver = |signature: &str| {
        let header = format!("x-saas-signature: {signature}");
        let args = ["plugin", "webhook", plugins::SAAS, "record_event", "--body", body, "--header", &header];
        weft(&[&args[..], &["--secret", "signing_secret=whsec-local"]].concat())
    };
    let signed = deliver(&weft_tests::saas::sign("whsec-local", body.as_bytes()));
    assert!(signed.status.success(), "{}", text(&signed.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&signed.stdout).unwrap();
    assert_eq!(shown["events"][0]["id"], "7", "{shown}");
    let forged = deliver("sha256=00");
    assert_eq!(forged.status.code(), Some(1));
    assert!(text(&forged.stderr).contains("x-saas-signature does not match the body"), "{}", text(&forged.stderr));
}
