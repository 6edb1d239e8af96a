//! Point location: which grid and which deepest region contain a point.
//! Candidates come from an R-tree over polygon bounding boxes; an exact,
//! robust point-in-polygon test (boundary inclusive) then decides.

use geo::kernels::{Kernel, Orientation, RobustKernel};
use geo::{BoundingRect, Coord, LineString, MultiPolygon, Polygon};
use rstar::RTree;
use rstar::primitives::{GeomWithData, Rectangle};

/// Polygons with more edges than this get a y-band index so that a lookup
/// only tests the edges near the point's latitude.
const BAND_MIN_EDGES: usize = 32;
/// Average number of edges we aim for per band.
const EDGES_PER_BAND: usize = 4;
/// Upper bound on bands per polygon, to cap memory on huge rings.
const MAX_BANDS: usize = 4096;
/// Give up on bands when edges appear in more than this many bands on
/// average (long edges crossing many bands).
const MAX_ITEMS_PER_EDGE: usize = 16;

/// The grid and region containing a point.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// Code of the grid containing the point, if any.
    pub grid: Option<String>,
    /// Code of the deepest-level region containing the point, if any.
    pub region: Option<String>,
}

/// Edges of one polygon bucketed by horizontal bands, in CSR layout.
struct Bands {
    y0: f64,
    inv_height: f64,
    /// `starts[b]..starts[b + 1]` indexes `items` for band `b`.
    starts: Vec<u32>,
    /// (ring, edge index within ring) for each band entry.
    items: Vec<(u32, u32)>,
}

/// One polygon of a grid or region, prepared for point-in-polygon tests.
struct Slot {
    owner: u32,
    /// Bounding box of the exterior: [min x, min y, max x, max y] (NaN when empty).
    bbox: [f64; 4],
    /// Exterior first, then holes; each ring closed.
    rings: Vec<LineString<f64>>,
    bands: Option<Bands>,
}

/// What one edge says about a point.
enum EdgeHit {
    Miss,
    Crossing,
    Boundary,
}

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// A spatial index answering "which grid and region contain this point".
///
/// Build once, share freely (`Send + Sync`, lookups take `&self`). When a
/// point lies on an edge shared by several polygons, the one given first
/// to [`Locator::new`] wins, so answers are deterministic.
pub struct Locator {
    grid_codes: Vec<String>,
    grid_slots: Vec<Slot>,
    grid_cells: Cells,
    region_codes: Vec<String>,
    region_levels: Vec<u8>,
    region_slots: Vec<Slot>,
    region_tree: RTree<Entry>,
}

impl Locator {
    /// Builds the index. `grids` are (code, geometry); `regions` are
    /// (code, level, geometry) where a higher level is deeper (1 = city …
    /// 5 = village). Polygons with no finite bounding box are ignored.
    pub fn new(
        grids: Vec<(String, MultiPolygon<f64>)>,
        regions: Vec<(String, u8, MultiPolygon<f64>)>,
    ) -> Locator {
        let mut grid_codes = Vec::with_capacity(grids.len());
        let mut grid_slots = Vec::with_capacity(grids.len());
        for (i, (code, mp)) in grids.into_iter().enumerate() {
            grid_codes.push(code);
            grid_slots.extend(mp.0.into_iter().map(|p| Slot::new(i as u32, p)));
        }
        let mut region_codes = Vec::with_capacity(regions.len());
        let mut region_levels = Vec::with_capacity(regions.len());
        let mut region_slots = Vec::new();
        for (i, (code, level, mp)) in regions.into_iter().enumerate() {
            region_codes.push(code);
            region_levels.push(level);
            region_slots.extend(mp.0.into_iter().map(|p| Slot::new(i as u32, p)));
        }
        let grid_cells = Cells::new(&grid_slots);
        let region_tree = build_tree(&region_slots);
        Locator {
            grid_codes,
            grid_slots,
            grid_cells,
            region_codes,
            region_levels,
            region_slots,
            region_tree,
        }
    }

