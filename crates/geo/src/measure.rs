//! Measurements on WGS84 geometry: geodesic area and the "child lies within
//! its parent" containment check used when importing nested divisions.

use geo::{Area, BooleanOps, BoundingRect, GeodesicArea, Intersects, MultiPolygon};

/// Geodesic area in square metres on the WGS84 ellipsoid (holes excluded).
/// Returns 0 for empty geometry.
pub fn area_m2(mp: &MultiPolygon<f64>) -> f64 {
    if mp.0.is_empty() {
        return 0.0;
    }
    let a = mp.geodesic_area_unsigned();
    if a.is_finite() { a } else { 0.0 }
}

/// True when the part of `child` outside `parent` has an area of at most
/// `tolerance_fraction` × the child's area.
///
/// Parents' boundaries are usually simplified more than their children's,
/// so an exact containment test would reject real data; a tolerance of a
/// few percent is typical. Areas are compared in square degrees: the ratio
/// of two areas this close together is the same in metres to well under a
/// percent. A negative or NaN tolerance counts as 0.
pub fn within_parent(
    child: &MultiPolygon<f64>,
    parent: &MultiPolygon<f64>,
    tolerance_fraction: f64,
) -> bool {
    let tolerance = if tolerance_fraction.is_nan() {
        0.0
    } else {
        tolerance_fraction.max(0.0)
    };
    let child_area = child.unsigned_area();
    if child_area == 0.0 {
        return true;
    }
    // Disjoint boxes mean nothing of the child is inside; skip the overlay.
    let boxes_meet = match (child.bounding_rect(), parent.bounding_rect()) {
        (Some(c), Some(p)) => c.intersects(&p),
        _ => false,
    };
    if !boxes_meet {
        return tolerance >= 1.0;
    }
    let outside = child.difference(parent).unsigned_area();
    outside <= tolerance * child_area
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
        polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)].into()
    }

    #[test]
    fn area_of_a_small_square_near_huzhou() {
        // 0.01° × 0.01° at 30.9N: about 1113 m × 955 m.
        let a = area_m2(&rect(120.0, 30.9, 120.01, 30.91));
        assert!((a - 1_063_000.0).abs() < 10_000.0, "{a}");
        assert_eq!(area_m2(&MultiPolygon::new(vec![])), 0.0);
    }

    #[test]
    fn area_ignores_orientation_and_subtracts_holes() {
        let outer = rect(120.0, 30.0, 120.1, 30.1);
        let hole = rect(120.02, 30.02, 120.04, 30.04);
        let with_hole = outer.difference(&hole);
        let expected = area_m2(&outer) - area_m2(&hole);
        assert!((area_m2(&with_hole) - expected).abs() < 1.0);
    }

    #[test]
    fn within_parent_with_tolerance() {
        let parent = rect(0.0, 0.0, 1.0, 1.0);
        assert!(within_parent(&rect(0.2, 0.2, 0.5, 0.5), &parent, 0.0));
        // 10 % of this child sticks out of the parent.
        let child = rect(0.5, 0.5, 1.05, 1.0);
        assert!(!within_parent(&child, &parent, 0.05));
        assert!(within_parent(&child, &parent, 0.11));
        assert!(!within_parent(&rect(2.0, 2.0, 3.0, 3.0), &parent, 0.5));
        assert!(!within_parent(&child, &parent, f64::NAN));
    }
}
