//! A campaign's progress tables (表格化管理): places due, inspected, unreachable, coverage, hazards
//! found, rectified on time, overdue and closed out, by grid, village, township and county, for
//! any region in the caller's reach (and a department's own hazards); and the campaign's 表格 as
//! XLSX (one sheet per level and one of places with the checklist's answers as columns) or CSV
//! with a UTF-8 BOM (the places sheet), so Excel opens it with its Chinese intact.

use crate::app::campaigns::{Reach, checklist_of, territory_short};
use crate::app::error::{AppError, AppResult};
use crate::app::policy::{self, Perm};
use crate::app::state::AppState;
use chrono::{DateTime, Utc};
use safegrid_domain::campaign::{Tally, rectification};
use safegrid_domain::codes::RegionCode;
use safegrid_store::User;
use safegrid_store::campaigns::{CampaignRow, HazardRow, InspectionRow, TaskRow};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// The levels of a table, coarsest first: (code, 中文, English).
pub const LEVELS: [(&str, &str, &str); 4] = [
    ("county", "县区", "County"),
    ("township", "乡镇街道", "Township"),
    ("village", "村社区", "Village"),
    ("grid", "网格", "Grid"),
];

#[derive(Debug, Clone, Serialize)]
pub struct ProgressRow {
    pub code: String,
    pub name: String,
    #[serde(flatten)]
    pub tally: Tally,
    pub pending: i64,
    pub coverage_percent: f64,
    pub on_time_percent: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Level {
    pub level: &'static str,
    pub rows: Vec<ProgressRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub campaign: Uuid,
    /// The region (significant prefix) the table covers.
    pub region: String,
    pub department: Option<String>,
    pub total: ProgressRow,
    pub levels: Vec<Level>,
}

fn row(code: String, name: String, t: Tally) -> ProgressRow {
    ProgressRow {
        code,
        name,
        pending: t.pending(),
        coverage_percent: t.coverage_percent(),
        on_time_percent: t.on_time_percent(),
        tally: t,
    }
}

/// The key of a task or hazard at a level.
fn key(level: &str, grid: Option<&str>, region: &str) -> String {
    match level {
        "county" => region.get(..6).unwrap_or(region).to_string(),
        "township" => region.get(..9).unwrap_or(region).to_string(),
        "village" => region.to_string(),
        _ => grid.unwrap_or("-").to_string(),
    }
}

impl AppState {
    /// The region prefix a caller's table covers: the one asked for (within the campaign's
    /// territory and the caller's reach), else the widest the caller may see.
    async fn table_prefix(
        &self,
        user: &User,
        c: &CampaignRow,
        region: Option<&str>,
    ) -> AppResult<String> {
        let territory = territory_short(&c.region_code);
        let reach = self.campaign_reach(user).await?;
        let asked = match region.map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => Some(RegionCode::parse_field(r, "region")?.short().to_string()),
            None => None,
        };
        let widest = match &reach {
            Reach::All => territory.clone(),
            Reach::Regions(rs) => {
                if reach.covers(&territory) {
                    territory.clone()
                } else {
                    rs.iter()
                        .find(|r| r.starts_with(territory.as_str()))
                        .cloned()
                        .ok_or_else(|| AppError::not_found("campaign"))?
                }
            }
            // Grids are read as their villages; a leader's regions as they are.
            Reach::Grids(gs) => gs
                .iter()
                .filter(|g| g.starts_with(territory.as_str()) || territory.starts_with(g.as_str()))
                .map(|g| {
                    let v = g.get(..12).unwrap_or(g);
                    let v = RegionCode::parse(v)
                        .map(|r| r.short().to_string())
                        .unwrap_or_else(|_| v.to_string());
                    // A region above the territory reads the whole territory.
                    if territory.starts_with(v.as_str()) {
                        territory.clone()
                    } else {
                        v
                    }
                })
                .next()
                .ok_or_else(|| AppError::not_found("campaign"))?,
        };
        match asked {
            None => Ok(widest),
            Some(a) if a.starts_with(widest.as_str()) => Ok(a),
            Some(_) => Err(AppError::invalid(
                "region",
                format!("must lie within {widest} (the campaign's territory in your reach)"),
            )),
        }
    }

