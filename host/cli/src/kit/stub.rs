//! Stubs for the WASI imports weft does not lend.
//!
//! The JavaScript and Python runtimes import `wasi:filesystem` and
//! `wasi:sockets` whether or not a plugin touches files or sockets, and weft
//! refuses a component that imports them. [`stub_refused`] gives such a
//! component stubs of its own: it builds a small component that exports every
//! refused WASI interface, and plugs it into the plugin's imports (wac), so the
//! result imports only what weft lends.
//!
//! A stub answers "nothing there" where the interface has an answer for it —
//! a function whose result is an `option` or a `list` returns `none` or an
//! empty list (no preopened directories, no error code) — and traps
//! everywhere else. The empty answers matter: the WASI preview 1 adapter both
//! toolchains use asks for the preopened directories the first time it
//! writes to *any* descriptor, stderr included, so a stub that trapped there
//! would swallow the plugin's error messages and tracebacks.
//!
//! Only `wasi:` interfaces are stubbed. A refused import of another package
//! (a transform importing `weft:plugin/kv`) is the plugin's mistake, and is
//! reported, not hidden.

use anyhow::{Context, Result, bail};
use wasm_encoder::{
    CodeSection, ExportKind, ExportSection, Function, FunctionSection, Instruction, MemorySection, MemoryType, Module,
    TypeSection, ValType,
};
use weft_core::plugin::World;
use wit_component::{ComponentEncoder, DecodedWasm, StringEncoding};
use wit_parser::abi::{AbiVariant, WasmType};
use wit_parser::{
    InterfaceId, LiftLowerAbi, ManglingAndAbi, Resolve, Type, TypeDefKind, WasmExport, WasmExportKind, WorldId,
    WorldItem, WorldKey,
};

/// The core ABI names the stub module uses (`wasi:filesystem/types@0.2.9#…`, `memory`, `cabi_realloc`).
const MANGLING: ManglingAndAbi = ManglingAndAbi::Legacy(LiftLowerAbi::Sync);

/// Where the stub's zeroed return area starts in its memory.
const ZEROES: i32 = 16;

/// What a component is, as `weft plugin build` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// The weft world it implements, when it implements one.
    pub world: Option<World>,
    /// Whether it exports `weft:plugin/oauth` (an `oauth-connector`).
    pub oauth: bool,
    /// Its imports (interfaces by their full name, functions by theirs).
    pub imports: Vec<String>,
    /// Its exports.
    pub exports: Vec<String>,
}

impl Shape {
    /// The world's name: `connector` (with or without the `oauth` export) or `transform`.
    pub fn world_name(&self) -> Option<&'static str> {
        match self.world? {
            World::Connector => Some("connector"),
            World::Transform => Some("transform"),
        }
    }

    /// The imports weft refuses for the component's world.
    pub fn refused(&self) -> Vec<String> {
        let world = self.world.unwrap_or(World::Transform);
        self.imports.iter().filter(|name| !lent(world, name)).cloned().collect()
    }
}

/// The result of [`stub_refused`].
#[derive(Debug)]
pub struct Stubbed {
    /// The component, with stubs plugged into the refused WASI imports (the
    /// input unchanged when there were none).
    pub bytes: Vec<u8>,
    /// The imports that now go to stubs.
    pub stubbed: Vec<String>,
    /// The component as it is now.
    pub shape: Shape,
}

/// `wasi:http/types@0.2.12` → `wasi:http/types`.
fn unversioned(name: &str) -> &str {
    name.split_once('@').map_or(name, |(n, _)| n)
}

/// Whether weft lends `import` to plugins of `world`.
fn lent(world: World, import: &str) -> bool {
    let bare = unversioned(import);
    weft_runtime::caps::LENT_INTERFACES.iter().any(|(name, worlds)| *name == bare && worlds.contains(&world))
}

fn decode(component: &[u8]) -> Result<(Resolve, WorldId)> {
    match wit_component::decode(component).context("the file is not a valid WebAssembly component")? {
        DecodedWasm::Component(resolve, world) => Ok((resolve, world)),
        DecodedWasm::WitPackage(..) => bail!("the file is a WIT package, not a component"),
    }
}

/// The names of a world's interfaces and functions (its types are not imports of their own:
/// they come with the interface that defines them).
fn names(resolve: &Resolve, items: &wit_parser::IndexMap<WorldKey, WorldItem>) -> Vec<String> {
    items
        .iter()
        .filter(|(_, item)| !matches!(item, WorldItem::Type { .. }))
        .map(|(key, _)| resolve.name_world_key(key))
        .collect()
}

