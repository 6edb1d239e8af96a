//! Pages of group prevention (群防群治): the teams of one's territory and a new team
//! (`/work/teams`), a team with its members, schedules and patrols (`/work/teams/{id}`), the
//! residents' sign-ups to approve or decline (`/work/teams/applications`), a patrol log form
//! (`/work/patrols/new`, keyed by the id it was rendered with, so a second press stores nothing
//! twice), the monthly honour roll with its XLSX (`/work/patrols`), and the public sign-up page
//! (`/volunteer`, CSRF-checked and rate-limited like the report form). Everything goes through
//! `app::teams` and `app::patrols`, as the API does.

use super::ctx::{Ctx, Page, WebError, WebForm, WebQuery, respond, see_other};
use super::public::FormErrors;
use crate::app::error::{AppError, AppResult};
use crate::app::patrols::{FindingInput, LogInput};
use crate::app::policy::{Perm, allows};
use crate::app::state::SharedState;
use crate::app::teams::{PersonInput, TeamInput, local_today, skills_of};
use crate::app::time::{local_time, shanghai};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{NaiveDateTime, TimeZone, Utc};
use safegrid_domain::codes::Phone;
use safegrid_domain::team as dt;
use safegrid_store::{User, from_ms};
use serde::Deserialize;
use uuid::Uuid;

type Pairs = Vec<(String, String)>;

