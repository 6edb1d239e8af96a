//! The staffing pages (网格配置, 一人一格), desktop pages for township and county administrators and
//! the command center: every grid of a region with its worker and leader (vacant grids in red),
//! the forms that assign, hand over and arrange covers (代班), the covers and the history; and the
//! accounts import page (initial passwords shown once, or downloaded as the result sheet). Each
//! handler only translates to `app::staffing` and `app::accounts_io`.

use super::ctx::{
    Ctx, Page, WebError, WebForm, WebMultipart, WebQuery, respond, see_other, urlencode,
};
use crate::app::accounts_io::{self, AccountsReport};
use crate::app::error::AppError;
use crate::app::places_io::RowProblem;
use crate::app::policy::{Perm, allows};
use crate::app::staffing::{self, ChangeReport, CoverInput, StaffingView};
use crate::app::state::SharedState;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::Deserialize;

/// A region the page can switch to.
struct RegionLink {
    code: String,
    name: String,
}

#[derive(Template)]
#[template(path = "staffing.html")]
struct StaffingPage {
    ctx: Ctx,
    view: StaffingView,
    /// Child regions of the region shown (townships of a county, villages of a township).
    children: Vec<RegionLink>,
    region_name: String,
    /// A county or more: only the subdivisions and the counts, no table.
    overview: bool,
    may_manage: bool,
    may_import: bool,
    /// What the last form did, already in the person's language.
    notice: String,
    error: String,
}

impl StaffingPage {
    fn history_kind(&self, kind: &str) -> &'static str {
        self.ctx.t(&format!("staffing.kind.{kind}"))
    }
    fn post_name(&self, post: &str) -> &'static str {
        self.ctx.t(&format!("staffing.post.{post}"))
    }
    fn cover_status(&self, s: &str) -> &'static str {
        self.ctx.t(&format!("staffing.cover.{s}"))
    }
}

#[derive(Deserialize, Default)]
struct ViewParams {
    region: Option<String>,
    done: Option<String>,
}

async fn render(
    st: &SharedState,
    ctx: &Ctx,
    region: Option<&str>,
    notice: String,
    error: String,
    status: StatusCode,
) -> Page {
    let user = ctx.require_user()?;
    if !allows(user.role, Perm::ReadStaffing) {
        return Err(WebError::Forbidden);
    }
    let view = staffing::view(st, user, region).await?;
    let (children, region_name) = if view.region.is_empty() {
        // The root administrator: the counties to choose from.
        let kids = st
            .store
            .regions(None, Some(3), false)
            .await?
            .into_iter()
            .map(|r| RegionLink {
                code: r.code,
                name: r.name,
            })
            .collect();
        (kids, String::new())
    } else {
        let full = format!("{:0<12}", view.region);
        let name = st
            .store
            .region(&full)
            .await
            .map(|r| r.name)
            .unwrap_or_default();
        let kids = st
            .store
            .regions(Some(&full), None, false)
            .await?
            .into_iter()
            .map(|r| RegionLink {
                code: r.code,
                name: r.name,
            })
            .collect();
        (kids, name)
    };
    // Above a township the grids are too many for one table: the page asks for a subdivision.
    let overview = view.region.len() < 9;
    let page = StaffingPage {
        ctx: ctx.clone(),
        overview,
        may_manage: allows(user.role, Perm::ManageStaffing),
        may_import: allows(user.role, Perm::ImportAccounts),
        view,
        children,
        region_name,
        notice,
        error,
    };
    Ok(ctx.render_status(status, &page))
}

async fn show(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(p): WebQuery<ViewParams>,
) -> Response {
    let notice = match p.done.as_deref() {
        Some(d @ ("assign" | "vacate" | "handover" | "cover" | "cancel")) => {
            ctx.t(&format!("staffing.done.{d}")).to_string()
        }
        _ => String::new(),
    };
    let r = render(
        &st,
        &ctx,
        p.region.as_deref(),
        notice,
        String::new(),
        StatusCode::OK,
    )
    .await;
    respond(&ctx, r)
}

