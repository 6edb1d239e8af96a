//! The `safegrid teams …` commands (the CLI face's part of group prevention, as `places_cli`
//! is the register's): import a team's members from a spreadsheet, every bad row reported with its
//! row, column and reason and nothing written unless all rows pass; export a team's members
//! (phones masked) as XLSX.

use crate::app::state::SharedState;
use crate::app::table::{Cell, Sheet, read_table, write_xlsx};
use crate::app::teams::{PersonInput, check_person, skills_of};
use chrono::Utc;
use safegrid_domain::codes::Phone;
use safegrid_domain::team as dt;
use safegrid_store::User;
use uuid::Uuid;

#[derive(Debug, clap::Subcommand)]
pub enum TeamsCommand {
    /// Import members into a team from CSV or XLSX (columns 姓名 name, 手机号 phone, 技能 skills,
    /// 其他技能 skills_note, 同意 consent, 加入日期 joined_on): all rows or none.
    Import {
        /// The team (UUID).
        #[arg(long)]
        team: Uuid,
        file: std::path::PathBuf,
        /// Act as this account (its territory); the operator with the whole deployment otherwise.
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: Option<String>,
    },
    /// Export a team's members (phones masked) as XLSX.
    Export {
        #[arg(long)]
        team: Uuid,
        #[arg(long, default_value = "members.xlsx")]
        out: std::path::PathBuf,
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: Option<String>,
    },
}

async fn cli_user(
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

/// A skill cell: codes or names (Chinese or English) separated by 、 , ; or spaces.
fn skill_codes(cell: &str) -> Vec<String> {
    cell.split(['、', ',', '，', ';', '；', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            dt::SKILLS
                .iter()
                .find(|k| k.0 == s || k.1 == s || k.2.eq_ignore_ascii_case(s))
                .map_or(s.to_string(), |k| k.0.to_string())
        })
        .collect()
}

/// Reads a members' sheet into inputs; `Err` lists every bad row as "row N, column: reason".
pub fn read_members(bytes: &[u8]) -> Result<Vec<PersonInput>, Vec<String>> {
    let table = read_table(bytes, "file").map_err(|e| vec![e.message])?;
    let col = |names: &[&str]| table.column(names);
    let (Some(name), Some(phone)) = (col(&["姓名", "name"]), col(&["手机号", "phone"])) else {
        return Err(vec![
            "the sheet needs the columns 姓名 (name) and 手机号 (phone)".into(),
        ]);
    };
    let skills = col(&["技能", "skills"]);
    let note = col(&["其他技能", "skills_note"]);
    let consent = col(&["同意", "consent"]);
    let joined = col(&["加入日期", "joined_on"]);
    let headers = [
        ("name", "姓名"),
        ("phone", "手机号"),
        ("skills", "技能"),
        ("skills_note", "其他技能"),
        ("consent", "同意"),
        ("consent_version", "同意"),
        ("joined_on", "加入日期"),
    ];
    let cell = |row: &Vec<String>, c: Option<usize>| {
        c.and_then(|i| row.get(i)).cloned().unwrap_or_default()
    };
    let mut out = vec![];
    let mut problems = vec![];
    for (n, row) in &table.rows {
        let input = PersonInput {
            name: cell(row, Some(name)),
            phone: cell(row, Some(phone)),
            skills: skill_codes(&cell(row, skills)),
            skills_note: Some(cell(row, note)),
            consent: matches!(
                cell(row, consent).trim().to_lowercase().as_str(),
                "是" | "同意" | "y" | "yes" | "1" | "true"
            ),
            joined_on: Some(cell(row, joined)),
            ..PersonInput::default()
        };
        let joined_ok = input.joined_on.as_deref().map(str::trim).is_none_or(|d| {
            d.is_empty() || chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok()
        });
        match check_person(&input) {
            Err(e) => {
                let f = e.field.clone().unwrap_or_default();
                let column = headers
                    .iter()
                    .find(|h| h.0 == f)
                    .map_or(f.as_str(), |h| h.1);
                problems.push(format!("row {n}, {column}: {}", e.message));
            }
            Ok(_) if !joined_ok => {
                problems.push(format!("row {n}, 加入日期: must be a date YYYY-MM-DD"))
            }
            Ok(p)
                if out
                    .iter()
                    .any(|o: &PersonInput| Phone::parse(&o.phone).is_ok_and(|x| x == p.phone)) =>
            {
                problems.push(format!("row {n}, 手机号: is given twice"));
            }
            Ok(_) => out.push(input),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if out.is_empty() {
        return Err(vec!["the sheet has no members".into()]);
    }
    Ok(out)
}

pub async fn run_command(
    st: &SharedState,
    cmd: TeamsCommand,
    operator: &str,
) -> anyhow::Result<()> {
    match cmd {
        TeamsCommand::Import {
            team,
            file,
            as_user,
        } => {
            let user = cli_user(st, as_user, operator).await?;
            let bytes = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
            let inputs = read_members(&bytes)
                .map_err(|p| anyhow::anyhow!("nothing imported:\n  {}", p.join("\n  ")))?;
            let rows = st
                .add_members(&user, team, inputs, Utc::now())
                .await
                .map_err(|e| anyhow::anyhow!("nothing imported: {}", e.message))?;
            println!("{} members registered", rows.len());
        }
        TeamsCommand::Export { team, out, as_user } => {
            let user = cli_user(st, as_user, operator).await?;
            let members = st
                .team_members(&user, team)
                .await
                .map_err(|e| anyhow::anyhow!(e.message))?;
            let rows = members
                .iter()
                .map(|m| {
                    vec![
                        Cell::from(m.name.as_str()),
                        Cell::from(Phone::from_stored(&m.phone).masked()),
                        Cell::from(skills_of(&m.skills).join("、")),
                        Cell::from(m.skills_note.clone()),
                        Cell::from(m.joined_on.as_str()),
                        Cell::from(m.left_on.clone()),
                        Cell::from(m.consent_version.as_str()),
                    ]
                })
                .collect();
            let bytes = write_xlsx(&[Sheet {
                name: "队员".into(),
                header: [
                    "姓名",
                    "手机号",
                    "技能",
                    "其他技能",
                    "加入日期",
                    "退出日期",
                    "同意书版本",
                ]
                .map(String::from)
                .to_vec(),
                rows,
            }])
            .map_err(|e| anyhow::anyhow!(e.message))?;
            std::fs::write(&out, bytes)
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", out.display()))?;
            println!("wrote {} ({} members)", out.display(), members.len());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_bad_row_is_named_and_good_sheets_pass() {
        let csv = "姓名,手机号,技能,同意,加入日期\n王建国,13905720001,治安巡逻、急救,是,2026-11-01\n李秀英,123,,是,\n张伟,13905720003,杂技,是,\n赵磊,13905720004,,否,\n";
        let problems = super::read_members(csv.as_bytes()).unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("row 3, 手机号"), "{problems:?}");
        assert!(problems[1].starts_with("row 4, 技能"), "{problems:?}");
        assert!(problems[2].starts_with("row 5, 同意"), "{problems:?}");
        let ok = "姓名,手机号,技能,同意\n王建国,13905720001,patrol first_aid,yes\n";
        let rows = super::read_members(ok.as_bytes()).unwrap();
        assert_eq!(rows[0].skills, vec!["patrol", "first_aid"]);
    }
}
