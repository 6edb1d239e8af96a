//! What the OpenAPI document says of Open311: the parameters its handlers read from the query
//! string and the form body (`Params`, read by name), and the shapes of its JSON answers (built
//! as [`super::format::Node`] trees, which carry no types). The XML answers hold the same fields
//! under the root elements the GeoReport v2 specification names.

use serde_json::{Value, json};
use utoipa::{IntoParams, OpenApi, ToSchema};

/// The schemas Open311's shared answers refer to (its refusals, added by [`document_errors`]).
#[derive(OpenApi)]
#[openapi(components(schemas(Error)))]
pub struct Shared;

/// Every read names the jurisdiction (optional when the server serves one).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JurisdictionQuery {
    /// The region this server serves (6 or 12 digits); required when it serves several.
    pub jurisdiction_id: Option<String>,
}

/// The request list's filters.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestsQuery {
    /// The region this server serves (6 or 12 digits); required when it serves several.
    pub jurisdiction_id: Option<String>,
    /// Request ids, comma-separated (at most one page); they override the other filters (which
    /// must still be well-formed).
    pub service_request_id: Option<String>,
    /// Service codes, comma-separated.
    pub service_code: Option<String>,
    /// Requested on or after (ISO 8601).
    pub start_date: Option<String>,
    /// Requested on or before (ISO 8601).
    pub end_date: Option<String>,
    /// open or closed, comma-separated.
    pub status: Option<String>,
    /// Updated on or after (ISO 8601).
    pub updated_after: Option<String>,
    /// Updated on or before (ISO 8601).
    pub updated_before: Option<String>,
    /// Page number, from 1.
    #[param(inline, value_type = Option<crate::http_common::openapi::Count>)]
    pub page: Option<i64>,
    /// Requests per page.
    #[param(inline, value_type = Option<crate::http_common::openapi::Count>)]
    pub page_size: Option<i64>,
    /// true or 1: add the mySociety/Open311 extensions (notes, attributes); any case.
    #[param(pattern = r"^\s*([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0)?\s*$")]
    pub extensions: Option<String>,
}

/// One request's query.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OneRequestQuery {
    /// The region this server serves (6 or 12 digits); required when it serves several.
    pub jurisdiction_id: Option<String>,
    /// true or 1: add the extensions (notes, attributes); any case.
    #[param(pattern = r"^\s*([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0)?\s*$")]
    pub extensions: Option<String>,
}

/// The updates feed's window.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UpdatesQuery {
    /// The region this server serves (6 or 12 digits); required when it serves several.
    pub jurisdiction_id: Option<String>,
    /// Updates from (ISO 8601).
    pub start_date: Option<String>,
    /// Updates up to (ISO 8601).
    pub end_date: Option<String>,
}

/// A new request (form body, `application/x-www-form-urlencoded`; parameters in the query
/// string are read too). A location is required: lat and long, address_string or address_id.
/// Service attributes are sent as `attribute[CODE]=value` (repeated for several values).
#[derive(ToSchema)]
pub struct NewRequest {
    /// The client application's key (here or in the query string).
    pub api_key: Option<String>,
    pub jurisdiction_id: Option<String>,
    /// A service code (GET services.json).
    pub service_code: String,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    #[schema(max_length = 200)]
    pub address_string: Option<String>,
    #[schema(max_length = 100)]
    pub address_id: Option<String>,
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    #[schema(max_length = 50)]
    pub first_name: Option<String>,
    #[schema(max_length = 50)]
    pub last_name: Option<String>,
    #[schema(max_length = 30)]
    pub phone: Option<String>,
    #[schema(max_length = 100)]
    pub account_id: Option<String>,
    #[schema(max_length = 1000)]
    pub media_url: Option<String>,
}

/// A resident's update to a request, as FixMyStreet pushes it (form body).
#[derive(ToSchema)]
pub struct NewUpdate {
    /// The client application's key (here or in the query string).
    pub api_key: Option<String>,
    pub jurisdiction_id: Option<String>,
    pub service_request_id: String,
    /// The client's id of the update (at most 100 characters); a repeat is answered, not re-applied.
    pub update_id: String,
    /// OPEN or CLOSED.
    pub status: String,
    /// When it happened (ISO 8601).
    pub updated_datetime: String,
    pub description: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub media_url: Option<String>,
}

/// One error of an Open311 refusal (answered as a list of them).
#[derive(ToSchema)]
#[schema(as = Open311Error)]
pub struct Error {
    /// The HTTP status.
    pub code: i64,
    pub description: String,
    /// The X-Request-Id of this answer.
    pub request_id: Option<String>,
}

/// The discovery document.
#[derive(ToSchema)]
pub struct Discovery {
    pub changeset: String,
    pub contact: String,
    pub key_service: String,
    pub endpoints: Vec<Endpoint>,
}

