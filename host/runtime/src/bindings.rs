//! The one `bindgen!` site: host-side bindings for both worlds of `wit/`.
//!
//! `wasi:*` interfaces are mapped onto wasmtime-wasi / wasmtime-wasi-http's own
//! bindings; `weft:plugin/log` and `weft:plugin/types` are shared between the
//! two worlds so the host implements each interface once.

pub mod connector {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "weft:plugin/connector",
        exports: { default: async },
        with: {
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        },
    });
}

pub mod transform {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "weft:plugin/transform",
        exports: { default: async },
        with: {
            "weft:plugin/log": super::connector::weft::plugin::log,
            "weft:plugin/types": super::connector::weft::plugin::types,
        },
    });
}

pub use connector::exports::weft::plugin::connector_api as api;
pub use connector::weft::plugin::{config, kv, log, types};
