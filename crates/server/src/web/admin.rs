//! Administration pages (系统管理): imports of divisions, grids and the calendar by upload (the
//! same import functions as the API and CLI, all or nothing), the categories with their
//! deadlines, the departments, and the accounts with their roles.

use super::ctx::{Ctx, WebError, WebForm, WebMultipart, WebQuery, respond, see_other};
use super::public::FormErrors;
use crate::app::auth::{check_password, hash_password};
use crate::app::import::ImportError;
use crate::app::state::SharedState;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use safegrid_domain::Role;
use safegrid_domain::codes::{GridCode, RegionCode};
use safegrid_store::{AuditEntry, NewUser, User, UserChange};
use serde::Deserialize;

pub struct AccountRow {
    pub id: String,
    /// The role's code, for the edit form's select.
    pub role_code: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub department: String,
    pub scope: String,
    pub disabled: bool,
}

pub struct CategoryRowView {
    pub code: String,
    pub name: String,
    pub department_kind: String,
    pub normal: String,
    pub urgent: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    ctx: Ctx,
    accounts: Vec<AccountRow>,
    departments: Vec<(String, String, String, bool)>,
    categories: Vec<CategoryRowView>,
    roles: Vec<(String, String)>,
    message: String,
    errors: FormErrors,
    new_username: String,
}

#[derive(Deserialize, Default)]
struct AdminQuery {
    done: Option<String>,
    n: Option<usize>,
}

async fn render(
    st: &SharedState,
    ctx: &Ctx,
    message: String,
    errors: FormErrors,
    new_username: String,
) -> Result<Response, WebError> {
    let admin = ctx.require_role(&[Role::Admin])?;
    let lang = ctx.lang;
    let depts = crate::app::scope::department_regions(st).await?;
    let accounts = st
        .store
        .users()
        .await?
        .into_iter()
        .filter(|u| crate::app::scope::manages(admin, u, &depts))
        .map(|u| AccountRow {
            id: u.id.to_string(),
            role_code: u.role.as_str().to_string(),
            scope: u
                .regions
                .iter()
                .chain(u.grids.iter())
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            username: u.username,
            display_name: u.display_name,
            role: if ctx.is_en() {
                u.role.as_str().to_string()
            } else {
                u.role.zh().to_string()
            },
            department: u.department.unwrap_or_default(),
            disabled: u.disabled,
        })
        .collect();
    let departments = st
        .store
        .departments()
        .await?
        .into_iter()
        .map(|d| {
            let name = super::view::department_name(&d, lang);
            (d.code, name, d.region_code, d.active)
        })
        .collect();
    let limits = st.limits();
    let mut cats: Vec<_> = st.categories().values().cloned().collect();
    cats.sort_by(|a, b| a.code.cmp(&b.code));
    use safegrid_domain::catalog::{Stage, Urgency};
    use safegrid_domain::engine::Limits;
    let categories = cats
        .iter()
        .map(|c| CategoryRowView {
            code: c.code.clone(),
            name: if ctx.is_en() {
                c.name_en.clone()
            } else {
                c.name_zh.clone()
            },
            department_kind: c.department_kind.clone(),
            normal: lang.limit(
                &limits
                    .limit(&c.code, Urgency::Normal, Stage::Handle)
                    .to_string(),
            ),
            urgent: lang.limit(
                &limits
                    .limit(&c.code, Urgency::Urgent, Stage::Handle)
                    .to_string(),
            ),
        })
        .collect();
    let roles = Role::ALL_HUMAN
        .iter()
        .map(|r| {
            (
                r.as_str().to_string(),
                if ctx.is_en() {
                    r.as_str().replace('_', " ")
                } else {
                    r.zh().to_string()
                },
            )
        })
        .collect();
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = AdminPage {
        ctx: ctx.clone(),
        accounts,
        departments,
        categories,
        roles,
        message,
        errors,
        new_username,
    };
    Ok(ctx.render_status(status, &page))
}

async fn admin_page(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(q): WebQuery<AdminQuery>,
) -> Response {
    let message = match (q.done.as_deref(), q.n) {
        (Some("user"), _) => ctx.t("admin.user_created").to_string(),
        (Some("category" | "department"), _) => ctx.t("admin.saved").to_string(),
        (Some(what), Some(n)) => format!("{} {what}: {n}", ctx.t("admin.imported")),
        _ => String::new(),
    };
    let r = render(&st, &ctx, message, FormErrors::default(), String::new()).await;
    respond(&ctx, r)
}

