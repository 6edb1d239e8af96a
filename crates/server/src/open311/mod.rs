//! Open311 GeoReport v2 under `/open311/v2`, with the mySociety `servicerequestupdates`
//! extension: residents' apps, FixMyStreet instances and other cities' tools file cases into
//! safegrid through the same engine as every other channel and follow them. XML and JSON,
//! chosen by the path's suffix. Lists are public and show only what the public tracking view
//! shows; writing needs a client application's `api_key`. See docs/open311.md.

pub mod discovery;
pub mod doc;
pub mod filing;
pub mod format;
pub mod keys;
pub mod params;
pub mod requests;
pub mod services;
pub mod status;
pub mod updates;

use crate::app::error::AppError;
use crate::app::state::SharedState;
use axum::Router;
use axum::extract::{ConnectInfo, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use format::{Body, Format, Node};
pub use params::{Params, parse_time, query_params, read_form};
use safegrid_domain::codes::RegionCode;
use std::net::SocketAddr;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use doc::document_errors;

/// The base path of the API.
pub const BASE: &str = "/open311/v2";

/// Longest error description sent, in characters.
const MAX_MESSAGE: usize = 300;

/// A refusal in Open311's shape: `errors`/`error` {code, description}, several at once if need be.
#[derive(Debug)]
pub struct Fail {
    pub status: StatusCode,
    pub messages: Vec<String>,
    pub retry_after: Option<u64>,
}

impl Fail {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Fail {
        Fail {
            status,
            messages: vec![message.into()],
            retry_after: None,
        }
    }
    pub fn bad(message: impl Into<String>) -> Fail {
        Fail::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<String>) -> Fail {
        Fail::new(StatusCode::NOT_FOUND, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Fail {
        Fail::new(StatusCode::FORBIDDEN, message)
    }
    pub fn too_many(retry_after: u64) -> Fail {
        Fail {
            status: StatusCode::TOO_MANY_REQUESTS,
            messages: vec![format!(
                "rate limit exceeded; retry after {retry_after} seconds"
            )],
            retry_after: Some(retry_after),
        }
    }

    pub fn render(&self, f: Format) -> Response {
        let request_id = safegrid_store::audit::current_request_id();
        let items = self
            .messages
            .iter()
            .map(|m| {
                // Messages quote what the client sent; a long input is not worth sending back whole.
                let description = if m.chars().count() > MAX_MESSAGE {
                    format!("{}…", m.chars().take(MAX_MESSAGE).collect::<String>())
                } else {
                    m.clone()
                };
                let mut fields = vec![
                    ("code", Node::Int(i64::from(self.status.as_u16()))),
                    ("description", Node::str(description)),
                ];
                // The id the server's log lines for this request carry (X-Request-Id).
                if let Some(id) = &request_id {
                    fields.push(("request_id", Node::str(id.clone())));
                }
                Node::obj(fields)
            })
            .collect();
        let mut r = Body::List {
            root: "errors",
            item: "error",
            items,
        }
        .render(f, self.status);
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}

/// The API's field names in Open311's words, so an error names what the client sent.
fn open311_field(field: &str) -> &str {
    match field {
        "category" => "service_code",
        "lon" => "long",
        "address" => "address_string",
        "reporter.name" => "first_name/last_name",
        "reporter.phone" => "phone",
        "note" => "description",
        other => other,
    }
}

impl From<AppError> for Fail {
    fn from(e: AppError) -> Fail {
        use crate::app::error::ErrorKind;
        // GeoReport v2 knows 400, 403, 404 and the server's own faults; Open311 maps 401 to 403.
        let status = match e.kind {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Forbidden | ErrorKind::Unauthorized => StatusCode::FORBIDDEN,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::TooMany => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        let message = match &e.field {
            Some(f) => {
                let reason = e
                    .message
                    .strip_prefix(&format!("{f}: "))
                    .unwrap_or(&e.message);
                format!("{}: {reason}", open311_field(f))
            }
            None => e.message.clone(),
        };
        Fail {
            retry_after: e.retry_after,
            ..Fail::new(status, message)
        }
    }
}

impl From<safegrid_store::StoreError> for Fail {
    fn from(e: safegrid_store::StoreError) -> Fail {
        AppError::from(e).into()
    }
}

pub type Done = Result<Response, Fail>;

/// Answers `result` in format `f`.
pub fn respond(f: Format, result: Done) -> Response {
    result.unwrap_or_else(|e| e.render(f))
}

/// The jurisdiction a request is about: a region of this deployment.
#[derive(Debug, Clone)]
pub struct Jurisdiction {
    /// The region code's significant digits (2/4/6/9/12): the prefix of every code inside it.
    pub short: String,
}

impl Jurisdiction {
    pub fn prefix(&self) -> &str {
        &self.short
    }
    /// The `jurisdiction_id`: the region code as people write it, at least 6 digits (湖州市 = 330500).
    pub fn id(&self) -> String {
        jurisdiction_id(&self.short)
    }
}

fn jurisdiction_id(short: &str) -> String {
    format!("{short:0<6}")
}

/// The jurisdictions this deployment serves, as short region codes.
pub async fn jurisdictions(st: &SharedState) -> Result<Vec<String>, Fail> {
    let configured = &st.settings.open311.jurisdictions;
    let codes: Vec<String> = if configured.is_empty() {
        st.root_region()
            .await
            .map_err(|e| Fail::from(AppError::from(e)))?
            .into_iter()
            .collect()
    } else {
        configured.clone()
    };
    Ok(codes
        .iter()
        .filter_map(|c| RegionCode::parse(c).ok())
        .map(|c| c.short().to_string())
        .collect())
}

/// Resolves `jurisdiction_id`: optional when the deployment serves one, required when several;
/// unknown ids answer 404. The 12-digit form of a region code is accepted too.
pub async fn jurisdiction(st: &SharedState, p: &Params) -> Result<Jurisdiction, Fail> {
    let all = jurisdictions(st).await?;
    let ids = || {
        all.iter()
            .map(|s| jurisdiction_id(s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match p.get("jurisdiction_id") {
        None => match all.as_slice() {
            [one] => Ok(Jurisdiction { short: one.clone() }),
            [] => Err(Fail::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no territory is loaded yet",
            )),
            _ => Err(Fail::bad(format!(
                "jurisdiction_id: is required on this server (one of {})",
                ids()
            ))),
        },
        Some(j) => {
            let short = RegionCode::parse(j).ok().map(|c| c.short().to_string());
            match short.filter(|s| all.contains(s)) {
                Some(short) => Ok(Jurisdiction { short }),
                None => Err(Fail::not_found(format!(
                    "jurisdiction_id: unknown jurisdiction {j}; this server serves {}",
                    ids()
                ))),
            }
        }
    }
}

fn format_of_path(path: &str) -> Format {
    path.rsplit('/')
        .next()
        .and_then(Format::split)
        .map_or(Format::Xml, |(_, f)| f)
}

/// Per-address rate limit and the body size check, before any handler runs.
async fn guard(State(st): State<SharedState>, req: Request, next: Next) -> Response {
    let f = format_of_path(req.uri().path());
    let path = req.uri().path().to_string();
    let forwarded = st
        .settings
        .open311
        .trust_forwarded_for
        .then(|| {
            req.headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').map(str::trim).find(|s| !s.is_empty()))
                .map(str::to_string)
        })
        .flatten();
    let addr = forwarded
        .or_else(|| {
            req.extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let read = [Method::GET, Method::HEAD, Method::OPTIONS].contains(req.method());
    let (bucket, rate) = if read {
        (
            format!("open311:read:{addr}"),
            st.settings.open311.read_limit,
        )
    } else {
        (
            format!("open311:addr:{addr}"),
            st.settings.rate_limits.open311_address,
        )
    };
    if let Err(wait) = st.limiter.check(&bucket, rate) {
        return Fail::too_many(wait.0).render(f);
    }
    // PostgreSQL cannot compare or store NUL: refused by name before any lookup, on both databases.
    if let Some(fail) = params::nul_in_path(req.uri().path()) {
        return fail.render(f);
    }
    let limit = st.settings.open311.body_limit_bytes;
    if crate::http_common::declared_length(&req).is_some_and(|n| n > limit) {
        // Read (up to a bound) and dropped, so the client gets this answer rather than a reset.
        let declared = crate::http_common::declared_length(&req).unwrap_or(0);
        if declared <= limit.saturating_add(crate::http_common::DRAIN_BEYOND_LIMIT) {
            crate::http_common::drain(req.into_body(), declared).await;
        }
        return Fail::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {limit} bytes"),
        )
        .render(f);
    }
    let mut r = next.run(req).await;
    // The router's own 405 (a method the resource does not have) has no body: answer it in
    // Open311's words, keeping the `Allow` header the router set.
    if r.status() == StatusCode::METHOD_NOT_ALLOWED {
        let allow = r.headers().get(header::ALLOW).cloned();
        r = Fail::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{path}: this method is not allowed here"),
        )
        .render(f);
        if let Some(allow) = allow {
            r.headers_mut().insert(header::ALLOW, allow);
        }
    }
    // Lists change with every case; let no cache keep them.
    r.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    // What GET answers is public: residents' web apps on other origins may read it.
    if read {
        r.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    r
}

/// A read of a resource at the root (`discovery`, `services`, `requests`,
/// `servicerequestupdates`) in format `f`.
async fn read_root(
    st: &SharedState,
    headers: &HeaderMap,
    stem: &str,
    q: Option<String>,
    f: Format,
) -> Response {
    let result = match query_params(&q) {
        Err(e) => Err(e),
        Ok(p) => match stem {
            "discovery" => discovery::discovery(st, headers, f).await,
            "services" => services::list(st, &p, f).await,
            "requests" => requests::list(st, &p, f).await,
            _ => updates::list(st, &p, f).await,
        },
    };
    respond(f, result)
}

/// A filing (`requests`) or a pushed update (`servicerequestupdates`) in format `f`: the form
/// body's parameters and the query string's, authenticated by the client's `api_key`.
async fn write_root(
    st: &SharedState,
    headers: &HeaderMap,
    stem: &str,
    q: Option<String>,
    req: Request,
    f: Format,
) -> Response {
    let result = async {
        // Parameters may come in the query string as well as the body (some clients put api_key there).
        let mut p = read_form(st, headers, req.into_body()).await?;
        p.0.extend(query_params(&q)?.0);
        let client = keys::authenticate(st, &p, headers).await?;
        match stem {
            "requests" => filing::create(st, &p, &client, f).await,
            _ => updates::create(st, &p, &client, f).await,
        }
    }
    .await;
    respond(f, result)
}

// The resources at the root, one route per format: each is mounted and documented by the same
// `routes!` line. Answers are XML (`text/xml`) or JSON as the suffix says.

#[utoipa::path(get, path = "/discovery.json", tag = "open311", summary = "Open311 discovery",
    responses((status = 200, description = "The endpoints of this server", body = doc::Discovery, content_type = "application/json")))]
async fn discovery_json(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    read_root(&st, &headers, "discovery", q, Format::Json).await
}

#[utoipa::path(get, path = "/discovery.xml", tag = "open311", summary = "Open311 discovery (XML)",
    responses((status = 200, description = "The endpoints of this server, as <discovery>", body = String, content_type = "text/xml")))]
async fn discovery_xml(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    read_root(&st, &headers, "discovery", q, Format::Xml).await
}

#[utoipa::path(get, path = "/services.json", tag = "open311", summary = "Open311 services: the category catalog",
    params(doc::JurisdictionQuery),
    responses((status = 200, description = "The services", body = Vec<doc::Service>, content_type = "application/json")))]
async fn services_json(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    read_root(&st, &headers, "services", q, Format::Json).await
}

#[utoipa::path(get, path = "/services.xml", tag = "open311", summary = "Open311 services: the category catalog (XML)",
    params(doc::JurisdictionQuery),
    responses((status = 200, description = "The services, as <services><service>", body = String, content_type = "text/xml")))]