fn one(p: &Pairs, k: &str) -> String {
    p.iter()
        .find(|(key, _)| key == k)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn all(p: &Pairs, k: &str) -> Vec<String> {
    p.iter()
        .filter(|(key, v)| key == k && !v.trim().is_empty())
        .map(|(_, v)| v.clone())
        .collect()
}

fn add_error(errors: &mut FormErrors, e: &AppError) {
    let field = e.field.clone().unwrap_or_else(|| "form".into());
    errors.add(&field, e.message.clone());
}

/// (code, label) of a list, in the page's language.
pub struct Opt {
    pub code: String,
    pub label: String,
}

fn kinds(ctx: &Ctx) -> Vec<Opt> {
    dt::KINDS
        .iter()
        .map(|k| Opt {
            code: k.0.into(),
            label: if ctx.is_en() { k.2 } else { k.1 }.into(),
        })
        .collect()
}

fn skills(ctx: &Ctx) -> Vec<Opt> {
    dt::SKILLS
        .iter()
        .map(|k| Opt {
            code: k.0.into(),
            label: if ctx.is_en() { k.2 } else { k.1 }.into(),
        })
        .collect()
}

pub struct TeamLine {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub region: String,
    pub members: usize,
    pub status: String,
}

#[derive(Template)]
#[template(path = "teams.html")]
struct TeamsPage {
    ctx: Ctx,
    teams: Vec<TeamLine>,
    kinds: Vec<Opt>,
    may_manage: bool,
    errors: FormErrors,
    form: Pairs,
}

impl TeamsPage {
    fn v(&self, k: &str) -> String {
        one(&self.form, k)
    }
}

async fn teams_page(st: &SharedState, ctx: Ctx, errors: FormErrors, form: Pairs) -> Page {
    let user = ctx.require_user()?;
    let mut teams = vec![];
    for t in st.list_teams(user).await? {
        let members = st.store.members(t.id).await?;
        let region = st
            .store
            .region(&t.region_code)
            .await
            .map(|r| r.name)
            .unwrap_or_else(|_| t.region_code.clone());
        teams.push(TeamLine {
            id: t.id.to_string(),
            name: t.name.clone(),
            kind: dt::kind_name(&t.kind, ctx.is_en()).into(),
            region,
            members: members.iter().filter(|m| m.left_on.is_none()).count(),
            status: t.status.clone(),
        });
    }
    let page = TeamsPage {
        may_manage: allows(user.role, Perm::ManageTeams),
        kinds: kinds(&ctx),
        teams,
        errors,
        form,
        ctx,
    };
    Ok(page.ctx.render(&page))
}

async fn list(State(st): State<SharedState>, ctx: Ctx) -> Response {
    let r = teams_page(&st, ctx.clone(), FormErrors::default(), vec![]).await;
    respond(&ctx, r)
}

async fn create(State(st): State<SharedState>, ctx: Ctx, WebForm(f): WebForm<Pairs>) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        ctx.check_csrf(&one(&f, "csrf"))?;
        let input = TeamInput {
            name: one(&f, "name"),
            kind: one(&f, "kind"),
            region: one(&f, "region"),
            grids: one(&f, "grids")
                .split([',', '，', ' '])
                .filter(|g| !g.trim().is_empty())
                .map(str::to_string)
                .collect(),
            contact: Some(one(&f, "contact")),
            ..TeamInput::default()
        };
        match st.create_team(user, input, Utc::now()).await {
            Ok(t) => Ok(see_other(&format!("/work/teams/{}", t.id))),
            Err(e) if e.kind.is_client_error() && e.field.is_some() => {
                let mut errors = FormErrors::default();
                add_error(&mut errors, &e);
                teams_page(&st, ctx.clone(), errors, f).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&ctx, r)
}

pub struct MemberLine {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub skills: String,
    pub joined_on: String,
    pub left_on: String,
}

pub struct ScheduleLine {
    pub title: String,
    pub when: String,
    pub weekly: bool,
    pub next: Vec<String>,
    pub has_route: bool,
}

pub struct LogLine {
    pub id: String,
    pub started: String,
    pub minutes: i64,
    pub note: String,
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    ctx: Ctx,
    id: String,
    name: String,
    kind: String,
    region: String,
    leader: String,
    members: Vec<MemberLine>,
    schedules: Vec<ScheduleLine>,
    logs: Vec<LogLine>,
    skills: Vec<Opt>,
    /// The grids a schedule may name (the team's own; empty: any grid of its region).
    team_grids: Vec<String>,
    may_manage: bool,
    may_log: bool,
    consent: &'static str,
    errors: FormErrors,
    form: Pairs,
    revealed: String,
}

impl TeamPage {
    fn v(&self, k: &str) -> String {
        one(&self.form, k)
    }
}

async fn team_page(
    st: &SharedState,
    ctx: Ctx,
    id: &str,
    errors: FormErrors,
    form: Pairs,
    revealed: String,
) -> Page {
    let user = ctx.require_user()?;
    let id = Uuid::parse_str(id.trim()).map_err(|_| AppError::not_found("team"))?;
    let t = st.visible_team(user, id).await?;
    let now = Utc::now();
    let members = st.store.members(t.id).await?;
    let leader = members
        .iter()
        .find(|m| Some(m.id) == t.leader_id)
        .map(|m| m.name.clone())
        .unwrap_or_default();
    let region = st
        .store
        .region(&t.region_code)
        .await
        .map(|r| r.name)
        .unwrap_or_else(|_| t.region_code.clone());
    let en = ctx.is_en();
    let schedules = st
        .team_schedules(user, t.id, now, 14)
        .await?
        .into_iter()
        .map(|(s, occ)| ScheduleLine {
            title: s.title,
            when: local_time(from_ms(s.starts_at)),
            weekly: s.weekly,
            next: occ.iter().map(|t| local_time(*t)).collect(),
            has_route: s.route.is_some(),
        })
        .collect();
    let logs = st
        .team_patrols(user, t.id, now, 92)
        .await?
        .into_iter()
        .map(|l| LogLine {
            id: l.id.to_string(),
            started: local_time(from_ms(l.started_at)),
            minutes: l.minutes,
            note: l.note.unwrap_or_default(),
        })
        .collect();
    let page = TeamPage {
        id: t.id.to_string(),
        name: t.name.clone(),
        kind: dt::kind_name(&t.kind, en).into(),
        region,
        leader,
        members: members
            .iter()
            .map(|m| MemberLine {
                id: m.id.to_string(),
                name: m.name.clone(),
                phone: Phone::from_stored(&m.phone).masked(),
                skills: skills_of(&m.skills)
                    .iter()
                    .map(|s| dt::skill_name(s, en))
                    .chain(m.skills_note.as_deref())
                    .collect::<Vec<_>>()
                    .join("、"),
                joined_on: m.joined_on.clone(),
                left_on: m.left_on.clone().unwrap_or_default(),
            })
            .collect(),
        schedules,
        logs,
        skills: skills(&ctx),
        team_grids: crate::app::teams::grids_of(&t),
        may_manage: allows(user.role, Perm::ManageTeams),
        may_log: allows(user.role, Perm::LogPatrols),
        consent: if en {
            dt::CONSENT_TEXT.1
        } else {
            dt::CONSENT_TEXT.0
        },
        errors,
        form,
        revealed,
        ctx,
    };
    Ok(page.ctx.render(&page))
}

async fn show(State(st): State<SharedState>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let r = team_page(
        &st,
        ctx.clone(),
        &id,
        FormErrors::default(),
        vec![],
        String::new(),
    )
    .await;
    respond(&ctx, r)
}

async fn add_member(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(f): WebForm<Pairs>,
) -> Response {
    let input = PersonInput {
        name: one(&f, "name"),
        phone: one(&f, "phone"),
        skills: all(&f, "skills"),
        skills_note: Some(one(&f, "skills_note")),
        consent: one(&f, "consent") == "on",
        joined_on: Some(one(&f, "joined_on")),
        ..PersonInput::default()
    };
    let r = team_form(&st, &ctx, &id, f, |user, team| {
        let st = st.clone();
        async move {
            st.add_members(&user, team, vec![input], Utc::now())
                .await
                .map(|_| ())
        }
    })
    .await;
    respond(&ctx, r)
}

/// Runs one management form of a team page: back to the page on success, the page with the
/// field named on a refusal.
async fn team_form<F, Fut>(st: &SharedState, ctx: &Ctx, id: &str, f: Pairs, run: F) -> Page
where
    F: FnOnce(User, Uuid) -> Fut,
    Fut: std::future::Future<Output = AppResult<()>>,
{
    let user = ctx.require_user()?.clone();
    ctx.check_csrf(&one(&f, "csrf"))?;
    let team = Uuid::parse_str(id.trim()).map_err(|_| AppError::not_found("team"))?;
    match run(user, team).await {
        Ok(()) => Ok(see_other(&format!("/work/teams/{team}"))),
        Err(e) if e.kind.is_client_error() && e.field.is_some() => {
            let mut errors = FormErrors::default();
            add_error(&mut errors, &e);
            let mut page = team_page(st, ctx.clone(), id, errors, f, String::new()).await?;
            *page.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(page)
        }
        Err(e) => Err(e.into()),
    }
}

/// A member leaves the team (on a date; today when none is given).
async fn leave(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path((id, member)): Path<(String, String)>,
    WebForm(f): WebForm<Pairs>,
) -> Response {
    let left_on = one(&f, "left_on");
    let r = team_form(&st, &ctx, &id, f, |user, team| {
        let st = st.clone();
        async move {
            let member =
                Uuid::parse_str(member.trim()).map_err(|_| AppError::not_found("member"))?;
            st.member_leaves(&user, team, member, Some(&left_on), Utc::now())
                .await
                .map(|_| ())
        }
    })
    .await;
    respond(&ctx, r)
}

/// Service hours of a member outside patrols (a duty at an event, a training).
async fn hours(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(f): WebForm<Pairs>,
) -> Response {
    let (member, day, note) = (one(&f, "member"), one(&f, "served_on"), one(&f, "note"));
    // "NaN" and "inf" parse as numbers of hours; they are not.
    let minutes = one(&f, "hours")
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|h| h.is_finite())
        .map(|h| (h * 60.0).round() as i64);
    let r = team_form(&st, &ctx, &id, f, |user, team| {
        let st = st.clone();
        async move {
            let member = Uuid::parse_str(member.trim())
                .map_err(|_| AppError::invalid("member", "choose a member"))?;
            let minutes =
                minutes.ok_or_else(|| AppError::invalid("hours", "must be a number of hours"))?;
            st.add_hours(&user, team, member, &day, minutes, &note, Utc::now())
                .await
                .map(|_| ())
        }
    })
    .await;
    respond(&ctx, r)
}

