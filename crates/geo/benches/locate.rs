//! Point → grid location at province scale: a square "province" cut into about 300,000 grids
//! by the same partitioner the demo uses, then lookups at random points. Also the bare
//! point-in-polygon test of one grid. Run: `cargo bench -p safegrid-geo`.

use criterion::{Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safegrid_geo::geo::{Contains, MultiPolygon, Point, polygon};
use safegrid_geo::{Locator, partition};
use std::hint::black_box;

/// 4 × 4 degrees cut into `blocks` × ~`per_block` grids (two levels, as villages then grids).
fn province(blocks: usize, per_block: usize) -> Vec<(String, MultiPolygon<f64>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let square = MultiPolygon::new(vec![polygon![
        (x: 118.0, y: 27.0), (x: 122.0, y: 27.0), (x: 122.0, y: 31.0), (x: 118.0, y: 31.0), (x: 118.0, y: 27.0)
    ]]);
    let w: Vec<f64> = (0..blocks).map(|_| rng.random_range(0.7..1.3)).collect();
    let mut grids = vec![];
    for (b, block) in partition(&square, &w, &mut rng)
        .expect("blocks")
        .into_iter()
        .enumerate()
    {
        let w: Vec<f64> = (0..per_block).map(|_| rng.random_range(0.7..1.3)).collect();
        for (g, grid) in partition(&block, &w, &mut rng)
            .expect("grids")
            .into_iter()
            .enumerate()
        {
            grids.push((format!("{b:06}{g:03}"), grid));
        }
    }
    grids
}

fn lookups(c: &mut Criterion) {
    let grids = province(25_000, 12);
    let first = grids[0].1.clone();
    let locator = Locator::new(grids, vec![]);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let points: Vec<(f64, f64)> = (0..100_000)
        .map(|_| (rng.random_range(118.0..122.0), rng.random_range(27.0..31.0)))
        .collect();
    let mut i = 0;
    c.bench_function(
        &format!("locate: point → grid among {} grids", locator.grid_count()),
        |b| {
            b.iter(|| {
                i = (i + 1) % points.len();
                let (x, y) = points[i];
                black_box(locator.grid_at(black_box(x), black_box(y)))
            })
        },
    );
    let p = Point::new(118.01, 27.01);
    c.bench_function("point in polygon: one grid (geo::Contains)", |b| {
        b.iter(|| black_box(first.contains(black_box(&p))))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = lookups
}
criterion_main!(benches);
