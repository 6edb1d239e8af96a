//! Addresses (门牌) and visits (走访) as every face offers them. Addresses: the register of each
//! grid's doors (building, unit, door), optionally linked to a place of the places register; read
//! and managed within the territory the places register uses (`app::places::territory`). Visits:
//! recorded by a grid worker at a door or a place of its grids, keyed by the phone's id (a retry
//! answers the stored visit), optionally turned into a case through the one write path (the
//! case's report names the visit; the visit keeps the case id). Care visits (关爱走访) follow
//! [`care_rule`]; contacts are masked, revealed with a reason (audited), erased per address on a
//! resident's request; care visits are purged after `visit_care_retention_days`.
//! Coverage and the work log are in `app::coverage`; tables in and out in `app::addresses_io`.

use crate::app::error::{AppError, AppResult, ErrorKind};
use crate::app::places::{ContactView, Territory, territory};
use crate::app::policy::{Perm, allows, require};
use crate::app::service::CreateCase;
use crate::app::state::SharedState;
use crate::app::time::{local_time, shanghai};
use crate::app::view::Names;
use chrono::{DateTime, NaiveDate, Utc};
use safegrid_domain::Role;
use safegrid_domain::codes::{GridCode, RegionCode};
use safegrid_domain::visit::{
    Address, AddressInput, AddressStatus, Visit, VisitInput, VisitKind, VisitTarget,
};
use safegrid_store::visits::{CareSql, ScopeSql};
use safegrid_store::{AddressFilter, AuditEntry, StoreError, User, VisitFilter};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

/// The catalog's department kind of civil affairs (民政, `data/catalog/departments.toml`): its
/// handlers read the care visits of their department's region.
pub const CIVIL_AFFAIRS_KIND: &str = "mzj";

/// The local date (Asia/Shanghai) of a time.
pub fn local_day(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&shanghai()).date_naive()
}

pub fn scope_sql(t: &Territory) -> ScopeSql {
    ScopeSql {
        everything: t.everything,
        regions: t.regions.clone(),
        grids: t.grids.clone(),
    }
}

pub fn parse_id(s: &str, field: &str) -> AppResult<Uuid> {
    Uuid::parse_str(s.trim()).map_err(|_| AppError::invalid(field, "must be a UUID"))
}

fn conflict(e: StoreError, what: &str) -> AppError {
    match e {
        StoreError::Conflict(m) => {
            let field = m.split_once(':').map(|(f, _)| f.to_string());
            let mut err = AppError::new(ErrorKind::Conflict, "conflict", m);
            err.field = field;
            err
        }
        StoreError::NotFound => AppError::not_found(what),
        other => other.into(),
    }
}

fn audit(user: &User, action: &str, kind: &str, id: Uuid, detail: serde_json::Value) -> AuditEntry {
    AuditEntry::new(
        Some(user.id),
        user.username.clone(),
        action,
        kind,
        Some(id.to_string()),
        detail,
    )
}

// ---------------------------------------------------------------------------------------------
// Addresses

/// An address as its reader sees it. No person on it: an address is a door.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AddressView {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    pub county_code: String,
    pub grid_code: String,
    /// The village or community (12 digits).
    pub region_code: String,
    pub region_name: Option<String>,
    /// 楼栋
    pub building: String,
    /// 单元 ("" when none)
    pub unit: String,
    /// 门牌/室号
    pub door: String,
    /// "3幢 2单元 401"
    pub label: String,
    /// The place of the register at this address.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub place_id: Option<Uuid>,
    /// active | inactive
    pub status: String,
    pub updated_at: String,
    /// Send it back with an edit (409 when stale).
    pub version: i64,
    pub may_edit: bool,
}

impl AddressView {
    pub fn of(st: &SharedState, a: &Address, user: &User, t: &Territory) -> AddressView {
        AddressView {
            id: a.id,
            county_code: a.county_code.clone(),
            grid_code: a.grid_code.clone(),
            region_code: a.region_code.clone(),
            region_name: st.region_names().get(&a.region_code).cloned(),
            building: a.building.clone(),
            unit: a.unit.clone(),
            door: a.door.clone(),
            label: a.label(),
            place_id: a.place_id,
            status: a.status.as_str().into(),
            updated_at: local_time(a.updated_at),
            version: a.version,
            may_edit: allows(user.role, Perm::ManageAddresses)
                && t.covers(Some(&a.grid_code), &a.region_code),
        }
    }
}

