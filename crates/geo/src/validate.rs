//! Geometry validation for imported grid polygons: checks raw GeoJSON
//! coordinates (before any conversion can hide problems such as open rings)
//! and detects self-intersections with robust predicates and an R-tree over
//! the segments.

use geo::kernels::{Kernel, Orientation, RobustKernel};
use geo::{Coord, LineString, MultiPolygon, Polygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use serde_json::Value;

/// Why a feature (or a geometry) was rejected. The messages are shown to the
/// people who prepared the import file, so they are plain English.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeatureProblem {
    /// The item in `features` is not a GeoJSON Feature object.
    #[error("the item is not a GeoJSON Feature object")]
    NotFeature,
    /// The named property is missing, empty, or neither a string nor a number.
    #[error("property \"{0}\" is missing, empty, or not a string or number")]
    MissingProperty(String),
    /// The geometry is not a Polygon or MultiPolygon; holds what was found.
    #[error("geometry type is {0}, but only Polygon and MultiPolygon are accepted")]
    NotPolygon(String),
    /// No geometry, no rings, or a ring/polygon with zero area.
    #[error("the geometry is missing, has no rings, or has zero area")]
    Empty,
    /// A ring whose first and last positions differ. `ring` counts all rings
    /// of the geometry in file order, starting at 0 (the first exterior).
    #[error("ring {ring} is not closed: its first and last positions differ")]
    OpenRing {
        /// Index of the ring within the geometry, in file order.
        ring: usize,
    },
    /// A ring with fewer than 4 positions or fewer than 3 distinct corners.
    #[error("a ring has fewer than 4 positions or fewer than 3 distinct corners")]
    TooFewPositions,
    /// A position that is not a pair of numbers with longitude in -180..180
    /// and latitude in -90..90.
    #[error(
        "a position is not a valid [longitude, latitude] pair (longitude must be within -180..180, latitude within -90..90)"
    )]
    InvalidCoordinate,
    /// A ring crosses or touches itself, or two rings cross or overlap.
    #[error("the boundary intersects itself: a ring crosses itself or two rings cross")]
    SelfIntersection,
    /// Another feature (with this index, counting from 0) already uses the code.
    #[error("the code is already used by feature {0}")]
    DuplicateCode(usize),
}

/// Rings without the repeated closing vertex, grouped by polygon; the first
/// ring of each polygon is its exterior.
pub(crate) type RawPolygons = Vec<Vec<Vec<Coord<f64>>>>;

/// Above this many segments the pairwise test switches from brute force to
/// an R-tree; below it the tree costs more than it saves.
const BRUTE_FORCE_SEGMENTS: usize = 64;

/// Parses a GeoJSON geometry object (Polygon or MultiPolygon) into a
/// validated WGS84 MultiPolygon with exteriors counter-clockwise and holes
/// clockwise. Returns the first problem found.
pub fn from_geojson_value(v: &Value) -> Result<MultiPolygon<f64>, FeatureProblem> {
    let raw = parse_raw(v)?;
    check_and_build(raw)
}

/// Reads a Polygon/MultiPolygon that this system stored itself (validated on import), without
/// validating it again: start-up reads 304,000 grids of a province, and the checks would cost
/// more than the reading. Returns `None` for anything else; callers then fall back to
/// [`from_geojson_value`].
pub fn from_stored_geojson(text: &str) -> Option<MultiPolygon<f64>> {
    #[derive(serde::Deserialize)]
    #[serde(tag = "type", content = "coordinates")]
    enum Stored {
        Polygon(Vec<Vec<[f64; 2]>>),
        MultiPolygon(Vec<Vec<Vec<[f64; 2]>>>),
    }
    let poly = |rings: Vec<Vec<[f64; 2]>>| -> Option<Polygon<f64>> {
        let mut it = rings
            .into_iter()
            .map(|r| LineString::new(r.into_iter().map(|[x, y]| Coord { x, y }).collect()));
        let exterior = it.next()?;
        Some(Polygon::new(exterior, it.collect()))
    };
    let polys = match serde_json::from_str::<Stored>(text).ok()? {
        Stored::Polygon(rings) => vec![poly(rings)?],
        Stored::MultiPolygon(ps) => ps.into_iter().map(poly).collect::<Option<Vec<_>>>()?,
    };
    (!polys.is_empty()).then(|| MultiPolygon::new(polys))
}

