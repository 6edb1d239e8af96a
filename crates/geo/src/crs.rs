//! Coordinate reference systems: WGS84 and the GCJ-02 obfuscation used by
//! Chinese web maps (AMap/Gaode, Tencent), with the forward transform and an
//! iterative inverse.

use std::fmt;
use std::str::FromStr;

use geo::{MapCoords, MultiPolygon};

/// Semi-major axis of the Krasovsky 1940 ellipsoid, which the published
/// GCJ-02 formula uses.
const KRASOVSKY_A: f64 = 6_378_245.0;
/// First eccentricity squared of the Krasovsky 1940 ellipsoid.
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;

/// Stop the inverse iteration once the correction is below this many degrees
/// (about 1 mm), far below the 0.5 m accuracy we promise.
const INVERSE_TOLERANCE_DEG: f64 = 1e-8;
/// The inverse converges in 3–5 steps in practice; the cap only guards
/// against pathological input.
const INVERSE_MAX_STEPS: usize = 30;

/// A coordinate reference system accepted for imported geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Crs {
    /// Plain WGS84 longitude/latitude (also fine for CGCS2000/Tianditu data,
    /// which differs from WGS84 by centimetres).
    #[default]
    Wgs84,
    /// GCJ-02 ("Mars coordinates") as produced by AMap/Gaode or Tencent maps.
    Gcj02,
}

impl Crs {
    /// The lower-case name accepted by [`FromStr`].
    pub fn as_str(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error returned when parsing an unknown CRS name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown coordinate reference system \"{0}\"; accepted values are: wgs84, gcj02")]
pub struct UnknownCrs(pub String);

impl FromStr for Crs {
    type Err = UnknownCrs;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        if trimmed.eq_ignore_ascii_case("wgs84") {
            Ok(Crs::Wgs84)
        } else if trimmed.eq_ignore_ascii_case("gcj02") {
            Ok(Crs::Gcj02)
        } else {
            Err(UnknownCrs(s.to_string()))
        }
    }
}

