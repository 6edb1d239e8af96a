//! Places in and out as tables: the import of a filled-in template (CSV or XLSX) — every bad row
//! reported with its row number, column and reason, and nothing written when any row is bad;
//! idempotent by `external_ref`, so a re-import updates those places — the template to fill in,
//! and exports (CSV with a BOM, XLSX) of the places in scope with contacts masked.

use crate::app::error::{AppError, AppResult};
use crate::app::places::{self, ListQuery, Territory, locate};
use crate::app::policy::{Perm, require};
use crate::app::state::SharedState;
use crate::app::table::{Cell, Sheet, Table, read_table, write_csv, write_xlsx};
use crate::app::time::local_time;
use chrono::{DateTime, Utc};
use safegrid_domain::place::{KINDS, Place, PlaceInput, PlaceStatus, split_tags};
use safegrid_store::{AuditEntry, PlaceFilter, User};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// The columns of the template, the import and the exports: (field, Chinese header). A header
/// cell holds both names ("名称 name"); a file with either name alone imports too.
pub const COLUMNS: [(&str, &str); 11] = [
    ("external_ref", "编号"),
    ("kind", "类型"),
    ("name", "名称"),
    ("address", "地址"),
    ("lat", "纬度"),
    ("lon", "经度"),
    ("grid_code", "网格编码"),
    ("contact_name", "联系人"),
    ("contact_phone", "联系电话"),
    ("tags", "标签"),
    ("status", "状态"),
];

/// Columns an import cannot do without.
const REQUIRED: [&str; 3] = ["kind", "name", "address"];

/// At most this many rows in one import (a county's register is a few thousand).
pub const MAX_ROWS: usize = 20_000;

/// Problems listed in a refusal, at most (the count says how many there were).
const MAX_PROBLEMS: usize = 500;

fn header() -> Vec<String> {
    COLUMNS.iter().map(|(f, zh)| format!("{zh} {f}")).collect()
}

