//! Accounts in bulk from a table (CSV or XLSX): a township enrolling its grid workers at once.
//! Every row is checked first — the username, the role and scope the importer may grant
//! (`app::scope::check_grant`), the department, one worker per grid (一人一格) — and any problem
//! refuses the whole file (row, column, reason; nothing written). Idempotent by username: a row
//! naming an account the importer manages updates it. New accounts get a generated initial
//! password, returned once in the answer (and its downloadable sheet) and never stored, logged or
//! audited in the clear; grid changes are written to the staffing history in the same transaction.

use crate::app::auth::{check_password, hash_password, random_secret};
use crate::app::error::{AppError, AppResult};
use crate::app::places_io::{RowProblem, read_columns, refused};
use crate::app::policy::{Perm, require};
use crate::app::scope::{department_regions, manages};
use crate::app::state::SharedState;
use crate::app::table::{Cell, Sheet, write_csv, write_xlsx};
use chrono::{DateTime, Utc};
use safegrid_domain::Role;
use safegrid_domain::codes::{GridCode, RegionCode};
use safegrid_domain::role::ROLES;
use safegrid_domain::staffing::{ChangeKind, Post};
use safegrid_store::{AuditEntry, NewUser, StaffingRecord, StoreError, User};
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use utoipa::ToSchema;
use uuid::Uuid;

/// The columns of the template and the import: (field, Chinese header).
pub const COLUMNS: [(&str, &str); 6] = [
    ("username", "用户名"),
    ("display_name", "姓名"),
    ("role", "角色"),
    ("department", "部门"),
    ("regions", "行政区划"),
    ("grids", "网格"),
];

const REQUIRED: [&str; 2] = ["username", "role"];

/// At most this many rows in one import (each new account costs a password hash).
pub const MAX_ROWS: usize = 2_000;

/// One account of an import, as the answer lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportedAccount {
    pub row: usize,
    pub username: String,
    pub display_name: String,
    pub role: String,
    /// created | updated | unchanged
    pub outcome: String,
    /// The initial password of a created account, shown this once (never stored in the clear).
    pub password: Option<String>,
}

/// What an import of accounts did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountsReport {
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub accounts: Vec<ImportedAccount>,
}

fn header() -> Vec<String> {
    COLUMNS.iter().map(|(f, zh)| format!("{zh} {f}")).collect()
}

/// A role by its code, an alias or its Chinese name.
fn parse_role(s: &str) -> Result<Role, String> {
    if let Some(r) = ROLES
        .iter()
        .find(|r| r.zh == s.trim() && r.role != Role::System)
    {
        return Ok(r.role);
    }
    s.parse::<Role>().map_err(|e| e.reason)
}

