//! The register of places (场所/点位) as every face offers it: who reads and who manages which
//! places (the permission matrix, then the territory: a grid worker's grids, a department's
//! region, a command center's regions; out of scope answers 404 as cases do), where a place lies
//! (the locator from its point, or the grid given by hand for an address-only place), the view
//! with its contact masked and the audited reveal, and create/edit/status changes audited in
//! their own transaction. Imports and exports are in `app::places_io`.

use crate::app::error::{AppError, AppResult, ErrorKind};
use crate::app::policy::{Perm, allows, require};
use crate::app::state::SharedState;
use crate::app::time::local_time;
use crate::app::view::Names;
use chrono::{DateTime, Utc};
use safegrid_domain::codes::{GeoPoint, GridCode, RegionCode, RegionLevel};
use safegrid_domain::place::{Place, PlaceFields, PlaceInput, PlaceKind, PlaceStatus};
use safegrid_domain::role::ScopeKind;
use safegrid_store::{AuditEntry, PlaceFilter, StoreError, User};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

/// The part of the territory an account reads places in: region prefixes and grids (any of
/// them), or everything (the root administrator).
#[derive(Debug, Clone, Default)]
pub struct Territory {
    pub everything: bool,
    pub regions: Vec<String>,
    pub grids: Vec<String>,
}

impl Territory {
    /// Whether a place at (grid, region) lies in it.
    pub fn covers(&self, grid: Option<&str>, region: &str) -> bool {
        self.everything
            || grid.is_some_and(|g| self.grids.iter().any(|u| u == g))
            || self.regions.iter().any(|r| region.starts_with(r.as_str()))
    }

    pub fn covers_place(&self, p: &Place) -> bool {
        self.covers(p.grid_code.as_deref(), &p.region_code)
    }

    /// Restricts a list to the territory.
    pub fn filter(&self, f: &mut PlaceFilter) {
        if self.everything {
            return;
        }
        f.scope_regions = self.regions.clone();
        f.scope_grids = self.grids.clone();
        f.scope_nothing = self.regions.is_empty() && self.grids.is_empty();
    }
}

fn shorts(codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .filter_map(|c| RegionCode::parse(c).ok())
        .map(|c| c.short().to_string())
        .collect()
}

/// The territory of `user`'s places, decided by its role's scope kind: grid workers and grid
/// leaders their grids (and regions when they have some), department handlers their
/// department's region, everyone else with regions those regions.
pub async fn territory(st: &SharedState, user: &User) -> AppResult<Territory> {
    Ok(match user.role.scope_kind() {
        ScopeKind::Grids => Territory {
            everything: false,
            regions: shorts(&user.regions),
            grids: user.grids.clone(),
        },
        ScopeKind::Department => {
            let region = match &user.department {
                Some(d) => match st.store.department(d).await {
                    Ok(d) => vec![d.region_code],
                    Err(StoreError::NotFound) => vec![],
                    Err(e) => return Err(e.into()),
                },
                None => vec![],
            };
            Territory {
                regions: shorts(&region),
                ..Default::default()
            }
        }
        ScopeKind::Regions if user.is_root() => Territory {
            everything: true,
            ..Default::default()
        },
        ScopeKind::Regions => Territory {
            regions: shorts(&user.regions),
            ..Default::default()
        },
        ScopeKind::OwnReports | ScopeKind::Everything => Territory::default(),
    })
}

/// Parses a place id from a path or a body.
pub fn parse_id(s: &str, field: &str) -> AppResult<Uuid> {
    Uuid::parse_str(s.trim()).map_err(|_| AppError::invalid(field, "must be a UUID"))
}

/// A place the caller may read (404 when missing or outside the territory, as cases answer).
pub async fn visible(st: &SharedState, user: &User, id: &str) -> AppResult<(Place, Territory)> {
    require(user, Perm::ReadPlaces)?;
    let id = parse_id(id, "id")?;
    let place = match st.store.place_by_id(id).await {
        Ok(p) => p,
        Err(StoreError::NotFound) => return Err(AppError::not_found("place")),
        Err(e) => return Err(e.into()),
    };
    let t = territory(st, user).await?;
    if !t.covers_place(&place) {
        return Err(AppError::not_found("place"));
    }
    Ok((place, t))
}

