//! Builds every plugin in `plugins/` and `tests/plugins/` for wasm32-wasip2 and
//! exposes their paths to the tests as constants (`weft_tests::plugins::HTTP`…).
//!
//! Also fails the build when a test plugin has no test that uses it: a hostile
//! plugin nobody runs proves nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for dir in ["plugins", "tests/plugins", "sdk", "wit"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    println!("cargo:rerun-if-changed={}", manifest_dir.join("tests").display());
    println!("cargo:rerun-if-changed={}", root.join("host/cli/tests").display());

    let mut plugins = Vec::new(); // (package, artifact stem, is a test plugin)
    for (dir, test_only) in [("plugins", false), ("tests/plugins", true)] {
        let mut entries: Vec<_> = std::fs::read_dir(root.join(dir)).unwrap().flatten().map(|e| e.path()).collect();
        entries.sort();
        for path in entries.into_iter().filter(|p| p.join("Cargo.toml").exists()) {
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            let package = if test_only { format!("weft-test-{name}") } else { format!("weft-plugin-{name}") };
            plugins.push((package, name.replace('-', "_"), test_only));
        }
    }

    let target_dir = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root.join("target"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--profile", "plugin", "--target", "wasm32-wasip2", "--quiet"])
        .arg("--target-dir")
        .arg(&target_dir)
        // Flags meant for the host build must not leak into the wasm build.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET");
    for (package, _, _) in &plugins {
        cmd.args(["-p", package]);
    }
    let status = cmd.status().expect("cannot run cargo to build the plugins");
    assert!(
        status.success(),
        "building the plugins for wasm32-wasip2 failed (is the target installed? `rustup target add wasm32-wasip2`)"
    );

    let out_dir = target_dir.join("wasm32-wasip2").join("plugin");
    let test_sources = read_all(&manifest_dir.join("tests")) + &read_all(&root.join("host/cli/tests"));
    let mut constants = String::new();
    for (package, stem, test_only) in &plugins {
        let path = out_dir.join(format!("{stem}.wasm"));
        assert!(path.exists(), "{package} did not produce {}", path.display());
        let constant = stem.to_uppercase();
        if *test_only && !test_sources.contains(&format!("plugins::{constant}")) {
            panic!(
                "test plugin {package} is used by no test in tests/tests/ or host/cli/tests/ (expected `plugins::{constant}`)"
            );
        }
        constants
            .push_str(&format!("/// `{package}`\npub const {constant}: &str = {:?};\n", path.display().to_string()));
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("plugins.rs");
    std::fs::write(out, constants).unwrap();
}

fn read_all(dir: &Path) -> String {
    let mut text = String::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.path().extension().is_some_and(|e| e == "rs") {
                text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
    }
    text
}
