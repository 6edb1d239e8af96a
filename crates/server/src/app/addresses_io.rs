//! Addresses in and out as tables: the import of a filled-in template (CSV or XLSX) — every bad
//! row reported with its row number, column and reason, nothing written when any row is bad;
//! idempotent by the door (grid, building, unit, door), so a re-import updates or leaves those
//! addresses — the template, and exports (CSV with a BOM, XLSX) of the addresses in scope.
//! Addresses carry no person, so an export of them lists no household's circumstances.

use crate::app::error::{AppError, AppResult};
use crate::app::places::territory;
use crate::app::places_io::{RowProblem, read_columns, refused};
use crate::app::policy::{Perm, require};
use crate::app::state::SharedState;
use crate::app::table::{Cell, Sheet, write_csv, write_xlsx};
use crate::app::time::local_time;
use crate::app::visits::{AddressQuery, address_filter, check_address};
use chrono::{DateTime, Utc};
use safegrid_domain::visit::{Address, AddressInput};
use safegrid_store::{AddressFilter, AuditEntry, User};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use utoipa::ToSchema;

/// The columns of the template, the import and the exports: (field, Chinese header).
pub const COLUMNS: [(&str, &str); 6] = [
    ("grid_code", "网格编码"),
    ("building", "楼栋"),
    ("unit", "单元"),
    ("door", "门牌"),
    ("place_id", "场所标识"),
    ("status", "状态"),
];

const REQUIRED: [&str; 3] = ["grid_code", "building", "door"];

/// At most this many rows in one import (a county's doors, a few tens of thousands).
pub const MAX_ROWS: usize = 50_000;