async fn import(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(what): Path<String>,
    WebMultipart(mut mp): WebMultipart,
) -> Response {
    let r = async {
        if !ctx.require_role(&[Role::Admin])?.is_root() {
            return Err(WebError::Forbidden);
        }
        let mut csrf = String::new();
        let mut file = vec![];
        let mut crs = "wgs84".to_string();
        while let Ok(Some(f)) = mp.next_field().await {
            match f.name().unwrap_or("") {
                "csrf" => csrf = f.text().await.unwrap_or_default(),
                "crs" => crs = f.text().await.unwrap_or_default(),
                "file" => {
                    // The token before the file is read (the form sends it first).
                    ctx.check_csrf(&csrf)?;
                    file = f.bytes().await.map(|b| b.to_vec()).unwrap_or_default()
                }
                _ => {}
            }
        }
        ctx.check_csrf(&csrf)?;
        let mut errors = FormErrors::default();
        if file.is_empty() {
            errors.add(
                &format!("file_{what}"),
                ctx.t("admin.file_required").to_string(),
            );
            return render(&st, &ctx, String::new(), errors, String::new()).await;
        }
        let result = match what.as_str() {
            "divisions" => st.import_divisions(&file).await,
            "calendar" => st.import_calendar(&file).await,
            "grids" => {
                let crs: safegrid_geo::Crs = match crs.parse() {
                    Ok(c) => c,
                    Err(_) => {
                        errors.add(
                            "file_grids",
                            ctx.lang.field_error("crs", "must be wgs84 or gcj02"),
                        );
                        return render(&st, &ctx, String::new(), errors, String::new()).await;
                    }
                };
                match std::str::from_utf8(&file) {
                    Ok(text) => st.import_grids(text, crs, "code", "name").await,
                    Err(_) => {
                        errors.add("file_grids", ctx.t("admin.not_utf8").to_string());
                        return render(&st, &ctx, String::new(), errors, String::new()).await;
                    }
                }
            }
            _ => return Err(WebError::NotFound),
        };
        match result {
            Ok(rep) => Ok(see_other(&format!(
                "/work/admin?done={what}&n={}",
                rep.imported
            ))),
            Err(ImportError::Refused(f)) => {
                let detail = f
                    .problems
                    .iter()
                    .take(5)
                    .map(|p| {
                        format!(
                            "{} {}: {}: {}",
                            ctx.t("admin.line"),
                            p.at,
                            p.field,
                            p.reason
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                errors.add(
                    &format!("file_{what}"),
                    format!("{} {detail}", ctx.t("admin.refused")),
                );
                render(&st, &ctx, String::new(), errors, String::new()).await
            }
            Err(ImportError::Internal(e)) => Err(e.into()),
        }
    }
    .await;
    respond(&ctx, r)
}

/// The role, scope and department of an account form, checked; problems go to `errors` by field.
struct AccountFields {
    role: Option<Role>,
    regions: Vec<String>,
    grids: Vec<String>,
    department: Option<String>,
}

async fn account_fields(
    st: &SharedState,
    admin: &User,
    lang: super::i18n::Lang,
    role: &str,
    scope: Option<&str>,
    department: Option<&str>,
    errors: &mut FormErrors,
) -> AccountFields {
    let role: Option<Role> = role.parse().ok().filter(|r| Role::ALL_HUMAN.contains(r));
    if role.is_none() {
        errors.add("role", lang.field_error("role", "choose a role"));
    }
    let (mut regions, mut grids) = (vec![], vec![]);
    for code in scope
        .unwrap_or("")
        .split([',', ' ', '，'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let parsed = if code.len() == 15 {
            GridCode::parse(code).map(|g| grids.push(g.as_str().to_string()))
        } else {
            RegionCode::parse(code).map(|r| regions.push(r.as_str().to_string()))
        };
        if let Err(e) = parsed {
            errors.add(
                "scope",
                lang.field_error("scope", &format!("{code}: {}", e.reason)),
            );
        }
    }
    let department = department
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_string);
    if role == Some(Role::Handler) && department.is_none() {
        errors.add(
            "department",
            lang.field_error("department", "is required for a department handler"),
        );
    }
    if let Some(d) = &department
        && st.store.department(d).await.is_err()
    {
        errors.add(
            "department",
            lang.field_error("department", &format!("unknown department {d}")),
        );
    }
    // The same rule as the API's: nobody grants a scope beyond their own.
    if let (Some(role), false) = (role, errors.any()) {
        let depts = crate::app::scope::department_regions(st)
            .await
            .unwrap_or_default();
        let grant = safegrid_domain::scope::Grant {
            role,
            regions: &regions,
            grids: &grids,
            department_region: department
                .as_deref()
                .map(|d| depts.get(d).map(String::as_str).unwrap_or(d)),
        };
        if let Err(r) = safegrid_domain::scope::may_grant(admin.grant(None), admin.is_root(), grant)
        {
            let field = if r.field == "department" {
                "department"
            } else {
                "scope"
            };
            errors.add(field, lang.field_error(field, &r.reason));
        }
    }
    AccountFields {
        role,
        regions,
        grids,
        department,
    }
}

#[derive(Deserialize)]
struct UserForm {
    csrf: String,
    username: String,
    display_name: Option<String>,
    role: String,
    scope: Option<String>,
    department: Option<String>,
    password: String,
}

async fn create_user(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebForm(f): WebForm<UserForm>,
) -> Response {
    let r = async {
        ctx.require_role(&[Role::Admin])?;
        ctx.check_csrf(&f.csrf)?;
        let mut errors = FormErrors::default();
        let lang = ctx.lang;
        let username = f.username.trim().to_string();
        if username.is_empty()
            || username.chars().count() > 50
            || username
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            errors.add(
                "username",
                lang.field_error("username", "1 to 50 characters, no spaces"),
            );
        }
        let AccountFields {
            role,
            regions,
            grids,
            department,
        } = account_fields(&st, ctx.require_user()?, lang, &f.role, f.scope.as_deref(), f.department.as_deref(), &mut errors).await;
        if let Err(e) = check_password(&f.password, &username) {
            errors.add("password", lang.field_error("password", &e.reason));
        }
        if errors.any() {
            return render(&st, &ctx, String::new(), errors, username).await;
        }
        let hash = hash_password(f.password.clone()).await?;
        let created = st
            .store
            .create_user(&NewUser {
                username: username.clone(),
                display_name: f
                    .display_name
                    .clone()
                    .map(|d| d.trim().to_string())
                    .filter(|d| !d.is_empty())
                    .unwrap_or_else(|| username.clone()),
                password_hash: hash,
                role: role.unwrap_or(Role::Citizen),
                department,
                regions,
                grids,
            })
            .await;
        match created {
            Ok(u) => {
                audit_account(&st, &ctx, "account.create", &u, serde_json::json!({
                    "role": u.role, "department": u.department, "regions": u.regions, "grids": u.grids, "via": "web",
                }))
                .await?;
                Ok(see_other("/work/admin?done=user"))
            }
            Err(safegrid_store::StoreError::Conflict(_)) => {
                errors.add("username", lang.field_error("username", "is already taken"));
                render(&st, &ctx, String::new(), errors, username).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&ctx, r)
}

async fn audit_account(
    st: &SharedState,
    ctx: &Ctx,
    action: &str,
    target: &User,
    detail: serde_json::Value,
) -> Result<(), WebError> {
    let admin = ctx.require_user()?;
    st.store
        .audit(&AuditEntry::new(
            Some(admin.id),
            admin.username.clone(),
            action,
            "user",
            Some(target.username.clone()),
            detail,
        ))
        .await
        .map_err(|_| WebError::Internal)?;
    Ok(())
}

#[derive(Deserialize)]
struct UserEditForm {
    csrf: String,
    role: String,
    scope: Option<String>,
    department: Option<String>,
    /// "on" when the box is ticked.
    disabled: Option<String>,
    /// A new password; empty keeps the current one.
    password: Option<String>,
}

/// Changes an account's role, scope, department, password or disables it (audited; a narrowed
/// scope or role, or disabling, ends the account's sessions at once).
async fn edit_user(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(f): WebForm<UserEditForm>,
) -> Response {
    let r = async {
        ctx.require_role(&[Role::Admin])?;
        ctx.check_csrf(&f.csrf)?;
        let me = ctx.require_user()?;
        let lang = ctx.lang;
        let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| WebError::NotFound)?;
        let cur = st.store.user(id).await.map_err(|_| WebError::NotFound)?;
        let depts = crate::app::scope::department_regions(&st).await?;
        if !crate::app::scope::manages(me, &cur, &depts) {
            return Err(WebError::NotFound);
        }
        let mut errors = FormErrors::default();
        let AccountFields {
            role,
            regions,
            grids,
            department,
        } = account_fields(&st, ctx.require_user()?, lang, &f.role, f.scope.as_deref(), f.department.as_deref(), &mut errors).await;
        let disabled = f.disabled.as_deref() == Some("on");
        if id == me.id && (disabled || role != Some(Role::Admin)) {
            errors.add(
                "role",
                lang.field_error("role", "you may not disable or demote your own account"),
            );
        }
        let password = f.password.as_deref().map(str::trim).filter(|p| !p.is_empty());
        if let Some(p) = password
            && let Err(e) = check_password(p, &cur.username)
        {
            errors.add("password", lang.field_error("password", &e.reason));
        }
        if errors.any() {
            return render(&st, &ctx, String::new(), errors, String::new()).await;
        }
        let u = st
            .store
            .update_user(
                id,
                &UserChange {
                    role,
                    department: Some(department),
                    regions: Some(regions),
                    grids: Some(grids),
                    disabled: Some(disabled),
                    ..Default::default()
                },
            )
            .await?;
        if let Some(p) = password {
            st.store
                .set_password_hash(id, &hash_password(p.to_string()).await?)
                .await?;
            st.store.delete_user_sessions(id).await?;
        }
        audit_account(&st, &ctx, "account.update", &u, serde_json::json!({
            "before": { "role": cur.role, "department": cur.department, "regions": cur.regions, "grids": cur.grids, "disabled": cur.disabled },
            "after": { "role": u.role, "department": u.department, "regions": u.regions, "grids": u.grids, "disabled": u.disabled },
            "password_changed": password.is_some(), "via": "web",
        }))
        .await?;
        Ok(see_other("/work/admin?done=user"))
    }
    .await;
    respond(&ctx, r)
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/work/admin/users/{id}", post(edit_user))
        .route("/work/admin", get(admin_page))
        .route("/work/admin/import/{what}", post(import))
        .route("/work/admin/users", post(create_user))
        .merge(catalog_router())
}

// ---------------------------------------------------------------- catalog edits

/// One limit field of the category form: urgency × stage.
pub struct LimitField {
    pub name: String,
    pub urgency: String,
    pub stage: String,
    pub value: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "admin_category.html")]
struct CategoryPage {
    ctx: Ctx,
    code: String,
    name: String,
    department_kind: String,
    kinds: Vec<String>,
    active: bool,
    stages: Vec<(String, &'static str)>,
    urgencies: Vec<(String, &'static str)>,
    fields: Vec<LimitField>,
    errors: FormErrors,
}

impl CategoryPage {
    pub fn field(&self, urgency: &str, stage: &str) -> Option<&LimitField> {
        self.fields
            .iter()
            .find(|f| f.urgency == urgency && f.stage == stage)
    }
}

async fn category_page_inner(
    st: &SharedState,
    ctx: &Ctx,
    code: &str,
    submitted: Option<&std::collections::HashMap<String, String>>,
    errors: FormErrors,
) -> Result<Response, WebError> {
    use safegrid_domain::catalog::{Stage, Urgency};
    use safegrid_domain::engine::Limits;
    ctx.require_role(&[Role::Admin])?;
    let cat = st
        .categories()
        .get(code)
        .cloned()
        .ok_or(WebError::NotFound)?;
    let limits = st.limits();
    let mut fields = vec![];
    for u in Urgency::ALL {
        for s in Stage::ALL {
            let name = format!("limit_{}_{}", u.as_str(), s.as_str());
            let value = submitted
                .and_then(|m| m.get(&name).cloned())
                .unwrap_or_else(|| limits.limit(&cat.code, *u, *s).to_string());
            let error = errors.get(&name).to_string();
            fields.push(LimitField {
                name,
                urgency: u.as_str().into(),
                stage: s.as_str().into(),
                value,
                error,
            });
        }
    }
    let mut kinds: Vec<String> = st
        .store
        .departments()
        .await?
        .into_iter()
        .map(|d| d.kind)
        .collect();
    kinds.sort();
    kinds.dedup();
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = CategoryPage {
        ctx: ctx.clone(),
        code: cat.code.clone(),
        name: if ctx.is_en() {
            cat.name_en.clone()
        } else {
            cat.name_zh.clone()
        },
        department_kind: submitted
            .and_then(|m| m.get("department_kind").cloned())
            .unwrap_or(cat.department_kind.clone()),
        kinds,
        active: submitted.map_or(cat.active, |m| m.get("active").is_some_and(|v| v == "on")),
        stages: Stage::ALL
            .iter()
            .map(|s| {
                (
                    s.as_str().to_string(),
                    ctx.lang.t(&format!("stage.{}", s.as_str())),
                )
            })
            .collect(),
        urgencies: Urgency::ALL
            .iter()
            .map(|u| {
                (
                    u.as_str().to_string(),
                    ctx.lang.t(&format!("urgency.{}", u.as_str())),
                )
            })
            .collect(),
        fields,
        errors,
    };
    Ok(ctx.render_status(status, &page))
}

async fn category_page(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(code): Path<String>,
) -> Response {
    let r = category_page_inner(&st, &ctx, &code, None, FormErrors::default()).await;
    respond(&ctx, r)
}

async fn category_save(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(code): Path<String>,
    WebForm(form): WebForm<std::collections::HashMap<String, String>>,
) -> Response {
    use safegrid_domain::calendar::Limit;
    use safegrid_domain::catalog::{Stage, Urgency};
    let r = async {
        if !ctx.require_role(&[Role::Admin])?.is_root() {
            return Err(WebError::Forbidden);
        }
        ctx.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))?;
        let mut cat = st
            .categories()
            .get(&code)
            .cloned()
            .ok_or(WebError::NotFound)?;
        let mut errors = FormErrors::default();
        let mut limits = vec![];
        for u in Urgency::ALL {
            for s in Stage::ALL {
                let name = format!("limit_{}_{}", u.as_str(), s.as_str());
                let text = form
                    .get(&name)
                    .map(|v| v.trim().to_string())
                    .unwrap_or_default();
                match text.parse::<Limit>() {
                    Ok(l) => limits.push((
                        cat.code.clone(),
                        u.as_str().to_string(),
                        s.as_str().to_string(),
                        l.to_string(),
                    )),
                    Err(e) => errors.add(&name, ctx.lang.field_error("limit", &e.reason)),
                }
            }
        }
        let kind = form
            .get("department_kind")
            .map(|v| v.trim().to_string())
            .unwrap_or_default();
        let known = st.store.departments().await?.iter().any(|d| d.kind == kind);
        if !known {
            errors.add(
                "department_kind",
                ctx.lang
                    .field_error("department", "unknown department kind"),
            );
        }
        if errors.any() {
            return category_page_inner(&st, &ctx, &code, Some(&form), errors).await;
        }
        cat.department_kind = kind;
        cat.active = form.get("active").is_some_and(|v| v == "on");
        st.store.upsert_categories(&[cat], &limits).await?;
        st.reload_catalog().await?;
        Ok(see_other("/work/admin?done=category"))
    }
    .await;
    respond(&ctx, r)
}

async fn department_toggle(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(code): Path<String>,
    WebForm(form): WebForm<std::collections::HashMap<String, String>>,
) -> Response {
    let r = async {
        let admin = ctx.require_role(&[Role::Admin])?;
        ctx.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))?;
        let mut d = st.store.department(&code).await?;
        if !admin.covers_region(&d.region_code) {
            return Err(WebError::NotFound);
        }
        d.active = !d.active;
        st.store.upsert_departments(&[d]).await?;
        Ok(see_other("/work/admin?done=department#departments"))
    }
    .await;
    respond(&ctx, r)
}

pub fn catalog_router() -> Router<SharedState> {
    Router::new()
        .route(
            "/work/admin/categories/{code}",
            get(category_page).post(category_save),
        )
        .route(
            "/work/admin/departments/{code}/toggle",
            post(department_toggle),
        )
}
