//! # weft
//!
//! The `weft` binary: the command line ([`cli`]) and the wiring that puts
//! weft's layers together into a running node ([`node`]). The
//! [`registry`] of installed plugins is the adapter between them: it loads
//! plugins into the sandbox (`weft-runtime`), opens their connections from
//! the store (`weft-store`), and serves the flow engine (`weft-flow`) and the
//! admin API (`weft-server`) through `weft-core`'s traits; [`watch`] keeps it
//! in step with the plugins folder; [`replay`] replays recorded runs on it.
//! [`kit`] is the plugin author's side: `weft plugin new` and `weft plugin build`.
//!
//! **Architecture invariant:** this crate is the only one that knows every
//! layer, and it stays thin: it names no wasmtime, sled, hyper or axum type
//! itself (`cargo xtask edges` enforces it). See `ARCHITECTURE.md` for the
//! map.

pub mod cli;
pub mod kit;
pub mod node;
pub mod registry;
pub mod replay;
pub mod watch;
