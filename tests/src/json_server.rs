//! A real json-server 0.17.4 (npm) on 127.0.0.1, the REST "records" API the
//! `records` connector is built for. `cargo xtask test` installs it and
//! passes its path in `WEFT_JSON_SERVER`.

use crate::http::{request, try_request};
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running json-server with its own database file; it stops when dropped.
pub struct JsonServer {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

/// The json-server executable, or a panic that says how to get it.
fn executable() -> String {
    let path = std::env::var("WEFT_JSON_SERVER").unwrap_or_default();
    assert!(
        !path.is_empty() && std::path::Path::new(&path).exists(),
        "json-server is not installed: run the tests with `cargo xtask test` (it installs json-server@0.17.4 \
         with npm under target/tools and sets WEFT_JSON_SERVER), or set WEFT_JSON_SERVER to its executable"
    );
    path
}

impl JsonServer {
    /// Start json-server on a free port with `db` (collection → records) as its database.
    pub async fn start(db: &Value) -> JsonServer {
        let exe = executable();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("db.json");
        std::fs::write(&file, db.to_string()).unwrap();
        for _ in 0..5 {
            let port = crate::free_port();
            let mut child = Command::new(&exe)
                .arg(&file)
                .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--quiet"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("cannot start json-server");
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    break; // the port was taken meanwhile: try another
                }
                let url = format!("http://127.0.0.1:{port}/db");
                if tokio::time::timeout(Duration::from_secs(1), try_request("GET", &url, &[], Vec::new()))
                    .await
                    .is_ok_and(|r| r.is_ok_and(|r| r.status == 200))
                {
                    return JsonServer { port, child, _dir: dir };
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("json-server did not start");
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The grant for this server: `127.0.0.1:PORT`.
    pub fn grant(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `GET path` as JSON.
    pub async fn get(&self, path: &str) -> Value {
        let reply = request("GET", &format!("{}{path}", self.url()), &[], Vec::new()).await;
        assert_eq!(reply.status, 200, "GET {path}: {}", reply.text());
        reply.json()
    }

    /// `POST /collection` a record; the record as stored (with its id).
    pub async fn add(&self, collection: &str, record: &Value) -> Value {
        self.send("POST", &format!("/{collection}"), record).await
    }

    /// `PATCH /collection/id`; the record as stored.
    pub async fn patch(&self, collection: &str, id: &Value, changes: &Value) -> Value {
        self.send("PATCH", &format!("/{collection}/{id}"), changes).await
    }

    async fn send(&self, method: &str, path: &str, body: &Value) -> Value {
        let url = format!("{}{path}", self.url());
        let reply = request(method, &url, &[("content-type", "application/json")], body.to_string()).await;
        assert!(reply.status < 300, "{method} {path}: {} {}", reply.status, reply.text());
        reply.json()
    }
}

impl Drop for JsonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