/// A place's contact as this viewer sees it: always masked here; whoever must call the place
/// (those who manage it) asks for it with a reason, audited ([`reveal`]).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ContactView {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub masked: bool,
    pub may_reveal: bool,
}

/// A place as its reader sees it (the API's JSON, the pages' data).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PlaceView {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    pub county_code: String,
    /// The kind's code (group_rental, shop, …; `GET /api/v1/places/kinds`).
    pub kind: String,
    pub kind_name: Names,
    pub name: String,
    pub address: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub grid_code: Option<String>,
    /// The 12-digit village or community (or the deepest region) it lies in.
    pub region_code: String,
    pub region_name: Option<String>,
    pub contact: Option<ContactView>,
    pub tags: Vec<String>,
    /// active | closed | gone.
    pub status: String,
    pub status_name: Names,
    pub external_ref: Option<String>,
    /// Asia/Shanghai, RFC 3339.
    pub created_at: String,
    pub updated_at: String,
    /// Send it back with an edit: a stale version is refused (409).
    pub version: i64,
    /// Whether the reader may edit it.
    pub may_edit: bool,
}

pub fn kind_names(k: PlaceKind) -> Names {
    Names {
        zh: k.zh().into(),
        en: k.en().into(),
    }
}

pub fn status_names(s: PlaceStatus) -> Names {
    Names {
        zh: s.zh().into(),
        en: s.en().into(),
    }
}

/// Whether `user` manages this place (edits it, reveals its contact): the role may manage places
/// and the place lies in its territory.
pub fn manages(user: &User, t: &Territory, p: &Place) -> bool {
    allows(user.role, Perm::ManagePlaces) && t.covers_place(p)
}

impl PlaceView {
    pub fn of(st: &SharedState, p: &Place, user: &User, t: &Territory) -> PlaceView {
        let may_edit = manages(user, t, p);
        let contact =
            (p.contact_name.is_some() || p.contact_phone.is_some()).then(|| ContactView {
                name: p.masked_contact_name(),
                phone: p.masked_contact_phone(),
                masked: true,
                may_reveal: may_edit,
            });
        PlaceView {
            id: p.id,
            county_code: p.county_code.clone(),
            kind: p.kind.as_str().into(),
            kind_name: kind_names(p.kind),
            name: p.name.clone(),
            address: p.address.clone(),
            lat: p.point.map(|x| x.lat),
            lon: p.point.map(|x| x.lon),
            grid_code: p.grid_code.clone(),
            region_code: p.region_code.clone(),
            region_name: st.region_names().get(&p.region_code).cloned(),
            contact,
            tags: p.tags.clone(),
            status: p.status.as_str().into(),
            status_name: status_names(p.status),
            external_ref: p.external_ref.clone(),
            created_at: local_time(p.created_at),
            updated_at: local_time(p.updated_at),
            version: p.version,
            may_edit,
        }
    }
}

/// Filters of a list, as text from a query string or a form.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub region: Option<String>,
    pub grid: Option<String>,
    /// Kind codes, comma-separated.
    pub kind: Option<String>,
    /// Statuses, comma-separated.
    pub status: Option<String>,
    pub q: Option<String>,
    pub after: Option<String>,
    pub limit: Option<i64>,
}

fn list_of(v: Option<&str>) -> Vec<&str> {
    v.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Checks a list query and restricts it to the caller's territory. `limit` of 0 keeps the store's
/// "every matching place" (exports).
pub async fn filter_for(
    st: &SharedState,
    user: &User,
    q: &ListQuery,
) -> AppResult<(PlaceFilter, Territory)> {
    require(user, Perm::ReadPlaces)?;
    let mut f = PlaceFilter::default();
    if let Some(r) = q.region.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let code = RegionCode::parse_field(r, "region")?;
        f.region_prefix = Some(code.short().to_string());
    }
    if let Some(g) = q.grid.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        f.grids = vec![GridCode::parse_field(g, "grid")?.as_str().to_string()];
    }
    f.kinds = list_of(q.kind.as_deref())
        .into_iter()
        .map(PlaceKind::parse)
        .collect::<Result<_, _>>()?;
    f.statuses = list_of(q.status.as_deref())
        .into_iter()
        .map(PlaceStatus::parse)
        .collect::<Result<_, _>>()?;
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if text.chars().count() > 100 {
            return Err(AppError::invalid("q", "must be at most 100 characters"));
        }
        f.text = Some(text.to_string());
    }
    if let Some(a) = q.after.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        f.after = Some(parse_id(a, "after")?);
    }
    f.limit = match q.limit {
        None => 50,
        Some(n) if (1..=500).contains(&n) => n,
        Some(_) => return Err(AppError::invalid("limit", "must be between 1 and 500")),
    };
    let t = territory(st, user).await?;
    t.filter(&mut f);
    Ok((f, t))
}

