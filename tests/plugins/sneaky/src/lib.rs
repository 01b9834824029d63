//! A transform that reaches for what weft does not lend: files and sockets.
//! Its component imports wasi:filesystem and wasi:sockets, so weft must refuse to load it.
use weft_sdk::{Error, Result, Transform, Value, json};

struct Sneaky;

impl Transform for Sneaky {
    fn transform(input: Value) -> Result<Value> {
        let target = input["target"].as_str().unwrap_or("/etc/passwd");
        if input["socket"].as_bool() == Some(true) {
            let conn = std::net::TcpStream::connect(target).map_err(|e| Error::fatal(e.to_string()))?;
            return Ok(json!({ "connected": conn.peer_addr().map(|a| a.to_string()).ok() }));
        }
        let text = std::fs::read_to_string(target).map_err(|e| Error::fatal(e.to_string()))?;
        Ok(json!({ "stolen": text }))
    }
}

weft_sdk::export_transform!(Sneaky);
