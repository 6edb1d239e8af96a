//! Grid staffing (一人一格) as every face offers it: the grids of a territory with their grid
//! worker (网格员) and grid leader (网格长), assignments, handovers (交接: the grid's open work moves
//! with it) and absence covers (代班). `users.grids` stays the effective truth that every scope
//! check reads: a change writes it, a history row and the audit entry in one transaction
//! (`Store::save_staffing`). A cover is read at each request by the sign-in lookup
//! (`Store::session_user`, `Store::token_user_scoped`), so it starts and ends by itself.
//!
//! Who: the command center and administrators manage staffing within their regions (a grid or
//! account outside answers 404); leaders and grid leaders read it.

use crate::app::error::{AppError, AppResult, ErrorKind};
use crate::app::policy::{Perm, require};
use crate::app::scope::{check_grant, department_regions, manages, region_for};
use crate::app::state::SharedState;
use crate::app::time::{local_time, opt_local_time};
use chrono::{DateTime, Utc};
use safegrid_domain::Role;
use safegrid_domain::codes::GridCode;
use safegrid_domain::staffing::{
    ChangeKind, Post, check_period, verification_states, with_grid, without_grid,
};
use safegrid_domain::workflow::terminal_states;
use safegrid_store::{
    AuditEntry, Cover, GridsChange, MoveCount, Moved, StaffingRecord, StoreError, User,
};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// At most this many grids on one staffing page (a county has a few hundred).
const MAX_GRIDS: usize = 3000;

/// An account as the staffing pages show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Person {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
}

impl Person {
    fn of(u: &User) -> Person {
        Person {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
        }
    }
}

/// One grid with its staff.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GridStaff {
    pub grid_code: String,
    pub grid_name: String,
    pub village_code: String,
    pub village_name: String,
    /// The responsible grid worker; none: the grid is vacant (shown in red).
    pub worker: Option<Person>,
    /// More than one grid worker holds the grid (set by hand in the accounts page): to be
    /// settled by a handover.
    pub extra_workers: Vec<Person>,
    pub leader: Option<Person>,
    /// Who covers the worker's absence right now (代班).
    pub covered_by: Option<Person>,
}

/// A cover as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CoverView {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    pub absent: Person,
    pub cover: Person,
    /// The absent worker's grids (covered while the cover runs).
    pub grids: Vec<String>,
    /// Asia/Shanghai.
    pub starts_at: String,
    pub ends_at: String,
    /// upcoming | active | ended | cancelled
    pub status: String,
    pub note: Option<String>,
    pub cancelled_at: Option<String>,
}

/// A row of the staffing history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryView {
    pub grid_code: String,
    /// worker | leader
    pub post: String,
    /// assign | handover | vacate
    pub kind: String,
    pub user: Option<Person>,
    pub previous: Option<Person>,
    pub moved: Option<MovedView>,
    pub note: Option<String>,
    pub by: Option<String>,
    pub at: String,
}

/// What a handover moved with the grid.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct MovedView {
    /// Open tasks of published campaigns on the grid's places (排查任务).
    pub campaign_tasks: i64,
    /// Cases of the grid waiting for the grid worker's verification (待核查).
    pub awaiting_verification: i64,
    /// Every open case of the grid.
    pub open_cases: i64,
}

impl From<Moved> for MovedView {
    fn from(m: Moved) -> Self {
        MovedView {
            campaign_tasks: m.campaign_tasks,
            awaiting_verification: m.awaiting_verification,
            open_cases: m.open_cases,
        }
    }
}

/// A territory's staffing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffingView {
    /// The region shown (its significant prefix; empty: everything).
    pub region: String,
    pub grids: Vec<GridStaff>,
    /// Grids without a worker.
    pub vacant: usize,
    /// Whether more grids lie in the region than are listed (narrow the region).
    pub truncated: bool,
    /// Covers of the territory's workers that have not ended (and those ended in the last 30 days).
    pub covers: Vec<CoverView>,
    /// The latest changes, newest first.
    pub history: Vec<HistoryView>,
    /// Grid workers and grid leaders of the territory, for the forms.
    pub workers: Vec<Person>,
    pub leaders: Vec<Person>,
}

/// What an assignment, a vacancy or a handover did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeReport {
    pub grid_code: String,
    pub post: String,
    pub kind: String,
    pub user: Option<Person>,
    pub previous: Option<Person>,
    /// False when the grid was already staffed so (a retry): nothing written.
    pub changed: bool,
    /// A handover's summary of what moved.
    pub moved: Option<MovedView>,
}

