//! # weft-sdk: write weft connectors and transforms in Rust
//!
//! A weft plugin is a WebAssembly component built for `wasm32-wasip2` against
//! the contract in weft's `wit/` folder (package `weft:plugin@0.1.1`). This crate
//! wraps the generated bindings so that a plugin is a plain Rust type that
//! implements one trait, plus one macro call.
//!
//! A plugin is exactly one world: implement [`Connector`] and call
//! [`export_connector!`], or implement [`Transform`] and call
//! [`export_transform!`]. (A transform that touches [`http`], [`kv`] or
//! [`config`] builds, but weft refuses it when it loads: the `transform` world
//! does not import them.)
//!
//! ## A complete connector
//!
//! `Cargo.toml`:
//! ```toml
//! [package]
//! name = "weather"
//! edition = "2024"
//!
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! weft-sdk = { path = "../weft/sdk" }
//! ```
//!
//! `src/lib.rs`:
//! ```no_run
//! use weft_sdk::{Action, CallContext, Connector, Error, Manifest, Result, Value, json};
//! use weft_sdk::{config, http, kv, log};
//!
//! struct Weather;
//!
//! impl Connector for Weather {
//!     fn describe() -> Manifest {
//!         Manifest::new("weather", "1.0.0", "Current weather from a weather API")
//!             .host("api.weather.example")
//!             .setting("base_url", "The API's base URL", false)
//!             .secret("api_key", "Your API key", true)
//!             .action(
//!                 Action::new("current", "The current weather in a city")
//!                     .input_schema(json!({
//!                         "type": "object",
//!                         "required": ["city"],
//!                         "properties": { "city": { "type": "string" } }
//!                     }))
//!                     .output_schema(json!({ "type": "object" })),
//!             )
//!     }
//!
//!     fn invoke(action: &str, input: Value, ctx: &CallContext) -> Result<Value> {
//!         match action {
//!             "current" => {
//!                 let base = config::setting_str("base_url")
//!                     .unwrap_or_else(|| "https://api.weather.example".into());
//!                 let key = config::secret("api_key")
//!                     .ok_or_else(|| Error::auth("the connection has no api_key"))?;
//!                 let city = input["city"].as_str().unwrap_or_default();
//!                 log::info(&format!("fetching weather for {city}"));
//!                 let response = http::Request::get(format!("{base}/v1/current?city={city}"))
//!                     .header("authorization", format!("Bearer {key}"))
//!                     .header("idempotency-key", &ctx.idempotency_key)
//!                     .send()?
//!                     .error_for_status()?;
//!                 kv::set_json("last_city", &json!(city))?;
//!                 response.json()
//!             }
//!             other => Err(Error::invalid_input(format!("unknown action {other:?}"))),
//!         }
//!     }
//! }
//!
//! weft_sdk::export_connector!(Weather);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2`; the `.wasm` in
//! `target/wasm32-wasip2/release/` is the plugin. Try it with
//! `weft plugin describe weather.wasm` and
//! `weft plugin call weather.wasm current --input '{"city":"Oslo"}' --grant-host api.weather.example`.
//!
//! ## A complete transform
//!
//! ```no_run
//! use weft_sdk::{Error, Result, Transform, Value, json};
//!
//! struct Greet;
//!
//! impl Transform for Greet {
//!     fn transform(input: Value) -> Result<Value> {
//!         let name = input["name"].as_str().ok_or_else(|| Error::invalid_input("name must be a string"))?;
//!         Ok(json!({ "greeting": format!("Hello, {name}!") }))
//!     }
//! }
//!
//! weft_sdk::export_transform!(Greet);
//! ```
//!
//! ## What a plugin can reach
//! Only what the host lends: HTTP through [`http`] to the hosts the operator
//! granted (every redirect is checked again), the connection's own [`config`]
//! and secrets, a private [`kv`] namespace, and [`log`]. No files, no sockets,
//! no environment. Every call runs in a fresh instance with a CPU budget, a
//! wall-clock deadline and memory, stack and output caps.
//!
//! ## Testing a plugin
//!
//! The crate builds for the host too, so `cargo test` on the host can check
//! what a plugin computes on its own: its [`Manifest`], its actions' input
//! handling, its webhook parsing ([`WebhookRequest`] and [`signature`]), a
//! transform's output. [`http`], [`kv`], [`config`] and [`log`] only work
//! inside weft's sandbox; on the host a call to them aborts the process.
//! Try the whole plugin with `weft plugin call`, `weft plugin poll` and
//! `weft plugin webhook`.
//!
//! ```
//! use weft_sdk::{Action, CallContext, Connector, Error, Manifest, Result, Value, http, json};
//!
//! struct Weather;
//!
//! impl Connector for Weather {
//!     fn describe() -> Manifest {
//!         Manifest::new("weather", "1.0.0", "Current weather from a weather API")
//!             .host("api.weather.example")
//!             .action(Action::new("current", "The current weather in a city"))
//!     }
//!
//!     fn invoke(action: &str, input: Value, _ctx: &CallContext) -> Result<Value> {
//!         match action {
//!             "current" => {
//!                 let city = input["city"].as_str().ok_or_else(|| Error::invalid_input("`city` must be a string"))?;
//!                 http::Request::get("https://api.weather.example/v1/current")
//!                     .query("city", city)
//!                     .send()?
//!                     .error_for_status()?
//!                     .json()
//!             }
//!             other => Err(Error::invalid_input(format!("unknown action {other:?}"))),
//!         }
//!     }
//! }
//!
//! // In `#[cfg(test)] mod tests` of the plugin crate:
//! assert_eq!(Weather::describe().hosts, ["api.weather.example"]);
//! let ctx = CallContext { idempotency_key: "test".into(), attempt: 1 };
//! assert_eq!(
//!     Weather::invoke("current", json!({ "city": 7 }), &ctx),
//!     Err(Error::invalid_input("`city` must be a string")),
//! );
//! ```

#![deny(missing_docs)]

// The generated bindings name this crate by its public path, also from inside it.
extern crate self as weft_sdk;

mod error;

pub mod config;
pub mod connector;
pub mod http;
pub mod kv;
pub mod log;
pub mod signature;
pub mod transform;

pub use error::{Error, Result};
pub use serde_json::{Value, json};

pub use connector::{
    Action, CallContext, Connector, Event, Manifest, OAuth2, PollResponse, PollingStrategy, Setting, Trigger,
    WebhookOutcome, WebhookRequest, WebhookResponse,
};
pub use transform::Transform;

#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;
}
