//! {{name}}: a weft transform — JSON in, JSON out, nothing else. Build it
//! with `weft plugin build`, test it with `weft plugin test` (the fixtures in
//! `tests/`).

use weft_sdk::{Error, Result, Transform, Value, json, log};

struct Plugin;

impl Transform for Plugin {
    fn transform(input: Value) -> Result<Value> {
        let name = input["name"]
            .as_str()
            .ok_or_else(|| Error::invalid_input("the input needs a text field \"name\""))?;
        log::debug(&format!("greeting {name}"));
        Ok(json!({ "greeting": format!("Hello, {name}!") }))
    }
}

weft_sdk::export_transform!(Plugin);
