//! A small HTTP app on 127.0.0.1 for plugins to call in tests.
//!
//! Routes: `GET /json` → `{"hello":"world"}`; `ANY /echo[/…]` → the request as JSON, with
//! `serial`, its index in [`TestApp::log`];
//! `GET /redirect?to=URL` → 302 to URL; `GET /big?bytes=N` → N bytes;
//! `GET /slow` → never answers; `GET /delay?ms=N` → answers after N ms; `GET /status/N` → status N with a JSON body.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::json;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A running test app; it stops when dropped.
pub struct TestApp {
    pub addr: SocketAddr,
    requests: Arc<AtomicU64>,
    log: RequestLog,
    task: tokio::task::JoinHandle<()>,
}

impl TestApp {
    pub async fn start() -> TestApp {
        let requests = Arc::new(AtomicU64::new(0));
        let log = RequestLog::default();
        let (counter, app_log) = (requests.clone(), log.clone());
        let (addr, task) = crate::serve(move |req, addr| {
            counter.fetch_add(1, Ordering::Relaxed);
            let key = req.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
            let serial = {
                let mut log = app_log.0.lock().unwrap();
                log.push((req.method().to_string(), req.uri().path().to_string(), key));
                log.len() - 1
            };
            handle(req, addr, serial)
        })
        .await;
        TestApp { addr, requests, log, task }
    }

    /// `http://127.0.0.1:PORT{path}`
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The grant string for this app: `127.0.0.1:PORT`.
    pub fn grant(&self) -> String {
        self.addr.to_string()
    }

    /// Requests served so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// (method, path, idempotency-key header) of every request so far, in the
    /// order they arrived (the index is the `serial` `/echo` answers with).
    pub fn log(&self) -> Vec<LoggedRequest> {
        self.log.0.lock().unwrap().clone()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// (method, path, idempotency-key header) of one request.
pub type LoggedRequest = (String, String, Option<String>);

#[derive(Clone, Default)]
struct RequestLog(Arc<Mutex<Vec<LoggedRequest>>>);

pub(crate) fn query<'a>(req: &'a Request<Incoming>, key: &str) -> Option<&'a str> {
    req.uri().query()?.split('&').find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

pub(crate) fn json_response(status: u16, value: serde_json::Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(value.to_string())))
        .unwrap()
}

async fn handle(req: Request<Incoming>, addr: SocketAddr, serial: usize) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    Ok(match path.as_str() {
        "/json" => json_response(200, json!({ "hello": "world" })),
        p if p == "/echo" || p.starts_with("/echo/") => {
            let method = req.method().to_string();
            let uri = req.uri().to_string();
            let headers: serde_json::Map<String, serde_json::Value> =
                req.headers().iter().map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or("")))).collect();
            let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let body: serde_json::Value =
                serde_json::from_slice(&body).unwrap_or_else(|_| json!(String::from_utf8_lossy(&body).into_owned()));
            json_response(
                200,
                json!({ "method": method, "uri": uri, "headers": headers, "body": body, "serial": serial }),
            )
        }
        "/redirect" => {
            let to = query(&req, "to").map(str::to_string).unwrap_or_else(|| format!("http://{addr}/json"));
            Response::builder().status(302).header("location", to).body(Full::new(Bytes::new())).unwrap()
        }
        "/big" => {
            let n: usize = query(&req, "bytes").and_then(|v| v.parse().ok()).unwrap_or(1 << 20);
            Response::builder().status(200).body(Full::new(Bytes::from(vec![b'x'; n]))).unwrap()
        }
        "/slow" => {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            json_response(200, json!({}))
        }
        "/delay" => {
            let ms: u64 = query(&req, "ms").and_then(|v| v.parse().ok()).unwrap_or(1000);
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            json_response(200, json!({ "waited_ms": ms }))
        }
        p if p.starts_with("/status/") => {
            let code: u16 = p["/status/".len()..].parse().unwrap_or(500);
            json_response(code, json!({ "status": code }))
        }
        _ => json_response(404, json!({ "error": "no such route" })),
    })
}