    /// Number of grids given to [`Locator::new`].
    pub fn grid_count(&self) -> usize {
        self.grid_codes.len()
    }

    /// Number of regions given to [`Locator::new`].
    pub fn region_count(&self) -> usize {
        self.region_codes.len()
    }

    /// The grid and deepest region containing (lon, lat); boundaries count
    /// as inside.
    pub fn locate(&self, lon: f64, lat: f64) -> Location {
        Location {
            grid: self.grid_at(lon, lat).map(str::to_string),
            region: self.region_at(lon, lat).map(str::to_string),
        }
    }

    /// Code of the grid containing (lon, lat), without allocating.
    pub fn grid_at(&self, lon: f64, lat: f64) -> Option<&str> {
        let p = finite_point(lon, lat)?;
        let mut best: Option<u32> = None;
        for &i in self.grid_cells.candidates(p) {
            let slot = &self.grid_slots[i as usize];
            if best.is_some_and(|b| b <= slot.owner) || !slot.bbox_contains(p) {
                continue;
            }
            if slot.contains(p) {
                best = Some(slot.owner);
            }
        }
        best.map(|i| self.grid_codes[i as usize].as_str())
    }

    /// Code of the deepest-level region containing (lon, lat), without
    /// allocating. Among regions of the same level the first given wins.
    pub fn region_at(&self, lon: f64, lat: f64) -> Option<&str> {
        let p = finite_point(lon, lat)?;
        // Ordered so that a deeper level, then a smaller index, is better.
        let key = |owner: u32| (std::cmp::Reverse(self.region_levels[owner as usize]), owner);
        let mut best: Option<u32> = None;
        for hit in self.region_tree.locate_all_at_point(&[p.x, p.y]) {
            let slot = &self.region_slots[hit.data as usize];
            if best.is_some_and(|b| key(b) <= key(slot.owner)) {
                continue;
            }
            if slot.contains(p) {
                best = Some(slot.owner);
            }
        }
        best.map(|i| self.region_codes[i as usize].as_str())
    }
}

/// A uniform raster over the grids' extent; each cell lists the polygons whose bounding box
/// meets it. A lookup is one cell computation and a short, contiguous list, instead of an
/// R-tree descent: at a province's 304,000 grids the descent's cache misses were most of the
/// time. Cells are sized from the median polygon, then made coarser until no polygon list
/// grows past `MAX_ENTRIES_PER_SLOT` entries per polygon on average (large rural grids
/// overlapping many small cells).
struct Cells {
    x0: f64,
    y0: f64,
    inv_w: f64,
    inv_h: f64,
    nx: usize,
    ny: usize,
    /// `starts[c]..starts[c + 1]` indexes `items` for cell `c` (row-major).
    starts: Vec<u32>,
    items: Vec<u32>,
}

const MAX_ENTRIES_PER_SLOT: usize = 8;
const MAX_CELLS: usize = 1 << 24;

