//! What the benchmarks that drive a whole server share: a `weft serve` in
//! this process on 127.0.0.1, on a fresh data directory.

use std::path::Path;
use weft::node::{Node, NodeConfig};

/// The admin token the benchmarks' servers use.
pub const TOKEN: &str = "bench-admin-token-0123456789";

/// A running in-process server; [`InProcess::stop`] shuts it down gracefully.
pub struct InProcess {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl InProcess {
    /// Serve `data` (a fresh directory) with the plugins in `plugin_dir`.
    pub async fn start(data: &Path, plugin_dir: &Path) -> InProcess {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Node::open(NodeConfig {
            plugins_dir: plugin_dir.to_path_buf(),
            admin_token: Some(TOKEN.into()),
            ..NodeConfig::new(addr, data.to_path_buf())
        })
        .await
        .unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server.serve(listener, async move {
            let _ = stopped.await;
        }));
        InProcess { base: format!("http://{addr}"), stop, serving }
    }

    /// Shut down and wait for in-flight requests.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.serving.await.unwrap().unwrap();
    }
}

/// Call the admin API of a benchmark server.
pub async fn api(base: &str, method: &str, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
    weft_tests::http::api(base, TOKEN, method, path, body).await
}