/// A patrol schedule: who, when, which grids, weekly until a date.
async fn schedule(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(f): WebForm<Pairs>,
) -> Response {
    let members = all(&f, "members");
    let grids = all(&f, "grids");
    let (title, starts, ends) = (
        one(&f, "title"),
        local_input(&one(&f, "starts_at")),
        local_input(&one(&f, "ends_at")),
    );
    let weekly = one(&f, "weekly") == "on";
    let until = one(&f, "repeat_until");
    let r =
        team_form(&st, &ctx, &id, f, |user, team| {
            let st = st.clone();
            async move {
                let mut ids = Vec::with_capacity(members.len());
                for (i, m) in members.iter().enumerate() {
                    ids.push(Uuid::parse_str(m.trim()).map_err(|_| {
                        AppError::invalid(format!("members[{i}]"), "is not a member")
                    })?);
                }
                let input = crate::app::patrols::ScheduleInput {
                    team,
                    title,
                    starts_at: starts,
                    ends_at: ends,
                    grids,
                    route: None,
                    members: ids,
                    weekly,
                    repeat_until: Some(until).filter(|u| !u.trim().is_empty()),
                };
                st.create_schedule(&user, input, Utc::now())
                    .await
                    .map(|_| ())
            }
        })
        .await;
    respond(&ctx, r)
}