/// Runs the same checks as [`from_geojson_value`] on an existing geometry,
/// e.g. one produced by our own code.
pub fn validate_multipolygon(mp: &MultiPolygon<f64>) -> Result<(), FeatureProblem> {
    if mp.0.is_empty() {
        return Err(FeatureProblem::Empty);
    }
    let mut raw = RawPolygons::new();
    for poly in &mp.0 {
        let mut rings = Vec::new();
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            let mut pts = Vec::with_capacity(ring.0.len());
            for c in &ring.0 {
                check_coord(*c)?;
                pts.push(*c);
            }
            rings.push(open_ring(pts)?);
        }
        raw.push(rings);
    }
    check_and_build(raw).map(|_| ())
}

/// Reads the raw coordinate arrays of a geometry object without converting
/// them, so that open rings are still visible.
pub(crate) fn parse_raw(v: &Value) -> Result<RawPolygons, FeatureProblem> {
    let obj = match v {
        Value::Null => return Err(FeatureProblem::Empty),
        Value::Object(o) => o,
        other => return Err(FeatureProblem::NotPolygon(json_kind(other).to_string())),
    };
    let kind = match obj.get("type") {
        Some(Value::String(s)) => s.as_str(),
        _ => return Err(FeatureProblem::NotPolygon("(missing type)".to_string())),
    };
    let coords = match kind {
        "Polygon" | "MultiPolygon" => match obj.get("coordinates") {
            None | Some(Value::Null) => return Err(FeatureProblem::Empty),
            Some(Value::Array(a)) => a,
            Some(_) => return Err(FeatureProblem::InvalidCoordinate),
        },
        other => return Err(FeatureProblem::NotPolygon(other.to_string())),
    };
    let polygons: Vec<&Vec<Value>> = if kind == "Polygon" {
        vec![coords]
    } else {
        coords
            .iter()
            .map(|p| p.as_array().ok_or(FeatureProblem::InvalidCoordinate))
            .collect::<Result<_, _>>()?
    };
    let mut ring_index = 0;
    let mut raw = RawPolygons::with_capacity(polygons.len());
    for rings in polygons {
        let mut parsed = Vec::with_capacity(rings.len());
        for ring in rings {
            parsed.push(parse_ring(ring, ring_index)?);
            ring_index += 1;
        }
        raw.push(parsed);
    }
    Ok(raw)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_ring(v: &Value, ring: usize) -> Result<Vec<Coord<f64>>, FeatureProblem> {
    let positions = v.as_array().ok_or(FeatureProblem::InvalidCoordinate)?;
    let pts = positions
        .iter()
        .map(parse_position)
        .collect::<Result<Vec<_>, _>>()?;
    if pts.len() < 4 {
        return Err(FeatureProblem::TooFewPositions);
    }
    // Checked on the raw positions on purpose: conversion to geo types would
    // silently close the ring.
    if pts.first() != pts.last() {
        return Err(FeatureProblem::OpenRing { ring });
    }
    open_ring(pts)
}

fn parse_position(v: &Value) -> Result<Coord<f64>, FeatureProblem> {
    let arr = v.as_array().ok_or(FeatureProblem::InvalidCoordinate)?;
    let (Some(x), Some(y)) = (
        arr.first().and_then(Value::as_f64),
        arr.get(1).and_then(Value::as_f64),
    ) else {
        return Err(FeatureProblem::InvalidCoordinate);
    };
    let c = Coord { x, y };
    check_coord(c)?;
    Ok(c)
}

fn check_coord(c: Coord<f64>) -> Result<(), FeatureProblem> {
    // Range checks are false for NaN, so they reject it too.
    if (-180.0..=180.0).contains(&c.x) && (-90.0..=90.0).contains(&c.y) {
        Ok(())
    } else {
        Err(FeatureProblem::InvalidCoordinate)
    }
}

/// Drops the closing vertex and consecutive duplicates; a closed ring must
/// still have 3 distinct corners.
pub(crate) fn open_ring(mut pts: Vec<Coord<f64>>) -> Result<Vec<Coord<f64>>, FeatureProblem> {
    pts.dedup();
    while pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    if pts.len() < 3 {
        return Err(FeatureProblem::TooFewPositions);
    }
    Ok(pts)
}

/// Signed shoelace area of an open ring (positive when counter-clockwise), computed relative to
/// its first vertex so that large longitudes do not cost precision.
pub(crate) fn ring_signed_area(ring: &[Coord<f64>]) -> f64 {
    let Some(&o) = ring.first() else {
        return 0.0;
    };
    let mut sum = 0.0;
    for i in 1..ring.len().saturating_sub(1) {
        let a = ring[i] - o;
        let b = ring[i + 1] - o;
        sum += a.x * b.y - b.x * a.y;
    }
    sum / 2.0
}

/// Checks areas and intersections, orients rings, and builds the geometry.
pub(crate) fn check_and_build(mut raw: RawPolygons) -> Result<MultiPolygon<f64>, FeatureProblem> {
    if raw.is_empty() || raw.iter().any(Vec::is_empty) {
        return Err(FeatureProblem::Empty);
    }
    if has_self_intersection(&raw) {
        return Err(FeatureProblem::SelfIntersection);
    }
    let mut polys = Vec::with_capacity(raw.len());
    for rings in &mut raw {
        for (i, ring) in rings.iter_mut().enumerate() {
            let area = ring_signed_area(ring);
            if area == 0.0 || !area.is_finite() {
                return Err(FeatureProblem::Empty);
            }
            // RFC 7946 orientation: exterior counter-clockwise, holes clockwise.
            if (i == 0) != (area > 0.0) {
                ring.reverse();
            }
        }
        let mut it = rings.drain(..).map(LineString::new);
        let exterior = it.next().ok_or(FeatureProblem::Empty)?;
        polys.push(Polygon::new(exterior, it.collect()));
    }
    Ok(MultiPolygon::new(polys))
}

/// How two segments meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SegmentRelation {
    /// No common point.
    Disjoint,
    /// Exactly one common point, at an endpoint of at least one segment.
    Touch,
    /// Interiors cross at a point, or the segments overlap along a length.
    Cross,
}