impl Cells {
    fn new(slots: &[Slot]) -> Cells {
        let finite: Vec<(usize, [f64; 4])> = slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.bbox.iter().all(|v| v.is_finite()))
            .map(|(i, s)| (i, s.bbox))
            .collect();
        let empty = Cells {
            x0: 0.0,
            y0: 0.0,
            inv_w: 0.0,
            inv_h: 0.0,
            nx: 1,
            ny: 1,
            starts: vec![0, 0],
            items: vec![],
        };
        if finite.is_empty() {
            return empty;
        }
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        let mut sizes: Vec<f64> = Vec::with_capacity(finite.len());
        for (_, b) in &finite {
            x0 = x0.min(b[0]);
            y0 = y0.min(b[1]);
            x1 = x1.max(b[2]);
            y1 = y1.max(b[3]);
            sizes.push((b[2] - b[0]).max(b[3] - b[1]));
        }
        sizes.sort_by(f64::total_cmp);
        let (w, h) = ((x1 - x0).max(1e-9), (y1 - y0).max(1e-9));
        let mut cell = sizes[sizes.len() / 2].max(w.max(h) / 4096.0).max(1e-9);
        loop {
            let nx = ((w / cell).ceil() as usize).max(1);
            let ny = ((h / cell).ceil() as usize).max(1);
            let (inv_w, inv_h) = (nx as f64 / w, ny as f64 / h);
            let span = |b: &[f64; 4]| {
                let cx = |x: f64| (((x - x0) * inv_w) as usize).min(nx - 1);
                let cy = |y: f64| (((y - y0) * inv_h) as usize).min(ny - 1);
                (cx(b[0]), cy(b[1]), cx(b[2]), cy(b[3]))
            };
            let total: usize = finite
                .iter()
                .map(|(_, b)| {
                    let (a, c, d, e) = span(b);
                    (d - a + 1) * (e - c + 1)
                })
                .sum();
            if (total > MAX_ENTRIES_PER_SLOT * finite.len() || nx * ny > MAX_CELLS) && nx * ny > 1 {
                cell *= 2.0;
                continue;
            }
            // Count, then fill: a compact CSR layout. Slots go in index order, so each cell's
            // list is ascending and the first-given-wins rule needs no sorting.
            let mut starts = vec![0u32; nx * ny + 1];
            for (_, b) in &finite {
                let (a, c, d, e) = span(b);
                for y in c..=e {
                    for x in a..=d {
                        starts[y * nx + x + 1] += 1;
                    }
                }
            }
            for i in 0..nx * ny {
                starts[i + 1] += starts[i];
            }
            let mut fill = starts.clone();
            let mut items = vec![0u32; total];
            for (i, b) in &finite {
                let (a, c, d, e) = span(b);
                for y in c..=e {
                    for x in a..=d {
                        let at = &mut fill[y * nx + x];
                        items[*at as usize] = *i as u32;
                        *at += 1;
                    }
                }
            }
            return Cells {
                x0,
                y0,
                inv_w,
                inv_h,
                nx,
                ny,
                starts,
                items,
            };
        }
    }

    /// Polygons whose bounding box may contain `p` (none outside the extent).
    fn candidates(&self, p: Coord<f64>) -> &[u32] {
        let fx = (p.x - self.x0) * self.inv_w;
        let fy = (p.y - self.y0) * self.inv_h;
        // A point exactly on the far edge belongs to the last cell.
        if !(fx >= 0.0 && fy >= 0.0 && fx <= self.nx as f64 && fy <= self.ny as f64) {
            return &[];
        }
        let (x, y) = (
            (fx as usize).min(self.nx - 1),
            (fy as usize).min(self.ny - 1),
        );
        let c = y * self.nx + x;
        &self.items[self.starts[c] as usize..self.starts[c + 1] as usize]
    }
}

fn finite_point(lon: f64, lat: f64) -> Option<Coord<f64>> {
    (lon.is_finite() && lat.is_finite()).then_some(Coord { x: lon, y: lat })
}

fn build_tree(slots: &[Slot]) -> RTree<Entry> {
    let entries = slots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let r = s.rings.first()?.bounding_rect()?;
            let (min, max) = (r.min(), r.max());
            [min.x, min.y, max.x, max.y]
                .iter()
                .all(|v| v.is_finite())
                .then(|| {
                    GeomWithData::new(
                        Rectangle::from_corners([min.x, min.y], [max.x, max.y]),
                        i as u32,
                    )
                })
        })
        .collect();
    RTree::bulk_load(entries)
}

