//! Map layers for the pages: only what the visible territory needs, simplified for the zoom level,
//! so a city of 20,000 grids stays fast on a phone. Low zooms get counties, then townships, then
//! villages, and grids only from zoom 14 on. Geometries are parsed once and kept per loaded
//! territory (rebuilt when an import swaps the point index).

use super::ctx::{Ctx, WebError, WebQuery, respond};
use crate::app::state::SharedState;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use safegrid_geo::geo::{BoundingRect, MultiPolygon, Simplify};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, OnceLock};

/// One outline: code, name, bounding box [w, s, e, n], geometry.
pub struct Shape {
    pub code: String,
    pub name: String,
    pub bbox: [f64; 4],
    pub geometry: MultiPolygon<f64>,
}

/// Outlines of every level, parsed once.
pub struct Shapes {
    pub levels: [Vec<Shape>; 4], // county, township, village, grid
    pub bbox: [f64; 4],
}

type Cache = Mutex<Option<(usize, Arc<Shapes>)>>;
static CACHE: OnceLock<Cache> = OnceLock::new();

fn shape(code: String, name: String, geometry: &str) -> Option<Shape> {
    let v: Value = serde_json::from_str(geometry).ok()?;
    let mp = safegrid_geo::from_geojson_value(&v).ok()?;
    let r = mp.bounding_rect()?;
    Some(Shape {
        code,
        name,
        bbox: [r.min().x, r.min().y, r.max().x, r.max().y],
        geometry: mp,
    })
}

/// The outlines of the loaded territory (built on first use after each territory load).
pub async fn shapes(st: &SharedState) -> Result<Arc<Shapes>, WebError> {
    let key = Arc::as_ptr(&st.locator()) as usize ^ (Arc::as_ptr(st) as usize).rotate_left(17);
    let cache = CACHE.get_or_init(|| Mutex::new(None));
    if let Ok(g) = cache.lock()
        && let Some((k, s)) = g.as_ref()
        && *k == key
    {
        return Ok(s.clone());
    }
    let mut levels: [Vec<Shape>; 4] = Default::default();
    for (i, level) in [3i16, 4, 5].iter().enumerate() {
        for r in st.store.regions(None, Some(*level), true).await? {
            if let Some(g) = r.geometry.as_deref()
                && let Some(s) = shape(r.code, r.name, g)
            {
                levels[i].push(s);
            }
        }
    }
    let mut offset = 0;
    loop {
        let page = st.store.grids(None, 5000, offset).await?;
        if page.is_empty() {
            break;
        }
        offset += page.len() as i64;
        for g in page {
            if let Some(s) = shape(g.code, g.name, &g.geometry) {
                levels[3].push(s);
            }
        }
    }
    let mut bbox: [f64; 4] = [180.0, 90.0, -180.0, -90.0];
    for s in levels.iter().flatten() {
        bbox = [
            bbox[0].min(s.bbox[0]),
            bbox[1].min(s.bbox[1]),
            bbox[2].max(s.bbox[2]),
            bbox[3].max(s.bbox[3]),
        ];
    }
    let shapes = Arc::new(Shapes { levels, bbox });
    if let Ok(mut g) = cache.lock() {
        *g = Some((key, shapes.clone()));
    }
    Ok(shapes)
}

/// A shape as a GeoJSON feature simplified to `eps` degrees (about a pixel at the zoom).
pub fn feature(s: &Shape, eps: f64, props: Value) -> Value {
    let simple = s.geometry.simplify(eps);
    let geom = if simple.0.is_empty() {
        &s.geometry
    } else {
        &simple
    };
    json!({
        "type": "Feature",
        "geometry": safegrid_geo::to_geojson_geometry(geom),
        "properties": props,
    })
}

/// Degrees per screen pixel at a web-map zoom level.
pub fn pixel_degrees(zoom: f64) -> f64 {
    360.0 / (256.0 * 2f64.powf(zoom))
}

#[derive(Deserialize)]
struct LayerQuery {
    bbox: Option<String>,
    zoom: Option<f64>,
}

const MAX_FEATURES: usize = 3000;

/// `/web/geo/layer?bbox=w,s,e,n&zoom=z`: the outlines to draw for that view.
async fn layer(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(q): WebQuery<LayerQuery>,
) -> Response {
    let r = async {
        let shapes = shapes(&st).await?;
        let zoom = q.zoom.unwrap_or(10.0).clamp(0.0, 22.0);
        let b: Vec<f64> = q
            .bbox
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter_map(|x| x.trim().parse().ok())
            .collect();
        let bbox = if b.len() == 4 {
            [b[0], b[1], b[2], b[3]]
        } else {
            shapes.bbox
        };
        let level = match zoom {
            z if z < 10.5 => 0,
            z if z < 12.0 => 1,
            z if z < 14.0 => 2,
            _ => 3,
        };
        let eps = pixel_degrees(zoom);
        let features: Vec<Value> = shapes.levels[level]
            .iter()
            .filter(|s| {
                s.bbox[0] <= bbox[2]
                    && s.bbox[2] >= bbox[0]
                    && s.bbox[1] <= bbox[3]
                    && s.bbox[3] >= bbox[1]
            })
            .take(MAX_FEATURES)
            .map(|s| feature(s, eps, json!({ "code": s.code, "name": s.name })))
            .collect();
        let level_name = ["county", "township", "village", "grid"][level];
        let body = json!({
            "type": "FeatureCollection",
            "level": level_name,
            "features": features,
        });
        Ok((
            [(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            )],
            axum::Json(body),
        )
            .into_response())
    }
    .await;
    respond(&ctx, r)
}

/// `/web/geo/extent`: the territory's bounding box, for the first view.
async fn extent(State(st): State<SharedState>, ctx: Ctx) -> Response {
    let r = async {
        let s = shapes(&st).await?;
        Ok(axum::Json(json!({ "bbox": s.bbox })).into_response())
    }
    .await;
    respond(&ctx, r)
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/web/geo/layer", get(layer))
        .route("/web/geo/extent", get(extent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pixel_shrinks_with_the_zoom() {
        assert!((pixel_degrees(0.0) - 360.0 / 256.0).abs() < 1e-12);
        assert!(pixel_degrees(14.0) < 0.0001);
    }
}
