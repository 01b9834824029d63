//! `weft plugin build`: a plugin project's sources into a component.
//!
//! The language is the project's: `Cargo.toml` is Rust (cargo for
//! wasm32-wasip2), `package.json` or a `.js` module is JavaScript
//! (componentize-js), a `.py` module is Python (componentize-py). A
//! JavaScript or Python project says in `weft.toml` which world it
//! implements and which module is its entry:
//!
//! ```toml
//! name = "acme"               # the component is dist/acme.wasm (default: the folder's name)
//! world = "connector"         # connector, oauth-connector or transform
//! main = "src/connector.js"   # the ES module, or the Python module's file
//! ```
//!
//! Whatever the language, the component then gets stubs for the WASI imports
//! weft does not lend ([`super::stub`]), and is written to `dist/<name>.wasm`
//! (through a hidden file renamed into place, so a plugins folder never sees
//! half a component).

use super::new::Language;
use super::stub::{self, Shape};
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `weft.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    name: Option<String>,
    world: Option<String>,
    main: Option<String>,
}

/// The worlds a JavaScript or Python plugin may name.
const WORLDS: [&str; 3] = ["connector", "oauth-connector", "transform"];

/// A plugin project, as found in its folder.
#[derive(Debug, Clone)]
pub struct Project {
    pub dir: PathBuf,
    pub language: Language,
    /// The component's name (`dist/<name>.wasm`); for Rust, cargo's artifact names it.
    pub name: String,
    /// The world (JavaScript and Python).
    pub world: Option<String>,
    /// The entry module (JavaScript and Python).
    pub main: Option<PathBuf>,
}

impl Project {
    /// Find the project in `dir`: its language, name, world and entry module.
    pub fn open(dir: &Path) -> Result<Project> {
        if !dir.is_dir() {
            bail!("{} is not a folder (give the plugin project's folder)", dir.display());
        }
        // Absolute, so the tools (run in the project's folder) and messages agree on every path.
        let dir = &dir.canonicalize().with_context(|| format!("reading {}", dir.display()))?;
        let file = dir.join("weft.toml");
        let settings: Settings = match std::fs::read_to_string(&file) {
            Ok(text) => toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Settings::default(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
        };
        let files = |sub: &str, ext: &[&str]| -> Vec<PathBuf> {
            let mut found: Vec<PathBuf> = std::fs::read_dir(dir.join(sub))
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| ext.iter().any(|e| x == *e)))
                .collect();
            found.sort();
            found
        };
        const JS: &[&str] = &["js", "mjs"];
        const PY: &[&str] = &["py"];
        let language = match settings.main.as_deref().and_then(|m| Path::new(m).extension()) {
            Some(x) if JS.iter().any(|e| x == *e) => Language::Js,
            Some(x) if x == "py" => Language::Python,
            Some(_) => bail!(
                "{}: main = {:?} is neither a JavaScript module (.js, .mjs) nor a Python one (.py)",
                file.display(),
                settings.main.unwrap_or_default()
            ),
            None if settings.main.is_some() => bail!("{}: main must name a .js, .mjs or .py file", file.display()),
            None if dir.join("Cargo.toml").exists() => Language::Rust,
            None if dir.join("package.json").exists() || !files(".", JS).is_empty() || !files("src", JS).is_empty() => {
                Language::Js
            }
            None if !files(".", PY).is_empty() => Language::Python,
            None => bail!(
                "{} holds no plugin project: no Cargo.toml (Rust), package.json or .js module (JavaScript), or .py \
                 module (Python). Start one with `weft plugin new NAME --kind connector --lang rust|js|python`",
                dir.display()
            ),
        };
        let folder_name = || dir.file_name().map(|n| n.to_string_lossy().into_owned());
        let package_json = || -> Option<serde_json::Value> {
            serde_json::from_str(&std::fs::read_to_string(dir.join("package.json")).ok()?).ok()
        };
        if language == Language::Rust {
            let name = settings.name.or_else(folder_name).unwrap_or_else(|| "plugin".into());
            return Ok(Project { dir: dir.to_path_buf(), language, name, world: None, main: None });
        }
        let world = settings.world.clone().with_context(|| {
            format!(
                "{} must say which world the plugin implements, e.g. world = \"connector\" (one of: {})",
                file.display(),
                WORLDS.join(", ")
            )
        })?;
        if !WORLDS.contains(&world.as_str()) {
            bail!("{}: world = {world:?} is not one of {}", file.display(), WORLDS.join(", "));
        }
        let main = match &settings.main {
            Some(main) => dir.join(main),
            None => {
                let candidates = match language {
                    Language::Js => match package_json().and_then(|p| p["main"].as_str().map(|m| dir.join(m))) {
                        Some(main) if main.is_file() => vec![main],
                        _ => files(".", JS).into_iter().chain(files("src", JS)).collect(),
                    },
                    _ => {
                        let app = dir.join("app.py");
                        if app.is_file() { vec![app] } else { files(".", PY) }
                    }
                };
                match candidates.as_slice() {
                    [one] => one.clone(),
                    [] => bail!("{} holds no module to build", dir.display()),
                    _ => bail!("{}: say which module is the plugin's, e.g. main = \"app.py\"", file.display()),
                }
            }
        };
        if !main.is_file() {
            bail!("{} does not exist (weft.toml's main)", main.display());
        }
        let name = settings
            .name
            .or_else(|| {
                (language == Language::Js)
                    .then(package_json)
                    .flatten()
                    .and_then(|p| p["name"].as_str().map(|n| n.rsplit('/').next().unwrap_or(n).to_string()))
            })
            .or_else(folder_name)
            .unwrap_or_else(|| "plugin".into());
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            bail!("{}: name = {name:?} cannot name a file", file.display());
        }
        Ok(Project { dir: dir.to_path_buf(), language, name, world: Some(world), main: Some(main) })
    }
}

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Write the component here instead of `dist/<name>.wasm`.
    pub out: Option<PathBuf>,
    /// A folder of installed tools (`js/node_modules/.bin/componentize-js`,
    /// `py/bin/componentize-py`), searched after the project and PATH:
    /// `WEFT_TOOLS_DIR`, e.g. a weft checkout's `target/tools`.
    pub tools_dir: Option<PathBuf>,
}

/// One component built.
#[derive(Debug)]
pub struct Built {
    pub path: PathBuf,
    pub size: u64,
    pub shape: Shape,
    /// The imports that go to trap stubs.
    pub stubbed: Vec<String>,
    pub elapsed: Duration,
}

/// Build `project`; progress goes to stderr.
pub fn build(project: &Project, options: &Options) -> Result<Vec<Built>> {
    let started = Instant::now();
    let mut options = options.clone();
    if let Some(out) = &options.out
        && out.is_relative()
    {
        options.out = Some(std::env::current_dir().context("reading the current folder")?.join(out));
    }
    let options = &options;
    let built = match project.language {
        Language::Rust => build_rust(project, options)?,
        Language::Js | Language::Python => {
            let out =
                options.out.clone().unwrap_or_else(|| project.dir.join("dist").join(format!("{}.wasm", project.name)));
            let raw = componentize(project, options, &out)?;
            vec![(raw, out)]
        }
    };
    let mut done = Vec::new();
    for (bytes, out) in built {
        let stubbed =
            stub::stub_refused(&bytes).with_context(|| format!("{} is not a plugin weft can load", out.display()))?;
        let wanted = project.world.as_deref().map(|w| if w == "transform" { "transform" } else { "connector" });
        if let (Some(wanted), Some(got)) = (wanted, stubbed.shape.world_name())
            && wanted != got
        {
            bail!("{} implements the {got} world, but weft.toml says world = {wanted:?}", project.main_name());
        }
        write(&out, &stubbed.bytes)?;
        done.push(Built {
            path: out,
            size: stubbed.bytes.len() as u64,
            shape: stubbed.shape,
            stubbed: stubbed.stubbed,
            elapsed: started.elapsed(),
        });
    }
    Ok(done)
}

impl Project {
    fn main_name(&self) -> String {
        self.main.as_ref().map(|m| m.display().to_string()).unwrap_or_else(|| self.dir.display().to_string())
    }
}

/// Write `bytes` to `path` whole: into a hidden file beside it, renamed into place.
fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let partial = dir.join(format!(".{name}.partial"));
    std::fs::write(&partial, bytes).with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))
}

/// `cargo build --release --target wasm32-wasip2`: each cdylib's component,
/// with where it goes.
fn build_rust(project: &Project, options: &Options) -> Result<Vec<(Vec<u8>, PathBuf)>> {
    check_wasm_target(&project.dir);
    eprintln!("[weft] cargo build --release --target wasm32-wasip2 (in {})", project.dir.display());
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(&project.dir)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--message-format=json-render-diagnostics"])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo (is Rust installed? https://rustup.rs)")?;
    if !output.status.success() {
        bail!("cargo build failed ({}); its messages are above", output.status);
    }
    let mut artifacts = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let cdylib = message["target"]["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "cdylib"));
        if message["reason"] != "compiler-artifact" || !cdylib {
            continue;
        }
        for file in message["filenames"].as_array().into_iter().flatten().filter_map(|f| f.as_str()) {
            if file.ends_with(".wasm") {
                artifacts.push(PathBuf::from(file));
            }
        }
    }
    match (artifacts.len(), &options.out) {
        (0, _) => bail!(
            "cargo built no component: a plugin crate is a library with crate-type = [\"cdylib\"] in its Cargo.toml"
        ),
        (1, _) | (_, None) => {}
        (n, Some(_)) => bail!("cargo built {n} components; --out names one file"),
    }
    artifacts
        .into_iter()
        .map(|file| {
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let out = options.out.clone().unwrap_or_else(|| {
                project.dir.join("dist").join(file.file_name().map(PathBuf::from).unwrap_or_default())
            });
            Ok((bytes, out))
        })
        .collect()
}

/// Fail early, and clearly, when rustup knows the wasm32-wasip2 target is missing.
fn check_wasm_target(dir: &Path) {
    let Ok(out) = Command::new("rustup").current_dir(dir).args(["target", "list", "--installed"]).output() else {
        return; // no rustup: cargo will say what is wrong
    };
    if out.status.success() && !String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == "wasm32-wasip2") {
        eprintln!("[weft] the wasm32-wasip2 target is not installed: add it with `rustup target add wasm32-wasip2`");
    }
}

/// A component toolchain `weft plugin build` runs.
struct Tool {
    name: &'static str,
    version: &'static str,
    /// Where a project installs it, relative to the project.
    in_project: &'static str,
    /// Where `cargo xtask` installs it, relative to `WEFT_TOOLS_DIR`.
    in_tools_dir: &'static str,
    /// How to install it.
    install: String,
}

impl Tool {
    fn componentize_js() -> Tool {
        Tool {
            name: "componentize-js",
            version: super::COMPONENTIZE_JS_VERSION,
            in_project: "node_modules/.bin/componentize-js",
            in_tools_dir: "js/node_modules/.bin/componentize-js",
            install: format!(
                "in the project, `npm install --save-dev @bytecodealliance/componentize-js@{}` (it needs Node.js)",
                super::COMPONENTIZE_JS_VERSION
            ),
        }
    }

    fn componentize_py() -> Tool {
        Tool {
            name: "componentize-py",
            version: super::COMPONENTIZE_PY_VERSION,
            in_project: ".venv/bin/componentize-py",
            in_tools_dir: "py/bin/componentize-py",
            install: format!(
                "in the project, `python3 -m venv .venv && .venv/bin/pip install componentize-py=={}`",
                super::COMPONENTIZE_PY_VERSION
            ),
        }
    }

    /// The tool in the project, else on PATH, else in the tools folder.
    fn find(&self, project: &Path, tools_dir: Option<&Path>) -> Result<PathBuf> {
        let mut looked = vec![project.join(self.in_project)];
        looked.extend(std::env::var_os("PATH").iter().flat_map(std::env::split_paths).map(|d| d.join(self.name)));
        if let Some(tools) = tools_dir {
            looked.push(tools.join(self.in_tools_dir));
        }
        if let Some(found) = looked.iter().find(|p| p.is_file()) {
            return Ok(found.clone());
        }
        bail!(
            "{} is not installed (looked in the project's {}, on PATH{}). Install the version weft builds with: {}",
            self.name,
            self.in_project,
            tools_dir.map(|t| format!(" and in {}", t.join(self.in_tools_dir).display())).unwrap_or_default(),
            self.install
        )
    }

    /// Warn when `path` is another version than the one weft builds with.
    fn check_version(&self, path: &Path) {
        let Ok(out) = Command::new(path).arg("--version").stdin(Stdio::null()).output() else { return };
        let text = String::from_utf8_lossy(&out.stdout);
        if out.status.success() && !text.split_whitespace().any(|w| w.trim_start_matches('v') == self.version) {
            eprintln!(
                "[weft] {} is {} ({}); weft builds with {} {}, other versions may fail or build differently",
                path.display(),
                text.trim(),
                self.name,
                self.name,
                self.version
            );
        }
    }
}

/// Run componentize-js or componentize-py for `project`; the raw component.
fn componentize(project: &Project, options: &Options, out: &Path) -> Result<Vec<u8>> {
    let main = project.main.as_ref().expect("JavaScript and Python projects have a main module");
    let world = project.world.as_deref().expect("JavaScript and Python projects have a world");
    // The project's copy of the WIT when it has one (`weft plugin new` writes it), else this weft's.
    let own_wit = project.dir.join("wit");
    let embedded;
    let wit = if own_wit.join("plugin.wit").is_file() {
        own_wit
    } else {
        embedded = tempfile::tempdir().context("creating a temporary folder for weft's WIT")?;
        super::write_wit(embedded.path()).context("writing weft's WIT")?;
        embedded.path().to_path_buf()
    };
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let raw = tempfile::Builder::new()
        .prefix(".weft-build-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    let tool = match project.language {
        Language::Js => Tool::componentize_js(),
        _ => Tool::componentize_py(),
    };
    let path = tool.find(&project.dir, options.tools_dir.as_deref())?;
    tool.check_version(&path);
    let mut cmd = Command::new(&path);
    if project.language == Language::Js {
        // stdio stays: errors and console.error reach stderr, which weft shows when a call traps.
        // fetch-event is an incoming-HTTP handler weft never calls; a transform gets no HTTP.
        let disabled: &[&str] = if world == "transform" { &["http", "fetch-event"] } else { &["fetch-event"] };
        cmd.arg(main).arg("--wit").arg(&wit).args(["--world-name", world, "-d"]).args(disabled);
    } else {
        // No --stub-wasi: it stubs wasi:http and stderr too. weft stubs only what it does not lend.
        let module = main.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let python_path = main.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        cmd.arg("-d").arg(&wit).args(["-w", world, "componentize", "-p"]).arg(python_path).arg(&module);
    }
    cmd.arg("-o").arg(raw.path());
    eprintln!("[weft] {} {} ({} world) …", tool.name, main.display(), world);
    let output =
        cmd.current_dir(&project.dir).stdin(Stdio::null()).output().with_context(|| match project.language {
            // The file is there, so what is missing is its interpreter.
            Language::Js => format!("cannot run {} (it runs on Node.js: is `node` on PATH?)", path.display()),
            _ => format!("cannot run {} (reinstall it: {})", path.display(), tool.install),
        })?;
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        let mut text = text.trim_end().to_string();
        // componentize-js counts syntax errors without showing them; node shows where they are.
        if project.language == Language::Js
            && text.contains("failed to parse JS source")
            && let Some(syntax) = node_syntax_error(main)
        {
            text.push_str("\n\nnode --check finds:\n");
            text.push_str(&syntax);
        }
        bail!("{} failed ({}):\n{text}", tool.name, output.status);
    }
    std::fs::read(raw.path()).with_context(|| format!("{} wrote no component", tool.name))
}

/// What `node --check` says of `module`'s syntax (as an ES module), when it finds an error.
fn node_syntax_error(module: &Path) -> Option<String> {
    let dir = tempfile::tempdir().ok()?;
    let copy = dir.path().join("module.mjs");
    std::fs::copy(module, &copy).ok()?;
    let out = Command::new("node").arg("--check").arg(&copy).stdin(Stdio::null()).output().ok()?;
    if out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stderr).replace(&copy.display().to_string(), &module.display().to_string());
    let lines: Vec<&str> =
        text.lines().filter(|l| !l.trim_start().starts_with("at ") && !l.starts_with("Node.js v")).collect();
    Some(lines.join("\n").trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, Result<Project>) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("acme");
        std::fs::create_dir(&root).unwrap();
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let project = Project::open(&root);
        (dir, project)
    }

    #[test]
    fn finds_the_language_world_and_module() {
        let (_d, p) = project(&[("Cargo.toml", "[package]")]);
        assert_eq!(p.unwrap().language, Language::Rust);

        let (d, p) = project(&[("weft.toml", "world = \"transform\""), ("app.py", ""), ("util.py", "")]);
        let p = p.unwrap();
        assert_eq!((p.language, p.world.as_deref()), (Language::Python, Some("transform")));
        assert_eq!(p.main.unwrap(), d.path().canonicalize().unwrap().join("acme/app.py"), "app.py among several");
        assert_eq!(p.name, "acme", "the folder names it");

        let (_d, p) = project(&[
            ("weft.toml", "world = \"connector\""),
            ("package.json", r#"{"name": "@acme/crm", "main": "src/index.js"}"#),
            ("src/index.js", ""),
            ("src/util.js", ""),
        ]);
        let p = p.unwrap();
        assert_eq!((p.language, p.name.as_str()), (Language::Js, "crm"), "package.json names it, without its scope");
        assert!(p.main.unwrap().ends_with("src/index.js"));
    }

    #[test]
    fn says_what_weft_toml_lacks() {
        let (_d, p) = project(&[("connector.js", "")]);
        assert!(p.unwrap_err().to_string().contains("must say which world the plugin implements"));
        let (_d, p) = project(&[("weft.toml", "world = \"connector\"\nmain = \"main.rb\"")]);
        assert!(p.unwrap_err().to_string().contains("is neither a JavaScript module"));
        let (_d, p) = project(&[("weft.toml", "world = \"connector\"\nlanguage = \"js\"")]);
        assert!(p.unwrap_err().to_string().contains("unknown field `language`"));
        let (_d, p) = project(&[("weft.toml", "world = \"connector\""), ("a.js", ""), ("b.js", "")]);
        assert!(p.unwrap_err().to_string().contains("say which module is the plugin's"));
        let (_d, p) = project(&[("notes.txt", "")]);
        assert!(p.unwrap_err().to_string().contains("holds no plugin project"));
    }
}
