//! Import of grid polygons from a GeoJSON FeatureCollection: every feature
//! is checked and all problems are reported together, so that the people
//! preparing the file can fix it in one pass.

use std::collections::HashMap;
use std::fmt;

use geo::MultiPolygon;
use serde_json::{Map, Value};

use crate::crs::{Crs, multipolygon_gcj02_to_wgs84};
use crate::validate::{FeatureProblem, check_and_build, parse_raw};

/// One valid feature of an import file, with its geometry in WGS84.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFeature {
    /// Position of the feature in the file's `features` array (from 0).
    pub index: usize,
    /// The code property as text (JSON numbers are written as in the file).
    pub code: String,
    /// The name property as text.
    pub name: String,
    /// Validated geometry, exteriors counter-clockwise, in WGS84.
    pub geometry: MultiPolygon<f64>,
    /// All properties of the feature, including code and name.
    pub properties: Map<String, Value>,
}

/// A problem with one feature. A feature can have several (for example a
/// missing name and an open ring); each is reported separately.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("feature {index}{}: {reason}", code_suffix(.code))]
pub struct FeatureError {
    /// Position of the feature in the file's `features` array (from 0).
    pub index: usize,
    /// The feature's code, when it could be read.
    pub code: Option<String>,
    /// What is wrong.
    pub reason: FeatureProblem,
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_ref()
        .map(|c| format!(" (code {c})"))
        .unwrap_or_default()
}

/// Why an import file was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportErrors {
    /// The text is not JSON at all; holds the parser's message.
    #[error("the file is not valid JSON: {0}")]
    NotJson(String),
    /// The JSON is not a GeoJSON FeatureCollection; holds what was found.
    #[error("the file is not a GeoJSON FeatureCollection ({0})")]
    NotFeatureCollection(String),
    /// Some features are invalid; lists every problem, ordered by feature.
    #[error("{}", FeatureList(.0))]
    Features(Vec<FeatureError>),
}

/// Display helper summarising a list of feature errors.
struct FeatureList<'a>(&'a [FeatureError]);

impl fmt::Display for FeatureList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let features: std::collections::BTreeSet<usize> = self.0.iter().map(|e| e.index).collect();
        write!(
            f,
            "{} problem(s) in {} feature(s)",
            self.0.len(),
            features.len()
        )?;
        for e in self.0.iter().take(5) {
            write!(f, "; {e}")?;
        }
        if self.0.len() > 5 {
            write!(f, "; …")?;
        }
        Ok(())
    }
}

/// Parses and validates a FeatureCollection of grid polygons.
///
/// `code_property` and `name_property` name the properties holding each
/// grid's code and name (a JSON string or number). Geometries must be
/// Polygon or MultiPolygon; input in `Crs::Gcj02` is converted to WGS84
/// after validation. Either every feature is valid and all are returned, or
/// every problem of every feature is returned.
pub fn parse_feature_collection(
    text: &str,
    code_property: &str,
    name_property: &str,
    crs: Crs,
) -> Result<Vec<ParsedFeature>, ImportErrors> {
    let root: Value =
        serde_json::from_str(text).map_err(|e| ImportErrors::NotJson(e.to_string()))?;
    let features = feature_array(&root)?;

    let mut parsed = Vec::with_capacity(features.len());
    let mut errors = Vec::new();
    let mut first_use: HashMap<String, usize> = HashMap::new();

    for (index, feature) in features.iter().enumerate() {
        let mut problems = Vec::new();
        let Some(obj) = feature
            .as_object()
            .filter(|o| o.get("type").and_then(Value::as_str) == Some("Feature"))
        else {
            errors.push(FeatureError {
                index,
                code: None,
                reason: FeatureProblem::NotFeature,
            });
            continue;
        };
        let properties = match obj.get("properties") {
            Some(Value::Object(p)) => p.clone(),
            _ => Map::new(),
        };
        let code = text_property(&properties, code_property);
        let name = text_property(&properties, name_property);
        if code.is_none() {
            problems.push(FeatureProblem::MissingProperty(code_property.to_string()));
        }
        if name.is_none() {
            problems.push(FeatureProblem::MissingProperty(name_property.to_string()));
        }
        if let Some(c) = &code {
            // The first holder of a code keeps it even if it is invalid
            // otherwise, so every later copy is reported consistently.
            if let Some(&first) = first_use.get(c) {
                problems.push(FeatureProblem::DuplicateCode(first));
            } else {
                first_use.insert(c.clone(), index);
            }
        }
        let geometry = obj.get("geometry").unwrap_or(&Value::Null);
        let geometry = parse_raw(geometry).and_then(check_and_build);
        match (geometry, code, name, problems.is_empty()) {
            (Ok(geometry), Some(code), Some(name), true) => {
                let geometry = match crs {
                    Crs::Wgs84 => geometry,
                    Crs::Gcj02 => multipolygon_gcj02_to_wgs84(&geometry),
                };
                parsed.push(ParsedFeature {
                    index,
                    code,
                    name,
                    geometry,
                    properties,
                });
            }
            (geometry, code, _, _) => {
                if let Err(p) = geometry {
                    problems.push(p);
                }
                errors.extend(problems.into_iter().map(|reason| FeatureError {
                    index,
                    code: code.clone(),
                    reason,
                }));
            }
        }
    }
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(ImportErrors::Features(errors))
    }
}

/// The `features` array of a FeatureCollection, or why there is none.
fn feature_array(root: &Value) -> Result<&Vec<Value>, ImportErrors> {
    let Value::Object(obj) = root else {
        return Err(ImportErrors::NotFeatureCollection(
            "the top level is not an object".to_string(),
        ));
    };
    match obj.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => {}
        Some(other) => {
            return Err(ImportErrors::NotFeatureCollection(format!(
                "its type is {other}"
            )));
        }
        None => {
            return Err(ImportErrors::NotFeatureCollection(
                "it has no \"type\"".to_string(),
            ));
        }
    }
    obj.get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| ImportErrors::NotFeatureCollection("it has no \"features\" array".into()))
}

