//! The demo's register of places (场所): a few thousand believable places over Huzhou's grids —
//! each point drawn at random and kept only where the locator finds a grid, so every place lies in
//! the grid it is registered to — with about 300 group rentals (群租房) in 吴兴区, several of them
//! (and a few other places) in the demo grid worker's grid. Stored in one transaction of
//! multi-row inserts.

use crate::app::state::SharedState;
use chrono::{Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safegrid_domain::codes::{GeoPoint, PersonName, Phone};
use safegrid_domain::place::{Place, PlaceFields, PlaceKind, PlaceStatus};
use safegrid_store::AuditEntry;
use serde_json::json;
use std::collections::HashMap;

/// Places of every kind over the whole city.
const SPREAD: usize = 2_700;
/// Group rentals in 吴兴区 (the campaign story's 300 places).
const WUXING_GROUP_RENTALS: usize = 300;
/// Of those, in the demo grid worker's grid; and other places there.
const GRIDWORKER_GROUP_RENTALS: usize = 8;
const GRIDWORKER_OTHERS: usize = 6;

/// Huzhou's bounding box (lon, lat), where points are drawn.
const BBOX: ((f64, f64), (f64, f64)) = ((119.23, 30.37), (120.50, 31.18));

const ROADS: [&str; 20] = [
    "人民路",
    "解放路",
    "凤凰路",
    "红旗路",
    "青铜路",
    "二环东路",
    "南街",
    "北门路",
    "湖州大道",
    "大港路",
    "吉山路",
    "长兴路",
    "新华路",
    "太湖路",
    "环城路",
    "滨河路",
    "建设路",
    "工业路",
    "文昌路",
    "朝阳路",
];
const SURNAMES: [&str; 16] = [
    "张", "王", "李", "赵", "陈", "刘", "杨", "黄", "周", "吴", "徐", "孙", "沈", "钱", "朱", "姚",
];
const GIVEN: [&str; 16] = [
    "建国", "秀英", "伟", "芳", "军", "丽娟", "海峰", "桂兰", "志强", "美玲", "国平", "小红",
    "晓东", "春华", "永明", "玉珍",
];

/// The kinds spread over the city, with their weights.
const MIX: [(PlaceKind, u32); 11] = [
    (PlaceKind::RentalBuilding, 22),
    (PlaceKind::Shop, 24),
    (PlaceKind::Restaurant, 16),
    (PlaceKind::Workshop, 10),
    (PlaceKind::GroupRental, 6),
    (PlaceKind::Hostel, 4),
    (PlaceKind::Venue, 4),
    (PlaceKind::School, 3),
    (PlaceKind::Market, 2),
    (PlaceKind::ConstructionSite, 4),
    (PlaceKind::Unit, 5),
];

fn pick<'a, T>(rng: &mut ChaCha8Rng, v: &'a [T]) -> &'a T {
    &v[rng.random_range(0..v.len())]
}

fn mixed_kind(rng: &mut ChaCha8Rng) -> PlaceKind {
    let total: u32 = MIX.iter().map(|(_, w)| w).sum();
    let mut r = rng.random_range(0..total);
    for (k, w) in MIX {
        if r < w {
            return k;
        }
        r -= w;
    }
    PlaceKind::Other
}

/// A name as such a place would bear it, and its tags.
fn name_of(
    rng: &mut ChaCha8Rng,
    kind: PlaceKind,
    road: &str,
    n: u32,
    village: &str,
    town: &str,
) -> (String, Vec<String>) {
    let s = *pick(rng, &SURNAMES);
    let tags = |v: &[&str]| v.iter().map(|t| t.to_string()).collect::<Vec<_>>();
    match kind {
        PlaceKind::GroupRental => (
            format!("{road}{n}号出租楼"),
            match rng.random_range(0..4) {
                0 => tags(&["电动车", "三合一"]),
                1 => tags(&["电动车"]),
                2 => tags(&["外来人员"]),
                _ => vec![],
            },
        ),
        PlaceKind::RentalBuilding => (format!("{village}{n}幢出租房"), vec![]),
        PlaceKind::Shop => {
            let goods = *pick(
                rng,
                &[
                    "便利店",
                    "五金店",
                    "水果店",
                    "理发店",
                    "服装店",
                    "电动车行",
                    "手机店",
                ],
            );
            (
                format!("{s}记{goods}"),
                if goods == "电动车行" {
                    tags(&["电动车"])
                } else {
                    vec![]
                },
            )
        }
        PlaceKind::Restaurant => {
            let dish = *pick(
                rng,
                &["面馆", "小吃店", "土菜馆", "馄饨店", "烧烤店", "快餐店"],
            );
            (format!("{s}家{dish}"), tags(&["燃气"]))
        }
        PlaceKind::Workshop => {
            let goods = *pick(rng, &["童装", "竹木", "五金", "食品", "包装", "丝绸"]);
            (format!("{village}{goods}加工坊"), tags(&["三合一"]))
        }
        PlaceKind::Hostel => (
            format!("{road}{}旅馆", pick(rng, &["如家", "悦来", "平安", "顺风"])),
            vec![],
        ),
        PlaceKind::Venue => (
            format!("{s}氏{}", pick(rng, &["KTV", "网吧", "棋牌室", "足浴店"])),
            vec![],
        ),
        PlaceKind::School => (
            format!("{town}{}", pick(rng, &["中心小学", "幼儿园", "初级中学"])),
            tags(&["人员密集"]),
        ),
        PlaceKind::Market => (format!("{town}农贸市场"), tags(&["人员密集"])),
        PlaceKind::ConstructionSite => (
            format!(
                "{road}{}项目工地",
                pick(rng, &["安置房", "道路改造", "厂房"])
            ),
            tags(&["高处作业"]),
        ),
        PlaceKind::Unit => (
            format!(
                "湖州{}{}有限公司",
                pick(rng, &["织里", "南太湖", "吴兴", "众诚"]),
                pick(rng, &["纺织", "建材", "物流", "机械"])
            ),
            vec![],
        ),
        PlaceKind::Other => (format!("{road}{n}号"), vec![]),
    }
}

