//! A small HTTP/1.1 client for the admin API, used by the CLI (`weft flow
//! activate`, `weft runs list`…). Plain `http://` only: put TLS in front of
//! weft with a reverse proxy and run the CLI beside the server.

use anyhow::{Context, Result, anyhow, bail};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use serde_json::Value;

/// Where the server is and how to authenticate.
#[derive(Debug, Clone)]
pub struct Client {
    /// `http://host:port`
    base: String,
    authority: String,
    token: Option<String>,
    /// Headers sent with every request.
    headers: Vec<(String, String)>,
}

/// A response: status and JSON body (`null` when the body is empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Client {
    pub fn new(server: &str, token: Option<String>) -> Result<Self> {
        let base = server.trim_end_matches('/').to_string();
        let authority = base
            .strip_prefix("http://")
            .ok_or_else(|| anyhow!("--server must be an http:// URL (got {server:?})"))?
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        Ok(Self { base, authority, token, headers: Vec::new() })
    }

    /// Send `name: value` with every request.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Send a request; `body` is (content type, bytes).
    pub async fn send(&self, method: &str, path: &str, body: Option<(&str, Vec<u8>)>) -> Result<Reply> {
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .with_context(|| format!("cannot reach weft at {} (is `weft serve` running?)", self.base))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .context("HTTP handshake")?;
        tokio::spawn(connection);
        let mut request = Request::builder().method(method).uri(path).header("host", &self.authority);
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let (content_type, bytes) = body.unwrap_or(("application/json", Vec::new()));
        let request = request.header("content-type", content_type).body(Full::new(Bytes::from(bytes)))?;
        let response = sender.send_request(request).await.context("sending the request")?;
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.context("reading the response")?.to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Reply { status, body })
    }

    /// Send and require a 2xx; the error carries the server's message.
    pub async fn call(&self, method: &str, path: &str, body: Option<(&str, Vec<u8>)>) -> Result<Value> {
        let reply = self.send(method, path, body).await?;
        if !(200..300).contains(&reply.status) {
            let message = reply.body.get("error").and_then(Value::as_str).map(str::to_string);
            match (reply.status, message) {
                (401, Some(m)) => bail!("{m} (set WEFT_TOKEN or --token)"),
                (status, Some(m)) => bail!("{m} (HTTP {status})"),
                (status, None) => bail!("{method} {path} answered HTTP {status}"),
            }
        }
        Ok(reply.body)
    }

    pub async fn get(&self, path: &str) -> Result<Value> {
        self.call("GET", path, None).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Result<Value> {
        self.call("POST", path, Some(("application/json", serde_json::to_vec(body)?))).await
    }
}

/// Percent-encode one path segment or query value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
