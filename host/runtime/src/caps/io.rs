//! The tape of a call's host I/O: recording it as the call runs, or answering
//! the call from a recording (see [`weft_core::io`]).
//!
//! Recording tees what passes — request and response bodies as they stream,
//! key-value operations, clock readings — up to a byte cap, with the
//! connection's secrets redacted. Its randomness comes from a generator
//! seeded for the call, and the seed is kept. Replaying answers HTTP requests
//! from the recorded exchanges (matched by method, URL and body), serves
//! key-value reads from the state the recording saw and keeps writes to itself,
//! and hands back the recorded clock readings and seed, so an unchanged plugin
//! computes exactly what it computed before.

use rand::SeedableRng;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock};
use weft_core::io::{Body, HttpExchange, IoRecording, KvOp, RecordedRequest, RecordedResponse};

/// Clock readings kept per call; a plugin reading the clock in a loop does not fill the recording.
const MAX_READINGS: usize = 10_000;

/// How a text is redacted before it is kept or compared.
pub type Redactor = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// A call's tape.
pub struct Tape {
    replay: Option<Arc<IoRecording>>,
    cap: usize,
    redact: Redactor,
    state: Mutex<State>,
    seed: [u8; 32],
}

#[derive(Default)]
struct State {
    exchanges: Vec<Raw>,
    settings: Option<serde_json::Map<String, serde_json::Value>>,
    kv: Vec<KvOp>,
    wall: Vec<u64>,
    monotonic: Vec<u64>,
    /// Bytes of bodies and values kept so far.
    bytes: usize,
    truncated: bool,
    // Replaying:
    used: Vec<bool>,
    store: BTreeMap<String, Vec<u8>>,
    wall_next: usize,
    monotonic_next: usize,
    /// When the recorded readings ran out: later readings advance from the last by real time.
    ran_out: Option<(Instant, u64)>,
    wall_ran_out: Option<(Instant, u64)>,
}

/// An exchange being recorded (bodies arrive as they stream).
struct Raw {
    request: RecordedRequest,
    request_body: Vec<u8>,
    response: Option<(u16, BTreeMap<String, String>)>,
    response_body: Vec<u8>,
    error: Option<String>,
}

/// What a replayed request gets.
pub enum Answer {
    Response(http::Response<bytes::Bytes>),
    /// The recorded failure.
    Failed(String),
    /// The recording holds no such request (why).
    Missing(String),
}

impl Tape {
    /// A tape recording up to `cap` bytes of bodies and values.
    pub fn record(cap: usize, redact: Redactor) -> Self {
        Self { replay: None, cap, redact, state: Mutex::default(), seed: rand::random() }
    }

    /// A tape answering from `recording`.
    pub fn replay(recording: Arc<IoRecording>, redact: Redactor) -> Self {
        let seed = recording.random_seed.as_deref().and_then(parse_seed).unwrap_or_default();
        let mut state = State { used: vec![false; recording.http.len()], ..Default::default() };
        // The store as the recording saw it before the call: each key's first read, unless a
        // write came first; keys a listing showed but nothing read exist with an empty value.
        let mut written = std::collections::BTreeSet::new();
        for op in &recording.kv {
            match op {
                KvOp::Get { key, value } => {
                    if !written.contains(key) && !state.store.contains_key(key) {
                        if let Some(v) = value.as_ref().and_then(|v| v.to_bytes().ok()) {
                            state.store.insert(key.clone(), v);
                        }
                        written.insert(key.clone());
                    }
                }
                KvOp::Set { key, .. } | KvOp::Delete { key } => {
                    written.insert(key.clone());
                }
                KvOp::List { keys, .. } => {
                    for key in keys {
                        if !written.contains(key) {
                            let first_read = recording.kv.iter().find_map(|op| match op {
                                KvOp::Get { key: k, value: Some(v) } if k == key => v.to_bytes().ok(),
                                _ => None,
                            });
                            state.store.entry(key.clone()).or_insert_with(|| first_read.unwrap_or_default());
                        }
                    }
                }
            }
        }
        Self { replay: Some(recording), cap: usize::MAX, redact, state: Mutex::new(state), seed }
    }

