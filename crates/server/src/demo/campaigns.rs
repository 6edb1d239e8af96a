//! The demo's two campaigns over its places: a finished 群租房 fire-safety campaign in 吴兴区 (every
//! place inspected, its hazards rectified and closed out, some late and supervised) and a "五小"
//! campaign under way (part of the places inspected, hazards being rectified, some awaiting the
//! demo grid worker's re-inspection, her own places still due). Inspections and hazard cases go
//! through the use cases (`submit_inspection`, the engine and `Service::commit`) with times in
//! the past; only the finished campaign's publishing date is set directly.

use crate::app::campaigns::{CampaignInput, InspectionInput};
use crate::app::state::SharedState;
use anyhow::Context as _;
use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safegrid_domain::engine::{Action, Actor, Command};
use safegrid_store::User;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use uuid::Uuid;

const TERRITORY: &str = "330502";

fn fire_checklist() -> Vec<Value> {
    serde_json::from_value(json!([
        {"key": "extinguisher", "text_zh": "每层配备有效灭火器", "text_en": "Working extinguishers on every floor",
         "answer": "yes_no", "required": true,
         "hazard": {"when": {"equals": false}, "category": "H0101", "limit": "7 natural_days"}},
        {"key": "smoke_alarm", "text_zh": "独立式烟感报警器完好", "text_en": "Smoke alarms working",
         "answer": "yes_no", "required": true,
         "hazard": {"when": {"equals": false}, "category": "H0101", "limit": "7 natural_days"}},
        {"key": "ebike", "text_zh": "电动自行车室内停放充电", "text_en": "E-bikes parked or charged indoors",
         "answer": "yes_no", "required": true,
         "hazard": {"when": {"equals": true}, "category": "H0102", "limit": "3 natural_days"}},
        {"key": "exit", "text_zh": "疏散通道", "text_en": "Escape routes", "answer": "choice",
         "options": ["畅通", "部分堵塞", "堵死"], "required": true,
         "hazard": {"when": {"any_of": ["部分堵塞", "堵死"]}, "category": "H0104", "severity": "major", "limit": "3 natural_days"}},
        {"key": "rooms", "text_zh": "隔断出租间数", "text_en": "Partitioned rooms let", "answer": "number",
         "hazard": {"when": {"above": 6}, "category": "H0105", "limit": "15 natural_days"}},
        {"key": "note", "text_zh": "其他情况", "text_en": "Other findings", "answer": "text"}
    ]))
    .expect("a list")
}

fn five_small_checklist() -> Vec<Value> {
    serde_json::from_value(json!([
        {"key": "extinguisher", "text_zh": "配备有效灭火器", "text_en": "Working extinguisher",
         "answer": "yes_no", "required": true,
         "hazard": {"when": {"equals": false}, "category": "H0101", "limit": "7 natural_days"}},
        {"key": "gas", "text_zh": "燃气钢瓶与灶具分室、装报警器", "text_en": "Gas cylinders apart, alarm fitted",
         "answer": "yes_no",
         "hazard": {"when": {"equals": false}, "category": "H0103", "limit": "3 natural_days"}},
        {"key": "three_in_one", "text_zh": "生产、仓储、住宿“三合一”", "text_en": "Work, storage and sleeping in one",
         "answer": "yes_no", "required": true,
         "hazard": {"when": {"equals": true}, "category": "H0106", "severity": "major", "limit": "7 natural_days"}}
    ]))
    .expect("a list")
}

fn answers(rng: &mut ChaCha8Rng, fire: bool) -> BTreeMap<String, Value> {
    let mut a = BTreeMap::new();
    let p = |rng: &mut ChaCha8Rng, x: f64| rng.random_bool(x);
    if fire {
        // About one place in sixteen has a hazard, as a sweep of a district finds.
        a.insert("extinguisher".into(), json!(!p(rng, 0.02)));
        a.insert("smoke_alarm".into(), json!(!p(rng, 0.015)));
        a.insert("ebike".into(), json!(p(rng, 0.015)));
        let exit = if p(rng, 0.01) {
            "部分堵塞"
        } else {
            "畅通"
        };
        a.insert("exit".into(), json!(exit));
        let rooms = if p(rng, 0.005) {
            8
        } else {
            rng.random_range(2..7)
        };
        a.insert("rooms".into(), json!(rooms));
    } else {
        a.insert("extinguisher".into(), json!(!p(rng, 0.04)));
        a.insert("gas".into(), json!(!p(rng, 0.03)));
        a.insert("three_in_one".into(), json!(p(rng, 0.01)));
    }
    a
}

