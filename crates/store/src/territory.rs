//! Territory (regions, grids), departments, the category catalog with its deadlines, and the
//! official calendar. Imports replace or add rows inside one transaction: all or nothing.

use crate::time::to_ms;
use crate::{Result, Store, StoreError, unique_to_conflict, with_pool};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;

/// An administrative region (行政区划) on one of five levels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Region {
    pub code: String,
    pub parent_code: Option<String>,
    pub level: i16,
    pub name: String,
    /// GeoJSON geometry (WGS84) when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geometry: Option<String>,
}

/// A grid (网格) under a village or community.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Grid {
    pub county_code: String,
    pub code: String,
    pub village_code: String,
    pub name: String,
    /// GeoJSON geometry (WGS84).
    pub geometry: String,
    pub households: i64,
    pub area_m2: f64,
}

/// A department (职能部门) cases are dispatched to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Department {
    pub code: String,
    pub kind: String,
    pub name_zh: String,
    pub name_en: String,
    pub region_code: String,
    pub active: bool,
}

/// A category of the catalog as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct CategoryRow {
    pub code: String,
    pub case_type: String,
    pub kind: String,
    pub class_code: String,
    pub class_zh: String,
    pub class_en: String,
    pub name_zh: String,
    pub name_en: String,
    pub department_kind: String,
    /// JSON array of keywords.
    pub keywords: String,
    pub icon: String,
    /// JSON array of extra attributes (Open311 service definition).
    pub attributes: String,
    pub active: bool,
}

const REGION_COLS: &str = "code, parent_code, level, name, geometry";
const GRID_COLS: &str = "county_code, code, village_code, name, geometry, households, area_m2";

