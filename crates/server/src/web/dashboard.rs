//! The leaders' dashboard (领导驾驶舱) for a territory: KPI tiles (GB/T 30428.4 rates), a monthly
//! trend, rankings of child regions and departments, and a map of the child regions (or grids of a
//! village) coloured by a chosen measure, with drill-down from city to grid. Figures come from the
//! KPI counters (`Store::kpi`, the same as `/api/v1/stats/kpi`), never from scanning cases.

use super::ctx::{Ctx, WebError, WebQuery, respond};
use super::geo::{feature, pixel_degrees, shapes};
use crate::app::state::SharedState;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use chrono::{Datelike, Duration, NaiveDate, Utc};
use safegrid_domain::Role;
use safegrid_domain::codes::RegionCode;
use safegrid_domain::kpi::Counters;
use safegrid_store::kpi_day;
use serde::Deserialize;
use serde_json::json;

/// The measures a map or ranking can be coloured by.
pub const MEASURES: [&str; 6] = [
    "score",
    "close_rate",
    "on_time_close_rate",
    "handling_rate",
    "rework_rate",
    "satisfaction_rate",
];

fn measure_value(st: &SharedState, c: &Counters, m: &str) -> Option<f64> {
    let r = c.rates();
    match m {
        "score" => c
            .score(
                &st.settings.score_weights,
                if c.reported > 0 { 1.0 } else { 0.0 },
            )
            .map(|s| s.0),
        "close_rate" => r.close_rate.map(|v| v * 100.0),
        "on_time_close_rate" => r.on_time_close_rate.map(|v| v * 100.0),
        "handling_rate" => r.handling_rate.map(|v| v * 100.0),
        "rework_rate" => r.rework_rate.map(|v| v * 100.0),
        "satisfaction_rate" => r.satisfaction_rate.map(|v| v * 100.0),
        _ => None,
    }
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0))
        .unwrap_or_else(|| "—".into())
}

pub struct Tile {
    pub key: &'static str,
    pub label: &'static str,
    pub value: String,
}