fn shape_of(resolve: &Resolve, world: WorldId) -> Shape {
    let w = &resolve.worlds[world];
    let exports = names(resolve, &w.exports);
    let supported =
        |e: &str, iface: &str| unversioned(e) == iface && e.split_once('@').is_none_or(|(_, v)| v.starts_with("0.1."));
    let world = if exports.iter().any(|e| supported(e, "weft:plugin/connector-api")) {
        Some(World::Connector)
    } else if exports.iter().any(|e| e == "transform") {
        Some(World::Transform)
    } else {
        None
    };
    let oauth = exports.iter().any(|e| supported(e, "weft:plugin/oauth"));
    Shape { world, oauth, imports: names(resolve, &w.imports), exports }
}

/// What `component` imports and exports, and which world it is.
pub fn shape(component: &[u8]) -> Result<Shape> {
    let (resolve, world) = decode(component)?;
    Ok(shape_of(&resolve, world))
}

/// Plug stubs into the WASI imports of `component` that weft does not lend to
/// its world (see the module's documentation). Fails, naming them, when a
/// refused import is not a WASI interface, or the component is not a plugin.
pub fn stub_refused(component: &[u8]) -> Result<Stubbed> {
    let (mut resolve, world) = decode(component)?;
    let shape = shape_of(&resolve, world);
    let Some(plugin_world) = shape.world else {
        bail!(
            "the component exports {}, but a weft plugin exports `weft:plugin/connector-api` (a connector) \
             or a `transform` function (a transform)",
            if shape.exports.is_empty() { "nothing".to_string() } else { shape.exports.join(", ") }
        );
    };
    let mut stubbed: Vec<InterfaceId> = Vec::new();
    let mut unfixable = Vec::new();
    for (key, item) in &resolve.worlds[world].imports {
        let name = resolve.name_world_key(key);
        if matches!(item, WorldItem::Type { .. }) || lent(plugin_world, &name) {
            continue;
        }
        match (key, item) {
            (WorldKey::Interface(id), WorldItem::Interface { .. }) if name.starts_with("wasi:") => stubbed.push(*id),
            _ => unfixable.push(name),
        }
    }
    if !unfixable.is_empty() {
        let world_name = shape.world_name().unwrap_or("transform");
        bail!(
            "the component imports {}, which weft does not lend to {world_name} plugins{}",
            unfixable.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
            if plugin_world == World::Transform {
                " (a transform is pure: it may use only weft:plugin/log — no HTTP, kv or config)"
            } else {
                ""
            }
        );
    }
    if stubbed.is_empty() {
        return Ok(Stubbed { bytes: component.to_vec(), stubbed: Vec::new(), shape });
    }
    let stub_world = stub_world(&mut resolve, world, &stubbed);
    let mut module = stub_module(&resolve, stub_world);
    wit_component::embed_component_metadata(&mut module, &resolve, stub_world, StringEncoding::UTF8)
        .context("describing the stub module")?;
    let stub = ComponentEncoder::default()
        .module(&module)
        .and_then(|e| e.validate(true).encode())
        .context("encoding the stub component")?;

    let mut graph = wac_graph::CompositionGraph::new();
    let plugin = wac_graph::types::Package::from_bytes("weft:plugin", None, component.to_vec(), graph.types_mut())
        .context("reading the component's types")?;
    let plugin = graph.register_package(plugin)?;
    let stub = wac_graph::types::Package::from_bytes("weft:stub", None, stub, graph.types_mut())
        .context("reading the stub's types")?;
    let stub = graph.register_package(stub)?;
    wac_graph::plug(&mut graph, vec![stub], plugin).context("plugging the stubs into the component")?;
    let bytes = graph.encode(wac_graph::EncodeOptions::default()).context("encoding the composed component")?;

    let names: Vec<String> = stubbed.iter().map(|id| resolve.name_world_key(&WorldKey::Interface(*id))).collect();
    let composed = self::shape(&bytes)?;
    let left = composed.refused();
    if !left.is_empty() {
        bail!("stubs could not be plugged into {}", left.join(", "));
    }
    Ok(Stubbed { bytes, stubbed: names, shape: composed })
}