impl Store {
    /// Inserts or updates regions in one transaction. Parents must come before children or exist.
    pub async fn upsert_regions(&self, regions: &[Region]) -> Result<usize> {
        let now = to_ms(Utc::now());
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            for r in regions {
                sqlx::query("INSERT INTO regions (code, parent_code, level, name, geometry, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
                    ON CONFLICT (code) DO UPDATE SET parent_code = excluded.parent_code, level = excluded.level, name = excluded.name,
                    geometry = COALESCE(excluded.geometry, regions.geometry), updated_at = excluded.updated_at")
                    .bind(&r.code).bind(&r.parent_code).bind(r.level).bind(&r.name).bind(&r.geometry).bind(now)
                    .execute(&mut *tx).await.map_err(|e| unique_to_conflict(e, "parent_code"))?;
            }
            tx.commit().await?;
        });
        Ok(regions.len())
    }

    pub async fn region(&self, code: &str) -> Result<Region> {
        let sql = format!("SELECT {REGION_COLS} FROM regions WHERE code = $1");
        let r: Option<Region> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(code).fetch_optional(p).await)?;
        r.ok_or(StoreError::NotFound)
    }

    /// Regions filtered by parent and/or level, without geometry unless asked.
    pub async fn regions(
        &self,
        parent: Option<&str>,
        level: Option<i16>,
        with_geometry: bool,
    ) -> Result<Vec<Region>> {
        let geom = if with_geometry {
            "geometry"
        } else {
            "NULL AS geometry"
        };
        let sql = format!(
            "SELECT code, parent_code, level, name, {geom} FROM regions
             WHERE ($1 IS NULL OR parent_code = $1) AND ($2 IS NULL OR level = $2) ORDER BY code"
        );
        let v: Vec<Region> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(parent).bind(level).fetch_all(p).await)?;
        Ok(v)
    }

    pub async fn region_count(&self) -> Result<i64> {
        let (n,): (i64,) = with_pool!(self, p => sqlx::query_as("SELECT COUNT(*) FROM regions").fetch_one(p).await)?;
        Ok(n)
    }

    /// Inserts grids (or replaces those with the same code) in one transaction.
    pub async fn upsert_grids(&self, grids: &[Grid]) -> Result<usize> {
        let now = to_ms(Utc::now());
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            for g in grids {
                sqlx::query("INSERT INTO grids (county_code, code, village_code, name, geometry, households, area_m2, updated_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                    ON CONFLICT (county_code, code) DO UPDATE SET village_code = excluded.village_code, name = excluded.name,
                    geometry = excluded.geometry, households = excluded.households, area_m2 = excluded.area_m2, updated_at = excluded.updated_at")
                    .bind(&g.county_code).bind(&g.code).bind(&g.village_code).bind(&g.name).bind(&g.geometry)
                    .bind(g.households).bind(g.area_m2).bind(now)
                    .execute(&mut *tx).await.map_err(|e| unique_to_conflict(e, "village_code"))?;
            }
            tx.commit().await?;
        });
        Ok(grids.len())
    }

    pub async fn grid(&self, code: &str) -> Result<Grid> {
        let sql = format!("SELECT {GRID_COLS} FROM grids WHERE code = $1");
        let g: Option<Grid> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(code).fetch_optional(p).await)?;
        g.ok_or(StoreError::NotFound)
    }

    /// Grids whose code starts with `prefix` (a region's significant code), all when `None`.
    pub async fn grids(&self, prefix: Option<&str>, limit: i64, offset: i64) -> Result<Vec<Grid>> {
        let sql = format!(
            "SELECT {GRID_COLS} FROM grids WHERE ($1 IS NULL OR code LIKE $1) ORDER BY code LIMIT $2 OFFSET $3"
        );
        let like = prefix.map(|p| format!("{p}%"));
        let v: Vec<Grid> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(&like).bind(limit).bind(offset).fetch_all(p).await)?;
        Ok(v)
    }

    /// Grid codes and stored geometries after `after` in code order, `limit` at a time (keyset
    /// paging: reading a province's 304,000 grids stays linear, unlike OFFSET).
    pub async fn grid_shapes_after(
        &self,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(String, String)>> {
        let v: Vec<(String, String)> = with_pool!(self, p => sqlx::query_as(
            "SELECT code, geometry FROM grids WHERE code > $1 ORDER BY code LIMIT $2")
            .bind(after).bind(limit).fetch_all(p).await)?;
        Ok(v)
    }

    pub async fn grid_count(&self) -> Result<i64> {
        let (n,): (i64,) =
            with_pool!(self, p => sqlx::query_as("SELECT COUNT(*) FROM grids").fetch_one(p).await)?;
        Ok(n)
    }

    pub async fn upsert_departments(&self, depts: &[Department]) -> Result<()> {
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            for d in depts {
                sqlx::query("INSERT INTO departments (code, kind, name_zh, name_en, region_code, active) VALUES ($1, $2, $3, $4, $5, $6)
                    ON CONFLICT (code) DO UPDATE SET kind = excluded.kind, name_zh = excluded.name_zh, name_en = excluded.name_en,
                    region_code = excluded.region_code, active = excluded.active")
                    .bind(&d.code).bind(&d.kind).bind(&d.name_zh).bind(&d.name_en).bind(&d.region_code).bind(d.active)
                    .execute(&mut *tx).await.map_err(|e| unique_to_conflict(e, "region_code"))?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn departments(&self) -> Result<Vec<Department>> {
        let v: Vec<Department> = with_pool!(self, p => sqlx::query_as("SELECT code, kind, name_zh, name_en, region_code, active FROM departments ORDER BY code").fetch_all(p).await)?;
        Ok(v)
    }

    pub async fn department(&self, code: &str) -> Result<Department> {
        let d: Option<Department> = with_pool!(self, p => sqlx::query_as("SELECT code, kind, name_zh, name_en, region_code, active FROM departments WHERE code = $1").bind(code).fetch_optional(p).await)?;
        d.ok_or(StoreError::NotFound)
    }

    /// Inserts or updates categories with their limits `(category, urgency, stage, limit)`.
    pub async fn upsert_categories(
        &self,
        cats: &[CategoryRow],
        limits: &[(String, String, String, String)],
    ) -> Result<()> {
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            for c in cats {
                sqlx::query("INSERT INTO categories (code, case_type, kind, class_code, class_zh, class_en, name_zh, name_en, department_kind, keywords, icon, attributes, active)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                    ON CONFLICT (code) DO UPDATE SET case_type = excluded.case_type, kind = excluded.kind, class_code = excluded.class_code,
                    class_zh = excluded.class_zh, class_en = excluded.class_en, name_zh = excluded.name_zh, name_en = excluded.name_en,
                    department_kind = excluded.department_kind, keywords = excluded.keywords, icon = excluded.icon,
                    attributes = excluded.attributes, active = excluded.active")
                    .bind(&c.code).bind(&c.case_type).bind(&c.kind).bind(&c.class_code).bind(&c.class_zh).bind(&c.class_en)
                    .bind(&c.name_zh).bind(&c.name_en).bind(&c.department_kind).bind(&c.keywords).bind(&c.icon)
                    .bind(&c.attributes).bind(c.active)
                    .execute(&mut *tx).await?;
            }
            for (cat, urg, stage, limit) in limits {
                sqlx::query("INSERT INTO deadline_limits (category_code, urgency, stage, limit_text) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (category_code, urgency, stage) DO UPDATE SET limit_text = excluded.limit_text")
                    .bind(cat).bind(urg).bind(stage).bind(limit)
                    .execute(&mut *tx).await.map_err(|e| unique_to_conflict(e, "category"))?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn categories(&self) -> Result<Vec<CategoryRow>> {
        let v: Vec<CategoryRow> = with_pool!(self, p => sqlx::query_as(
            "SELECT code, case_type, kind, class_code, class_zh, class_en, name_zh, name_en, department_kind, keywords, icon, attributes, active
             FROM categories ORDER BY code").fetch_all(p).await)?;
        Ok(v)
    }

    /// Every deadline limit: (category, urgency, stage, limit text).
    pub async fn deadline_limits(&self) -> Result<Vec<(String, String, String, String)>> {
        let v: Vec<(String, String, String, String)> = with_pool!(self, p => sqlx::query_as(
            "SELECT category_code, urgency, stage, limit_text FROM deadline_limits ORDER BY category_code, urgency, stage").fetch_all(p).await)?;
        Ok(v)
    }

    /// Loads calendar days (date, kind, name_zh, name_en), replacing the listed dates' entries and,
    /// for each year present, removing that year's entries not in the new list (a year is loaded whole).
    pub async fn replace_calendar(
        &self,
        days: &[(String, String, String, String)],
    ) -> Result<usize> {
        let mut years: Vec<&str> = days.iter().map(|d| &d.0[..4]).collect();
        years.sort_unstable();
        years.dedup();
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            for y in &years {
                sqlx::query("DELETE FROM calendar_days WHERE day LIKE $1").bind(format!("{y}-%")).execute(&mut *tx).await?;
            }
            for (day, kind, zh, en) in days {
                sqlx::query("INSERT INTO calendar_days (day, kind, name_zh, name_en) VALUES ($1, $2, $3, $4)")
                    .bind(day).bind(kind).bind(zh).bind(en).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(days.len())
    }

    pub async fn calendar_days(&self) -> Result<Vec<(String, String, String, String)>> {
        let v: Vec<(String, String, String, String)> = with_pool!(self, p => sqlx::query_as(
            "SELECT day, kind, name_zh, name_en FROM calendar_days ORDER BY day").fetch_all(p).await)?;
        Ok(v)
    }
}
