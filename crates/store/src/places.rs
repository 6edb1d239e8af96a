//! The register of places (场所/点位): writes of many places in one transaction with their audit
//! entries (a create, an import, the demo's load), version-checked edits, and filtered lists
//! keyset-paged by id. The caller checks and locates; this module stores what it is given.

use crate::audit::{AuditEntry, append_many, current_ip};
use crate::time::{from_ms, to_ms};
use crate::{Result, Store, StoreError, with_pool};
use chrono::{DateTime, Utc};
use safegrid_domain::codes::GeoPoint;
use safegrid_domain::place::{Place, PlaceKind, PlaceStatus};
use sqlx::AssertSqlSafe;
use uuid::Uuid;

const PLACE_COLS: &str = "county_code, id, kind, name, address, lat, lon, grid_code, region_code, \
     contact_name, contact_phone, tags, status, external_ref, created_by, created_at, updated_at, version";

/// Rows per multi-row insert: 18 binds a row stays far below both backends' bind limits.
const INSERT_BATCH: usize = 500;

#[derive(sqlx::FromRow)]
struct PlaceRow {
    county_code: String,
    id: Uuid,
    kind: String,
    name: String,
    address: String,
    lat: Option<f64>,
    lon: Option<f64>,
    grid_code: Option<String>,
    region_code: String,
    contact_name: Option<String>,
    contact_phone: Option<String>,
    tags: String,
    status: String,
    external_ref: Option<String>,
    created_by: Option<Uuid>,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl TryFrom<PlaceRow> for Place {
    type Error = StoreError;
    fn try_from(r: PlaceRow) -> Result<Place> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("place {}: {what}", r.id));
        let kind = PlaceKind::parse(&r.kind).map_err(|_| corrupt("kind"))?;
        let status = PlaceStatus::parse(&r.status).map_err(|_| corrupt("status"))?;
        let tags: Vec<String> = serde_json::from_str(&r.tags).map_err(|_| corrupt("tags"))?;
        let point = match (r.lon, r.lat) {
            (Some(lon), Some(lat)) => Some(GeoPoint::new(lon, lat).map_err(|_| corrupt("point"))?),
            _ => None,
        };
        Ok(Place {
            county_code: r.county_code,
            id: r.id,
            kind,
            name: r.name,
            address: r.address,
            point,
            grid_code: r.grid_code,
            region_code: r.region_code,
            contact_name: r.contact_name,
            contact_phone: r.contact_phone,
            tags,
            status,
            external_ref: r.external_ref,
            created_by: r.created_by,
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
            version: r.version,
        })
    }
}

fn tags_json(p: &Place) -> String {
    serde_json::Value::from(p.tags.clone()).to_string()
}

/// A unique key taken by a write of places: which one, so the caller can name the field.
fn place_conflict(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            let msg = d.message().to_string();
            if msg.contains("external_ref") {
                StoreError::Conflict(
                    "external_ref: another place of the county has this reference".into(),
                )
            } else {
                StoreError::Conflict("id: a place with this id already exists".into())
            }
        }
        _ => StoreError::Db(e),
    }
}

/// Filters of a list of places; empty fields match everything. The `scope_*` fields are the
/// viewer's territory (any of them), set by the application layer.
#[derive(Debug, Clone, Default)]
pub struct PlaceFilter {
    /// A significant prefix of a region code (2/4/6/9/12 digits): the region's subtree.
    pub region_prefix: Option<String>,
    pub grids: Vec<String>,
    pub kinds: Vec<PlaceKind>,
    pub statuses: Vec<PlaceStatus>,
    /// Text within the name or the address.
    pub text: Option<String>,
    pub ids: Vec<Uuid>,
    pub scope_regions: Vec<String>,
    pub scope_grids: Vec<String>,
    /// The viewer's scope is empty: match nothing.
    pub scope_nothing: bool,
    /// Keyset: only ids after this one (the last id of the previous page).
    pub after: Option<Uuid>,
    /// Page size (at most 10,000); 0 or less for every matching place.
    pub limit: i64,
}

enum Arg {
    S(String),
    U(Uuid),
}

macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::S(s) => q.bind(s.clone()),
                Arg::U(u) => q.bind(*u),
            };
        }
        q
    }};
}

