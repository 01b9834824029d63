//! Flows through the real `weft` CLI and a real `weft serve`, real plugins and a
//! real sled data directory: apply, run, inspect, and survive a SIGKILL of the
//! server in the middle of runs.

use serde_json::Value;
use std::process::Output;
use std::time::{Duration, Instant};
use weft_tests::app::TestApp;
use weft_tests::plugins;
use weft_tests::weft::{Weft, workspace};

const EXE: &str = env!("CARGO_BIN_EXE_weft");

/// A `weft serve` with some plugins, and files to apply.
struct Env {
    dir: tempfile::TempDir,
    weft: Weft,
}

impl Env {
    fn new(with: &[&str]) -> Env {
        let (dir, data, plugin_dir) = workspace(with);
        let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
        Env { dir, weft }
    }

    fn weft(&self, args: &[&str]) -> Output {
        self.weft.cli(args)
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.weft(args);
        assert!(out.status.success(), "weft {args:?} failed:\n{}{}", text(&out.stdout), text(&out.stderr));
        text(&out.stdout)
    }

    fn write(&self, name: &str, body: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path.display().to_string()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn apply_validates_and_versions_then_run_and_show() {
    let env = Env::new(&[plugins::CLEAN_CONTACT, plugins::IDENTITY]);
    let bad = env.write(
        "bad.yaml",
        "name: contacts\ntrigger: manual\nsteps:\n  - { id: a, transform: nope }\n  - { id: b, transform: identity, input: \"{{ steps.zz.output }}\" }\n",
    );
    let out = env.weft(&["flow", "apply", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("flow \"contacts\" is invalid:\n  steps.a.transform: unknown transform \"nope\"\n  steps.b.input: refers to unknown step \"zz\" (HTTP 422)"),
        "{stderr}"
    );

    let good = env.write(
        "good.yaml",
        "name: contacts\ntrigger: manual\nsteps:\n  - { id: clean, transform: clean-contact, input: \"{{ trigger }}\" }\n  - { id: pick, transform: identity, input: { email: \"{{ steps.clean.output.email }}\" } }\n",
    );
    assert_eq!(env.ok(&["flow", "apply", &good]), "flow contacts is at version 1\n");
    assert_eq!(env.ok(&["flow", "apply", &good]), "flow contacts is at version 1\n", "unchanged: same version");
    assert!(env.ok(&["flow", "list"]).starts_with("contacts"));
    let out = env.weft(&["flow", "activate", "contacts"]);
    assert!(text(&out.stderr).contains("has a manual trigger"), "{}", text(&out.stderr));

    let out = env.ok(&["flow", "run", "contacts", "--input", r#"{"email":" ADA@X.ORG "}"#]);
    assert!(out.contains(" succeeded\n") && out.contains("output: {\"email\":\"ada@x.org\"}"), "{out}");
    let id = out.split_whitespace().nth(1).unwrap().to_string();

    let out = env.weft(&["flow", "run", "contacts", "--input", r#"{"name":"no email"}"#]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("invalid input: the contact has no valid `email`"), "{}", text(&out.stdout));

    let listed = env.ok(&["runs", "list", "--status", "failed"]);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    let shown: Value = serde_json::from_str(&env.ok(&["runs", "show", &id, "--json"])).unwrap();
    assert_eq!(shown["run"]["status"], "succeeded");
    assert_eq!(shown["steps"][0]["path"], "clean");
    assert_eq!(shown["steps"][0]["input"], serde_json::json!({ "email": " ADA@X.ORG " }));
    assert_eq!(shown["steps"][1]["output"], serde_json::json!({ "email": "ada@x.org" }));
    assert!(env.weft(&["runs", "list", "--status", "sideways"]).status.code() == Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_mid_flow_resumes_without_repeating_completed_steps() {
    let app = TestApp::start().await;
    let env = Env::new(&[plugins::HTTP, plugins::HOSTILE]);
    env.ok(&["connection", "set", "app", "--plugin", "http", "--grant-host", &app.grant()]);
    env.ok(&["connection", "set", "slow", "--plugin", "hostile"]);
    let flow = env.write(
        "crashy.yaml",
        r#"
name: crashy
trigger: manual
steps:
  - id: first
    action: http.request
    connection: app
    input: { method: POST, url: "{{ trigger.base }}/echo", body: { step: 1 } }
  - id: slow
    action: hostile.sleep
    connection: slow
    input: { secs: 3 }
  - id: last
    action: http.request
    connection: app
    input: { method: POST, url: "{{ trigger.base }}/echo", body: { step: 3 } }
"#,
    );
    env.ok(&["flow", "apply", &flow]);

    // Each round starts a run and SIGKILLs the server during its slow step;
    // the restarted server resumes every run.
    let mut weft = env.weft;
    let mut ids = Vec::new();
    for round in 0..3 {
        let input = format!(r#"{{"base":"{}","round":{round}}}"#, app.url(""));
        let out = weft.cli(&["flow", "run", "crashy", "--no-wait", "--input", &input]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        ids.push(text(&out.stdout).trim().to_string());
        // Wait until the slow step is recorded as running, then kill inside it.
        let id = ids.last().unwrap().clone();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let shown = weft.ok("GET", &format!("/api/runs/{id}"), None).await;
            let steps = shown["steps"].as_array().cloned().unwrap_or_default();
            if steps.iter().any(|s| s["path"] == "slow" && s["status"] == "running") {
                break;
            }
            assert!(Instant::now() < deadline, "the slow step never started: {shown}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        weft.kill(); // SIGKILL
        weft.restart(&[]);
    }

    let mut interrupted_mid_step = 0;
    for id in &ids {
        let shown = weft.finished(id).await;
        assert_eq!(shown["run"]["status"], "succeeded", "{shown}");
        let keys: Vec<String> =
            app.log().into_iter().filter_map(|(_, _, k)| k).filter(|k| k.starts_with(id.as_str())).collect();
        assert_eq!(keys, [format!("{id}/first"), format!("{id}/last")], "each completed step ran exactly once");
        let steps = shown["steps"].as_array().unwrap();
        assert_eq!(steps[0]["attempts"], 1, "the first step was not re-run");
        // A kill that lands inside the slow step makes it run again; one between steps does not.
        if steps[1]["attempts"].as_u64().unwrap() >= 2 {
            interrupted_mid_step += 1;
        }
    }
    assert!(interrupted_mid_step >= 1, "no kill landed inside a step");
}
