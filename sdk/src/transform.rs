//! The `transform` world: implement [`Transform`] and call [`export_transform!`](crate::export_transform).
//!
//! A transform is untrusted user code in a flow: JSON in, JSON out, nothing
//! else. Its world imports only [`log`](crate::log): a transform that calls
//! [`http`](crate::http), [`kv`](crate::kv) or [`config`](crate::config)
//! builds, but weft refuses it when it loads, naming the import. Being a pure
//! function, a transform can be tested on the host with `cargo test`.
//!
//! # Examples
//!
//! ```
//! use weft_sdk::{Error, Result, Transform, Value, json};
//!
//! struct Slugify;
//!
//! impl Transform for Slugify {
//!     fn transform(input: Value) -> Result<Value> {
//!         let title = input["title"].as_str().ok_or_else(|| Error::invalid_input("`title` must be a string"))?;
//!         let words: Vec<String> = title
//!             .split(|c: char| !c.is_alphanumeric())
//!             .filter(|w| !w.is_empty())
//!             .map(str::to_lowercase)
//!             .collect();
//!         Ok(json!({ "slug": words.join("-") }))
//!     }
//! }
//!
//! assert_eq!(Slugify::transform(json!({ "title": "Hello, World!" }))?, json!({ "slug": "hello-world" }));
//! # Ok::<(), Error>(())
//! ```

use crate::{Error, Result, Value};
use std::marker::PhantomData;

/// The bindings generated from `wit/` for the `transform` world.
///
/// Their documentation is the contract's, `wit/plugin.wit`. A transform
/// written with this crate does not need them: [`Transform`] and
/// [`export_transform!`](crate::export_transform) stand in front of them.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "weft:plugin/transform",
        generate_all,
        pub_export_macro: true,
        export_macro_name: "__weft_export_transform_world",
        default_bindings_module: "weft_sdk::transform::bindings",
        runtime_path: "weft_sdk::__private::wit_bindgen::rt",
    });
}

crate::error::wit_error_conversions!(bindings::weft::plugin::types::Error, bindings::weft::plugin::types::RateLimit);

/// A pure function from JSON to JSON, run in the sandbox for every call.
///
/// Make the type a plugin with [`export_transform!`](crate::export_transform).
///
/// # Examples
///
/// ```
/// use weft_sdk::{Error, Result, Transform, Value, json};
///
/// struct CleanContact;
///
/// impl Transform for CleanContact {
///     fn transform(input: Value) -> Result<Value> {
///         let email = input["email"].as_str().ok_or_else(|| Error::invalid_input("`email` must be a string"))?;
///         Ok(json!({ "email": email.trim().to_lowercase() }))
///     }
/// }
///
/// // In the plugin crate: weft_sdk::export_transform!(CleanContact);
///
/// assert_eq!(CleanContact::transform(json!({ "email": " Ada@Example.COM " }))?, json!({ "email": "ada@example.com" }));
/// assert_eq!(
///     CleanContact::transform(json!({ "email": 7 })),
///     Err(Error::invalid_input("`email` must be a string")),
/// );
/// # Ok::<(), Error>(())
/// ```
pub trait Transform {
    /// Map `input` to an output document.
    ///
    /// `input` is the step's input, already parsed; the output is the step's
    /// output. Return [`Error::InvalidInput`] for input that does not fit:
    /// retrying it would fail again.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_sdk::{Error, Result, Transform, Value, json};
    ///
    /// struct Total;
    ///
    /// impl Transform for Total {
    ///     fn transform(input: Value) -> Result<Value> {
    ///         let lines = input["lines"].as_array().ok_or_else(|| Error::invalid_input("`lines` must be a list"))?;
    ///         let total: f64 = lines.iter().filter_map(|l| Some(l["price"].as_f64()? * l["quantity"].as_f64()?)).sum();
    ///         Ok(json!({ "total": total }))
    ///     }
    /// }
    ///
    /// let order = json!({ "lines": [{ "price": 2.5, "quantity": 4 }, { "price": 1.0, "quantity": 3 }] });
    /// assert_eq!(Total::transform(order)?, json!({ "total": 13.0 }));
    /// # Ok::<(), Error>(())
    /// ```
    fn transform(input: Value) -> Result<Value>;
}

/// Adapts a [`Transform`] to the generated `Guest` trait; used by [`export_transform!`](crate::export_transform).
#[doc(hidden)]
pub struct Export<T>(PhantomData<T>);

impl<T: Transform> bindings::Guest for Export<T> {
    fn transform(input: String) -> std::result::Result<String, bindings::weft::plugin::types::Error> {
        let input: Value = serde_json::from_str(&input)
            .map_err(|e| Error::invalid_input(format!("the transform input is not valid JSON: {e}")))?;
        Ok(T::transform(input)?.to_string())
    }
}

/// Export a type implementing [`Transform`] as this component's `transform` world.
///
/// Call it once, at the top level of the plugin crate (a `cdylib` built for
/// `wasm32-wasip2`). Input that is not valid JSON fails the call with
/// [`Error::InvalidInput`] before [`Transform::transform`] runs. A crate
/// exports one world: it cannot also call
/// [`export_connector!`](crate::export_connector).
///
/// # Examples
///
/// ```standalone_crate
/// use weft_sdk::{Result, Transform, Value, json};
///
/// struct Upper;
///
/// impl Transform for Upper {
///     fn transform(input: Value) -> Result<Value> {
///         Ok(json!({ "text": input["text"].as_str().unwrap_or_default().to_uppercase() }))
///     }
/// }
///
/// weft_sdk::export_transform!(Upper);
/// # assert_eq!(Upper::transform(json!({ "text": "hi" })), Ok(json!({ "text": "HI" })));
/// ```
#[macro_export]
macro_rules! export_transform {
    ($transform:ty) => {
        #[doc(hidden)]
        type __WeftTransformExport = $crate::transform::Export<$transform>;
        $crate::transform::bindings::__weft_export_transform_world!(__WeftTransformExport);
    };
}