/// A list cell: codes separated by commas (either width), semicolons, 、 or spaces.
fn split_list(s: &str) -> Vec<String> {
    s.split([',', '，', ';', '；', '、', ' ', '\n'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn valid_username(u: &str) -> bool {
    !u.is_empty()
        && u.chars().count() <= 64
        && u.chars().all(|c| c.is_alphanumeric() || "-_.".contains(c))
}

/// A new initial password that passes the password policy.
fn initial_password(username: &str) -> String {
    loop {
        let s = random_secret("");
        let p = format!("Sg{}-{}", &s[..6], &s[6..14]);
        if check_password(&p, username).is_ok() {
            return p;
        }
    }
}

/// A row as it will be written.
struct Planned {
    row: usize,
    user: NewUser,
    existing: Option<User>,
}

/// Imports accounts from CSV or XLSX bytes. See the module's description.
pub async fn import(
    st: &SharedState,
    by: &User,
    bytes: &[u8],
    via: &str,
    now: DateTime<Utc>,
) -> AppResult<AccountsReport> {
    require(by, Perm::ImportAccounts)?;
    let (table, cols) = read_columns(bytes, &COLUMNS, &REQUIRED, MAX_ROWS)?;
    let users = st.store.users().await?;
    let by_name: HashMap<&str, &User> = users.iter().map(|u| (u.username.as_str(), u)).collect();
    let depts = department_regions(st).await?;
    let mut grid_known: HashMap<String, bool> = HashMap::new();
    let mut problems: Vec<RowProblem> = vec![];
    let mut seen: HashMap<String, usize> = HashMap::new();
    // (post, grid) → (row, username) claimed by a row of this file.
    let mut claimed: HashMap<(Role, String), (usize, String)> = HashMap::new();
    let mut planned: Vec<Planned> = vec![];
    for (row, cells) in &table.rows {
        let row = *row;
        let mut problem = |column: &str, reason: String| {
            problems.push(RowProblem {
                row,
                column: column.into(),
                reason,
            })
        };
        let get = |f: &str| -> String {
            cols.get(f)
                .and_then(|&i| cells.get(i))
                .cloned()
                .unwrap_or_default()
        };
        if let Some(c) = cells.iter().position(|c| c.contains('\0')) {
            let column = COLUMNS
                .iter()
                .find(|(f, _)| cols.get(f) == Some(&c))
                .map_or("file", |(f, _)| *f);
            problem(column, crate::app::input::NUL_REASON.into());
            continue;
        }
        let username = get("username");
        if !valid_username(&username) {
            problem(
                "username",
                "must be 1–64 letters, digits, '-', '_' or '.'".into(),
            );
            continue;
        }
        if let Some(first) = seen.get(&username) {
            problem("username", format!("is given twice (also row {first})"));
            continue;
        }
        seen.insert(username.clone(), row);
        let display_name = Some(get("display_name"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| username.clone());
        if display_name.chars().count() > 100 {
            problem("display_name", "must be at most 100 characters".into());
            continue;
        }
        let role = match parse_role(&get("role")) {
            Ok(r) => r,
            Err(reason) => {
                problem("role", reason);
                continue;
            }
        };
        let department = Some(get("department")).filter(|s| !s.is_empty());
        if let Some(d) = &department
            && !depts.contains_key(d)
        {
            problem("department", format!("no department has the code {d}"));
            continue;
        }
        if role == Role::Handler && department.is_none() {
            problem("department", "is required for a handler".into());
            continue;
        }
        let mut regions = vec![];
        let mut bad = false;
        for r in split_list(&get("regions")) {
            match RegionCode::parse(&r) {
                Ok(c) => regions.push(c.as_str().to_string()),
                Err(e) => {
                    problem("regions", format!("{r}: {}", e.reason));
                    bad = true;
                    break;
                }
            }
        }
        if bad {
            continue;
        }
        let mut grids: Vec<String> = vec![];
        for g in split_list(&get("grids")) {
            let code = match GridCode::parse(&g) {
                Ok(c) => c.as_str().to_string(),
                Err(e) => {
                    problem("grids", format!("{g}: {}", e.reason));
                    bad = true;
                    break;
                }
            };
            let known = match grid_known.get(&code) {
                Some(k) => *k,
                None => {
                    let k = match st.store.grid(&code).await {
                        Ok(_) => true,
                        Err(StoreError::NotFound) => false,
                        Err(e) => return Err(e.into()),
                    };
                    grid_known.insert(code.clone(), k);
                    k
                }
            };
            if !known {
                problem("grids", format!("{code}: no such grid"));
                bad = true;
                break;
            }
            if !grids.contains(&code) {
                grids.push(code);
            }
        }
        if bad {
            continue;
        }
        grids.sort();
        let dept_region = department
            .as_deref()
            .and_then(|d| depts.get(d))
            .map(String::as_str);
        // The grant rules of `app::scope::check_grant`, asked directly for the refusal's field.
        // A grid worker or leader enrolled before any grid is given covers nothing (an empty
        // scope is "everywhere" for the root administrator alone), so it needs no grant.
        let unplaced = matches!(role, Role::GridWorker | Role::GridLeader)
            && regions.is_empty()
            && grids.is_empty()
            && department.is_none();
        let granted = if unplaced {
            Ok(())
        } else {
            safegrid_domain::scope::may_grant(
                by.grant(None),
                by.is_root(),
                safegrid_domain::scope::Grant {
                    role,
                    regions: &regions,
                    grids: &grids,
                    department_region: dept_region,
                },
            )
        };
        if let Err(r) = granted {
            problem(r.field, r.reason);
            continue;
        }
        let existing = by_name.get(username.as_str()).copied();
        if let Some(u) = existing
            && !manages(by, u, &depts)
            && !crate::app::staffing::unplaced(u)
        {
            problem(
                "username",
                "is taken by an account outside your scope".into(),
            );
            continue;
        }
        if existing.is_some_and(User::is_root) || existing.is_some_and(|u| u.id == by.id) {
            problem(
                "username",
                "your own or the root account is not changed by an import".into(),
            );
            continue;
        }
        // One worker per grid (一人一格), one leader: a grid held by another account, or claimed
        // by another row, is refused; the staffing page hands grids over.
        if matches!(role, Role::GridWorker | Role::GridLeader) {
            for g in &grids {
                let holder = users.iter().find(|u| {
                    u.role == role
                        && !u.disabled
                        && u.username != username
                        && u.grids.iter().any(|x| x == g)
                });
                if let Some(h) = holder {
                    problem(
                        "grids",
                        format!(
                            "{g} is held by {} ({}); hand it over on the staffing page",
                            h.display_name, h.username
                        ),
                    );
                    bad = true;
                    break;
                }
                if let Some((r, other)) = claimed.get(&(role, g.clone())) {
                    problem("grids", format!("{g} is also given to {other} (row {r})"));
                    bad = true;
                    break;
                }
                claimed.insert((role, g.clone()), (row, username.clone()));
            }
            if bad {
                continue;
            }
        }
        planned.push(Planned {
            row,
            user: NewUser {
                username,
                display_name,
                password_hash: String::new(),
                role,
                department,
                regions,
                grids,
            },
            existing: existing.cloned(),
        });
    }
    if !problems.is_empty() {
        return Err(refused(problems));
    }

    let mut inserts = vec![];
    let mut updates = vec![];
    let mut records = vec![];
    let mut audit = vec![];
    let mut accounts = vec![];
    let (mut created, mut updated, mut unchanged) = (0, 0, 0);
    for p in planned {
        let u = p.user;
        let post = match u.role {
            Role::GridWorker => Some(Post::Worker),
            Role::GridLeader => Some(Post::Leader),
            _ => None,
        };
        let (id, before): (Uuid, Vec<String>) = match &p.existing {
            Some(e) => (e.id, e.grids.clone()),
            None => (Uuid::now_v7(), vec![]),
        };
        let mut password = None;
        let outcome = match &p.existing {
            Some(e)
                if e.display_name == u.display_name
                    && e.role == u.role
                    && e.department == u.department
                    && e.regions == u.regions
                    && {
                        let mut g = e.grids.clone();
                        g.sort();
                        g == u.grids
                    } =>
            {
                unchanged += 1;
                "unchanged"
            }
            Some(_) => {
                updated += 1;
                "updated"
            }
            None => {
                created += 1;
                "created"
            }
        };
        if let Some(post) = post
            && outcome != "unchanged"
        {
            let (b, a): (BTreeSet<&String>, BTreeSet<&String>) =
                (before.iter().collect(), u.grids.iter().collect());
            for (kind, grid, user_id) in a
                .difference(&b)
                .map(|g| (ChangeKind::Assign, *g, Some(id)))
                .chain(b.difference(&a).map(|g| (ChangeKind::Vacate, *g, None)))
            {
                records.push(StaffingRecord {
                    id: Uuid::now_v7(),
                    grid_code: grid.clone(),
                    post: post.as_str().into(),
                    kind: kind.as_str().into(),
                    user_id,
                    previous_user_id: if user_id.is_none() { Some(id) } else { None },
                    moved: None,
                    note: Some(format!("import ({via})")),
                    by_user_id: Some(by.id),
                    at: now,
                });
            }
        }
        let detail = json!({ "role": u.role, "department": u.department, "regions": u.regions,
                             "grids": u.grids, "via": format!("import:{via}") });
        match outcome {
            "created" => {
                let clear = initial_password(&u.username);
                let hash = hash_password(clear.clone())
                    .await
                    .map_err(AppError::internal)?;
                password = Some(clear);
                audit.push(AuditEntry::new(
                    Some(by.id),
                    by.username.clone(),
                    "account.create",
                    "user",
                    Some(u.username.clone()),
                    detail,
                ));
                inserts.push((
                    id,
                    NewUser {
                        password_hash: hash,
                        ..u.clone()
                    },
                ));
            }
            "updated" => {
                audit.push(AuditEntry::new(
                    Some(by.id),
                    by.username.clone(),
                    "account.update",
                    "user",
                    Some(u.username.clone()),
                    detail,
                ));
                updates.push((id, u.clone()));
            }
            _ => {}
        }
        accounts.push(ImportedAccount {
            row: p.row,
            username: u.username,
            display_name: u.display_name,
            role: u.role.as_str().into(),
            outcome: outcome.into(),
            password,
        });
    }
    let rows = table.rows.len();
    audit.push(AuditEntry::new(
        Some(by.id),
        by.username.clone(),
        "account.import",
        "user",
        None,
        json!({ "rows": rows, "created": created, "updated": updated, "unchanged": unchanged, "via": via }),
    ));
    st.store
        .save_accounts(&inserts, &updates, &records, &audit, now)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(m) => AppError::invalid("username", m),
            other => other.into(),
        })?;
    if !updates.is_empty() || !records.is_empty() {
        st.tokens.clear();
    }
    Ok(AccountsReport {
        rows,
        created,
        updated,
        unchanged,
        accounts,
    })
}

/// The import's result as a sheet: every account with its outcome and, for new accounts, the
/// initial password — the one copy of it, for the importer to hand out.
pub fn result_sheet(r: &AccountsReport) -> Sheet {
    Sheet {
        name: "账号 accounts".into(),
        header: vec![
            "行 row".into(),
            "用户名 username".into(),
            "姓名 display_name".into(),
            "角色 role".into(),
            "结果 outcome".into(),
            "初始密码 password".into(),
        ],
        rows: r
            .accounts
            .iter()
            .map(|a| {
                vec![
                    Cell::Number(a.row as f64),
                    a.username.as_str().into(),
                    a.display_name.as_str().into(),
                    a.role.as_str().into(),
                    a.outcome.as_str().into(),
                    a.password.as_deref().into(),
                ]
            })
            .collect(),
    }
}

/// The result as XLSX or CSV (with a BOM) bytes.
pub fn result_file(r: &AccountsReport, xlsx: bool) -> AppResult<Vec<u8>> {
    let sheet = result_sheet(r);
    if xlsx {
        write_xlsx(&[sheet])
    } else {
        write_csv(&sheet)
    }
}

/// The template to fill in: the header row, two example rows and the roles.
pub fn template_xlsx() -> AppResult<Vec<u8>> {
    let examples: Vec<Vec<Cell>> = vec![
        vec![
            "wx-zhili-gw01".into(),
            "王丽".into(),
            "grid_worker".into(),
            Cell::Empty,
            Cell::Empty,
            "330502101201001".into(),
        ],
        vec![
            "wx-zhili-gl01".into(),
            "陈建国".into(),
            "网格长".into(),
            Cell::Empty,
            "330502101201".into(),
            "330502101201001，330502101201002".into(),
        ],
    ];
    let roles: Vec<Vec<Cell>> = ROLES
        .iter()
        .filter(|r| r.role != Role::System)
        .map(|r| vec![r.code.into(), r.zh.into(), r.en.into()])
        .collect();
    let notes: Vec<Vec<Cell>> = [
        "用户名、角色必填；角色填代码或中文名。行政区划、网格填编码，多个用逗号分隔；部门填部门代码（处置人员必填）。",
        "username and role are required; the role by its code or Chinese name. Regions and grids by code, comma-separated; department by its code (required for a handler).",
        "再次导入同一用户名即更新该账号；新账号的初始密码只在导入结果中出现一次。",
        "Importing a username again updates that account; a new account's initial password appears once, in the import's result.",
        "一个网格只有一名网格员：已有网格员的网格请在网格配置页面交接。",
        "A grid has one grid worker: a grid that already has one is handed over on the staffing page.",
    ]
    .iter()
    .map(|s| vec![Cell::from(*s)])
    .collect();
    write_xlsx(&[
        Sheet {
            name: "账号 accounts".into(),
            header: header(),
            rows: examples,
        },
        Sheet {
            name: "角色 roles".into(),
            header: vec!["代码 code".into(), "中文 zh".into(), "English".into()],
            rows: roles,
        },
        Sheet {
            name: "说明 notes".into(),
            header: vec!["说明 notes".into()],
            rows: notes,
        },
    ])
}

/// The `safegrid accounts …` commands.
#[derive(Debug, clap::Subcommand)]
pub enum AccountsCommand {
    /// Import accounts from a filled-in template (CSV or XLSX): all rows or none. New accounts'
    /// initial passwords are printed once, or written only to --out.
    Import {
        file: std::path::PathBuf,
        /// Write the result (with the initial passwords) to this XLSX or CSV file instead of
        /// printing the passwords.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// Act as this account (what it may grant); default: the operator, with root scope.
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: Option<String>,
    },
    /// Write the import template (XLSX).
    Template {
        #[arg(long, default_value = "accounts-template.xlsx")]
        out: std::path::PathBuf,
    },
}

/// An application error as the command line prints it, with an import's problems listed.
fn cli_error(e: AppError) -> anyhow::Error {
    let mut msg = e.message.clone();
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
    cmd: AccountsCommand,
    operator: &str,
) -> anyhow::Result<()> {
    match cmd {
        AccountsCommand::Import { file, out, as_user } => {
            let user = match as_user {
                Some(name) => st
                    .store
                    .user_by_name(name.trim())
                    .await
                    .map_err(|_| anyhow::anyhow!("--as: no account named {name}"))?,
                // The operator of the command line acts with the root's scope, audited by name.
                None => User {
                    id: Uuid::nil(),
                    username: operator.to_string(),
                    display_name: operator.to_string(),
                    password_hash: String::new(),
                    role: Role::Admin,
                    department: None,
                    regions: vec![],
                    grids: vec![],
                    disabled: false,
                    created_at: Utc::now(),
                    locked_until: None,
                },
            };
            let bytes = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
            let r = import(st, &user, &bytes, "cli", Utc::now())
                .await
                .map_err(cli_error)?;
            println!(
                "{} rows: {} created, {} updated, {} unchanged",
                r.rows, r.created, r.updated, r.unchanged
            );
            match out {
                Some(p) => {
                    let xlsx = p.extension().is_none_or(|e| e != "csv");
                    std::fs::write(&p, result_file(&r, xlsx).map_err(cli_error)?)
                        .map_err(|e| anyhow::anyhow!("writing {}: {e}", p.display()))?;
                    println!("result with the initial passwords: {}", p.display());
                }
                None => {
                    for a in r.accounts.iter().filter(|a| a.password.is_some()) {
                        println!(
                            "{}\t{}",
                            a.username,
                            a.password.as_deref().unwrap_or_default()
                        );
                    }
                }
            }
        }
        AccountsCommand::Template { out } => {
            std::fs::write(&out, template_xlsx().map_err(cli_error)?)
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", out.display()))?;
            println!("wrote {}", out.display());
        }
    }
    Ok(())
}