async fn reveal(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path((id, member)): Path<(String, String)>,
    WebForm(f): WebForm<Pairs>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        ctx.check_csrf(&one(&f, "csrf"))?;
        let team = Uuid::parse_str(id.trim()).map_err(|_| AppError::not_found("team"))?;
        let member = Uuid::parse_str(member.trim()).map_err(|_| AppError::not_found("member"))?;
        match st
            .reveal_member_phone(user, team, member, &one(&f, "reason"), Utc::now())
            .await
        {
            Ok(phone) => {
                team_page(&st, ctx.clone(), &id, FormErrors::default(), vec![], phone).await
            }
            Err(e) if e.kind.is_client_error() && e.field.is_some() => {
                let mut errors = FormErrors::default();
                add_error(&mut errors, &e);
                team_page(&st, ctx.clone(), &id, errors, vec![], String::new()).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&ctx, r)
}

pub struct AppLine {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub skills: String,
    pub team: String,
    pub region: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "team_applications.html")]
struct ApplicationsPage {
    ctx: Ctx,
    items: Vec<AppLine>,
    teams: Vec<Opt>,
    errors: FormErrors,
}

async fn applications_page(st: &SharedState, ctx: Ctx, errors: FormErrors) -> Page {
    let user = ctx.require_user()?;
    let teams_rows = st.list_teams(user).await?;
    let en = ctx.is_en();
    let items = st
        .list_applications(user, Some("pending"))
        .await?
        .into_iter()
        .map(|a| AppLine {
            id: a.id.to_string(),
            name: a.name.clone(),
            phone: Phone::from_stored(&a.phone).masked(),
            skills: skills_of(&a.skills)
                .iter()
                .map(|s| dt::skill_name(s, en))
                .chain(a.skills_note.as_deref())
                .collect::<Vec<_>>()
                .join("、"),
            team: a
                .team_id
                .and_then(|t| teams_rows.iter().find(|x| x.id == t))
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            region: a.region_code.clone(),
            created: local_time(from_ms(a.created_at)),
        })
        .collect();
    let page = ApplicationsPage {
        items,
        teams: teams_rows
            .iter()
            .filter(|t| t.status == "active")
            .map(|t| Opt {
                code: t.id.to_string(),
                label: t.name.clone(),
            })
            .collect(),
        errors,
        ctx,
    };
    Ok(page.ctx.render(&page))
}

async fn applications(State(st): State<SharedState>, ctx: Ctx) -> Response {
    let r = applications_page(&st, ctx.clone(), FormErrors::default()).await;
    respond(&ctx, r)
}

