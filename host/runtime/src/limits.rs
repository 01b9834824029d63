//! What one plugin call may consume. Defaults are sane for a 2-core machine;
//! an operator's grant can change any of them (within the engine's ceilings).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Per-call budgets and caps. Every call of every plugin runs under one of these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// CPU budget in fuel units (about one per wasm instruction).
    pub fuel: u64,
    /// Wall-clock deadline for the whole call, HTTP waits included.
    #[serde(with = "millis")]
    pub timeout: Duration,
    /// Linear memory, in bytes, across the instance's memories (capped by
    /// [`Ceilings::max_memory_bytes`]).
    pub memory_bytes: usize,
    /// Elements across the instance's tables.
    pub table_elements: usize,
    /// Bytes a call may return (JSON output, events, manifests).
    pub max_output_bytes: usize,
    /// Log lines kept per call; later lines are counted and dropped.
    pub max_log_lines: usize,
    /// Host resources (streams, requests, bodies…) a call may hold at once.
    pub max_host_resources: usize,
    /// Bytes of one outgoing HTTP request body.
    pub max_http_request_bytes: u64,
    /// Bytes of one incoming HTTP response body.
    pub max_http_response_bytes: u64,
    /// Time to connect, and to receive the first byte and then each next byte.
    #[serde(with = "millis")]
    pub http_timeout: Duration,
    /// Key-value limits of the (plugin, connection) namespace.
    pub kv: KvLimits,
}

/// Limits of one key-value namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KvLimits {
    pub max_key_bytes: u32,
    pub max_value_bytes: u32,
    /// What the namespace may hold, counting each entry as its key, its value
    /// and a fixed cost for what the store spends per entry
    /// (the store's per-entry cost, `weft_store::KV_ENTRY_BYTES`).
    pub quota_bytes: u64,
    /// Keys the namespace may hold.
    pub max_keys: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel: 2_000_000_000,
            timeout: Duration::from_secs(30),
            memory_bytes: 128 << 20,
            table_elements: 100_000,
            max_output_bytes: 4 << 20,
            max_log_lines: 1_000,
            max_host_resources: 10_000,
            max_http_request_bytes: 16 << 20,
            max_http_response_bytes: 16 << 20,
            http_timeout: Duration::from_secs(20),
            kv: KvLimits::default(),
        }
    }
}

impl Default for KvLimits {
    fn default() -> Self {
        Self { max_key_bytes: 512, max_value_bytes: 64 << 10, quota_bytes: 16 << 20, max_keys: 65_536 }
    }
}

/// Engine-wide ceilings, fixed when the [`Runtime`](super::Runtime) is built:
/// the pooling allocator reserves slots of these sizes up front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ceilings {
    /// Largest linear memory any grant can allow.
    pub max_memory_bytes: usize,
    /// Wasm stack per call (engine-wide; not changeable per grant).
    pub max_wasm_stack: usize,
    /// Component instances alive at once (= concurrent calls).
    pub max_concurrent_instances: u32,
}

impl Default for Ceilings {
    fn default() -> Self {
        Self { max_memory_bytes: 1 << 30, max_wasm_stack: 512 << 10, max_concurrent_instances: 1_000 }
    }
}

/// `Duration` as integer milliseconds in config files and the API.
mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}
