//! Screening campaigns (专项行动) in storage: the campaign row, the tasks its publishing gives
//! every place of the covered kinds in its territory (in the publishing transaction), the
//! inspections (one per task, keyed by the phone's own id so a retried upload finds its first
//! copy), their photos, and the link from an inspection's item to the hazard case it opened
//! (a [`SideWrite`] of the case's registering transaction). Places are read here with plain SQL
//! on the shared `places` table.

use crate::audit::{AuditEntry, append_audit};
use crate::disputes::{SideWrite, Val, bind_vals};
use crate::{Result, Store, StoreError, unique_to_conflict, with_pool};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use uuid::Uuid;

/// A campaign as stored; the checklist and place kinds are JSON text the app parses.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CampaignRow {
    pub id: Uuid,
    pub title: String,
    pub kind: String,
    pub region_code: String,
    pub place_kinds: String,
    pub starts_on: String,
    pub ends_on: String,
    pub status: String,
    pub checklist: String,
    pub department_code: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: i64,
    pub updated_at: i64,
    pub published_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub copied_from: Option<Uuid>,
    pub version: i64,
}

const CAMPAIGN_COLS: &str = "id, title, kind, region_code, place_kinds, starts_on, ends_on, status, checklist, department_code, created_by, created_at, updated_at, published_at, closed_at, copied_from, version";

/// A task with what a grid worker needs to find the place.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TaskRow {
    pub county_code: String,
    pub campaign_id: Uuid,
    pub place_id: Uuid,
    pub grid_code: Option<String>,
    pub region_code: String,
    pub status: String,
    pub inspection_id: Option<Uuid>,
    pub visited_at: Option<i64>,
    pub campaign_title: String,
    pub ends_on: String,
    pub place_kind: String,
    pub place_name: String,
    pub address: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

const TASK_SELECT: &str = "SELECT t.county_code, t.campaign_id, t.place_id, t.grid_code, t.region_code, t.status, t.inspection_id, t.visited_at,
    c.title AS campaign_title, c.ends_on, p.kind AS place_kind, p.name AS place_name, p.address, p.lat, p.lon
  FROM campaign_tasks t JOIN campaigns c ON c.id = t.campaign_id
  JOIN places p ON p.county_code = t.county_code AND p.id = t.place_id";

/// A stored inspection.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct InspectionRow {
    pub county_code: String,
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub place_id: Uuid,
    pub grid_code: Option<String>,
    pub region_code: String,
    pub outcome: String,
    pub answers: String,
    pub note: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub submitted_by: Uuid,
    pub submitted_at: i64,
}

const INSPECTION_COLS: &str = "county_code, id, campaign_id, place_id, grid_code, region_code, outcome, answers, note, lat, lon, submitted_by, submitted_at";

/// A re-encoded inspection photo.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InspectionPhoto {
    pub name: String,
    pub width: i32,
    pub height: i32,
    pub image: Vec<u8>,
    pub thumb: Vec<u8>,
}

/// A hazard case opened by an inspection, with what the tables count of it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct HazardRow {
    pub county_code: String,
    pub inspection_id: Uuid,
    pub item_key: String,
    pub case_id: Uuid,
    pub place_id: Uuid,
    pub grid_code: Option<String>,
    pub region_code: String,
    pub severity: String,
    pub case_status: String,
    pub department: Option<String>,
    pub due_at: Option<i64>,
    pub handled_at: Option<i64>,
    pub closed_at: Option<i64>,
}

/// Tasks of one grid and village by state (the finest row of the progress tables).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct TaskCount {
    pub grid_code: Option<String>,
    pub region_code: String,
    pub status: String,
    pub n: i64,
}

/// A place of the register, as campaigns read it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct PlaceRef {
    pub county_code: String,
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub address: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub grid_code: Option<String>,
    pub region_code: String,
    pub status: String,
}

/// What storing an inspection did.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    /// Stored now.
    New,
    /// This id was stored before (a retried upload): the first copy stands.
    Existing(Box<InspectionRow>),
}

/// The inclusive range of 12-digit codes under a significant prefix.
fn range(prefix: &str) -> (String, String) {
    (format!("{prefix:0<12}"), format!("{prefix:9<12}"))
}

