//! The demo's group prevention (群防群治): a 巡防队 in the demo grid worker's township and a
//! 平安志愿者 team of 吴兴区, 30 members with made-up names and numbers of a virtual-operator range
//! (170…), a season (13 weeks) of weekly patrols each with its log, some findings turned into
//! cases, a few manual service hours and two sign-ups waiting. Everything goes through the use
//! cases (`create_team`, `add_members`, `record_patrol`, `sign_up`) with times in the past.

use crate::app::patrols::{FindingInput, LogInput, ScheduleInput};
use crate::app::state::SharedState;
use crate::app::teams::{PersonInput, TeamInput};
use anyhow::Context as _;
use chrono::{Datelike, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "沈", "钱", "徐", "吴", "朱", "姚", "费", "闵",
];
const GIVEN: &[&str] = &[
    "建国", "秀英", "卫东", "桂芳", "志强", "丽华", "海峰", "美娟", "国平", "小红", "文斌", "雪梅",
    "伟", "敏", "静", "磊", "洁", "勇", "芳", "军",
];
const FINDINGS: &[(&str, Option<&str>)] = &[
    ("小区东门一处污水井盖缺失，已设临时围挡", Some("C0102")),
    ("河埠头护栏松动，提醒居民注意安全", Some("C0203")),
    ("垃圾箱破损，垃圾散落", Some("C0301")),
    ("楼道堆放杂物，已劝导清理", None),
    ("电动车在楼道充电，已劝离", None),
    ("发现独居老人家中无人应门，联系网格员上门", None),
    ("出租房新增租客未登记，已告知房东", None),
];

fn name(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{}{}",
        SURNAMES[rng.random_range(0..SURNAMES.len())],
        GIVEN[rng.random_range(0..GIVEN.len())]
    )
}

