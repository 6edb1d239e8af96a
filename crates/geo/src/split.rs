//! Exact splitting of a polygonal shape by a vertical line x = c.
//!
//! Both halves are assembled from the same computed crossing points, so they
//! share their cut edge bit for bit: there is no gap and no overlap, which a
//! general-purpose overlay (that snaps coordinates to an integer grid) cannot
//! promise. Horizontal cuts are done by the caller in a rotated frame.
//!
//! Shapes are lists of polygons; each polygon is a list of open rings
//! (no repeated closing vertex), exterior counter-clockwise first, then
//! clockwise holes.

use geo::Coord;

use crate::validate::ring_signed_area;

/// A polygon as open rings: exterior (CCW) first, then holes (CW).
pub(crate) type Poly = Vec<Vec<Coord<f64>>>;

/// Rings whose area is below this (square degrees, about 0.01 m²) are
/// dropped: they come from cuts passing extremely close to a vertex and
/// would be numerically degenerate.
pub(crate) const SLIVER_AREA: f64 = 1e-12;

/// The split failed because the crossings along the line were inconsistent
/// (the input self-intersects or two crossings coincide numerically).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SplitFailed;

/// Area of the part of `shape` with x < c, by streaming Sutherland–Hodgman
/// clipping into the shoelace sum. The zero-width bridges that clipping a
/// concave ring creates along the line add no area, so the result is exact
/// up to rounding. Coordinates are taken relative to `origin` for precision.
pub(crate) fn area_left_of(shape: &[Poly], c: f64, origin: Coord<f64>) -> f64 {
    let cx = c - origin.x;
    let mut total = 0.0;
    for ring in shape.iter().flatten() {
        let Some(&last) = ring.last() else { continue };
        let mut a = last - origin;
        let mut first: Option<Coord<f64>> = None;
        let mut prev = Coord { x: 0.0, y: 0.0 };
        let mut sum = 0.0;
        let mut emit = |q: Coord<f64>| {
            if first.is_some() {
                sum += prev.x * q.y - q.x * prev.y;
            } else {
                first = Some(q);
            }
            prev = q;
        };
        for &b0 in ring {
            let b = b0 - origin;
            match (a.x < cx, b.x < cx) {
                (true, true) => emit(b),
                (true, false) => emit(crossing(a, b, cx)),
                (false, true) => {
                    emit(crossing(a, b, cx));
                    emit(b);
                }
                (false, false) => {}
            }
            a = b;
        }
        if let Some(f) = first {
            sum += prev.x * f.y - f.x * prev.y;
        }
        total += sum;
    }
    total / 2.0
}

/// Point where edge a–b meets x = c (the edge must straddle it). The
/// endpoints are ordered by x first so that the same edge walked in either
/// direction gives the same bits.
fn crossing(a: Coord<f64>, b: Coord<f64>, c: f64) -> Coord<f64> {
    let (p, q) = if a.x <= b.x { (a, b) } else { (b, a) };
    let t = (c - p.x) / (q.x - p.x);
    let y = p.y + t * (q.y - p.y);
    // Rounding must not push the point outside the edge's y-range.
    Coord {
        x: c,
        y: y.clamp(p.y.min(q.y), p.y.max(q.y)),
    }
}

/// A ring kept whole, with the index of the polygon it came from.
type OwnedRing<'a> = (usize, &'a Vec<Coord<f64>>);

/// One point where a ring crosses the cut line.
struct Crossing {
    pt: Coord<f64>,
    /// The ring goes from x < c to x > c here.
    east: bool,
    ring: usize,
    /// Index of the crossed edge (from vertex `edge` to `edge + 1`).
    edge: usize,
    /// Global id of the next crossing along the same ring.
    next: usize,
}

