//! The `safegrid addresses …` and `safegrid visits …` commands: the addresses register's import,
//! export and template (through `app::addresses_io`), and the care-visit purge by hand (the jobs
//! runner also runs it hourly). They act as the account named with `--as`, or as the operator
//! with the whole deployment in scope; audited either way.

use crate::app::addresses_io::{export, import, template_xlsx};
use crate::app::places_cli::{cli_error, cli_user};
use crate::app::state::SharedState;
use crate::app::visits::{AddressQuery, purge_care};
use chrono::Utc;

#[derive(Debug, clap::Subcommand)]
pub enum AddressesCommand {
    /// Import a filled-in template (CSV or XLSX): all rows or none; idempotent by the door.
    Import {
        file: std::path::PathBuf,
        /// Act as this account (its territory).
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: Option<String>,
    },
    /// Export addresses: CSV with a BOM, or XLSX when --xlsx or the file ends in .xlsx.
    Export {
        /// Only addresses in this region's subtree.
        #[arg(long)]
        region: Option<String>,
        /// Only this grid's addresses.
        #[arg(long)]
        grid: Option<String>,
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
        #[arg(long, default_value = "addresses-template.xlsx")]
        out: std::path::PathBuf,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum VisitsCommand {
    /// Delete the care visits (关爱走访) older than `visit_care_retention_days` (audited).
    Purge,
}

pub async fn run_addresses(
    st: &SharedState,
    cmd: AddressesCommand,
    operator: &str,
) -> anyhow::Result<()> {
    use std::io::Write;
    match cmd {
        AddressesCommand::Import { file, as_user } => {
            let user = cli_user(st, as_user, operator).await?;
            let bytes = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
            let r = import(st, &user, &bytes, "cli", Utc::now())
                .await
                .map_err(cli_error)?;
            println!(
                "{} rows: {} added, {} updated, {} unchanged",
                r.rows, r.created, r.updated, r.unchanged
            );
        }
        AddressesCommand::Export {
            region,
            grid,
            xlsx,
            out,
            as_user,
        } => {
            let user = cli_user(st, as_user, operator).await?;
            let xlsx = xlsx
                || out
                    .as_ref()
                    .is_some_and(|p| p.extension().is_some_and(|e| e == "xlsx"));
            let q = AddressQuery {
                region,
                grid,
                ..Default::default()
            };
            let bytes = export(st, &user, &q, xlsx, "cli", Utc::now())
                .await
                .map_err(cli_error)?;
            match out {
                Some(p) => std::fs::write(&p, bytes)
                    .map_err(|e| anyhow::anyhow!("writing {}: {e}", p.display()))?,
                None => std::io::stdout().write_all(&bytes)?,
            }
        }
        AddressesCommand::Template { out } => {
            std::fs::write(&out, template_xlsx().map_err(cli_error)?)
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", out.display()))?;
            println!("wrote {}", out.display());
        }
    }
    Ok(())
}

pub async fn run_visits(st: &SharedState, cmd: VisitsCommand) -> anyhow::Result<()> {
    match cmd {
        VisitsCommand::Purge => {
            let n = purge_care(st, "cli", Utc::now()).await.map_err(cli_error)?;
            println!(
                "{n} care visits older than {} days purged",
                st.settings.visit_care_retention_days
            );
        }
    }
    Ok(())
}