    /// The progress tables of a campaign for a region (and a department's hazards).
    pub async fn campaign_progress(
        &self,
        user: &User,
        id: Uuid,
        region: Option<&str>,
        department: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<Progress> {
        policy::require(user, Perm::ReadCampaigns)?;
        let c = self.visible_campaign(user, id).await?;
        let prefix = self.table_prefix(user, &c, region).await?;
        let department = department
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string);
        let counts = self.store.task_counts(c.id, &prefix).await?;
        let mut hazards = self.store.campaign_hazards(c.id, &prefix).await?;
        if let Some(d) = &department {
            hazards.retain(|h| h.department.as_deref() == Some(d.as_str()));
        }
        let names = self.region_names();
        let name_of = |level: &str, code: &str| -> String {
            if level == "grid" {
                return code.to_string();
            }
            names
                .get(&format!("{code:0<12}"))
                .cloned()
                .unwrap_or_default()
        };
        let now_ms = now.timestamp_millis();
        let mut total = Tally::default();
        let mut levels = vec![];
        for (level, _, _) in LEVELS {
            let mut by: BTreeMap<String, Tally> = BTreeMap::new();
            for t in &counts {
                let e = by
                    .entry(key(level, t.grid_code.as_deref(), &t.region_code))
                    .or_default();
                e.due += t.n;
                match t.status.as_str() {
                    "inspected" => e.inspected += t.n,
                    "unreachable" => e.unreachable += t.n,
                    _ => {}
                }
            }
            for h in &hazards {
                let e = by
                    .entry(key(level, h.grid_code.as_deref(), &h.region_code))
                    .or_default();
                add_hazard(e, h, now_ms);
            }
            if level == "county" {
                for t in by.values() {
                    total.add(t);
                }
            }
            levels.push(Level {
                level,
                rows: by
                    .into_iter()
                    .map(|(code, t)| {
                        let name = name_of(level, &code);
                        row(code, name, t)
                    })
                    .collect(),
            });
        }
        Ok(Progress {
            campaign: c.id,
            region: prefix.clone(),
            department,
            total: row(prefix.clone(), name_of("region", &prefix), total),
            levels,
        })
    }

    /// The places sheet: one row per task with its inspection's answers.
    async fn places_sheet(
        &self,
        c: &CampaignRow,
        prefix: &str,
    ) -> AppResult<(Vec<String>, Vec<Vec<Cell>>)> {
        let checklist = checklist_of(c)?;
        let tasks: Vec<TaskRow> = self.store.campaign_tasks(c.id, prefix).await?;
        let inspections: HashMap<Uuid, InspectionRow> = self
            .store
            .campaign_inspections(c.id, prefix)
            .await?
            .into_iter()
            .map(|i| (i.place_id, i))
            .collect();
        let mut hazards: HashMap<Uuid, i64> = HashMap::new();
        for h in self.store.campaign_hazards(c.id, prefix).await? {
            *hazards.entry(h.place_id).or_default() += 1;
        }
        let mut header: Vec<String> = [
            "网格 grid",
            "村社区 village",
            "点位 place",
            "类别 kind",
            "地址 address",
            "状态 status",
            "检查结果 outcome",
            "检查时间 inspected at",
        ]
        .map(str::to_string)
        .to_vec();
        for item in &checklist.items {
            header.push(item.text_zh.clone());
        }
        header.push("隐患数 hazards".into());
        let names = self.region_names();
        let mut rows = vec![];
        for t in tasks {
            let ins = inspections.get(&t.place_id);
            let mut r = vec![
                Cell::Text(t.grid_code.clone().unwrap_or_default()),
                Cell::Text(
                    names
                        .get(&t.region_code)
                        .cloned()
                        .unwrap_or(t.region_code.clone()),
                ),
                Cell::Text(t.place_name.clone()),
                Cell::Text(t.place_kind.clone()),
                Cell::Text(t.address.clone()),
                Cell::Text(t.status.clone()),
                Cell::Text(ins.map(|i| i.outcome.clone()).unwrap_or_default()),
                Cell::Text(
                    ins.map(|i| {
                        crate::app::time::local_time(safegrid_store::from_ms(i.submitted_at))
                    })
                    .unwrap_or_default(),
                ),
            ];
            let answers: BTreeMap<String, Value> = ins
                .and_then(|i| serde_json::from_str(&i.answers).ok())
                .unwrap_or_default();
            for item in &checklist.items {
                r.push(match answers.get(&item.key) {
                    Some(Value::Bool(true)) => Cell::Text("是".into()),
                    Some(Value::Bool(false)) => Cell::Text("否".into()),
                    Some(Value::Number(n)) => Cell::Number(n.as_f64().unwrap_or(0.0)),
                    Some(Value::String(s)) => Cell::Text(s.clone()),
                    _ => Cell::Text(String::new()),
                });
            }
            r.push(Cell::Number(
                hazards.get(&t.place_id).copied().unwrap_or(0) as f64
            ));
            rows.push(r);
        }
        Ok((header, rows))
    }