/// The link from an inspection's item to the hazard case it opened, written in the case's
/// registering transaction (so a case and its link are stored together).
#[allow(clippy::too_many_arguments)]
pub fn link_hazard(
    county: &str,
    inspection: Uuid,
    item_key: &str,
    case_id: Uuid,
    campaign: Uuid,
    place: Uuid,
    grid: Option<&str>,
    region: &str,
    severity: &str,
) -> SideWrite {
    SideWrite {
        sql: "INSERT INTO campaign_hazards (county_code, inspection_id, item_key, case_id, campaign_id, place_id, grid_code, region_code, severity)
              VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args: vec![
            Val::Text(Some(county.into())),
            Val::Uuid(Some(inspection)),
            Val::Text(Some(item_key.into())),
            Val::Uuid(Some(case_id)),
            Val::Uuid(Some(campaign)),
            Val::Uuid(Some(place)),
            Val::Text(grid.map(Into::into)),
            Val::Text(Some(region.into())),
            Val::Text(Some(severity.into())),
        ],
    }
}

impl Store {
    /// Stores a new campaign, with its audit entry in the same transaction.
    pub async fn insert_campaign(&self, c: &CampaignRow, audit: Option<&AuditEntry>) -> Result<()> {
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(
            "INSERT INTO campaigns (id, title, kind, region_code, place_kinds, starts_on, ends_on, status, checklist, department_code, created_by, created_at, updated_at, published_at, closed_at, copied_from, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)")
            .bind(c.id).bind(&c.title).bind(&c.kind).bind(&c.region_code).bind(&c.place_kinds)
            .bind(&c.starts_on).bind(&c.ends_on).bind(&c.status).bind(&c.checklist)
            .bind(&c.department_code).bind(c.created_by).bind(c.created_at).bind(c.updated_at)
            .bind(c.published_at).bind(c.closed_at).bind(c.copied_from).bind(c.version)
            .execute(&mut *tx).await.map_err(|e| unique_to_conflict(e, "campaign"))?;
            if let Some(a) = audit {
                append_audit!(tx, a, c.updated_at)?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn campaign(&self, id: Uuid) -> Result<CampaignRow> {
        let sql = format!("SELECT {CAMPAIGN_COLS} FROM campaigns WHERE id = $1");
        let row: Option<CampaignRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// Campaigns whose territory lies under one of `prefixes` or contains one of them (a county's
    /// campaign is seen by its townships' staff), newest first; every campaign for `None`.
    pub async fn campaigns(&self, prefixes: Option<&[String]>) -> Result<Vec<CampaignRow>> {
        let sql = format!("SELECT {CAMPAIGN_COLS} FROM campaigns ORDER BY created_at DESC, id");
        let rows: Vec<CampaignRow> =
            with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql)).fetch_all(p).await)?;
        let Some(prefixes) = prefixes else {
            return Ok(rows);
        };
        Ok(rows
            .into_iter()
            .filter(|c| {
                let short = c.region_code.trim_end_matches("000");
                prefixes
                    .iter()
                    .any(|p| short.starts_with(p.as_str()) || p.starts_with(short))
            })
            .collect())
    }

