//! Synthetic subdivisions: splits a shape into parts with given relative
//! areas that cover it exactly (no gaps, no overlaps), deterministically
//! from a random generator. Used to invent townships, villages and grids
//! inside real county boundaries for demo data.
//!
//! The method is recursive bisection: the weight list is split in two, and
//! the shape is cut by an axis-parallel line placed so that each side gets
//! its share of the area. The cut is computed by our own exact splitter
//! (see `split`), so neighbouring parts share identical edge coordinates.

use geo::{BoundingRect, Centroid, Coord, LineString, MultiPolygon, Polygon};
use rand::Rng;

use crate::split::{Poly, SLIVER_AREA, SplitFailed, area_left_of, split_at};
use crate::validate::{has_self_intersection, open_ring, ring_signed_area};

/// Why a shape could not be partitioned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartitionError {
    /// The weight list is empty.
    #[error("no weights given")]
    NoWeights,
    /// A weight is not a finite positive number.
    #[error("weight {index} is not a finite positive number")]
    InvalidWeight {
        /// Position of the offending weight.
        index: usize,
    },
    /// The shape has no area.
    #[error("the shape is empty or has zero area")]
    EmptyShape,
    /// The shape has non-finite coordinates, degenerate rings or
    /// self-intersections, or a cut could not be made consistently.
    #[error("the shape is not a valid polygon")]
    InvalidShape,
    /// Some part would be smaller than the sliver threshold (1e-12 deg²).
    #[error("the shape is too small for this many parts")]
    TooSmall,
}

/// When the bounding box's width/height ratio (in metres) is within this
/// factor of 1, the cut direction is chosen at random for variety.
const SQUARE_ENOUGH: f64 = 1.4;
/// Share of the weights given to the first half is drawn from this range
/// (in parts count), so that cuts do not all fall in the middle.
const SPLIT_SHARE: (f64, f64) = (0.4, 0.6);
/// Iterations when solving for the cut position on the exact quadratic
/// area model; 60 halvings exhaust f64 precision.
const MODEL_BISECTIONS: usize = 60;

/// Splits `shape` into `weights.len()` parts whose areas are proportional
/// to `weights` (planar, in square degrees; over a county the difference to
/// true areas is well under 1 %).
///
/// The parts exactly tile the shape: every part lies inside it, parts only
/// meet along shared edges with identical coordinates, and their areas sum
/// to the shape's (apart from dropped slivers under 1e-12 deg²). Parts may
/// be MultiPolygons when a cut crosses a concave shape more than once.
/// Exteriors are counter-clockwise. The same generator state gives the
/// same output.
pub fn partition<R: Rng + ?Sized>(
    shape: &MultiPolygon<f64>,
    weights: &[f64],
    rng: &mut R,
) -> Result<Vec<MultiPolygon<f64>>, PartitionError> {
    if weights.is_empty() {
        return Err(PartitionError::NoWeights);
    }
    if let Some(index) = weights.iter().position(|w| !(w.is_finite() && *w > 0.0)) {
        return Err(PartitionError::InvalidWeight { index });
    }
    let polys = prepare(shape)?;
    let mut out = Vec::with_capacity(weights.len());
    bisect(polys, weights, rng, &mut out)?;
    out.into_iter()
        .map(|p| {
            if p.is_empty() {
                Err(PartitionError::TooSmall)
            } else {
                Ok(to_multipolygon(p))
            }
        })
        .collect()
}