/// A village's name as an address writes it: "戚家村村委会" → "戚家村".
fn village_label(n: &str) -> String {
    let n = super::short_name(n);
    match n
        .strip_suffix("村委会")
        .or_else(|| n.strip_suffix("居委会"))
    {
        Some(s) if s.ends_with(['村', '区']) => s.to_string(),
        Some(s) => format!("{s}村"),
        None => n,
    }
}

/// Where points are drawn: around a point, half-size in degrees (or the city's box when `None`).
type Around = Option<((f64, f64), f64)>;

/// A point inside the box around (lon, lat) of half-size `d` degrees (or the city's box).
fn draw(rng: &mut ChaCha8Rng, around: Around) -> (f64, f64) {
    let ((x0, y0), (x1, y1)) = match around {
        Some(((lon, lat), d)) => ((lon - d, lat - d), (lon + d, lat + d)),
        None => BBOX,
    };
    (rng.random_range(x0..x1), rng.random_range(y0..y1))
}

/// Generates and stores the places; returns how many.
pub async fn generate(st: &SharedState, seed: u64, gw_grid: &str) -> anyhow::Result<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(131).wrapping_add(28));
    let locator = st.locator();
    let names = st.region_names();
    let name = |code: &str| names.get(code).cloned().unwrap_or_default();
    let now = Utc::now();
    let mut places: Vec<Place> =
        Vec::with_capacity(SPREAD + WUXING_GROUP_RENTALS + GRIDWORKER_OTHERS);
    let mut seq: HashMap<String, u32> = HashMap::new();
    // (how many, kind or mixed, where points are drawn, which grids they must fall in)
    let gw_point = (super::GRIDWORKER_POINT, 0.02);
    let plan: [(usize, Option<PlaceKind>, Around, &str); 4] = [
        (
            GRIDWORKER_GROUP_RENTALS,
            Some(PlaceKind::GroupRental),
            Some(gw_point),
            gw_grid,
        ),
        (GRIDWORKER_OTHERS, None, Some(gw_point), gw_grid),
        (
            WUXING_GROUP_RENTALS - GRIDWORKER_GROUP_RENTALS,
            Some(PlaceKind::GroupRental),
            None,
            "330502",
        ),
        (SPREAD, None, None, ""),
    ];
    for (count, kind, around, within) in plan {
        let mut made = 0;
        let mut tries = 0;
        while made < count && tries < count * 400 {
            tries += 1;
            let (lon, lat) = draw(&mut rng, around);
            let Some(grid) = locator.grid_at(lon, lat) else {
                continue;
            };
            // The mixed spread keeps its group rentals out of 吴兴区, whose count is the story's.
            let kind = kind.unwrap_or_else(|| mixed_kind(&mut rng));
            if !grid.starts_with(within)
                || (within.is_empty()
                    && kind == PlaceKind::GroupRental
                    && grid.starts_with("330502"))
            {
                continue;
            }
            let village = grid[..12].to_string();
            let county = grid[..6].to_string();
            let town = name(&format!("{}000", &grid[..9]));
            let vname = village_label(&name(&village));
            let road = *pick(&mut rng, &ROADS);
            let n = rng.random_range(1..300);
            let (pname, tags) = name_of(&mut rng, kind, road, n, &vname, &town);
            let county_name = name(&format!("{county}000000"));
            let address = format!("浙江省湖州市{county_name}{town}{vname}{road}{n}号");
            let (contact_name, contact_phone) = if rng.random_bool(0.7) {
                let who = format!("{}{}", pick(&mut rng, &SURNAMES), pick(&mut rng, &GIVEN));
                let phone = format!(
                    "13{}{:08}",
                    rng.random_range(5..10),
                    rng.random_range(0..100_000_000u32)
                );
                (PersonName::parse(&who).ok(), Phone::parse(&phone).ok())
            } else {
                (None, None)
            };
            let status = match rng.random_range(0..100) {
                0..=91 => PlaceStatus::Active,
                92..=97 => PlaceStatus::Closed,
                _ => PlaceStatus::Gone,
            };
            let k = seq.entry(county.clone()).or_insert(0);
            *k += 1;
            let fields = PlaceFields {
                kind,
                name: pname,
                address,
                point: Some(GeoPoint::new(lon, lat)?),
                grid_code: None,
                contact_name,
                contact_phone,
                tags,
                // The story's places are all there to be inspected.
                status: if kind == PlaceKind::GroupRental {
                    PlaceStatus::Active
                } else {
                    status
                },
                external_ref: Some(format!("HZ-{county}-{:05}", *k)),
            };
            let at = now - Duration::minutes(rng.random_range(60..60 * 24 * 400));
            let mut p = Place::new(
                uuid::Uuid::now_v7(),
                fields,
                Some(grid.to_string()),
                village,
                None,
                at,
            );
            p.updated_at = at;
            places.push(p);
            made += 1;
        }
        anyhow::ensure!(
            made == count,
            "the demo found room for only {made} of {count} places ({within})"
        );
    }
    let entry = AuditEntry::new(
        None,
        "demo",
        "place.import",
        "place",
        None,
        json!({ "report": { "rows": places.len(), "created": places.len() }, "via": "demo" }),
    );
    st.store.save_places(&places, &[], &[entry], now).await?;
    Ok(places.len())
}