/// A refused form: the page again with the reason (422 for a field, 404 stays a 404 page).
async fn refused(st: &SharedState, ctx: &Ctx, region: Option<&str>, e: AppError) -> Page {
    if !e.kind.is_client_error()
        || matches!(
            e.kind,
            crate::app::error::ErrorKind::NotFound | crate::app::error::ErrorKind::Forbidden
        )
    {
        return Err(e.into());
    }
    let msg = match &e.field {
        Some(f) => ctx.lang.field_error(
            f,
            e.message
                .strip_prefix(&format!("{f}: "))
                .unwrap_or(&e.message),
        ),
        None => e.message.clone(),
    };
    let status = if e.kind == crate::app::error::ErrorKind::Conflict {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(st, ctx, region, String::new(), msg, status).await
}

fn back(region: &str, done: &str) -> Response {
    see_other(&format!(
        "/work/staffing?region={}&done={done}",
        urlencode(region)
    ))
}

#[derive(Deserialize)]
struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    grid_code: String,
    #[serde(default)]
    post: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    note: String,
}

async fn assign(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebForm(f): WebForm<AssignForm>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        ctx.check_csrf(&f.csrf)?;
        let to = Some(f.user_id.as_str()).filter(|s| !s.trim().is_empty());
        match staffing::assign(&st, user, &f.grid_code, &f.post, to, Some(&f.note), "web").await {
            Ok(ChangeReport { kind, .. }) => Ok(back(&f.region, &kind)),
            Err(e) => refused(&st, &ctx, Some(&f.region), e).await,
        }
    }
    .await;
    respond(&ctx, r)
}

#[derive(Deserialize)]
struct HandoverForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    grid_code: String,
    #[serde(default)]
    to_user_id: String,
    #[serde(default)]
    note: String,
}

async fn handover(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebForm(f): WebForm<HandoverForm>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        ctx.check_csrf(&f.csrf)?;
        match staffing::handover(&st, user, &f.grid_code, &f.to_user_id, Some(&f.note), "web").await
        {
            Ok(rep) => {
                let m = rep.moved.unwrap_or(staffing::MovedView {
                    campaign_tasks: 0,
                    awaiting_verification: 0,
                    open_cases: 0,
                });
                let notice = format!(
                    "{} {} → {}: {} {} · {} {} · {} {}",
                    ctx.t("staffing.done.handover"),
                    rep.previous.map(|p| p.display_name).unwrap_or_default(),
                    rep.user.map(|p| p.display_name).unwrap_or_default(),
                    ctx.t("staffing.moved.tasks"),
                    m.campaign_tasks,
                    ctx.t("staffing.moved.verify"),
                    m.awaiting_verification,
                    ctx.t("staffing.moved.open"),
                    m.open_cases
                );
                render(
                    &st,
                    &ctx,
                    Some(&f.region),
                    notice,
                    String::new(),
                    StatusCode::OK,
                )
                .await
            }
            Err(e) => refused(&st, &ctx, Some(&f.region), e).await,
        }
    }
    .await;
    respond(&ctx, r)
}

#[derive(Deserialize)]
struct CoverForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    absent_user_id: String,
    #[serde(default)]
    cover_user_id: String,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    ends_at: String,
    #[serde(default)]
    note: String,
}

async fn cover(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebForm(f): WebForm<CoverForm>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        ctx.check_csrf(&f.csrf)?;
        let input = CoverInput {
            id: Some(f.id.clone()),
            absent_user_id: f.absent_user_id.clone(),
            cover_user_id: f.cover_user_id.clone(),
            starts_at: f.starts_at.clone(),
            ends_at: f.ends_at.clone(),
            note: Some(f.note.clone()),
        };
        match staffing::create_cover(&st, user, &input, "web").await {
            Ok(_) => Ok(back(&f.region, "cover")),
            Err(e) => refused(&st, &ctx, Some(&f.region), e).await,
        }
    }
    .await;
    respond(&ctx, r)
}