async fn decide(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(f): WebForm<Pairs>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        ctx.check_csrf(&one(&f, "csrf"))?;
        let id = Uuid::parse_str(id.trim()).map_err(|_| AppError::not_found("sign-up"))?;
        let done = if one(&f, "decision") == "approve" {
            let team = Uuid::parse_str(one(&f, "team").trim()).ok();
            st.approve_application(user, id, team, Utc::now())
                .await
                .map(|_| ())
        } else {
            st.decline_application(user, id, &one(&f, "reason"), Utc::now())
                .await
                .map(|_| ())
        };
        match done {
            Ok(()) => Ok(see_other("/work/teams/applications")),
            Err(e) if e.kind.is_client_error() => {
                let mut errors = FormErrors::default();
                add_error(&mut errors, &e);
                applications_page(&st, ctx.clone(), errors).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&ctx, r)
}

#[derive(Template)]
#[template(path = "patrol_new.html")]
struct PatrolForm {
    ctx: Ctx,
    team: String,
    team_name: String,
    client_id: String,
    members: Vec<Opt>,
    errors: FormErrors,
    form: Pairs,
}

impl PatrolForm {
    fn v(&self, k: &str) -> String {
        one(&self.form, k)
    }
    fn checked(&self, member: &str) -> bool {
        all(&self.form, "members").iter().any(|m| m == member)
    }
}

#[derive(Deserialize, Default)]
struct TeamParam {
    team: Option<String>,
}

async fn patrol_form(
    st: &SharedState,
    ctx: Ctx,
    team: &str,
    errors: FormErrors,
    form: Pairs,
    client_id: Option<String>,
) -> Page {
    let user = ctx.require_user()?;
    let id = Uuid::parse_str(team.trim()).map_err(|_| AppError::not_found("team"))?;
    let t = st.visible_team(user, id).await?;
    let today = local_today(Utc::now());
    let members = st
        .store
        .members(t.id)
        .await?
        .into_iter()
        .filter(|m| crate::app::teams::active_on(m, today))
        .map(|m| Opt {
            code: m.id.to_string(),
            label: m.name,
        })
        .collect();
    let page = PatrolForm {
        team: t.id.to_string(),
        team_name: t.name,
        client_id: client_id.unwrap_or_else(|| Uuid::now_v7().to_string()),
        members,
        errors,
        form,
        ctx,
    };
    Ok(page.ctx.render(&page))
}

async fn patrol_new(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(q): WebQuery<TeamParam>,
) -> Response {
    let r = patrol_form(
        &st,
        ctx.clone(),
        q.team.as_deref().unwrap_or(""),
        FormErrors::default(),
        vec![],
        None,
    )
    .await;
    respond(&ctx, r)
}

/// A `datetime-local` value (Asia/Shanghai) as RFC 3339; anything else passes unchanged, so
/// the use case names the field.
fn local_input(s: &str) -> String {
    let s = s.trim();
    for fmt in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt)
            && let Some(t) = shanghai().from_local_datetime(&t).single()
        {
            return t.to_rfc3339();
        }
    }
    s.to_string()
}

