//! The import pages of the two registers — places (场所) and addresses (门牌) — (every bad row
//! listed by row, column and reason; nothing written), and the places' downloads: the places in
//! scope as CSV or XLSX, the template.

use super::ctx::{Ctx, WebError, WebMultipart, WebQuery, respond};
use super::i18n::Lang;
use super::places::ListParams;
use crate::app::places::ListQuery;
use crate::app::places_io::{self, ImportReport, RowProblem};
use crate::app::policy::{Perm, allows};
use crate::app::state::SharedState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

/// Which register a page imports into.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Register {
    Places,
    Addresses,
}

impl Register {
    /// Its pages' path and the prefix of its words.
    fn base(self) -> &'static str {
        match self {
            Register::Places => "places",
            Register::Addresses => "addresses",
        }
    }
    fn perm(self) -> Perm {
        match self {
            Register::Places => Perm::ManagePlaces,
            Register::Addresses => Perm::ManageAddresses,
        }
    }
}

#[derive(Template)]
#[template(path = "places_import.html")]
struct ImportPage {
    ctx: Ctx,
    register: Register,
    report: Option<ImportReport>,
    problems: Vec<RowProblem>,
    problem_count: usize,
    error: String,
}

impl ImportPage {
    /// A column as the person reads it: its label, then the field name the file's header carries.
    fn column(&self, p: &RowProblem) -> String {
        let key = match p.column.as_str() {
            "lat" => "report.lat".to_string(),
            "lon" => "report.lon".to_string(),
            "grid_code" if self.register == Register::Places => "place.grid".to_string(),
            c if self.register == Register::Places => format!("place.{c}"),
            "grid_code" => "addresses.grid".to_string(),
            c => format!("addresses.{c}"),
        };
        match self.ctx.lang.opt(&key) {
            "" => p.column.clone(),
            label => format!("{label} ({})", p.column),
        }
    }
    /// The reason in the person's language where the field has a message, with the precise reason.
    fn reason(&self, p: &RowProblem) -> String {
        match (
            self.ctx.lang,
            self.ctx.lang.opt(&format!("place.err.{}", p.column)),
        ) {
            (Lang::Zh, m) if !m.is_empty() && self.register == Register::Places => {
                format!("{m}（{}）", p.reason)
            }
            _ => p.reason.clone(),
        }
    }
}

fn import_page(
    ctx: &Ctx,
    register: Register,
    report: Option<ImportReport>,
    problems: Vec<RowProblem>,
    problem_count: usize,
    error: String,
) -> Response {
    let status = if problem_count > 0 || !error.is_empty() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    let page = ImportPage {
        ctx: ctx.clone(),
        register,
        report,
        problems,
        problem_count,
        error,
    };
    ctx.render_status(status, &page)
}

fn form(ctx: Ctx, register: Register) -> Response {
    let r = (|| {
        let user = ctx.require_user()?;
        if !allows(user.role, register.perm()) {
            return Err(WebError::Forbidden);
        }
        Ok(import_page(&ctx, register, None, vec![], 0, String::new()))
    })();
    respond(&ctx, r)
}

pub(super) async fn import_form(ctx: Ctx) -> Response {
    form(ctx, Register::Places)
}

pub(super) async fn address_import_form(ctx: Ctx) -> Response {
    form(ctx, Register::Addresses)
}

pub(super) async fn import(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebMultipart(mp): WebMultipart,
) -> Response {
    import_into(st, ctx, mp, Register::Places).await
}

pub(super) async fn address_import(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebMultipart(mp): WebMultipart,
) -> Response {
    import_into(st, ctx, mp, Register::Addresses).await
}

async fn import_into(
    st: SharedState,
    ctx: Ctx,
    mut mp: axum::extract::Multipart,
    register: Register,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        let mut csrf = String::new();
        let mut file = vec![];
        while let Ok(Some(f)) = mp.next_field().await {
            match f.name().unwrap_or("") {
                "csrf" => csrf = f.text().await.unwrap_or_default(),
                "file" => {
                    // The token is checked before the file is read (the form sends it first).
                    ctx.check_csrf(&csrf)?;
                    file = f.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                }
                _ => {}
            }
        }
        ctx.check_csrf(&csrf)?;
        if !allows(user.role, register.perm()) {
            return Err(WebError::Forbidden);
        }
        if file.is_empty() {
            return Ok(import_page(
                &ctx,
                register,
                None,
                vec![],
                0,
                ctx.t("places.import.no_file").into(),
            ));
        }
        let done = match register {
            Register::Places => places_io::import(&st, user, &file, "web", Utc::now()).await,
            Register::Addresses => {
                crate::app::addresses_io::import(&st, user, &file, "web", Utc::now())
                    .await
                    .map(|r| ImportReport {
                        rows: r.rows,
                        created: r.created,
                        updated: r.updated,
                        unchanged: r.unchanged,
                    })
            }
        };
        match done {
            Ok(report) => Ok(import_page(
                &ctx,
                register,
                Some(report),
                vec![],
                0,
                String::new(),
            )),
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
                Ok(import_page(&ctx, register, None, problems, count, error))
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&ctx, r)
}

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

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

pub(super) async fn export(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(file): Path<String>,
    WebQuery(p): WebQuery<ListParams>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        let q = ListQuery {
            after: None,
            limit: None,
            ..p.query()
        };
        match file.as_str() {
            "places.csv" => {
                let b = places_io::export(&st, user, &q, false, "web").await?;
                Ok(download(
                    b,
                    "text/csv; charset=utf-8",
                    "attachment; filename=\"places.csv\"",
                ))
            }
            "places.xlsx" => {
                let b = places_io::export(&st, user, &q, true, "web").await?;
                Ok(download(b, XLSX, "attachment; filename=\"places.xlsx\""))
            }
            "template.xlsx" => {
                if !allows(user.role, Perm::ReadPlaces) {
                    return Err(WebError::Forbidden);
                }
                Ok(download(
                    places_io::template_xlsx()?,
                    XLSX,
                    "attachment; filename=\"places-template.xlsx\"",
                ))
            }
            _ => Err(WebError::NotFound),
        }
    }
    .await;
    respond(&ctx, r)
}
