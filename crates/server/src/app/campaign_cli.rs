//! The `safegrid campaigns …` commands: list campaigns, show one with its progress, export its
//! 表格 (XLSX or CSV) — the same use cases as the API, run as the deployment's operator (the
//! root scope; exports are audited under the name `cli`).

use crate::app::campaigns::campaign_json;
use crate::app::error::AppError;
use crate::app::state::SharedState;
use chrono::Utc;
use safegrid_domain::Role;
use safegrid_store::User;
use std::path::PathBuf;
use uuid::Uuid;

#[derive(Debug, clap::Subcommand)]
pub enum CampaignCommand {
    /// List campaigns, newest first: id, status, period, territory, title.
    List,
    /// A campaign as JSON with its progress (county and township rows).
    Show {
        id: Uuid,
        /// A region code within its territory.
        #[arg(long)]
        region: Option<String>,
    },
    /// Export the campaign's table: XLSX (one sheet per level, and the places with their answers)
    /// or CSV (the places, UTF-8 with a BOM).
    Export {
        id: Uuid,
        #[arg(long, default_value = "xlsx")]
        format: String,
        #[arg(long)]
        region: Option<String>,
        /// The file to write (default: campaign-<id>.<format>).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// The operator at the console: the whole deployment, as the root administrator.
fn operator() -> User {
    User {
        id: Uuid::nil(),
        username: "cli".into(),
        display_name: "命令行".into(),
        password_hash: String::new(),
        role: Role::Admin,
        department: None,
        regions: vec![],
        grids: vec![],
        disabled: false,
        created_at: Utc::now(),
        locked_until: None,
    }
}

fn flag(e: AppError) -> anyhow::Error {
    match e.field {
        Some(f) => {
            let reason = e
                .message
                .strip_prefix(&format!("{f}: "))
                .unwrap_or(&e.message);
            anyhow::anyhow!("--{}: {reason}", f.replace('_', "-"))
        }
        None => anyhow::anyhow!("{}", e.message),
    }
}

pub async fn run_command(st: &SharedState, cmd: CampaignCommand) -> anyhow::Result<()> {
    use std::io::Write;
    let op = operator();
    // Written with errors answered (a closed pipe, `| head`) instead of `println!`'s panic.
    let mut out = std::io::stdout().lock();
    match cmd {
        CampaignCommand::List => {
            for c in st.list_campaigns(&op).await.map_err(flag)? {
                writeln!(
                    out,
                    "{}\t{}\t{}..{}\t{}\t{}",
                    c.id, c.status, c.starts_on, c.ends_on, c.region_code, c.title
                )?;
            }
        }
        CampaignCommand::Show { id, region } => {
            let c = st.visible_campaign(&op, id).await.map_err(flag)?;
            let p = st
                .campaign_progress(&op, id, region.as_deref(), None, Utc::now())
                .await
                .map_err(flag)?;
            let mut v = campaign_json(&c);
            v["progress"] = serde_json::json!({
                "region": p.region,
                "total": p.total,
                "levels": p.levels.iter().filter(|l| matches!(l.level, "county" | "township")).collect::<Vec<_>>(),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        }
        CampaignCommand::Export {
            id,
            format,
            region,
            out,
        } => {
            let bytes = match format.as_str() {
                "xlsx" => {
                    st.campaign_xlsx(&op, id, region.as_deref(), Utc::now())
                        .await
                }
                "csv" => {
                    st.campaign_csv(&op, id, region.as_deref(), Utc::now())
                        .await
                }
                _ => anyhow::bail!("--format: must be xlsx or csv"),
            }
            .map_err(flag)?;
            let path = out.unwrap_or_else(|| PathBuf::from(format!("campaign-{id}.{format}")));
            std::fs::write(&path, bytes)?;
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}