fn orient(p: Coord<f64>, q: Coord<f64>, r: Coord<f64>) -> i8 {
    match <RobustKernel as Kernel<f64>>::orient2d(p, q, r) {
        Orientation::CounterClockwise => 1,
        Orientation::Clockwise => -1,
        Orientation::Collinear => 0,
    }
}

/// `r`, known to be collinear with `p`–`q`, lies within the segment's box.
fn within_box(p: Coord<f64>, q: Coord<f64>, r: Coord<f64>) -> bool {
    p.x.min(q.x) <= r.x && r.x <= p.x.max(q.x) && p.y.min(q.y) <= r.y && r.y <= p.y.max(q.y)
}

/// Exact classification of two non-degenerate segments a–b and c–d.
pub(crate) fn segment_relation(
    a: Coord<f64>,
    b: Coord<f64>,
    c: Coord<f64>,
    d: Coord<f64>,
) -> SegmentRelation {
    let (o1, o2) = (orient(a, b, c), orient(a, b, d));
    if o1 == 0 && o2 == 0 {
        // Collinear: compare the projections on the dominant axis.
        let use_x = (b.x - a.x).abs() >= (b.y - a.y).abs();
        let proj = |p: Coord<f64>| if use_x { p.x } else { p.y };
        let (s0, s1) = (proj(a).min(proj(b)), proj(a).max(proj(b)));
        let (t0, t1) = (proj(c).min(proj(d)), proj(c).max(proj(d)));
        let (lo, hi) = (s0.max(t0), s1.min(t1));
        return if lo < hi {
            SegmentRelation::Cross
        } else if lo == hi {
            SegmentRelation::Touch
        } else {
            SegmentRelation::Disjoint
        };
    }
    let (o3, o4) = (orient(c, d, a), orient(c, d, b));
    if o1 * o2 < 0 && o3 * o4 < 0 {
        return SegmentRelation::Cross;
    }
    if (o1 == 0 && within_box(a, b, c))
        || (o2 == 0 && within_box(a, b, d))
        || (o3 == 0 && within_box(c, d, a))
        || (o4 == 0 && within_box(c, d, b))
    {
        return SegmentRelation::Touch;
    }
    SegmentRelation::Disjoint
}

