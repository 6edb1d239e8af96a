//! Filing a request (POST `requests`): the parameters checked the Open311 way (every problem
//! named by its parameter, attribute problems all at once) and turned into a case through
//! `AppState::create_case` with channel `open311`, the same engine as every other channel.

use super::format::{Body, Format, Node};
use super::services::attributes_of;
use super::{Done, Fail, Params, jurisdiction, parse_time};
use crate::app::service::{CreateCase, Reporter};
use crate::app::state::SharedState;
use crate::app::time::local_time;
use axum::http::StatusCode;
use chrono::Utc;
use safegrid_domain::catalog::{Attribute, AttributeDatatype};
use safegrid_domain::codes::GeoPoint;
use safegrid_store::Open311Client;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// A text parameter: at most `max` characters, no control characters but line breaks and tabs.
pub fn text_param(p: &Params, name: &str, max: usize) -> Result<Option<String>, Fail> {
    match p.get(name) {
        None => Ok(None),
        Some(s) if s.chars().count() > max => Err(Fail::bad(format!(
            "{name}: must be at most {max} characters (it has {})",
            s.chars().count()
        ))),
        Some(s)
            if s.chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) =>
        {
            Err(Fail::bad(format!(
                "{name}: must not contain control characters"
            )))
        }
        Some(s) => Ok(Some(s.to_string())),
    }
}

/// A media URL: http(s), no spaces, at most 1,000 characters.
pub fn media_url_param(p: &Params) -> Result<Option<String>, Fail> {
    let Some(u) = text_param(p, "media_url", 1000)? else {
        return Ok(None);
    };
    let lower = u.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://"))
        || u.chars().any(char::is_whitespace)
    {
        return Err(Fail::bad("media_url: must be an http:// or https:// URL"));
    }
    Ok(Some(u))
}

/// `attribute[CODE]` (and `attribute[CODE][]` for lists) checked against the service's
/// attributes; every problem is reported at once.
pub fn read_attributes(
    p: &Params,
    attrs: &[Attribute],
    service: &str,
) -> Result<Map<String, Value>, Fail> {
    let mut errors = vec![];
    let mut given: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in &p.0 {
        let Some(rest) = k.strip_prefix("attribute[") else {
            continue;
        };
        match rest.strip_suffix("][]").or_else(|| rest.strip_suffix(']')) {
            Some(code) if !code.is_empty() && !code.contains(['[', ']']) => {
                let v = v.trim();
                if !v.is_empty() {
                    given
                        .entry(code.to_string())
                        .or_default()
                        .push(v.to_string());
                }
            }
            _ => errors.push(format!(
                "{k}: attribute parameters are named attribute[CODE]"
            )),
        }
    }
    for code in given.keys() {
        if !attrs.iter().any(|a| &a.code == code) {
            errors.push(format!(
                "attribute[{code}]: service {service} has no such attribute"
            ));
        }
    }
    let mut out = Map::new();
    for a in attrs {
        let name = format!("attribute[{}]", a.code);
        let values = given.get(&a.code).cloned().unwrap_or_default();
        if values.is_empty() {
            if a.required {
                errors.push(format!("{name}: is required ({})", a.description_en));
            }
            continue;
        }
        if a.datatype != AttributeDatatype::MultiValueList && values.len() > 1 {
            errors.push(format!("{name}: takes one value"));
            continue;
        }
        let v = &values[0];
        let keys: Vec<&str> = a.values.iter().map(|x| x.key.as_str()).collect();
        match a.datatype {
            AttributeDatatype::String | AttributeDatatype::Text => {
                let max = if a.datatype == AttributeDatatype::String {
                    200
                } else {
                    4000
                };
                if v.chars().count() > max {
                    errors.push(format!("{name}: must be at most {max} characters"));
                } else if v.chars().any(|c| c.is_control() && c != '\n') {
                    errors.push(format!("{name}: must not contain control characters"));
                } else {
                    out.insert(a.code.clone(), json!(v));
                }
            }
            AttributeDatatype::Number => match v.parse::<f64>() {
                Ok(n) if n.is_finite() => {
                    out.insert(a.code.clone(), json!(n));
                }
                _ => errors.push(format!("{name}: must be a number")),
            },
            AttributeDatatype::Datetime => match parse_time(v, &name, false) {
                Ok(t) => {
                    out.insert(a.code.clone(), json!(local_time(t)));
                }
                Err(e) => errors.extend(e.messages),
            },
            AttributeDatatype::SingleValueList => {
                if keys.contains(&v.as_str()) {
                    out.insert(a.code.clone(), json!(v));
                } else {
                    errors.push(format!("{name}: must be one of {}", keys.join(", ")));
                }
            }
            AttributeDatatype::MultiValueList => {
                let mut chosen: Vec<String> = vec![];
                for v in values.iter().flat_map(|v| v.split(',')).map(str::trim) {
                    if !keys.contains(&v) {
                        errors.push(format!("{name}: {v} is not one of {}", keys.join(", ")));
                    } else if !chosen.iter().any(|c| c == v) {
                        chosen.push(v.to_string());
                    }
                }
                out.insert(a.code.clone(), json!(chosen));
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Fail {
            status: StatusCode::BAD_REQUEST,
            messages: errors,
            retry_after: None,
        })
    }
}

fn coordinate(p: &Params, name: &str) -> Result<Option<f64>, Fail> {
    match p.get(name) {
        None => Ok(None),
        Some(s) => s
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(Some)
            .ok_or_else(|| {
                Fail::bad(format!(
                    "{name}: must be a number in decimal degrees (WGS84)"
                ))
            }),
    }
}

/// The reporter's name from first_name/last_name: Chinese names are family name first, unspaced.
fn reporter_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let cjk = |s: &str| {
        s.chars()
            .all(|c| ('\u{4e00}'..='\u{9fff}').contains(&c) || c == '·')
    };
    match (first, last) {
        (Some(f), Some(l)) if cjk(f) && cjk(l) => Some(format!("{l}{f}")),
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(x), None) | (None, Some(x)) => Some(x.to_string()),
        (None, None) => None,
    }
}