/// A grid worker or leader not yet given any grid, region or department: it covers nothing, so
/// any administrator may staff it (its first grid then decides whose it is).
pub fn unplaced(u: &User) -> bool {
    matches!(u.role, Role::GridWorker | Role::GridLeader)
        && u.grids.is_empty()
        && u.regions.is_empty()
        && u.department.is_none()
}

fn is_grid_staff(u: &User) -> bool {
    matches!(u.role, Role::GridWorker | Role::GridLeader) && !u.disabled
}

/// The holders of `post` on `grid` among `users`.
fn holders<'a>(users: &'a [User], grid: &str, post: Post) -> Vec<&'a User> {
    users
        .iter()
        .filter(|u| u.role == post.role() && !u.disabled && u.grids.iter().any(|g| g == grid))
        .collect()
}

fn parse_uuid(s: &str, field: &str) -> AppResult<Uuid> {
    Uuid::parse_str(s.trim()).map_err(|_| AppError::invalid(field, "must be an account id (UUID)"))
}

/// A time given by a form or the API: RFC 3339, or a local (Asia/Shanghai) `YYYY-MM-DDTHH:MM`
/// or `YYYY-MM-DD` (midnight).
pub fn parse_time(s: &str, field: &str) -> AppResult<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let tz = crate::app::time::shanghai();
    let local = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
        })
        .map_err(|_| {
            AppError::invalid(
                field,
                "must be a time (RFC 3339, or YYYY-MM-DDTHH:MM in Asia/Shanghai)",
            )
        })?;
    local
        .and_local_timezone(tz)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| AppError::invalid(field, "is not a valid local time"))
}

/// A note: at most 500 characters, trimmed, empty as none.
fn note(n: Option<&str>) -> AppResult<Option<String>> {
    let n = n.map(str::trim).filter(|s| !s.is_empty());
    if n.is_some_and(|s| s.chars().count() > 500) {
        return Err(AppError::invalid("note", "must be at most 500 characters"));
    }
    if n.is_some_and(|s| s.contains('\0')) {
        return Err(AppError::invalid("note", crate::app::input::NUL_REASON));
    }
    Ok(n.map(str::to_string))
}

/// A grid named by a manager: well formed (422), in the manager's territory (else 404, as
/// cases answer), and registered (422 naming the field).
async fn managed_grid(st: &SharedState, user: &User, code: &str, field: &str) -> AppResult<String> {
    let g = GridCode::parse(code.trim()).map_err(|e| AppError::invalid(field, e.reason))?;
    if !user.covers_region(g.as_str()) {
        return Err(AppError::not_found("grid"));
    }
    match st.store.grid(g.as_str()).await {
        Ok(_) => Ok(g.as_str().to_string()),
        Err(StoreError::NotFound) => Err(AppError::invalid(field, "no such grid")),
        Err(e) => Err(e.into()),
    }
}

/// An account named by a manager for `post`: exists and lies in the manager's scope (else 404 —
/// a grid account with no grid yet counts as in scope, so new workers can be staffed), holds the
/// role of the post (422 naming `field`) and is not disabled.
fn staff_account<'a>(
    users: &'a [User],
    manager: &User,
    depts: &HashMap<String, String>,
    id: Uuid,
    roles: &[Role],
    field: &str,
) -> AppResult<&'a User> {
    let u = users
        .iter()
        .find(|u| u.id == id)
        .filter(|u| manages(manager, u, depts) || unplaced(u))
        .ok_or_else(|| AppError::not_found("account"))?;
    if !roles.contains(&u.role) {
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        return Err(AppError::invalid(
            field,
            format!("is a {}, not a {}", u.role.as_str(), names.join(" or ")),
        ));
    }
    if u.disabled {
        return Err(AppError::invalid(field, "this account is disabled"));
    }
    Ok(u)
}

fn conflict(field: &str, message: String) -> AppError {
    let mut e = AppError::new(
        ErrorKind::Conflict,
        "conflict",
        format!("{field}: {message}"),
    );
    e.field = Some(field.to_string());
    e
}

fn store_error(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict(m) => {
            let field = m.split_once(':').map_or("grids", |(f, _)| f).to_string();
            let mut err = AppError::new(ErrorKind::Conflict, "conflict", m);
            err.field = Some(field);
            err
        }
        other => other.into(),
    }
}