/// Converts to open, consistently oriented rings and rejects invalid input
/// once, so the recursion can trust its shapes.
fn prepare(shape: &MultiPolygon<f64>) -> Result<Vec<Poly>, PartitionError> {
    let mut raw = Vec::with_capacity(shape.0.len());
    for poly in &shape.0 {
        let mut rings = Vec::new();
        for (i, ring) in std::iter::once(poly.exterior())
            .chain(poly.interiors())
            .enumerate()
        {
            if ring.0.iter().any(|c| !(c.x.is_finite() && c.y.is_finite())) {
                return Err(PartitionError::InvalidShape);
            }
            if ring.0.is_empty() {
                // An empty exterior means an empty polygon; skip it whole.
                if i == 0 {
                    break;
                }
                continue;
            }
            rings.push(open_ring(ring.0.clone()).map_err(|_| PartitionError::InvalidShape)?);
        }
        raw.push(rings);
    }
    if has_self_intersection(&raw) {
        return Err(PartitionError::InvalidShape);
    }
    let mut polys = Vec::with_capacity(raw.len());
    for poly in raw {
        let mut rings = Vec::new();
        for (i, mut open) in poly.into_iter().enumerate() {
            let area = ring_signed_area(&open);
            if area.abs() < SLIVER_AREA {
                if i == 0 {
                    break; // a degenerate exterior drops the whole polygon
                }
                continue;
            }
            if (i == 0) != (area > 0.0) {
                open.reverse();
            }
            rings.push(open);
        }
        if !rings.is_empty() {
            polys.push(rings);
        }
    }
    if polys.is_empty() {
        return Err(PartitionError::EmptyShape);
    }
    Ok(polys)
}

fn to_multipolygon(polys: Vec<Poly>) -> MultiPolygon<f64> {
    MultiPolygon::new(
        polys
            .into_iter()
            .map(|rings| {
                let mut it = rings.into_iter().map(LineString::new);
                let exterior = it.next().unwrap_or_else(|| LineString::new(vec![]));
                Polygon::new(exterior, it.collect())
            })
            .collect(),
    )
}

fn bisect<R: Rng + ?Sized>(
    shape: Vec<Poly>,
    weights: &[f64],
    rng: &mut R,
    out: &mut Vec<Vec<Poly>>,
) -> Result<(), PartitionError> {
    let n = weights.len();
    if n == 1 {
        out.push(shape);
        return Ok(());
    }
    if shape.is_empty() {
        return Err(PartitionError::TooSmall);
    }
    let lo = ((n as f64 * SPLIT_SHARE.0).round() as usize).max(1);
    let hi = ((n as f64 * SPLIT_SHARE.1).round() as usize).min(n - 1);
    let k = if lo < hi {
        rng.random_range(lo..=hi)
    } else {
        n / 2
    };
    let (first, second) = weights.split_at(k);
    let fraction = first.iter().sum::<f64>() / weights.iter().sum::<f64>();

    let (lower, upper) = if cut_vertically(&shape, rng) {
        cut(&shape, fraction)?
    } else {
        // Rotate by -90° ((x, y) → (y, −x)), which keeps ring orientation,
        // so a vertical cut there is a horizontal cut here; the low side is
        // the south.
        let rotated = map_shape(&shape, |c| Coord { x: c.y, y: -c.x });
        let (l, u) = cut(&rotated, fraction)?;
        let back = |s: &Vec<Poly>| map_shape(s, |c| Coord { x: -c.y, y: c.x });
        (back(&l), back(&u))
    };
    drop(shape);
    bisect(lower, first, rng, out)?;
    bisect(upper, second, rng, out)
}

fn map_shape(shape: &[Poly], f: impl Fn(Coord<f64>) -> Coord<f64>) -> Vec<Poly> {
    shape
        .iter()
        .map(|p| {
            p.iter()
                .map(|r| r.iter().map(|&c| f(c)).collect())
                .collect()
        })
        .collect()
}

fn bounds(shape: &[Poly]) -> (Coord<f64>, Coord<f64>) {
    let mut min = Coord {
        x: f64::INFINITY,
        y: f64::INFINITY,
    };
    let mut max = Coord {
        x: f64::NEG_INFINITY,
        y: f64::NEG_INFINITY,
    };
    for c in shape.iter().flatten().flatten() {
        min.x = min.x.min(c.x);
        min.y = min.y.min(c.y);
        max.x = max.x.max(c.x);
        max.y = max.y.max(c.y);
    }
    (min, max)
}

/// Cut across the longer side of the bounding box (measured in metres, so
/// longitude is shrunk by cos(latitude)) to keep parts compact; near-square
/// boxes pick at random.
fn cut_vertically<R: Rng + ?Sized>(shape: &[Poly], rng: &mut R) -> bool {
    let (min, max) = bounds(shape);
    let mid_lat = ((min.y + max.y) / 2.0).to_radians();
    let width = (max.x - min.x) * mid_lat.cos().max(0.1);
    let height = max.y - min.y;
    if width > height * SQUARE_ENOUGH {
        true
    } else if height > width * SQUARE_ENOUGH {
        false
    } else {
        rng.random_bool(0.5)
    }
}

