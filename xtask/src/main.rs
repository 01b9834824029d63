//! Developer tasks: `cargo xtask demo` (weft's main job) and `cargo xtask test`
//! (every test). Each builds what it needs; `rust-toolchain.toml` makes rustup
//! install the pinned toolchain and the wasm32-wasip2 target on first use.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    let result = match task.as_str() {
        "demo" => demo(),
        "test" => test(),
        "schema" => schema(),
        _ => {
            eprintln!(
                "usage: cargo xtask <demo|test|schema>\n  demo    build the plugins and weft, then run them\n  test    run every test\n  schema  regenerate schema/flow.schema.json"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{cmd:?} failed with {status}")) }
}

/// Every test: unit, integration (real plugins built by tests/build.rs), CLI and doc tests.
fn test() -> Result<(), String> {
    ensure_wasm_target();
    // The default members: host, sdk, tests (whose build script compiles every
    // plugin to wasm32-wasip2) and xtask. Plugins themselves only build for wasm.
    run(cargo().arg("test"))
}

/// Regenerate the flow format's JSON Schema from the Rust types.
fn schema() -> Result<(), String> {
    let out = cargo()
        .args(["run", "--quiet", "-p", "weft", "--", "flow", "schema"])
        .output()
        .map_err(|e| format!("cannot run weft: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let path = root().join("schema").join("flow.schema.json");
    std::fs::create_dir_all(path.parent().unwrap()).map_err(|e| e.to_string())?;
    std::fs::write(&path, &out.stdout).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// rustup installs the target named in rust-toolchain.toml with a new toolchain,
/// but not into a toolchain that was already there: add it (a no-op when present).
fn ensure_wasm_target() {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(root())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == "wasm32-wasip2"));
    if let Ok(false) = installed {
        let _ = Command::new("rustup").args(["target", "add", "wasm32-wasip2"]).current_dir(root()).status();
    }
}

/// Build the plugins and weft, then show them at work against a local app.
fn demo() -> Result<(), String> {
    ensure_wasm_target();
    println!("==> building the plugins (wasm32-wasip2) and weft");
    run(cargo().args([
        "build",
        "--profile",
        "plugin",
        "--target",
        "wasm32-wasip2",
        "-p",
        "weft-plugin-http",
        "-p",
        "weft-plugin-clean-contact",
    ]))?;
    run(cargo().args(["build", "-p", "weft"]))?;
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root().join("target"));
    let weft = target.join("debug").join("weft");
    let plugins = target.join("wasm32-wasip2").join("plugin");
    let http = plugins.join("http.wasm");
    let clean = plugins.join("clean_contact.wasm");

    let app = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
    let addr = app.local_addr().unwrap();
    std::thread::spawn(move || serve_contacts(app));
    let url = format!("http://{addr}/contacts/1");

    let show = |title: &str, args: &[&str]| -> Result<(), String> {
        let shown: Vec<String> =
            args.iter().map(|a| if a.contains(['"', ' ', '{']) { format!("'{a}'") } else { a.to_string() }).collect();
        println!("\n==> {title}\n$ weft {}", shown.join(" "));
        let status = Command::new(&weft).args(args).status().map_err(|e| e.to_string())?;
        println!("(exit status {})", status.code().unwrap_or(-1));
        Ok(())
    };
    show("what the http connector offers", &["plugin", "describe", &http.display().to_string()])?;
    show(
        "a transform tidies a contact",
        &[
            "plugin",
            "call",
            &clean.display().to_string(),
            "--input",
            r#"{"name":" Ada Lovelace ","email":" ADA@Example.COM "}"#,
        ],
    )?;
    let input = format!(r#"{{"url":"{url}"}}"#);
    show(
        "the http connector fetches a record from a granted host",
        &[
            "plugin",
            "call",
            &http.display().to_string(),
            "request",
            "--input",
            &input,
            "--grant-host",
            &addr.to_string(),
        ],
    )?;
    show(
        "the same call without the grant is refused by the host",
        &["plugin", "call", &http.display().to_string(), "request", "--input", &input],
    )?;

    // A flow, durably run: plugins folder, a connection with a grant, apply, run, inspect.
    let data = target.join("demo-data");
    let _ = std::fs::remove_dir_all(&data);
    let plugin_dir = data.join("plugins");
    std::fs::create_dir_all(&plugin_dir).map_err(|e| e.to_string())?;
    for wasm in [&http, &clean] {
        std::fs::copy(wasm, plugin_dir.join(wasm.file_name().unwrap())).map_err(|e| e.to_string())?;
    }
    let data_arg = data.display().to_string();
    let flow_file = root().join("examples").join("contact-sync.yaml").display().to_string();
    let base = format!("http://{addr}");
    show(
        "a connection: the CRM account the flow's action uses, granted its host",
        &[
            "--data-dir",
            &data_arg,
            "connection",
            "set",
            "crm",
            "--plugin",
            "http",
            "--grant-host",
            &addr.to_string(),
            "--setting",
            &format!("base_url={base}"),
        ],
    )?;
    show(
        "apply the example flow (validated against the plugins and connections)",
        &["--data-dir", &data_arg, "flow", "apply", &flow_file],
    )?;
    show(
        "run it: every step's input, output and timing is recorded",
        &[
            "--data-dir",
            &data_arg,
            "flow",
            "run",
            "contact-sync",
            "--input",
            r#"{"name":" Ada Lovelace ","email":" ADA@Example.COM "}"#,
        ],
    )?;
    show("the runs so far", &["--data-dir", &data_arg, "runs", "list"])?;
    println!("\nNext: `weft --data-dir {data_arg} runs show <id> --json`; write your own plugin or flow (README.md).");
    Ok(())
}

/// A tiny JSON app for the demo: every request gets one contact.
fn serve_contacts(listener: TcpListener) {
    for stream in listener.incoming().flatten() {
        let mut reader = BufReader::new(&stream);
        let mut line = String::new();
        while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            if line == "\r\n" {
                break;
            }
            line.clear();
        }
        let body = r#"{"id":1,"name":"Ada Lovelace","email":"ada@example.com"}"#;
        let mut stream = &stream;
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
    }
}