fn entry(by: &User, action: &str, grid: &str, detail: serde_json::Value) -> AuditEntry {
    AuditEntry::new(
        Some(by.id),
        by.username.clone(),
        action,
        "grid",
        Some(grid.to_string()),
        detail,
    )
}

/// A grid leader without regions reads the staffing of its grids' village (or township when they
/// span villages): the workers it leads.
fn leader_prefix(user: &User) -> Option<String> {
    if user.role != Role::GridLeader || !user.regions.is_empty() {
        return None;
    }
    let first = user.grids.first()?;
    for len in [12, 9] {
        let p = first.get(..len)?;
        if user.grids.iter().all(|g| g.starts_with(p)) {
            return Some(p.to_string());
        }
    }
    first.get(..12).map(str::to_string)
}

/// The staffing of the region asked (or the reader's own first region): every grid with its
/// worker and leader, covers and the latest changes.
pub async fn view(st: &SharedState, user: &User, region: Option<&str>) -> AppResult<StaffingView> {
    require(user, Perm::ReadStaffing)?;
    let prefix = match leader_prefix(user) {
        Some(p) => p,
        None => region_for(user, region)?,
    };
    let now = Utc::now();
    let grids = st.store.grid_names(&prefix, MAX_GRIDS as i64 + 1).await?;
    let truncated = grids.len() > MAX_GRIDS;
    let villages: HashMap<String, String> = st
        .store
        .regions(None, Some(5), false)
        .await?
        .into_iter()
        .filter(|r| r.code.starts_with(&prefix))
        .map(|r| (r.code, r.name))
        .collect();
    let users = st.store.users().await?;
    let by_id: HashMap<Uuid, &User> = users.iter().map(|u| (u.id, u)).collect();
    let mut workers: HashMap<&str, Vec<&User>> = HashMap::new();
    let mut leaders: HashMap<&str, &User> = HashMap::new();
    for u in users.iter().filter(|u| is_grid_staff(u)) {
        for g in &u.grids {
            if u.role == Role::GridWorker {
                workers.entry(g.as_str()).or_default().push(u);
            } else {
                leaders.entry(g.as_str()).or_insert(u);
            }
        }
    }
    let covers = st
        .store
        .covers_since(now - chrono::Duration::days(30))
        .await?;
    let active: HashMap<Uuid, Uuid> = covers
        .iter()
        .filter(|c| c.cancelled_at.is_none() && c.starts_at <= now && c.ends_at > now)
        .map(|c| (c.absent_user_id, c.cover_user_id))
        .collect();
    let person = |id: Uuid| by_id.get(&id).map(|u| Person::of(u));
    let mut out = Vec::with_capacity(grids.len().min(MAX_GRIDS));
    for (code, village, name) in grids.into_iter().take(MAX_GRIDS) {
        let w = workers.get(code.as_str()).cloned().unwrap_or_default();
        let worker = w.first().copied();
        out.push(GridStaff {
            covered_by: worker
                .and_then(|w| active.get(&w.id))
                .and_then(|c| person(*c)),
            worker: worker.map(Person::of),
            extra_workers: w.iter().skip(1).map(|u| Person::of(u)).collect(),
            leader: leaders.get(code.as_str()).map(|u| Person::of(u)),
            village_name: villages.get(&village).cloned().unwrap_or_default(),
            village_code: village,
            grid_name: name,
            grid_code: code,
        });
    }
    let vacant = out.iter().filter(|g| g.worker.is_none()).count();
    let in_region = |u: &User| u.grids.iter().any(|g| g.starts_with(&prefix));
    let cover_views = covers
        .iter()
        .filter(|c| by_id.get(&c.absent_user_id).is_some_and(|u| in_region(u)))
        .filter_map(|c| cover_view(c, &by_id, now))
        .collect();
    let history = st
        .store
        .staffing_history(&prefix, 50)
        .await?
        .into_iter()
        .map(|r| history_view(&r, &by_id))
        .collect();
    let staff = |role: Role| -> Vec<Person> {
        users
            .iter()
            .filter(|u| u.role == role && !u.disabled)
            .filter(|u| {
                in_region(u)
                    || (u.grids.is_empty() && u.regions.is_empty())
                    || u.regions.iter().any(|r| r.starts_with(&prefix))
            })
            .map(Person::of)
            .collect()
    };
    Ok(StaffingView {
        region: prefix.clone(),
        vacant,
        truncated,
        grids: out,
        covers: cover_views,
        history,
        workers: staff(Role::GridWorker),
        leaders: staff(Role::GridLeader),
    })
}

