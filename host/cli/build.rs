//! `weft plugin new` writes projects from `templates/` and copies weft's WIT
//! (`../../wit`) into JavaScript and Python projects: this lists both as
//! `(relative path, include_str!(…))` tables, so the files are embedded (and
//! tracked by the compiler) and adding one needs no code change.

use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let mut out = String::new();
    for (constant, dir) in [("TEMPLATES", manifest.join("templates")), ("WIT", manifest.join("../../wit"))] {
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files = Vec::new();
        walk(&dir, &mut files);
        files.sort();
        out.push_str(&format!("pub static {constant}: &[(&str, &str)] = &[\n"));
        for file in files {
            let relative = file.strip_prefix(&dir).unwrap().to_str().unwrap().replace('\\', "/");
            out.push_str(&format!("    ({relative:?}, include_str!({:?})),\n", file.display().to_string()));
        }
        out.push_str("];\n");
    }
    std::fs::write(PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("embedded.rs"), out).unwrap();
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())).flatten() {
        let path = entry.path();
        let name = entry.file_name();
        // Editor and Python byproducts are not template files.
        if name == "__pycache__" || name.to_string_lossy().ends_with(".pyc") || name.to_string_lossy().ends_with('~') {
            continue;
        }
        if path.is_dir() {
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}