/// The grid workers of 吴兴区 as one account (the demo has a login for one grid only): it signs
/// the inspections of every grid the campaign has tasks in, so the cases they open are nobody's
/// own but the grids'. No login: an unusable password and disabled.
async fn inspector(st: &SharedState, campaign: Uuid) -> anyhow::Result<User> {
    let mut grids: Vec<String> = st
        .store
        .campaign_tasks(campaign, TERRITORY)
        .await?
        .into_iter()
        .filter_map(|t| t.grid_code)
        .collect();
    grids.sort();
    grids.dedup();
    let mut u = match st.store.user_by_name(INSPECTOR).await {
        Ok(u) => u,
        Err(_) => {
            let u = st
                .store
                .create_user(&safegrid_store::NewUser {
                    username: INSPECTOR.into(),
                    display_name: "吴兴区网格员（演示数据）".into(),
                    password_hash: "!".into(),
                    role: safegrid_domain::Role::GridWorker,
                    department: None,
                    regions: vec![],
                    grids: vec![],
                })
                .await?;
            st.store
                .update_user(
                    u.id,
                    &safegrid_store::UserChange {
                        disabled: Some(true),
                        ..Default::default()
                    },
                )
                .await?
        }
    };
    u.grids = grids;
    Ok(u)
}

const INSPECTOR: &str = "demo-inspectors-wuxing";

/// Fires one action on a hazard case as the system (the department and the grid worker of the
/// demo's synthetic history), at `at`.
async fn act(
    st: &SharedState,
    id: Uuid,
    action: Action,
    note: Option<&str>,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let case = st.store.case(id).await?;
    let cmd = Command {
        action,
        note: note.map(str::to_string),
    };
    let system = Actor::system();
    let applied = st.apply(&case, &cmd, &system, at)?;
    st.commit(&case, &applied, &system, vec![], at).await?;
    Ok(())
}