fn header() -> Vec<String> {
    COLUMNS.iter().map(|(f, zh)| format!("{zh} {f}")).collect()
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AddressImportReport {
    pub rows: usize,
    pub created: usize,
    /// Doors already registered, changed by the row (place link, status).
    pub updated: usize,
    pub unchanged: usize,
}

/// Imports a table of addresses; all rows or none, one transaction, one audit entry.
pub async fn import(
    st: &SharedState,
    user: &User,
    bytes: &[u8],
    via: &str,
    now: DateTime<Utc>,
) -> AppResult<AddressImportReport> {
    require(user, Perm::ManageAddresses)?;
    let (table, cols) = read_columns(bytes, &COLUMNS, &REQUIRED, MAX_ROWS)?;
    let t = territory(st, user).await?;
    let mut problems = vec![];
    let mut grids_seen = HashMap::new();
    let mut doors_seen: HashMap<(String, String, String, String), usize> = HashMap::new();
    let mut rows: Vec<Address> = vec![];
    for (row, cells) in &table.rows {
        let mut problem = |column: &str, reason: String| {
            problems.push(RowProblem {
                row: *row,
                column: column.into(),
                reason,
            })
        };
        if let Some(c) = cells.iter().position(|c| c.contains('\0')) {
            let column = COLUMNS
                .iter()
                .find(|(f, _)| cols.get(f) == Some(&c))
                .map_or("file", |(f, _)| *f);
            problem(column, "must not contain a NUL character".into());
            continue;
        }
        let get = |f: &str| -> String {
            cols.get(f)
                .and_then(|&i| cells.get(i))
                .cloned()
                .unwrap_or_default()
        };
        let input = AddressInput {
            grid_code: get("grid_code"),
            building: get("building"),
            unit: Some(get("unit")),
            door: get("door"),
            place_id: Some(get("place_id")),
            status: Some(get("status")),
        };
        let f = match input.validate() {
            Ok(f) => f,
            Err(e) => {
                problem(&e.field, e.reason);
                continue;
            }
        };
        let a = Address::new(uuid::Uuid::now_v7(), f, Some(user.id), now);
        if let Err(e) = check_address(st, &t, &a, &mut grids_seen).await {
            problem(
                e.field.as_deref().unwrap_or("grid_code"),
                e.message
                    .split_once(": ")
                    .map_or(e.message.clone(), |(_, r)| r.to_string()),
            );
            continue;
        }
        let key = a.door_key();
        if let Some(first) = doors_seen.get(&key) {
            problem("door", format!("is given twice (also row {first})"));
            continue;
        }
        doors_seen.insert(key, *row);
        rows.push(a);
    }
    if !problems.is_empty() {
        return Err(refused(problems));
    }
    // The stored doors of the grids the file names.
    let mut grids: Vec<String> = rows.iter().map(|a| a.grid_code.clone()).collect();
    grids.sort();
    grids.dedup();
    let mut existing: HashMap<(String, String, String, String), Address> = HashMap::new();
    for chunk in grids.chunks(200) {
        // Every stored door of those grids, whoever's territory holds it: a door is one row.
        let f = AddressFilter {
            grids: chunk.to_vec(),
            scope: safegrid_store::visits::ScopeSql {
                everything: true,
                ..Default::default()
            },
            ..Default::default()
        };
        for a in st.store.list_addresses(&f).await? {
            existing.insert(a.door_key(), a);
        }
    }
    let (mut inserts, mut updates, mut unchanged) = (vec![], vec![], 0);
    for a in rows {
        match existing.get(&a.door_key()) {
            None => inserts.push(a),
            Some(old) if old.place_id == a.place_id && old.status == a.status => unchanged += 1,
            Some(old) => {
                let mut u = a;
                u.id = old.id;
                u.created_at = old.created_at;
                u.created_by = old.created_by;
                u.version = old.version;
                updates.push(u);
            }
        }
    }
    let report = AddressImportReport {
        rows: table.rows.len(),
        created: inserts.len(),
        updated: updates.len(),
        unchanged,
    };
    let entry = AuditEntry::new(
        Some(user.id),
        user.username.clone(),
        "address.import",
        "address",
        None,
        json!({ "report": report, "via": via }),
    );
    st.store
        .save_addresses(&inserts, &updates, &[entry], now)
        .await
        .map_err(|e| match e {
            safegrid_store::StoreError::Conflict(m) => {
                AppError::invalid("file", format!("{m}; nothing was written, import again"))
            }
            other => other.into(),
        })?;
    Ok(report)
}

/// The template to fill in: the header row (Chinese and English), one example row, notes.
pub fn template_xlsx() -> AppResult<Vec<u8>> {
    let example: Vec<Cell> = vec![
        "330502001001001".into(),
        "3幢".into(),
        "2单元".into(),
        "401".into(),
        Cell::Empty,
        "active".into(),
    ];
    let notes: Vec<Vec<Cell>> = [
        "网格编码、楼栋、门牌必填；单元可空（如农村自建房）；场所标识填场所登记的标识（可空）。",
        "grid_code, building and door are required; unit may be empty (a village house); place_id is the id of a registered place (optional).",
        "同一网格的楼栋+单元+门牌唯一：再次导入同一门牌即更新（场所、状态），不会重复。",
        "A door (grid, building, unit, door) is unique: importing it again updates its place link and status, never doubles it.",
        "门牌只记地址，不记住户姓名。",
        "An address is a door, never a person: no names.",
    ]
    .iter()
    .map(|s| vec![Cell::from(*s)])
    .collect();
    write_xlsx(&[
        Sheet {
            name: "门牌 addresses".into(),
            header: header(),
            rows: vec![example],
        },
        Sheet {
            name: "说明 notes".into(),
            header: vec!["说明 notes".into()],
            rows: notes,
        },
    ])
}

/// The addresses in the caller's territory matching the filters, as one sheet.
pub async fn export_sheet(
    st: &SharedState,
    user: &User,
    q: &AddressQuery,
    now: DateTime<Utc>,
) -> AppResult<Sheet> {
    let (mut f, _) = address_filter(
        st,
        user,
        &AddressQuery {
            limit: None,
            ..q.clone()
        },
        now,
    )
    .await?;
    f.limit = 0;
    f.after = None;
    let all = st.store.list_addresses(&f).await?;
    let names = st.region_names();
    let mut header = header();
    header.extend(
        [
            "区域 region_code",
            "区域名称 region_name",
            "标识 id",
            "更新时间 updated_at",
        ]
        .map(String::from),
    );
    let rows = all
        .iter()
        .map(|a| {
            vec![
                a.grid_code.clone().into(),
                a.building.clone().into(),
                a.unit.clone().into(),
                a.door.clone().into(),
                a.place_id.map(|p| p.to_string()).into(),
                a.status.as_str().into(),
                a.region_code.clone().into(),
                names.get(&a.region_code).cloned().into(),
                a.id.to_string().into(),
                local_time(a.updated_at).into(),
            ]
        })
        .collect();
    Ok(Sheet {
        name: "门牌 addresses".into(),
        header,
        rows,
    })
}

/// An export as CSV (UTF-8 with a BOM) or XLSX; audited.
pub async fn export(
    st: &SharedState,
    user: &User,
    q: &AddressQuery,
    xlsx: bool,
    via: &str,
    now: DateTime<Utc>,
) -> AppResult<Vec<u8>> {
    let sheet = export_sheet(st, user, q, now).await?;
    st.store
        .audit(&AuditEntry::new(
            Some(user.id),
            user.username.clone(),
            "address.export",
            "address",
            None,
            json!({ "rows": sheet.rows.len(), "format": if xlsx { "xlsx" } else { "csv" },
                    "grid": q.grid, "region": q.region, "via": via }),
        ))
        .await?;
    if xlsx {
        write_xlsx(&[sheet])
    } else {
        write_csv(&sheet)
    }
}
