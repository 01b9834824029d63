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

/// The `oauth` export of the `oauth-connector` world (0.1.1). A connector need
/// not export it, so it is looked up on its own, not as part of `connector`.
pub mod oauth_connector {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "weft:plugin/oauth-connector",
        exports: { default: async },
        with: {
            "wasi": wasmtime_wasi::p2::bindings,
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "weft:plugin/log": super::connector::weft::plugin::log,
            "weft:plugin/types": super::connector::weft::plugin::types,
            "weft:plugin/kv": super::connector::weft::plugin::kv,
            "weft:plugin/config": super::connector::weft::plugin::config,
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
pub use oauth_connector::exports::weft::plugin::oauth;