async fn patrol_submit(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebForm(f): WebForm<Pairs>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        ctx.check_csrf(&one(&f, "csrf"))?;
        let team = one(&f, "team");
        let client_id = one(&f, "client_id");
        let mut errors = FormErrors::default();
        let (Ok(team_id), Ok(cid)) = (
            Uuid::parse_str(team.trim()),
            Uuid::parse_str(client_id.trim()),
        ) else {
            return Err(WebError::Invalid("team, client_id: must be UUIDs".into()));
        };
        let mut members = vec![];
        for m in all(&f, "members") {
            if let Ok(id) = Uuid::parse_str(m.trim()) {
                members.push(id);
            }
        }
        let text = one(&f, "finding");
        let findings = if text.trim().is_empty() {
            vec![]
        } else {
            let category = one(&f, "category");
            let address = one(&f, "address");
            vec![FindingInput {
                text,
                category: (!category.trim().is_empty()).then_some(category),
                address: (!address.trim().is_empty()).then_some(address),
                ..FindingInput::default()
            }]
        };
        let input = LogInput {
            client_id: cid,
            team: team_id,
            schedule: None,
            started_at: local_input(&one(&f, "started_at")),
            ended_at: local_input(&one(&f, "ended_at")),
            members,
            grids: vec![],
            note: Some(one(&f, "note")),
            findings,
        };
        match st.record_patrol(user, input, vec![], Utc::now()).await {
            Ok(_) => Ok(see_other(&format!("/work/teams/{team_id}?logged=1"))),
            Err(e) if e.kind.is_client_error() => {
                add_error(&mut errors, &e);
                patrol_form(&st, ctx.clone(), &team, errors, f.clone(), Some(client_id)).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&ctx, r)
}

pub struct RollView {
    pub rank: usize,
    pub name: String,
    pub team: String,
    pub hours: f64,
    pub patrols: i64,
}

#[derive(Template)]
#[template(path = "patrols.html")]
struct RollPage {
    ctx: Ctx,
    month: String,
    region: String,
    members: Vec<RollView>,
    teams: Vec<RollView>,
    error: String,
}

#[derive(Deserialize, Default)]
struct RollParams {
    month: Option<String>,
    region: Option<String>,
}

async fn roll(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(q): WebQuery<RollParams>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        let month = q
            .month
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| local_today(Utc::now()).format("%Y-%m").to_string());
        let region = q.region.unwrap_or_default();
        let view = |l: &crate::app::teams::RollLine| RollView {
            rank: l.rank,
            name: l.name.clone(),
            team: l.team.clone(),
            hours: dt::hours(l.minutes),
            patrols: l.patrols,
        };
        let (members, teams, error) = match st
            .honour_roll(
                user,
                &month,
                Some(&region).filter(|r| !r.is_empty()).map(|r| r.as_str()),
            )
            .await
        {
            Ok(r) => (
                r.members.iter().map(view).collect(),
                r.teams.iter().map(view).collect(),
                String::new(),
            ),
            Err(e) if e.kind.is_client_error() => (vec![], vec![], e.message.clone()),
            Err(e) => return Err(e.into()),
        };
        let page = RollPage {
            month,
            region,
            members,
            teams,
            error,
            ctx: ctx.clone(),
        };
        Ok(page.ctx.render(&page))
    }
    .await;
    respond(&ctx, r)
}

async fn roll_xlsx(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(q): WebQuery<RollParams>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        let month = q.month.unwrap_or_default();
        let region = q.region.filter(|r| !r.trim().is_empty());
        let roll = st.honour_roll(user, &month, region.as_deref()).await?;
        let bytes = crate::app::teams::honour_roll_xlsx(&roll)?;
        let mut resp = bytes.into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
        );
        if let Ok(v) = HeaderValue::from_str(&format!(
            "attachment; filename=\"honour-roll-{}-{}.xlsx\"",
            roll.region, roll.month
        )) {
            resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
        Ok(resp)
    }
    .await;
    respond(&ctx, r)
}

#[derive(Template)]
#[template(path = "volunteer.html")]
struct VolunteerPage {
    ctx: Ctx,
    teams: Vec<Opt>,
    skills: Vec<Opt>,
    consent: &'static str,
    consent_version: &'static str,
    errors: FormErrors,
    form: Pairs,
    /// After sending, or when checking: the reference code, the state and the reason.
    code: String,
    status: String,
    team: String,
    reason: String,
}

impl VolunteerPage {
    fn v(&self, k: &str) -> String {
        one(&self.form, k)
    }
    fn status_name(&self) -> &'static str {
        self.ctx.t(&format!("volunteer.status.{}", self.status))
    }
    fn ticked(&self, skill: &str) -> bool {
        all(&self.form, "skills").iter().any(|s| s == skill)
    }
}

