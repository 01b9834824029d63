//! Turning bytes into a loadable component, with errors that say what to do.

use crate::caps::LENT_INTERFACES;
use thiserror::Error;
use weft_core::plugin::World;

/// Why a file cannot be loaded as a weft plugin.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("{origin}: not a WebAssembly file ({found}); a weft plugin is a .wasm component")]
    NotWasm { origin: String, found: String },

    #[error(
        "{origin}: this is a core WebAssembly module, not a component. Build the plugin for the \
         wasm32-wasip2 target (`cargo build --target wasm32-wasip2`), or wrap a module with \
         `wasm-tools component new module.wasm -o plugin.wasm` (plus `--adapt` with the WASI \
         preview1 adapter for wasm32-wasip1 modules)"
    )]
    CoreModule { origin: String },

    #[error("{origin}: not a valid component: {reason}")]
    Invalid { origin: String, reason: String },

    #[error(
        "{origin}: this component is not a weft plugin: it exports {exports}, but a plugin exports \
         `weft:plugin/connector-api@0.1.x` (world `connector`) or a `transform` function (world \
         `transform`); build it against weft's wit/ folder"
    )]
    WrongWorld { origin: String, exports: String },

    #[error("{origin}: {}", describe_refused(imports, *world))]
    NotLent { origin: String, world: World, imports: Vec<String> },

    #[error("{origin}: the {world} exports do not match weft:plugin@0.1.x: {reason}")]
    Exports { origin: String, world: World, reason: String },

    #[error("{origin}: cannot link the component: {reason}")]
    Link { origin: String, reason: String },

    #[error("{origin}: describe() failed: {reason}")]
    Describe { origin: String, reason: String },

    #[error("{origin}: its manifest is invalid: {reason}")]
    Manifest { origin: String, reason: String },

    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
}

fn describe_refused(imports: &[String], world: World) -> String {
    let mut why = Vec::new();
    let has = |prefix: &str| imports.iter().any(|i| i.starts_with(prefix));
    if has("wasi:filesystem/") {
        why.push("wasi:filesystem is not available to plugins (they have no files)");
    }
    if has("wasi:sockets/") {
        why.push("wasi:sockets is not available to plugins (reach the network through wasi:http/outgoing-handler, which the host checks)");
    }
    if world == World::Transform && (has("wasi:http/") || has("weft:plugin/kv") || has("weft:plugin/config")) {
        why.push("a transform is pure: it may import only weft:plugin/log (no HTTP, kv or config)");
    }
    let list = imports.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ");
    let mut text = format!("the plugin imports {list}, which weft does not lend to {world} plugins");
    if !why.is_empty() {
        text.push_str(": ");
        text.push_str(&why.join("; "));
    }
    text
}

/// Check the file's shape before handing it to the compiler.
pub fn check_bytes(origin: &str, bytes: &[u8]) -> Result<(), LoadError> {
    if !bytes.starts_with(b"\0asm") {
        let found = if bytes.is_empty() {
            "the file is empty".to_string()
        } else if bytes.starts_with(b"(") || bytes.starts_with(b";;") {
            "it looks like WebAssembly text; compile it to binary first".to_string()
        } else {
            let head: String = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ");
            format!("it starts with {head}, not the \\0asm magic")
        };
        return Err(LoadError::NotWasm { origin: origin.to_string(), found });
    }
    if wasmparser::Parser::is_core_wasm(bytes) {
        return Err(LoadError::CoreModule { origin: origin.to_string() });
    }
    if !wasmparser::Parser::is_component(bytes) {
        return Err(LoadError::Invalid {
            origin: origin.to_string(),
            reason: "unknown WebAssembly binary version (expected a component-model binary)".into(),
        });
    }
    Ok(())
}

/// `wasi:http/types@0.2.6` → `wasi:http/types`.
fn unversioned(name: &str) -> &str {
    name.split_once('@').map_or(name, |(n, _)| n)
}

/// Imports of `world` that weft does not lend.
pub fn refused_imports<'a>(world: World, imports: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut refused: Vec<String> = imports
        .filter(|name| {
            let bare = unversioned(name);
            !LENT_INTERFACES.iter().any(|(lent, worlds)| *lent == bare && worlds.contains(&world))
        })
        .map(str::to_string)
        .collect();
    refused.sort();
    refused.dedup();
    refused
}

/// Contract versions this host runs: `weft:plugin@0.1.x`.
fn supported_version(name: &str) -> bool {
    name.split_once('@').is_none_or(|(_, version)| version.starts_with("0.1."))
}

/// Whether a connector exports the optional `weft:plugin/oauth` (0.1.1 and later).
pub fn exports_oauth<'a>(mut exports: impl Iterator<Item = &'a str>) -> bool {
    exports.any(|e| unversioned(e) == "weft:plugin/oauth" && supported_version(e))
}

/// The world a component implements, from its export names.
pub fn world_of<'a>(exports: impl Iterator<Item = &'a str>) -> Result<World, Vec<String>> {
    let exports: Vec<&str> = exports.collect();
    if exports.iter().any(|e| unversioned(e) == "weft:plugin/connector-api" && supported_version(e)) {
        Ok(World::Connector)
    } else if exports.contains(&"transform") {
        Ok(World::Transform)
    } else {
        Err(exports.iter().map(|e| e.to_string()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_lent() {
        let imports =
            ["wasi:io/streams@0.2.6", "wasi:filesystem/types@0.2.6", "weft:plugin/kv@0.1.0", "wasi:sockets/tcp@0.2.0"];
        assert_eq!(
            refused_imports(World::Transform, imports.into_iter()),
            vec!["wasi:filesystem/types@0.2.6", "wasi:sockets/tcp@0.2.0", "weft:plugin/kv@0.1.0"]
        );
        assert_eq!(
            refused_imports(World::Connector, imports.into_iter()),
            vec!["wasi:filesystem/types@0.2.6", "wasi:sockets/tcp@0.2.0"]
        );
    }

    #[test]
    fn names_the_world() {
        assert_eq!(world_of(["weft:plugin/connector-api@0.1.3"].into_iter()), Ok(World::Connector));
        assert_eq!(world_of(["transform"].into_iter()), Ok(World::Transform));
        assert_eq!(world_of(["wasi:cli/run@0.2.0"].into_iter()), Err(vec!["wasi:cli/run@0.2.0".to_string()]));
        // A contract version this host does not know is not taken for one it does.
        assert!(world_of(["weft:plugin/connector-api@0.2.0"].into_iter()).is_err());
    }

    #[test]
    fn rejects_non_components_clearly() {
        let err = check_bytes("x.wasm", b"hello world").unwrap_err().to_string();
        assert!(err.contains("not a WebAssembly file"), "{err}");
        let err = check_bytes("x.wasm", b"\0asm\x01\0\0\0").unwrap_err().to_string();
        assert!(err.contains("core WebAssembly module, not a component"), "{err}");
        assert!(check_bytes("x.wasm", b"").unwrap_err().to_string().contains("empty"));
    }
}