    /// The campaign's 表格 as an XLSX workbook.
    pub async fn campaign_xlsx(
        &self,
        user: &User,
        id: Uuid,
        region: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<Vec<u8>> {
        let p = self.campaign_progress(user, id, region, None, now).await?;
        let c = self.visible_campaign(user, id).await?;
        let (header, rows) = self.places_sheet(&c, &p.region).await?;
        let audit = safegrid_store::AuditEntry::new(
            Some(user.id),
            user.username.clone(),
            "campaign.export",
            "campaign",
            Some(c.id.to_string()),
            serde_json::json!({"format": "xlsx", "region": p.region}),
        );
        self.store.audit(&audit).await?;
        write_xlsx(&c, &p, &header, &rows).map_err(AppError::internal)
    }

    /// The campaign's places sheet as CSV with a UTF-8 BOM.
    pub async fn campaign_csv(
        &self,
        user: &User,
        id: Uuid,
        region: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<Vec<u8>> {
        let p = self.campaign_progress(user, id, region, None, now).await?;
        let c = self.visible_campaign(user, id).await?;
        let (header, rows) = self.places_sheet(&c, &p.region).await?;
        let audit = safegrid_store::AuditEntry::new(
            Some(user.id),
            user.username.clone(),
            "campaign.export",
            "campaign",
            Some(c.id.to_string()),
            serde_json::json!({"format": "csv", "region": p.region}),
        );
        self.store.audit(&audit).await?;
        let mut out = "\u{FEFF}".as_bytes().to_vec();
        {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(&header).map_err(AppError::internal)?;
            for r in &rows {
                w.write_record(r.iter().map(Cell::text))
                    .map_err(AppError::internal)?;
            }
            w.flush().map_err(AppError::internal)?;
        }
        Ok(out)
    }
}

fn add_hazard(e: &mut Tally, h: &HazardRow, now_ms: i64) {
    e.hazards += 1;
    let (on_time, late) = rectification(h.handled_at, h.due_at, now_ms);
    e.rectified_on_time += i64::from(on_time);
    e.overdue += i64::from(late);
    e.closed += i64::from(h.case_status == "closed");
}

/// A cell of a sheet.
#[derive(Debug, Clone)]
pub enum Cell {
    Text(String),
    Number(f64),
}

impl Cell {
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Number(n) if n.fract() == 0.0 => format!("{n:.0}"),
            Cell::Number(n) => n.to_string(),
        }
    }
}

/// Header of the level sheets.
pub const LEVEL_HEADER: [&str; 11] = [
    "代码 code",
    "名称 name",
    "应查 due",
    "已查 inspected",
    "未能检查 unreachable",
    "待查 pending",
    "覆盖率% coverage",
    "隐患数 hazards",
    "按期整改 rectified on time",
    "逾期 overdue",
    "已销号 closed",
];

fn write_xlsx(
    c: &CampaignRow,
    p: &Progress,
    header: &[String],
    rows: &[Vec<Cell>],
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    for (level, zh, en) in LEVELS {
        let ws = wb.add_worksheet();
        ws.set_name(format!("{zh} {en}"))?;
        ws.write_string(0, 0, &c.title)?;
        for (i, h) in LEVEL_HEADER.iter().enumerate() {
            ws.write_string_with_format(1, i as u16, *h, &bold)?;
        }
        let lv = p.levels.iter().find(|l| l.level == level);
        for (r, x) in (2u32..).zip(lv.map(|l| l.rows.as_slice()).unwrap_or_default()) {
            ws.write_string(r, 0, &x.code)?;
            ws.write_string(r, 1, &x.name)?;
            let t = &x.tally;
            let nums = [
                t.due as f64,
                t.inspected as f64,
                t.unreachable as f64,
                x.pending as f64,
                x.coverage_percent,
                t.hazards as f64,
                t.rectified_on_time as f64,
                t.overdue as f64,
                t.closed as f64,
            ];
            for (i, n) in nums.iter().enumerate() {
                ws.write_number(r, 2 + i as u16, *n)?;
            }
        }
        ws.set_column_width(1, 24)?;
    }
    let ws = wb.add_worksheet();
    ws.set_name("点位 Places")?;
    for (i, h) in header.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, h, &bold)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (i, cell) in row.iter().enumerate() {
            match cell {
                Cell::Text(s) => ws.write_string(r as u32 + 1, i as u16, s)?,
                Cell::Number(n) => ws.write_number(r as u32 + 1, i as u16, *n)?,
            };
        }
    }
    wb.save_to_buffer()
}