/// Builds both campaigns; returns (campaigns, inspections, hazard cases).
pub async fn generate(st: &SharedState, seed: u64) -> anyhow::Result<(usize, usize, usize)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(977).wrapping_add(28));
    let now = Utc::now();
    let dispatcher = st.store.user_by_name("demo-dispatcher").await?;
    let today = crate::app::campaigns::today(now);
    let (mut n_ins, mut n_haz) = (0, 0);

    // The finished one: two months ago, a month long.
    let start = today - Duration::days(75);
    let input = CampaignInput {
        title: "吴兴区群租房消防安全专项整治".into(),
        kind: "group_rental".into(),
        region: TERRITORY.into(),
        place_kinds: vec!["group_rental".into()],
        starts_on: start.to_string(),
        ends_on: (start + Duration::days(30)).to_string(),
        checklist: fire_checklist(),
    };
    let began = now - Duration::days(75);
    let mut c = st.create_campaign(&dispatcher, input, began).await?;
    c.status = "published".into();
    c.published_at = Some(began.timestamp_millis());
    st.store
        .publish_campaign(
            &c,
            c.version,
            TERRITORY,
            &["group_rental".to_string()],
            None,
        )
        .await?;
    let gw = inspector(st, c.id).await?;
    let tasks = st.store.campaign_tasks(c.id, TERRITORY).await?;
    let mut hazards = vec![];
    for (i, t) in tasks.iter().enumerate() {
        let at = began + Duration::hours(20 + (i as i64 * 571) % (24 * 25));
        let refused = rng.random_bool(0.02);
        let input = InspectionInput {
            id: Uuid::now_v7(),
            campaign: c.id,
            place: t.place_id,
            outcome: if refused {
                "refused_entry"
            } else {
                "inspected"
            }
            .into(),
            answers: if refused {
                BTreeMap::new()
            } else {
                answers(&mut rng, true)
            },
            note: None,
            lat: None,
            lon: None,
        };
        let r = st
            .submit_inspection(&gw, input, vec![], at)
            .await
            .context("a demo inspection")?;
        n_ins += 1;
        hazards.extend(r.hazards.iter().map(|h| (h.case_id, at)));
    }
    // Every hazard rectified and closed out; one in four late, supervised before it was done.
    for (k, (id, at)) in hazards.iter().enumerate() {
        let late = k % 4 == 3;
        let done = if late {
            act(
                st,
                *id,
                Action::Supervise { level: None },
                Some("逾期未整改，挂牌督办。"),
                *at + Duration::days(9),
            )
            .await?;
            *at + Duration::days(12)
        } else {
            *at + Duration::days(2)
        };
        act(
            st,
            *id,
            Action::Handle,
            Some("已按整改通知整改到位。"),
            done,
        )
        .await?;
        act(
            st,
            *id,
            Action::Verify { passed: true },
            Some("复查合格，予以销号。"),
            done + Duration::days(1),
        )
        .await?;
    }
    n_haz += hazards.len();
    let mut closed = st.store.campaign(c.id).await?;
    let v = closed.version;
    closed.status = "closed".into();
    closed.closed_at = Some((began + Duration::days(31)).timestamp_millis());
    st.store.update_campaign(&closed, v, None).await?;

    // The one under way: started ten days ago, three weeks to go.
    let input = CampaignInput {
        title: "吴兴区“五小”场所安全检查".into(),
        kind: "five_small".into(),
        region: TERRITORY.into(),
        place_kinds: vec!["shop".into(), "restaurant".into(), "workshop".into()],
        starts_on: (today - Duration::days(10)).to_string(),
        ends_on: (today + Duration::days(21)).to_string(),
        checklist: five_small_checklist(),
    };
    let began = now - Duration::days(10);
    let c = st.create_campaign(&dispatcher, input, began).await?;
    let (c, _) = st
        .publish_campaign(&dispatcher, c.id, Some(c.version), began)
        .await?;
    let gw = inspector(st, c.id).await?;
    let me = st.store.user_by_name("demo-gridworker").await?;
    let mine = me.grids.clone();
    let tasks = st.store.campaign_tasks(c.id, TERRITORY).await?;
    let mut hazards = vec![];
    let mut own_done = 0;
    for (i, t) in tasks.iter().enumerate() {
        // About half done; of the demo grid worker's own places one was inspected (its hazard
        // now awaits her re-inspection) and the rest wait for her.
        let own = t.grid_code.as_ref().is_some_and(|g| mine.contains(g));
        if (own && own_done > 0) || (!own && !rng.random_bool(0.5)) {
            continue;
        }
        let mut a = answers(&mut rng, false);
        if own {
            own_done += 1;
            a.insert("extinguisher".into(), json!(false));
        }
        let at = began + Duration::hours(2 + (i as i64 * 389) % (24 * 9));
        let input = InspectionInput {
            id: Uuid::now_v7(),
            campaign: c.id,
            place: t.place_id,
            outcome: "inspected".into(),
            answers: a,
            note: None,
            lat: None,
            lon: None,
        };
        let by = if own { &me } else { &gw };
        let r = st.submit_inspection(by, input, vec![], at).await?;
        n_ins += 1;
        // Her own hazard goes first, so it is among the rectified ones.
        for h in &r.hazards {
            if own {
                hazards.insert(0, (h.case_id, at));
            } else {
                hazards.push((h.case_id, at));
            }
        }
    }
    // A third rectified and awaiting re-inspection, the rest still being rectified.
    for (k, (id, at)) in hazards.iter().enumerate() {
        if k % 3 == 0 && *at + Duration::days(2) < now {
            act(
                st,
                *id,
                Action::Handle,
                Some("已整改，请复查。"),
                *at + Duration::days(2),
            )
            .await?;
        }
    }
    n_haz += hazards.len();
    Ok((2, n_ins, n_haz))
}
