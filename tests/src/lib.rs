//! Helpers for weft's black-box tests: the built plugins, and a small HTTP
//! server on 127.0.0.1 for plugins to call.

/// Paths of the plugins built for wasm32-wasip2 by this crate's build script.
pub mod plugins {
    include!(concat!(env!("OUT_DIR"), "/plugins.rs"));
}

pub mod app;