/// A world that exports the `stubbed` interfaces and imports what their types
/// come from (in dependency order), built in `resolve` next to the plugin's.
fn stub_world(resolve: &mut Resolve, plugin: WorldId, stubbed: &[InterfaceId]) -> WorldId {
    let item = |id: InterfaceId| resolve.worlds[plugin].imports[&WorldKey::Interface(id)].clone();
    let mut imports = wit_parser::IndexMap::default();
    let mut pending: Vec<(InterfaceId, bool)> = stubbed.iter().rev().map(|id| (*id, false)).collect();
    // Depth first: an interface's dependencies go in before it.
    while let Some((id, expanded)) = pending.pop() {
        let key = WorldKey::Interface(id);
        if expanded {
            if !stubbed.contains(&id) && !imports.contains_key(&key) {
                imports.insert(key, item(id));
            }
            continue;
        }
        pending.push((id, true));
        for dep in resolve.interface_direct_deps(id) {
            if !stubbed.contains(&dep) && !imports.contains_key(&WorldKey::Interface(dep)) {
                pending.push((dep, false));
            }
        }
    }
    let exports = stubbed.iter().map(|id| (WorldKey::Interface(*id), item(*id))).collect();
    let package = resolve.worlds[plugin].package;
    resolve.worlds.alloc(wit_parser::World {
        name: "weft-stubs".into(),
        imports,
        exports,
        package,
        docs: Default::default(),
        stability: Default::default(),
        includes: Default::default(),
        span: Default::default(),
    })
}

fn val(t: WasmType) -> ValType {
    match t {
        WasmType::I32 | WasmType::Pointer | WasmType::Length => ValType::I32,
        WasmType::I64 | WasmType::PointerOrI64 => ValType::I64,
        WasmType::F32 => ValType::F32,
        WasmType::F64 => ValType::F64,
    }
}

/// Whether `func` can answer "nothing there": its result is an `option` or a `list`.
fn answers_nothing(resolve: &Resolve, func: &wit_parser::Function) -> bool {
    let Some(Type::Id(id)) = func.result else { return false };
    matches!(resolve.types[id].kind, TypeDefKind::Option(_) | TypeDefKind::List(_))
}

