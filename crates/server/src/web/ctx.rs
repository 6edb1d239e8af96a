//! What every page needs from its request: the language, the logged-in account (session cookie
//! only — pages never take bearer tokens), the CSRF token of the forms it renders, and the
//! rendering of pages and errors in the person's language.

use super::i18n::Lang;
use crate::app::auth::{csrf_token, hash_secret, random_secret};
use crate::app::error::AppError;
use crate::app::state::SharedState;
use crate::http_common::{SESSION_COOKIE, cookie_value};
use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use safegrid_domain::Role;
use safegrid_store::{StoreError, User};

/// The cookie behind the CSRF token of public forms (no session): random, short-lived.
pub const CSRF_COOKIE: &str = "safegrid_csrf";
pub const LANG_COOKIE: &str = "lang";

#[derive(Clone)]
pub struct Ctx {
    pub lang: Lang,
    pub user: Option<User>,
    /// The token every state-changing form of this page carries.
    pub csrf: String,
    /// Path and query of this page (for the language switch to come back to).
    pub here: String,
    /// A fresh `safegrid_csrf` cookie to set with the response.
    new_csrf_cookie: Option<String>,
    /// The map tile template (`tile_url`), empty for none: the maps' base layer, which the
    /// service worker keeps for offline use (web/offline.rs).
    pub tiles: String,
}

impl Ctx {
    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }
    pub fn is_en(&self) -> bool {
        self.lang == Lang::En
    }
    pub fn lang_code(&self) -> &'static str {
        self.lang.html_code()
    }
    /// The language switch target: the other language, coming back here.
    pub fn switch_href(&self) -> String {
        let to = if self.is_en() { "zh" } else { "en" };
        format!("/lang?to={to}&next={}", urlencode(&self.here))
    }
    pub fn switch_label(&self) -> &'static str {
        if self.is_en() { "中文" } else { "English" }
    }
    /// `aria-current="page"` for the navigation link of this page.
    pub fn current(&self, path: &str) -> &'static str {
        let here = self.here.split('?').next().unwrap_or("");
        if here == path { "page" } else { "false" }
    }
    pub fn role(&self) -> Option<Role> {
        self.user.as_ref().map(|u| u.role)
    }
    pub fn is_staff(&self) -> bool {
        self.role().is_some_and(|r| r != Role::Citizen)
    }
    pub fn role_name(&self) -> String {
        match &self.user {
            Some(u) if self.is_en() => u.role.as_str().replace('_', " "),
            Some(u) => u.role.zh().to_string(),
            None => String::new(),
        }
    }
    pub fn username(&self) -> &str {
        self.user
            .as_ref()
            .map(|u| u.username.as_str())
            .unwrap_or("")
    }
    /// Whether the account's role is one of `roles`, comma-separated names as in `Role::as_str`.
    pub fn has_role(&self, roles: &str) -> bool {
        self.role()
            .is_some_and(|r| roles.split(',').any(|x| x.trim() == r.as_str()))
    }

    /// The form's token must match the one this request's cookies derive.
    pub fn check_csrf(&self, sent: &str) -> Result<(), WebError> {
        let a = sent.trim().as_bytes();
        let b = self.csrf.as_bytes();
        let same =
            a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
        if same && self.new_csrf_cookie.is_none() {
            Ok(())
        } else {
            Err(WebError::Csrf)
        }
    }

    /// The account, or a redirect to the login page.
    pub fn require_user(&self) -> Result<&User, WebError> {
        self.user.as_ref().ok_or(WebError::Login)
    }

    /// The account when its role is one of `roles`, else 403 (or the login page).
    pub fn require_role(&self, roles: &[Role]) -> Result<&User, WebError> {
        let u = self.require_user()?;
        if roles.contains(&u.role) {
            Ok(u)
        } else {
            Err(WebError::Forbidden)
        }
    }

    /// Renders a page, setting the public CSRF cookie when this request minted one.
    pub fn render(&self, t: &impl Template) -> Response {
        self.render_status(StatusCode::OK, t)
    }

    pub fn render_status(&self, status: StatusCode, t: &impl Template) -> Response {
        match t.render() {
            Ok(html) => {
                let mut r = (status, Html(html)).into_response();
                self.finish(&mut r);
                r
            }
            Err(e) => {
                tracing::error!(error = %e, "template");
                WebError::Internal.into_page(self)
            }
        }
    }

    fn finish(&self, r: &mut Response) {
        let h = r.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(c) = &self.new_csrf_cookie
            && let Ok(v) = HeaderValue::from_str(&format!(
                "{CSRF_COOKIE}={c}; Path=/; HttpOnly; SameSite=Lax; Max-Age=7200"
            ))
        {
            h.append(header::SET_COOKIE, v);
        }
    }
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A same-site path to go back to (never another host: `//x` and `/\x` are refused).
/// Where to go after a login or a language switch: a path on this site, else `/` (no open
/// redirect, 开放重定向). Browsers drop tabs and line breaks from a URL and read `\` as `/`, so
/// `/\t/evil.example` would become `//evil.example`, another host: any control character,
/// whitespace or backslash refuses the value, as does a second leading slash. Other non-ASCII
/// characters are percent-encoded so that the `Location` header is always valid.
pub fn safe_next(next: Option<&str>) -> String {
    let Some(n) = next else {
        return "/".to_string();
    };
    let bad = |c: char| c.is_control() || c.is_whitespace() || c == '\\';
    if !n.starts_with('/') || n.starts_with("//") || n.chars().any(bad) {
        return "/".to_string();
    }
    let mut out = String::with_capacity(n.len());
    for c in n.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn query_lang(parts: &Parts) -> Option<Lang> {
    parts
        .uri
        .query()?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "lang")
        .and_then(|(_, v)| Lang::parse(v))
}

