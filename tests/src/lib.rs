//! Helpers for weft's black-box tests: the built plugins, small HTTP servers
//! on 127.0.0.1 for plugins to call ([`app`], [`saas`], [`github`], [`slack`],
//! a real json-server in [`json_server`]), a real OAuth 2.0 authorization
//! server and an API its tokens open ([`oauth`]), a client ([`http`]) and a
//! real `weft serve` process ([`weft`]).

/// Paths of the plugins built for wasm32-wasip2 by this crate's build script.
pub mod plugins {
    include!(concat!(env!("OUT_DIR"), "/plugins.rs"));
}

pub mod app;
pub mod browser;
pub mod crash;
pub mod github;
pub mod http;
pub mod json_server;
pub mod load;
pub mod measure;
pub mod oauth;
pub mod saas;
pub mod slack;
pub mod weft;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

/// Serve `handle` on a fresh 127.0.0.1 port until the returned task is aborted.
pub async fn serve<F, Fut>(handle: F) -> (SocketAddr, tokio::task::JoinHandle<()>)
where
    F: Fn(Request<Incoming>, SocketAddr) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
    let addr = listener.local_addr().unwrap();
    let handle = Arc::new(handle);
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let handle = handle.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(req, addr));
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    (addr, task)
}

/// HMAC-SHA256 of the concatenated `parts` under `secret`, in lower-case hex:
/// how the fake applications sign what they send. Written here, not taken
/// from weft-sdk, so a bug in the connectors' check is not mirrored.
pub fn hmac_sha256_hex(secret: &[u8], parts: &[&[u8]]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// A free TCP port on 127.0.0.1 (for servers that take a port, not a listener).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1").local_addr().unwrap().port()
}

/// Every file below `dir`, recursively.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(files_under(&path)) } else { out.push(path) }
    }
    out
}

/// CPU time (user + system) a process has used so far, from
/// `/proc/<pid>/stat`; `None` where there is no procfs.
pub fn cpu_time(pid: &str) -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at `state`;
    // utime and stime are fields 14 and 15, in USER_HZ ticks (100 per second
    // on Linux, whatever the kernel's own tick).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(std::time::Duration::from_millis(ticks * 10))
}