    /// Replaces a campaign's row if it is still at `version` (compare-and-swap); the new row
    /// carries `version + 1`.
    /// With its audit entry in the same transaction.
    pub async fn update_campaign(
        &self,
        c: &CampaignRow,
        version: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<()> {
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
            "UPDATE campaigns SET title = $2, kind = $3, region_code = $4, place_kinds = $5, starts_on = $6, ends_on = $7,
                status = $8, checklist = $9, department_code = $10, updated_at = $11, published_at = $12, closed_at = $13,
                version = $14 WHERE id = $1 AND version = $15")
            .bind(c.id).bind(&c.title).bind(&c.kind).bind(&c.region_code).bind(&c.place_kinds)
            .bind(&c.starts_on).bind(&c.ends_on).bind(&c.status).bind(&c.checklist).bind(&c.department_code)
            .bind(c.updated_at).bind(c.published_at).bind(c.closed_at).bind(version + 1).bind(version)
            .execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Err(StoreError::Conflict(format!(
                    "campaign {} changed since version {version}; reload it",
                    c.id
                )));
            }
            if let Some(a) = audit {
                append_audit!(tx, a, c.updated_at)?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Publishes: the row (compare-and-swap on `version`) and one task per active place of
    /// `kinds` (all kinds when empty) in the territory, in one transaction. Returns the tasks made.
    pub async fn publish_campaign(
        &self,
        c: &CampaignRow,
        version: i64,
        territory_prefix: &str,
        kinds: &[String],
        audit: Option<AuditEntry>,
    ) -> Result<u64> {
        let (lo, hi) = range(territory_prefix);
        let kind_filter = if kinds.is_empty() {
            String::new()
        } else {
            let marks: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 4)).collect();
            format!(" AND kind IN ({})", marks.join(", "))
        };
        let insert = format!(
            "INSERT INTO campaign_tasks (county_code, campaign_id, place_id, grid_code, region_code, status)
             SELECT county_code, $1, id, grid_code, region_code, 'due' FROM places
             WHERE region_code BETWEEN $2 AND $3 AND status = 'active'{kind_filter}"
        );
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "UPDATE campaigns SET status = $2, updated_at = $3, published_at = $4, version = $5 WHERE id = $1 AND version = $6")
                .bind(c.id).bind(&c.status).bind(c.updated_at).bind(c.published_at).bind(version + 1).bind(version)
                .execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Err(StoreError::Conflict(format!("campaign {} changed since version {version}; reload it", c.id)));
            }
            let mut q = sqlx::query(AssertSqlSafe(insert)).bind(c.id).bind(lo).bind(hi);
            for k in kinds {
                q = q.bind(k);
            }
            let made = q.execute(&mut *tx).await?.rows_affected();
            if let Some(mut a) = audit.clone() {
                a.detail["tasks"] = serde_json::json!(made);
                append_audit!(tx, &a, c.updated_at)?;
            }
            tx.commit().await?;
            Ok(made)
        })
    }

    /// A place of the register by id, looked for in the given counties.
    pub async fn place_ref(&self, counties: &[String], id: Uuid) -> Result<PlaceRef> {
        for county in counties {
            let row: Option<PlaceRef> = with_pool!(self, p => sqlx::query_as(
                "SELECT county_code, id, kind, name, address, lat, lon, grid_code, region_code, status FROM places WHERE county_code = $1 AND id = $2")
                .bind(county).bind(id).fetch_optional(p).await)?;
            if let Some(r) = row {
                return Ok(r);
            }
        }
        Err(StoreError::NotFound)
    }

    /// The task of `place` in `campaign`.
    pub async fn task(&self, county: &str, campaign: Uuid, place: Uuid) -> Result<TaskRow> {
        let sql = format!(
            "{TASK_SELECT} WHERE t.county_code = $1 AND t.campaign_id = $2 AND t.place_id = $3"
        );
        let row: Option<TaskRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(county).bind(campaign).bind(place).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// Due tasks of published campaigns in these grids.
    pub async fn due_tasks(&self, grids: &[String]) -> Result<Vec<TaskRow>> {
        let mut out = vec![];
        for g in grids {
            let county = g.get(..6).unwrap_or_default();
            let sql = format!(
                "{TASK_SELECT} WHERE t.county_code = $1 AND t.grid_code = $2 AND t.status = 'due' AND c.status = 'published'
                 ORDER BY c.ends_on, p.name"
            );
            let rows: Vec<TaskRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql))
                .bind(county).bind(g).fetch_all(p).await)?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// Every task of a campaign under a region prefix (its table's places sheet).
    pub async fn campaign_tasks(&self, campaign: Uuid, prefix: &str) -> Result<Vec<TaskRow>> {
        let (lo, hi) = range(prefix);
        let sql = format!(
            "{TASK_SELECT} WHERE t.campaign_id = $1 AND t.region_code BETWEEN $2 AND $3 ORDER BY t.region_code, t.grid_code, p.name"
        );
        let rows: Vec<TaskRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(campaign).bind(lo).bind(hi).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Tasks of a campaign by grid, village and state, under a region prefix.
    pub async fn task_counts(&self, campaign: Uuid, prefix: &str) -> Result<Vec<TaskCount>> {
        let (lo, hi) = range(prefix);
        let rows: Vec<TaskCount> = with_pool!(self, p => sqlx::query_as(
            "SELECT grid_code, region_code, status, COUNT(*) AS n FROM campaign_tasks
             WHERE campaign_id = $1 AND region_code BETWEEN $2 AND $3 GROUP BY grid_code, region_code, status")
            .bind(campaign).bind(lo).bind(hi).fetch_all(p).await)?;
        Ok(rows)
    }

    /// The hazard cases a campaign's inspections opened under a region prefix, with their
    /// cases' state and clocks.
    pub async fn campaign_hazards(&self, campaign: Uuid, prefix: &str) -> Result<Vec<HazardRow>> {
        let (lo, hi) = range(prefix);
        let rows: Vec<HazardRow> = with_pool!(self, p => sqlx::query_as(
            "SELECT h.county_code, h.inspection_id, h.item_key, h.case_id, h.place_id, h.grid_code, h.region_code, h.severity,
                    c.status AS case_status, c.department, c.due_at, c.handled_at, c.closed_at
             FROM campaign_hazards h JOIN cases c ON c.county_code = h.county_code AND c.id = h.case_id
             WHERE h.campaign_id = $1 AND h.region_code BETWEEN $2 AND $3 ORDER BY h.region_code, h.case_id")
            .bind(campaign).bind(lo).bind(hi).fetch_all(p).await)?;
        Ok(rows)
    }

    /// The hazards one inspection opened.
    pub async fn inspection_hazards(
        &self,
        county: &str,
        inspection: Uuid,
    ) -> Result<Vec<HazardRow>> {
        let rows: Vec<HazardRow> = with_pool!(self, p => sqlx::query_as(
            "SELECT h.county_code, h.inspection_id, h.item_key, h.case_id, h.place_id, h.grid_code, h.region_code, h.severity,
                    c.status AS case_status, c.department, c.due_at, c.handled_at, c.closed_at
             FROM campaign_hazards h JOIN cases c ON c.county_code = h.county_code AND c.id = h.case_id
             WHERE h.county_code = $1 AND h.inspection_id = $2 ORDER BY h.item_key")
            .bind(county).bind(inspection).fetch_all(p).await)?;
        Ok(rows)
    }

    /// The hazards found at one place (its history).
    pub async fn place_hazards(&self, county: &str, place: Uuid) -> Result<Vec<HazardRow>> {
        let rows: Vec<HazardRow> = with_pool!(self, p => sqlx::query_as(
            "SELECT h.county_code, h.inspection_id, h.item_key, h.case_id, h.place_id, h.grid_code, h.region_code, h.severity,
                    c.status AS case_status, c.department, c.due_at, c.handled_at, c.closed_at
             FROM campaign_hazards h JOIN cases c ON c.county_code = h.county_code AND c.id = h.case_id
             WHERE h.county_code = $1 AND h.place_id = $2 ORDER BY c.created_at DESC")
            .bind(county).bind(place).fetch_all(p).await)?;
        Ok(rows)
    }

    /// An inspection by its id, looked for in the given counties.
    pub async fn inspection(&self, counties: &[String], id: Uuid) -> Result<InspectionRow> {
        for county in counties {
            let sql = format!(
                "SELECT {INSPECTION_COLS} FROM inspections WHERE county_code = $1 AND id = $2"
            );
            let row: Option<InspectionRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql))
                .bind(county).bind(id).fetch_optional(p).await)?;
            if let Some(r) = row {
                return Ok(r);
            }
        }
        Err(StoreError::NotFound)
    }

    /// Inspections of one place, newest first (its history).
    pub async fn place_inspections(&self, county: &str, place: Uuid) -> Result<Vec<InspectionRow>> {
        let sql = format!(
            "SELECT {INSPECTION_COLS} FROM inspections WHERE county_code = $1 AND place_id = $2 ORDER BY submitted_at DESC"
        );
        let rows: Vec<InspectionRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(county).bind(place).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Answers of a campaign's inspections under a region prefix, by place.
    pub async fn campaign_inspections(
        &self,
        campaign: Uuid,
        prefix: &str,
    ) -> Result<Vec<InspectionRow>> {
        let (lo, hi) = range(prefix);
        let sql = format!(
            "SELECT {INSPECTION_COLS} FROM inspections WHERE campaign_id = $1 AND region_code BETWEEN $2 AND $3"
        );
        let rows: Vec<InspectionRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(campaign).bind(lo).bind(hi).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Stores an inspection, its photos and its task's new state in one transaction. The same
    /// id again answers [`Stored::Existing`] with the first copy; another id for a task already
    /// visited answers `Conflict`; a task no longer due (its campaign closed) likewise.
    pub async fn insert_inspection(
        &self,
        row: &InspectionRow,
        task_status: &str,
        photos: &[InspectionPhoto],
        audit: Option<&AuditEntry>,
    ) -> Result<Stored> {
        let counties = [row.county_code.clone()];
        match self.inspection(&counties, row.id).await {
            Ok(first) => return Ok(Stored::Existing(Box::new(first))),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
        let sql = format!(
            "INSERT INTO inspections ({INSPECTION_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        );
        let stored = with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "UPDATE campaign_tasks SET status = $4, inspection_id = $5, visited_at = $6
                 WHERE county_code = $1 AND campaign_id = $2 AND place_id = $3 AND status = 'due'")
                .bind(&row.county_code).bind(row.campaign_id).bind(row.place_id).bind(task_status)
                .bind(row.id).bind(row.submitted_at)
                .execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Err(StoreError::Conflict("this place was already inspected in this campaign".into()));
            }
            let r = sqlx::query(AssertSqlSafe(sql))
                .bind(&row.county_code).bind(row.id).bind(row.campaign_id).bind(row.place_id)
                .bind(&row.grid_code).bind(&row.region_code).bind(&row.outcome).bind(&row.answers)
                .bind(&row.note).bind(row.lat).bind(row.lon).bind(row.submitted_by).bind(row.submitted_at)
                .execute(&mut *tx).await;
            if let Err(e) = r {
                return Err(unique_to_conflict(e, "inspection"));
            }
            for ph in photos {
                sqlx::query(
                    "INSERT INTO inspection_photos (county_code, inspection_id, name, width, height, image, thumb)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(&row.county_code).bind(row.id).bind(&ph.name).bind(ph.width).bind(ph.height)
                    .bind(&ph.image).bind(&ph.thumb)
                    .execute(&mut *tx).await.map_err(|e| unique_to_conflict(e, "photos"))?;
            }
            if let Some(a) = audit {
                append_audit!(tx, a, row.submitted_at)?;
            }
            tx.commit().await?;
            Ok(Stored::New)
        });
        match stored {
            // A retry racing its first copy: the first one won.
            Err(StoreError::Conflict(_)) => match self.inspection(&counties, row.id).await {
                Ok(first) => Ok(Stored::Existing(Box::new(first))),
                Err(_) => stored,
            },
            other => other,
        }
    }

    /// An inspection photo's bytes (the thumbnail when `thumb`).
    pub async fn inspection_photo(
        &self,
        county: &str,
        inspection: Uuid,
        name: &str,
        thumb: bool,
    ) -> Result<Vec<u8>> {
        let sql = if thumb {
            "SELECT thumb FROM inspection_photos WHERE county_code = $1 AND inspection_id = $2 AND name = $3"
        } else {
            "SELECT image FROM inspection_photos WHERE county_code = $1 AND inspection_id = $2 AND name = $3"
        };
        let row: Option<(Vec<u8>,)> = with_pool!(self, p => sqlx::query_as(sql)
            .bind(county).bind(inspection).bind(name).fetch_optional(p).await)?;
        row.map(|r| r.0).ok_or(StoreError::NotFound)
    }

    /// Names of an inspection's photos.
    /// An inspection's photos whole, by name (to go with the hazard cases it opens).
    pub async fn inspection_photos(
        &self,
        county: &str,
        inspection: Uuid,
    ) -> Result<Vec<InspectionPhoto>> {
        let rows: Vec<InspectionPhoto> = with_pool!(self, p => sqlx::query_as(
            "SELECT name, width, height, image, thumb FROM inspection_photos WHERE county_code = $1 AND inspection_id = $2 ORDER BY name")
            .bind(county).bind(inspection).fetch_all(p).await)?;
        Ok(rows)
    }

    pub async fn inspection_photo_names(
        &self,
        county: &str,
        inspection: Uuid,
    ) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = with_pool!(self, p => sqlx::query_as(
            "SELECT name FROM inspection_photos WHERE county_code = $1 AND inspection_id = $2 ORDER BY name")
            .bind(county).bind(inspection).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Runs side writes in one transaction of their own (bulk history of the demo).
    pub async fn run_side_writes(&self, writes: &[SideWrite]) -> Result<()> {
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            for w in writes {
                bind_vals!(sqlx::query(w.sql), &w.args).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Rectified hazard cases (awaiting re-inspection) of campaigns in these grids: the
    /// re-inspections (复查) on a grid worker's list.
    pub async fn reinspections(&self, grids: &[String]) -> Result<Vec<HazardRow>> {
        let mut out = vec![];
        for g in grids {
            let county = g.get(..6).unwrap_or_default();
            let rows: Vec<HazardRow> = with_pool!(self, p => sqlx::query_as(
                "SELECT h.county_code, h.inspection_id, h.item_key, h.case_id, h.place_id, h.grid_code, h.region_code, h.severity,
                        c.status AS case_status, c.department, c.due_at, c.handled_at, c.closed_at
                 FROM campaign_hazards h JOIN cases c ON c.county_code = h.county_code AND c.id = h.case_id
                 WHERE h.county_code = $1 AND h.grid_code = $2 AND c.status = 'rectified'")
                .bind(county).bind(g).fetch_all(p).await)?;
            out.extend(rows);
        }
        Ok(out)
    }
}
