//! Times the demo-city workload: partition the 5 Huzhou counties into
//! 72 townships, 1,301 villages and about 20,000 grids, then build a
//! `Locator` and measure lookups. Run in debug and with `--release`:
//! `cargo run -p safegrid-geo --example demo_timing [--release] [-- grids.geojson]`;
//! with a path, the grids are also written there as GeoJSON for viewing.

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safegrid_geo::geo::{MultiPolygon, polygon};
use safegrid_geo::{Crs, Locator, parse_feature_collection, partition};

/// Splits `total` items into `n` counts that differ by at most one.
fn spread(total: usize, n: usize) -> Vec<usize> {
    (0..n)
        .map(|i| total / n + usize::from(i < total % n))
        .collect()
}

fn weights(n: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(0.6..1.6)).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/huzhou/counties_tianditu.geojson"
    );
    let text = std::fs::read_to_string(path)?;
    let counties = parse_feature_collection(&text, "gb", "name", Crs::Wgs84)?;
    let mut rng = ChaCha8Rng::seed_from_u64(1);

    let started = Instant::now();
    let towns_per_county = spread(72, counties.len());
    let villages_per_town = spread(1301, 72);
    let mut regions: Vec<(String, u8, MultiPolygon<f64>)> = Vec::new();
    let mut grids: Vec<(String, MultiPolygon<f64>)> = Vec::new();
    let mut town_no = 0;
    for (county, &n_towns) in counties.iter().zip(&towns_per_county) {
        regions.push((county.code.clone(), 3, county.geometry.clone()));
        let towns = partition(&county.geometry, &weights(n_towns, &mut rng), &mut rng)?;
        for (t, town) in towns.into_iter().enumerate() {
            let town_code = format!("{}{:03}", county.code, t + 1);
            let n_villages = villages_per_town[town_no];
            town_no += 1;
            let villages = partition(&town, &weights(n_villages, &mut rng), &mut rng)?;
            regions.push((town_code.clone(), 4, town));
            for (v, village) in villages.into_iter().enumerate() {
                let village_code = format!("{town_code}{:03}", v + 1);
                let n_grids = rng.random_range(12..=19);
                let parts = partition(&village, &weights(n_grids, &mut rng), &mut rng)?;
                regions.push((village_code.clone(), 5, village));
                for (g, grid) in parts.into_iter().enumerate() {
                    grids.push((format!("{village_code}{:03}", g + 1), grid));
                }
            }
        }
    }
    let partition_time = started.elapsed();
    println!(
        "partition: {} regions, {} grids in {:.2?}",
        regions.len(),
        grids.len(),
        partition_time
    );

    if let Some(out) = std::env::args().nth(1) {
        let features: Vec<serde_json::Value> = grids
            .iter()
            .map(|(code, g)| {
                serde_json::json!({
                    "type": "Feature",
                    "properties": {"code": code},
                    "geometry": safegrid_geo::to_geojson_geometry(g),
                })
            })
            .collect();
        let fc = serde_json::json!({"type": "FeatureCollection", "features": features});
        std::fs::write(&out, fc.to_string())?;
        println!("wrote {out}");
    }

    let started = Instant::now();
    let locator = Locator::new(grids, regions);
    println!(
        "locator build ({} grids): {:.2?}",
        locator.grid_count(),
        started.elapsed()
    );

    let points: Vec<(f64, f64)> = (0..1_000_000)
        .map(|_| (rng.random_range(119.2..120.6), rng.random_range(30.3..31.2)))
        .collect();
    let started = Instant::now();
    let found = points
        .iter()
        .filter(|p| locator.grid_at(p.0, p.1).is_some())
        .count();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "grid_at: {:.0} lookups/s ({found} hits)",
        points.len() as f64 / secs
    );
    let started = Instant::now();
    let found = points
        .iter()
        .filter(|p| locator.locate(p.0, p.1).region.is_some())
        .count();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "locate (grid + region): {:.0} lookups/s ({found} hits)",
        points.len() as f64 / secs
    );

    // Build time for a large index: 550 × 550 small squares.
    let squares: Vec<(String, MultiPolygon<f64>)> = (0..550 * 550)
        .map(|i| {
            let (x, y) = (119.0 + (i % 550) as f64 * 0.002, 30.0 + (i / 550) as f64 * 0.002);
            let p = polygon![(x: x, y: y), (x: x + 0.002, y: y), (x: x + 0.002, y: y + 0.002), (x: x, y: y + 0.002)];
            (i.to_string(), p.into())
        })
        .collect();
    let started = Instant::now();
    let big = Locator::new(squares, vec![]);
    println!(
        "locator build ({} polygons): {:.2?}",
        big.grid_count(),
        started.elapsed()
    );
    Ok(())
}
