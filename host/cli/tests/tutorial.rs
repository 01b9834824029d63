//! docs/plugin-tutorial.md, run as written: every `sh` block in order, in one
//! shell, against a real `weft serve`, a real json-server and real builds.
//! A tutorial whose commands stop working fails here.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use weft_tests::weft::{Weft, workspace};

const EXE: &str = env!("CARGO_BIN_EXE_weft");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The tutorial's shell blocks, in order.
fn blocks(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                out.push(std::mem::take(block));
                current = None;
            }
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "an unclosed block");
    out
}

/// Stops the tutorial's json-server however the test ends.
struct StopNotesApi;

impl Drop for StopNotesApi {
    fn drop(&mut self) {
        let _ = Command::new("pkill").args(["-f", "json-server --port 3100"]).status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_plugin_tutorial_runs_as_written() {
    let json_server = std::env::var_os("WEFT_JSON_SERVER").map(PathBuf::from).unwrap_or_else(|| {
        panic!("json-server is not installed: run the tests with `cargo xtask test`, or set WEFT_JSON_SERVER")
    });
    let tutorial = std::fs::read_to_string(root().join("docs/plugin-tutorial.md")).unwrap();
    let blocks = blocks(&tutorial);
    assert!(blocks.len() >= 8, "{blocks:?}");

    let (dir, data, plugin_dir) = workspace(&[]);
    let weft = Weft::start(EXE, &data, &plugin_dir, &[]);
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let mut script = String::from("set -euo pipefail\n");
    for (i, block) in blocks.iter().enumerate() {
        script.push_str(&format!("echo '==> block {}'\n{block}", i + 1));
    }
    let _stop = StopNotesApi;
    let path = format!(
        "{}:{}:{}",
        Path::new(EXE).parent().unwrap().display(),
        json_server.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env_or = |name: &str, default: PathBuf| std::env::var_os(name).map(PathBuf::from).unwrap_or(default);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(&work)
            .env("PATH", path)
            .env("WEFT_SERVER", weft.url(""))
            .env("WEFT_TOKEN", &weft.token)
            .env("WEFT_SDK_PATH", root().join("sdk"))
            .env("WEFT_TOOLS_DIR", env_or("WEFT_TOOLS_DIR", root().join("target/tools")))
            .env("CARGO_TARGET_DIR", env_or("CARGO_TARGET_DIR", root().join("target")))
            .env("WEFT_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("tutorial-compile-cache"))
            .output()
            .map(|out| (out, weft))
    })
    .await
    .unwrap()
    .expect("run bash");
    let (out, weft) = out;
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the tutorial failed:\n{stdout}\n{stderr}");

    // What the page says happens, happens.
    assert!(stdout.contains("notes 0.1.0 — Notes in a notes API"), "{stdout}");
    assert!(stdout.contains("1 passed, 0 failed"), "the template's fixture: {stdout}");
    for fixture in ["create-note.yaml", "get-note.yaml", "missing-note.yaml", "new-note.yaml"] {
        assert!(stdout.contains(&format!("ok      {fixture}")), "{stdout}");
    }
    assert!(stdout.contains("4 passed, 0 failed"), "{stdout}");
    // The new note started a run of new-notes, which fetched it.
    for _ in 0..100 {
        let runs = weft.ok("GET", "/api/runs?flow=new-notes", None).await;
        if let Some(run) = runs.as_array().unwrap().iter().find(|r| r["status"] == "succeeded") {
            let done = weft.finished(run["id"].as_str().unwrap()).await;
            assert_eq!(done["steps"][0]["output"]["text"], "water the plants", "{done}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no run of new-notes succeeded:\n{stdout}");
}