pub struct RankRow {
    pub code: String,
    pub name: String,
    pub href: String,
    pub reported: i64,
    pub closed: i64,
    pub close_rate: String,
    pub on_time: String,
    pub value: String,
    pub grade: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    ctx: Ctx,
    region: String,
    region_name: String,
    crumbs: Vec<(String, String)>,
    tiles: Vec<Tile>,
    children: Vec<RankRow>,
    departments: Vec<RankRow>,
    measure: String,
    measure_label: &'static str,
    measures: Vec<(String, &'static str)>,
    from: String,
    to: String,
    /// JSON for the chart: {"labels": [...], "reported": [...], "closed": [...], "close_rate": [...]}
    trend: String,
    /// GeoJSON of the child areas with value, name and href.
    map: String,
    child_level_name: &'static str,
}

#[derive(Deserialize, Default)]
struct DashQuery {
    region: Option<String>,
    measure: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

fn date(s: Option<&str>, default: NaiveDate) -> NaiveDate {
    s.and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok())
        .unwrap_or(default)
}

fn month_start(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap_or(d)
}

fn prev_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 1 {
        (d.year() - 1, 12)
    } else {
        (d.year(), d.month() - 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(d)
}

async fn dashboard(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(q): WebQuery<DashQuery>,
) -> Response {
    let r = async {
        let user = ctx.require_role(&[
            Role::Leader,
            Role::Dispatcher,
            Role::Admin,
            Role::GridLeader,
            Role::Mediator,
        ])?;
        let lang = ctx.lang;
        let root = match user.regions.first().cloned() {
            Some(r) => Some(r),
            None => st.root_region().await?,
        };
        let code = q
            .region
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
            .or(root)
            .ok_or(WebError::NotFound)?;
        let code = RegionCode::parse(&code).map_err(|_| WebError::NotFound)?;
        if !user.covers_region(code.as_str()) {
            return Err(WebError::NotFound);
        }
        let today = Utc::now()
            .with_timezone(&crate::app::time::shanghai())
            .date_naive();
        let to = date(q.to.as_deref(), today);
        let from = date(q.from.as_deref(), to - Duration::days(364)).min(to);
        let (fd, td) = (kpi_day(from), kpi_day(to));
        let m = q
            .measure
            .clone()
            .filter(|m| MEASURES.contains(&m.as_str()))
            .unwrap_or_else(|| "close_rate".into());
        let names = st.region_names();
        let node = code.as_str().to_string();
        let c = st.store.kpi(&node, fd, td).await?;
        let r = c.rates();
        let score = c.score(&st.settings.score_weights, if c.reported > 0 { 1.0 } else { 0.0 });
        let tile = |key: &'static str, value: String| Tile {
            key,
            label: lang.t(&format!("kpi.{key}")),
            value,
        };
        let tiles = vec![
            tile("reported", c.reported.to_string()),
            tile("registered", c.registered.to_string()),
            tile("closed", c.closed.to_string()),
            tile("close_rate", pct(r.close_rate)),
            tile("on_time_close_rate", pct(r.on_time_close_rate)),
            tile("handling_rate", pct(r.handling_rate)),
            tile("on_time_handling_rate", pct(r.on_time_handling_rate)),
            tile("rework_rate", pct(r.rework_rate)),
            tile("satisfaction_rate", pct(r.satisfaction_rate)),
            tile(
                "score",
                score
                    .map(|s| format!("{:.1} ({})", s.0, s.1))
                    .unwrap_or_else(|| "—".into()),
            ),
        ];
        // Children: regions one level down, or the grids of a village.
        let level = code.level() as usize;
        let href = |c: &str| format!("/work/dashboard?region={c}&measure={m}&from={from}&to={to}");
        let (kids, child_level): (Vec<(String, Counters)>, usize) = if level >= 4 {
            (st.store.kpi_children(code.as_str(), 15, fd, td).await?, 3)
        } else {
            let rows = st.store.kpi_children(code.short(), 12, fd, td).await?;
            let kids = rows
                .into_iter()
                .filter(|(n, _)| {
                    RegionCode::parse(n)
                        .ok()
                        .and_then(|r| r.parent())
                        .is_some_and(|p| p == code)
                })
                .collect();
            (kids, level.saturating_sub(1).min(3))
        };
        let row = |code: &str, name: String, href: String, c: &Counters| {
            let sc = c.score(&st.settings.score_weights, if c.reported > 0 { 1.0 } else { 0.0 });
            RankRow {
                code: code.to_string(),
                name,
                href,
                reported: c.reported,
                closed: c.closed,
                close_rate: pct(c.rates().close_rate),
                on_time: pct(c.rates().on_time_close_rate),
                value: measure_value(&st, c, &m).map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into()),
                grade: sc.map(|s| s.1.to_string()).unwrap_or_default(),
            }
        };
        let shapes = shapes(&st).await?;
        let mut children: Vec<RankRow> = vec![];
        let mut features = vec![];
        for (n, kc) in &kids {
            let name = if child_level == 3 {
                shapes.levels[3]
                    .iter()
                    .find(|s| &s.code == n)
                    .map(|s| s.name.clone())
                    .unwrap_or_else(|| n.clone())
            } else {
                names.get(n).cloned().unwrap_or_else(|| n.clone())
            };
            let h = if child_level == 3 { format!("/work/cases?region={n}") } else { href(n) };
            children.push(row(n, name.clone(), h.clone(), kc));
            if let Some(s) = shapes.levels[child_level].iter().find(|s| &s.code == n) {
                let eps = pixel_degrees(match child_level { 0 => 9.0, 1 => 10.5, 2 => 12.0, _ => 14.0 });
                features.push(feature(
                    s,
                    eps,
                    json!({ "code": n, "name": name, "href": h, "value": measure_value(&st, kc, &m) }),
                ));
            }
        }
        let sort_key = |r: &RankRow| r.value.parse::<f64>().unwrap_or(f64::NEG_INFINITY);
        let desc = m != "rework_rate";
        children.sort_by(|a, b| {
            let o = sort_key(a).total_cmp(&sort_key(b));
            if desc { o.reverse() } else { o }
        });
        // Departments of this territory (county or city level bodies).
        let mut departments = vec![];
        if level <= 2 {
            // One grouped read per code length instead of one per department.
            let depts: Vec<_> = st
                .store
                .departments()
                .await?
                .into_iter()
                .filter(|d| d.region_code.starts_with(code.short()))
                .collect();
            let mut lengths: Vec<usize> = depts.iter().map(|d| d.code.len() + 5).collect();
            lengths.sort_unstable();
            lengths.dedup();
            let mut counters = std::collections::HashMap::new();
            for len in lengths {
                let prefix = format!("dept:{}", code.short());
                for (node, c) in st.store.kpi_children(&prefix, len as i32, fd, td).await? {
                    counters.insert(node, c);
                }
            }
            for d in &depts {
                let Some(dc) = counters.get(&format!("dept:{}", d.code)) else {
                    continue;
                };
                if dc.reported == 0 && dc.dispatched == 0 {
                    continue;
                }
                // A department's counters start at dispatch: rank it on handling, not on intake.
                let r = dc.rates();
                departments.push(RankRow {
                    code: d.code.clone(),
                    name: super::view::department_name(d, lang),
                    href: format!("/work/cases?department={}", d.code),
                    reported: dc.dispatched,
                    closed: dc.handled,
                    close_rate: pct(r.handling_rate),
                    on_time: pct(r.on_time_handling_rate),
                    value: pct(r.rework_rate),
                    grade: String::new(),
                });
            }
            // Best on-time handling first.
            departments.sort_by(|a, b| {
                let k = |r: &RankRow| r.on_time.trim_end_matches('%').parse::<f64>().unwrap_or(-1.0);
                k(b).total_cmp(&k(a))
            });
            departments.truncate(15);
        }
        // Monthly trend over the last 12 months up to `to`.
        let mut months = vec![];
        let mut start = month_start(to);
        for _ in 0..12 {
            months.push(start);
            start = prev_month(start);
        }
        months.reverse();
        let mut labels = vec![];
        let mut reported = vec![];
        let mut closed = vec![];
        let mut close_rate = vec![];
        for (i, ms) in months.iter().enumerate() {
            let me = months.get(i + 1).map(|n| *n - Duration::days(1)).unwrap_or(to);
            let mc = st.store.kpi(&node, kpi_day(*ms), kpi_day(me)).await?;
            labels.push(ms.format("%Y-%m").to_string());
            reported.push(mc.reported);
            closed.push(mc.closed);
            close_rate.push(mc.rates().close_rate.map(|v| (v * 1000.0).round() / 10.0));
        }
        let trend = json!({
            "labels": labels, "reported": reported, "closed": closed, "close_rate": close_rate,
            "names": { "reported": lang.t("kpi.reported"), "closed": lang.t("kpi.closed"), "close_rate": lang.t("kpi.close_rate") },
        });
        let crumbs: Vec<(String, String)> = code
            .ancestors()
            .iter()
            .filter(|a| user.covers_region(a.as_str()))
            .map(|a| {
                (
                    href(a.as_str()),
                    names.get(a.as_str()).cloned().unwrap_or_else(|| a.as_str().to_string()),
                )
            })
            .collect();
        let page = DashboardPage {
            ctx: ctx.clone(),
            region: node.clone(),
            region_name: names.get(&node).cloned().unwrap_or(node.clone()),
            crumbs,
            tiles,
            children,
            departments,
            measure: m.clone(),
            measure_label: lang.t(&format!("kpi.{m}")),
            measures: MEASURES.iter().map(|x| (x.to_string(), lang.t(&format!("kpi.{x}")))).collect(),
            from: from.to_string(),
            to: to.to_string(),
            trend: trend.to_string(),
            map: json!({ "type": "FeatureCollection", "features": features, "measure": lang.t(&format!("kpi.{m}")) }).to_string(),
            child_level_name: lang.t(["level.county", "level.township", "level.village", "level.grid"][child_level]),
        };
        Ok(ctx.render(&page))
    }
    .await;
    respond(&ctx, r)
}

pub fn router() -> Router<SharedState> {
    Router::new().route("/work/dashboard", get(dashboard))
}