/// An endpoint of the discovery document.
#[derive(ToSchema)]
pub struct Endpoint {
    pub specification: String,
    pub url: String,
    pub changeset: String,
    /// production.
    #[schema(rename = "type")]
    pub kind: String,
    /// text/xml and application/json.
    pub formats: Vec<String>,
}

/// A service: a category residents may file.
#[derive(ToSchema)]
pub struct Service {
    pub service_code: String,
    pub service_name: String,
    pub description: String,
    /// Whether it has a definition with attributes.
    pub metadata: bool,
    /// realtime.
    #[schema(rename = "type")]
    pub kind: String,
    pub keywords: String,
    pub group: String,
}

/// A service's definition: its attributes.
#[derive(ToSchema)]
pub struct ServiceDefinition {
    pub service_code: String,
    pub attributes: Vec<Attribute>,
}

/// An attribute a service asks at filing (`attribute[code]=value`).
#[derive(ToSchema)]
pub struct Attribute {
    pub variable: bool,
    pub code: String,
    /// string, text, number, datetime, singlevaluelist or multivaluelist.
    pub datatype: String,
    pub required: bool,
    pub datatype_description: String,
    pub order: i64,
    pub description: String,
    pub values: Vec<AttributeValue>,
}

/// A value of a list attribute.
#[derive(ToSchema)]
pub struct AttributeValue {
    pub key: String,
    pub name: String,
}

/// A request as the public may follow it.
#[derive(ToSchema)]
pub struct ServiceRequest {
    pub service_request_id: String,
    /// open or closed.
    pub status: String,
    pub status_notes: Option<String>,
    pub service_name: Option<String>,
    pub service_code: String,
    pub description: Option<String>,
    pub agency_responsible: Option<String>,
    pub service_notice: Option<String>,
    pub requested_datetime: String,
    pub updated_datetime: String,
    pub expected_datetime: Option<String>,
    pub address: Option<String>,
    pub address_id: Option<String>,
    pub zipcode: Option<String>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub media_url: Option<String>,
}

/// What a filing answers: the request's id or its token, and a notice.
#[derive(ToSchema)]
pub struct Filed {
    pub service_request_id: Option<String>,
    pub token: Option<String>,
    pub service_notice: Option<String>,
    pub account_id: Option<String>,
}

/// An update of a request.
#[derive(ToSchema)]
pub struct Update {
    pub update_id: String,
    pub service_request_id: String,
    pub status: String,
    pub updated_datetime: String,
    pub description: String,
    pub media_url: String,
    pub external_status_code: String,
}

/// What a pushed update answers.
#[derive(ToSchema)]
pub struct UpdateAccepted {
    pub update_id: String,
}

/// A token looked up.
#[derive(ToSchema)]
pub struct TokenFound {
    pub service_request_id: String,
    pub token: String,
}

/// The content types of an Open311 path: its suffix's, or both for `{file}` paths.
fn content_types(path: &str) -> &'static [&'static str] {
    if path.ends_with(".json") {
        &["application/json"]
    } else if path.ends_with(".xml") {
        &["text/xml"]
    } else {
        &["application/json", "text/xml"]
    }
}

/// Open311's refusals in the document: a list of `{code, description}` in the path's format,
/// for a client's mistake (4XX: 400, 403 for a bad key, 404, 405, 413 for a body over Open311's
/// own limit, 415 for a body that is not a form, 429) and when the database is busy (503); XML answers hold the same list under
/// `<errors><error>`.
pub fn document_errors(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        if !path.starts_with(super::BASE) {
            continue;
        }
        let content: serde_json::Map<String, Value> = content_types(path)
            .iter()
            .map(|ct| {
                let schema = if *ct == "application/json" {
                    json!({ "type": "array", "items": { "$ref": "#/components/schemas/Open311Error" } })
                } else {
                    json!({ "type": "string", "description": "<errors><error><code/><description/></error></errors>" })
                };
                (ct.to_string(), json!({ "schema": schema }))
            })
            .collect();
        let Some(ops) = item.as_object_mut() else {
            continue;
        };
        for op in ops.values_mut() {
            let has_body = op.get("requestBody").is_some();
            let responses = &mut op["responses"];
            responses["4XX"] = json!({
                "description": "Refused: 400 a parameter is wrong (named in the description), 403 a missing or unknown api_key, 404 unknown, 405 method not allowed, 429 too many requests",
                "content": content.clone()
            });
            if has_body {
                responses["413"] = json!({ "description": "The body is larger than Open311's limit", "content": content.clone() });
                responses["415"] = json!({ "description": "The body is not application/x-www-form-urlencoded", "content": content.clone() });
            }
            responses["503"] = json!({
                "description": "No territory loaded yet, or the database is busy; retry after `Retry-After` seconds",
                "headers": { "Retry-After": { "schema": { "type": "integer" } } },
                "content": content.clone()
            });
        }
    }
}