/// Splits by a vertical line so that the left side holds `fraction` of the
/// area.
///
/// Between two consecutive vertex x-coordinates the area left of the line
/// is an exact quadratic in the line's position (every edge crossing that
/// strip is straight), so a binary search over the vertices followed by a
/// solve on that quadratic finds the line with O(log n) area evaluations.
/// The line then lies strictly between vertices, as `split_at` requires.
fn cut(shape: &[Poly], fraction: f64) -> Result<(Vec<Poly>, Vec<Poly>), PartitionError> {
    let mut xs: Vec<f64> = shape.iter().flatten().flatten().map(|c| c.x).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    if xs.len() < 2 {
        return Err(PartitionError::TooSmall);
    }
    let (min, _) = bounds(shape);
    let area_at = |c: f64| area_left_of(shape, c, min);
    let (mut lo, mut hi) = (0, xs.len() - 1);
    let (mut a_lo, mut a_hi) = (0.0, area_at(xs[hi]));
    let target = fraction * a_hi;
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        let a = area_at(xs[mid]);
        if a < target {
            (lo, a_lo) = (mid, a);
        } else {
            (hi, a_hi) = (mid, a);
        }
    }
    let (x0, x1) = (xs[lo], xs[hi]);
    let a_mid = area_at(x0 + (x1 - x0) / 2.0);
    // A(t) = a_lo + b t + a t² on t ∈ [0, 1], fitted through three points.
    let qa = 2.0 * (a_hi - 2.0 * a_mid + a_lo);
    let qb = a_hi - a_lo - qa;
    let model = |t: f64| a_lo + qb * t + qa * t * t;
    let (mut t0, mut t1) = (0.0, 1.0);
    for _ in 0..MODEL_BISECTIONS {
        let t = (t0 + t1) / 2.0;
        if model(t) < target {
            t0 = t;
        } else {
            t1 = t;
        }
    }
    let t = (t0 + t1) / 2.0;
    // If crossings coincide numerically at this position, nudge the line a
    // little within the strip and try again.
    for nudge in [0.0, 1e-6, -1e-6, 1e-4, -1e-4] {
        let tt = (t + nudge).clamp(1e-9, 1.0 - 1e-9);
        let mut c = x0 + tt * (x1 - x0);
        if !(x0 < c && c < x1) {
            c = x0 + (x1 - x0) / 2.0;
        }
        if !(x0 < c && c < x1) {
            return Err(PartitionError::TooSmall);
        }
        match split_at(shape, c) {
            Ok(halves) => return Ok(halves),
            Err(SplitFailed) => continue,
        }
    }
    Err(PartitionError::InvalidShape)
}