impl FromRequestParts<SharedState> for Ctx {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, st: &SharedState) -> Result<Self, Response> {
        let lang = query_lang(parts)
            .or_else(|| cookie_value(&parts.headers, LANG_COOKIE).and_then(|v| Lang::parse(&v)))
            .unwrap_or(Lang::Zh);
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let mut user = None;
        let mut csrf = None;
        if let Some(s) = cookie_value(&parts.headers, SESSION_COOKIE) {
            let idle = st.settings.session_idle_minutes * 60_000;
            match st.store.session_user(&hash_secret(&s), idle).await {
                Ok(u) if !u.disabled => {
                    user = Some(u);
                    csrf = Some(csrf_token(&s));
                }
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(e) => {
                    tracing::error!(error = %e, "session lookup");
                    let ctx = Ctx {
                        lang,
                        user: None,
                        csrf: String::new(),
                        here,
                        new_csrf_cookie: None,
                        tiles: String::new(),
                    };
                    return Err(WebError::Internal.into_page(&ctx));
                }
            }
        }
        let mut new_csrf_cookie = None;
        let csrf = match csrf {
            Some(c) => c,
            None => match cookie_value(&parts.headers, CSRF_COOKIE).filter(|c| c.len() >= 32) {
                Some(c) => csrf_token(&c),
                None => {
                    let c = random_secret("");
                    let t = csrf_token(&c);
                    new_csrf_cookie = Some(c);
                    t
                }
            },
        };
        Ok(Ctx {
            lang,
            user,
            csrf,
            here,
            new_csrf_cookie,
            tiles: st.settings.tile_url.clone(),
        })
    }
}

/// What can go wrong on a page, shown as a page in the person's language (never a raw error).
#[derive(Debug)]
pub enum WebError {
    Login,
    Forbidden,
    NotFound,
    Csrf,
    /// A rule of the service refused the request (message already in the person's language).
    Refused(String),
    /// A field the request cannot carry (e.g. a NUL character): 400, the message names it.
    Invalid(String),
    /// The database could not take the work just now (`StoreError::is_busy`): 503, try again.
    Busy,
    /// Too many requests from this address: 429, retry after so many seconds.
    TooMany(u64),
    Internal,
}

