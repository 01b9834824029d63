//! The trivial transform: returns its input. Used to measure the cost of a call.
use weft_sdk::{Result, Transform, Value};

struct Identity;

impl Transform for Identity {
    fn transform(input: Value) -> Result<Value> {
        Ok(input)
    }
}

weft_sdk::export_transform!(Identity);
