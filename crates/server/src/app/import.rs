//! Imports of territory and calendar, shared by the CLI and the admin API. Every problem of a
//! file is reported (line or feature index, field, reason) and nothing of a failed import is written.

use crate::app::state::AppState;
use safegrid_domain::calendar::{CalendarEntry, DayKind, parse_calendar_csv};
use safegrid_domain::codes::{GridCode, RegionCode};
use safegrid_geo::{
    Crs, ImportErrors, area_m2, parse_feature_collection, to_geojson_geometry, within_parent,
};
use safegrid_store::{Grid, Region};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// One problem of an import file.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// 1-based CSV line, or 0-based GeoJSON feature index.
    pub at: usize,
    pub field: String,
    pub reason: String,
}

/// A refused import: what was wrong, everything at once.
#[derive(Debug, Clone, Serialize)]
pub struct ImportFailure {
    pub what: &'static str,
    pub problems: Vec<Problem>,
}

impl std::fmt::Display for ImportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} import refused, nothing written ({} problems):",
            self.what,
            self.problems.len()
        )?;
        let unit = if self.what == "grids" {
            "feature"
        } else {
            "line"
        };
        for p in self.problems.iter().take(50) {
            writeln!(f, "  {unit} {}: {}: {}", p.at, p.field, p.reason)?;
        }
        if self.problems.len() > 50 {
            writeln!(f, "  … and {} more", self.problems.len() - 50)?;
        }
        Ok(())
    }
}