/// An address the caller may read (404 when missing or outside the territory).
pub async fn visible_address(
    st: &SharedState,
    user: &User,
    id: &str,
) -> AppResult<(Address, Territory)> {
    require(user, Perm::ReadAddresses)?;
    let id = parse_id(id, "id")?;
    let a = match st.store.address_by_id(id).await {
        Ok(a) => a,
        Err(StoreError::NotFound) => return Err(AppError::not_found("address")),
        Err(e) => return Err(e.into()),
    };
    let t = territory(st, user).await?;
    if !t.covers(Some(&a.grid_code), &a.region_code) {
        return Err(AppError::not_found("address"));
    }
    Ok((a, t))
}

/// Filters of a list of addresses, as text.
#[derive(Debug, Clone, Default)]
pub struct AddressQuery {
    pub region: Option<String>,
    pub grid: Option<String>,
    pub status: Option<String>,
    pub q: Option<String>,
    pub place: Option<String>,
    /// Only the addresses not visited yet in the current coverage period.
    pub unvisited: bool,
    pub after: Option<String>,
    pub limit: Option<i64>,
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub async fn address_filter(
    st: &SharedState,
    user: &User,
    q: &AddressQuery,
    now: DateTime<Utc>,
) -> AppResult<(AddressFilter, Territory)> {
    require(user, Perm::ReadAddresses)?;
    let mut f = AddressFilter::default();
    if let Some(r) = nonempty(&q.region) {
        f.region_prefix = Some(RegionCode::parse_field(r, "region")?.short().to_string());
    }
    if let Some(g) = nonempty(&q.grid) {
        f.grids = vec![GridCode::parse_field(g, "grid")?.as_str().to_string()];
    }
    if let Some(s) = nonempty(&q.status) {
        f.statuses = vec![AddressStatus::parse(s)?];
    }
    if let Some(text) = nonempty(&q.q) {
        if text.chars().count() > 40 {
            return Err(AppError::invalid("q", "must be at most 40 characters"));
        }
        f.text = Some(text.to_string());
    }
    if let Some(p) = nonempty(&q.place) {
        f.place_id = Some(parse_id(p, "place")?);
    }
    if q.unvisited {
        f.unvisited = Some(crate::app::coverage::current_period(st, now).bounds);
        f.statuses = vec![AddressStatus::Active];
    }
    if let Some(a) = nonempty(&q.after) {
        f.after = Some(parse_id(a, "after")?);
    }
    f.limit = match q.limit {
        None => 100,
        Some(n) if (1..=1000).contains(&n) => n,
        Some(_) => return Err(AppError::invalid("limit", "must be between 1 and 1000")),
    };
    let t = territory(st, user).await?;
    f.scope = scope_sql(&t);
    Ok((f, t))
}

/// A page of addresses and the matching count.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AddressPage {
    pub addresses: Vec<AddressView>,
    pub total: i64,
    /// Pass as `after` for the next page; absent on the last one.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub next_after: Option<Uuid>,
}

pub async fn list_addresses(
    st: &SharedState,
    user: &User,
    q: &AddressQuery,
    now: DateTime<Utc>,
) -> AppResult<AddressPage> {
    let (f, t) = address_filter(st, user, q, now).await?;
    let rows = st.store.list_addresses(&f).await?;
    let total = st.store.count_addresses(&f).await?;
    let next_after = (rows.len() as i64 == f.limit)
        .then(|| rows.last().map(|a| a.id))
        .flatten();
    Ok(AddressPage {
        addresses: rows
            .iter()
            .map(|a| AddressView::of(st, a, user, &t))
            .collect(),
        total,
        next_after,
    })
}

