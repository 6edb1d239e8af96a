//! Health, the OpenAPI 3.1 description of the API and its offline docs page. The document is
//! generated: each handler carries its `#[utoipa::path]` and each face's router is built from
//! those handlers (`utoipa_axum::routes!`); the composition root merges the faces' parts and
//! this module adds what they share (info, security schemes, the error envelope's answers).

use crate::app::state::SharedState;
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The served document (JSON), built once by the composition root and handed to the handlers
/// below as a request extension.
#[derive(Clone)]
pub struct Document(pub Arc<Value>);

/// The schemas the API's shared error answers refer to (added by `document_errors`).
#[derive(OpenApi)]
#[openapi(components(schemas(super::error::ErrorBody, super::error::ErrorDetail)))]
struct Shared;

fn error_content() -> Value {
    json!({ "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } })
}

/// The answers every API operation may give besides its own: the error envelope for a client's
/// mistake (4XX: the status names the kind), 413 and 415 where a body is read (`limit_body`,
/// `ApiJson`), and 503 with `Retry-After` when the database is busy.
fn document_errors(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        if !path.starts_with("/api/") {
            continue;
        }
        let Some(ops) = item.as_object_mut() else {
            continue;
        };
        for op in ops.values_mut() {
            let has_body = op.get("requestBody").is_some();
            // `ApiJson` answers 415 to a body that is not JSON; the imports read any body.
            let json_body = op["requestBody"]["content"]
                .get("application/json")
                .is_some();
            let responses = &mut op["responses"];
            let mut add = |status: &str, description: &str| {
                if responses.get(status).is_none() {
                    responses[status] =
                        json!({ "description": description, "content": error_content() });
                }
            };
            add(
                "4XX",
                "The request is refused: the error names the field and the reason (400 unreadable, 401 not logged in, 403 not allowed, 404 not found or out of scope, 405 method not allowed, 409 state or version conflict, 422 invalid field, 429 too many requests)",
            );
            if has_body {
                add("413", "The body is larger than the server's limit");
            }
            if json_body {
                add(
                    "415",
                    "The body is not JSON (`Content-Type` must be application/json)",
                );
            }
            responses["503"] = json!({
                "description": "The database is busy (code `unavailable`); retry after `Retry-After` seconds",
                "headers": { "Retry-After": { "schema": { "type": "integer" } } },
                "content": error_content()
            });
        }
    }
}

/// The whole document from the faces' generated parts: info as the project states it, the
/// security schemes, unique operation ids, and the API's shared error answers.
pub fn document(parts: utoipa::openapi::OpenApi) -> Value {
    let mut merged = Shared::openapi();
    merged.merge(parts);
    let mut doc = serde_json::to_value(&merged).unwrap_or_else(|_| json!({}));
    doc["openapi"] = json!("3.1.0");
    doc["info"] = json!({
        "title": "safegrid API (平安网格)",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "平安网格：网格化社会治理——辖区与网格、事件及其流转、时限与考核。时间均为北京时间 (+08:00)。\n\nGrid-based community governance: territory, grids, cases and their workflow, deadlines and KPIs. Times are RFC 3339 in Asia/Shanghai (+08:00). Errors: {\"error\":{\"code\",\"message\",\"field\",\"request_id\"}}; Open311 answers errors as its own list of {code, description}.",
        "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" }
    });
    doc["servers"] = json!([{ "url": "/" }]);
    doc["components"]["securitySchemes"] = json!({
        "session": { "type": "apiKey", "in": "cookie", "name": crate::http_common::SESSION_COOKIE,
            "description": "the session cookie set by POST /api/v1/auth/login; a state-changing request also sends X-CSRF-Token" },
        "bearer": { "type": "http", "scheme": "bearer", "description": "safegrid token create --user NAME" },
        "open311_api_key": { "type": "apiKey", "in": "query", "name": "api_key",
            "description": "an Open311 client application's key (safegrid open311 key create); also accepted as a form field of the body" }
    });
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(ops) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in ops.iter_mut() {
                if op.is_object() {
                    op["operationId"] = json!(format!(
                        "{method}_{}",
                        path.trim_start_matches('/')
                            .replace(['/', '{', '}', '.', '-'], "_")
                    ));
                }
            }
        }
    }
    document_errors(&mut doc);
    doc
}