/// A page of places and the total matching count.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlacePage {
    pub places: Vec<PlaceView>,
    pub total: i64,
    /// Pass as `after` for the next page; absent on the last one.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub next_after: Option<Uuid>,
}

pub async fn list(st: &SharedState, user: &User, q: &ListQuery) -> AppResult<PlacePage> {
    let (f, t) = filter_for(st, user, q).await?;
    let places = st.store.list_places(&f).await?;
    let total = st.store.count_places(&f).await?;
    let next_after = (places.len() as i64 == f.limit)
        .then(|| places.last().map(|p| p.id))
        .flatten();
    Ok(PlacePage {
        places: places
            .iter()
            .map(|p| PlaceView::of(st, p, user, &t))
            .collect(),
        total,
        next_after,
    })
}

/// Where checked fields put a place: (grid, region). A point is located (its grid and village);
/// a grid given with it must be the one the point lies in, unless the point is in no grid (then
/// the given grid places it). An address-only place takes its grid's village. `row` prefixes
/// nothing: the field names are the input's.
pub async fn locate(
    st: &SharedState,
    f: &PlaceFields,
    grids_seen: &mut std::collections::HashMap<String, bool>,
) -> AppResult<(Option<String>, String)> {
    let mut known_grid = async |g: &GridCode| -> AppResult<()> {
        let code = g.as_str().to_string();
        let exists = match grids_seen.get(&code) {
            Some(e) => *e,
            None => {
                let e = match st.store.grid(&code).await {
                    Ok(_) => true,
                    Err(StoreError::NotFound) => false,
                    Err(e) => return Err(e.into()),
                };
                grids_seen.insert(code.clone(), e);
                e
            }
        };
        if exists {
            Ok(())
        } else {
            Err(AppError::invalid(
                "grid_code",
                format!("unknown grid {code}"),
            ))
        }
    };
    let (grid, region) = match (f.point, &f.grid_code) {
        (Some(p), given) => {
            let (grid, region) = st.place(p).await?;
            match (grid, given) {
                (Some(g), Some(given)) if g != given.as_str() => {
                    return Err(AppError::invalid(
                        "grid_code",
                        format!("the point lies in grid {g}, not in {given}"),
                    ));
                }
                (Some(g), _) => (Some(g), region),
                (None, Some(given)) => {
                    known_grid(given).await?;
                    (
                        Some(given.as_str().to_string()),
                        given.village().as_str().to_string(),
                    )
                }
                (None, None) => (None, region),
            }
        }
        (None, Some(given)) => {
            known_grid(given).await?;
            (
                Some(given.as_str().to_string()),
                given.village().as_str().to_string(),
            )
        }
        (None, None) => {
            return Err(AppError::invalid(
                "lat",
                "give a point (lat and lon) or, for an address-only place, its grid_code",
            ));
        }
    };
    let deep_enough = RegionCode::parse(&region).is_ok_and(|r| r.level() >= RegionLevel::County);
    if !deep_enough {
        return Err(AppError::invalid(
            "lat",
            "the point lies in no county of the territory; give its grid_code",
        ));
    }
    Ok((grid, region))
}

/// The field a location problem is about: the grid when one was given by hand, else the point.
fn outside(f: &PlaceFields, user: &User) -> AppError {
    let field = if f.point.is_some() {
        "lat"
    } else {
        "grid_code"
    };
    let whose = if user.role.scope_kind() == ScopeKind::Grids {
        "your grids"
    } else {
        "your territory"
    };
    AppError::invalid(field, format!("the place lies outside {whose}"))
}