async fn services_xml(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    read_root(&st, &headers, "services", q, Format::Xml).await
}

#[utoipa::path(get, path = "/requests.json", tag = "open311", summary = "Open311 request list",
    params(doc::RequestsQuery),
    responses((status = 200, description = "The requests", body = Vec<doc::ServiceRequest>, content_type = "application/json")))]
async fn requests_json(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    read_root(&st, &headers, "requests", q, Format::Json).await
}

#[utoipa::path(get, path = "/requests.xml", tag = "open311", summary = "Open311 request list (XML)",
    params(doc::RequestsQuery),
    responses((status = 200, description = "The requests, as <service_requests><request>", body = String, content_type = "text/xml")))]
async fn requests_xml(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    read_root(&st, &headers, "requests", q, Format::Xml).await
}

#[utoipa::path(post, path = "/requests.json", tag = "open311", summary = "Open311: file a request (form body, api_key)",
    security(("open311_api_key" = [])),
    request_body(content = doc::NewRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Filed", body = Vec<doc::Filed>, content_type = "application/json")))]
async fn file_json(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    req: Request,
) -> Response {
    write_root(&st, &headers, "requests", q, req, Format::Json).await
}

#[utoipa::path(post, path = "/requests.xml", tag = "open311", summary = "Open311: file a request (form body, api_key; XML answer)",
    security(("open311_api_key" = [])),
    request_body(content = doc::NewRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Filed, as <service_requests><request>", body = String, content_type = "text/xml")))]
async fn file_xml(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    req: Request,
) -> Response {
    write_root(&st, &headers, "requests", q, req, Format::Xml).await
}

#[utoipa::path(get, path = "/servicerequestupdates.json", tag = "open311", summary = "mySociety updates feed",
    params(doc::UpdatesQuery),
    responses((status = 200, description = "The updates", body = Vec<doc::Update>, content_type = "application/json")))]