impl Slot {
    fn new(owner: u32, poly: Polygon<f64>) -> Slot {
        let (exterior, interiors) = poly.into_inner();
        let mut rings = Vec::with_capacity(1 + interiors.len());
        rings.push(exterior);
        rings.extend(interiors);
        let edges: usize = rings.iter().map(|r| r.0.len().saturating_sub(1)).sum();
        let bands = (edges > BAND_MIN_EDGES)
            .then(|| Bands::new(&rings, edges))
            .flatten();
        let bbox = rings
            .first()
            .and_then(|r| r.bounding_rect())
            .map_or([f64::NAN; 4], |r| {
                [r.min().x, r.min().y, r.max().x, r.max().y]
            });
        Slot {
            owner,
            bbox,
            rings,
            bands,
        }
    }

    fn bbox_contains(&self, p: Coord<f64>) -> bool {
        let [x0, y0, x1, y1] = self.bbox;
        x0 <= p.x && p.x <= x1 && y0 <= p.y && p.y <= y1
    }

    /// Even-odd point-in-polygon over all rings; true on the boundary.
    fn contains(&self, p: Coord<f64>) -> bool {
        let mut inside = false;
        if let Some(bands) = &self.bands {
            for &(r, e) in bands.candidates(p.y) {
                let ring = &self.rings[r as usize].0;
                let (a, b) = (ring[e as usize], ring[e as usize + 1]);
                match edge_hit(a, b, p) {
                    EdgeHit::Boundary => return true,
                    EdgeHit::Crossing => inside = !inside,
                    EdgeHit::Miss => {}
                }
            }
            return inside;
        }
        for ring in &self.rings {
            for w in ring.0.windows(2) {
                match edge_hit(w[0], w[1], p) {
                    EdgeHit::Boundary => return true,
                    EdgeHit::Crossing => inside = !inside,
                    EdgeHit::Miss => {}
                }
            }
        }
        inside
    }
}

impl Bands {
    fn new(rings: &[LineString<f64>], edges: usize) -> Option<Bands> {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for c in rings.iter().flat_map(|r| r.0.iter()) {
            lo = lo.min(c.y);
            hi = hi.max(c.y);
        }
        if !(lo.is_finite() && hi.is_finite() && hi > lo) {
            return None;
        }
        let n = (edges / EDGES_PER_BAND).clamp(1, MAX_BANDS);
        let inv_height = n as f64 / (hi - lo);
        let band_of = |y: f64| (((y - lo) * inv_height) as usize).min(n - 1);
        // Two passes (count, then fill) give a compact CSR layout.
        let mut counts = vec![0u32; n + 1];
        let each_edge = |f: &mut dyn FnMut(usize, usize, usize, usize)| {
            for (r, ring) in rings.iter().enumerate() {
                for (e, w) in ring.0.windows(2).enumerate() {
                    let (b0, b1) = (band_of(w[0].y.min(w[1].y)), band_of(w[0].y.max(w[1].y)));
                    f(r, e, b0, b1);
                }
            }
        };
        each_edge(&mut |_, _, b0, b1| {
            for c in &mut counts[b0 + 1..=b1 + 1] {
                *c += 1;
            }
        });
        // Many long edges spanning many bands would blow up memory; such
        // polygons are rare and simply use the plain scan.
        if counts.iter().map(|&c| c as usize).sum::<usize>() > MAX_ITEMS_PER_EDGE * edges {
            return None;
        }
        for b in 0..n {
            counts[b + 1] += counts[b];
        }
        let mut fill = counts.clone();
        let mut items = vec![(0u32, 0u32); counts[n] as usize];
        each_edge(&mut |r, e, b0, b1| {
            for slot in &mut fill[b0..=b1] {
                items[*slot as usize] = (r as u32, e as u32);
                *slot += 1;
            }
        });
        Some(Bands {
            y0: lo,
            inv_height,
            starts: counts,
            items,
        })
    }