/// One problem of an import: the spreadsheet's row number, the column (its field name) and why.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ToSchema)]
pub struct RowProblem {
    pub row: usize,
    pub column: String,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ImportReport {
    /// Data rows read.
    pub rows: usize,
    pub created: usize,
    /// Places already registered under the row's `external_ref`, changed by the row.
    pub updated: usize,
    /// Places already registered under the row's `external_ref` and equal to it.
    pub unchanged: usize,
}

/// Reads an import's table and finds its columns (by field name or Chinese header): refused
/// naming `file` past `max_rows` rows, and with a problem per required column the header lacks.
/// Shared by every register's import (places, addresses, accounts).
pub fn read_columns<'a>(
    bytes: &[u8],
    columns: &[(&'a str, &str)],
    required: &[&str],
    max_rows: usize,
) -> AppResult<(Table, HashMap<&'a str, usize>)> {
    let table = read_table(bytes, "file")?;
    if table.rows.len() > max_rows {
        return Err(AppError::invalid(
            "file",
            format!(
                "at most {max_rows} rows in one import (this file has {})",
                table.rows.len()
            ),
        ));
    }
    let mut cols: HashMap<&'a str, usize> = HashMap::new();
    for &(f, zh) in columns {
        if let Some(i) = table.column(&[f, zh]) {
            cols.insert(f, i);
        }
    }
    let missing: Vec<RowProblem> = required
        .iter()
        .filter(|f| !cols.contains_key(*f))
        .map(|f| RowProblem {
            row: 1,
            column: f.to_string(),
            reason: "the header row lacks this column (download the template)".into(),
        })
        .collect();
    if !missing.is_empty() {
        return Err(refused(missing));
    }
    Ok((table, cols))
}

/// The refusal of an import: 422 naming `file`, with every problem found (`problems`).
pub fn refused(problems: Vec<RowProblem>) -> AppError {
    let n = problems.len();
    let first = &problems[0];
    let mut err = AppError::invalid(
        "file",
        format!(
            "{n} problem(s) found, nothing was written; first: row {}, {}: {}",
            first.row, first.column, first.reason
        ),
    );
    let shown: Vec<&RowProblem> = problems.iter().take(MAX_PROBLEMS).collect();
    err = err.with_extra(json!({ "problems": shown, "problem_count": n }));
    err
}

fn number(cell: &str, column: &str) -> Result<Option<f64>, RowProblem> {
    if cell.is_empty() {
        return Ok(None);
    }
    cell.parse::<f64>().map(Some).map_err(|_| RowProblem {
        row: 0,
        column: column.into(),
        reason: format!("{cell:?} is not a number (decimal degrees, e.g. 30.8712)"),
    })
}

/// A row of the table as a place input, or the problem of a cell.
fn row_input(cols: &HashMap<&str, usize>, cells: &[String]) -> Result<PlaceInput, RowProblem> {
    let get = |f: &str| -> String {
        cols.get(f)
            .and_then(|&i| cells.get(i))
            .cloned()
            .unwrap_or_default()
    };
    let opt = |f: &str| Some(get(f)).filter(|s| !s.is_empty());
    Ok(PlaceInput {
        kind: get("kind"),
        name: get("name"),
        address: get("address"),
        lat: number(&get("lat"), "lat")?,
        lon: number(&get("lon"), "lon")?,
        grid_code: opt("grid_code"),
        contact_name: opt("contact_name"),
        contact_phone: opt("contact_phone"),
        tags: split_tags(&get("tags")),
        status: opt("status"),
        external_ref: opt("external_ref"),
    })
}

/// Contact cells of a row that hold a masked value.
struct Masked {
    name: Option<String>,
    phone: Option<String>,
}

impl Masked {
    /// Puts the stored contact back where the row shows it masked, when the mask is the stored
    /// contact's; else names the column whose mask stands for nothing.
    fn restore(&self, p: &mut Place, old: Option<&Place>) -> Option<&'static str> {
        if let Some(m) = &self.name {
            match old.filter(|o| o.masked_contact_name().as_ref() == Some(m)) {
                Some(o) => p.contact_name = o.contact_name.clone(),
                None => return Some("contact_name"),
            }
        }
        if let Some(m) = &self.phone {
            match old.filter(|o| o.masked_contact_phone().as_ref() == Some(m)) {
                Some(o) => p.contact_phone = o.contact_phone.clone(),
                None => return Some("contact_phone"),
            }
        }
        None
    }
}

/// Whether an import's row changes the stored place (fields a row carries).
fn same(a: &Place, b: &Place) -> bool {
    a.kind == b.kind
        && a.name == b.name
        && a.address == b.address
        && a.point == b.point
        && a.grid_code == b.grid_code
        && a.region_code == b.region_code
        && a.contact_name == b.contact_name
        && a.contact_phone == b.contact_phone
        && a.tags == b.tags
        && a.status == b.status
        && a.external_ref == b.external_ref
}

/// Imports a table of places (CSV or XLSX bytes). Every row is checked first — its fields, where
/// it lies, that it lies in the importer's territory, that its `external_ref` is not given twice —
/// and any problem refuses the whole file (nothing written). Rows whose `external_ref` a place of
/// the county already holds update that place; the rest are registered. One transaction, one
/// audit entry.
pub async fn import(
    st: &SharedState,
    user: &User,
    bytes: &[u8],
    via: &str,
    now: DateTime<Utc>,
) -> AppResult<ImportReport> {
    require(user, Perm::ManagePlaces)?;
    let (table, cols) = read_columns(bytes, &COLUMNS, &REQUIRED, MAX_ROWS)?;
    if !cols.contains_key("lat") && !cols.contains_key("grid_code") {
        return Err(refused(vec![RowProblem {
            row: 1,
            column: "lat".into(),
            reason: "the header row needs lat and lon, or grid_code".into(),
        }]));
    }
    let t = places::territory(st, user).await?;
    let mut problems: Vec<RowProblem> = vec![];
    let mut grids_seen = HashMap::new();
    let mut refs_seen: HashMap<(String, String), usize> = HashMap::new();
    let mut ids_seen: HashMap<Uuid, usize> = HashMap::new();
    // An export's id column: a row carrying an id updates that place (rows without a reference
    // re-import without doubling).
    let id_col = table.column(&["id", "标识"]);
    // (row, place as the row describes it, version 1, masked contact cells, whether its id was given)
    let mut rows: Vec<(usize, Place, Masked, bool)> = Vec::with_capacity(table.rows.len());
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
        let given_id = match id_col.and_then(|i| cells.get(i)).filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => match Uuid::parse_str(c) {
                Ok(u) => Some(u),
                Err(_) => {
                    problem(
                        "id",
                        "must be a place id (UUID) as exports give it, or empty".into(),
                    );
                    continue;
                }
            },
        };
        if let Some(u) = given_id {
            if let Some(first) = ids_seen.get(&u) {
                problem("id", format!("is given twice (also row {first})"));
                continue;
            }
            ids_seen.insert(u, *row);
        }
        let mut input = match row_input(&cols, cells) {
            Ok(i) => i,
            Err(p) => {
                problem(&p.column, p.reason);
                continue;
            }
        };
        // A masked contact (an export's "王**", "139****5678") stands for the stored one: it is
        // checked against the place its reference names once that is read, below.
        let masked = Masked {
            name: input.contact_name.take_if(|n| n.contains('*')),
            phone: input.contact_phone.take_if(|p| p.contains('*')),
        };
        let f = match input.validate() {
            Ok(f) => f,
            Err(e) => {
                problem(&e.field, e.reason);
                continue;
            }
        };
        let (grid, region) = match locate(st, &f, &mut grids_seen).await {
            Ok(l) => l,
            Err(e) => {
                problem(
                    e.field.as_deref().unwrap_or("lat"),
                    e.message
                        .split_once(": ")
                        .map_or(e.message.clone(), |(_, r)| r.to_string()),
                );
                continue;
            }
        };
        if !t.covers(grid.as_deref(), &region) {
            let column = if f.point.is_some() {
                "lat"
            } else {
                "grid_code"
            };
            problem(column, "the place lies outside your territory".into());
            continue;
        }
        let id = given_id.unwrap_or_else(Uuid::now_v7);
        let place = Place::new(id, f, grid, region, Some(user.id), now);
        if let Some(r) = &place.external_ref {
            let key = (place.county_code.clone(), r.clone());
            if let Some(first) = refs_seen.get(&key) {
                problem(
                    "external_ref",
                    format!("{r:?} is given twice (also row {first})"),
                );
                continue;
            }
            refs_seen.insert(key, *row);
        }
        rows.push((*row, place, masked, given_id.is_some()));
    }
    if !problems.is_empty() {
        return Err(refused(problems));
    }
    // Existing places by (county, reference).
    let mut by_county: HashMap<&str, Vec<String>> = HashMap::new();
    for (c, r) in refs_seen.keys() {
        by_county.entry(c.as_str()).or_default().push(r.clone());
    }
    let mut existing: HashMap<(String, String), Place> = HashMap::new();
    for (county, refs) in by_county {
        for p in st.store.places_by_external_ref(county, &refs).await? {
            let key = (
                p.county_code.clone(),
                p.external_ref.clone().unwrap_or_default(),
            );
            existing.insert(key, p);
        }
    }
    let ids: Vec<Uuid> = ids_seen.into_keys().collect();
    let mut by_id: HashMap<Uuid, Place> = HashMap::new();
    for chunk in ids.chunks(500) {
        let f = PlaceFilter {
            ids: chunk.to_vec(),
            ..Default::default()
        };
        by_id.extend(
            st.store
                .list_places(&f)
                .await?
                .into_iter()
                .map(|p| (p.id, p)),
        );
    }
    let (mut inserts, mut updates, mut unchanged) = (vec![], vec![], 0);
    for (row, mut p, masked, id_given) in rows {
        let mut problem = |column: &str, reason: &str| {
            problems.push(RowProblem {
                row,
                column: column.into(),
                reason: reason.into(),
            })
        };
        let old = if id_given {
            match by_id.get(&p.id) {
                None => {
                    problem(
                        "id",
                        "no place has this id (leave it empty to register a new place)",
                    );
                    continue;
                }
                Some(o) if o.county_code != p.county_code => {
                    problem(
                        "lat",
                        "a place cannot move to another county; register it there and mark this one gone",
                    );
                    continue;
                }
                Some(o) => Some(o),
            }
        } else {
            let key = p.external_ref.clone().map(|r| (p.county_code.clone(), r));
            key.and_then(|k| existing.get(&k))
        };
        if let Some(column) = masked.restore(&mut p, old) {
            problem(
                column,
                "a masked value (as exports show contacts) can only stand for the contact stored with this place; type the contact in full",
            );
            continue;
        }
        match old {
            None => inserts.push(p),
            Some(old) if !t.covers_place(old) => {
                let column = if id_given { "id" } else { "external_ref" };
                problem(column, "this is a place outside your territory");
            }
            Some(old) if same(old, &p) => unchanged += 1,
            Some(old) => {
                let mut u = p;
                u.id = old.id;
                u.created_at = old.created_at;
                u.created_by = old.created_by;
                u.version = old.version;
                updates.push(u);
            }
        }
    }
    if !problems.is_empty() {
        return Err(refused(problems));
    }
    let report = ImportReport {
        rows: table.rows.len(),
        created: inserts.len(),
        updated: updates.len(),
        unchanged,
    };
    let entry = AuditEntry::new(
        Some(user.id),
        user.username.clone(),
        "place.import",
        "place",
        None,
        json!({ "report": report, "via": via }),
    );
    st.store
        .save_places(&inserts, &updates, &[entry], now)
        .await
        .map_err(places::conflict)?;
    Ok(report)
}

