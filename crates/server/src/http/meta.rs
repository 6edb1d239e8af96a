//! Health, the OpenAPI 3.1 description of the API and its offline docs page, and the landing page.
//! The OpenAPI document is written here by hand from one table of operations (the API tests check
//! the main paths are there); keep the table in step with the routers.

use crate::app::state::SharedState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

/// (method, path, tag, summary, query parameters, request body schema, auth needed)
pub type Operation = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    Option<&'static str>,
    bool,
);

pub const OPERATIONS: &[Operation] = &[
    (
        "post",
        "/api/v1/auth/login",
        "auth",
        "Log in; sets the session cookie",
        &[],
        Some("Login"),
        false,
    ),
    (
        "post",
        "/api/v1/auth/logout",
        "auth",
        "Log out",
        &[],
        None,
        false,
    ),
    (
        "get",
        "/api/v1/auth/me",
        "auth",
        "The current account",
        &[],
        None,
        true,
    ),
    (
        "post",
        "/api/v1/cases",
        "cases",
        "Report a case (public, or as the logged-in account)",
        &[],
        Some("CreateCase"),
        false,
    ),
    (
        "get",
        "/api/v1/cases",
        "cases",
        "List cases visible to the caller, filtered and paged",
        &[
            "status",
            "type",
            "category",
            "region",
            "grid",
            "department",
            "light",
            "from",
            "to",
            "q",
            "open",
            "sort",
            "page",
            "page_size",
        ],
        None,
        true,
    ),
    (
        "get",
        "/api/v1/cases/{id}",
        "cases",
        "A case with the actions the caller may fire (ETag = version)",
        &[],
        None,
        true,
    ),
    (
        "post",
        "/api/v1/cases/{id}/actions",
        "cases",
        "Fire a workflow action (If-Match: version)",
        &[],
        Some("Action"),
        true,
    ),
    (
        "get",
        "/api/v1/cases/{id}/history",
        "cases",
        "Every transition of a case",
        &[],
        None,
        true,
    ),
    (
        "get",
        "/api/v1/track/{code}",
        "cases",
        "Public status and timeline by tracking code",
        &[],
        None,
        false,
    ),
    (
        "get",
        "/api/v1/regions",
        "territory",
        "Regions by parent and level",
        &["parent", "level", "geometry"],
        None,
        false,
    ),
    (
        "get",
        "/api/v1/regions/{code}",
        "territory",
        "A region with its boundary, children and path",
        &[],
        None,
        false,
    ),
    (
        "get",
        "/api/v1/grids",
        "territory",
        "Grids as GeoJSON, by region subtree, paged",
        &["region", "page", "page_size"],
        None,
        false,
    ),
    (
        "get",
        "/api/v1/grids/{code}",
        "territory",
        "A grid as a GeoJSON feature with its workers",
        &[],
        None,
        false,
    ),
    (
        "get",
        "/api/v1/locate",
        "territory",
        "Point → grid → region path",
        &["lat", "lon"],
        None,
        false,
    ),
    (
        "get",
        "/api/v1/departments",
        "reference",
        "Departments cases are dispatched to",
        &[],
        None,
        false,
    ),
    (
        "get",
        "/api/v1/categories",
        "reference",
        "The category catalog with deadlines per urgency and stage",
        &[],
        None,
        false,
    ),
    (
        "get",
        "/api/v1/stats/kpi",
        "stats",
        "GB/T 30428.4 counts, rates and score of a region, grid or department",
        &["region", "grid", "department", "from", "to", "children"],
        None,
        true,
    ),
    (
        "post",
        "/api/v1/admin/import/divisions",
        "admin",
        "Import divisions (NBS CSV body)",
        &[],
        Some("Csv"),
        true,
    ),
    (
        "post",
        "/api/v1/admin/import/grids",
        "admin",
        "Import grids (GeoJSON FeatureCollection body)",
        &["crs", "code_property", "name_property"],
        Some("GeoJson"),
        true,
    ),
    (
        "post",
        "/api/v1/admin/import/calendar",
        "admin",
        "Import official calendar days (CSV body)",
        &[],
        Some("Csv"),
        true,
    ),
    (
        "get",
        "/api/v1/openapi.json",
        "meta",
        "This document",
        &[],
        None,
        false,
    ),
    (
        "get",
        "/healthz",
        "meta",
        "Liveness, database reachability, and whether the write path's caches are warm (`warm`)",
        &[],
        None,
        false,
    ),
    (
        "get",
        "/api/v1/cases/export.csv",
        "cases",
        "Cases in scope as CSV (list filters; no personal data; audited)",
        &[
            "status",
            "type",
            "category",
            "region",
            "grid",
            "department",
            "light",
            "from",
            "to",
            "q",
            "open",
            "sort",
        ],
        None,
        true,
    ),
    (
        "post",
        "/api/v1/cases/{id}/reveal",
        "privacy",
        "Reveal the reporter's contact, with a reason (audited; command center and handling department)",
        &[],
        Some("Reason"),
        true,
    ),
    (
        "post",
        "/api/v1/privacy/erasures",
        "privacy",
        "Erase a resident's contact data on request: one case, or every case with a phone (admin)",
        &[],
        Some("Erasure"),
        true,
    ),
    (
        "post",
        "/api/v1/track/{code}/erase",
        "privacy",
        "A resident erases the contact left on their own report (tracking code as proof)",
        &[],
        None,
        false,
    ),
    (
        "get",
        "/api/v1/admin/users",
        "admin",
        "Accounts with their roles and scopes",
        &[],
        None,
        true,
    ),
    (
        "post",
        "/api/v1/admin/users",
        "admin",
        "Create an account (password policy applies; audited)",
        &[],
        Some("NewUser"),
        true,
    ),
    (
        "patch",
        "/api/v1/admin/users/{id}",
        "admin",
        "Change role, scope, department, password or disable (ends sessions when narrowed; audited)",
        &[],
        Some("UserChange"),
        true,
    ),
    (
        "get",
        "/api/v1/admin/audit",
        "admin",
        "Search the audit trail, newest first",
        &[
            "actor",
            "action",
            "target_type",
            "target_id",
            "from",
            "to",
            "page",
            "page_size",
        ],
        None,
        true,
    ),
    (
        "get",
        "/api/v1/admin/audit/verify",
        "admin",
        "Check the audit trail's hash chain",
        &[],
        None,
        true,
    ),
    (
        "get",
        "/api/v1/admin/tokens",
        "admin",
        "Machine tokens (never their secrets)",
        &[],
        None,
        true,
    ),
    (
        "post",
        "/api/v1/admin/tokens/{id}/revoke",
        "admin",
        "Revoke a machine token (audited)",
        &[],
        None,
        true,
    ),
    // Open311 GeoReport v2 (docs/open311.md): each also answers in XML with `.xml`.
    (
        "get",
        "/open311/v2/discovery.json",
        "open311",
        "Open311 discovery (also .xml)",
        &[],
        None,
        false,
    ),
    (
        "get",
        "/open311/v2/services.json",
        "open311",
        "Open311 services: the category catalog (also .xml)",
        &["jurisdiction_id"],
        None,
        false,
    ),
    (
        "get",
        "/open311/v2/services/{file}",
        "open311",
        "Open311 service definition: {service_code}.json or .xml",
        &["jurisdiction_id"],
        None,
        false,
    ),
    (
        "post",
        "/open311/v2/requests.json",
        "open311",
        "Open311: file a request (form body, api_key; also .xml)",
        &[],
        None,
        false,
    ),
    (
        "get",
        "/open311/v2/requests.json",
        "open311",
        "Open311 request list (also .xml)",
        &[
            "jurisdiction_id",
            "service_request_id",
            "service_code",
            "start_date",
            "end_date",
            "status",
            "updated_after",
            "updated_before",
            "page",
            "page_size",
            "extensions",
        ],
        None,
        false,
    ),
    (
        "get",
        "/open311/v2/requests/{file}",
        "open311",
        "Open311 request: {service_request_id}.json or .xml",
        &["jurisdiction_id", "extensions"],
        None,
        false,
    ),
    (
        "get",
        "/open311/v2/tokens/{file}",
        "open311",
        "Open311 token lookup: {token}.json or .xml",
        &["jurisdiction_id"],
        None,
        false,
    ),
    (
        "get",
        "/open311/v2/servicerequestupdates.json",
        "open311",
        "mySociety updates feed (also .xml)",
        &["jurisdiction_id", "start_date", "end_date"],
        None,
        false,
    ),
    (
        "post",
        "/open311/v2/servicerequestupdates.json",
        "open311",
        "mySociety: push a resident's update (form body, api_key; also .xml)",
        &[],
        None,
        false,
    ),
    (
        "get",
        "/api/v1/disputes/codes",
        "disputes",
        "Code tables of the dispute record (GB/T 31000 table 30) and petition channels, zh-CN and en",
        &[],
        None,
        true,
    ),
    (
        "get",
        "/api/v1/mediation/committees",
        "disputes",
        "Mediation committees (人民调解委员会) in the caller's territory",
        &["region"],
        None,
        true,
    ),
    (
        "post",
        "/api/v1/mediation/committees",
        "disputes",
        "Add a mediation committee (admin)",
        &[],
        Some("NewCommittee"),
        true,
    ),
    (
        "get",
        "/api/v1/mediators",
        "disputes",
        "Mediators (调解员), phones masked except to admins",
        &["committee"],
        None,
        true,
    ),
    (
        "post",
        "/api/v1/mediators",
        "disputes",
        "Add a mediator, optionally linked to a mediator's login (admin)",
        &[],
        Some("NewMediator"),
        true,
    ),
    (
        "get",
        "/api/v1/disputes/{id}",
        "disputes",
        "A dispute's record, parties (masked unless admin or its mediator), sessions and agreement",
        &[],
        None,
        true,
    ),
    (
        "get",
        "/api/v1/disputes/{id}/agreement.html",
        "disputes",
        "The printable mediation agreement (人民调解协议书), HTML with print CSS",
        &[],
        None,
        true,
    ),
    (
        "get",
        "/api/v1/disputes/screenings",
        "disputes",
        "Grid screening reports (矛盾纠纷排查) overlapping a period",
        &["region", "from", "to"],
        None,
        true,
    ),
    (
        "post",
        "/api/v1/disputes/screenings",
        "disputes",
        "File a grid's screening report for a period (empty cases: none found)",
        &[],
        Some("NewScreening"),
        true,
    ),
    (
        "get",
        "/api/v1/stats/disputes",
        "stats",
        "Mediation success rate (调处成功率 = resolved / concluded) by region, class, category or method",
        &["region", "from", "to", "by"],
        None,
        true,
    ),
    (
        "get",
        "/api/v1/petitions/{id}",
        "petitions",
        "A petition's record (channel, agent, answers) and its statutory clocks and open windows",
        &[],
        None,
        true,
    ),
    (
        "get",
        "/api/v1/stats/petitions",
        "stats",
        "Petition figures: received (repeats apart), not accepted, concluded, answered on time, reviews, overdue; by channel",
        &["region", "from", "to"],
        None,
        true,
    ),
    (
        "get",
        "/api/v1/petitions/backlog",
        "petitions",
        "Petition backlog (积案): open petitions overdue or petitioned again, for leaders",
        &["region", "mine"],
        None,
        true,
    ),
];

