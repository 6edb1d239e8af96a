//! The demo's addresses (门牌) and a season of visits (走访): the demo grid worker's grid gets a
//! residential compound (buildings, units, doors; a few doors linked to the grid's registered
//! places), a sample of other 吴兴区 grids get smaller ones; over the last quarter the grid worker
//! visits about two thirds of her doors — routine visits, collecting opinions, follow-ups and a
//! few care visits (关爱走访) with a masked contact — and two visits are turned into cases through
//! the one write path. Visits in the other grids stand for their workers' history (no demo account
//! covers them) and carry the nil recorder. One transaction each for addresses and visits.

use crate::app::state::SharedState;
use crate::app::visits::{ToCase, local_day, record};
use chrono::{Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safegrid_domain::visit::{Address, AddressStatus, Visit, VisitInput, VisitKind};
use safegrid_store::{AuditEntry, PlaceFilter};
use serde_json::json;
use uuid::Uuid;

/// Other grids of 吴兴区 with a small compound each.
const OTHER_GRIDS: usize = 30;

const RAISED: [(VisitKind, &str); 10] = [
    (VisitKind::Routine, "家中一切正常，已告知网格员联系方式。"),
    (VisitKind::Routine, "反映小区路灯晚上不亮，已登记。"),
    (
        VisitKind::Routine,
        "提醒电动车不要进楼道充电，住户表示配合。",
    ),
    (VisitKind::Opinions, "希望小区增设电动车集中充电桩。"),
    (VisitKind::Opinions, "建议社区周末开放老年活动室。"),
    (
        VisitKind::Opinions,
        "对垃圾分类定时定点投放时间有意见，希望延长到晚上九点。",
    ),
    (
        VisitKind::FollowUp,
        "回访楼上漏水纠纷，双方已协商维修，住户满意。",
    ),
    (
        VisitKind::FollowUp,
        "回访噪声投诉处理情况，夜间施工已停止。",
    ),
    (
        VisitKind::Care,
        "独居老人，行动不便，需要助餐服务，已联系社区。",
    ),
    (
        VisitKind::Care,
        "低保家庭，孩子上学有困难，已告知教育救助政策。",
    ),
];

const CONTACTS: [(&str, &str); 4] = [
    ("沈桂兰", "13857201234"),
    ("姚国平", "13905726789"),
    ("钱玉珍", "15968124567"),
    ("朱永明", "13732109876"),
];

/// Doors of a compound: `buildings` × `units` × floors × 2 doors a floor.
fn compound(grid: &str, buildings: u32, units: u32, floors: u32, by: Uuid) -> Vec<Address> {
    let now = Utc::now();
    let mut out = vec![];
    for b in 1..=buildings {
        for u in 1..=units {
            for f in 1..=floors {
                for d in 1..=2 {
                    out.push(Address {
                        county_code: grid[..6].to_string(),
                        id: Uuid::now_v7(),
                        grid_code: grid.to_string(),
                        region_code: grid[..12].to_string(),
                        building: format!("{b}幢"),
                        unit: if units > 1 {
                            format!("{u}单元")
                        } else {
                            String::new()
                        },
                        door: format!("{f}0{d}"),
                        place_id: None,
                        status: AddressStatus::Active,
                        created_by: Some(by),
                        created_at: now,
                        updated_at: now,
                        version: 1,
                    });
                }
            }
        }
    }
    out
}

/// Builds the demo's addresses and visits; returns (addresses, visits, cases opened).
pub async fn generate(
    st: &SharedState,
    seed: u64,
    gw_grid: &str,
) -> anyhow::Result<(usize, usize, usize)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(173).wrapping_add(29));
    let gw = st.store.user_by_name("demo-gridworker").await?;
    let now = Utc::now();
    let today = local_day(now);
    // The grid worker's compound, with the grid's places at some ground-floor doors.
    let mut mine = compound(gw_grid, 6, 2, 6, gw.id);
    let places = st
        .store
        .list_places(&PlaceFilter {
            grids: vec![gw_grid.to_string()],
            limit: 20,
            ..Default::default()
        })
        .await?;
    for (a, p) in mine.iter_mut().step_by(24).zip(&places) {
        a.place_id = Some(p.id);
    }
    let mut others: Vec<Address> = vec![];
    // Spread over the district's townships: every 8th grid in code order.
    for g in st
        .store
        .grids(Some("330502"), (OTHER_GRIDS * 8) as i64, 0)
        .await?
        .into_iter()
        .map(|g| g.code)
        .filter(|g| g != gw_grid)
        .step_by(8)
    {
        let buildings = rng.random_range(2..5);
        others.extend(compound(&g, buildings, 1, 5, gw.id));
    }
    let n_addresses = mine.len() + others.len();
    let audit = AuditEntry::new(
        None,
        "demo",
        "address.import",
        "address",
        None,
        json!({ "rows": n_addresses, "via": "demo" }),
    );
    let all: Vec<Address> = mine.iter().chain(&others).cloned().collect();
    st.store.save_addresses(&all, &[], &[audit], now).await?;

    // A quarter of visits: about two thirds of the worker's doors, and 30–90 % of the others'.
    let days_back = |rng: &mut ChaCha8Rng| Duration::days(rng.random_range(1..90));
    let mut visits = vec![];
    let mut care = 0;
    for a in &mine {
        if !rng.random_bool(0.66) {
            continue;
        }
        let back = days_back(&mut rng);
        let (mut kind, raised) = RAISED[rng.random_range(0..RAISED.len())];
        if kind == VisitKind::Care {
            care += 1;
            if care > 6 {
                kind = VisitKind::Routine;
            }
        }
        let contact = (kind == VisitKind::Care || rng.random_bool(0.15))
            .then(|| CONTACTS[rng.random_range(0..CONTACTS.len())]);
        visits.push(visit(
            a,
            today - back,
            kind,
            raised,
            contact,
            gw.id,
            now - back,
        ));
    }
    for a in &others {
        let share = 0.3 + (a.grid_code.as_bytes()[14] % 7) as f64 / 10.0;
        if !rng.random_bool(share) {
            continue;
        }
        let back = days_back(&mut rng);
        visits.push(visit(
            a,
            today - back,
            VisitKind::Routine,
            RAISED[0].1,
            None,
            Uuid::nil(),
            now - back,
        ));
    }
    let n_visits = visits.len();
    let audit = AuditEntry::new(
        None,
        "demo",
        "visit.import",
        "visit",
        None,
        json!({ "visits": n_visits, "via": "demo" }),
    );
    st.store.insert_visits(&visits, &[audit], now).await?;

    // Two visits whose problem became a case, through the one write path.
    let turned = [
        (
            &mine[5],
            "E0606",
            "3楼楼道内有电动车充电，飞线从窗户拉出，存在火灾隐患。",
        ),
        (&mine[30], "E0610", "单元门口消防通道被杂物和废旧家具堵塞。"),
    ];
    let mut cases = 0;
    for (a, category, raised) in turned {
        let input = VisitInput {
            address_id: Some(a.id.to_string()),
            visited_on: (today - Duration::days(3)).to_string(),
            kind: "routine".into(),
            raised: raised.into(),
            ..Default::default()
        };
        let to_case = ToCase {
            category: category.into(),
            ..Default::default()
        };
        record(st, &gw, None, &input, Some(&to_case), "demo", now)
            .await
            .map_err(|e| anyhow::anyhow!("demo visit into a case: {}", e.message))?;
        cases += 1;
    }
    Ok((n_addresses, n_visits + cases, cases))
}

fn visit(
    a: &Address,
    on: chrono::NaiveDate,
    kind: VisitKind,
    raised: &str,
    contact: Option<(&str, &str)>,
    by: Uuid,
    at: chrono::DateTime<Utc>,
) -> Visit {
    Visit {
        county_code: a.county_code.clone(),
        id: Uuid::now_v7(),
        grid_code: a.grid_code.clone(),
        region_code: a.region_code.clone(),
        address_id: Some(a.id),
        place_id: None,
        visited_on: on,
        kind,
        raised: raised.into(),
        contact_name: contact.map(|c| c.0.to_string()),
        contact_phone: contact.map(|c| c.1.to_string()),
        case_id: None,
        recorded_by: by,
        recorded_at: at,
    }
}