/// The template to fill in: the header row (Chinese and English), one example row, and a second
/// sheet listing the kinds and statuses.
pub fn template_xlsx() -> AppResult<Vec<u8>> {
    let example: Vec<Cell> = vec![
        "WX-2026-0001".into(),
        "group_rental".into(),
        "织里镇大港路88号出租楼".into(),
        "浙江省湖州市吴兴区织里镇大港路88号".into(),
        Cell::Number(30.8712),
        Cell::Number(120.2635),
        Cell::Empty,
        "张三".into(),
        "13800001234".into(),
        "电动车，三合一".into(),
        "active".into(),
    ];
    let mut kinds: Vec<Vec<Cell>> = KINDS
        .iter()
        .map(|k| vec![k.code.into(), k.zh.into(), k.en.into()])
        .collect();
    kinds.push(vec![Cell::Empty]);
    kinds.push(vec!["状态 status".into()]);
    for s in PlaceStatus::ALL {
        kinds.push(vec![s.as_str().into(), s.zh().into(), s.en().into()]);
    }
    let notes: Vec<Vec<Cell>> = [
        "类型、名称、地址必填；填经纬度（WGS-84 十进制度）由系统定位网格，或只填地址时填网格编码。",
        "Kind, name and address are required; give lat/lon (WGS-84 decimal degrees) and the grid is found, or for an address-only place its grid_code.",
        "编号（如统一社会信用代码、楼栋号）在本县唯一：再次导入同一编号即更新该场所。",
        "external_ref (a credit code, a building number) is unique in the county: importing it again updates that place.",
        "标签用逗号分隔；联系电话为手机或带区号的座机。",
        "Tags are comma-separated; the phone is a mobile or a landline with its area code.",
    ]
    .iter()
    .map(|s| vec![Cell::from(*s)])
    .collect();
    write_xlsx(&[
        Sheet {
            name: "场所 places".into(),
            header: header(),
            rows: vec![example],
        },
        Sheet {
            name: "类型 kinds".into(),
            header: vec!["代码 code".into(), "中文 zh".into(), "English".into()],
            rows: kinds,
        },
        Sheet {
            name: "说明 notes".into(),
            header: vec!["说明 notes".into()],
            rows: notes,
        },
    ])
}

