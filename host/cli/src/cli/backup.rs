//! `weft backup`, `weft restore`, `weft export` and `weft import`: copies of
//! an installation, and moving flows and connections between installations.

use super::Global;
use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use weft_server::client::Client;

#[derive(Args)]
pub struct BackupArgs {
    /// A new folder for the copy, on the server's machine.
    dir: PathBuf,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// A folder `weft backup` wrote.
    backup: PathBuf,
}

#[derive(Args)]
pub struct ExportArgs {
    /// The file to write (JSON).
    file: PathBuf,
    /// Also export connections' secrets, sealed under a new key written to FILE.key (keep it
    /// apart from the file; `weft import` needs it).
    #[arg(long)]
    with_secrets: bool,
}

#[derive(Args)]
pub struct ImportArgs {
    /// A file `weft export` wrote.
    file: PathBuf,
    /// The key the export's secrets are sealed under [default: FILE.key, when it exists].
    #[arg(long)]
    key_file: Option<PathBuf>,
}

fn client(g: &Global) -> Result<Client> {
    Client::new(&g.server, g.token.clone())
}

/// Have the server copy its data directory while it serves.
pub async fn backup(args: BackupArgs, g: &Global) -> Result<ExitCode> {
    let dir = std::path::absolute(&args.dir).with_context(|| format!("{}", args.dir.display()))?;
    let report = client(g)?.post_json("/api/backup", &serde_json::json!({ "dir": dir })).await?;
    println!(
        "backed up to {}: {} entries, {} writes made meanwhile applied again, {} plugin files, in {} ms",
        report["path"].as_str().unwrap_or_default(),
        report["entries"],
        report["redone"],
        report["files"],
        report["took_ms"]
    );
    println!("start weft on it with `weft serve --data-dir {}` or `weft restore {0} --data-dir DIR`", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// Copy a backup into a new data directory (weft must not be serving it).
pub async fn restore(args: RestoreArgs, g: &Global) -> Result<ExitCode> {
    let to = g.data_dir();
    if !args.backup.join("db").is_dir() || !args.backup.join("weft.key").is_file() {
        bail!("{} is not a backup: it has no db/ and weft.key", args.backup.display());
    }
    if to.exists() && std::fs::read_dir(&to)?.next().is_some() {
        bail!("{} is not empty: restore into a new data directory (--data-dir)", to.display());
    }
    let files = copy_tree(&args.backup, &to)?;
    println!(
        "restored {} ({files} files) into {}; start it with `weft serve --data-dir {1}`",
        args.backup.display(),
        to.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn copy_tree(from: &Path, to: &Path) -> Result<u64> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let mut files = 0;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type()?.is_dir() {
            files += copy_tree(&source, &target)?;
        } else {
            std::fs::copy(&source, &target).with_context(|| format!("copying {}", source.display()))?;
            files += 1;
        }
    }
    Ok(files)
}

/// Write a file only its owner may read.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

fn key_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

/// Write every flow and connection to a file.
pub async fn export(args: ExportArgs, g: &Global) -> Result<ExitCode> {
    let mut api = client(g)?;
    let key = args.with_secrets.then(weft_core::seal::Sealer::new_key_hex);
    if let Some(key) = &key {
        api = api.with_header("x-weft-export-key", key);
    }
    let path = if args.with_secrets { "/api/export?secrets=true" } else { "/api/export" };
    let export = api.get(path).await?;
    write_private(&args.file, &serde_json::to_vec_pretty(&export)?)?;
    let (flows, connections) = (count(&export, "flows"), count(&export, "connections"));
    println!("wrote {flows} flows and {connections} connections to {}", args.file.display());
    if let Some(key) = key {
        let key_file = key_path(&args.file);
        write_private(&key_file, key.as_bytes())?;
        println!(
            "their secrets are sealed under the key in {}: keep it apart from the export; `weft import` needs it",
            key_file.display()
        );
    } else {
        println!("without secrets (--with-secrets exports them, sealed)");
    }
    Ok(ExitCode::SUCCESS)
}

fn count(v: &Value, field: &str) -> usize {
    v[field].as_array().map_or(0, Vec::len)
}

/// Take an export into this installation.
pub async fn import(args: ImportArgs, g: &Global) -> Result<ExitCode> {
    let bytes = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let mut api = client(g)?;
    let key_file = args.key_file.or_else(|| Some(key_path(&args.file)).filter(|k| k.is_file()));
    if let Some(key_file) = &key_file {
        let key = std::fs::read_to_string(key_file).with_context(|| format!("reading {}", key_file.display()))?;
        api = api.with_header("x-weft-export-key", key.trim());
    }
    let report = api.call("POST", "/api/import", Some(("application/json", bytes))).await?;
    for id in report["connections"].as_array().into_iter().flatten() {
        println!("connection {}", id.as_str().unwrap_or_default());
    }
    for id in report["connections_without_secrets"].as_array().into_iter().flatten() {
        eprintln!(
            "warning: connection {} has no secrets here: set them (weft connection set)",
            id.as_str().unwrap_or_default()
        );
    }
    for f in report["flows"].as_array().into_iter().flatten() {
        println!("flow {} is at version {}", f["name"].as_str().unwrap_or_default(), f["version"]);
    }
    let refused = report["refused"].as_array().cloned().unwrap_or_default();
    for r in &refused {
        eprintln!("error: {}", r["error"].as_str().unwrap_or_default());
    }
    println!("triggers are not activated: `weft flow activate NAME` when ready");
    Ok(if refused.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