/// The core module behind the stub component: every export of `world` traps,
/// but those that can answer "nothing there" (see [`answers_nothing`]) return
/// a pointer to zeroed memory — `none`, or a list of length 0.
fn stub_module(resolve: &Resolve, world: WorldId) -> Vec<u8> {
    let mut types = TypeSection::new();
    let mut funcs = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    let mut add = |name: &str, params: Vec<ValType>, results: Vec<ValType>, body: &[Instruction<'_>]| {
        let index = funcs.len();
        types.ty().function(params, results);
        funcs.function(index);
        exports.export(name, ExportKind::Func, index);
        let mut f = Function::new([]);
        for i in body {
            f.instruction(i);
        }
        f.instruction(&Instruction::End);
        code.function(&f);
    };
    for (key, item) in &resolve.worlds[world].exports {
        let WorldItem::Interface { id, .. } = item else { continue };
        for func in resolve.interfaces[*id].functions.values() {
            let sig = resolve.wasm_signature(AbiVariant::GuestExport, func);
            let name = resolve.wasm_export_name(
                MANGLING,
                WasmExport::Func { interface: Some(key), func, kind: WasmExportKind::Normal },
            );
            let body = if sig.retptr && answers_nothing(resolve, func) {
                [Instruction::I32Const(ZEROES)]
            } else {
                [Instruction::Unreachable]
            };
            add(
                &name,
                sig.params.iter().copied().map(val).collect(),
                sig.results.iter().copied().map(val).collect(),
                &body,
            );
        }
    }
    // The stubs take no lists or strings they could keep: allocating traps.
    let realloc = resolve.wasm_export_name(MANGLING, WasmExport::Realloc);
    add(&realloc, vec![ValType::I32; 4], vec![ValType::I32], &[Instruction::Unreachable]);
    let mut memory = MemorySection::new();
    memory.memory(MemoryType { minimum: 1, maximum: Some(1), memory64: false, shared: false, page_size_log2: None });
    exports.export(&resolve.wasm_export_name(MANGLING, WasmExport::Memory), ExportKind::Memory, 0);
    let mut module = Module::new();
    module.section(&types).section(&funcs).section(&memory).section(&exports).section(&code);
    module.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A component of `world` (WIT text over weft's `wit/`) whose core module
    /// imports every function of its imported interfaces and exports traps.
    fn component(world: &str) -> Vec<u8> {
        let mut resolve = Resolve::default();
        let wit = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit");
        resolve.push_dir(&wit).unwrap();
        let pkg = resolve.push_str("test.wit", &format!("package test:plugin;\n{world}")).unwrap();
        let world = resolve.select_world(&[pkg], None).unwrap();
        let mut types = TypeSection::new();
        let mut imports = wasm_encoder::ImportSection::new();
        let mut count = 0;
        for (key, item) in &resolve.worlds[world].imports {
            let WorldItem::Interface { id, .. } = item else { continue };
            for func in resolve.interfaces[*id].functions.values() {
                let sig = resolve.wasm_signature(AbiVariant::GuestImport, func);
                types.ty().function(sig.params.iter().copied().map(val), sig.results.iter().copied().map(val));
                let (module, name) =
                    resolve.wasm_import_name(MANGLING, wit_parser::WasmImport::Func { interface: Some(key), func });
                imports.import(&module, &name, wasm_encoder::EntityType::Function(count));
                count += 1;
            }
        }
        let mut funcs = FunctionSection::new();
        let mut exports = ExportSection::new();
        let mut code = CodeSection::new();
        for (key, item) in &resolve.worlds[world].exports {
            let funcs_of: Vec<(Option<&WorldKey>, &wit_parser::Function)> = match item {
                WorldItem::Function(f) => vec![(None, f)],
                WorldItem::Interface { id, .. } => {
                    resolve.interfaces[*id].functions.values().map(|f| (Some(key), f)).collect()
                }
                WorldItem::Type { .. } => continue,
            };
            for (interface, func) in funcs_of {
                let sig = resolve.wasm_signature(AbiVariant::GuestExport, func);
                types.ty().function(sig.params.iter().copied().map(val), sig.results.iter().copied().map(val));
                funcs.function(count);
                let name = resolve
                    .wasm_export_name(MANGLING, WasmExport::Func { interface, func, kind: WasmExportKind::Normal });
                exports.export(&name, ExportKind::Func, count);
                let mut f = Function::new([]);
                f.instruction(&Instruction::Unreachable).instruction(&Instruction::End);
                code.function(&f);
                count += 1;
            }
        }
        types.ty().function([ValType::I32; 4], [ValType::I32]);
        funcs.function(count);
        exports.export("cabi_realloc", ExportKind::Func, count);
        let mut f = Function::new([]);
        f.instruction(&Instruction::Unreachable).instruction(&Instruction::End);
        code.function(&f);
        let mut memory = MemorySection::new();
        memory.memory(MemoryType { minimum: 1, maximum: None, memory64: false, shared: false, page_size_log2: None });
        exports.export("memory", ExportKind::Memory, 0);
        let mut module = Module::new();
        module.section(&types).section(&imports).section(&funcs).section(&memory).section(&exports).section(&code);
        let mut module = module.finish();
        wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8).unwrap();
        ComponentEncoder::default().module(&module).unwrap().validate(true).encode().unwrap()
    }

    #[test]
    fn stubs_the_files_and_sockets_a_runtime_imports() {
        let plugin = component(
            "world runtime {
                import wasi:filesystem/preopens@0.2.12;
                import wasi:sockets/tcp@0.2.12;
                import wasi:cli/stderr@0.2.12;
                import weft:plugin/log@0.1.1;
                export weft:plugin/connector-api@0.1.1;
            }",
        );
        let before = shape(&plugin).unwrap();
        assert_eq!(before.world, Some(World::Connector));
        assert!(before.refused().iter().any(|i| i.starts_with("wasi:filesystem/preopens")), "{before:?}");

        let out = stub_refused(&plugin).unwrap();
        let mut stubbed = out.stubbed.clone();
        stubbed.sort();
        assert_eq!(
            stubbed,
            [
                "wasi:filesystem/preopens@0.2.12",
                "wasi:filesystem/types@0.2.12",
                "wasi:sockets/network@0.2.12",
                "wasi:sockets/tcp@0.2.12"
            ]
        );
        assert!(out.shape.refused().is_empty(), "{:?}", out.shape);
        assert!(out.shape.imports.iter().any(|i| i == "wasi:cli/stderr@0.2.12"), "{:?}", out.shape);
        assert!(out.shape.imports.iter().any(|i| i == "wasi:io/streams@0.2.12"), "the stubs' types stay imported");
        assert_eq!(out.shape.world_name(), Some("connector"));
        assert!(out.shape.exports.iter().any(|e| e == "weft:plugin/connector-api@0.1.1"));
    }

    #[test]
    fn leaves_a_plugin_that_imports_only_what_is_lent_alone() {
        let plugin = component(
            "world pure {
                import weft:plugin/log@0.1.1;
                export transform: func(input: string) -> string;
            }",
        );
        let out = stub_refused(&plugin).unwrap();
        assert!(out.stubbed.is_empty());
        assert_eq!(out.bytes, plugin);
        assert_eq!(out.shape.world_name(), Some("transform"));
    }

    #[test]
    fn reports_what_a_stub_must_not_hide() {
        let plugin = component(
            "world impure {
                import weft:plugin/kv@0.1.1;
                export transform: func(input: string) -> string;
            }",
        );
        let err = stub_refused(&plugin).unwrap_err().to_string();
        assert!(err.contains("`weft:plugin/kv@0.1.1`, which weft does not lend to transform plugins"), "{err}");
        assert!(err.contains("a transform is pure"), "{err}");

        let err = stub_refused(&component("world other { export run: func(); }")).unwrap_err().to_string();
        assert!(err.contains("exports run, but a weft plugin exports"), "{err}");
    }
}
