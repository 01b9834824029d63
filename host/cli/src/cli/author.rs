//! `weft plugin new` and `weft plugin build`: start a plugin project, and
//! build it into a component (the work is in [`crate::kit`]).

use crate::kit::build::{self, Options, Project};
use crate::kit::new::{self, Kind, Language, NewProject, Sdk};
use anyhow::{Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct NewArgs {
    /// The plugin's name: 1 to 64 of [a-z0-9-] (a connector's manifest name, the component's file name).
    name: String,
    /// What the plugin is: a connector (an application's actions and triggers) or a transform (JSON in, JSON out).
    #[arg(long, value_enum)]
    kind: Kind,
    /// The language it is written in.
    #[arg(long, value_enum, default_value = "rust")]
    lang: Language,
    /// The project's folder (default: ./NAME); it must not exist, or be empty.
    #[arg(long, value_name = "PATH")]
    dir: Option<PathBuf>,
    /// Rust: where weft-sdk comes from (it is not on crates.io): a weft checkout's sdk/ folder, or a
    /// git URL of weft's repository. Default: the checkout this weft was built from.
    #[arg(long, env = "WEFT_SDK_PATH", value_name = "PATH|URL")]
    sdk: Option<String>,
}

#[derive(Args)]
pub struct BuildArgs {
    /// The plugin project's folder.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Write the component to FILE (default: DIR/dist/NAME.wasm).
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Where to look for componentize-js and componentize-py after the project and PATH:
    /// a folder holding js/node_modules/.bin/componentize-js and py/bin/componentize-py
    /// (a weft checkout's target/tools, where `cargo xtask polyglot` installs them).
    #[arg(long, env = "WEFT_TOOLS_DIR", value_name = "DIR")]
    tools_dir: Option<PathBuf>,
}

pub fn new(args: NewArgs) -> Result<ExitCode> {
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(&args.name));
    let sdk = match (args.lang, &args.sdk) {
        (Language::Rust, Some(sdk)) => Some(Sdk::parse(sdk)?),
        (Language::Rust, None) => Some(Sdk::of_this_build().ok_or_else(|| {
            anyhow::anyhow!(
                "a Rust plugin depends on weft-sdk, which is not published on crates.io, and the weft checkout this \
                 weft was built from is gone: name the SDK with --sdk (a weft checkout's sdk/ folder, or a git URL of \
                 weft's repository), or start a JavaScript or Python plugin (--lang js|python)"
            )
        })?),
        _ => None,
    };
    let project = NewProject { name: args.name.clone(), kind: args.kind, language: args.lang, dir: dir.clone(), sdk };
    let files = new::create(&project)?;
    let kind = match args.kind {
        Kind::Connector => "connector",
        Kind::Transform => "transform",
    };
    println!("created {} — a {} {kind}:", dir.display(), args.lang.label());
    let wit = files.iter().filter(|f| f.starts_with("wit")).count();
    for file in files.iter().filter(|f| !f.starts_with("wit")) {
        println!("  {}", file.display());
    }
    if wit > 0 {
        println!("  wit/  (weft's contract and the WASI packages it uses: {wit} files)");
    }
    if let Some(Sdk::Path(path)) = &project.sdk {
        println!("weft-sdk comes from {} (Cargo.toml; change it if that checkout moves)", path.display());
    }
    println!("next:\n  cd {}", dir.display());
    match args.lang {
        Language::Rust => println!("  rustup target add wasm32-wasip2      # once"),
        Language::Js => {
            println!("  npm install                          # componentize-js {}", crate::kit::COMPONENTIZE_JS_VERSION)
        }
        Language::Python => println!(
            "  python3 -m venv .venv && .venv/bin/pip install componentize-py=={}",
            crate::kit::COMPONENTIZE_PY_VERSION
        ),
    }
    println!("  weft plugin build\n  weft plugin test");
    Ok(ExitCode::SUCCESS)
}

pub fn build(args: BuildArgs) -> Result<ExitCode> {
    let project = Project::open(&args.dir)?;
    let options = Options { out: args.out, tools_dir: args.tools_dir };
    let built = build::build(&project, &options)?;
    if built.is_empty() {
        bail!("nothing was built");
    }
    for b in &built {
        let world = b.shape.world_name().unwrap_or("not a weft plugin");
        println!(
            "built {}: a {world}, {}, in {:.1} s",
            shown(&b.path),
            weft_core::human_bytes(b.size),
            b.elapsed.as_secs_f64()
        );
        println!("imports ({}):", b.shape.imports.len());
        for import in &b.shape.imports {
            println!("  {import}");
        }
        if !b.stubbed.is_empty() {
            println!(
                "stubbed (weft lends no files or sockets; the stubs trap if called, or answer \"none\"): {}",
                b.stubbed.join(", ")
            );
        }
        println!("try it: weft plugin describe {}", shown(&b.path));
    }
    Ok(ExitCode::SUCCESS)
}

/// `path` relative to the current folder when it is inside it.
fn shown(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(|p| p.display().to_string()))
        .unwrap_or_else(|| path.display().to_string())
}
