//! The `safegrid places …` commands (the CLI face's part of the register, as `app::disputes`
//! keeps the mediation commands): import, export, the template, through `app::places_io`.

use crate::app::error::AppError;
use crate::app::places::ListQuery;
use crate::app::places_io::{export, import, template_xlsx};
use crate::app::state::SharedState;
use chrono::Utc;
use safegrid_store::User;
use uuid::Uuid;

/// The `safegrid places …` commands: the register without the API. They act as the account
/// named with `--as` (its permissions and territory), or as the command line's operator with the
/// whole deployment in scope; either way audited.
#[derive(Debug, clap::Subcommand)]
pub enum PlacesCommand {
    /// Import a filled-in template (CSV or XLSX): all rows or none; prints what it did.
    Import {
        file: std::path::PathBuf,
        /// Act as this account (its territory).
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: Option<String>,
    },
    /// Export places (contacts masked): CSV with a BOM, or XLSX when --xlsx or the file ends in .xlsx.
    Export {
        /// Only places in this region's subtree.
        #[arg(long)]
        region: Option<String>,
        /// Kind codes, comma-separated.
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        xlsx: bool,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: Option<String>,
    },
    /// Write the import template (XLSX).
    Template {
        #[arg(long, default_value = "places-template.xlsx")]
        out: std::path::PathBuf,
    },
}

/// The account a command acts as: the one named, or the operator (root scope, audited by name).
pub async fn cli_user(
    st: &SharedState,
    as_user: Option<String>,
    operator: &str,
) -> anyhow::Result<User> {
    match as_user {
        Some(name) => st
            .store
            .user_by_name(name.trim())
            .await
            .map_err(|_| anyhow::anyhow!("--as: no account named {name}")),
        None => Ok(User {
            id: Uuid::nil(),
            username: operator.to_string(),
            display_name: operator.to_string(),
            password_hash: String::new(),
            role: safegrid_domain::Role::Admin,
            department: None,
            regions: vec![],
            grids: vec![],
            disabled: false,
            created_at: Utc::now(),
            locked_until: None,
        }),
    }
}

/// An application error as the command line prints it, with an import's problems listed.
pub fn cli_error(e: AppError) -> anyhow::Error {
    // `message` already names the field of an invalid value.
    let mut msg = match &e.field {
        Some(f) if !e.message.starts_with(&format!("{f}: ")) => format!("{f}: {}", e.message),
        _ => e.message.clone(),
    };
    if let Some(problems) = e.extra.as_ref().and_then(|x| x["problems"].as_array()) {
        for p in problems {
            msg.push_str(&format!(
                "\n  row {}, {}: {}",
                p["row"],
                p["column"].as_str().unwrap_or(""),
                p["reason"].as_str().unwrap_or("")
            ));
        }
    }
    anyhow::anyhow!(msg)
}

pub async fn run_command(
    st: &SharedState,
    cmd: PlacesCommand,
    operator: &str,
) -> anyhow::Result<()> {
    use std::io::Write;
    match cmd {
        PlacesCommand::Import { file, as_user } => {
            let user = cli_user(st, as_user, operator).await?;
            let bytes = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
            let r = import(st, &user, &bytes, "cli", Utc::now())
                .await
                .map_err(cli_error)?;
            println!(
                "{} rows: {} registered, {} updated, {} unchanged",
                r.rows, r.created, r.updated, r.unchanged
            );
        }
        PlacesCommand::Export {
            region,
            kind,
            xlsx,
            out,
            as_user,
        } => {
            let user = cli_user(st, as_user, operator).await?;
            let xlsx = xlsx
                || out
                    .as_ref()
                    .is_some_and(|p| p.extension().is_some_and(|e| e == "xlsx"));
            let q = ListQuery {
                region,
                kind,
                ..Default::default()
            };
            let bytes = export(st, &user, &q, xlsx, "cli")
                .await
                .map_err(cli_error)?;
            match out {
                Some(p) => std::fs::write(&p, bytes)
                    .map_err(|e| anyhow::anyhow!("writing {}: {e}", p.display()))?,
                None => std::io::stdout().write_all(&bytes)?,
            }
        }
        PlacesCommand::Template { out } => {
            std::fs::write(&out, template_xlsx().map_err(cli_error)?)
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", out.display()))?;
            println!("wrote {}", out.display());
        }
    }
    Ok(())
}