impl From<AppError> for WebError {
    fn from(e: AppError) -> Self {
        use crate::app::error::ErrorKind;
        match e.kind {
            ErrorKind::NotFound => WebError::NotFound,
            ErrorKind::Forbidden => WebError::Forbidden,
            ErrorKind::Unauthorized => WebError::Login,
            ErrorKind::Unavailable => WebError::Busy,
            ErrorKind::Internal => WebError::Internal,
            ErrorKind::TooMany => WebError::TooMany(e.retry_after.unwrap_or(1)),
            _ => WebError::Refused(e.message),
        }
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => WebError::NotFound,
            other => AppError::from(other).into(),
        }
    }
}

impl From<anyhow::Error> for WebError {
    fn from(e: anyhow::Error) -> Self {
        if e.downcast_ref::<StoreError>()
            .is_some_and(StoreError::is_busy)
        {
            tracing::warn!(error = %format!("{e:#}"), "page: database busy");
            return WebError::Busy;
        }
        tracing::error!(error = %format!("{e:#}"), "page");
        WebError::Internal
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    ctx: &'a Ctx,
    title: &'static str,
    message: String,
    /// The id the log lines of this request carry, for a complaint to quote.
    request_id: Option<String>,
}

impl WebError {
    pub fn into_page(self, ctx: &Ctx) -> Response {
        let retry_after = match &self {
            WebError::TooMany(secs) => Some(secs.to_string()),
            WebError::Busy => Some("1".to_string()),
            _ => None,
        };
        let (status, title, message) = match self {
            WebError::Login => {
                return Redirect::to(&format!("/login?next={}", urlencode(&ctx.here)))
                    .into_response();
            }
            WebError::Forbidden => (
                StatusCode::FORBIDDEN,
                ctx.t("err.forbidden.title"),
                ctx.t("err.forbidden").to_string(),
            ),
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                ctx.t("err.notfound.title"),
                ctx.t("err.notfound").to_string(),
            ),
            WebError::Csrf => (
                StatusCode::FORBIDDEN,
                ctx.t("err.csrf.title"),
                ctx.t("err.csrf").to_string(),
            ),
            WebError::Refused(m) => (StatusCode::CONFLICT, ctx.t("err.refused.title"), m),
            WebError::TooMany(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                ctx.t("err.refused.title"),
                ctx.t("err.rate_limited").to_string(),
            ),
            WebError::Invalid(m) => (
                StatusCode::BAD_REQUEST,
                ctx.t("err.refused.title"),
                format!("{} ({m})", ctx.t("err.form_unreadable")),
            ),
            WebError::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                ctx.t("err.busy.title"),
                ctx.t("err.busy").to_string(),
            ),
            WebError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ctx.t("err.internal.title"),
                ctx.t("err.internal").to_string(),
            ),
        };
        let page = ErrorPage {
            ctx,
            title,
            message,
            request_id: safegrid_store::audit::current_request_id(),
        };
        match page.render() {
            Ok(html) => {
                let mut r = (status, Html(html)).into_response();
                ctx.finish(&mut r);
                if let Some(v) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            Err(_) => (status, title).into_response(),
        }
    }
}

/// A page handler's result: the page, or an error page in the person's language.
pub type Page = Result<Response, WebError>;

/// Turns a handler's result into a response using its context.
pub fn respond(ctx: &Ctx, r: Page) -> Response {
    match r {
        Ok(r) => r,
        Err(e) => e.into_page(ctx),
    }
}

/// A 303 to `to` (after a successful form).
/// A 303 to `to`; a target that is no valid header value (never built from checked input, but a
/// redirect must not be able to panic) goes to the home page instead.
pub fn see_other(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(_) => Redirect::to(to).into_response(),
        Err(_) => Redirect::to("/").into_response(),
    }
}