async fn volunteer_page(
    st: &SharedState,
    ctx: Ctx,
    errors: FormErrors,
    form: Pairs,
    found: Option<(String, String, String, String)>,
) -> Page {
    let en = ctx.is_en();
    let mut teams = vec![];
    for t in st.public_teams().await? {
        let region = st
            .store
            .region(&t.region_code)
            .await
            .map(|r| r.name)
            .unwrap_or_default();
        teams.push(Opt {
            code: t.id.to_string(),
            label: format!("{}（{}，{}）", t.name, dt::kind_name(&t.kind, en), region),
        });
    }
    let (code, status, team, reason) = found.unwrap_or_default();
    let page = VolunteerPage {
        teams,
        skills: skills(&ctx),
        consent: if en {
            dt::CONSENT_TEXT.1
        } else {
            dt::CONSENT_TEXT.0
        },
        consent_version: dt::CONSENT_VERSION,
        errors,
        form,
        code,
        status,
        team,
        reason,
        ctx,
    };
    Ok(page.ctx.render(&page))
}

#[derive(Deserialize, Default)]
struct CodeParam {
    code: Option<String>,
}

async fn volunteer(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(q): WebQuery<CodeParam>,
) -> Response {
    let r = async {
        let mut found = None;
        if let Some(code) = q.code.filter(|c| !c.trim().is_empty()) {
            crate::app::policy::check_public_rate(&st, "track").map_err(WebError::TooMany)?;
            match st.application_status(&code).await {
                Ok((a, team)) => {
                    found = Some((
                        a.ref_code,
                        a.status,
                        team.unwrap_or_default(),
                        a.reason.unwrap_or_default(),
                    ));
                }
                Err(e) if e.kind == crate::app::error::ErrorKind::NotFound => {
                    let mut errors = FormErrors::default();
                    errors.add("code", ctx.t("volunteer.no_such_code").to_string());
                    return volunteer_page(&st, ctx.clone(), errors, vec![], None).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        volunteer_page(&st, ctx.clone(), FormErrors::default(), vec![], found).await
    }
    .await;
    respond(&ctx, r)
}

async fn volunteer_submit(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebForm(f): WebForm<Pairs>,
) -> Response {
    let r = async {
        ctx.check_csrf(&one(&f, "csrf"))?;
        // Rate-limited by address and by the page's token, as the report form is.
        let ip = safegrid_store::audit::current_ip().unwrap_or_default();
        let rate = st.settings.rate_limits.public_intake;
        let by_ip = st.limiter.check(&format!("volunteer:ip:{ip}"), rate);
        let by_form = st
            .limiter
            .check(&format!("volunteer:web:{}", ctx.csrf), rate);
        if by_ip.is_err() || by_form.is_err() {
            return Err(WebError::Refused(ctx.t("err.rate_limited").to_string()));
        }
        let team = one(&f, "team");
        let input = PersonInput {
            name: one(&f, "name"),
            phone: one(&f, "phone"),
            skills: all(&f, "skills"),
            skills_note: Some(one(&f, "skills_note")),
            consent: one(&f, "consent") == "on",
            consent_version: Some(one(&f, "consent_version")),
            team: Uuid::parse_str(team.trim()).ok(),
            region: Some(one(&f, "region")),
            ..PersonInput::default()
        };
        match st.sign_up(input, Utc::now()).await {
            Ok(a) => Ok(see_other(&format!("/volunteer?code={}", a.ref_code))),
            Err(e) if e.kind.is_client_error() => {
                let mut errors = FormErrors::default();
                add_error(&mut errors, &e);
                volunteer_page(&st, ctx.clone(), errors, f, None).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&ctx, r)
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/work/teams", get(list).post(create))
        .route("/work/teams/applications", get(applications))
        .route("/work/teams/applications/{id}", post(decide))
        .route("/work/teams/{id}", get(show))
        .route("/work/teams/{id}/members", post(add_member))
        .route("/work/teams/{id}/members/{member}/reveal", post(reveal))
        .route("/work/teams/{id}/members/{member}/leave", post(leave))
        .route("/work/teams/{id}/hours", post(hours))
        .route("/work/teams/{id}/schedules", post(schedule))
        .route("/work/patrols", get(roll))
        .route("/work/patrols/honour-roll.xlsx", get(roll_xlsx))
        .route("/work/patrols/new", get(patrol_new).post(patrol_submit))
        .route("/volunteer", get(volunteer).post(volunteer_submit))
}