fn audit(user: &User, action: &str, p: &Place, detail: serde_json::Value) -> AuditEntry {
    AuditEntry::new(
        Some(user.id),
        user.username.clone(),
        action,
        "place",
        Some(p.id.to_string()),
        detail,
    )
}

/// A store conflict as an error naming its field (`id`, `external_ref`, `version`).
pub fn conflict(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict(m) => {
            let field = m.split_once(':').map(|(f, _)| f.to_string());
            let mut err = AppError::new(ErrorKind::Conflict, "conflict", m);
            err.field = field;
            err
        }
        StoreError::NotFound => AppError::not_found("place"),
        other => other.into(),
    }
}

/// Registers a place. With a client-generated `id`, a retry (a bad connection, a double tap)
/// finds the place its first attempt stored and answers it (`false`: not created again) instead
/// of registering it twice; an id taken by someone else's place is a conflict naming `id`.
pub async fn create(
    st: &SharedState,
    user: &User,
    id: Option<Uuid>,
    input: &PlaceInput,
    via: &str,
    now: DateTime<Utc>,
) -> AppResult<(Place, bool)> {
    require(user, Perm::ManagePlaces)?;
    let retried = async |id: Uuid| -> AppResult<Option<Place>> {
        match st.store.place_by_id(id).await {
            Ok(p) if p.created_by == Some(user.id) => Ok(Some(p)),
            Ok(_) => Err(AppError {
                field: Some("id".into()),
                ..AppError::new(
                    ErrorKind::Conflict,
                    "conflict",
                    "id: a place with this id already exists",
                )
            }),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    };
    if let Some(id) = id
        && let Some(p) = retried(id).await?
    {
        return Ok((p, false));
    }
    let f = input.validate()?;
    let (grid, region) = locate(st, &f, &mut Default::default()).await?;
    let t = territory(st, user).await?;
    if !t.covers(grid.as_deref(), &region) {
        return Err(outside(&f, user));
    }
    let place = Place::new(
        id.unwrap_or_else(Uuid::now_v7),
        f,
        grid,
        region,
        Some(user.id),
        now,
    );
    let entry = audit(
        user,
        "place.create",
        &place,
        json!({ "kind": place.kind, "grid_code": place.grid_code, "region_code": place.region_code, "via": via }),
    );
    match st
        .store
        .save_places(std::slice::from_ref(&place), &[], &[entry], now)
        .await
    {
        Ok(()) => Ok((place, true)),
        // Two attempts of the same retry raced: the other one stored it.
        Err(StoreError::Conflict(m)) if m.starts_with("id") => match retried(place.id).await? {
            Some(p) => Ok((p, false)),
            None => Err(conflict(StoreError::Conflict(m))),
        },
        Err(e) => Err(conflict(e)),
    }
}

/// Replaces a place's fields (its point may move within the county), checked against the version
/// the editor read. A contact field left out (`None`) keeps the stored value; an empty one removes it.
pub async fn edit(
    st: &SharedState,
    user: &User,
    id: &str,
    version: i64,
    input: &PlaceInput,
    via: &str,
    now: DateTime<Utc>,
) -> AppResult<Place> {
    let (place, t) = visible(st, user, id).await?;
    require(user, Perm::ManagePlaces)?;
    // The editor sees the contact masked: leaving it out keeps the stored one; an empty value
    // removes it.
    let mut input = input.clone();
    if input.contact_name.is_none() {
        input.contact_name = place.contact_name.clone();
    }
    if input.contact_phone.is_none() {
        input.contact_phone = place.contact_phone.clone();
    }
    let f = input.validate()?;
    let (grid, region) = locate(st, &f, &mut Default::default()).await?;
    if !t.covers(grid.as_deref(), &region) {
        return Err(outside(&f, user));
    }
    let mut edited = place.edited(f, grid, region, now)?;
    edited.version = version;
    let entry = audit(
        user,
        "place.edit",
        &place,
        json!({ "from_version": version, "grid_code": edited.grid_code, "status": edited.status, "via": via }),
    );
    st.store
        .save_places(&[], std::slice::from_ref(&edited), &[entry], now)
        .await
        .map_err(conflict)?;
    edited.version = version + 1;
    Ok(edited)
}

/// Marks a place active, closed (歇业) or gone (注销), checked against the version read.
pub async fn set_status(
    st: &SharedState,
    user: &User,
    id: &str,
    version: i64,
    status: &str,
    via: &str,
    now: DateTime<Utc>,
) -> AppResult<Place> {
    let (place, _) = visible(st, user, id).await?;
    require(user, Perm::ManagePlaces)?;
    let status = PlaceStatus::parse(status)?;
    let mut edited = place.clone();
    edited.status = status;
    edited.version = version;
    edited.updated_at = now;
    let entry = audit(
        user,
        "place.status",
        &place,
        json!({ "from": place.status, "to": status, "from_version": version, "via": via }),
    );
    st.store
        .save_places(&[], std::slice::from_ref(&edited), &[entry], now)
        .await
        .map_err(conflict)?;
    edited.version = version + 1;
    Ok(edited)
}

/// Shows a place's contact in the clear to one who manages the place, with a reason; the reveal
/// is audited before the contact is answered.
pub async fn reveal(
    st: &SharedState,
    user: &User,
    id: &str,
    why: &str,
    via: &str,
) -> AppResult<Place> {
    let (place, t) = visible(st, user, id).await?;
    require(user, Perm::ManagePlaces)?;
    if !manages(user, &t, &place) {
        return Err(AppError::not_found("place"));
    }
    let why = crate::app::privacy::reason(why)?;
    st.store
        .audit(&audit(
            user,
            "privacy.reveal",
            &place,
            json!({ "reason": why, "fields": ["contact_name", "contact_phone"], "via": via }),
        ))
        .await?;
    Ok(place)
}

/// Metres between two points, by the equirectangular approximation: exact to well under 1 % at
/// the few kilometres of a grid, which is all a "nearest first" list needs.
pub fn distance_m(a: GeoPoint, b: GeoPoint) -> f64 {
    const R: f64 = 6_371_000.0;
    let mid = ((a.lat + b.lat) / 2.0).to_radians();
    let x = (b.lon - a.lon).to_radians() * mid.cos();
    let y = (b.lat - a.lat).to_radians();
    R * (x * x + y * y).sqrt()
}

/// Orders places nearest first from `from` (a worker's position); places without a point last,
/// in their registration order.
pub fn nearest_first(places: &mut [Place], from: GeoPoint) {
    places.sort_by(|a, b| {
        let d = |p: &Place| p.point.map_or(f64::INFINITY, |x| distance_m(from, x));
        d(a).total_cmp(&d(b)).then(a.id.cmp(&b.id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(lon: Option<f64>, n: u128) -> Place {
        let f = PlaceInput {
            kind: "shop".into(),
            name: "店".into(),
            address: "路".into(),
            lat: lon.map(|_| 30.8),
            lon,
            grid_code: Some("330502001001001".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        let region = "330502001001".to_string();
        Place::new(Uuid::from_u128(n), f, None, region, None, Utc::now())
    }

    #[test]
    fn nearest_places_come_first() {
        let from = GeoPoint::new(120.0, 30.8).unwrap();
        let mut v = vec![
            place(None, 1),
            place(Some(120.02), 2),
            place(Some(120.001), 3),
        ];
        nearest_first(&mut v, from);
        assert_eq!(
            v.iter().map(|p| p.id.as_u128()).collect::<Vec<_>>(),
            vec![3, 2, 1]
        );
        // 0.01° of longitude at 30.8° N is about 955 m.
        let d = distance_m(from, GeoPoint::new(120.01, 30.8).unwrap());
        assert!((d - 955.0).abs() < 5.0, "{d}");
    }

    #[test]
    fn territories_cover_their_grids_and_regions() {
        let t = Territory {
            everything: false,
            regions: vec!["330503".into()],
            grids: vec!["330502001001001".into()],
        };
        assert!(t.covers(Some("330502001001001"), "330502001001"));
        assert!(t.covers(None, "330503100200"));
        assert!(!t.covers(Some("330502001001002"), "330502001001"));
        let mut f = PlaceFilter::default();
        Territory::default().filter(&mut f);
        assert!(f.scope_nothing, "an empty territory lists nothing");
    }
}
