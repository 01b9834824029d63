//! Developer tasks: `cargo xtask demo` (weft's main job) and `cargo xtask test`
//! (every test). Each builds what it needs; `rust-toolchain.toml` makes rustup
//! install the pinned toolchain and the wasm32-wasip2 target on first use.

mod edges;

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
        "edges" => edges::check_workspace(&root(), &mut cargo()).map(|summary| println!("{summary}")),
        "polyglot" => run(cargo().args(["build", "-p", "weft"]))
            .and_then(|()| polyglot(&target_dir().join("debug").join("weft")))
            .map(|dir| println!("built into {}", dir.display())),
        "ui" => ui(false),
        _ => {
            eprintln!(
                "usage: cargo xtask <demo|test|ui|edges|polyglot|schema>\n  demo      build the web UI, the plugins and weft, then run them\n  test      run every test\n  ui        build the web UI (host/ui) that weft embeds\n  edges     check the crates' dependencies against ARCHITECTURE.md's rules\n  polyglot  build the JavaScript and Python test components\n  schema    regenerate schema/flow.schema.json"
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

/// Every test: the dependency rules first (they fail in seconds), then unit, integration
/// (real plugins built by tests/build.rs), CLI and doc tests; and every benchmark built.
fn test() -> Result<(), String> {
    println!("==> {}", edges::check_workspace(&root(), &mut cargo())?);
    ensure_wasm_target();
    // The UI first: weft embeds it when compiled, and its own tests run here.
    ui(true)?;
    let (chromium, chromedriver) = browser()?;
    let postgres = postgres()?;
    let tools = polyglot_tools()?;
    let json_server = json_server()?;
    let oauth_server = oauth_server()?;
    // The default members: host, sdk, tests (whose build script compiles every
    // plugin to wasm32-wasip2) and xtask. Plugins themselves only build for wasm.
    let test = || {
        let mut cmd = cargo();
        cmd.arg("test")
            .env("WEFT_POLYGLOT_DIR", target_dir().join("polyglot"))
            .env("WEFT_TOOLS_DIR", &tools)
            .env("WEFT_JSON_SERVER", &json_server)
            .env("WEFT_OAUTH_SERVER_DIR", &oauth_server)
            .env("WEFT_CHROMIUM", &chromium)
            .env("WEFT_CHROMEDRIVER", &chromedriver)
            .env("WEFT_PG_BIN", &postgres)
            .env("WEFT_UI_SCREENSHOTS", target_dir().join("ui-screenshots"));
        cmd
    };
    // Compiled first (exactly as the run below compiles it), because the
    // polyglot components are built by the `weft` binary this makes.
    run(test().arg("--no-run"))?;
    polyglot(&target_dir().join("debug").join("weft"))?;
    run(&mut test())?;
    // The benchmarks are not run here (they take minutes and want a quiet
    // machine), but they must keep compiling: built with the tests' profile.
    run(cargo().args(["build", "--benches"]))
}

fn target_dir() -> PathBuf {
    std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root().join("target"))
}

/// The pinned json-server, the real REST records API the `records` connector's tests and the demo use.
const JSON_SERVER: &str = "json-server@0.17.4";

/// Install json-server under `target/tools/json-server` (npm) on first use; the path of its executable.
fn json_server() -> Result<PathBuf, String> {
    npm_tool(&target_dir().join("tools").join("json-server"), JSON_SERVER, "json-server")
}

/// The pinned oauth2-mock-server, the real OAuth 2.0 authorization server the OAuth tests drive.
const OAUTH_SERVER: &str = "oauth2-mock-server@9.3.0";

/// Install oauth2-mock-server under `target/tools/oauth2-mock-server` (npm) on first use; that
/// folder (it holds `node_modules`), which tests/oauth/server.mjs imports the package from.
fn oauth_server() -> Result<PathBuf, String> {
    let dir = target_dir().join("tools").join("oauth2-mock-server");
    npm_tool(&dir, OAUTH_SERVER, "oauth2-mock-server")?;
    Ok(dir)
}

/// Install npm `package` under `dir` on first use; the path of its executable `bin`.
fn npm_tool(dir: &Path, package: &str, bin: &str) -> Result<PathBuf, String> {
    let path = dir.join("node_modules").join(".bin").join(bin);
    if !path.exists() {
        println!("==> installing {package} (npm)");
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        run(Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(dir)
            .arg(package))?;
    }
    Ok(path)
}

/// The pinned component toolchains for JavaScript and Python (the versions
/// `weft plugin build` names, in host/cli/src/kit/mod.rs).
const COMPONENTIZE_JS: &str = "@bytecodealliance/componentize-js@0.23.0";
const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";

/// Install componentize-js (npm, into `target/tools/js`) and componentize-py
/// (pip, into a venv in `target/tools/py`) on first use; the tools folder,
/// which `weft plugin build` searches when `WEFT_TOOLS_DIR` names it.
fn polyglot_tools() -> Result<PathBuf, String> {
    let tools = target_dir().join("tools");
    npm_tool(&tools.join("js"), COMPONENTIZE_JS, "componentize-js")?;
    let venv = tools.join("py");
    if !venv.join("bin").join("componentize-py").exists() {
        println!("==> installing {COMPONENTIZE_PY} (pip, in {})", venv.display());
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        run(Command::new(venv.join("bin").join("pip")).args(["install", "--quiet", COMPONENTIZE_PY]))?;
    }
    Ok(tools)
}

/// The polyglot components: a project in `tests/polyglot/` and the file it is built into.
const POLYGLOT: [(&str, &str); 4] = [
    ("js/contact-card", "contact_card.wasm"),
    ("js/records", "js_records.wasm"),
    ("python/slugify", "slugify.wasm"),
    ("python/records", "py_records.wasm"),
];

/// Build the polyglot components in `tests/polyglot/` into `target/polyglot/`
/// with `weft plugin build` (the `weft` binary given): a JavaScript transform
/// and connector (componentize-js) and a Python transform and connector
/// (componentize-py). A component newer than its project's files, the WIT and
/// `weft plugin build`'s code (host/cli/src/kit) is not built again.
fn polyglot(weft: &Path) -> Result<PathBuf, String> {
    let out = target_dir().join("polyglot");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let wit = root().join("wit").join("plugin.wit");
    let mut tools = None;
    for (project, file) in POLYGLOT {
        let dir = root().join("tests").join("polyglot").join(project);
        let component = out.join(file);
        // Its files, the contract, and how `weft plugin build` treats a component.
        let mut inputs = files_in(&dir);
        inputs.extend(files_in(&root().join("host").join("cli").join("src").join("kit")));
        inputs.push(wit.clone());
        if !stale(&component, &inputs.iter().map(PathBuf::as_path).collect::<Vec<_>>()) {
            continue;
        }
        if tools.is_none() {
            tools = Some(polyglot_tools()?);
        }
        println!("==> weft plugin build {}", dir.display());
        run(Command::new(weft)
            .args(["plugin", "build"])
            .arg(&dir)
            .arg("--out")
            .arg(&component)
            .env("WEFT_TOOLS_DIR", tools.as_ref().unwrap()))?;
    }
    Ok(out)
}

/// The files under `dir` (not what builds leave there).
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let name = path.file_name().unwrap_or_default();
        if ["__pycache__", "node_modules", "dist"].iter().any(|n| name == *n) {
            continue;
        }
        if path.is_dir() {
            pending.extend(std::fs::read_dir(&path).into_iter().flatten().flatten().map(|e| e.path()));
        } else {
            files.push(path);
        }
    }
    files
}