#[derive(Deserialize)]
struct CancelForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    region: String,
}

async fn cancel(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(f): WebForm<CancelForm>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        ctx.check_csrf(&f.csrf)?;
        staffing::cancel_cover(&st, user, &id, "web").await?;
        Ok(back(&f.region, "cancel"))
    }
    .await;
    respond(&ctx, r)
}

#[derive(Template)]
#[template(path = "staffing_import.html")]
struct ImportPage {
    ctx: Ctx,
    report: Option<AccountsReport>,
    problems: Vec<RowProblem>,
    problem_count: usize,
    error: String,
}

fn import_page(
    ctx: &Ctx,
    report: Option<AccountsReport>,
    problems: Vec<RowProblem>,
    problem_count: usize,
    error: String,
) -> Response {
    let status = if problem_count > 0 || !error.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    ctx.render_status(
        status,
        &ImportPage {
            ctx: ctx.clone(),
            report,
            problems,
            problem_count,
            error,
        },
    )
}

async fn import_form(ctx: Ctx) -> Response {
    let r = (|| {
        let user = ctx.require_user()?;
        if !allows(user.role, Perm::ImportAccounts) {
            return Err(WebError::Forbidden);
        }
        Ok(import_page(&ctx, None, vec![], 0, String::new()))
    })();
    respond(&ctx, r)
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn download(bytes: Vec<u8>, content_type: &'static str, disposition: &'static str) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(disposition),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn import(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebMultipart(mut mp): WebMultipart,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        let mut csrf = String::new();
        let mut file = vec![];
        let mut as_file = false;
        while let Ok(Some(f)) = mp.next_field().await {
            match f.name().unwrap_or("") {
                "csrf" => csrf = f.text().await.unwrap_or_default(),
                "result" => as_file = f.text().await.unwrap_or_default() == "xlsx",
                "file" => {
                    ctx.check_csrf(&csrf)?;
                    file = f.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                }
                _ => {}
            }
        }
        ctx.check_csrf(&csrf)?;
        if !allows(user.role, Perm::ImportAccounts) {
            return Err(WebError::Forbidden);
        }
        if file.is_empty() {
            return Ok(import_page(
                &ctx,
                None,
                vec![],
                0,
                ctx.t("places.import.no_file").into(),
            ));
        }
        match accounts_io::import(&st, user, &file, "web", Utc::now()).await {
            Ok(report) if as_file => Ok(download(
                accounts_io::result_file(&report, true)?,
                XLSX,
                "attachment; filename=\"accounts-imported.xlsx\"",
            )),
            Ok(report) => Ok(import_page(&ctx, Some(report), vec![], 0, String::new())),
            Err(e) if e.kind.is_client_error() => {
                let extra = e.extra.clone().unwrap_or_default();
                let problems: Vec<RowProblem> =
                    serde_json::from_value(extra["problems"].clone()).unwrap_or_default();
                let count = extra["problem_count"]
                    .as_u64()
                    .map_or(problems.len(), |n| n as usize);
                let error = if problems.is_empty() {
                    e.message.clone()
                } else {
                    String::new()
                };
                Ok(import_page(&ctx, None, problems, count, error))
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&ctx, r)
}

async fn template(ctx: Ctx) -> Response {
    let r = (|| {
        let user = ctx.require_user()?;
        if !allows(user.role, Perm::ImportAccounts) {
            return Err(WebError::Forbidden);
        }
        Ok(download(
            accounts_io::template_xlsx()?,
            XLSX,
            "attachment; filename=\"accounts-template.xlsx\"",
        ))
    })();
    respond(&ctx, r)
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/work/staffing", get(show))
        .route("/work/staffing/assign", post(assign))
        .route("/work/staffing/handover", post(handover))
        .route("/work/staffing/covers", post(cover))
        .route("/work/staffing/covers/{id}/cancel", post(cancel))
        .route(
            "/work/staffing/accounts-import",
            get(import_form).post(import),
        )
        .route("/work/staffing/accounts-template.xlsx", get(template))
}