#[derive(Clone, Copy)]
struct Segment {
    a: Coord<f64>,
    b: Coord<f64>,
    ring: u32,
    index: u32,
    ring_len: u32,
}

impl Segment {
    fn adjacent(&self, other: &Segment) -> bool {
        if self.ring != other.ring {
            return false;
        }
        let d = self.index.abs_diff(other.index);
        d == 1 || d == self.ring_len - 1
    }
}

/// Whether a pair of segments makes the geometry invalid.
fn bad_pair(s: &Segment, t: &Segment) -> bool {
    if s.adjacent(t) {
        // Neighbours share a vertex; they are only bad if they fold back
        // onto each other (a zero-width spike).
        let (p, shared, q) = if s.b == t.a {
            (s.a, s.b, t.b)
        } else {
            (t.a, t.b, s.b)
        };
        let back = (shared - p).x * (q - shared).x + (shared - p).y * (q - shared).y < 0.0;
        return orient(p, shared, q) == 0 && back;
    }
    match segment_relation(s.a, s.b, t.a, t.b) {
        SegmentRelation::Disjoint => false,
        // A ring may not touch itself; different rings may touch at a point.
        SegmentRelation::Touch => s.ring == t.ring,
        SegmentRelation::Cross => true,
    }
}

/// True when any ring crosses or touches itself or two rings cross.
pub(crate) fn has_self_intersection(raw: &RawPolygons) -> bool {
    let mut segs = Vec::new();
    let mut ring_id = 0u32;
    for rings in raw {
        for ring in rings {
            let n = ring.len();
            for i in 0..n {
                segs.push(Segment {
                    a: ring[i],
                    b: ring[(i + 1) % n],
                    ring: ring_id,
                    index: i as u32,
                    ring_len: n as u32,
                });
            }
            ring_id += 1;
        }
    }
    if segs.len() <= BRUTE_FORCE_SEGMENTS {
        return segs
            .iter()
            .enumerate()
            .any(|(i, s)| segs[i + 1..].iter().any(|t| bad_pair(s, t)));
    }
    let boxes: Vec<_> = segs
        .iter()
        .enumerate()
        .map(|(i, s)| GeomWithData::new(seg_rect(s), i as u32))
        .collect();
    let tree = RTree::bulk_load(boxes);
    segs.iter().enumerate().any(|(i, s)| {
        let env = AABB::from_corners(
            [s.a.x.min(s.b.x), s.a.y.min(s.b.y)],
            [s.a.x.max(s.b.x), s.a.y.max(s.b.y)],
        );
        tree.locate_in_envelope_intersecting(&env)
            .filter(|hit| hit.data as usize > i)
            .any(|hit| bad_pair(s, &segs[hit.data as usize]))
    })
}