fn schemas() -> Value {
    json!({
        "Error": {
            "type": "object", "required": ["error"],
            "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
                "code": { "type": "string" }, "message": { "type": "string" }, "field": { "type": ["string", "null"] },
                "request_id": { "type": ["string", "null"], "description": "the X-Request-Id of this answer; the server's log lines for the request carry it" },
                "allowed_actions": { "type": "array", "items": { "type": "string" } }, "state": { "type": "string" } } } }
        },
        "Login": { "type": "object", "required": ["username", "password"], "properties": {
            "username": { "type": "string" }, "password": { "type": "string", "format": "password" } } },
        "CreateCase": { "type": "object", "required": ["category", "description"], "properties": {
            "category": { "type": "string", "description": "category code (GET /api/v1/categories)" },
            "description": { "type": "string", "minLength": 1, "maxLength": 4000 },
            "lat": { "type": "number", "minimum": -90, "maximum": 90 },
            "lon": { "type": "number", "minimum": -180, "maximum": 180 },
            "urgency": { "type": "string", "enum": ["normal", "urgent", "emergency"] },
            "channel": { "type": "string", "enum": ["web", "grid_worker", "hotline", "open311", "app", "agency", "wechat"] },
            "address": { "type": "string", "maxLength": 200 },
            "type": { "type": "string", "enum": ["service_event", "dispute", "petition", "hazard"] },
            "reporter": { "type": "object", "properties": { "name": { "type": "string" }, "phone": { "type": "string" },
                "anonymous": { "type": "boolean", "description": "contact reserved for the command center's call-back" } } },
            "dispute": { "$ref": "#/components/schemas/Dispute" },
            "petition": { "$ref": "#/components/schemas/Petition" } } },
        "Reason": { "type": "object", "required": ["reason"], "properties": { "reason": { "type": "string", "minLength": 4, "maxLength": 500 } } },
        "Erasure": { "type": "object", "required": ["reason"], "properties": {
            "case_id": { "type": "string", "format": "uuid" }, "phone": { "type": "string" }, "reason": { "type": "string", "minLength": 4 } } },
        "NewUser": { "type": "object", "required": ["username", "role", "password"], "properties": {
            "username": { "type": "string" }, "display_name": { "type": "string" },
            "role": { "type": "string", "enum": ["citizen", "grid_worker", "grid_leader", "dispatcher", "handler", "mediator", "leader", "admin"] },
            "department": { "type": "string" }, "regions": { "type": "array", "items": { "type": "string" } },
            "grids": { "type": "array", "items": { "type": "string" } },
            "password": { "type": "string", "format": "password", "minLength": 10 } } },
        "UserChange": { "type": "object", "properties": {
            "display_name": { "type": "string" }, "role": { "type": "string" }, "department": { "type": ["string", "null"] },
            "regions": { "type": "array", "items": { "type": "string" } }, "grids": { "type": "array", "items": { "type": "string" } },
            "disabled": { "type": "boolean" }, "password": { "type": "string", "format": "password", "minLength": 10 } } },
        "Action": { "type": "object", "required": ["action"], "properties": {
            "action": { "type": "string", "enum": ["register", "reject", "void", "dispatch", "accept", "return", "request_extension",
                "approve_extension", "refuse_extension", "suspend", "resume", "handle", "verify", "close", "supervise", "expedite",
                "self_handle", "rate", "link_duplicate", "comment",
                "assign", "refuse_mediation", "record_session", "reach_agreement", "fail_mediation", "hand_on", "follow_up",
                "close_resolved", "close_unresolved", "record_court_confirmation",
                "not_accept", "forward", "acknowledge", "object", "reply", "conclude", "request_review", "answer_review",
                "request_re_review", "answer_re_review", "evaluate", "take_charge"],
                "description": "the actions of the case's type; a dispute's also take the DisputeAction fields" },
            "note": { "type": "string", "maxLength": 4000 },
            "department": { "type": "string", "description": "dispatch: department code" },
            "passed": { "type": "boolean", "description": "verify: whether the fix is real" },
            "score": { "type": "integer", "minimum": 1, "maximum": 5, "description": "rate" },
            "of": { "type": "string", "format": "uuid", "description": "link_duplicate: the original case" },
            "level": { "type": "string", "enum": ["yellow", "red"], "description": "supervise" },
            "extend_by": { "type": "string", "description": "request_extension, e.g. \"2 working_days\"" },
            "version": { "type": "integer", "description": "alternative to If-Match" } } },
        "Csv": { "type": "string", "contentMediaType": "text/csv" },
        "GeoJson": { "type": "object", "description": "GeoJSON FeatureCollection of Polygon/MultiPolygon features" },
        "Dispute": { "type": "object", "required": ["parties"], "description": "with \"type\": \"dispute\" (GB/T 31000 table 30)", "properties": {
            "scale": { "type": "string", "enum": ["01", "02", "03"] }, "grade": { "type": "string", "enum": ["01", "02", "03", "04"] },
            "people_count": { "type": "integer" }, "units_involved": { "type": "string" }, "occurred_on": { "type": "string", "format": "date" },
            "found_by": { "type": "string", "enum": ["report", "screening"] },
            "parties": { "type": "array", "items": { "type": "object", "required": ["role", "name"], "properties": {
                "kind": { "type": "string", "enum": ["person", "organisation"] }, "role": { "type": "string", "enum": ["applicant", "respondent"] },
                "name": { "type": "string" }, "phone": { "type": "string" }, "id_number": { "type": "string" } } } } } },
        "Petition": { "type": "object", "required": ["channel"], "description": "with \"type\": \"petition\"", "properties": {
            "channel": { "type": "string", "enum": ["letter", "visit", "phone", "online"] }, "petitioners": { "type": "integer" },
            "agent": { "type": "object", "description": "appointed agent (信访代理)", "properties": {
                "name": { "type": "string" }, "phone": { "type": "string" }, "relation": { "type": "string" } } } } },
        "DisputeAction": { "type": "object", "description": "fields of dispute actions, sent with the Action", "properties": {
            "mediator": { "type": "string", "format": "uuid", "description": "assign" },
            "method": { "type": "string", "description": "assign (01xx) or hand_on: resolution method code" },
            "session": { "type": "object", "description": "record_session", "properties": {
                "held_on": { "type": "string", "format": "date" }, "place": { "type": "string" },
                "attendees": { "type": "array", "items": { "type": "string" } }, "notes": { "type": "string" } } },
            "agreement": { "type": "object", "description": "reach_agreement", "properties": {
                "form": { "type": "string", "enum": ["written", "oral"] }, "content": { "type": "string" },
                "obligations": { "type": "string" }, "perform_by": { "type": "string", "format": "date" } } },
            "destination": { "type": "string", "enum": ["arbitration", "litigation", "administrative"], "description": "hand_on" },
            "destination_body": { "type": "string", "description": "hand_on" },
            "honoured": { "type": "boolean", "description": "follow_up" },
            "court": { "type": "string", "description": "record_court_confirmation" },
            "confirmed": { "type": "boolean", "description": "record_court_confirmation" } } },
        "NewCommittee": { "type": "object", "required": ["name", "kind", "region"], "properties": {
            "name": { "type": "string" }, "kind": { "type": "string", "enum": ["village", "township", "judicial_office", "sector"] },
            "region": { "type": "string" } } },
        "NewMediator": { "type": "object", "required": ["committee", "name"], "properties": {
            "committee": { "type": "string", "format": "uuid" }, "name": { "type": "string" }, "phone": { "type": "string" },
            "username": { "type": "string" } } },
        "NewScreening": { "type": "object", "required": ["grid", "from", "to"], "properties": {
            "grid": { "type": "string" }, "from": { "type": "string", "format": "date" }, "to": { "type": "string", "format": "date" },
            "cases": { "type": "array", "items": { "type": "string", "format": "uuid" } }, "notes": { "type": "string" } } },
    })
}