/// Splits `shape` by the line x = c into (left, right). No vertex may lie
/// exactly on the line (the caller picks c strictly between vertex
/// x-coordinates). Rings below [`SLIVER_AREA`] are dropped.
pub(crate) fn split_at(shape: &[Poly], c: f64) -> Result<(Vec<Poly>, Vec<Poly>), SplitFailed> {
    // Flatten rings, remembering which polygon they belong to.
    let rings: Vec<(usize, bool, &Vec<Coord<f64>>)> = shape
        .iter()
        .enumerate()
        .flat_map(|(p, poly)| poly.iter().enumerate().map(move |(i, r)| (p, i > 0, r)))
        .collect();

    let mut crossings: Vec<Crossing> = Vec::new();
    // Per side: exteriors (with their polygon id) and holes that do not
    // touch the line and so are kept whole.
    let mut whole_ext: [Vec<OwnedRing>; 2] = [Vec::new(), Vec::new()];
    let mut whole_holes: [Vec<OwnedRing>; 2] = [Vec::new(), Vec::new()];
    // Polygons whose exterior is cut: their whole holes need a new owner.
    let mut cut_polys = vec![false; shape.len()];

    for (ri, &(poly, is_hole, ring)) in rings.iter().enumerate() {
        let n = ring.len();
        let start = crossings.len();
        for i in 0..n {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            if (a.x < c) != (b.x < c) {
                crossings.push(Crossing {
                    pt: crossing(a, b, c),
                    east: a.x < c,
                    ring: ri,
                    edge: i,
                    next: 0,
                });
            }
        }
        let end = crossings.len();
        if start == end {
            let side = usize::from(ring.first().is_some_and(|v| v.x > c));
            if is_hole {
                whole_holes[side].push((poly, ring));
            } else {
                whole_ext[side].push((poly, ring));
            }
            continue;
        }
        if !is_hole {
            cut_polys[poly] = true;
        }
        for (g, x) in crossings[start..end].iter_mut().enumerate() {
            x.next = start + (g + 1) % (end - start);
        }
    }

    // Along the line, inside intervals run from an eastward crossing up to
    // a westward one; pair them in y order.
    let mut order: Vec<usize> = (0..crossings.len()).collect();
    order.sort_by(|&i, &j| crossings[i].pt.y.total_cmp(&crossings[j].pt.y));
    // Coinciding crossings would make rings touch; let the caller move
    // the line instead.
    if order
        .windows(2)
        .any(|w| crossings[w[0]].pt.y >= crossings[w[1]].pt.y)
    {
        return Err(SplitFailed);
    }
    let mut partner = vec![usize::MAX; crossings.len()];
    for pair in order.chunks(2) {
        let [e, w] = *pair else {
            return Err(SplitFailed);
        };
        if !crossings[e].east || crossings[w].east {
            return Err(SplitFailed);
        }
        partner[e] = w;
        partner[w] = e;
    }

    let mut sides: [Vec<Poly>; 2] = [Vec::new(), Vec::new()];
    for (side, out) in sides.iter_mut().enumerate() {
        // Left rings start at westward crossings, right rings at eastward.
        let starts_here = |x: &Crossing| x.east == (side == 1);
        let mut visited = vec![false; crossings.len()];
        for g0 in 0..crossings.len() {
            if visited[g0] || !starts_here(&crossings[g0]) {
                continue;
            }
            let mut ring = Vec::new();
            let mut g = g0;
            loop {
                visited[g] = true;
                let x = &crossings[g];
                let verts = rings[x.ring].2;
                let end = &crossings[x.next];
                ring.push(x.pt);
                // Vertices edge+1 ..= end.edge, walking forward with wrap.
                let n = verts.len();
                let mut v = (x.edge + 1) % n;
                loop {
                    ring.push(verts[v]);
                    if v == end.edge {
                        break;
                    }
                    v = (v + 1) % n;
                }
                ring.push(end.pt);
                g = partner[x.next];
                if g == g0 {
                    break;
                }
                if visited[g] {
                    return Err(SplitFailed);
                }
            }
            let area = ring_signed_area(&ring);
            if area >= SLIVER_AREA {
                out.push(vec![ring]);
            } else if area <= -SLIVER_AREA {
                // A cut ring can only be an exterior; anything else means
                // the input was not a valid polygon.
                return Err(SplitFailed);
            }
        }
        // Rings built above (indices 0..cut_count) are the only possible
        // new owners of holes whose exterior was cut.
        let cut_count = out.len();
        // Whole exteriors keep their polygon's whole holes.
        let mut poly_slot = vec![usize::MAX; shape.len()];
        for &(poly, ring) in &whole_ext[side] {
            poly_slot[poly] = out.len();
            out.push(vec![ring.clone()]);
        }
        for &(poly, hole) in &whole_holes[side] {
            if ring_signed_area(hole).abs() < SLIVER_AREA {
                continue;
            }
            let owner = if cut_polys[poly] {
                out[..cut_count]
                    .iter()
                    .position(|p| point_in_ring(hole[0], &p[0]))
            } else {
                Some(poly_slot[poly]).filter(|&s| s != usize::MAX)
            };
            match owner {
                Some(o) => out[o].push(hole.clone()),
                None => return Err(SplitFailed),
            }
        }
    }
    let [left, right] = sides;
    Ok((left, right))
}

