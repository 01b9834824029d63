//! A real PostgreSQL for tests: [`PgServer::shared`] starts one server per
//! test process (on a free loopback port, in a new data directory), and
//! [`PgServer::fresh_database`] gives each test a new, empty database on it.
//!
//! The server is Debian's `postgresql` package (`/usr/lib/postgresql/<v>/bin`,
//! or the folder in `WEFT_PG_BIN`); `cargo xtask test` installs it when it is
//! missing. PostgreSQL refuses to run as root, so under root the server runs
//! as the `postgres` user (or `nobody`). It stops when the test process
//! ends, however it ends (the parent-death signal), and a later test process
//! removes the data directories such servers left behind.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A PostgreSQL server started for tests.
pub struct PgServer {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// Who the server runs as, when the tests run as root: (uid, gid).
    user: Option<(u32, u32)>,
    /// The running postmaster's pid.
    pid: Mutex<Option<u32>>,
    databases: AtomicU32,
}

/// The folder of Debian's PostgreSQL programs, the newest version installed
/// (`/usr/lib/postgresql/<version>/bin`), if any.
pub fn installed_bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("postgres").exists())
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// The folder of PostgreSQL's programs: `WEFT_PG_BIN`, or Debian's.
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WEFT_PG_BIN") {
        return dir.into();
    }
    installed_bin_dir().unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/<version>/bin/postgres): \
             `apt-get install postgresql` (`cargo xtask test` does), or set WEFT_PG_BIN"
        )
    })
}

/// The uid and gid of `name`, from /etc/passwd.
fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&name) && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))?
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Where test servers keep their data directories, one per process (`<pid>`).
fn parent_dir() -> PathBuf {
    std::env::temp_dir().join("weft-pg")
}

/// Remove the data directories of test processes that are gone.
fn sweep() {
    for entry in std::fs::read_dir(parent_dir()).into_iter().flatten().flatten() {
        let gone = match entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) {
            Some(pid) => !Path::new(&format!("/proc/{pid}")).exists(),
            None => false,
        };
        if gone {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn chown_tree(path: &Path, user: Option<(u32, u32)>) {
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown the test database's folder");
    }
}

impl PgServer {
    /// The test process's server, started on first use.
    pub fn shared() -> &'static PgServer {
        static SERVER: OnceLock<PgServer> = OnceLock::new();
        SERVER.get_or_init(PgServer::start)
    }

    /// A new server of its own (for a test that stops and restarts it).
    pub fn start() -> PgServer {
        sweep();
        let bin = bin_dir();
        let user = rustix::process::geteuid()
            .is_root()
            .then(|| user_ids("postgres").or_else(|| user_ids("nobody")).expect("a postgres or nobody user"));
        let parent = parent_dir();
        std::fs::create_dir_all(&parent).expect("make the test databases' folder");
        let _ = std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o1777));
        static SERVERS: AtomicU32 = AtomicU32::new(0);
        let process_dir = parent.join(std::process::id().to_string());
        std::fs::create_dir_all(&process_dir).expect("make the test database's folder");
        let _ = std::fs::set_permissions(&process_dir, std::fs::Permissions::from_mode(0o755));
        let dir = process_dir.join(SERVERS.fetch_add(1, Ordering::Relaxed).to_string());
        std::fs::create_dir_all(&dir).expect("make the test database's folder");
        chown_tree(&dir, user);
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .args(["-U", "weft", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync", "-D"])
            .arg(dir.join("data"))
            .stdout(Stdio::null());
        if let Some((uid, gid)) = user {
            initdb.uid(uid).gid(gid);
        }
        let out = initdb.output().expect("run initdb");
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        let server =
            PgServer { bin, dir, port: free_port(), user, pid: Mutex::new(None), databases: AtomicU32::new(0) };
        server.run();
        server
    }

    /// Start the postmaster (stopped, or not yet started) and wait until it takes connections.
    pub fn run(&self) {
        let mut pid = self.pid.lock().unwrap();
        assert!(pid.is_none(), "the test database is running already");
        let log = std::fs::File::create(self.dir.join("log")).expect("the server's log");
        chown_tree(&self.dir.join("log"), self.user);
        let mut command = Command::new(self.bin.join("postgres"));
        command
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-p", &self.port.to_string(), "-h", "127.0.0.1", "-k"])
            .arg(&self.dir)
            .args(["-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=400"])
            .args(["-c", "shared_buffers=64MB"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the server's log"))
            .stderr(log);
        if let Some((uid, gid)) = self.user {
            command.uid(uid).gid(gid);
        }
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::INT))
                    .map_err(std::io::Error::from)
            });
        }
        // The parent-death signal follows the thread that started the
        // server: a thread that lives as long as the process starts it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("weft-test-postgres".into())
            .spawn(move || match command.spawn() {
                Ok(mut child) => {
                    let _ = tx.send(Ok(child.id()));
                    let _ = child.wait();
                    // Stay: the signal is tied to this thread, and the server
                    // may have been started again by the time this one ends.
                    loop {
                        std::thread::park();
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            })
            .expect("a thread for the test database");
        let started = rx.recv().expect("the test database's thread").expect("start postgres");
        *pid = Some(started);
        drop(pid);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "weft"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            let alive = Path::new(&format!("/proc/{started}")).exists() && !self.is_zombie(started);
            if !alive || Instant::now() > deadline {
                panic!(
                    "the test database did not start: {}",
                    std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn is_zombie(&self, pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')))
    }

    /// Stop the server, as an operator's fast shutdown does (connections are cut).
    pub fn stop(&self) {
        let Some(pid) = self.pid.lock().unwrap().take() else { return };
        if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Path::new(&format!("/proc/{pid}")).exists() && !self.is_zombie(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The postmaster's process id, while it runs (its backends are its children).
    pub fn pid(&self) -> Option<u32> {
        *self.pid.lock().unwrap()
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://weft@127.0.0.1:{}/{name}", self.port)
    }

    /// A new, empty database; its URL.
    pub fn fresh_database(&self) -> String {
        let name = format!("t{}", self.databases.fetch_add(1, Ordering::Relaxed));
        let out = Command::new(self.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "weft", &name])
            .output()
            .expect("run createdb");
        assert!(out.status.success(), "createdb failed: {}", String::from_utf8_lossy(&out.stderr));
        self.url(&name)
    }

    /// Run `sql` on database `name` with psql; what it printed (unaligned, tuples only).
    pub fn psql(&self, name: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "weft", "-d", name])
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .expect("run psql");
        assert!(out.status.success(), "psql failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
