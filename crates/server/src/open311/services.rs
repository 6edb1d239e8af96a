//! Services (服务类型) are the categories of the catalog: `service_code` = category code, `group`
//! = its class, `metadata` = whether the category asks extra questions, which the service
//! definition lists as attributes.

use super::format::{Body, Format, Node};
use super::{Done, Fail, Params, jurisdiction, query_params, respond};
use crate::app::state::SharedState;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use safegrid_domain::catalog::{Attribute, AttributeDatatype};
use safegrid_store::CategoryRow;

pub fn attributes_of(c: &CategoryRow) -> Vec<Attribute> {
    serde_json::from_str(&c.attributes).unwrap_or_default()
}

fn keywords_of(c: &CategoryRow) -> Vec<String> {
    serde_json::from_str(&c.keywords).unwrap_or_default()
}

/// Whether Open311 offers a category: service events, as the report form does. Disputes and
/// petitions need their statutory records (parties, agents) with personal data that Open311
/// cannot carry under our masking rules; they are filed through the API or the offices. Hazards
/// (隐患) are found by inspections in a campaign, at a place of the register; a resident's report
/// of a danger is a service event (E-class "fire hazard", "workplace safety hazard") that the
/// command center may follow up.
pub fn offered(c: &CategoryRow) -> bool {
    c.active && c.case_type == "service_event"
}

/// Offered categories sorted by code.
pub fn active_categories(st: &SharedState) -> Vec<CategoryRow> {
    let mut v: Vec<CategoryRow> = st
        .categories()
        .values()
        .filter(|c| offered(c))
        .cloned()
        .collect();
    v.sort_by(|a, b| a.code.cmp(&b.code));
    v
}

pub async fn list(st: &SharedState, p: &Params, f: Format) -> Done {
    jurisdiction(st, p).await?;
    let items = active_categories(st)
        .iter()
        .map(|c| {
            Node::obj(vec![
                ("service_code", Node::str(c.code.clone())),
                ("service_name", Node::str(c.name_zh.clone())),
                (
                    "description",
                    Node::str(format!("{} ({})", c.name_zh, c.name_en)),
                ),
                ("metadata", Node::Bool(!attributes_of(c).is_empty())),
                ("type", Node::str("realtime")),
                ("keywords", Node::str(keywords_of(c).join(","))),
                ("group", Node::str(c.class_zh.clone())),
            ])
        })
        .collect();
    Ok(Body::List {
        root: "services",
        item: "service",
        items,
    }
    .render(f, StatusCode::OK))
}

fn datatype_description(d: AttributeDatatype) -> &'static str {
    match d {
        AttributeDatatype::String => "a short text (at most 200 characters)",
        AttributeDatatype::Text => "a text (at most 4000 characters)",
        AttributeDatatype::Number => "a number",
        AttributeDatatype::Datetime => "an ISO 8601 date-time with a zone",
        AttributeDatatype::SingleValueList => "one key of the values",
        AttributeDatatype::MultiValueList => {
            "one or more keys of the values (repeat the parameter)"
        }
    }
}

/// A service's definition: `{service_code}.json` or `.xml`.
#[utoipa::path(get, path = "/services/{file}", tag = "open311", summary = "Open311 service definition: {service_code}.json or .xml",
    params(("file" = String, Path, description = "the service code with .json or .xml"), super::doc::JurisdictionQuery),
    responses((status = 200, description = "The service's attributes (XML: <service_definition>)", content(
        (super::doc::ServiceDefinition = "application/json"),
        (String = "text/xml")))))]
pub async fn definition(
    State(st): State<SharedState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let Some((code, f)) = Format::split(&file) else {
        return Fail::not_found(format!("{file}: add .xml or .json")).render(Format::Xml);
    };
    let result = async {
        let p = query_params(&q)?;
        jurisdiction(&st, &p).await?;
        let cats = st.categories();
        let c = cats
            .get(code)
            .filter(|c| offered(c))
            .ok_or_else(|| Fail::not_found(format!("service_code: unknown service {code}")))?;
        let attributes = attributes_of(c)
            .iter()
            .map(|a| {
                Node::obj(vec![
                    ("variable", Node::Bool(true)),
                    ("code", Node::str(a.code.clone())),
                    ("datatype", Node::str(a.datatype.as_str())),
                    ("required", Node::Bool(a.required)),
                    (
                        "datatype_description",
                        Node::str(datatype_description(a.datatype)),
                    ),
                    ("order", Node::Int(i64::from(a.order))),
                    (
                        "description",
                        Node::str(format!("{} ({})", a.description_zh, a.description_en)),
                    ),
                    (
                        "values",
                        Node::List(
                            "value",
                            a.values
                                .iter()
                                .map(|v| {
                                    Node::obj(vec![
                                        ("key", Node::str(v.key.clone())),
                                        ("name", Node::str(v.name_zh.clone())),
                                    ])
                                })
                                .collect(),
                        ),
                    ),
                ])
            })
            .collect();
        Ok(Body::Object {
            root: "service_definition",
            node: Node::obj(vec![
                ("service_code", Node::str(c.code.clone())),
                ("attributes", Node::List("attribute", attributes)),
            ]),
        }
        .render(f, StatusCode::OK))
    }
    .await;
    respond(f, result)
}