pub fn openapi() -> Value {
    let mut paths = serde_json::Map::new();
    for (method, path, tag, summary, params, body, auth) in OPERATIONS {
        let mut op = json!({
            "tags": [tag], "summary": summary,
            "operationId": format!("{method}_{}", path.trim_start_matches('/').replace(['/', '{', '}', '.'], "_")),
            "responses": {
                "200": { "description": "OK", "content": { "application/json": {} } },
                "4XX": { "description": "Error naming the field and the reason",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "503": { "description": "The database is busy (code `unavailable`); retry after `Retry-After` seconds",
                    "headers": { "Retry-After": { "schema": { "type": "integer" } } },
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
        });
        let mut ps: Vec<Value> = params
            .iter()
            .map(|p| json!({ "name": p, "in": "query", "required": matches!(*p, "lat" | "lon"), "schema": { "type": "string" } }))
            .collect();
        for seg in path.split('/').filter(|s| s.starts_with('{')) {
            ps.push(json!({ "name": seg.trim_matches(['{', '}']), "in": "path", "required": true, "schema": { "type": "string" } }));
        }
        if !ps.is_empty() {
            op["parameters"] = json!(ps);
        }
        if let Some(b) = body {
            let ct = match *b {
                "Csv" => "text/csv",
                "GeoJson" => "application/geo+json",
                _ => "application/json",
            };
            op["requestBody"] = json!({ "required": true, "content": { ct: { "schema": { "$ref": format!("#/components/schemas/{b}") } } } });
        }
        if *auth {
            op["security"] = json!([{ "session": [] }, { "bearer": [] }]);
        }
        if *method == "post" && *path == "/api/v1/cases" {
            op["responses"]["201"] = json!({ "description": "Created" });
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "safegrid API (平安网格)",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Grid-based community governance: territory, grids, cases and their workflow, deadlines and KPIs. Times are RFC 3339 in Asia/Shanghai (+08:00). Errors: {\"error\":{\"code\",\"message\",\"field\"}}.",
            "license": { "name": "Apache-2.0" }
        },
        "servers": [{ "url": "/" }],
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "session": { "type": "apiKey", "in": "cookie", "name": "safegrid_session" },
                "bearer": { "type": "http", "scheme": "bearer", "description": "safegrid token create --user NAME" }
            }
        }
    })
}

async fn openapi_json() -> Json<Value> {
    Json(openapi())
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A self-contained reference page rendered from the OpenAPI document: no scripts, no CDN.
async fn docs() -> Html<String> {
    let doc = openapi();
    let mut rows = String::new();
    for (method, path, tag, summary, params, body, auth) in OPERATIONS {
        rows.push_str(&format!(
            "<tr><td><code class=m-{method}>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            method.to_uppercase(), esc(path), esc(tag), esc(summary),
            esc(&params.join(", ")), body.map(esc).unwrap_or_default(), if *auth { "✔" } else { "" }
        ));
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

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/docs", get(docs))
}
