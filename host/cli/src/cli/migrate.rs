//! `weft migrate`: bring a PostgreSQL database's schema up to date.

use anyhow::Result;
use clap::Args;
use std::process::ExitCode;

#[derive(Args)]
pub struct MigrateArgs {
    /// The database (postgres://user:pass@host:5432/db).
    #[arg(long, env = "WEFT_STORE", hide_env_values = true)]
    store: String,
}

pub async fn run(args: MigrateArgs) -> Result<ExitCode> {
    let url = super::serve::database_url(&args.store)?.to_string();
    let migrated = tokio::task::spawn_blocking(move || weft_store_pg::migrate_url(&url)).await??;
    if migrated.applied.is_empty() {
        println!("the schema is up to date (version {})", migrated.version);
    } else {
        for (version, name) in &migrated.applied {
            println!("applied migration {version}: {name}");
        }
        println!("the schema is at version {}", migrated.version);
    }
    Ok(ExitCode::SUCCESS)
}