fn cover_view(c: &Cover, by_id: &HashMap<Uuid, &User>, now: DateTime<Utc>) -> Option<CoverView> {
    let absent = by_id.get(&c.absent_user_id)?;
    let cover = by_id.get(&c.cover_user_id)?;
    let status = if c.cancelled_at.is_some() {
        "cancelled"
    } else if c.starts_at > now {
        "upcoming"
    } else if c.ends_at > now {
        "active"
    } else {
        "ended"
    };
    Some(CoverView {
        id: c.id,
        absent: Person::of(absent),
        cover: Person::of(cover),
        grids: absent.grids.clone(),
        starts_at: local_time(c.starts_at),
        ends_at: local_time(c.ends_at),
        status: status.into(),
        note: c.note.clone(),
        cancelled_at: opt_local_time(c.cancelled_at),
    })
}

fn history_view(r: &StaffingRecord, by_id: &HashMap<Uuid, &User>) -> HistoryView {
    let person = |id: Option<Uuid>| id.and_then(|i| by_id.get(&i)).map(|u| Person::of(u));
    HistoryView {
        grid_code: r.grid_code.clone(),
        post: r.post.clone(),
        kind: r.kind.clone(),
        user: person(r.user_id),
        previous: person(r.previous_user_id),
        moved: r.moved.map(Into::into),
        note: r.note.clone(),
        by: r
            .by_user_id
            .and_then(|i| by_id.get(&i))
            .map(|u| u.username.clone()),
        at: local_time(r.at),
    }
}

/// Assigns `grid`'s `post` to an account (`user_id`), or vacates it (`None`). A grid has one
/// worker: assigning a worker to a grid another worker holds is refused (409: hand it over
/// instead, so its open work moves); a new leader replaces the previous one. Assigning the
/// holder again changes nothing (a retry).
pub async fn assign(
    st: &SharedState,
    user: &User,
    grid: &str,
    post: &str,
    user_id: Option<&str>,
    note_text: Option<&str>,
    via: &str,
) -> AppResult<ChangeReport> {
    require(user, Perm::ManageStaffing)?;
    let post = Post::parse(post)?;
    let grid = managed_grid(st, user, grid, "grid_code").await?;
    let target = user_id
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse_uuid(s, "user_id"))
        .transpose()?;
    let note = note(note_text)?;
    let users = st.store.users().await?;
    let depts = department_regions(st).await?;
    let current = holders(&users, &grid, post);
    let now = Utc::now();
    let mut changes = vec![];
    let mut records = vec![];
    let (kind, to, previous) = match target {
        Some(id) => {
            let to = staff_account(&users, user, &depts, id, &[post.role()], "user_id")?;
            if current.iter().any(|u| u.id == to.id) {
                return Ok(ChangeReport {
                    grid_code: grid,
                    post: post.as_str().into(),
                    kind: ChangeKind::Assign.as_str().into(),
                    user: Some(Person::of(to)),
                    previous: None,
                    changed: false,
                    moved: None,
                });
            }
            if post == Post::Worker
                && let Some(other) = current.first()
            {
                return Err(conflict(
                    "grid_code",
                    format!(
                        "the grid's worker is {} ({}); hand the grid over instead, so its open work moves with it",
                        other.display_name, other.username
                    ),
                ));
            }
            let after = with_grid(&to.grids, &grid);
            check_grant(
                user,
                safegrid_domain::scope::Grant {
                    role: to.role,
                    regions: &to.regions,
                    grids: &after,
                    department_region: None,
                },
            )?;
            changes.push(GridsChange {
                user_id: to.id,
                before: to.grids.clone(),
                after,
            });
            (ChangeKind::Assign, Some(to), current.first().copied())
        }
        None => match current.first() {
            None => {
                return Ok(ChangeReport {
                    grid_code: grid,
                    post: post.as_str().into(),
                    kind: ChangeKind::Vacate.as_str().into(),
                    user: None,
                    previous: None,
                    changed: false,
                    moved: None,
                });
            }
            Some(prev) => (ChangeKind::Vacate, None, Some(*prev)),
        },
    };
    // Whoever held the post before loses the grid (a leader replaced, a post vacated).
    for prev in &current {
        changes.push(GridsChange {
            user_id: prev.id,
            before: prev.grids.clone(),
            after: without_grid(&prev.grids, &grid),
        });
    }
    records.push(StaffingRecord {
        id: Uuid::now_v7(),
        grid_code: grid.clone(),
        post: post.as_str().into(),
        kind: kind.as_str().into(),
        user_id: to.map(|u| u.id),
        previous_user_id: previous.map(|u| u.id),
        moved: None,
        note: note.clone(),
        by_user_id: Some(user.id),
        at: now,
    });
    let audit = entry(
        user,
        &format!("staffing.{}", kind.as_str()),
        &grid,
        json!({ "post": post.as_str(), "user": to.map(|u| &u.username),
                "previous": previous.map(|u| &u.username), "note": note, "via": via }),
    );
    st.store
        .save_staffing(&changes, &records, &[audit], None, now)
        .await
        .map_err(store_error)?;
    st.tokens.clear();
    Ok(ChangeReport {
        grid_code: grid,
        post: post.as_str().into(),
        kind: kind.as_str().into(),
        user: to.map(Person::of),
        previous: previous.map(Person::of),
        changed: true,
        moved: None,
    })
}