/// Build the web UI in `host/ui` with its locked dependencies (`npm ci`, run
/// again only when the lockfile changes), type-check it and bundle it with
/// vite into `host/ui/dist`, where weft embeds it from; each text asset gets
/// a gzip twin that weft sends to browsers that accept it. With `test`, the
/// UI's unit tests run too.
fn ui(test: bool) -> Result<(), String> {
    let dir = root().join("host").join("ui");
    let installed = dir.join("node_modules").join(".package-lock.json");
    if stale(&installed, &[&dir.join("package-lock.json")]) {
        println!("==> npm ci (host/ui)");
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir))?;
    }
    println!("==> building the web UI (host/ui: tsc, vite)");
    run(Command::new("npm").args(["run", "--silent", "build"]).current_dir(&dir))?;
    let mut files = vec![dir.join("dist")];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).map_err(|e| e.to_string())?.flatten().map(|e| e.path()));
        } else if path.extension().is_some_and(|x| ["js", "css", "html", "svg", "json", "map"].iter().any(|t| x == *t))
        {
            run(Command::new("gzip").args(["-9", "-k", "-f", "-n"]).arg(&path))?;
        }
    }
    if test {
        println!("==> the web UI's unit tests (vitest)");
        run(Command::new("npm").args(["test", "--silent"]).current_dir(&dir))?;
    }
    Ok(())
}