/// A region prefix's range of 12-digit codes, and the county when the prefix names one: the
/// indexes lead with the county.
fn region_cond(prefix: &str, args: &mut Vec<Arg>) -> String {
    let mut push = |a: Arg| {
        args.push(a);
        format!("${}", args.len())
    };
    let lo = push(Arg::S(format!("{prefix:0<12}")));
    let hi = push(Arg::S(format!("{prefix:9<12}")));
    if prefix.len() >= 6 {
        let c = push(Arg::S(prefix[..6].to_string()));
        format!("(county_code = {c} AND region_code BETWEEN {lo} AND {hi})")
    } else {
        format!("(region_code BETWEEN {lo} AND {hi})")
    }
}

fn in_list(col: &str, vals: Vec<Arg>, args: &mut Vec<Arg>) -> String {
    let mut ps = Vec::with_capacity(vals.len());
    for v in vals {
        args.push(v);
        ps.push(format!("${}", args.len()));
    }
    format!("{col} IN ({})", ps.join(", "))
}

fn build_where(f: &PlaceFilter) -> (String, Vec<Arg>) {
    let mut w = vec!["1=1".to_string()];
    let mut args = vec![];
    if let Some(p) = f.region_prefix.as_deref().filter(|p| !p.is_empty()) {
        w.push(region_cond(p, &mut args));
    }
    if !f.grids.is_empty() {
        let v = f.grids.iter().map(|g| Arg::S(g.clone())).collect();
        w.push(in_list("grid_code", v, &mut args));
    }
    if !f.kinds.is_empty() {
        let v = f.kinds.iter().map(|k| Arg::S(k.as_str().into())).collect();
        w.push(in_list("kind", v, &mut args));
    }
    if !f.statuses.is_empty() {
        let v = f
            .statuses
            .iter()
            .map(|k| Arg::S(k.as_str().into()))
            .collect();
        w.push(in_list("status", v, &mut args));
    }
    if !f.ids.is_empty() {
        let v = f.ids.iter().map(|u| Arg::U(*u)).collect();
        w.push(in_list("id", v, &mut args));
    }
    if let Some(t) = f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        // The user's text matches literally: LIKE's wildcards are escaped.
        let esc = t
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        args.push(Arg::S(format!("%{esc}%")));
        let a = format!("${}", args.len());
        w.push(format!(
            "(name LIKE {a} ESCAPE '\\' OR address LIKE {a} ESCAPE '\\')"
        ));
    }
    let mut scope = vec![];
    for r in &f.scope_regions {
        scope.push(region_cond(r, &mut args));
    }
    if !f.scope_grids.is_empty() {
        let v = f.scope_grids.iter().map(|g| Arg::S(g.clone())).collect();
        scope.push(in_list("grid_code", v, &mut args));
    }
    if f.scope_nothing {
        scope = vec!["1 = 0".into()];
    }
    if !scope.is_empty() {
        w.push(format!("({})", scope.join(" OR ")));
    }
    (w.join(" AND "), args)
}

/// Audit entries stamped with the time and the request's client address.
fn stamped(entries: &[AuditEntry], at: DateTime<Utc>) -> Vec<(AuditEntry, i64, Option<String>)> {
    entries
        .iter()
        .map(|e| (e.clone(), to_ms(at), current_ip()))
        .collect()
}