#[derive(Debug)]
pub enum ImportError {
    Refused(ImportFailure),
    Internal(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for ImportError {
    fn from(e: E) -> Self {
        ImportError::Internal(e.into())
    }
}

fn refused(what: &'static str, problems: Vec<Problem>) -> ImportError {
    ImportError::Refused(ImportFailure { what, problems })
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub what: &'static str,
    pub imported: usize,
}

/// Parses an NBS-layout division CSV (`code,name,…` header; parent taken from the code).
pub fn parse_divisions(bytes: &[u8]) -> Result<Vec<Region>, ImportError> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = match rdr.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(refused(
                "divisions",
                vec![Problem {
                    at: 1,
                    field: "header".into(),
                    reason: e.to_string(),
                }],
            ));
        }
    };
    let col = |n: &str| {
        headers
            .iter()
            .position(|h| h.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(h) == n.as_bytes())
    };
    let (Some(ci), Some(ni)) = (col("code"), col("name")) else {
        return Err(refused(
            "divisions",
            vec![Problem {
                at: 1,
                field: "header".into(),
                reason: "must have the columns code and name (the NBS layout: code,name,…)".into(),
            }],
        ));
    };
    let mut problems = vec![];
    let mut out = vec![];
    let mut seen = HashSet::new();
    for (i, rec) in rdr.byte_records().enumerate() {
        let line = i + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                problems.push(Problem {
                    at: line,
                    field: "row".into(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let code = match std::str::from_utf8(rec.get(ci).unwrap_or(b"")) {
            Ok(s) => s.trim().to_string(),
            Err(_) => {
                problems.push(Problem {
                    at: line,
                    field: "code".into(),
                    reason: "is not valid UTF-8".into(),
                });
                continue;
            }
        };
        let name = match std::str::from_utf8(rec.get(ni).unwrap_or(b"")) {
            Ok(s) => s.trim().to_string(),
            Err(_) => {
                problems.push(Problem {
                    at: line,
                    field: "name".into(),
                    reason: "is not valid UTF-8".into(),
                });
                continue;
            }
        };
        let rc = match RegionCode::parse(&code) {
            Ok(r) => r,
            Err(e) => {
                problems.push(Problem {
                    at: line,
                    field: "code".into(),
                    reason: e.reason,
                });
                continue;
            }
        };
        if name.is_empty() || name.chars().count() > 100 {
            problems.push(Problem {
                at: line,
                field: "name".into(),
                reason: "must be 1 to 100 characters".into(),
            });
            continue;
        }
        if name.contains('\0') {
            problems.push(Problem {
                at: line,
                field: "name".into(),
                reason: crate::app::input::NUL_REASON.into(),
            });
            continue;
        }
        if !seen.insert(rc.as_str().to_string()) {
            problems.push(Problem {
                at: line,
                field: "code".into(),
                reason: format!("{} appears twice", rc.as_str()),
            });
            continue;
        }
        out.push((
            line,
            Region {
                code: rc.as_str().to_string(),
                parent_code: rc.parent().map(|p| p.as_str().to_string()),
                level: rc.level().as_u8() as i16,
                name,
                geometry: None,
            },
        ));
    }
    if !problems.is_empty() {
        return Err(refused("divisions", problems));
    }
    out.sort_by_key(|(_, r)| (r.level, r.code.clone()));
    Ok(out.into_iter().map(|(_, r)| r).collect())
}

impl AppState {
    /// Imports divisions: all rows or none. Parents must be in the file or already stored.
    pub async fn import_divisions(&self, bytes: &[u8]) -> Result<ImportReport, ImportError> {
        let regions = parse_divisions(bytes)?;
        let known: HashSet<String> = self
            .store
            .regions(None, None, false)
            .await?
            .into_iter()
            .map(|r| r.code)
            .collect();
        let in_file: HashSet<&str> = regions.iter().map(|r| r.code.as_str()).collect();
        let problems: Vec<Problem> = regions
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let p = r.parent_code.as_deref()?;
                (!in_file.contains(p) && !known.contains(p)).then(|| Problem {
                    at: i + 2,
                    field: "code".into(),
                    reason: format!(
                        "{}: parent region {p} is neither in the file nor stored",
                        r.code
                    ),
                })
            })
            .collect();
        if !problems.is_empty() {
            return Err(refused("divisions", problems));
        }
        let n = self.store.upsert_regions(&regions).await?;
        self.reload_territory().await?;
        Ok(ImportReport {
            what: "divisions",
            imported: n,
        })
    }

    /// Imports grids from a GeoJSON FeatureCollection: all features or none.
    pub async fn import_grids(
        &self,
        text: &str,
        crs: Crs,
        code_property: &str,
        name_property: &str,
    ) -> Result<ImportReport, ImportError> {
        let feats = match parse_feature_collection(text, code_property, name_property, crs) {
            Ok(f) => f,
            Err(ImportErrors::Features(errs)) => {
                let problems = errs
                    .into_iter()
                    .map(|e| Problem {
                        at: e.index,
                        field: format!("features[{}]", e.index),
                        reason: e.reason.to_string(),
                    })
                    .collect();
                return Err(refused("grids", problems));
            }
            Err(e) => {
                return Err(refused(
                    "grids",
                    vec![Problem {
                        at: 0,
                        field: "body".into(),
                        reason: e.to_string(),
                    }],
                ));
            }
        };
        let villages: HashMap<String, Option<String>> = self
            .store
            .regions(None, Some(5), true)
            .await?
            .into_iter()
            .map(|r| (r.code, r.geometry))
            .collect();
        let mut problems = vec![];
        let mut grids = vec![];
        for f in feats {
            if f.name.contains('\0') {
                problems.push(Problem {
                    at: f.index,
                    field: format!("features[{}].properties.{name_property}", f.index),
                    reason: crate::app::input::NUL_REASON.into(),
                });
                continue;
            }
            let field = format!("features[{}].properties.{code_property}", f.index);
            let code = match GridCode::parse(&f.code) {
                Ok(c) => c,
                Err(e) => {
                    problems.push(Problem {
                        at: f.index,
                        field,
                        reason: e.reason,
                    });
                    continue;
                }
            };
            let village = code.village();
            let Some(vgeom) = villages.get(village.as_str()) else {
                problems.push(Problem {
                    at: f.index,
                    field,
                    reason: format!(
                        "its village {} is not among the stored divisions",
                        village.as_str()
                    ),
                });
                continue;
            };
            if let Some(vg) = vgeom.as_deref().and_then(|g| serde_json::from_str(g).ok())
                && let Ok(parent) = safegrid_geo::from_geojson_value(&vg)
                && !within_parent(&f.geometry, &parent, 0.05)
            {
                problems.push(Problem {
                    at: f.index,
                    field: format!("features[{}].geometry", f.index),
                    reason: format!("lies outside its parent village {}", village.as_str()),
                });
                continue;
            }
            let households = f
                .properties
                .get("households")
                .and_then(|v| v.as_i64())
                .unwrap_or(0);
            grids.push(Grid {
                county_code: code.county().to_string(),
                code: code.as_str().to_string(),
                village_code: village.as_str().to_string(),
                name: f.name.clone(),
                geometry: serde_json::to_string(&to_geojson_geometry(&f.geometry))?,
                households,
                area_m2: area_m2(&f.geometry),
            });
        }
        if !problems.is_empty() {
            return Err(refused("grids", problems));
        }
        let n = self.store.upsert_grids(&grids).await?;
        self.reload_territory().await?;
        Ok(ImportReport {
            what: "grids",
            imported: n,
        })
    }

    /// Loads official calendar years (a year present in the file replaces that year whole).
    pub async fn import_calendar(&self, bytes: &[u8]) -> Result<ImportReport, ImportError> {
        let entries = parse_calendar_csv(bytes).map_err(|e| {
            refused(
                "calendar",
                vec![Problem {
                    at: e.line,
                    field: e.field.clone(),
                    reason: e.reason.clone(),
                }],
            )
        })?;
        let rows: Vec<(String, String, String, String)> = entries.iter().map(day_row).collect();
        if self.store.calendar_days().await?.is_empty() {
            // First load: keep the built-in years too, so loading 2027 does not lose 2004–2026.
            let builtin = safegrid_domain::calendar::WorkCalendar::builtin();
            let mut base: Vec<(String, String, String, String)> = builtin
                .entries()
                .iter()
                .filter(|b| !rows.iter().any(|r| r.0[..4] == b.date.to_string()[..4]))
                .map(day_row)
                .collect();
            base.extend(rows.iter().cloned());
            self.store.replace_calendar(&base).await?;
        } else {
            self.store.replace_calendar(&rows).await?;
        }
        self.reload_calendar().await?;
        Ok(ImportReport {
            what: "calendar",
            imported: rows.len(),
        })
    }
}

/// A calendar entry as a stored row (date, kind, name_zh, name_en).
fn day_row(e: &CalendarEntry) -> (String, String, String, String) {
    let kind = match e.kind {
        DayKind::Workday => "workday",
        DayKind::Holiday => "holiday",
    };
    (
        e.date.to_string(),
        kind.to_string(),
        e.name_zh.clone(),
        e.name_en.clone(),
    )
}