/// Install Debian `packages` with apt-get (as root, or through sudo).
fn apt_install(packages: &[&str]) -> Result<(), String> {
    println!("==> installing {} (apt-get)", packages.join(", "));
    let sudo = |args: &[&str]| {
        let root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0")).unwrap_or(false);
        let mut cmd = if root { Command::new(args[0]) } else { Command::new("sudo") };
        if root {
            cmd.args(&args[1..])
        } else {
            cmd.args(args)
        };
        cmd.env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run(&mut sudo(&["apt-get", "update", "-qq"]))?;
    let mut install = vec!["apt-get", "install", "-y", "-qq", "--no-install-recommends"];
    install.extend_from_slice(packages);
    run(&mut sudo(&install))
}

/// Debian's Chromium and its WebDriver, for the browser tests: installed with
/// apt-get when absent (a browser downloaded by a test framework cannot be
/// fetched here). Their paths.
fn browser() -> Result<(PathBuf, PathBuf), String> {
    let chromium = PathBuf::from("/usr/bin/chromium");
    let driver = PathBuf::from("/usr/bin/chromedriver");
    if !chromium.exists() || !driver.exists() {
        apt_install(&["chromium", "chromium-driver"])?;
    }
    Ok((chromium, driver))
}

/// The folder of Debian's PostgreSQL programs (`/usr/lib/postgresql/<v>/bin`),
/// for the tests that run a real database: the `postgresql` package is
/// installed with apt-get when absent.
fn postgres() -> Result<PathBuf, String> {
    let find = || {
        let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
            .filter(|(_, bin): &(u32, PathBuf)| bin.join("postgres").exists())
            .collect();
        found.sort();
        found.pop().map(|(_, bin)| bin)
    };
    if let Some(bin) = find() {
        return Ok(bin);
    }
    apt_install(&["postgresql"])?;
    find().ok_or_else(|| "postgresql was installed, but /usr/lib/postgresql/<version>/bin/postgres is missing".into())
}

/// Whether `output` is missing or older than any of `inputs`.
fn stale(output: &Path, inputs: &[&Path]) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match modified(output) {
        None => true,
        Some(built) => inputs.iter().any(|i| modified(i).is_none_or(|m| m > built)),
    }
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
    ui(false)?;
    println!("==> building the plugins (wasm32-wasip2) and weft");
    let plugin_names = ["http", "clean-contact", "records", "jq", "template", "github", "slack"];
    let mut build = cargo();
    build.args(["build", "--profile", "plugin", "--target", "wasm32-wasip2"]);
    for name in plugin_names {
        build.args(["-p", &format!("weft-plugin-{name}")]);
    }
    run(&mut build)?;
    run(cargo().args(["build", "-p", "weft"]))?;
    let target = target_dir();
    let weft = target.join("debug").join("weft");
    let plugins = target.join("wasm32-wasip2").join("plugin");
    let wasm = |name: &str| plugins.join(format!("{}.wasm", name.replace('-', "_")));
    let (http, clean) = (wasm("http"), wasm("clean-contact"));

    // The CRM the example flows talk to: a real json-server on a fresh database.
    let data = target.join("demo-data");
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    let db = data.join("crm-db.json");
    std::fs::write(
        &db,
        r#"{"contacts":[{"id":1,"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com"}],"leads":[],"orders":[{"id":"A-1","address":"1 Analytical Way"}],"shipments":[]}"#,
    )
    .map_err(|e| e.to_string())?;
    let app = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
    let addr = app.local_addr().unwrap();
    drop(app);
    println!("==> json-server {} --port {}", db.display(), addr.port());
    let mut crm = Command::new(json_server()?)
        .arg(&db)
        .args(["--host", "127.0.0.1", "--port", &addr.port().to_string(), "--quiet"])
        .spawn()
        .map_err(|e| format!("cannot start json-server: {e}"))?;
    let crm_url = format!("http://{addr}");
    let mut waited = 0;
    while std::net::TcpStream::connect(addr).is_err() {
        if waited > 100 {
            let _ = crm.kill();
            return Err("json-server did not start".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        waited += 1;
    }
    let url = format!("{crm_url}/contacts/1");

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

    // The server, on a fresh data directory, with the example plugins and flows.
    let plugin_dir = data.join("plugins");
    std::fs::create_dir_all(&plugin_dir).map_err(|e| e.to_string())?;
    for name in plugin_names {
        let file = wasm(name);
        std::fs::copy(&file, plugin_dir.join(file.file_name().unwrap())).map_err(|e| e.to_string())?;
    }
    let listen = std::env::var("WEFT_DEMO_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let token = "weft-demo-admin-token";
    println!("\n==> weft serve --listen {listen} --data-dir {}", data.display());
    let mut server = Command::new(&weft)
        .args(["serve", "--listen", &listen])
        .env("WEFT_DATA_DIR", &data)
        .env("WEFT_ADMIN_TOKEN", token)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start weft serve: {e}"))?;
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) => {
                eprintln!("{line}");
                if line.starts_with("weft listening on") {
                    break;
                }
            }
            _ => {
                let _ = server.wait();
                return Err(format!(
                    "weft serve did not start (is {listen} in use? set WEFT_DEMO_LISTEN=127.0.0.1:PORT)"
                ));
            }
        }
    }
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(|l| eprintln!("{l}")));
    let server_url = format!("http://{listen}");
    let cli = |title: &str, args: &[&str]| -> Result<String, String> {
        println!("\n==> {title}\n$ weft {}", args.join(" "));
        let out = Command::new(&weft)
            .args(args)
            .env("WEFT_SERVER", &server_url)
            .env("WEFT_TOKEN", token)
            .output()
            .map_err(|e| e.to_string())?;
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let base = format!("base_url={crm_url}");
    let grant = addr.to_string();
    cli(
        "the CRM account the flows call, granted its host",
        &["connection", "set", "crm", "--plugin", "http", "--setting", &base, "--grant-host", &grant],
    )?;
    cli(
        "the same CRM as a records API (json-server)",
        &[
            "connection",
            "set",
            "crm-records",
            "--plugin",
            "records",
            "--setting",
            &base,
            "--setting",
            "timestamp_field=updatedAt",
            "--grant-host",
            &grant,
        ],
    )?;
    cli("the inbox the webhook flow listens on", &["connection", "set", "inbox", "--plugin", "http"])?;
    cli(
        "GitHub and Slack accounts (placeholders: put your token, webhook secret and Slack webhook URL here)",
        &[
            "connection",
            "set",
            "github",
            "--plugin",
            "github",
            "--secret",
            "token=REPLACE_ME",
            "--secret",
            "webhook_secret=REPLACE_ME",
            "--grant-host",
            "api.github.com",
        ],
    )?;
    cli(
        "(placeholder) the Slack incoming webhook",
        &[
            "connection",
            "set",
            "slack",
            "--plugin",
            "slack",
            "--secret",
            "webhook_url=https://hooks.slack.com/services/REPLACE/ME",
            "--grant-host",
            "hooks.slack.com",
        ],
    )?;
    let examples = root().join("examples");
    let mut files: Vec<String> = std::fs::read_dir(&examples)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    let mut apply = vec!["flow", "apply"];
    apply.extend(files.iter().map(String::as_str));
    cli("apply the example flows", &apply)?;
    cli("activate the webhook flow (it gets its URL)", &["flow", "activate", "incoming-contact"])?;
    cli("activate the schedule (every minute)", &["flow", "activate", "crm-heartbeat"])?;
    cli("poll json-server for new contacts (→ jq → POST /leads)", &["flow", "activate", "new-contact-to-lead"])?;
    cli("every minute: all orders, deduplicated → shipments", &["flow", "activate", "orders-every-minute"])?;
    let hook = cli("the webhook URL", &["hooks", "url", "incoming-contact"])?.trim().to_string();
    let contact = r#"{"name":" Ada Lovelace ","email":" ADA@Example.COM "}"#;
    println!(
        "\n==> a contact arrives on the webhook\n$ curl -X POST {hook} -H 'content-type: application/json' -d '{contact}'"
    );
    println!("{}", post(&hook, contact)?);
    std::thread::sleep(std::time::Duration::from_millis(500));
    cli("the runs so far", &["runs", "list"])?;
    cli("a manual run of the first example, waited for", &["flow", "run", "contact-sync", "--input", contact])?;
    cli(
        "a contact without an email: the run fails, and says why",
        &["flow", "run", "contact-sync", "--input", r#"{"name":"Grace Hopper"}"#],
    )?;
    cli(
        "a follow-up a day from now: the run waits, holding no worker",
        &["flow", "run", "follow-up", "--no-wait", "--input", contact],
    )?;
    cli(
        "poll for new contacts now (the webhook and the manual run created two): two leads",
        &["flow", "poll", "new-contact-to-lead"],
    )?;
    std::thread::sleep(std::time::Duration::from_millis(1000));
    println!("\n==> the leads in the CRM\n$ curl {crm_url}/leads\n{}", get(&format!("{crm_url}/leads"))?);
    println!(
        "\nweft is serving on {server_url} (Ctrl-C stops it).\n\n  web UI: {server_url}/  (sign in with the admin token: {token})\n\nTry:\n  \
         curl -X POST {hook} -H 'content-type: application/json' -d '{contact}'\n  \
         curl -H 'Authorization: Bearer {token}' {server_url}/api/runs\n  \
         curl -H 'Authorization: Bearer {token}' {server_url}/metrics\n  \
         WEFT_SERVER={server_url} WEFT_TOKEN={token} {} runs show <run id>\n  \
         hot-load: copy a .wasm into {} (replace it for a new version, delete it to unload), then\n  \
         WEFT_SERVER={server_url} WEFT_TOKEN={token} {} plugin list\n  \
         the API: {server_url}/api/openapi.json\n  \
         the CRM (json-server): {crm_url}/contacts, {crm_url}/leads, {crm_url}/shipments\n  \
         GitHub → Slack: set real secrets on the `github` and `slack` connections, edit owner/repo in\n  \
         examples/github-issue-to-slack.yaml, then `weft flow apply` it and `weft flow activate github-issue-to-slack`",
        weft.display(),
        plugin_dir.display(),
        weft.display()
    );
    let _ = server.wait();
    let _ = crm.kill();
    Ok(())
}

/// One HTTP/1.1 request to an http:// URL (a JSON `body` when given); the
/// response's status line and body.
fn http(method: &str, url: &str, body: Option<&str>) -> Result<(String, String), String> {
    let rest = url.strip_prefix("http://").ok_or("not an http URL")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = std::net::TcpStream::connect(host).map_err(|e| e.to_string())?;
    let content =
        body.map_or(String::new(), |b| format!("content-type: application/json\r\ncontent-length: {}\r\n", b.len()));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: {host}\r\n{content}connection: close\r\n\r\n{}",
        body.unwrap_or("")
    )
    .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).map_err(|e| e.to_string())?;
    let status = answer.lines().next().unwrap_or_default().to_string();
    Ok((status, answer.split("\r\n\r\n").nth(1).unwrap_or_default().to_string()))
}

/// POST `body` to an http:// URL; the response's status line and body.
fn post(url: &str, body: &str) -> Result<String, String> {
    let (status, body) = http("POST", url, Some(body))?;
    Ok(format!("{status}\n{body}"))
}

/// GET an http:// URL; the body.
fn get(url: &str) -> Result<String, String> {
    Ok(http("GET", url, None)?.1)
}
