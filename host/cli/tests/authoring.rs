//! `weft plugin new` and `weft plugin build`, run as a plugin author runs
//! them: a project in each language, built into a component, loaded
//! (`weft plugin describe`) and tested against its own fixture
//! (`weft plugin test`).
//!
//! The JavaScript and Python builds use the componentize-js and
//! componentize-py `cargo xtask` installs (`WEFT_TOOLS_DIR`, default
//! `target/tools`). The Rust projects build into the workspace's target
//! folder (`CARGO_TARGET_DIR`), so after the first run only the project's own
//! crate compiles.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn env_or(name: &str, default: PathBuf) -> PathBuf {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or(default)
}

/// Run `weft` in `dir` with the tools, the SDK and the compile cache of these tests.
fn weft(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .current_dir(dir)
        .env("WEFT_TOOLS_DIR", env_or("WEFT_TOOLS_DIR", root().join("target/tools")))
        .env("WEFT_SDK_PATH", root().join("sdk"))
        .env("CARGO_TARGET_DIR", env_or("CARGO_TARGET_DIR", root().join("target")))
        .env("WEFT_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("authoring-compile-cache"))
        .output()
        .expect("run weft")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn ok(out: Output) -> String {
    assert!(out.status.success(), "failed:\nstdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

#[track_caller]
fn fails(out: Output) -> String {
    assert!(!out.status.success(), "succeeded:\nstdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    text(&out.stderr)
}

/// `weft plugin new NAME --kind KIND --lang LANG`, then `build`, `describe`
/// and `test` in the project; what `describe` printed.
fn new_build_describe(lang: &str, kind: &str, name: &str, component: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let created = ok(weft(tmp.path(), &["plugin", "new", name, "--kind", kind, "--lang", lang]));
    assert!(created.contains(&format!("created {name} — a ")), "{created}");
    let project = tmp.path().join(name);
    let fixture = if kind == "connector" { "get-item.yaml".to_string() } else { format!("{name}.yaml") };
    assert!(project.join("tests").join(&fixture).exists(), "{created}");

    let built = ok(weft(&project, &["plugin", "build"]));
    assert!(built.starts_with(&format!("built dist/{component}: a {kind}, ")), "{built}");
    assert!(built.contains("\nimports ("), "{built}");
    let wasm = project.join("dist").join(component);
    assert!(wasm.exists(), "{built}");

    let described = ok(weft(&project, &["plugin", "describe", wasm.to_str().unwrap()]));
    let tested = ok(weft(&project, &["plugin", "test"]));
    assert!(tested.contains(&format!("ok      {fixture}")) && tested.contains("1 passed, 0 failed"), "{tested}");
    described
}

#[test]
fn a_rust_connector_and_transform_build_and_load() {
    let described = new_build_describe("rust", "connector", "acme-rust", "acme_rust.wasm");
    assert!(
        described.starts_with("acme-rust 0.1.0 — A weft connector\nworld: connector\nactions:\n  get-item"),
        "{described}"
    );
    assert!(described.contains("base_url") && described.contains("(required)"), "{described}");

    let described = new_build_describe("rust", "transform", "greet-rust", "greet_rust.wasm");
    assert!(described.contains(" — a transform"), "{described}");
}

#[test]
fn a_javascript_transform_builds_and_loads() {
    let described = new_build_describe("js", "transform", "greet-js", "greet-js.wasm");
    assert!(described.contains(" — a transform"), "{described}");
}

#[test]
fn a_python_transform_builds_and_loads() {
    let described = new_build_describe("python", "transform", "greet-py", "greet-py.wasm");
    assert!(described.contains(" — a transform"), "{described}");
}

#[test]
fn a_javascript_connector_builds_and_loads() {
    let described = new_build_describe("js", "connector", "acme-js", "acme-js.wasm");
    assert!(
        described.starts_with(
            "acme-js 0.1.0 — A weft connector written in JavaScript\nworld: connector\nactions:\n  get-item"
        ),
        "{described}"
    );
}

#[test]
fn a_python_connector_builds_and_loads() {
    let described = new_build_describe("python", "connector", "acme-py", "acme-py.wasm");
    assert!(
        described
            .starts_with("acme-py 0.1.0 — A weft connector written in Python\nworld: connector\nactions:\n  get-item"),
        "{described}"
    );
}

/// Mistakes get messages that say what is wrong and what to do.
#[test]
fn mistakes_are_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    let err = fails(weft(dir, &["plugin", "new", "x", "--kind", "connector", "--lang", "go"]));
    assert!(err.contains("invalid value 'go' for '--lang <LANG>'") && err.contains("rust, js, python"), "{err}");
    let err = fails(weft(dir, &["plugin", "new", "Acme", "--kind", "connector", "--lang", "js"]));
    assert!(err.contains("\"Acme\" must be 1 to 64 characters of [a-z0-9-]"), "{err}");
    std::fs::create_dir(dir.join("taken")).unwrap();
    std::fs::write(dir.join("taken/notes.txt"), "mine").unwrap();
    let err = fails(weft(dir, &["plugin", "new", "taken", "--kind", "transform", "--lang", "js"]));
    assert!(err.contains("taken already exists and is not empty"), "{err}");
    let err = fails(weft(dir, &["plugin", "build", "taken"]));
    assert!(err.contains("holds no plugin project") && err.contains("weft plugin new"), "{err}");

    // A missing toolchain: where weft looked, and how to install the version it builds with.
    ok(weft(dir, &["plugin", "new", "broken", "--kind", "connector", "--lang", "js"]));
    let project = dir.join("broken");
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["plugin", "build"])
        .current_dir(&project)
        .env("PATH", "/nonexistent")
        .env_remove("WEFT_TOOLS_DIR")
        .output()
        .unwrap();
    let err = fails(out);
    assert!(err.contains("componentize-js is not installed"), "{err}");
    assert!(err.contains("npm install --save-dev @bytecodealliance/componentize-js@0.23.0"), "{err}");

    // weft.toml's mistakes.
    std::fs::write(project.join("weft.toml"), "world = \"webhook\"\nmain = \"src/connector.js\"\n").unwrap();
    let err = fails(weft(&project, &["plugin", "build"]));
    assert!(err.contains("world = \"webhook\" is not one of connector, oauth-connector, transform"), "{err}");

    // A build that fails shows the tool's own output.
    std::fs::write(project.join("weft.toml"), "world = \"connector\"\nmain = \"src/connector.js\"\n").unwrap();
    std::fs::write(
        project.join("src/connector.js"),
        "export const connectorApi = {\n  describe() { return {; },\n};\n",
    )
    .unwrap();
    let err = fails(weft(&project, &["plugin", "build"]));
    assert!(err.contains("componentize-js failed ("), "{err}");
    assert!(err.contains("SyntaxError") || err.contains("syntax error"), "the tool's message: {err}");
    assert!(!project.join("dist/broken.wasm").exists());
}