fn seg_rect(s: &Segment) -> Rectangle<[f64; 2]> {
    Rectangle::from_corners([s.a.x, s.a.y], [s.b.x, s.b.y])
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;
    use serde_json::json;

    fn poly(ring: &[[f64; 2]]) -> Value {
        json!({"type": "Polygon", "coordinates": [ring]})
    }

    #[test]
    fn accepts_valid_polygon_and_orients_it() {
        // Clockwise input must come back counter-clockwise.
        let v = poly(&[[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]]);
        let mp = from_geojson_value(&v).unwrap();
        let ext: Vec<_> = mp.0[0].exterior().0.clone();
        assert_eq!(ext.len(), 5);
        assert!(ring_signed_area(&ext[..4]) > 0.0);
    }

    #[test]
    fn accepts_polygon_with_hole_and_multipolygon() {
        let v = json!({"type": "MultiPolygon", "coordinates": [
            [[[0,0],[10,0],[10,10],[0,10],[0,0]], [[2,2],[2,4],[4,4],[4,2],[2,2]]],
            [[[20,0],[21,0],[21,1],[20,0]]]
        ]});
        let mp = from_geojson_value(&v).unwrap();
        assert_eq!(mp.0.len(), 2);
        assert_eq!(mp.0[0].interiors().len(), 1);
        assert!(ring_signed_area(&mp.0[0].interiors()[0].0) < 0.0);
    }

    #[test]
    fn detects_open_ring_on_raw_coordinates() {
        let v = json!({"type": "Polygon", "coordinates": [
            [[0,0],[10,0],[10,10],[0,10],[0,0]], [[2,2],[2,4],[4,4],[4,2],[2,3]]
        ]});
        assert_eq!(
            from_geojson_value(&v),
            Err(FeatureProblem::OpenRing { ring: 1 })
        );
    }

    #[test]
    fn detects_basic_problems() {
        assert_eq!(from_geojson_value(&Value::Null), Err(FeatureProblem::Empty));
        assert_eq!(
            from_geojson_value(&json!({"type": "Point", "coordinates": [1, 2]})),
            Err(FeatureProblem::NotPolygon("Point".into()))
        );
        assert_eq!(
            from_geojson_value(&json!({"type": "Polygon", "coordinates": []})),
            Err(FeatureProblem::Empty)
        );
        assert_eq!(
            from_geojson_value(&poly(&[[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]])),
            Err(FeatureProblem::TooFewPositions)
        );
        assert_eq!(
            from_geojson_value(&poly(&[[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])),
            Err(FeatureProblem::TooFewPositions)
        );
        assert_eq!(
            from_geojson_value(&poly(&[[0.0, 0.0], [190.0, 0.0], [1.0, 1.0], [0.0, 0.0]])),
            Err(FeatureProblem::InvalidCoordinate)
        );
        assert_eq!(
            from_geojson_value(
                &json!({"type": "Polygon", "coordinates": [[[0,0],[1,"a"],[1,1],[0,0]]]})
            ),
            Err(FeatureProblem::InvalidCoordinate)
        );
        // Collinear ring: overlapping segments are reported before area.
        assert!(
            from_geojson_value(&poly(&[[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 0.0]])).is_err()
        );
    }

    #[test]
    fn detects_bow_tie_and_crossing_rings() {
        let bow = poly(&[[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]);
        assert_eq!(
            from_geojson_value(&bow),
            Err(FeatureProblem::SelfIntersection)
        );
        let hole_out = json!({"type": "Polygon", "coordinates": [
            [[0,0],[10,0],[10,10],[0,10],[0,0]], [[8,2],[12,2],[12,4],[8,4],[8,2]]
        ]});
        assert_eq!(
            from_geojson_value(&hole_out),
            Err(FeatureProblem::SelfIntersection)
        );
        // A ring touching itself at a vertex (pinched) is invalid too.
        let pinch = poly(&[
            [0.0, 0.0],
            [4.0, 0.0],
            [2.0, 2.0],
            [4.0, 4.0],
            [0.0, 4.0],
            [2.0, 2.0],
            [0.0, 0.0],
        ]);
        assert_eq!(
            from_geojson_value(&pinch),
            Err(FeatureProblem::SelfIntersection)
        );
    }

    #[test]
    fn hole_touching_shell_at_a_point_is_allowed() {
        let v = json!({"type": "Polygon", "coordinates": [
            [[0,0],[10,0],[10,10],[0,10],[0,0]], [[5,0],[6,2],[4,2],[5,0]]
        ]});
        assert!(from_geojson_value(&v).is_ok());
    }

    /// A star-shaped ring with many vertices; exercises the R-tree path.
    fn star(n: usize, spike_at: Option<usize>) -> Vec<[f64; 2]> {
        let mut pts: Vec<[f64; 2]> = (0..n)
            .map(|i| {
                let t = i as f64 / n as f64 * std::f64::consts::TAU;
                let r = if i % 2 == 0 { 1.0 } else { 0.8 };
                [120.0 + r * t.cos() * 0.01, 30.0 + r * t.sin() * 0.01]
            })
            .collect();
        if let Some(k) = spike_at {
            // Move one vertex across the opposite side.
            let opp = (k + n / 2) % n;
            pts[k] = [
                pts[opp][0] + (pts[opp][0] - 120.0) * 0.5,
                pts[opp][1] + (pts[opp][1] - 30.0) * 0.5,
            ];
        }
        pts.push(pts[0]);
        pts
    }

    #[test]
    fn large_ring_uses_tree_and_finds_crossings() {
        assert!(from_geojson_value(&poly(&star(2000, None))).is_ok());
        assert_eq!(
            from_geojson_value(&poly(&star(2000, Some(10)))),
            Err(FeatureProblem::SelfIntersection)
        );
    }

    #[test]
    fn segment_relations() {
        let c = |x: f64, y: f64| Coord { x, y };
        use SegmentRelation::*;
        assert_eq!(
            segment_relation(c(0., 0.), c(2., 2.), c(0., 2.), c(2., 0.)),
            Cross
        );
        assert_eq!(
            segment_relation(c(0., 0.), c(2., 0.), c(1., 0.), c(1., 5.)),
            Touch
        );
        assert_eq!(
            segment_relation(c(0., 0.), c(2., 0.), c(1., 0.), c(3., 0.)),
            Cross
        );
        assert_eq!(
            segment_relation(c(0., 0.), c(2., 0.), c(2., 0.), c(3., 0.)),
            Touch
        );
        assert_eq!(
            segment_relation(c(0., 0.), c(2., 0.), c(3., 0.), c(4., 0.)),
            Disjoint
        );
        assert_eq!(
            segment_relation(c(0., 0.), c(2., 0.), c(0., 1.), c(2., 1.)),
            Disjoint
        );
    }

    #[test]
    fn validate_multipolygon_checks_geo_geometry() {
        let good: MultiPolygon<f64> =
            polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.)].into();
        assert!(validate_multipolygon(&good).is_ok());
        let bad: MultiPolygon<f64> =
            polygon![(x: 0., y: 0.), (x: 1., y: 1.), (x: 1., y: 0.), (x: 0., y: 1.)].into();
        assert_eq!(
            validate_multipolygon(&bad),
            Err(FeatureProblem::SelfIntersection)
        );
        assert_eq!(
            validate_multipolygon(&MultiPolygon::new(vec![])),
            Err(FeatureProblem::Empty)
        );
    }
}

#[cfg(test)]
mod stored_tests {
    use super::*;

    #[test]
    fn stored_geometry_reads_back_as_written() {
        let mp = MultiPolygon::new(vec![Polygon::new(
            LineString::from(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]),
            vec![],
        )]);
        let text = serde_json::to_string(&crate::to_geojson_geometry(&mp)).unwrap();
        assert_eq!(from_stored_geojson(&text), Some(mp.clone()));
        let poly = r#"{"coordinates":[[[0,0],[1,0],[1,1],[0,0]]],"type":"Polygon"}"#;
        assert_eq!(from_stored_geojson(poly), Some(mp));
    }

    #[test]
    fn anything_else_is_left_to_the_checked_reader() {
        for text in [
            r#"{"type":"Point","coordinates":[1,2]}"#,
            r#"{"type":"Polygon","coordinates":[]}"#,
            r#"{"type":"MultiPolygon","coordinates":[]}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0,5],[1,0,5],[1,1,5],[0,0,5]]]}"#,
            "not json",
        ] {
            assert_eq!(from_stored_geojson(text), None, "{text}");
        }
    }
}