    /// Edges whose y-range may contain `y`. Points outside the polygon's
    /// y-range get the first or last band, whose edges cannot claim them.
    fn candidates(&self, y: f64) -> &[(u32, u32)] {
        let n = self.starts.len() - 1;
        let b = ((y - self.y0) * self.inv_height).max(0.0) as usize;
        let b = b.min(n - 1);
        &self.items[self.starts[b] as usize..self.starts[b + 1] as usize]
    }
}

/// Crossing-number contribution of edge a–b for a ray from `p` towards +x,
/// using the half-open rule on y so that vertices are counted once, and an
/// exact orientation test so that shared edges are treated consistently by
/// both neighbours.
fn edge_hit(a: Coord<f64>, b: Coord<f64>, p: Coord<f64>) -> EdgeHit {
    let a_below = a.y <= p.y;
    let b_below = b.y <= p.y;
    if a_below != b_below {
        let o = <RobustKernel as Kernel<f64>>::orient2d(a, b, p);
        return match (o, b.y > a.y) {
            (Orientation::Collinear, _) => EdgeHit::Boundary,
            (Orientation::CounterClockwise, true) | (Orientation::Clockwise, false) => {
                EdgeHit::Crossing
            }
            _ => EdgeHit::Miss,
        };
    }
    // Not straddling: p can still lie on the edge if it touches p's latitude.
    if (a.y == p.y || b.y == p.y)
        && a.x.min(b.x) <= p.x
        && p.x <= a.x.max(b.x)
        && <RobustKernel as Kernel<f64>>::orient2d(a, b, p) == Orientation::Collinear
    {
        return EdgeHit::Boundary;
    }
    EdgeHit::Miss
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
        polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)].into()
    }

    fn circle(cx: f64, cy: f64, r: f64, n: usize) -> MultiPolygon<f64> {
        let pts: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let t = i as f64 / n as f64 * std::f64::consts::TAU;
                (cx + r * t.cos(), cy + r * t.sin())
            })
            .collect();
        Polygon::new(LineString::from(pts), vec![]).into()
    }

    #[test]
    fn locator_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Locator>();
    }

    #[test]
    fn finds_grid_and_deepest_region() {
        let grids = vec![
            ("A".to_string(), rect(0.0, 0.0, 1.0, 1.0)),
            ("B".to_string(), rect(1.0, 0.0, 2.0, 1.0)),
        ];
        let regions = vec![
            ("county".to_string(), 3, rect(-1.0, -1.0, 3.0, 3.0)),
            ("village".to_string(), 5, rect(0.5, 0.0, 1.5, 1.0)),
            ("town".to_string(), 4, rect(0.0, 0.0, 2.0, 2.0)),
        ];
        let loc = Locator::new(grids, regions);
        assert_eq!(loc.grid_count(), 2);
        assert_eq!(loc.region_count(), 3);
        let at = |x, y| {
            let l = loc.locate(x, y);
            (l.grid, l.region)
        };
        let s = |v: &str| Some(v.to_string());
        assert_eq!(at(0.7, 0.5), (s("A"), s("village")));
        assert_eq!(at(1.7, 0.5), (s("B"), s("town")));
        assert_eq!(at(1.7, 1.5), (None, s("town")));
        assert_eq!(at(2.5, 2.5), (None, s("county")));
        assert_eq!(at(5.0, 5.0), (None, None));
        assert_eq!(at(f64::NAN, 0.5), (None, None));
        // Shared edge: the first grid wins, every time.
        assert_eq!(at(1.0, 0.5).0, s("A"));
        // Outer corner and edges count as inside.
        assert_eq!(at(2.0, 1.0).0, s("B"));
        assert_eq!(at(1.5, 0.0).0, s("B"));
    }

    #[test]
    fn holes_and_multipolygons() {
        let mut donut = rect(0.0, 0.0, 10.0, 10.0);
        donut.0[0].interiors_push(vec![(4.0, 4.0), (6.0, 4.0), (6.0, 6.0), (4.0, 6.0)]);
        let mut two = rect(20.0, 0.0, 21.0, 1.0);
        two.0.push(rect(30.0, 0.0, 31.0, 1.0).0.remove(0));
        let loc = Locator::new(
            vec![
                ("donut".into(), donut),
                ("two".into(), two),
                ("core".into(), rect(4.0, 4.0, 6.0, 6.0)),
            ],
            vec![],
        );
        assert_eq!(loc.grid_at(5.0, 5.0), Some("core"));
        assert_eq!(loc.grid_at(4.0, 5.0), Some("donut"));
        assert_eq!(loc.grid_at(2.0, 5.0), Some("donut"));
        assert_eq!(loc.grid_at(30.5, 0.5), Some("two"));
        assert_eq!(loc.grid_at(25.0, 0.5), None);
    }

    #[test]
    fn banded_polygons_agree_with_brute_force() {
        // 500 vertices gets bands; compare against a plain even-odd test.
        let big = circle(120.0, 30.0, 0.5, 500);
        let ring = big.0[0].exterior().0.clone();
        let loc = Locator::new(vec![("c".into(), big)], vec![]);
        let mut checked = 0;
        for i in 0..200 {
            for j in 0..200 {
                let p = Coord {
                    x: 119.45 + i as f64 * 0.0055,
                    y: 29.45 + j as f64 * 0.0055,
                };
                let mut inside = false;
                for w in ring.windows(2) {
                    if let EdgeHit::Crossing = edge_hit(w[0], w[1], p) {
                        inside = !inside;
                    }
                }
                assert_eq!(loc.grid_at(p.x, p.y).is_some(), inside, "{p:?}");
                checked += inside as usize;
            }
        }
        assert!(checked > 20_000, "{checked}");
        // A vertex of the ring is on the boundary.
        assert_eq!(loc.grid_at(ring[7].x, ring[7].y), Some("c"));
    }

    #[test]
    fn cell_index_agrees_with_testing_every_polygon() {
        use rand::{Rng, SeedableRng};
        // Grids of very different sizes (a partition, then one block cut much finer), so cells
        // hold both many small polygons and pieces of large ones; points inside, on shared edges
        // and vertices, and outside the extent.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let square = rect(120.0, 30.0, 121.0, 31.0);
        let w: Vec<f64> = (0..60).map(|_| rng.random_range(0.5..1.5)).collect();
        let mut parts = crate::partition(&square, &w, &mut rng).unwrap();
        let fine = crate::partition(&parts[0], &[1.0; 200], &mut rng).unwrap();
        parts.remove(0);
        parts.extend(fine);
        let grids: Vec<(String, MultiPolygon<f64>)> = parts
            .iter()
            .enumerate()
            .map(|(i, g)| (format!("g{i}"), g.clone()))
            .collect();
        let slots: Vec<Slot> = grids
            .iter()
            .enumerate()
            .flat_map(|(i, (_, g))| g.0.iter().map(move |p| Slot::new(i as u32, p.clone())))
            .collect();
        let loc = Locator::new(grids.clone(), vec![]);
        let brute = |p: Coord<f64>| {
            slots
                .iter()
                .filter(|s| s.contains(p))
                .map(|s| s.owner)
                .min()
                .map(|i| grids[i as usize].0.as_str())
        };
        let mut points: Vec<Coord<f64>> = (0..20_000)
            .map(|_| Coord {
                x: rng.random_range(119.9..121.1),
                y: rng.random_range(29.9..31.1),
            })
            .collect();
        for (_, g) in grids.iter().take(50) {
            points.extend(g.0[0].exterior().0.iter().take(3).copied());
        }
        let mut hits = 0;
        for p in points {
            let got = loc.grid_at(p.x, p.y);
            assert_eq!(got, brute(p), "{p:?}");
            hits += got.is_some() as usize;
        }
        assert!(hits > 13_000, "{hits}");
    }
}
