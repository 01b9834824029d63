//! A minimal HTTP/1.1 client for tests (one connection per request).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;

/// A response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (`null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Send one request to an `http://` URL; panics when it cannot be sent.
pub async fn request(method: &str, url: &str, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Reply {
    try_request(method, url, headers, body).await.unwrap_or_else(|e| panic!("{e}"))
}

/// Send one request to an `http://` URL; why it could not be sent, if it could not.
pub async fn try_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Vec<u8>>,
) -> Result<Reply, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| format!("{url} is not an http:// URL"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let stream = tokio::net::TcpStream::connect(authority).await.map_err(|e| format!("connect {url}: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake with {url}: {e}"))?;
    tokio::spawn(connection);
    let mut builder = hyper::Request::builder().method(method).uri(path).header("host", authority);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let request = builder.body(Full::new(Bytes::from(body.into()))).map_err(|e| e.to_string())?;
    let response = sender.send_request(request).await.map_err(|e| format!("send to {url}: {e}"))?;
    let status = response.status().as_u16();
    let headers =
        response.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string())).collect();
    let body = response.into_body().collect().await.map_err(|e| format!("body from {url}: {e}"))?.to_bytes().to_vec();
    Ok(Reply { status, headers, body })
}

/// Call weft's admin API at `base` with bearer `token`; the JSON answer, or a
/// panic naming the status and body when it is not a success.
pub async fn api(base: &str, token: &str, method: &str, path: &str, body: Option<Value>) -> Value {
    let auth = format!("Bearer {token}");
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let reply = request(method, &format!("{base}{path}"), &[("authorization", &auth)], bytes).await;
    assert!(reply.status < 300, "{method} {path}: {} {}", reply.status, reply.text());
    reply.json()
}