    pub fn replaying(&self) -> bool {
        self.replay.is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The generator the call's randomness comes from (secure and insecure alike).
    pub fn rng(&self, salt: u8) -> rand::rngs::StdRng {
        let mut seed = self.seed;
        seed[0] ^= salt;
        rand::rngs::StdRng::from_seed(seed)
    }

    /// The seed `wasi:random/insecure-seed` answers.
    pub fn insecure_seed(&self) -> u128 {
        u128::from_le_bytes(self.seed[16..].try_into().expect("16 bytes"))
    }

    /// Keep `bytes` of `len` more, within the cap; how many fit.
    fn room(state: &mut State, cap: usize, len: usize) -> usize {
        let room = cap.saturating_sub(state.bytes).min(len);
        state.bytes += room;
        if room < len {
            state.truncated = true;
        }
        room
    }

    // ---- HTTP ----

    /// The request as it is kept and compared: URL and headers redacted.
    pub fn request(&self, method: &str, url: &str, headers: &http::HeaderMap) -> RecordedRequest {
        let mut kept = BTreeMap::<String, String>::new();
        for (name, value) in headers {
            let value = (self.redact)(&String::from_utf8_lossy(value.as_bytes()));
            kept.entry(name.as_str().to_string()).and_modify(|v| *v = format!("{v}, {value}")).or_insert(value);
        }
        RecordedRequest { method: method.to_string(), url: (self.redact)(url), headers: kept, body: Body::default() }
    }

    /// Start recording an exchange; its index, for the bodies and the answer.
    pub fn begin(&self, request: RecordedRequest) -> usize {
        let mut s = self.lock();
        s.exchanges.push(Raw {
            request,
            request_body: Vec::new(),
            response: None,
            response_body: Vec::new(),
            error: None,
        });
        s.exchanges.len() - 1
    }

    pub fn request_bytes(&self, at: usize, bytes: &[u8]) {
        let mut s = self.lock();
        let room = Self::room(&mut s, self.cap, bytes.len());
        if let Some(x) = s.exchanges.get_mut(at) {
            x.request_body.extend_from_slice(&bytes[..room]);
        }
    }

    pub fn responded(&self, at: usize, status: u16, headers: &http::HeaderMap) {
        let mut kept = BTreeMap::<String, String>::new();
        for (name, value) in headers {
            let value = (self.redact)(&String::from_utf8_lossy(value.as_bytes()));
            kept.entry(name.as_str().to_string()).and_modify(|v| *v = format!("{v}, {value}")).or_insert(value);
        }
        if let Some(x) = self.lock().exchanges.get_mut(at) {
            x.response = Some((status, kept));
        }
    }

    pub fn response_bytes(&self, at: usize, bytes: &[u8]) {
        let mut s = self.lock();
        let room = Self::room(&mut s, self.cap, bytes.len());
        if let Some(x) = s.exchanges.get_mut(at) {
            x.response_body.extend_from_slice(&bytes[..room]);
        }
    }

    pub fn failed(&self, at: usize, why: String) {
        if let Some(x) = self.lock().exchanges.get_mut(at) {
            x.error.get_or_insert(why);
        }
    }

    /// Answer a replayed request from the first unused exchange with the same
    /// method, URL and body.
    pub fn answer(&self, method: &str, url: &str, body: &[u8]) -> Answer {
        let recording = self.replay.as_ref().expect("answer is for replays");
        let url = (self.redact)(url);
        let body = (self.redact)(&String::from_utf8_lossy(body)).into_bytes();
        let mut s = self.lock();
        let same_body = |x: &HttpExchange| {
            x.request.body.to_bytes().map(|b| (self.redact)(&String::from_utf8_lossy(&b)).into_bytes()).ok()
                == Some(body.clone())
        };
        let found = recording.http.iter().enumerate().position(|(i, x)| {
            !s.used[i] && x.request.method.eq_ignore_ascii_case(method) && x.request.url == url && same_body(x)
        });
        let Some(i) = found else {
            let same_url: Vec<_> = recording
                .http
                .iter()
                .filter(|x| x.request.method.eq_ignore_ascii_case(method) && x.request.url == url)
                .collect();
            let why = if let Some(x) = same_url.first() {
                if recording.http.iter().enumerate().any(|(i, x)| s.used[i] && x.request.url == url && same_body(x)) {
                    format!("not in the recording this many times (it holds it {} time(s))", same_url.len())
                } else {
                    let shown = |b: &[u8]| {
                        let t = String::from_utf8_lossy(b);
                        if t.is_empty() { "none".to_string() } else { t.chars().take(200).collect() }
                    };
                    let held = x.request.body.to_bytes().unwrap_or_default();
                    format!(
                        "not in the recording with this body ({}); it holds it with body {}",
                        shown(&body),
                        shown(&held)
                    )
                }
            } else if recording.http.is_empty() {
                "not in the recording (it holds no HTTP requests)".to_string()
            } else {
                let held: Vec<String> =
                    recording.http.iter().map(|x| format!("{} {}", x.request.method, x.request.url)).take(5).collect();
                format!("not in the recording (it holds {})", held.join(", "))
            };
            return Answer::Missing(why);
        };
        s.used[i] = true;
        let x = &recording.http[i];
        if let Some(e) = &x.error {
            return Answer::Failed(e.clone());
        }
        let Some(r) = &x.response else {
            return Answer::Failed("the recorded request got no response".into());
        };
        let body = r.body.to_bytes().unwrap_or_default();
        let mut response = http::Response::builder().status(r.status);
        for (name, value) in &r.headers {
            // The headers as the plugin saw them; a length the kept body no longer has
            // (cut at the recording's cap) would be a lie.
            if name == "content-length" && value.trim().parse::<usize>().ok() != Some(body.len()) {
                continue;
            }
            response = response.header(name, value);
        }
        match response.body(bytes::Bytes::from(body)) {
            Ok(r) => Answer::Response(r),
            Err(e) => Answer::Failed(format!("the recorded response is not valid: {e}")),
        }
    }

    // ---- config ----

    /// The call read the connection's settings: keep them (once).
    pub fn settings_read(&self, settings: &serde_json::Map<String, serde_json::Value>) {
        if self.replay.is_some() {
            return;
        }
        let mut s = self.lock();
        if s.settings.is_none() {
            s.settings = Some(settings.clone());
        }
    }

    // ---- key-value ----

    pub fn kv_recorded(&self, op: KvOp) {
        let mut s = self.lock();
        let len = match &op {
            KvOp::Get { key, value } => key.len() + value.as_ref().map_or(0, Body::len),
            KvOp::Set { key, value } => key.len() + value.len(),
            KvOp::Delete { key } => key.len(),
            KvOp::List { prefix, keys, .. } => prefix.len() + keys.iter().map(String::len).sum::<usize>(),
        };
        if Self::room(&mut s, self.cap, len) == len {
            s.kv.push(op);
        }
    }

    /// A replayed read.
    pub fn kv_get(&self, key: &str) -> Option<Vec<u8>> {
        self.lock().store.get(key).cloned()
    }

    /// A replayed write: kept to the replay.
    pub fn kv_set(&self, key: &str, value: Option<Vec<u8>>) {
        let mut s = self.lock();
        match value {
            Some(v) => s.store.insert(key.to_string(), v),
            None => s.store.remove(key),
        };
    }

    pub fn kv_list(&self, prefix: &str, limit: usize) -> Vec<String> {
        self.lock()
            .store
            .range(prefix.to_string()..)
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(prefix))
            .take(limit)
            .cloned()
            .collect()
    }