/// A string or number property as trimmed text; `None` when missing or blank.
fn text_property(props: &Map<String, Value>, key: &str) -> Option<String> {
    let text = match props.get(key)? {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// Converts a geometry to a GeoJSON MultiPolygon geometry object.
pub fn to_geojson_geometry(mp: &MultiPolygon<f64>) -> geojson::Geometry {
    geojson::Geometry::new(geojson::GeometryValue::from(mp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn square(x: f64, y: f64) -> Value {
        json!({"type": "Polygon", "coordinates": [[
            [x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y + 0.01], [x, y]
        ]]})
    }

    fn feature(code: Value, name: Value, geometry: Value) -> Value {
        json!({"type": "Feature", "properties": {"code": code, "name": name, "extra": 1}, "geometry": geometry})
    }

    fn collection(features: Vec<Value>) -> String {
        json!({"type": "FeatureCollection", "features": features}).to_string()
    }

    #[test]
    fn parses_valid_collection() {
        let text = collection(vec![
            feature(json!("330502001001"), json!("一网格"), square(120.0, 30.8)),
            feature(
                json!(330502001002u64),
                json!(" 二网格 "),
                square(120.01, 30.8),
            ),
        ]);
        let out = parse_feature_collection(&text, "code", "name", Crs::Wgs84).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].code, "330502001002");
        assert_eq!(out[1].name, "二网格");
        assert_eq!(out[1].index, 1);
        assert_eq!(out[0].properties.get("extra"), Some(&json!(1)));
        assert_eq!(out[0].geometry.0[0].exterior().0[0].x, 120.0);
    }

    #[test]
    fn gcj02_input_is_converted_after_validation() {
        let text = collection(vec![feature(json!("a"), json!("b"), square(120.0, 30.8))]);
        let out = parse_feature_collection(&text, "code", "name", Crs::Gcj02).unwrap();
        let c = out[0].geometry.0[0].exterior().0[0];
        assert_eq!((c.x, c.y), crate::crs::gcj02_to_wgs84(120.0, 30.8));
    }

    #[test]
    fn reports_every_bad_feature() {
        let open = json!({"type": "Polygon", "coordinates": [[[120,30],[120.1,30],[120.1,30.1],[120,30.1]]]});
        let bow = json!({"type": "Polygon", "coordinates": [[[0,0],[1,1],[1,0],[0,1],[0,0]]]});
        let text = collection(vec![
            feature(json!("A"), json!("ok"), square(120.0, 30.8)),
            feature(Value::Null, json!("no code"), square(120.1, 30.8)),
            feature(json!("B"), json!("open"), open),
            feature(json!("A"), json!([1]), bow),
            json!(42),
            feature(
                json!("C"),
                json!("line"),
                json!({"type": "LineString", "coordinates": [[0,0],[1,1]]}),
            ),
            json!({"type": "Feature", "properties": {"code": "D", "name": "n"}, "geometry": null}),
        ]);
        let Err(ImportErrors::Features(errs)) =
            parse_feature_collection(&text, "code", "name", Crs::Wgs84)
        else {
            panic!("expected feature errors");
        };
        let got: Vec<(usize, Option<&str>, FeatureProblem)> = errs
            .iter()
            .map(|e| (e.index, e.code.as_deref(), e.reason.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, None, FeatureProblem::MissingProperty("code".into())),
                (2, Some("B"), FeatureProblem::OpenRing { ring: 0 }),
                (3, Some("A"), FeatureProblem::MissingProperty("name".into())),
                (3, Some("A"), FeatureProblem::DuplicateCode(0)),
                (3, Some("A"), FeatureProblem::SelfIntersection),
                (4, None, FeatureProblem::NotFeature),
                (
                    5,
                    Some("C"),
                    FeatureProblem::NotPolygon("LineString".into())
                ),
                (6, Some("D"), FeatureProblem::Empty),
            ]
        );
        let msg = ImportErrors::Features(errs).to_string();
        assert!(msg.starts_with("8 problem(s) in 6 feature(s)"), "{msg}");
    }

    #[test]
    fn whole_file_errors() {
        assert!(matches!(
            parse_feature_collection("{not json", "c", "n", Crs::Wgs84),
            Err(ImportErrors::NotJson(_))
        ));
        assert!(matches!(
            parse_feature_collection(r#"{"type":"Feature"}"#, "c", "n", Crs::Wgs84),
            Err(ImportErrors::NotFeatureCollection(_))
        ));
        assert!(matches!(
            parse_feature_collection(r#"[1,2]"#, "c", "n", Crs::Wgs84),
            Err(ImportErrors::NotFeatureCollection(_))
        ));
        assert!(matches!(
            parse_feature_collection(r#"{"type":"FeatureCollection"}"#, "c", "n", Crs::Wgs84),
            Err(ImportErrors::NotFeatureCollection(_))
        ));
        let empty = parse_feature_collection(
            r#"{"type":"FeatureCollection","features":[]}"#,
            "c",
            "n",
            Crs::Wgs84,
        );
        assert_eq!(empty, Ok(vec![]));
    }

    #[test]
    fn geometry_round_trips_through_geojson() {
        let mp = crate::from_geojson_value(&square(120.0, 30.0)).unwrap();
        let g = to_geojson_geometry(&mp);
        let v = serde_json::to_value(&g).unwrap();
        assert_eq!(v["type"], "MultiPolygon");
        assert_eq!(crate::from_geojson_value(&v).unwrap(), mp);
    }
}