/// Hands `grid` over from its worker to another grid worker (交接). Everything the grid's worker
/// sees through the grid — its open campaign tasks, its cases awaiting verification and its other
/// open cases, its places and its history — follows the grid to the new worker, since scope reads
/// the grid; the summary of what moved is counted in the same transaction and kept in the
/// history row and the audit entry.
pub async fn handover(
    st: &SharedState,
    user: &User,
    grid: &str,
    to_user_id: &str,
    note_text: Option<&str>,
    via: &str,
) -> AppResult<ChangeReport> {
    require(user, Perm::ManageStaffing)?;
    let grid = managed_grid(st, user, grid, "grid_code").await?;
    let to_id = parse_uuid(to_user_id, "to_user_id")?;
    let note = note(note_text)?;
    let users = st.store.users().await?;
    let depts = department_regions(st).await?;
    let to = staff_account(
        &users,
        user,
        &depts,
        to_id,
        &[Role::GridWorker],
        "to_user_id",
    )?;
    let current = holders(&users, &grid, Post::Worker);
    let Some(from) = current.first().copied() else {
        return Err(conflict(
            "grid_code",
            "the grid has no worker to hand it over; assign one instead".into(),
        ));
    };
    if current.iter().any(|u| u.id == to.id) && current.len() == 1 {
        return Err(AppError::invalid("to_user_id", "already holds this grid"));
    }
    let after = with_grid(&to.grids, &grid);
    check_grant(
        user,
        safegrid_domain::scope::Grant {
            role: to.role,
            regions: &to.regions,
            grids: &after,
            department_region: None,
        },
    )?;
    let now = Utc::now();
    let mut changes = vec![GridsChange {
        user_id: to.id,
        before: to.grids.clone(),
        after,
    }];
    for prev in current.iter().filter(|u| u.id != to.id) {
        changes.push(GridsChange {
            user_id: prev.id,
            before: prev.grids.clone(),
            after: without_grid(&prev.grids, &grid),
        });
    }
    let records = vec![StaffingRecord {
        id: Uuid::now_v7(),
        grid_code: grid.clone(),
        post: Post::Worker.as_str().into(),
        kind: ChangeKind::Handover.as_str().into(),
        user_id: Some(to.id),
        previous_user_id: Some(from.id),
        moved: None,
        note: note.clone(),
        by_user_id: Some(user.id),
        at: now,
    }];
    let audit = entry(
        user,
        "staffing.handover",
        &grid,
        json!({ "from": from.username, "to": to.username, "note": note, "via": via }),
    );
    let (verify, terminal) = (verification_states(), terminal_states());
    let moved = st
        .store
        .save_staffing(
            &changes,
            &records,
            &[audit],
            Some(MoveCount {
                grid: &grid,
                verification_states: &verify,
                terminal_states: &terminal,
            }),
            now,
        )
        .await
        .map_err(store_error)?;
    st.tokens.clear();
    Ok(ChangeReport {
        grid_code: grid,
        post: Post::Worker.as_str().into(),
        kind: ChangeKind::Handover.as_str().into(),
        user: Some(Person::of(to)),
        previous: Some(Person::of(from)),
        changed: true,
        moved: moved.map(Into::into),
    })
}

/// A cover to arrange.
#[derive(Debug, Clone, Default)]
pub struct CoverInput {
    /// A client-generated id: a retry answers the cover the first attempt stored.
    pub id: Option<String>,
    pub absent_user_id: String,
    pub cover_user_id: String,
    pub starts_at: String,
    pub ends_at: String,
    pub note: Option<String>,
}