/// The service's liveness as `/healthz` answers it.
#[derive(ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable` when the database cannot be reached (503).
    pub status: String,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// Grids in the point locator (absent with 503).
    pub grids: Option<i64>,
    /// Whether the write path's caches are warm (absent with 503).
    pub warm: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", summary = "This document",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
async fn openapi_json(Extension(doc): Extension<Document>) -> Json<Value> {
    Json(doc.0.as_ref().clone())
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A self-contained reference page rendered from the OpenAPI document: no scripts, no CDN.
#[utoipa::path(get, path = "/api/docs", tag = "meta", summary = "This reference as a page (offline: no scripts)",
    responses((status = 200, description = "The reference page", content_type = "text/html", body = String)))]
async fn docs(Extension(doc): Extension<Document>) -> Html<String> {
    let doc = doc.0.as_ref();
    let mut rows = String::new();
    let empty = serde_json::Map::new();
    for (path, item) in doc["paths"].as_object().unwrap_or(&empty) {
        for (method, op) in item.as_object().unwrap_or(&empty) {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            let params: Vec<String> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
                .map(|p| text(&p["name"]))
                .collect();
            let body: Vec<String> = op["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(ct, c)| {
                    let schema = text(&c["schema"]["$ref"]);
                    let name = schema.rsplit('/').next().unwrap_or_default().to_string();
                    if name.is_empty() {
                        ct.clone()
                    } else {
                        format!("{name} ({ct})")
                    }
                })
                .collect();
            let auth = op["security"].as_array().is_some_and(|s| {
                !s.iter()
                    .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
            });
            rows.push_str(&format!(
                "<tr><td><code class=m-{method}>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                method.to_uppercase(),
                esc(path),
                esc(&op["tags"].as_array().into_iter().flatten().map(text).collect::<Vec<_>>().join(", ")),
                esc(&text(&op["summary"])),
                esc(&params.join(", ")),
                esc(&body.join(", ")),
                if auth { "✔" } else { "" }
            ));
        }
    }
    let schemas =
        esc(&serde_json::to_string_pretty(&doc["components"]["schemas"]).unwrap_or_default());
    Html(format!(
        r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>safegrid API 文档 / API reference</title>
<style>body{{font-family:system-ui,"PingFang SC","Noto Sans CJK SC",sans-serif;margin:1rem auto;max-width:1200px;padding:0 1rem;color:#1a1a1a}}
table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}}
code{{font-size:.9em}}.m-get{{color:#05620f}}.m-post{{color:#8a3b00}}pre{{background:#f5f5f5;padding:1rem;overflow:auto}}</style></head>
<body><h1>safegrid API 文档 <small>API reference v{ver}</small></h1>
<p>机器可读描述 / machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1). 时间均为北京时间 (+08:00) / times are Asia/Shanghai.
错误格式 / errors: <code>{{"error":{{"code","message","field","request_id"}}}}</code>. 认证 / auth: session cookie from <code>POST /api/v1/auth/login</code>, or <code>Authorization: Bearer …</code> from <code>safegrid token create --user NAME</code>.</p>
<table><thead><tr><th>方法</th><th>路径 path</th><th>分组 tag</th><th>说明 summary</th><th>查询参数 query</th><th>请求体 body</th><th>需登录 auth</th></tr></thead><tbody>
{rows}</tbody></table><h2>数据结构 / Schemas</h2><pre>{schemas}</pre></body></html>"#,
        ver = env!("CARGO_PKG_VERSION")
    ))
}

#[utoipa::path(get, path = "/healthz", tag = "meta",
    summary = "Liveness, database reachability, and whether the write path's caches are warm (`warm`)",
    responses(
        (status = 200, description = "Up", body = Health),
        (status = 503, description = "The database cannot be reached", body = Health),
    ))]
async fn healthz(State(st): State<SharedState>) -> Response {
    match st.store.ping().await {
        Ok(()) => Json(json!({
            "status": "ok",
            "database": st.store.backend(),
            "grids": st.locator().grid_count(),
            "warm": st.warm.load(std::sync::atomic::Ordering::Relaxed),
        }))
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": st.store.backend() })),
            )
                .into_response()
        }
    }
}

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(openapi_json))
        .routes(routes!(docs))
}