impl Store {
    /// Stores new places and updates of existing ones, with their audit entries, in one
    /// transaction: all of it or nothing. An update is checked against the version it carries
    /// (`Conflict` naming `version` when someone changed the place meanwhile; `NotFound` when it
    /// is gone) and moves the version on. A taken id or external reference is a `Conflict` naming it.
    pub async fn save_places(
        &self,
        inserts: &[Place],
        updates: &[Place],
        audit: &[AuditEntry],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let entries = stamped(audit, now);
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            for chunk in inserts.chunks(INSERT_BATCH) {
                let mut qb = sqlx::QueryBuilder::new(format!("INSERT INTO places ({PLACE_COLS}) "));
                qb.push_values(chunk, |mut b, pl| {
                    b.push_bind(pl.county_code.clone())
                        .push_bind(pl.id)
                        .push_bind(pl.kind.as_str())
                        .push_bind(pl.name.clone())
                        .push_bind(pl.address.clone())
                        .push_bind(pl.point.map(|p| p.lat))
                        .push_bind(pl.point.map(|p| p.lon))
                        .push_bind(pl.grid_code.clone())
                        .push_bind(pl.region_code.clone())
                        .push_bind(pl.contact_name.clone())
                        .push_bind(pl.contact_phone.clone())
                        .push_bind(tags_json(pl))
                        .push_bind(pl.status.as_str())
                        .push_bind(pl.external_ref.clone())
                        .push_bind(pl.created_by)
                        .push_bind(to_ms(pl.created_at))
                        .push_bind(to_ms(pl.updated_at))
                        .push_bind(pl.version);
                });
                qb.build().persistent(chunk.len() == INSERT_BATCH).execute(&mut *tx).await.map_err(place_conflict)?;
            }
            for pl in updates {
                let done = sqlx::query(
                    "UPDATE places SET kind = $3, name = $4, address = $5, lat = $6, lon = $7, grid_code = $8,
                     region_code = $9, contact_name = $10, contact_phone = $11, tags = $12, status = $13,
                     external_ref = $14, updated_at = $15, version = version + 1
                     WHERE county_code = $1 AND id = $2 AND version = $16")
                    .bind(&pl.county_code).bind(pl.id).bind(pl.kind.as_str()).bind(&pl.name).bind(&pl.address)
                    .bind(pl.point.map(|p| p.lat)).bind(pl.point.map(|p| p.lon)).bind(&pl.grid_code)
                    .bind(&pl.region_code).bind(&pl.contact_name).bind(&pl.contact_phone).bind(tags_json(pl))
                    .bind(pl.status.as_str()).bind(&pl.external_ref).bind(to_ms(pl.updated_at)).bind(pl.version)
                    .execute(&mut *tx).await.map_err(place_conflict)?;
                if done.rows_affected() == 0 {
                    let there: Option<(i64,)> = sqlx::query_as("SELECT version FROM places WHERE county_code = $1 AND id = $2")
                        .bind(&pl.county_code).bind(pl.id).fetch_optional(&mut *tx).await?;
                    return Err(match there {
                        Some(_) => StoreError::Conflict(format!(
                            "version: place {} was changed by someone else; reload it and edit again", pl.id)),
                        None => StoreError::NotFound,
                    });
                }
            }
            if !entries.is_empty() {
                append_many!(tx, &entries)?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// One place by its key.
    pub async fn place(&self, county: &str, id: Uuid) -> Result<Place> {
        let sql = format!("SELECT {PLACE_COLS} FROM places WHERE county_code = $1 AND id = $2");
        let r: Option<PlaceRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str()))
            .bind(county).bind(id).fetch_optional(p).await)?;
        r.ok_or(StoreError::NotFound)?.try_into()
    }

    /// One place by its id alone (an API path, a campaign's list).
    pub async fn place_by_id(&self, id: Uuid) -> Result<Place> {
        let sql = format!("SELECT {PLACE_COLS} FROM places WHERE id = $1");
        let r: Option<PlaceRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str()))
            .bind(id).fetch_optional(p).await)?;
        r.ok_or(StoreError::NotFound)?.try_into()
    }

    /// The places of a county holding these external references (an import's existing rows).
    pub async fn places_by_external_ref(
        &self,
        county: &str,
        refs: &[String],
    ) -> Result<Vec<Place>> {
        let mut out = vec![];
        for chunk in refs.chunks(500) {
            let ps: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT {PLACE_COLS} FROM places WHERE county_code = $1 AND external_ref IN ({})",
                ps.join(", ")
            );
            let rows: Vec<PlaceRow> = with_pool!(self, p => {
                let mut q = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(county);
                for r in chunk {
                    q = q.bind(r);
                }
                q.fetch_all(p).await
            })?;
            for r in rows {
                out.push(r.try_into()?);
            }
        }
        Ok(out)
    }

    /// A page of places in id order (ids are UUIDv7: the order they were registered in).
    pub async fn list_places(&self, f: &PlaceFilter) -> Result<Vec<Place>> {
        let (mut wh, mut args) = build_where(f);
        if let Some(a) = f.after {
            args.push(Arg::U(a));
            wh.push_str(&format!(" AND id > ${}", args.len()));
        }
        let limit = if f.limit <= 0 {
            String::new()
        } else {
            format!(" LIMIT {}", f.limit.min(10_000))
        };
        let sql = format!("SELECT {PLACE_COLS} FROM places WHERE {wh} ORDER BY id{limit}");
        let rows: Vec<PlaceRow> = with_pool!(self, p =>
            bind_args!(sqlx::query_as(AssertSqlSafe(sql.as_str())), &args).fetch_all(p).await)?;
        rows.into_iter().map(Place::try_from).collect()
    }

    /// How many places match (ignoring `after` and `limit`).
    pub async fn count_places(&self, f: &PlaceFilter) -> Result<i64> {
        let (wh, args) = build_where(f);
        let sql = format!("SELECT COUNT(*) FROM places WHERE {wh}");
        let (n,): (i64,) = with_pool!(self, p =>
            bind_args!(sqlx::query_as(AssertSqlSafe(sql.as_str())), &args).fetch_one(p).await)?;
        Ok(n)
    }
}
