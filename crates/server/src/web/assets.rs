//! Static files embedded in the binary, so the pages work offline: the vendored Leaflet, htmx and
//! ECharts (their licences sit next to them, sources in `assets/README.md`) and our own CSS/JS.
//! Vendored paths carry the library version and are cached for a year; our own files for an hour.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::state::SharedState;

macro_rules! asset {
    ($path:literal) => {
        (
            $path,
            include_bytes!(concat!("../../assets/", $path)) as &[u8],
        )
    };
}

/// (path under /assets/, bytes)
static FILES: &[(&str, &[u8])] = &[
    asset!("app.css"),
    asset!("app.js"),
    asset!("campaigns.js"),
    asset!("favicon.svg"),
    asset!("offline.js"),
    asset!("icons/bin.svg"),
    asset!("icons/building.svg"),
    asset!("icons/fire.svg"),
    asset!("icons/health.svg"),
    asset!("icons/noise.svg"),
    asset!("icons/people.svg"),
    asset!("icons/pin.svg"),
    asset!("icons/power.svg"),
    asset!("icons/road.svg"),
    asset!("icons/scales.svg"),
    asset!("icons/shop.svg"),
    asset!("icons/tree.svg"),
    asset!("icons/water.svg"),
    asset!("vendor/leaflet-1.9.4/leaflet.js"),
    asset!("vendor/leaflet-1.9.4/leaflet.css"),
    asset!("vendor/leaflet-1.9.4/images/marker-icon.png"),
    asset!("vendor/leaflet-1.9.4/images/marker-icon-2x.png"),
    asset!("vendor/leaflet-1.9.4/images/marker-shadow.png"),
    asset!("vendor/leaflet-1.9.4/images/layers.png"),
    asset!("vendor/leaflet-1.9.4/images/layers-2x.png"),
    asset!("vendor/htmx-2.0.11/htmx.min.js"),
    asset!("vendor/echarts-5.6.0/echarts.min.js"),
];

/// Every embedded file's path under /assets/ (the service worker keeps them all).
pub fn paths() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(p, _)| *p)
}

/// Every embedded file with its bytes (the service worker's version is their digest).
pub fn files() -> &'static [(&'static str, &'static [u8])] {
    FILES
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

async fn serve(Path(path): Path<String>) -> Response {
    let Some((p, bytes)) = FILES.iter().find(|(p, _)| *p == path) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let cache = if p.starts_with("vendor/") {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=3600"
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(p)),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        *bytes,
    )
        .into_response()
}

async fn favicon() -> Response {
    serve(Path("favicon.svg".to_string())).await
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/assets/{*path}", get(serve))
        .route("/favicon.ico", get(favicon))
}

/// The pictogram of a category's icon slug: a dozen drawings cover the catalog's slugs by family.
pub fn pictogram(slug: &str) -> &'static str {
    const FAMILIES: &[(&str, &[&str])] = &[
        (
            "water",
            &[
                "manhole",
                "pipe-burst",
                "leak",
                "pump",
                "hydrant",
                "water-litter",
                "river-pollution",
                "river-railing",
            ],
        ),
        (
            "power",
            &[
                "streetlight",
                "lightbulb",
                "lantern",
                "power-line",
                "power-box",
                "utility",
                "gas",
                "traffic-light",
            ],
        ),
        (
            "bin",
            &["garbage", "recycling", "broom", "toilet", "mosquito"],
        ),
        (
            "road",
            &[
                "road",
                "pothole",
                "sinkhole",
                "sidewalk",
                "street",
                "path",
                "speed-bump",
                "guardrail",
                "traffic-sign",
                "street-sign",
                "shared-bike",
                "truck",
            ],
        ),
        (
            "tree",
            &[
                "tree",
                "lawn",
                "park",
                "farmland",
                "land",
                "mountain",
                "livestock",
            ],
        ),
        (
            "building",
            &[
                "house",
                "house-crack",
                "illegal-building",
                "property",
                "house-key",
                "key",
                "crane",
                "jackhammer",
                "hard-hat",
                "paint-roller",
                "toolbox",
            ],
        ),
        (
            "shop",
            &[
                "billboard",
                "graffiti",
                "megaphone",
                "shopfront",
                "stall",
                "vendor",
            ],
        ),
        ("noise", &["noise", "speech"]),
        (
            "people",
            &[
                "neighbours",
                "person",
                "rings",
                "helping-hand",
                "worker",
                "wage",
                "coins",
                "receipt",
                "id-card",
                "signature",
                "will",
                "request",
                "question",
                "thumbs-up",
            ],
        ),
        ("scales", &["scales", "gavel", "courthouse"]),
        ("health", &["hospital", "bandage"]),
        ("fire", &["smoke"]),
    ];
    FAMILIES
        .iter()
        .find(|(_, slugs)| slugs.contains(&slug))
        .map(|(p, _)| *p)
        .unwrap_or("pin")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pictogram_is_an_asset() {
        for slug in ["manhole", "garbage", "gavel", "unknown-slug"] {
            let p = format!("icons/{}.svg", pictogram(slug));
            assert!(FILES.iter().any(|(f, _)| *f == p), "{p}");
        }
    }

    #[test]
    fn every_asset_has_a_known_type_and_bytes() {
        for (p, b) in FILES {
            assert!(!b.is_empty(), "{p}");
            assert_ne!(content_type(p), "application/octet-stream", "{p}");
        }
    }
}