    // ---- the result ----

    /// Bytes as kept: text redacted, other bytes as they are.
    pub fn body(&self, raw: &[u8]) -> Body {
        match std::str::from_utf8(raw) {
            Ok(text) => Body::Text((self.redact)(text)),
            Err(_) => Body::from_bytes(raw),
        }
    }

    /// What was recorded.
    pub fn take(&self) -> IoRecording {
        let mut s = self.lock();
        let exchanges = std::mem::take(&mut s.exchanges);
        let http = exchanges
            .into_iter()
            .map(|x| {
                let mut request = x.request;
                request.body = self.body(&x.request_body);
                HttpExchange {
                    request,
                    response: x.response.map(|(status, headers)| RecordedResponse {
                        status,
                        headers,
                        body: self.body(&x.response_body),
                    }),
                    error: x.error.map(|e| (self.redact)(&e)),
                }
            })
            .collect();
        IoRecording {
            http,
            settings: s.settings.take(),
            kv: std::mem::take(&mut s.kv),
            wall_clock: std::mem::take(&mut s.wall),
            monotonic_clock: std::mem::take(&mut s.monotonic),
            random_seed: Some(self.seed.iter().map(|b| format!("{b:02x}")).collect()),
            truncated: s.truncated,
        }
    }
}

fn parse_seed(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut seed = [0u8; 32];
    for (i, b) in seed.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(seed)
}

/// `wasi:clocks/wall-clock` through the tape.
pub struct Wall(pub Arc<Tape>);

impl HostWallClock for Wall {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        let tape = &self.0;
        let mut s = tape.lock();
        if let Some(recording) = &tape.replay {
            let i = s.wall_next;
            s.wall_next += 1;
            if let Some(ns) = recording.wall_clock.get(i) {
                return Duration::from_nanos(*ns);
            }
            let last = recording.wall_clock.last().copied().unwrap_or(0);
            let (since, from) = *s.wall_ran_out.get_or_insert((Instant::now(), last));
            return Duration::from_nanos(from + since.elapsed().as_nanos() as u64);
        }
        let now = wasmtime_wasi::clocks::WallClock::new().now();
        if s.wall.len() < MAX_READINGS {
            s.wall.push(now.as_nanos() as u64);
        } else {
            s.truncated = true;
        }
        now
    }
}

/// `wasi:clocks/monotonic-clock` through the tape.
pub struct Monotonic {
    pub tape: Arc<Tape>,
    pub real: wasmtime_wasi::clocks::MonotonicClock,
}

impl HostMonotonicClock for Monotonic {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        let tape = &self.tape;
        let mut s = tape.lock();
        if let Some(recording) = &tape.replay {
            let i = s.monotonic_next;
            s.monotonic_next += 1;
            if let Some(ns) = recording.monotonic_clock.get(i) {
                return *ns;
            }
            let last = recording.monotonic_clock.last().copied().unwrap_or(0);
            let (since, from) = *s.ran_out.get_or_insert((Instant::now(), last));
            return from + since.elapsed().as_nanos() as u64;
        }
        let now = self.real.now();
        if s.monotonic.len() < MAX_READINGS {
            s.monotonic.push(now);
        } else {
            s.truncated = true;
        }
        now
    }
}