async fn updates_json(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    read_root(&st, &headers, "servicerequestupdates", q, Format::Json).await
}

#[utoipa::path(get, path = "/servicerequestupdates.xml", tag = "open311", summary = "mySociety updates feed (XML)",
    params(doc::UpdatesQuery),
    responses((status = 200, description = "The updates, as <service_request_updates><request_update>", body = String, content_type = "text/xml")))]
async fn updates_xml(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    read_root(&st, &headers, "servicerequestupdates", q, Format::Xml).await
}

#[utoipa::path(post, path = "/servicerequestupdates.json", tag = "open311", summary = "mySociety: push a resident's update (form body, api_key)",
    security(("open311_api_key" = [])),
    request_body(content = doc::NewUpdate, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Accepted", body = Vec<doc::UpdateAccepted>, content_type = "application/json")))]
async fn update_json(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    req: Request,
) -> Response {
    write_root(&st, &headers, "servicerequestupdates", q, req, Format::Json).await
}

#[utoipa::path(post, path = "/servicerequestupdates.xml", tag = "open311", summary = "mySociety: push a resident's update (form body, api_key; XML answer)",
    security(("open311_api_key" = [])),
    request_body(content = doc::NewUpdate, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Accepted, as <service_request_updates><request_update>", body = String, content_type = "text/xml")))]
async fn update_xml(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    req: Request,
) -> Response {
    write_root(&st, &headers, "servicerequestupdates", q, req, Format::Xml).await
}

async fn fallback(req: Request) -> Response {
    let f = format_of_path(req.uri().path());
    Fail::not_found(format!("no such resource: {}", req.uri().path())).render(f)
}

/// Open311's routes with their description: the resources at the root one route per format,
/// the others by `{file}` (`{id}.json` / `{id}.xml`).
pub fn api() -> OpenApiRouter<SharedState> {
    let inner = OpenApiRouter::new()
        .routes(routes!(discovery_json))
        .routes(routes!(discovery_xml))
        .routes(routes!(services_json))
        .routes(routes!(services_xml))
        .routes(routes!(requests_json, file_json))
        .routes(routes!(requests_xml, file_xml))
        .routes(routes!(updates_json, update_json))
        .routes(routes!(updates_xml, update_xml))
        .routes(routes!(services::definition))
        .routes(routes!(requests::one))
        .routes(routes!(requests::token))
        .fallback(fallback);
    OpenApiRouter::with_openapi(doc::Shared::openapi()).nest(BASE, inner)
}

/// Open311's routes behind its guard (rate limits, Open311's own body limit), and their paths.
pub fn router(state: SharedState) -> (Router<SharedState>, utoipa::openapi::OpenApi) {
    let (router, doc) = api().split_for_parts();
    (
        router.layer(middleware::from_fn_with_state(state, guard)),
        doc,
    )
}

#[cfg(test)]
mod busy_tests {
    use super::*;

    /// A database that cannot take the work now is a 503 with `Retry-After` here too.
    #[test]
    fn a_busy_database_is_a_retryable_503() {
        let busy = AppError::from(safegrid_store::StoreError::Db(sqlx::Error::PoolTimedOut));
        let fail = Fail::from(busy);
        assert_eq!(fail.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(fail.retry_after, Some(1));
        let resp = fail.render(format::Format::Json);
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[axum::http::header::RETRY_AFTER], "1");
    }
}
