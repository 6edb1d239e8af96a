//! End-to-end check on real county boundaries of Huzhou: import, nested
//! synthetic partition, and point location agree with each other.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safegrid_geo::geo::{Area, MultiPolygon};
use safegrid_geo::{Crs, Locator, parse_feature_collection, partition, validate_multipolygon};

fn counties() -> Vec<(String, MultiPolygon<f64>)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/huzhou/counties_tianditu.geojson"
    );
    let text = std::fs::read_to_string(path).expect("test data is part of the repository");
    parse_feature_collection(&text, "gb", "name", Crs::Wgs84)
        .expect("county file is valid")
        .into_iter()
        .map(|f| (f.code.trim_start_matches("156").to_string(), f.geometry))
        .collect()
}

#[test]
fn known_point_is_in_wuxing() {
    let counties = counties();
    assert_eq!(counties.len(), 5);
    let regions = counties.into_iter().map(|(c, g)| (c, 3, g)).collect();
    let loc = Locator::new(vec![], regions);
    assert_eq!(loc.region_at(120.02352, 30.78412), Some("330502"));
}

#[test]
fn nested_partition_locates_consistently() {
    let counties = counties();
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let mut grids = Vec::new();
    for (code, shape) in &counties {
        let w: Vec<f64> = (0..15).map(|_| rng.random_range(0.5..2.0)).collect();
        let towns = partition(shape, &w, &mut rng).unwrap();
        let mut leaf_area = 0.0;
        for (t, town) in towns.iter().enumerate() {
            let w: Vec<f64> = (0..20).map(|_| rng.random_range(0.5..2.0)).collect();
            for (g, grid) in partition(town, &w, &mut rng)
                .unwrap()
                .into_iter()
                .enumerate()
            {
                validate_multipolygon(&grid).unwrap();
                leaf_area += grid.unsigned_area();
                grids.push((format!("{code}-{t:02}-{g:02}"), grid));
            }
        }
        let rel = (leaf_area - shape.unsigned_area()).abs() / shape.unsigned_area();
        assert!(
            rel < 1e-9,
            "county {code}: leaves cover {rel} too much or little"
        );
    }
    assert_eq!(grids.len(), 5 * 15 * 20);
    let regions = counties
        .iter()
        .map(|(c, g)| (c.clone(), 3, g.clone()))
        .collect();
    let loc = Locator::new(grids, regions);
    let mut inside = 0;
    for _ in 0..20_000 {
        let (lon, lat) = (rng.random_range(119.2..120.6), rng.random_range(30.3..31.2));
        let l = loc.locate(lon, lat);
        match (&l.region, &l.grid) {
            (Some(county), Some(grid)) => {
                assert!(grid.starts_with(county.as_str()), "{lon},{lat}: {l:?}");
                inside += 1;
            }
            (None, None) => {}
            _ => panic!("grid and county disagree at {lon},{lat}: {l:?}"),
        }
    }
    assert!(inside > 8_000, "{inside}");
}