/// `Form`, `Query` and `Multipart` whose rejections are pages in the person's language (a
/// malformed request never gets a raw text answer).
pub struct WebForm<T>(pub T);
pub struct WebQuery<T>(pub T);
pub struct WebMultipart(pub axum::extract::Multipart);

/// A 400 page: the request could not be read (`detail` says which field and why).
pub fn unreadable(ctx: &Ctx, detail: String) -> Response {
    WebError::Invalid(detail).into_page(ctx)
}

impl<T> axum::extract::FromRequest<SharedState> for WebForm<T>
where
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = Response;
    async fn from_request(req: axum::extract::Request, st: &SharedState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let ctx = Ctx::from_request_parts(&mut parts, st).await?;
        let form_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if !form_type {
            return Err(unreadable(
                &ctx,
                "Content-Type: must be application/x-www-form-urlencoded".into(),
            ));
        }
        let req = axum::extract::Request::from_parts(parts, body);
        let bytes = axum::body::Bytes::from_request(req, st)
            .await
            .map_err(|e| unreadable(&ctx, e.body_text()))?;
        // Checked on the pairs before they become typed fields, so every field is covered.
        if let Some(field) = std::str::from_utf8(&bytes)
            .ok()
            .and_then(crate::app::input::nul_param)
        {
            return Err(unreadable(
                &ctx,
                format!("{field}: {}", crate::app::input::NUL_REASON),
            ));
        }
        serde_urlencoded::from_bytes::<T>(&bytes)
            .map(WebForm)
            .map_err(|e| unreadable(&ctx, e.to_string()))
    }
}

impl<T> FromRequestParts<SharedState> for WebQuery<T>
where
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, st: &SharedState) -> Result<Self, Response> {
        match axum::extract::Query::<T>::from_request_parts(parts, st).await {
            Ok(axum::extract::Query(v)) => Ok(WebQuery(v)),
            Err(e) => {
                let ctx = Ctx::from_request_parts(parts, st).await?;
                Err(unreadable(&ctx, e.body_text()))
            }
        }
    }
}

impl axum::extract::FromRequest<SharedState> for WebMultipart {
    type Rejection = Response;
    async fn from_request(req: axum::extract::Request, st: &SharedState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let ctx = Ctx::from_request_parts(&mut parts, st).await?;
        let req = axum::extract::Request::from_parts(parts, body);
        match axum::extract::Multipart::from_request(req, st).await {
            Ok(m) => Ok(WebMultipart(m)),
            Err(e) => Err(unreadable(&ctx, e.body_text())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page that met a busy database says so (503, try again), not "system error".
    #[test]
    fn a_busy_database_is_a_busy_page_and_other_faults_are_internal() {
        let busy = || StoreError::Db(sqlx::Error::PoolTimedOut);
        assert!(matches!(WebError::from(busy()), WebError::Busy));
        assert!(matches!(
            WebError::from(AppError::from(busy())),
            WebError::Busy
        ));
        assert!(matches!(
            WebError::from(anyhow::Error::from(busy()).context("page")),
            WebError::Busy
        ));
        assert!(matches!(
            WebError::from(StoreError::Db(sqlx::Error::RowNotFound)),
            WebError::Internal
        ));
        assert!(matches!(
            WebError::from(anyhow::anyhow!("something else")),
            WebError::Internal
        ));
    }
}

#[cfg(test)]
mod safe_next_tests {
    use super::safe_next;

    #[test]
    fn only_paths_on_this_site_pass() {
        for ok in ["/", "/work", "/work/cases?q=a&page=2", "/track/ABC"] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        assert_eq!(
            safe_next(Some("/work/cases?q=井盖")),
            "/work/cases?q=%E4%BA%95%E7%9B%96"
        );
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/x\r\nSet-Cookie: a=b",
            "https://evil.example",
            "evil.example",
            "/ /evil.example",
            "/\u{3000}/evil.example",
            "/a\\b",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
