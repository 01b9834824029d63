//! The plugin author's kit: what `weft plugin new` and `weft plugin build` do.
//!
//! - [`new`] writes a plugin project — a connector or a transform in Rust,
//!   JavaScript or Python — from the templates in `host/cli/templates/`, that
//!   builds as it is;
//! - [`build`] finds a project's language and builds it into a component with
//!   that language's toolchain (cargo, componentize-js, componentize-py);
//! - [`stub`] plugs trap stubs into the WASI imports weft does not lend, which
//!   the JavaScript and Python runtimes bring along.
//!
//! It reads and composes components with wasm-tools' crates (`wit-component`,
//! `wit-parser`, `wasm-encoder`) and `wac-graph`; it runs nothing, so it
//! needs no wasmtime.

pub mod build;
pub mod new;
pub mod stub;

/// Embedded files: the project templates (`TEMPLATES`, paths under
/// `templates/`) and weft's WIT (`WIT`, paths under `wit/`).
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// The component toolchains `weft plugin build` is tested with; `cargo xtask
/// polyglot` installs the same versions.
pub const COMPONENTIZE_JS_VERSION: &str = "0.23.0";
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// Write weft's WIT (`plugin.wit` and `deps/`) into `dir`.
pub fn write_wit(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut written = Vec::new();
    for (path, text) in embedded::WIT {
        let file = dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&file, text)?;
        written.push(file);
    }
    Ok(written)
}
