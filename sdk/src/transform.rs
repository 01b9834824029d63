//! The `transform` world: implement [`Transform`] and call [`export_transform!`](crate::export_transform).

use crate::{Error, Result, Value};
use std::marker::PhantomData;

/// The bindings generated from `wit/` for the `transform` world.
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
pub trait Transform {
    /// Map `input` to an output document.
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
/// ```ignore
/// struct Upper;
/// impl weft_sdk::Transform for Upper { /* … */ }
/// weft_sdk::export_transform!(Upper);
/// ```
#[macro_export]
macro_rules! export_transform {
    ($transform:ty) => {
        #[doc(hidden)]
        type __WeftTransformExport = $crate::transform::Export<$transform>;
        $crate::transform::bindings::__weft_export_transform_world!(__WeftTransformExport);
    };
}
