//! The demo's grid staffing (一人一格): in the demo grid worker's township every grid has a grid
//! worker (the demo grid worker keeps hers) except the last two, which stand vacant as a township
//! with a resignation and a new grid would; each village has a grid leader; one grid changed
//! hands a month ago (its history row says what moved) and one worker is on leave with a
//! colleague covering now. The accounts share the demo grid worker's password. One transaction
//! for the accounts and history, one for the cover.

use crate::app::state::SharedState;
use chrono::{Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safegrid_domain::Role;
use safegrid_store::{AuditEntry, Cover, Moved, NewUser, StaffingRecord};
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Grids left without a worker at the end of the township's list.
const VACANT: usize = 2;
/// Prefixes of the demo's staff accounts (their passwords follow the demo's).
pub const STAFF_PREFIXES: [&str; 2] = ["demo-gw-", "demo-gl-"];

const SURNAMES: [&str; 16] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "朱", "沈", "钱", "姚",
];
const GIVEN: [&str; 16] = [
    "丽华", "建国", "晓燕", "志强", "美玲", "伟", "秀英", "海峰", "静", "国平", "雪梅", "军",
    "红霞", "立新", "慧", "春生",
];

fn name(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{}{}",
        SURNAMES[rng.random_range(0..SURNAMES.len())],
        GIVEN[rng.random_range(0..GIVEN.len())]
    )
}

/// Staffs the township of `gridworker_grid`; returns (workers, leaders, vacant grids).
pub async fn generate(
    st: &SharedState,
    seed: u64,
    gridworker_grid: &str,
) -> anyhow::Result<(usize, usize, usize)> {
    let Some(township) = gridworker_grid.get(..9) else {
        return Ok((0, 0, 0));
    };
    let grids = st.store.grid_names(township, 10_000).await?;
    let gw = st.store.user_by_name("demo-gridworker").await?;
    let hash = gw.password_hash.clone();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5747_4146);
    let now = Utc::now();
    let staffed = grids.len().saturating_sub(VACANT);
    let mut inserts: Vec<(Uuid, NewUser)> = vec![];
    let mut records = vec![];
    let mut workers: Vec<(Uuid, String)> = vec![];
    let assigned_at = now - Duration::days(400);
    let record =
        |grid: &str, post: &str, kind: &str, user: Option<Uuid>, prev: Option<Uuid>, at| {
            StaffingRecord {
                id: Uuid::now_v7(),
                grid_code: grid.to_string(),
                post: post.into(),
                kind: kind.into(),
                user_id: user,
                previous_user_id: prev,
                moved: None,
                note: None,
                by_user_id: None,
                at,
            }
        };
    for (code, _, _) in grids.iter().take(staffed) {
        if code == gridworker_grid {
            records.push(record(
                code,
                "worker",
                "assign",
                Some(gw.id),
                None,
                assigned_at,
            ));
            continue;
        }
        let id = Uuid::now_v7();
        inserts.push((
            id,
            NewUser {
                username: format!("demo-gw-{}", &code[6..]),
                display_name: name(&mut rng),
                password_hash: hash.clone(),
                role: Role::GridWorker,
                department: None,
                regions: vec![],
                grids: vec![code.clone()],
            },
        ));
        workers.push((id, code.clone()));
        records.push(record(
            code,
            "worker",
            "assign",
            Some(id),
            None,
            assigned_at,
        ));
    }
    // A grid leader per village, over all its grids.
    let mut villages: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (code, village, _) in &grids {
        villages.entry(village).or_default().push(code.clone());
    }
    for (village, codes) in &villages {
        let id = Uuid::now_v7();
        for g in codes {
            records.push(record(g, "leader", "assign", Some(id), None, assigned_at));
        }
        inserts.push((
            id,
            NewUser {
                username: format!("demo-gl-{}", &village[6..]),
                display_name: name(&mut rng),
                password_hash: hash.clone(),
                role: Role::GridLeader,
                department: None,
                regions: vec![],
                grids: codes.clone(),
            },
        ));
    }
    // A handover a month ago: the first worker took the grid over from a colleague who moved to
    // the township's command center (an account without a grid now), with what moved then.
    if let Some((first_id, first_grid)) = workers.first().cloned() {
        let previous = Uuid::now_v7();
        inserts.push((
            previous,
            NewUser {
                username: format!("demo-gw-{}-prev", &first_grid[6..]),
                display_name: name(&mut rng),
                password_hash: hash.clone(),
                role: Role::GridWorker,
                department: None,
                regions: vec![],
                grids: vec![],
            },
        ));
        // The colleague's assignment, then the handover.
        if let Some(r) = records
            .iter_mut()
            .find(|r| r.grid_code == first_grid && r.post == "worker")
        {
            r.user_id = Some(previous);
        }
        let mut h = record(
            &first_grid,
            "worker",
            "handover",
            Some(first_id),
            Some(previous),
            now - Duration::days(30),
        );
        h.moved = Some(Moved {
            campaign_tasks: 3,
            awaiting_verification: 1,
            open_cases: 4,
        });
        h.note = Some("原网格员调往街道综治中心".into());
        records.push(h);
    }
    let leaders = villages.len();
    st.store
        .save_accounts(&inserts, &[], &records, &[], now)
        .await?;
    // One worker on leave this week, covered by the next one.
    if workers.len() >= 3 {
        let (absent, cover) = (workers[1].0, workers[2].0);
        let c = Cover {
            id: Uuid::now_v7(),
            absent_user_id: absent,
            cover_user_id: cover,
            starts_at: now - Duration::days(2),
            ends_at: now + Duration::days(5),
            note: Some("病假代班".into()),
            created_by: None,
            created_at: now - Duration::days(2),
            cancelled_at: None,
        };
        let audit = AuditEntry::new(
            None,
            "demo",
            "staffing.cover",
            "cover",
            Some(c.id.to_string()),
            json!({ "via": "demo" }),
        );
        st.store.insert_cover(&c, &audit).await?;
    }
    Ok((workers.len() + 1, leaders, grids.len() - staffed))
}
