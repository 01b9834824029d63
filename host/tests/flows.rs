//! Flows through the real `weft` binary, real plugins and a real sled data
//! directory: apply, run, inspect, and survive a SIGKILL in the middle of a run.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use weft_tests::app::TestApp;
use weft_tests::plugins;

struct Env {
    _dir: tempfile::TempDir,
    data: PathBuf,
    plugins: PathBuf,
}

impl Env {
    fn new(with: &[&str]) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let plugin_dir = dir.path().join("plugins");
        std::fs::create_dir_all(&plugin_dir).unwrap();
        for path in with {
            let name = Path::new(path).file_name().unwrap();
            std::fs::copy(path, plugin_dir.join(name)).unwrap();
        }
        Env { _dir: dir, data, plugins: plugin_dir }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_weft"));
        cmd.args(args).env("WEFT_DATA_DIR", &self.data).env("WEFT_PLUGINS", &self.plugins);
        cmd
    }

    fn weft(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run weft")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.weft(args);
        assert!(out.status.success(), "weft {args:?} failed:\n{}{}", text(&out.stdout), text(&out.stderr));
        text(&out.stdout)
    }

    fn write(&self, name: &str, body: &str) -> String {
        let path = self.data.parent().unwrap().join(name);
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
        stderr.contains("flow \"contacts\" is invalid:\n  steps.a.transform: unknown transform \"nope\"\n  steps.b.input: refers to unknown step \"zz\""),
        "{stderr}"
    );

    let good = env.write(
        "good.yaml",
        "name: contacts\ntrigger: manual\nsteps:\n  - { id: clean, transform: clean-contact, input: \"{{ trigger }}\" }\n  - { id: pick, transform: identity, input: { email: \"{{ steps.clean.output.email }}\" } }\n",
    );
    assert_eq!(env.ok(&["flow", "apply", &good]), "flow contacts is at version 1\n");
    assert_eq!(env.ok(&["flow", "apply", &good]), "flow contacts is at version 1\n", "unchanged: same version");
    assert!(env.ok(&["flow", "list"]).starts_with("contacts"));

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

    let mut kills = 0;
    for round in 0..3 {
        let input = format!(r#"{{"base":"{}","round":{round}}}"#, app.url(""));
        let mut child = env
            .command(&["flow", "run", "crashy", "--input", &input])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait for the first step's request, then kill during the slow step.
        let seen = app.log().len();
        let deadline = Instant::now() + Duration::from_secs(30);
        while app.log().len() == seen && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
    }
    assert_eq!(kills, 3);

    let out = tokio::task::spawn_blocking({
        let data = env.data.clone();
        let plugins_dir = env.plugins.clone();
        move || {
            Command::new(env!("CARGO_BIN_EXE_weft"))
                .args(["runs", "resume"])
                .env("WEFT_DATA_DIR", data)
                .env("WEFT_PLUGINS", plugins_dir)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let resumed = text(&out.stdout);
    assert_eq!(resumed.matches(" succeeded").count(), 3, "{resumed}");

    let mut interrupted_mid_step = 0;
    for line in resumed.lines() {
        let id = line.split_whitespace().next().unwrap();
        let keys: Vec<String> = app.log().into_iter().filter_map(|(_, _, k)| k).filter(|k| k.starts_with(id)).collect();
        assert_eq!(keys, [format!("{id}/first"), format!("{id}/last")], "each completed step ran exactly once");
        let shown: Value = serde_json::from_str(&env.ok(&["runs", "show", id, "--json"])).unwrap();
        assert_eq!(shown["run"]["status"], "succeeded");
        let steps = shown["steps"].as_array().unwrap();
        assert_eq!(steps[0]["attempts"], 1, "the first step was not re-run");
        // A kill that lands inside the slow step makes it run again (each `weft flow run`
        // also resumes the runs earlier kills interrupted); one between steps does not.
        if steps[1]["attempts"].as_u64().unwrap() >= 2 {
            interrupted_mid_step += 1;
        }
    }
    assert!(interrupted_mid_step >= 1, "no kill landed inside a step");
}