/// Whether the GCJ-02 offset applies at this point. The obfuscation is only
/// defined for mainland China; everywhere else it is the identity. The box
/// is the conventional rough one used by the public implementations.
fn outside_china(lon: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

/// Polynomial-plus-sines latitude term of the GCJ-02 offset (in the
/// formula's pseudo-metre units), evaluated relative to (105E, 35N).
fn offset_lat_term(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

/// Longitude counterpart of [`offset_lat_term`].
fn offset_lon_term(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// The GCJ-02 offset (dlon, dlat) in degrees at a WGS84 point inside China.
fn gcj02_offset(lon: f64, lat: f64) -> (f64, f64) {
    use std::f64::consts::PI;
    let x = lon - 105.0;
    let y = lat - 35.0;
    let rad_lat = lat.to_radians();
    let sin_lat = rad_lat.sin();
    let magic = 1.0 - KRASOVSKY_EE * sin_lat * sin_lat;
    let sqrt_magic = magic.sqrt();
    // Convert the pseudo-metre terms to degrees using the meridional and
    // prime-vertical radii of curvature of the Krasovsky ellipsoid.
    let dlat = offset_lat_term(x, y) * 180.0
        / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let dlon = offset_lon_term(x, y) * 180.0 / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    (dlon, dlat)
}

/// Converts a WGS84 (lon, lat) to GCJ-02. Points outside China and
/// non-finite input are returned unchanged.
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if !lon.is_finite() || !lat.is_finite() || outside_china(lon, lat) {
        return (lon, lat);
    }
    let (dlon, dlat) = gcj02_offset(lon, lat);
    (lon + dlon, lat + dlat)
}

/// Converts a GCJ-02 (lon, lat) back to WGS84.
///
/// GCJ-02 has no closed-form inverse; we use fixed-point iteration
/// `w ← w − (forward(w) − g)`, which converges quickly because the offset
/// varies slowly (the residual error is around a millimetre). Points outside
/// China and non-finite input are returned unchanged.
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if !lon.is_finite() || !lat.is_finite() || outside_china(lon, lat) {
        return (lon, lat);
    }
    let (mut w_lon, mut w_lat) = (lon, lat);
    for _ in 0..INVERSE_MAX_STEPS {
        let (g_lon, g_lat) = wgs84_to_gcj02(w_lon, w_lat);
        let (e_lon, e_lat) = (g_lon - lon, g_lat - lat);
        w_lon -= e_lon;
        w_lat -= e_lat;
        if e_lon.abs() < INVERSE_TOLERANCE_DEG && e_lat.abs() < INVERSE_TOLERANCE_DEG {
            break;
        }
    }
    (w_lon, w_lat)
}

/// Converts every coordinate of a GCJ-02 multipolygon to WGS84.
pub fn multipolygon_gcj02_to_wgs84(mp: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    mp.map_coords(|c| {
        let (x, y) = gcj02_to_wgs84(c.x, c.y);
        geo::Coord { x, y }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    /// Great-circle distance in metres, good enough to check sub-metre errors.
    fn dist_m(a: (f64, f64), b: (f64, f64)) -> f64 {
        let r = 6_371_008.8;
        let (la1, la2) = (a.1.to_radians(), b.1.to_radians());
        let dla = la2 - la1;
        let dlo = (b.0 - a.0).to_radians();
        let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
        2.0 * r * h.sqrt().asin()
    }

    const CITIES: [(f64, f64); 6] = [
        (116.397, 39.909),   // Beijing
        (121.4737, 31.2304), // Shanghai
        (120.0868, 30.8931), // Huzhou
        (113.2644, 23.1291), // Guangzhou
        (87.6168, 43.8256),  // Urumqi
        (126.642, 45.756),   // Harbin
    ];

    #[test]
    fn round_trip_within_half_a_metre() {
        for &(lon, lat) in &CITIES {
            let g = wgs84_to_gcj02(lon, lat);
            let back = gcj02_to_wgs84(g.0, g.1);
            assert!(
                dist_m((lon, lat), back) < 0.5,
                "wgs->gcj->wgs at {lon},{lat}"
            );
            // Also start from a GCJ-02 point, as imported data does.
            let w = gcj02_to_wgs84(lon, lat);
            let again = wgs84_to_gcj02(w.0, w.1);
            assert!(
                dist_m((lon, lat), again) < 0.5,
                "gcj->wgs->gcj at {lon},{lat}"
            );
        }
    }

    #[test]
    fn huzhou_offset_is_several_hundred_metres() {
        let w = (120.09, 30.89);
        let g = wgs84_to_gcj02(w.0, w.1);
        let d = dist_m(w, g);
        assert!((200.0..900.0).contains(&d), "offset {d} m");
        // The offset near Huzhou is to the east and south.
        assert!(g.0 > w.0 && g.1 < w.1, "{g:?}");
    }

    #[test]
    fn outside_china_is_unchanged() {
        for &(lon, lat) in &[(2.35, 48.85), (-74.0, 40.7), (139.7, 35.7), (150.0, -33.9)] {
            assert_eq!(wgs84_to_gcj02(lon, lat), (lon, lat));
            assert_eq!(gcj02_to_wgs84(lon, lat), (lon, lat));
        }
        let nan = gcj02_to_wgs84(f64::NAN, 30.0);
        assert!(nan.0.is_nan() && nan.1 == 30.0);
    }

    #[test]
    fn crs_parses_case_insensitively() {
        assert_eq!("WGS84".parse::<Crs>(), Ok(Crs::Wgs84));
        assert_eq!(" gcj02 ".parse::<Crs>(), Ok(Crs::Gcj02));
        assert_eq!("Gcj02".parse::<Crs>(), Ok(Crs::Gcj02));
        let err = "bd09".parse::<Crs>().unwrap_err().to_string();
        assert!(err.contains("wgs84") && err.contains("gcj02") && err.contains("bd09"));
        assert_eq!(Crs::Gcj02.to_string(), "gcj02");
    }

    #[test]
    fn multipolygon_conversion_moves_every_vertex() {
        let mp: MultiPolygon<f64> = polygon![
            (x: 120.0, y: 30.8), (x: 120.1, y: 30.8), (x: 120.1, y: 30.9), (x: 120.0, y: 30.8)
        ]
        .into();
        let w = multipolygon_gcj02_to_wgs84(&mp);
        for (a, b) in mp.0[0].exterior().0.iter().zip(&w.0[0].exterior().0) {
            assert_eq!((b.x, b.y), gcj02_to_wgs84(a.x, a.y));
        }
    }
}