/// Checks where an address lies and what it links to: its grid exists and is in the territory,
/// the linked place exists in the same county. `grids_seen` caches grid look-ups (imports).
pub async fn check_address(
    st: &SharedState,
    t: &Territory,
    a: &Address,
    grids_seen: &mut std::collections::HashMap<String, bool>,
) -> AppResult<()> {
    let exists = match grids_seen.get(&a.grid_code) {
        Some(e) => *e,
        None => {
            let e = match st.store.grid(&a.grid_code).await {
                Ok(_) => true,
                Err(StoreError::NotFound) => false,
                Err(e) => return Err(e.into()),
            };
            grids_seen.insert(a.grid_code.clone(), e);
            e
        }
    };
    if !exists {
        return Err(AppError::invalid(
            "grid_code",
            format!("unknown grid {}", a.grid_code),
        ));
    }
    if !t.covers(Some(&a.grid_code), &a.region_code) {
        return Err(AppError::invalid(
            "grid_code",
            "the grid lies outside your territory",
        ));
    }
    if let Some(p) = a.place_id {
        match st.store.place_by_id(p).await {
            Ok(pl) if pl.county_code == a.county_code && t.covers_place(&pl) => {}
            Ok(_) | Err(StoreError::NotFound) => {
                return Err(AppError::invalid(
                    "place_id",
                    "no place of your territory in this county has this id",
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Adds an address. With a client-generated id, a retry answers the address its first attempt
/// stored (`false`: not created again).
pub async fn create_address(
    st: &SharedState,
    user: &User,
    id: Option<Uuid>,
    input: &AddressInput,
    via: &str,
    now: DateTime<Utc>,
) -> AppResult<(Address, bool)> {
    require(user, Perm::ManageAddresses)?;
    if let Some(id) = id {
        match st.store.address_by_id(id).await {
            Ok(a) if a.created_by == Some(user.id) => return Ok((a, false)),
            Ok(_) => {
                return Err(conflict(
                    StoreError::Conflict("id: an address with this id already exists".into()),
                    "address",
                ));
            }
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let f = input.validate()?;
    let t = territory(st, user).await?;
    let a = Address::new(id.unwrap_or_else(Uuid::now_v7), f, Some(user.id), now);
    check_address(st, &t, &a, &mut Default::default()).await?;
    let entry = audit(
        user,
        "address.create",
        "address",
        a.id,
        json!({ "grid_code": a.grid_code, "via": via }),
    );
    st.store
        .save_addresses(std::slice::from_ref(&a), &[], &[entry], now)
        .await
        .map_err(|e| conflict(e, "address"))?;
    Ok((a, true))
}

/// Replaces an address's fields, checked against the version read (an address may move to
/// another grid of the same county; deactivating is `status: inactive`).
pub async fn edit_address(
    st: &SharedState,
    user: &User,
    id: &str,
    version: i64,
    input: &AddressInput,
    via: &str,
    now: DateTime<Utc>,
) -> AppResult<Address> {
    let (old, t) = visible_address(st, user, id).await?;
    require(user, Perm::ManageAddresses)?;
    let f = input.validate()?;
    let mut a = Address::new(old.id, f, old.created_by, old.created_at);
    if a.county_code != old.county_code {
        return Err(AppError::invalid(
            "grid_code",
            "an address cannot move to another county; add it there and deactivate this one",
        ));
    }
    check_address(st, &t, &a, &mut Default::default()).await?;
    a.updated_at = now;
    a.version = version;
    let entry = audit(
        user,
        "address.edit",
        "address",
        a.id,
        json!({ "from_version": version, "status": a.status, "grid_code": a.grid_code, "via": via }),
    );
    st.store
        .save_addresses(&[], std::slice::from_ref(&a), &[entry], now)
        .await
        .map_err(|e| conflict(e, "address"))?;
    a.version = version + 1;
    Ok(a)
}

// ---------------------------------------------------------------------------------------------
// Visits

/// Which care visits (关爱走访) `user` sees: a grid worker those it recorded; a grid leader those
/// it recorded and those of the grids it leads; a handler of civil affairs (民政, department kind
/// [`CIVIL_AFFAIRS_KIND`]) those of its department's region. Nobody else, not even the root
/// administrator: a care visit describes a family's hardship.
pub async fn care_rule(st: &SharedState, user: &User) -> AppResult<CareSql> {
    let mut rule = CareSql::default();
    if !allows(user.role, Perm::ReadCareVisits) {
        return Ok(rule);
    }
    match user.role {
        Role::GridWorker => rule.recorder = Some(user.id),
        Role::GridLeader => {
            rule.recorder = Some(user.id);
            rule.grids = user.grids.clone();
        }
        Role::Handler => {
            if let Some(d) = &user.department {
                match st.store.department(d).await {
                    Ok(d) if d.kind == CIVIL_AFFAIRS_KIND => {
                        if let Ok(r) = RegionCode::parse(&d.region_code) {
                            rule.regions = vec![r.short().to_string()];
                        }
                    }
                    Ok(_) | Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        _ => {}
    }
    Ok(rule)
}

/// Whether the rule lets `user` see this visit (non-care visits always pass).
pub fn care_allows(rule: &CareSql, v: &Visit) -> bool {
    v.kind != VisitKind::Care
        || rule.all
        || rule.recorder == Some(v.recorded_by)
        || rule.grids.iter().any(|g| g == &v.grid_code)
        || rule
            .regions
            .iter()
            .any(|r| v.region_code.starts_with(r.as_str()))
}

/// Whether `user` works with this visit's people (sees the raised text unmasked and may reveal
/// the contact): its recorder, a leader of its grid, civil affairs of its region for a care visit.
fn close_to(user: &User, rule: &CareSql, v: &Visit) -> bool {
    v.recorded_by == user.id
        || (user.role == Role::GridLeader && user.grids.iter().any(|g| g == &v.grid_code))
        || (v.kind == VisitKind::Care
            && rule
                .regions
                .iter()
                .any(|r| v.region_code.starts_with(r.as_str())))
}

/// A visit as its reader sees it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct VisitView {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    pub grid_code: String,
    pub region_code: String,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub address_id: Option<Uuid>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub place_id: Option<Uuid>,
    /// Local date, YYYY-MM-DD.
    pub visited_on: String,
    /// routine | care | follow_up | opinions
    pub kind: String,
    pub kind_name: Names,
    /// What was raised; identifiers masked unless the reader works with the household.
    pub raised: String,
    pub raised_masked: bool,
    pub contact: Option<ContactView>,
    /// The case this visit was turned into.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub case_id: Option<Uuid>,
    #[schema(value_type = String, format = Uuid)]
    pub recorded_by: Uuid,
    /// Asia/Shanghai, RFC 3339.
    pub recorded_at: String,
}

pub fn kind_names(k: VisitKind) -> Names {
    Names {
        zh: k.zh().into(),
        en: k.en().into(),
    }
}

impl VisitView {
    pub fn of(v: &Visit, user: &User, rule: &CareSql) -> VisitView {
        let close = close_to(user, rule, v);
        let raised = if close {
            v.raised.clone()
        } else {
            let names: Vec<String> = v.contact_name.iter().cloned().collect();
            crate::app::pii::mask(&v.raised, &names)
        };
        VisitView {
            id: v.id,
            grid_code: v.grid_code.clone(),
            region_code: v.region_code.clone(),
            address_id: v.address_id,
            place_id: v.place_id,
            visited_on: v.visited_on.to_string(),
            kind: v.kind.as_str().into(),
            kind_name: kind_names(v.kind),
            raised_masked: raised != v.raised,
            raised,
            contact: (v.contact_name.is_some() || v.contact_phone.is_some()).then(|| ContactView {
                name: v.masked_contact_name(),
                phone: v.masked_contact_phone(),
                masked: true,
                may_reveal: close,
            }),
            case_id: v.case_id,
            recorded_by: v.recorded_by,
            recorded_at: local_time(v.recorded_at),
        }
    }
}

/// A visit the caller may read: 404 when missing, outside the territory or a care visit the
/// caller may not see.
pub async fn visible_visit(st: &SharedState, user: &User, id: &str) -> AppResult<(Visit, CareSql)> {
    require(user, Perm::ReadVisits)?;
    let id = parse_id(id, "id")?;
    let v = match st.store.visit_by_id(id).await {
        Ok(v) => v,
        Err(StoreError::NotFound) => return Err(AppError::not_found("visit")),
        Err(e) => return Err(e.into()),
    };
    let t = territory(st, user).await?;
    let rule = care_rule(st, user).await?;
    let own = v.recorded_by == user.id;
    if !(own || t.covers(Some(&v.grid_code), &v.region_code)) || !care_allows(&rule, &v) {
        return Err(AppError::not_found("visit"));
    }
    Ok((v, rule))
}

/// Filters of a list of visits, as text.
#[derive(Debug, Clone, Default)]
pub struct VisitQuery {
    pub region: Option<String>,
    pub grid: Option<String>,
    pub kind: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub address: Option<String>,
    pub place: Option<String>,
    /// Only the caller's own visits.
    pub mine: bool,
    pub before: Option<String>,
    pub limit: Option<i64>,
}

fn day(s: &str, field: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::invalid(field, "must be a date YYYY-MM-DD"))
}

pub async fn visit_filter(
    st: &SharedState,
    user: &User,
    q: &VisitQuery,
) -> AppResult<(VisitFilter, CareSql)> {
    require(user, Perm::ReadVisits)?;
    let mut f = VisitFilter::default();
    if let Some(r) = nonempty(&q.region) {
        f.region_prefix = Some(RegionCode::parse_field(r, "region")?.short().to_string());
    }
    if let Some(g) = nonempty(&q.grid) {
        f.grids = vec![GridCode::parse_field(g, "grid")?.as_str().to_string()];
    }
    if let Some(k) = nonempty(&q.kind) {
        f.kinds = vec![VisitKind::parse(k)?];
    }
    f.from = nonempty(&q.from).map(|d| day(d, "from")).transpose()?;
    f.to = nonempty(&q.to).map(|d| day(d, "to")).transpose()?;
    f.address_id = nonempty(&q.address)
        .map(|a| parse_id(a, "address"))
        .transpose()?;
    f.place_id = nonempty(&q.place)
        .map(|a| parse_id(a, "place"))
        .transpose()?;
    if q.mine {
        f.recorded_by = Some(user.id);
    }
    f.before = nonempty(&q.before)
        .map(|a| parse_id(a, "before"))
        .transpose()?;
    f.limit = match q.limit {
        None => 50,
        Some(n) if (1..=500).contains(&n) => n,
        Some(_) => return Err(AppError::invalid("limit", "must be between 1 and 500")),
    };
    let t = territory(st, user).await?;
    f.scope = scope_sql(&t);
    let rule = care_rule(st, user).await?;
    f.care = rule.clone();
    Ok((f, rule))
}

/// A page of visits, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VisitPage {
    pub visits: Vec<VisitView>,
    pub total: i64,
    /// Pass as `before` for the next page; absent on the last one.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub next_before: Option<Uuid>,
}

pub async fn list_visits(st: &SharedState, user: &User, q: &VisitQuery) -> AppResult<VisitPage> {
    let (f, rule) = visit_filter(st, user, q).await?;
    let rows = st.store.list_visits(&f).await?;
    let total = st.store.count_visits(&f).await?;
    let next_before = (rows.len() as i64 == f.limit)
        .then(|| rows.last().map(|v| v.id))
        .flatten();
    Ok(VisitPage {
        visits: rows.iter().map(|v| VisitView::of(v, user, &rule)).collect(),
        total,
        next_before,
    })
}

/// A problem found on a visit, to be turned into a case (转为事件).
#[derive(Debug, Clone, Default)]
pub struct ToCase {
    /// A category code of the catalog.
    pub category: String,
    /// The case's description; the visit's raised text when empty.
    pub description: Option<String>,
    pub urgency: Option<String>,
}

/// Records a visit. With a client-generated `id`, a retry (the offline queue resending, a double
/// tap) answers the visit its first attempt stored (`false`) and never opens a second case; an id
/// taken by someone else's visit is a conflict naming `id`. The target must be an active address
/// or a place of the recorder's grids (else 422 naming `address_id` / `place_id`, whether it
/// exists elsewhere or not). With `to_case`, the case is created first through the one write path
/// (its report names the visit), then the visit is stored with the case's id.
pub async fn record(
    st: &SharedState,
    user: &User,
    id: Option<Uuid>,
    input: &VisitInput,
    to_case: Option<&ToCase>,
    via: &str,
    now: DateTime<Utc>,
) -> AppResult<(Visit, bool)> {
    require(user, Perm::RecordVisits)?;
    let retried = async |id: Uuid| -> AppResult<Option<Visit>> {
        match st.store.visit_by_id(id).await {
            Ok(v) if v.recorded_by == user.id => Ok(Some(v)),
            Ok(_) => Err(conflict(
                StoreError::Conflict("id: a visit with this id already exists".into()),
                "visit",
            )),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    };
    if let Some(id) = id
        && let Some(v) = retried(id).await?
    {
        return Ok((v, false));
    }
    let f = input.validate(local_day(now))?;
    let t = territory(st, user).await?;
    // Where the visit went: its grid and village, and how a case there is located.
    let (grid, region, address_text, point) = match f.target {
        VisitTarget::Address(a) => {
            let addr = match st.store.address_by_id(a).await {
                Ok(addr) if t.covers(Some(&addr.grid_code), &addr.region_code) => addr,
                Ok(_) | Err(StoreError::NotFound) => {
                    return Err(AppError::invalid(
                        "address_id",
                        "no address of your grids has this id",
                    ));
                }
                Err(e) => return Err(e.into()),
            };
            if addr.status != AddressStatus::Active {
                return Err(AppError::invalid(
                    "address_id",
                    "the address is inactive; reactivate it or visit another",
                ));
            }
            let village = st
                .region_names()
                .get(&addr.region_code)
                .cloned()
                .unwrap_or_default();
            let text = format!("{village}{}", addr.label());
            (addr.grid_code, addr.region_code, text, None)
        }
        VisitTarget::Place(p) => {
            let place = match st.store.place_by_id(p).await {
                Ok(pl) if pl.grid_code.is_some() && t.covers_place(&pl) => pl,
                Ok(_) | Err(StoreError::NotFound) => {
                    return Err(AppError::invalid(
                        "place_id",
                        "no place of your grids has this id",
                    ));
                }
                Err(e) => return Err(e.into()),
            };
            let text = format!("{}（{}）", place.address, place.name);
            (
                place.grid_code.clone().unwrap_or_default(),
                place.region_code.clone(),
                text,
                place.point,
            )
        }
    };
    let visit_id = id.unwrap_or_else(Uuid::now_v7);
    let mut visit = Visit {
        county_code: grid[..6].to_string(),
        id: visit_id,
        grid_code: grid.clone(),
        region_code: region.clone(),
        address_id: match f.target {
            VisitTarget::Address(a) => Some(a),
            VisitTarget::Place(_) => None,
        },
        place_id: match f.target {
            VisitTarget::Place(p) => Some(p),
            VisitTarget::Address(_) => None,
        },
        visited_on: f.visited_on,
        kind: f.kind,
        raised: f.raised.clone(),
        contact_name: f.contact_name.as_ref().map(|n| n.as_str().to_string()),
        contact_phone: f.contact_phone.as_ref().map(|p| p.as_str().to_string()),
        case_id: None,
        recorded_by: user.id,
        recorded_at: now,
    };
    if let Some(c) = to_case {
        let description = match c.description.as_deref().map(str::trim) {
            Some(d) if !d.is_empty() => d.to_string(),
            _ if !f.raised.is_empty() => f.raised.clone(),
            _ => {
                return Err(AppError::invalid(
                    "case.description",
                    "is required when the visit raised nothing",
                ));
            }
        };
        if c.category.trim().is_empty() {
            return Err(AppError::invalid("case.category", "is required"));
        }
        let mut data = serde_json::Map::new();
        data.insert("visit".into(), json!(visit_id));
        let input = CreateCase {
            category: c.category.clone(),
            description,
            lat: point.map(|p| p.lat),
            lon: point.map(|p| p.lon),
            urgency: c.urgency.clone(),
            channel: Some("grid_worker".into()),
            address: Some(address_text),
            report_data: Some(data),
            region_hint: Some(region.clone()),
            grid_hint: Some(grid.clone()),
            ..CreateCase::default()
        };
        let case = st
            .create_case(input, Some(user), now)
            .await
            .map_err(|mut e| {
                // The case's fields are the visit form's `case.*`.
                if let Some(field) = e.field.take() {
                    e.message = format!("case.{}", e.message);
                    e.field = Some(format!("case.{field}"));
                }
                e
            })?;
        visit.case_id = Some(case.id);
    }
    let entry = audit(
        user,
        "visit.record",
        "visit",
        visit.id,
        json!({ "kind": visit.kind, "grid_code": visit.grid_code, "case_id": visit.case_id, "via": via }),
    );
    match st.store.insert_visit(&visit, &entry, now).await {
        Ok(()) => Ok((visit, true)),
        Err(StoreError::Conflict(m)) if m.starts_with("id") => match retried(visit.id).await? {
            Some(v) => Ok((v, false)),
            None => Err(conflict(StoreError::Conflict(m), "visit")),
        },
        Err(e) => Err(e.into()),
    }
}

/// A visit's contact in the clear to one who works with the household, with a reason (audited
/// before it is answered).
pub async fn reveal(
    st: &SharedState,
    user: &User,
    id: &str,
    why: &str,
    via: &str,
) -> AppResult<Visit> {
    let (v, rule) = visible_visit(st, user, id).await?;
    if !close_to(user, &rule, &v) {
        return Err(AppError::forbidden(
            "only the visit's recorder, its grid's leaders and (care visits) civil affairs may reveal its contact",
        ));
    }
    let why = crate::app::privacy::reason(why)?;
    st.store
        .audit(&audit(
            user,
            "privacy.reveal",
            "visit",
            v.id,
            json!({ "reason": why, "fields": ["contact_name", "contact_phone"], "via": via }),
        ))
        .await?;
    Ok(v)
}

/// A resident's request (个人信息删除): blanks every stored contact of the visits to one address,
/// audited with the count in the same transaction. Returns how many visits held a contact.
pub async fn erase_contacts(
    st: &SharedState,
    user: &User,
    address_id: &str,
    why: &str,
    via: &str,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    let (a, _) = visible_address(st, user, address_id).await?;
    require(user, Perm::EraseVisitContacts)?;
    let why = crate::app::privacy::reason(why)?;
    let n = st
        .store
        .erase_address_contacts(
            &a.county_code,
            a.id,
            |n| {
                audit(
                    user,
                    "privacy.erase",
                    "address",
                    a.id,
                    json!({ "visits": n, "reason": why, "fields": ["contact_name", "contact_phone"], "via": via }),
                )
            },
            now,
        )
        .await?;
    Ok(n)
}

/// Deletes the care visits older than the retention (`visit_care_retention_days`), audited with
/// the count. Run by the jobs runner hourly and by `safegrid visits purge`.
pub async fn purge_care(st: &SharedState, via: &str, now: DateTime<Utc>) -> AppResult<u64> {
    let days = st.settings.visit_care_retention_days;
    let before = now - chrono::Duration::days(days);
    Ok(st
        .store
        .purge_care_visits(
            before,
            |n| {
                AuditEntry::new(
                    None,
                    "system",
                    "visit.purge",
                    "visit",
                    None,
                    json!({ "care_visits": n, "retention_days": days, "before": local_time(before), "via": via }),
                )
            },
            now,
        )
        .await?)
}

pub const PURGE_JOB: &str = "visit_care_purge";

/// The purge as a persisted hourly job (claimed with a lease, so one server runs it).
pub async fn run_purge(st: SharedState, runner: String) {
    const EVERY: i64 = 3_600_000;
    if let Err(e) = st.store.ensure_job(PURGE_JOB, EVERY, Utc::now()).await {
        tracing::error!(error = %e, "cannot schedule the care-visit purge");
        return;
    }
    loop {
        match st
            .store
            .claim_job(PURGE_JOB, &runner, Utc::now(), EVERY)
            .await
        {
            Ok(Some(claim)) => {
                let result = match purge_care(&st, "job", Utc::now()).await {
                    Ok(n) => format!("ok: {n} care visits purged"),
                    Err(e) => {
                        tracing::error!(error = %e.message, "care-visit purge failed");
                        format!("error: {}", e.message)
                    }
                };
                if let Err(e) = st
                    .store
                    .finish_job(&claim, &runner, Utc::now(), &result)
                    .await
                {
                    tracing::error!(error = %e, "cannot reschedule the care-visit purge");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot claim the care-visit purge"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    }
}
