//! `weft flow …`: flow files.

use crate::flow::FlowDef;
use anyhow::Result;
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum FlowCommand {
    /// Print the JSON Schema of the flow format (for editors: `# yaml-language-server: $schema=…`).
    Schema,
}

pub fn run(cmd: FlowCommand) -> Result<ExitCode> {
    match cmd {
        FlowCommand::Schema => {
            println!("{}", serde_json::to_string_pretty(&FlowDef::json_schema())?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