/// The places in the caller's territory matching the filters, as one sheet of the import's
/// columns (contacts masked) with the id, region and last change after them.
pub async fn export_sheet(st: &SharedState, user: &User, q: &ListQuery) -> AppResult<Sheet> {
    let (mut f, t): (_, Territory) = places::filter_for(
        st,
        user,
        &ListQuery {
            limit: None,
            ..q.clone()
        },
    )
    .await?;
    f.limit = 0;
    f.after = None;
    let all = st.store.list_places(&f).await?;
    let names = st.region_names();
    let mut header = header();
    header.extend(
        [
            "类型名称 kind_name",
            "区域 region_code",
            "区域名称 region_name",
            "标识 id",
            "更新时间 updated_at",
        ]
        .map(String::from),
    );
    let rows = all
        .iter()
        .map(|p| {
            debug_assert!(t.covers_place(p));
            vec![
                Cell::from(p.external_ref.clone()),
                p.kind.as_str().into(),
                p.name.clone().into(),
                p.address.clone().into(),
                p.point.map(|x| x.lat).into(),
                p.point.map(|x| x.lon).into(),
                p.grid_code.clone().into(),
                p.masked_contact_name().into(),
                p.masked_contact_phone().into(),
                p.tags.join("，").into(),
                p.status.as_str().into(),
                p.kind.zh().into(),
                p.region_code.clone().into(),
                names.get(&p.region_code).cloned().into(),
                p.id.to_string().into(),
                local_time(p.updated_at).into(),
            ]
        })
        .collect();
    Ok(Sheet {
        name: "场所 places".into(),
        header,
        rows,
    })
}

/// An export as CSV (UTF-8 with a BOM) or XLSX; audited (what was asked, how many rows).
pub async fn export(
    st: &SharedState,
    user: &User,
    q: &ListQuery,
    xlsx: bool,
    via: &str,
) -> AppResult<Vec<u8>> {
    let sheet = export_sheet(st, user, q).await?;
    st.store
        .audit(&AuditEntry::new(
            Some(user.id),
            user.username.clone(),
            "place.export",
            "place",
            None,
            json!({ "rows": sheet.rows.len(), "format": if xlsx { "xlsx" } else { "csv" },
                    "kind": q.kind, "grid": q.grid, "region": q.region, "status": q.status, "via": via }),
        ))
        .await?;
    if xlsx {
        write_xlsx(&[sheet])
    } else {
        write_csv(&sheet)
    }
}