/// Builds the demo's teams; returns (teams, members, patrol logs, cases opened).
pub async fn generate(
    st: &SharedState,
    seed: u64,
    gw_grid: &str,
) -> anyhow::Result<(usize, usize, usize, usize)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7ea5);
    let dispatcher = st.store.user_by_name("demo-dispatcher").await?;
    let gw = st.store.user_by_name("demo-gridworker").await?;
    let now = Utc::now();
    let season = Duration::weeks(13);
    let start = now - season - Duration::days(7);
    let township = format!("{:0<12}", &gw_grid[..9]);
    let county = format!("{:0<12}", &gw_grid[..6]);
    let patrol = st
        .create_team(
            &dispatcher,
            TeamInput {
                name: "红袖标治安巡防队".into(),
                kind: "patrol".into(),
                region: township,
                grids: vec![gw_grid.to_string()],
                contact: Some(gw.username.clone()),
                ..TeamInput::default()
            },
            start,
        )
        .await
        .context("demo patrol team")?;
    let volunteers = st
        .create_team(
            &dispatcher,
            TeamInput {
                name: "吴兴区平安志愿者服务队".into(),
                kind: "volunteer".into(),
                region: county,
                ..TeamInput::default()
            },
            start,
        )
        .await
        .context("demo volunteer team")?;
    let mut n_members = 0;
    let mut phone = 0u32;
    let mut member_ids = vec![];
    for (team, size, skills) in [
        (&patrol, 16, vec!["patrol".to_string()]),
        (
            &volunteers,
            14,
            vec!["anti_fraud".to_string(), "elderly_care".to_string()],
        ),
    ] {
        let mut inputs = vec![];
        for i in 0..size {
            phone += 1;
            let mut sk = skills.clone();
            if i % 4 == 0 {
                sk.push("first_aid".into());
            }
            inputs.push(PersonInput {
                name: name(&mut rng),
                phone: format!("1700572{phone:04}"),
                skills: sk,
                skills_note: (i % 5 == 0).then(|| "退休教师".to_string()),
                consent: true,
                joined_on: Some((start.date_naive() - Duration::days(30)).to_string()),
                ..PersonInput::default()
            });
        }
        let rows = st.add_members(&dispatcher, team.id, inputs, start).await?;
        n_members += rows.len();
        member_ids.push(rows.iter().map(|m| m.id).collect::<Vec<_>>());
    }
    // Leaders: the first member of each team.
    for (team, ids) in [(&patrol, &member_ids[0]), (&volunteers, &member_ids[1])] {
        st.edit_team(
            &dispatcher,
            team.id,
            TeamInput {
                name: team.name.clone(),
                kind: team.kind.clone(),
                region: team.region_code.clone(),
                grids: crate::app::teams::grids_of(team),
                leader: Some(ids[0]),
                contact: (team.id == patrol.id).then(|| gw.username.clone()),
                ..TeamInput::default()
            },
            start,
        )
        .await?;
    }
    // Weekly schedules: Friday evenings for the patrol, Saturday mornings for the volunteers.
    let first_day = |weekday: u32| {
        let d = start.date_naive();
        d + Duration::days(((7 + weekday as i64) - d.weekday().num_days_from_monday() as i64) % 7)
    };
    let mut n_logs = 0;
    let mut n_cases = 0;
    for (team, ids, weekday, hour, user) in [
        (&patrol, &member_ids[0], 4u32, 19u32, &gw),
        (&volunteers, &member_ids[1], 5, 9, &dispatcher),
    ] {
        let day = first_day(weekday);
        let first = crate::app::teams::day_start(day) + Duration::hours(hour as i64);
        let sched = st
            .create_schedule(
                &dispatcher,
                ScheduleInput {
                    team: team.id,
                    title: if team.id == patrol.id {
                        "周五晚间治安巡逻".into()
                    } else {
                        "周六上午反诈宣传巡访".into()
                    },
                    starts_at: first.to_rfc3339(),
                    ends_at: (first + Duration::hours(2)).to_rfc3339(),
                    grids: if team.id == patrol.id {
                        vec![gw_grid.to_string()]
                    } else {
                        vec![]
                    },
                    weekly: true,
                    ..ScheduleInput::default()
                },
                start,
            )
            .await?;
        let mut t = first;
        let mut week = 0;
        while t + Duration::hours(2) < now {
            let k = rng.random_range(3..=6).min(ids.len());
            let mut who: Vec<Uuid> = vec![];
            while who.len() < k {
                let m = ids[rng.random_range(0..ids.len())];
                if !who.contains(&m) {
                    who.push(m);
                }
            }
            let minutes = 90 + 15 * rng.random_range(0..4);
            let mut findings = vec![];
            // Every fifth week a problem goes to the command center as a case; otherwise the
            // patrol notes what it settled on the spot, or nothing.
            let finding = if week % 5 == 2 {
                Some(FINDINGS[rng.random_range(0..3)])
            } else if rng.random_bool(0.5) {
                Some(FINDINGS[rng.random_range(3..FINDINGS.len())])
            } else {
                None
            };
            if let Some((text, cat)) = finding {
                // The patrol team's finds lie in the grid worker's own grid (she files them, and
                // her list holds her grid's cases); the volunteers' around it.
                let (lon, lat) = super::GRIDWORKER_POINT;
                let jitter = if team.id == patrol.id { 0.0 } else { 0.002 };
                findings.push(FindingInput {
                    text: text.into(),
                    category: cat.map(Into::into),
                    lat: Some(lat + jitter * rng.random_range(-1.0..1.0)),
                    lon: Some(lon + jitter * rng.random_range(-1.0..1.0)),
                    ..FindingInput::default()
                });
                n_cases += usize::from(cat.is_some());
            }
            st.record_patrol(
                user,
                LogInput {
                    client_id: Uuid::now_v7(),
                    team: team.id,
                    schedule: Some(sched.id),
                    started_at: t.to_rfc3339(),
                    ended_at: (t + Duration::minutes(minutes)).to_rfc3339(),
                    members: who,
                    grids: if team.id == patrol.id {
                        vec![gw_grid.to_string()]
                    } else {
                        vec![]
                    },
                    note: None,
                    findings,
                },
                vec![],
                t + Duration::minutes(minutes + 5),
            )
            .await
            .context("demo patrol log")?;
            n_logs += 1;
            week += 1;
            t += Duration::weeks(1);
        }
    }
    // A few hours entered by hand: the volunteers' anti-fraud training.
    for m in member_ids[1].iter().take(5) {
        st.add_hours(
            &dispatcher,
            volunteers.id,
            *m,
            &(now - Duration::days(10)).date_naive().to_string(),
            120,
            "反诈宣传培训",
            now,
        )
        .await?;
    }
    // Two residents' sign-ups waiting for the command center.
    for (team, who, ph) in [
        (Some(patrol.id), "沈丽华", "17005729001"),
        (None, "费国平", "17005729002"),
    ] {
        st.sign_up(
            PersonInput {
                name: who.into(),
                phone: ph.into(),
                skills: vec!["patrol".into()],
                consent: true,
                team,
                region: team.is_none().then(|| volunteers.region_code.clone()),
                ..PersonInput::default()
            },
            now,
        )
        .await?;
    }
    Ok((2, n_members, n_logs, n_cases))
}