/// POST requests: files a case (channel open311) for the client application `client`.
pub async fn create(st: &SharedState, p: &Params, client: &Open311Client, f: Format) -> Done {
    let j = jurisdiction(st, p).await?;
    let Some(code) = p.get("service_code") else {
        return Err(Fail::bad("service_code: is required"));
    };
    let cats = st.categories();
    let Some(cat) = cats.get(code).filter(|c| super::services::offered(c)) else {
        return Err(Fail::not_found(format!(
            "service_code: unknown service {code}"
        )));
    };
    let lat = coordinate(p, "lat")?;
    let lon = coordinate(p, "long")?;
    let address = text_param(p, "address_string", 200)?;
    let address_id = text_param(p, "address_id", 100)?;
    match (lat, lon) {
        (Some(_), None) => return Err(Fail::bad("long: is required when lat is given")),
        (None, Some(_)) => return Err(Fail::bad("lat: is required when long is given")),
        (Some(lat), Some(lon)) => {
            let point = GeoPoint::new(lon, lat).map_err(|e| {
                let field = if e.field == "lon" { "long" } else { "lat" };
                Fail::bad(format!("{field}: {}", e.reason))
            })?;
            let (_, region) = st.place(point).await.map_err(|_| {
                Fail::bad("lat/long: the point lies outside the territory this server serves")
            })?;
            if !region.starts_with(j.prefix()) {
                return Err(Fail::bad(format!(
                    "lat/long: the point lies outside jurisdiction {}",
                    j.id()
                )));
            }
        }
        (None, None) if address.is_none() && address_id.is_none() => {
            return Err(Fail::bad(
                "lat/long: a location is required: lat and long, or address_string, or address_id",
            ));
        }
        (None, None) => {}
    }
    let description = match text_param(p, "description", 4000)? {
        Some(d) => d,
        // Open311 makes the description optional; the case record needs a text.
        None => format!("{} ({})", cat.name_zh, cat.name_en),
    };
    let attributes = read_attributes(p, &attributes_of(cat), code)?;
    let media_url = media_url_param(p)?;
    let first = text_param(p, "first_name", 50)?;
    let last = text_param(p, "last_name", 50)?;
    let phone = text_param(p, "phone", 30)?;
    let account_id = text_param(p, "account_id", 100)?;
    // email and device_id are read by no one here: not stored (data minimisation).
    let name = reporter_name(first.as_deref(), last.as_deref());
    let reporter = (name.is_some() || phone.is_some()).then_some(Reporter {
        name,
        phone,
        anonymous: false,
    });
    let address = match (address, address_id) {
        (Some(a), _) => Some(a),
        (None, Some(id)) => Some(format!("address_id {id}")),
        (None, None) => None,
    };
    let mut o311 = Map::new();
    o311.insert("client".into(), json!(client.name));
    o311.insert("attributes".into(), Value::Object(attributes));
    if let Some(u) = &media_url {
        o311.insert("media_url".into(), json!(u));
    }
    let mut report_data = Map::new();
    report_data.insert("open311".into(), Value::Object(o311));
    let input = CreateCase {
        category: code.to_string(),
        description,
        lat,
        lon,
        channel: Some("open311".into()),
        address,
        reporter,
        report_data: Some(report_data),
        // Located by address only: the case belongs to the jurisdiction it was filed in.
        region_hint: Some(format!("{:0<12}", j.prefix())),
        ..Default::default()
    };
    let case = st.create_case(input, None, Utc::now()).await?;
    let notice = match case.due_at {
        Some(d) => format!(
            "已受理，案件编号 {n}，预计处置时限 {t} (received as case {n}; expected by {t})",
            n = case.number_text(),
            t = local_time(d)
        ),
        None => format!(
            "已受理，案件编号 {n} (received as case {n})",
            n = case.number_text()
        ),
    };
    Ok(Body::List {
        root: "service_requests",
        item: "request",
        items: vec![Node::obj(vec![
            ("service_request_id", Node::str(case.id.to_string())),
            ("token", Node::str(case.tracking_code)),
            ("service_notice", Node::str(notice)),
            ("account_id", Node::opt(account_id)),
        ])],
    }
    .render(f, StatusCode::OK))
}
