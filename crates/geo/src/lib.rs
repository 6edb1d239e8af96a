//! Geometry for safegrid, the grid-based community governance platform:
//!
//! - [`crs`]: WGS84 ⇄ GCJ-02 conversion for data from Chinese web maps;
//! - [`validate`] and [`features`]: parsing and checking GeoJSON grid
//!   polygons for import, reporting every problem at once;
//! - [`measure`]: geodesic areas and child-within-parent checks;
//! - [`locate`]: fast point → grid / region lookup;
//! - [`partition`](mod@partition): exact, seeded synthetic subdivisions for demo data.
//!
//! Coordinates are (longitude, latitude) in WGS84 degrees unless stated.
#![forbid(unsafe_code)]

pub mod crs;
pub mod features;
pub mod locate;
pub mod measure;
pub mod partition;
mod split;
pub mod validate;

pub use crs::{Crs, UnknownCrs, gcj02_to_wgs84, multipolygon_gcj02_to_wgs84, wgs84_to_gcj02};
pub use features::{
    FeatureError, ImportErrors, ParsedFeature, parse_feature_collection, to_geojson_geometry,
};
pub use locate::{Location, Locator};
pub use measure::{area_m2, within_parent};
pub use partition::{PartitionError, order_west_east_north_south, partition};
pub use validate::{
    FeatureProblem, from_geojson_value, from_stored_geojson, validate_multipolygon,
};

/// Re-exported so callers use the same geometry types as this crate.
pub use geo;
