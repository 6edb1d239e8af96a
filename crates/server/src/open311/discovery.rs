//! Service discovery (`discovery.{xml,json}`): where the API is, what it speaks, whom to ask.

use super::format::{Body, Format, Node};
use super::{BASE, Done};
use crate::app::state::SharedState;
use axum::http::{HeaderMap, StatusCode, header};

/// The base URL clients should use: configured, or from the Host header.
fn base_url(st: &SharedState, headers: &HeaderMap) -> String {
    if let Some(u) = &st.settings.open311.public_url {
        return u.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if st.settings.open311.trust_forwarded_for
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            == Some("https")
    {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}{BASE}")
}

pub async fn discovery(st: &SharedState, headers: &HeaderMap, f: Format) -> Done {
    let o = &st.settings.open311;
    let endpoint = Node::obj(vec![
        (
            "specification",
            Node::str("http://wiki.open311.org/GeoReport_v2"),
        ),
        ("url", Node::str(base_url(st, headers))),
        ("changeset", Node::str(o.changeset.clone())),
        ("type", Node::str("production")),
        (
            "formats",
            Node::List(
                "format",
                vec![Node::str("text/xml"), Node::str("application/json")],
            ),
        ),
    ]);
    let node = Node::obj(vec![
        ("changeset", Node::str(o.changeset.clone())),
        ("contact", Node::str(o.contact.clone())),
        ("key_service", Node::str(o.key_service.clone())),
        ("endpoints", Node::List("endpoint", vec![endpoint])),
    ]);
    Ok(Body::Object {
        root: "discovery",
        node,
    }
    .render(f, StatusCode::OK))
}