/// Arranges a cover (代班): `cover_user_id` looks after `absent_user_id`'s grids from `starts_at`
/// until `ends_at`. Both work on grids and lie in the manager's scope (else 404); the period ends
/// after it starts and overlaps no other cover of the same absence (422 naming the field); a
/// period in the past is recorded as such. Returns the cover and whether it was stored now.
pub async fn create_cover(
    st: &SharedState,
    user: &User,
    input: &CoverInput,
    via: &str,
) -> AppResult<(CoverView, bool)> {
    require(user, Perm::ManageStaffing)?;
    let id = match input.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Uuid::parse_str(s).map_err(|_| AppError::invalid("id", "must be a UUID"))?,
        None => Uuid::now_v7(),
    };
    let absent_id = parse_uuid(&input.absent_user_id, "absent_user_id")?;
    let cover_id = parse_uuid(&input.cover_user_id, "cover_user_id")?;
    let starts = parse_time(&input.starts_at, "starts_at")?;
    let ends = parse_time(&input.ends_at, "ends_at")?;
    check_period(starts, ends)?;
    let note = note(input.note.as_deref())?;
    let users = st.store.users().await?;
    let depts = department_regions(st).await?;
    let grid_roles = [Role::GridWorker, Role::GridLeader];
    let absent = staff_account(
        &users,
        user,
        &depts,
        absent_id,
        &grid_roles,
        "absent_user_id",
    )?;
    if absent.grids.is_empty() {
        return Err(AppError::invalid(
            "absent_user_id",
            "holds no grid: there is nothing to cover",
        ));
    }
    let cover = staff_account(&users, user, &depts, cover_id, &grid_roles, "cover_user_id")?;
    if cover.id == absent.id {
        return Err(AppError::invalid(
            "cover_user_id",
            "must be another account than the absent one",
        ));
    }
    let now = Utc::now();
    let c = Cover {
        id,
        absent_user_id: absent.id,
        cover_user_id: cover.id,
        starts_at: starts,
        ends_at: ends,
        note: note.clone(),
        created_by: Some(user.id),
        created_at: now,
        cancelled_at: None,
    };
    let audit = AuditEntry::new(
        Some(user.id),
        user.username.clone(),
        "staffing.cover",
        "cover",
        Some(id.to_string()),
        json!({ "absent": absent.username, "cover": cover.username, "grids": absent.grids,
                "starts_at": local_time(starts), "ends_at": local_time(ends), "via": via }),
    );
    let (stored, created) = st
        .store
        .insert_cover(&c, &audit)
        .await
        .map_err(store_error)?;
    if !created
        && (stored.absent_user_id != c.absent_user_id || stored.cover_user_id != c.cover_user_id)
    {
        return Err(conflict("id", "a cover with this id already exists".into()));
    }
    st.tokens.clear();
    let by_id: HashMap<Uuid, &User> = users.iter().map(|u| (u.id, u)).collect();
    let v = cover_view(&stored, &by_id, now).ok_or_else(|| AppError::not_found("account"))?;
    Ok((v, created))
}

/// Cancels a cover of the manager's scope (404 otherwise, or when already cancelled); returns it.
pub async fn cancel_cover(
    st: &SharedState,
    user: &User,
    id: &str,
    via: &str,
) -> AppResult<CoverView> {
    require(user, Perm::ManageStaffing)?;
    let id = Uuid::parse_str(id.trim()).map_err(|_| AppError::not_found("cover"))?;
    let c = match st.store.cover(id).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => return Err(AppError::not_found("cover")),
        Err(e) => return Err(e.into()),
    };
    let depts = department_regions(st).await?;
    let absent = st.store.user(c.absent_user_id).await?;
    if !manages(user, &absent, &depts) {
        return Err(AppError::not_found("cover"));
    }
    let audit = AuditEntry::new(
        Some(user.id),
        user.username.clone(),
        "staffing.cover_cancel",
        "cover",
        Some(id.to_string()),
        json!({ "absent": absent.username, "via": via }),
    );
    match st.store.cancel_cover(id, &audit, Utc::now()).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(AppError::not_found("cover")),
        Err(e) => return Err(e.into()),
    }
    st.tokens.clear();
    let c = st.store.cover(id).await?;
    let cover = st.store.user(c.cover_user_id).await?;
    let by_id: HashMap<Uuid, &User> = [(absent.id, &absent), (cover.id, &cover)].into();
    cover_view(&c, &by_id, Utc::now()).ok_or_else(|| AppError::not_found("cover"))
}
