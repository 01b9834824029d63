//! # weft
//!
//! An integration platform whose connectors and transforms are sandboxed
//! WebAssembly components. See `ARCHITECTURE.md` for the map:
//!
//! - [`runtime`]: the wasmtime engine, plugin loading, per-call sandboxes;
//! - [`caps`]: what the host lends plugins (HTTP, kv, log, config);
//! - [`flow`]: the flow format, expressions and validation;
//! - [`store`]: durable state in sled;
//! - [`cli`]: the `weft` command.

pub mod caps;
pub mod cli;
pub mod flow;
pub mod runtime;
pub mod server;
pub mod store;
