//! Recording and replaying plugins' host I/O: fixtures written by
//! `weft plugin call|poll --record` and run offline by `weft plugin test`, and
//! production runs replayed by `weft runs replay` on their own plugin versions
//! and on a candidate, against real plugins, a real server and a real app.

use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};
use weft_tests::app::TestApp;
use weft_tests::plugins;
use weft_tests::weft::{Weft, workspace};

const EXE: &str = env!("CARGO_BIN_EXE_weft");

fn weft(args: &[&str]) -> Output {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-compile-cache");
    Command::new(EXE).args(args).env("WEFT_CACHE_DIR", cache).output().expect("run weft")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn fixtures_are_recorded_from_real_calls_and_run_offline() {
    let app = TestApp::start().await;
    let project = tempfile::tempdir().unwrap();
    let tests = project.path().join("tests");
    std::fs::create_dir_all(&tests).unwrap();
    let fixture = |name: &str| tests.join(name).display().to_string();

    // A real call, recorded: the exchange, with the secret redacted wherever it went.
    let input = json!({ "url": app.url("/echo/contacts?key=s3cret-token-1") }).to_string();
    let out = weft(&[
        "plugin",
        "call",
        plugins::PROBE,
        "fetch",
        "--input",
        &input,
        "--grant-host",
        &app.grant(),
        "--secret",
        "token=s3cret-token-1",
        "--record",
        &fixture("echo.yaml"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("recorded 1 HTTP exchange(s)"), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(tests.join("echo.yaml")).unwrap();
    assert!(!written.contains("s3cret-token-1"), "{written}");
    assert!(written.contains("key=[redacted]") && written.contains("status: 200"), "{written}");

    // A poll, recorded: its cursor and the events it returned.
    let out = weft(&[
        "plugin",
        "poll",
        plugins::PROBE,
        "numbers",
        "--config",
        r#"{"count":2}"#,
        "--record",
        &fixture("numbers.yaml"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // Key-value reads are answered from the recording, writes stay in the replay.
    std::fs::write(
        tests.join("remembers.yaml"),
        "action: kv-get\ninput: {key: last}\nio:\n  kv:\n    - {op: get, key: last, value: \"42\"}\nexpect:\n  output: {value: \"42\"}\n",
    )
    .unwrap();

    // Offline: every fixture passes, and the app hears nothing.
    let served = app.requests();
    let out = weft(&["plugin", "test", project.path().to_str().unwrap(), "--plugin", plugins::PROBE]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    for name in ["echo.yaml", "numbers.yaml", "remembers.yaml"] {
        assert!(stdout.contains(&format!("ok      {name}")), "{stdout}");
    }
    assert!(stdout.contains("3 passed, 0 failed"), "{stdout}");
    assert_eq!(app.requests(), served, "a fixture reached the app");

    // A fixture that expects something else fails with the difference named by path.
    // (the expected output's status: the last one in the file, after the recorded response's)
    let at = written.rfind("status: 200").unwrap();
    let wrong = format!("{}status: 201{}", &written[..at], &written[at + "status: 200".len()..]);
    std::fs::write(tests.join("wrong.yaml"), wrong).unwrap();
    std::fs::write(tests.join("broken.yaml"), "action: fetch\nexpect: {output: 1, error: {kind: fatal}}\n").unwrap();
    std::fs::write(tests.join("typo.yaml"), "acton: fetch\n").unwrap();
    let out = weft(&["plugin", "test", project.path().to_str().unwrap(), "--plugin", plugins::PROBE]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAILED  wrong.yaml\n        $.status: expected 201, got 200"), "{stdout}");
    assert!(stdout.contains("FAILED  broken.yaml") && stdout.contains("takes one of"), "{stdout}");
    assert!(stdout.contains("FAILED  typo.yaml") && stdout.contains("unknown field `acton`"), "{stdout}");
    assert!(stdout.contains("3 passed, 3 failed"), "{stdout}");

    // --replay answers from the recording; a request it does not hold fails, named.
    let out = weft(&[
        "plugin",
        "call",
        plugins::PROBE,
        "fetch",
        "--input",
        &input,
        "--secret",
        "token=s3cret-token-1",
        "--replay",
        &fixture("echo.yaml"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let replayed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(replayed["status"], 200);
    let other = json!({ "url": app.url("/json") }).to_string();
    let out = weft(&["plugin", "call", plugins::PROBE, "fetch", "--input", &other, "--replay", &fixture("echo.yaml")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "GET {}: not in the recording (it holds GET {}",
            app.url("/json"),
            app.url("/echo/contacts")
        )),
        "{stderr}"
    );
    assert_eq!(app.requests(), served, "a replay reached the app");
}

/// Replay `run` through the API (with a candidate's bytes, if any).
async fn replay(weft: &Weft, run: &str) -> Value {
    weft.ok("POST", &format!("/api/runs/{run}/replay"), None).await
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_replay_offline_on_their_versions_and_on_a_candidate() {
    let app = TestApp::start().await;
    let (dir, data, plugin_dir) = workspace(&[plugins::PROBE]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    let connection = json!({ "plugin": "probe", "secrets": { "token": "s3cret-token-2" }, "hosts": [app.grant()] });
    weft.ok("PUT", "/api/connections/p", Some(&connection)).await;
    let action = |id: &str, action: &str, input: Value| json!({ "id": id, "action": format!("probe.{action}"), "connection": "p", "input": input });
    let fetch = json!({
        "name": "fetch",
        "trigger": "manual",
        "steps": [
            action("remember", "kv-set", json!({ "key": "last", "value": "{{ trigger.name }}" })),
            action("recall", "kv-get", json!({ "key": "last" })),
            action("echo", "fetch", json!({ "url": app.url("/echo/people") })),
        ],
    });
    weft.ok("POST", "/api/flows", Some(&fetch)).await;
    let parse = json!({
        "name": "parse",
        "trigger": "manual",
        "steps": [action("get", "fetch-json", json!({ "url": "{{ trigger.url }}" }))],
    });
    weft.ok("POST", "/api/flows", Some(&parse)).await;
    let unrecorded = json!({
        "name": "unrecorded",
        "record_io": false,
        "trigger": "manual",
        "steps": [action("echo", "fetch", json!({ "url": app.url("/echo/quiet") }))],
    });
    weft.ok("POST", "/api/flows", Some(&unrecorded)).await;

    let done = weft.ok("POST", "/api/flows/fetch/runs?wait=true", Some(&json!({ "name": "Ada" }))).await;
    assert_eq!(done["run"]["status"], "succeeded", "{done}");
    let run = done["run"]["id"].as_str().unwrap().to_string();
    let echo = done["steps"].as_array().unwrap().iter().find(|s| s["step_id"] == "echo").unwrap();
    assert_eq!(echo["io"]["http"][0]["response"]["status"], 200, "{echo}");
    assert!(!echo.to_string().contains("s3cret-token-2"), "{echo}");

    // On the run's own versions: the same outputs, byte for byte, and nothing reached or written.
    let served = app.requests();
    let replayed = replay(&weft, &run).await;
    assert_eq!(replayed["verdict"], "same", "{replayed}");
    let steps = replayed["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "{replayed}");
    assert!(
        steps.iter().all(|s| s["same"] == true && s["replayed"]["output"] == s["recorded"]["output"]),
        "{replayed}"
    );
    assert_eq!(app.requests(), served, "the replay reached the app");
    let after = weft.ok("GET", &format!("/api/runs/{run}"), None).await;
    assert_eq!(after, done, "the replay changed the run");

    // On a candidate (a file, not installed): the difference, named.
    let out = weft.cli(&["runs", "replay", &run, "--plugin", plugins::PROBE_V2]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("echo                     DIFFERS  (probe@0.2.0"), "{stdout}");
    assert!(stdout.contains(r#"$.version: expected "0.1.0", got "0.2.0""#), "{stdout}");
    assert!(stdout.contains("differs: output differs at echo"), "{stdout}");

    // The check before shipping a fix: which failed runs would the candidate handle?
    for url in [app.url("/json"), app.url("/big?bytes=10"), app.url("/big?bytes=20")] {
        let done = weft.ok("POST", "/api/flows/parse/runs?wait=true", Some(&json!({ "url": url }))).await;
        assert!(matches!(done["run"]["status"].as_str(), Some("succeeded" | "failed")), "{done}");
    }
    let failed = weft.ok("GET", "/api/runs?flow=parse&status=failed", None).await;
    assert_eq!(failed.as_array().unwrap().len(), 2, "{failed}");
    let out = weft.cli(&["runs", "replay", failed[0]["id"].as_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("still_fails: step get fails again"), "{}", text(&out.stdout));
    let out = weft.cli(&["runs", "replay", "--flow", "parse", "--since", "1h", "--plugin", plugins::PROBE_V2]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("2 run(s) of parse replayed on probe@0.2.0"), "{stdout}");
    assert!(stdout.contains(": 2 now succeed, 0 still fail"), "{stdout}");
    let summary = weft.ok("POST", "/api/flows/parse/replay?status=any", None).await;
    assert_eq!(
        (summary["runs"].as_u64(), summary["same"].as_u64(), summary["still_fail"].as_u64()),
        (Some(3), Some(1), Some(2)),
        "{summary}"
    );
    assert_eq!(app.requests(), served + 3, "only the three runs reached the app");

    // A flow that keeps no recordings cannot be replayed, and says why.
    let done = weft.ok("POST", "/api/flows/unrecorded/runs?wait=true", Some(&json!({}))).await;
    let echo = &done["steps"][0];
    assert!(echo.get("io").is_none(), "{echo}");
    let replayed = replay(&weft, done["run"]["id"].as_str().unwrap()).await;
    assert_eq!(replayed["verdict"], "not_replayable", "{replayed}");
    assert!(replayed["summary"].as_str().unwrap().contains("record_io: false"), "{replayed}");

    // Bad requests get clear answers.
    let reply = weft.api("POST", "/api/runs/nope/replay", None).await;
    assert_eq!(reply.status, 404, "{}", reply.text());
    let reply = weft.api("POST", &format!("/api/runs/{run}/replay?plugin=probe"), None).await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(reply.text().contains("NAME@VERSION"), "{}", reply.text());
    let out = weft.cli(&["runs", "replay", &run, "--plugin", dir.path().join("data").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
}
