//! Recordings of a plugin call's host I/O: every outbound HTTP exchange, every
//! key-value operation, the clock readings and the seed of its randomness.
//!
//! A recording lets the call be run again without the application: the host
//! answers the plugin's requests from it ([`IoMode::Replay`]), so a fixture
//! tests a connector offline and a production run can be replayed against a
//! new version of its plugin. Secrets are redacted before anything is kept.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the host does with a call's I/O.
#[derive(Debug, Clone, Default)]
pub enum IoMode {
    /// Nothing is kept: the default.
    #[default]
    Off,
    /// Keep up to `cap` bytes of bodies and values (what passes the cap is cut
    /// and the recording says so).
    Record { cap: usize },
    /// Answer the call from a recording: no request leaves the host, no
    /// key-value write reaches the store, and the clocks and randomness are the
    /// recorded ones.
    Replay(Arc<IoRecording>),
}

/// The host I/O of one plugin call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IoRecording {
    /// Outbound HTTP exchanges, in the order the plugin sent them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<HttpExchange>,
    /// The connection's settings as the call read them (a replay reads these,
    /// whatever the connection holds by then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<serde_json::Map<String, serde_json::Value>>,
    /// Key-value operations, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kv: Vec<KvOp>,
    /// Wall-clock readings (nanoseconds since the Unix epoch).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wall_clock: Vec<u64>,
    /// Monotonic-clock readings (nanoseconds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monotonic_clock: Vec<u64>,
    /// The seed of every random byte the call read (hex, 32 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_seed: Option<String>,
    /// Something passed the recording's cap: a body or value is cut, or
    /// exchanges or readings are missing from the end.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl IoRecording {
    /// Whether nothing was recorded but the seed and clocks.
    pub fn has_exchanges(&self) -> bool {
        !self.http.is_empty() || !self.kv.is_empty()
    }

    /// Bytes the recording holds in bodies and values (roughly its size).
    pub fn bytes(&self) -> usize {
        let h = self.http.iter().map(|x| {
            x.request.body.len()
                + x.request.url.len()
                + x.response.as_ref().map_or(0, |r| r.body.len() + r.headers.values().map(String::len).sum::<usize>())
        });
        let k = self.kv.iter().map(|op| match op {
            KvOp::Get { key, value } => key.len() + value.as_ref().map_or(0, Body::len),
            KvOp::Set { key, value } => key.len() + value.len(),
            KvOp::Delete { key } => key.len(),
            KvOp::List { prefix, keys, .. } => prefix.len() + keys.iter().map(String::len).sum::<usize>(),
        });
        h.sum::<usize>() + k.sum::<usize>()
    }
}

/// One outbound request and what came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HttpExchange {
    pub request: RecordedRequest,
    /// The response, when one came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<RecordedResponse>,
    /// Why no response came: `denied: …` (the host's policy), `dns: …`,
    /// `connection refused`, `timeout`, or another transport failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A request as the plugin made it (before the host added any OAuth token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RecordedRequest {
    pub method: String,
    pub url: String,
    /// Header names in lower case; repeated headers joined with `, `.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Body::is_empty")]
    pub body: Body,
}

/// A response as the application sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RecordedResponse {
    pub status: u16,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Body::is_empty")]
    pub body: Body,
}

/// A body or a value: UTF-8 text as it is, other bytes in base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Body {
    Text(String),
    Binary {
        /// The bytes, base64 (standard alphabet, padded).
        base64: String,
    },
}

impl Default for Body {
    fn default() -> Self {
        Body::Text(String::new())
    }
}

impl Body {
    /// `bytes` as a body: text when they are UTF-8.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        match std::str::from_utf8(bytes) {
            Ok(text) => Body::Text(text.to_string()),
            Err(_) => {
                use base64::Engine as _;
                Body::Binary { base64: base64::engine::general_purpose::STANDARD.encode(bytes) }
            }
        }
    }

    /// The bytes, or why the base64 is not.
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        match self {
            Body::Text(text) => Ok(text.as_bytes().to_vec()),
            Body::Binary { base64 } => {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.decode(base64).map_err(|e| format!("bad base64: {e}"))
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Body::Text(t) => t.is_empty(),
            Body::Binary { base64 } => base64.is_empty(),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Body::Text(t) => t.len(),
            Body::Binary { base64 } => base64.len() / 4 * 3,
        }
    }
}

/// One key-value operation and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum KvOp {
    Get {
        key: String,
        /// What the store held (`null`: nothing).
        value: Option<Body>,
    },
    Set {
        key: String,
        value: Body,
    },
    Delete {
        key: String,
    },
    List {
        prefix: String,
        limit: u32,
        keys: Vec<String>,
    },
}

impl KvOp {
    pub fn key(&self) -> &str {
        match self {
            KvOp::Get { key, .. } | KvOp::Set { key, .. } | KvOp::Delete { key } => key,
            KvOp::List { prefix, .. } => prefix,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_keep_text_readable_and_bytes_exact() {
        let text = Body::from_bytes(b"{\"id\":1}");
        assert_eq!(serde_json::to_value(&text).unwrap(), serde_json::json!("{\"id\":1}"));
        let bytes = [0xff, 0x00, 0x80];
        let binary = Body::from_bytes(&bytes);
        let json = serde_json::to_value(&binary).unwrap();
        assert_eq!(json, serde_json::json!({ "base64": "/wCA" }));
        let back: Body = serde_json::from_value(json).unwrap();
        assert_eq!(back.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn a_recording_reads_back_as_written() {
        let rec = IoRecording {
            http: vec![HttpExchange {
                request: RecordedRequest {
                    method: "GET".into(),
                    url: "https://api.example.com/items/1".into(),
                    headers: BTreeMap::new(),
                    body: Body::default(),
                },
                response: Some(RecordedResponse {
                    status: 200,
                    headers: [("content-type".to_string(), "application/json".to_string())].into(),
                    body: Body::Text("{}".into()),
                }),
                error: None,
            }],
            settings: None,
            kv: vec![
                KvOp::Get { key: "seen".into(), value: None },
                KvOp::Set { key: "seen".into(), value: Body::Text("1".into()) },
            ],
            wall_clock: vec![1],
            monotonic_clock: vec![],
            random_seed: Some("00".repeat(32)),
            truncated: false,
        };
        let yaml = serde_yaml_ng::to_string(&rec).unwrap();
        let back: IoRecording = serde_yaml_ng::from_str(&yaml).unwrap();
        assert_eq!(back, rec);
        assert!(yaml.contains("op: get"), "{yaml}");
    }
}