/// An order of `parts` for sequence numbering as local standards do it:
/// rows from north to south, west to east within a row, by centroid.
///
/// The row height is the median part height, and a row collects parts
/// whose centroid is within half a row height below the row's northernmost
/// centroid. Parts without area go last, in input order. Returns indexes
/// into `parts`.
pub fn order_west_east_north_south(parts: &[MultiPolygon<f64>]) -> Vec<usize> {
    let mut placed: Vec<(usize, Coord<f64>)> = Vec::with_capacity(parts.len());
    let mut unplaced = Vec::new();
    let mut heights = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        match (part.centroid(), part.bounding_rect()) {
            (Some(c), Some(r)) if c.x().is_finite() && c.y().is_finite() => {
                placed.push((i, c.0));
                heights.push(r.height());
            }
            _ => unplaced.push(i),
        }
    }
    heights.sort_by(f64::total_cmp);
    let row_height = heights.get(heights.len() / 2).copied().unwrap_or(0.0);
    // North to south; ties broken by index for determinism.
    placed.sort_by(|a, b| b.1.y.total_cmp(&a.1.y).then(a.0.cmp(&b.0)));
    let mut order = Vec::with_capacity(parts.len());
    let mut row: Vec<(usize, Coord<f64>)> = Vec::new();
    let flush = |row: &mut Vec<(usize, Coord<f64>)>, order: &mut Vec<usize>| {
        row.sort_by(|a, b| a.1.x.total_cmp(&b.1.x).then(a.0.cmp(&b.0)));
        order.extend(row.drain(..).map(|(i, _)| i));
    };
    for item in placed {
        if row
            .first()
            .is_some_and(|top| top.1.y - item.1.y > row_height / 2.0)
        {
            flush(&mut row, &mut order);
        }
        row.push(item);
    }
    flush(&mut row, &mut order);
    order.extend(unplaced);
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::within_parent;
    use crate::validate::validate_multipolygon;
    use geo::{Area, BooleanOps, Validation, polygon};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn l_shape() -> MultiPolygon<f64> {
        polygon![
            (x: 120.0, y: 30.0), (x: 120.2, y: 30.0), (x: 120.2, y: 30.1),
            (x: 120.1, y: 30.1), (x: 120.1, y: 30.2), (x: 120.0, y: 30.2)
        ]
        .into()
    }

    fn weights(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.random_range(1.0..3.0)).collect()
    }

    /// Checks the tiling properties shared by all partition tests.
    fn check_tiling(shape: &MultiPolygon<f64>, parts: &[MultiPolygon<f64>], w: &[f64]) {
        assert_eq!(parts.len(), w.len());
        let total = shape.unsigned_area();
        let sum: f64 = parts.iter().map(|p| p.unsigned_area()).sum();
        assert!(((sum - total) / total).abs() < 1e-9, "sum {sum} vs {total}");
        let wsum: f64 = w.iter().sum();
        for (i, p) in parts.iter().enumerate() {
            validate_multipolygon(p).unwrap_or_else(|e| panic!("part {i}: {e}"));
            assert!(p.is_valid(), "part {i} fails geo's validation");
            let share = p.unsigned_area() / total;
            let want = w[i] / wsum;
            assert!(
                ((share - want) / want).abs() < 0.05,
                "part {i}: {share} vs {want}"
            );
            // The overlay snaps coordinates to an integer grid, so allow
            // for its error; by construction the parts are exactly inside.
            assert!(within_parent(p, shape, 1e-6), "part {i} leaves the shape");
        }
        // Pairwise overlaps: a sample of pairs, including all neighbours of
        // the first few parts.
        for i in 0..parts.len().min(6) {
            for j in (i + 1)..parts.len() {
                let overlap = parts[i].intersection(&parts[j]).unsigned_area();
                assert!(
                    overlap <= total * 1e-12,
                    "parts {i} and {j} overlap by {overlap}"
                );
            }
        }
    }

    #[test]
    fn l_shape_into_17_parts() {
        let shape = l_shape();
        let w = weights(17, 1);
        let parts = partition(&shape, &w, &mut ChaCha8Rng::seed_from_u64(7)).unwrap();
        check_tiling(&shape, &parts, &w);
    }

    #[test]
    fn same_seed_same_output() {
        let w = weights(30, 2);
        let a = partition(&l_shape(), &w, &mut ChaCha8Rng::seed_from_u64(9)).unwrap();
        let b = partition(&l_shape(), &w, &mut ChaCha8Rng::seed_from_u64(9)).unwrap();
        let c = partition(&l_shape(), &w, &mut ChaCha8Rng::seed_from_u64(10)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn two_islands_with_a_hole() {
        let mut shape = l_shape();
        shape.0[0].interiors_push(vec![
            (120.02, 30.02),
            (120.05, 30.02),
            (120.05, 30.05),
            (120.02, 30.05),
        ]);
        let island: Polygon<f64> = polygon![
            (x: 120.5, y: 30.0), (x: 120.6, y: 30.05), (x: 120.55, y: 30.15)
        ];
        shape.0.push(island);
        let w = weights(12, 3);
        let parts = partition(&shape, &w, &mut ChaCha8Rng::seed_from_u64(4)).unwrap();
        check_tiling(&shape, &parts, &w);
    }

    #[test]
    fn one_weight_returns_the_shape() {
        let parts = partition(&l_shape(), &[5.0], &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
        assert_eq!(parts.len(), 1);
        assert!((parts[0].unsigned_area() - l_shape().unsigned_area()).abs() < 1e-15);
    }

    #[test]
    fn bad_input_is_an_error() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(
            partition(&l_shape(), &[], &mut rng),
            Err(PartitionError::NoWeights)
        );
        assert_eq!(
            partition(&l_shape(), &[1.0, f64::NAN], &mut rng),
            Err(PartitionError::InvalidWeight { index: 1 })
        );
        assert_eq!(
            partition(&l_shape(), &[1.0, 0.0], &mut rng),
            Err(PartitionError::InvalidWeight { index: 1 })
        );
        assert_eq!(
            partition(&MultiPolygon::new(vec![]), &[1.0], &mut rng),
            Err(PartitionError::EmptyShape)
        );
        let bow: MultiPolygon<f64> =
            polygon![(x: 0., y: 0.), (x: 1., y: 1.), (x: 1., y: 0.), (x: 0., y: 1.)].into();
        assert_eq!(
            partition(&bow, &[1.0, 1.0], &mut rng),
            Err(PartitionError::InvalidShape)
        );
        let tiny: MultiPolygon<f64> =
            polygon![(x: 0., y: 0.), (x: 1e-5, y: 0.), (x: 1e-5, y: 1e-5), (x: 0., y: 1e-5)].into();
        assert_eq!(
            partition(&tiny, &[1.0; 1000], &mut rng),
            Err(PartitionError::TooSmall)
        );
    }

    #[test]
    fn ordering_is_rows_north_to_south_then_west_to_east() {
        // A 3 × 3 block of unit squares with slightly jittered rows, given
        // in scrambled order.
        let cell = |col: f64, row: f64| -> MultiPolygon<f64> {
            let (x, y) = (col, -row + col * 0.05);
            polygon![(x: x, y: y), (x: x + 1., y: y), (x: x + 1., y: y + 1.), (x: x, y: y + 1.)]
                .into()
        };
        let cells = [
            (2., 1.),
            (0., 0.),
            (1., 2.),
            (1., 0.),
            (2., 2.),
            (0., 2.),
            (2., 0.),
            (0., 1.),
            (1., 1.),
        ];
        let parts: Vec<_> = cells.iter().map(|&(c, r)| cell(c, r)).collect();
        let order = order_west_east_north_south(&parts);
        let got: Vec<(f64, f64)> = order.iter().map(|&i| cells[i]).collect();
        assert_eq!(
            got,
            vec![
                (0., 0.),
                (1., 0.),
                (2., 0.),
                (0., 1.),
                (1., 1.),
                (2., 1.),
                (0., 2.),
                (1., 2.),
                (2., 2.),
            ]
        );
        let with_empty = vec![MultiPolygon::new(vec![]), cell(0., 0.)];
        assert_eq!(order_west_east_north_south(&with_empty), vec![1, 0]);
    }

    /// A star-shaped, strongly concave ring around (120.3, 30.5) with a
    /// square hole in the middle.
    fn star(radii: &[f64]) -> MultiPolygon<f64> {
        let n = radii.len();
        let ring: Vec<(f64, f64)> = radii
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let t = i as f64 / n as f64 * std::f64::consts::TAU;
                (120.3 + r * t.cos(), 30.5 + r * t.sin())
            })
            .collect();
        let hole = vec![
            (120.29, 30.49),
            (120.29, 30.51),
            (120.31, 30.51),
            (120.31, 30.49),
        ];
        Polygon::new(LineString::from(ring), vec![LineString::from(hole)]).into()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        #[test]
        fn random_stars_tile_exactly(
            radii in proptest::collection::vec(0.03f64..0.2, 5..60),
            n in 2usize..50,
            seed in 0u64..1000,
        ) {
            let shape = star(&radii);
            let w = weights(n, seed);
            let parts = partition(&shape, &w, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
            check_tiling(&shape, &parts, &w);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        #[test]
        fn random_partitions_tile_the_shape(n in 1usize..40, seed in 0u64..1000) {
            let w = weights(n, seed);
            let parts = partition(&l_shape(), &w, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
            let total = l_shape().unsigned_area();
            let sum: f64 = parts.iter().map(|p| p.unsigned_area()).sum();
            proptest::prop_assert!(((sum - total) / total).abs() < 1e-9);
            for p in &parts {
                proptest::prop_assert!(validate_multipolygon(p).is_ok());
            }
        }
    }
}
