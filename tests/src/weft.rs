//! A real `weft serve` process on 127.0.0.1, its admin API and its CLI.

use crate::http::{Reply, request};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// The admin token the helpers start weft with.
pub const TOKEN: &str = "test-admin-token-0123456789";

/// A running `weft serve`; killed when dropped.
pub struct Weft {
    exe: PathBuf,
    pub data: PathBuf,
    pub plugins: PathBuf,
    /// `127.0.0.1:PORT`, kept across restarts.
    pub addr: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// The process's open-file limit (soft and hard), when set.
    open_files: Option<u64>,
    /// The admin token: the helper's, or the one weft generated and printed.
    pub token: String,
    child: Option<Child>,
    stderr: Arc<Mutex<String>>,
}

impl Weft {
    /// Start `exe serve` on a free port with `data` and `plugins`, the helper's
    /// admin token, and `args`; returns once it listens.
    pub fn start(exe: &str, data: &Path, plugins: &Path, args: &[&str]) -> Weft {
        Self::start_with(exe, data, plugins, args, &[("WEFT_ADMIN_TOKEN", TOKEN)])
    }

    /// [`Weft::start`] with these environment variables (`WEFT_ADMIN_TOKEN`
    /// absent: weft makes a token at first start and the helper reads it).
    pub fn start_with(exe: &str, data: &Path, plugins: &Path, args: &[&str], env: &[(&str, &str)]) -> Weft {
        let mut weft = Self::new(exe, data, plugins, args, env);
        weft.spawn(&[]);
        weft
    }

    /// [`Weft::start`] with the process's open-file limit set to `files`
    /// (soft and hard, so weft cannot raise it).
    pub fn start_with_open_files(exe: &str, data: &Path, plugins: &Path, args: &[&str], files: u64) -> Weft {
        let mut weft = Self::new(exe, data, plugins, args, &[("WEFT_ADMIN_TOKEN", TOKEN)]);
        weft.open_files = Some(files);
        weft.spawn(&[]);
        weft
    }

    fn new(exe: &str, data: &Path, plugins: &Path, args: &[&str], env: &[(&str, &str)]) -> Weft {
        Weft {
            exe: exe.into(),
            data: data.into(),
            plugins: plugins.into(),
            addr: "127.0.0.1:0".into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            open_files: None,
            token: env.iter().find(|(k, _)| *k == "WEFT_ADMIN_TOKEN").map(|(_, v)| v.to_string()).unwrap_or_default(),
            child: None,
            stderr: Arc::default(),
        }
    }

    fn spawn(&mut self, extra: &[&str]) {
        let mut command = Command::new(&self.exe);
        if let Some(files) = self.open_files {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    let limit = libc::rlimit { rlim_cur: files, rlim_max: files };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        let mut child = command
            .args(["serve", "--listen", &self.addr])
            .args(&self.args)
            .args(extra)
            .env("WEFT_DATA_DIR", &self.data)
            .env("WEFT_PLUGINS", &self.plugins)
            .env_remove("WEFT_ADMIN_TOKEN")
            .env("WEFT_LOG", std::env::var("WEFT_TEST_LOG").unwrap_or_else(|_| "warn".into()))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start weft serve");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let log = self.stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(token) = line.strip_prefix("admin token (shown once; only its hash is kept): ") {
                    let _ = tx.send(Err(token.to_string()));
                }
                if let Some(addr) = line.strip_prefix("weft listening on http://") {
                    let _ = tx.send(Ok(addr.split_whitespace().next().unwrap_or_default().to_string()));
                }
                log.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        loop {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(Err(token)) => self.token = token,
                Ok(Ok(addr)) => {
                    self.addr = addr;
                    break;
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!("weft serve did not start:\n{}", self.stderr());
                }
            }
        }
        self.child = Some(child);
    }

    /// The running server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Everything weft wrote to standard error so far (across restarts).
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Wait until weft has written `needle` to standard error `count` times in all.
    pub fn wait_for_log(&self, needle: &str, count: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while self.stderr().matches(needle).count() < count {
            assert!(
                std::time::Instant::now() < deadline,
                "weft never logged {needle:?} {count} times:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// SIGKILL: no shutdown of any kind.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait: a graceful shutdown.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let _ = child.wait();
        }
    }

    /// Start again on the same address (after `kill` or `stop`), with `extra` arguments.
    pub fn restart(&mut self, extra: &[&str]) {
        self.stop();
        self.spawn(extra);
    }

    /// Call the admin API with the token; `body` is sent as JSON.
    pub async fn api(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        let auth = format!("Bearer {}", self.token);
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        request(method, &self.url(path), &[("authorization", &auth), ("content-type", "application/json")], bytes).await
    }

    /// Call the admin API and require a 2xx; the JSON body.
    pub async fn ok(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let reply = self.api(method, path, body).await;
        assert!((200..300).contains(&reply.status), "{method} {path}: {} {}", reply.status, reply.text());
        reply.json()
    }

    /// Run the `weft` CLI against this server.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(&self.exe)
            .args(args)
            .env("WEFT_CACHE_DIR", std::env::temp_dir().join("weft-tests-compile-cache"))
            .env("WEFT_SERVER", self.url(""))
            .env("WEFT_TOKEN", &self.token)
            .output()
            .expect("run weft")
    }

    /// Wait until run `id` has ended; its `{run, steps}`.
    pub async fn finished(&self, id: &str) -> Value {
        for _ in 0..600 {
            let out = self.ok("GET", &format!("/api/runs/{id}"), None).await;
            if matches!(out["run"]["status"].as_str(), Some("succeeded" | "failed" | "cancelled")) {
                return out;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("run {id} did not end in 30 s");
    }
}

impl Drop for Weft {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A temporary folder with `data/` and `plugins/` (holding copies of `plugins`).
pub fn workspace(plugins: &[&str]) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let plugin_dir = dir.path().join("plugins");
    std::fs::create_dir_all(&plugin_dir).unwrap();
    for path in plugins {
        std::fs::copy(path, plugin_dir.join(Path::new(path).file_name().unwrap())).unwrap();
    }
    (dir, data, plugin_dir)
}

/// Let this process hold as many sockets as its hard limit allows (tests that open thousands).
pub fn raise_open_file_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: plain libc calls on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