/// Even-odd test of `p` against an open ring; used only to re-home holes,
/// whose vertices lie strictly inside their exterior.
fn point_in_ring(p: Coord<f64>, ring: &[Coord<f64>]) -> bool {
    let mut inside = false;
    let n = ring.len();
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        if (a.y > p.y) != (b.y > p.y) {
            let x = a.x + (p.y - a.y) / (b.y - a.y) * (b.x - a.x);
            if p.x < x {
                inside = !inside;
            }
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(x: f64, y: f64) -> Coord<f64> {
        Coord { x, y }
    }

    fn area(shape: &[Poly]) -> f64 {
        shape.iter().flatten().map(|r| ring_signed_area(r)).sum()
    }

    /// A "U" open to the north: cutting it horizontally through the arms is
    /// the concave case; a vertical cut through the arms is simple.
    fn u_shape() -> Poly {
        vec![vec![
            c(0.0, 0.0),
            c(3.0, 0.0),
            c(3.0, 3.0),
            c(2.0, 3.0),
            c(2.0, 1.0),
            c(1.0, 1.0),
            c(1.0, 3.0),
            c(0.0, 3.0),
        ]]
    }

    #[test]
    fn area_left_matches_known_values() {
        let s = vec![u_shape()];
        let o = c(0.0, 0.0);
        assert!((area_left_of(&s, 0.5, o) - 1.5).abs() < 1e-12);
        assert!((area_left_of(&s, 1.5, o) - 3.5).abs() < 1e-12);
        assert!((area_left_of(&s, 10.0, o) - 7.0).abs() < 1e-12);
        assert_eq!(area_left_of(&s, -1.0, o), 0.0);
    }

    #[test]
    fn concave_split_gives_two_pieces_on_one_side() {
        // Rotate the U by 90° so that a vertical cut crosses both arms.
        let rotated: Vec<Poly> = vec![vec![u_shape()[0].iter().map(|p| c(p.y, -p.x)).collect()]];
        let (left, right) = split_at(&rotated, 2.0).unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(right.len(), 2, "the arms are separate pieces");
        let total = area(&rotated);
        assert!((area(&left) + area(&right) - total).abs() < 1e-12);
        assert!((area(&left) - area_left_of(&rotated, 2.0, c(0.0, 0.0))).abs() < 1e-12);
        // Every cut vertex of one side is a vertex of the other side.
        let on_line = |s: &[Poly]| {
            let mut v: Vec<(u64, u64)> = s
                .iter()
                .flatten()
                .flatten()
                .filter(|p| p.x == 2.0)
                .map(|p| (p.x.to_bits(), p.y.to_bits()))
                .collect();
            v.sort();
            v
        };
        assert_eq!(on_line(&left), on_line(&right));
        assert_eq!(on_line(&left).len(), 4);
    }

    #[test]
    fn holes_are_cut_or_rehomed() {
        let square = vec![c(0.0, 0.0), c(10.0, 0.0), c(10.0, 10.0), c(0.0, 10.0)];
        let hole_a = vec![c(2.0, 2.0), c(2.0, 4.0), c(4.0, 4.0), c(4.0, 2.0)];
        let hole_b = vec![c(6.0, 6.0), c(6.0, 8.0), c(8.0, 8.0), c(8.0, 6.0)];
        let shape = vec![vec![square, hole_a, hole_b]];
        // Cut through hole A: it becomes a notch in both sides.
        let (l, r) = split_at(&shape, 3.0).unwrap();
        assert_eq!((l.len(), r.len()), (1, 1));
        assert_eq!(l[0].len(), 1);
        assert_eq!(r[0].len(), 2, "hole B stays a hole on the right");
        assert!((area(&l) - 28.0).abs() < 1e-12);
        assert!((area(&r) - 64.0).abs() < 1e-12);
        // Cut away from both holes: each side keeps one.
        let (l, r) = split_at(&shape, 5.0).unwrap();
        assert_eq!((l[0].len(), r[0].len()), (2, 2));
    }

    #[test]
    fn whole_polygons_go_to_their_side() {
        let a = vec![vec![c(0.0, 0.0), c(1.0, 0.0), c(1.0, 1.0)]];
        let b = vec![vec![c(5.0, 0.0), c(6.0, 0.0), c(6.0, 1.0)]];
        let (l, r) = split_at(&[a.clone(), b.clone()], 3.0).unwrap();
        assert_eq!(l, vec![a]);
        assert_eq!(r, vec![b]);
    }

    #[test]
    fn inconsistent_input_is_reported() {
        // A bow tie crosses the line with two eastward crossings in a row.
        let bow = vec![vec![vec![
            c(0.0, 0.0),
            c(2.0, 2.0),
            c(2.0, 0.0),
            c(0.0, 2.0),
        ]]];
        assert_eq!(split_at(&bow, 1.5), Err(SplitFailed));
    }
}
