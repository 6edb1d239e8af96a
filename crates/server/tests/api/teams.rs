//! Stories of volunteer and patrol teams (群防群治), told over HTTP on each backend: a village's
//! patrol team in the demo grid worker's grid takes members by hand and from the public sign-up
//! page, patrols on a weekly schedule, logs a patrol whose findings become cases (linked both
//! ways; a retried upload stores nothing twice), and its hours and the month's honour roll match
//! a hand count and the rows themselves. Then scope (another township's team is a 404) and the
//! bad input of the issue, each a clear error naming the field with nothing written.

use super::helpers::*;
use calamine::Reader;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

story!(village_patrol_team_signs_up_patrols_and_is_honoured);
story!(team_scope_and_bad_input);
story!(the_pages_of_teams_patrols_and_sign_ups);

/// One count, with text and UUID arguments (in that order of `$n`).
async fn count(app: &TestApp, sql: &str, texts: &[&str], ids: &[Uuid]) -> i64 {
    macro_rules! run {
        ($p:expr) => {{
            let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()));
            for t in texts {
                q = q.bind(t.to_string());
            }
            for i in ids {
                q = q.bind(*i);
            }
            q.fetch_one($p).await.unwrap()
        }};
    }
    match &app.state.store {
        safegrid_store::Store::Sqlite(p) => run!(p),
        safegrid_store::Store::Postgres(p) => run!(p),
    }
}

fn id(v: &Value) -> Uuid {
    Uuid::parse_str(v.as_str().unwrap_or_else(|| panic!("no id: {v}"))).unwrap()
}

fn field(v: &Value) -> &str {
    v["error"]["field"].as_str().unwrap_or("")
}

async fn my_grid(app: &TestApp, gw: &Client) -> String {
    let (_, me) = get(gw, format!("{}/api/v1/auth/me", app.base)).await;
    me["grids"][0]
        .as_str()
        .or_else(|| me["user"]["grids"][0].as_str())
        .unwrap_or_else(|| panic!("grid of the demo grid worker: {me}"))
        .to_string()
}

/// A local (Asia/Shanghai) time today, `hours_ago` before now, as RFC 3339.
fn ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes))
        .with_timezone(&safegrid::app::time::shanghai())
        .to_rfc3339()
}

async fn village_patrol_team_signs_up_patrols_and_is_honoured(app: &TestApp) {
    let b = &app.base;
    let dispatcher = login(app, "demo-dispatcher").await;
    let gw = login(app, "demo-gridworker").await;
    let public = Client::new();
    let grid = my_grid(app, &gw).await;
    let village = grid[..12].to_string();

    // The command center sets up the village's patrol team, the grid worker as its contact.
    let (s, team) = post(
        &dispatcher,
        format!("{b}/api/v1/teams"),
        json!({"name": "红袖标巡防队", "kind": "patrol", "region": village, "grids": [grid], "contact": "demo-gridworker"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{team}");
    let team_id = id(&team["id"]);
    let mut members = vec![];
    for (name, phone) in [
        ("王建国", "13905720001"),
        ("李秀英", "13905720002"),
        ("张伟", "13905720003"),
    ] {
        let (s, m) = post(
            &dispatcher,
            format!("{b}/api/v1/teams/{team_id}/members"),
            json!({"name": name, "phone": phone, "skills": ["patrol"], "consent": true}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{m}");
        assert_eq!(m["phone"], format!("139****{}", &phone[7..]), "masked: {m}");
        members.push(id(&m["id"]));
    }
    // The leader is a member; the phone is revealed only with a reason, audited.
    let r = dispatcher
        .put(format!("{b}/api/v1/teams/{team_id}"))
        .json(
            &json!({"name": "红袖标巡防队", "kind": "patrol", "region": village, "grids": [grid],
                      "leader": members[0], "contact": "demo-gridworker", "version": 1}),
        )
        .send()
        .await
        .unwrap();
    let s = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (s, v["team"]["leader_name"].as_str()),
        (StatusCode::OK, Some("王建国")),
        "{v}"
    );
    let (s, v) = post(
        &dispatcher,
        format!("{b}/api/v1/teams/{team_id}/members/{}/reveal", members[0]),
        json!({"reason": "通知排班"}),
    )
    .await;
    assert_eq!(
        (s, v["phone"].as_str()),
        (StatusCode::OK, Some("13905720001")),
        "{v}"
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'team.member.reveal' AND target_id = $1",
            &[&members[0].to_string()],
            &[]
        )
        .await,
        1
    );

    // A resident signs up on the public page and follows it by the reference code.
    let (s, form) = get(&public, format!("{b}/api/v1/volunteer-applications/teams")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        form["teams"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == json!(team_id))
    );
    let (s, signed) = post(
        &public,
        format!("{b}/api/v1/volunteer-applications"),
        json!({"team": team_id, "name": "陈静", "phone": "13905720004", "skills": ["first_aid"],
               "skills_note": "退休护士", "consent": true, "consent_version": form["consent_version"]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{signed}");
    let code = signed["ref_code"].as_str().unwrap().to_string();
    let (_, st) = get(
        &public,
        format!("{b}/api/v1/volunteer-applications/status/{code}"),
    )
    .await;
    assert_eq!(
        (st["status"].as_str(), st["name"].as_str()),
        (Some("pending"), Some("陈*")),
        "{st}"
    );
    // One chose only the village: approving it needs a team. Another is declined with a reason.
    let (_, by_area) = post(
        &public,
        format!("{b}/api/v1/volunteer-applications"),
        json!({"region": village, "name": "赵磊", "phone": "13905720005", "consent": true}),
    )
    .await;
    let (_, other) = post(
        &public,
        format!("{b}/api/v1/volunteer-applications"),
        json!({"team": team_id, "name": "周敏", "phone": "13905720006", "consent": true}),
    )
    .await;
    let (s, list) = get(
        &dispatcher,
        format!("{b}/api/v1/volunteer-applications?status=pending"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let app_id = |name: &str| {
        id(&list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {list}"))["id"])
    };
    let (chen, zhao, zhou) = (app_id("陈静"), app_id("赵磊"), app_id("周敏"));
    assert!(by_area["ref_code"].is_string() && other["ref_code"].is_string());
    let (s, v) = post(
        &dispatcher,
        format!("{b}/api/v1/volunteer-applications/{chen}/approve"),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    members.push(id(&v["member"]));
    let (s, v) = post(
        &dispatcher,
        format!("{b}/api/v1/volunteer-applications/{zhao}/approve"),
        json!({}),
    )
    .await;
    assert_eq!(
        (s, field(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "team"),
        "{v}"
    );
    let (s, v) = post(
        &dispatcher,
        format!("{b}/api/v1/volunteer-applications/{zhao}/approve"),
        json!({"team": team_id}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = post(
        &dispatcher,
        format!("{b}/api/v1/volunteer-applications/{zhou}/decline"),
        json!({"reason": "本队已满员，已转介社区志愿服务站"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = post(
        &dispatcher,
        format!("{b}/api/v1/volunteer-applications/{chen}/approve"),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "decided once: {v}");
    let (_, st) = get(
        &public,
        format!("{b}/api/v1/volunteer-applications/status/{code}"),
    )
    .await;
    assert_eq!(st["status"], "approved", "{st}");
    let (_, st) = get(
        &public,
        format!(
            "{b}/api/v1/volunteer-applications/status/{}",
            other["ref_code"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(
        (st["status"].as_str(), st["reason"].as_str()),
        (Some("declined"), Some("本队已满员，已转介社区志愿服务站"))
    );
    let (_, detail) = get(&gw, format!("{b}/api/v1/teams/{team_id}")).await;
    assert_eq!(detail["team"]["members"], 5, "{detail}");
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM volunteer_members WHERE team_id = $1 AND consent_version <> '' AND consent_at > 0", &[], &[team_id]).await,
        5
    );

    // A weekly evening patrol along a planned route.
    let (s, sched) = post(
        &dispatcher,
        format!("{b}/api/v1/patrols/schedules"),
        json!({"team": team_id, "title": "周五晚间巡逻", "starts_at": ago(60 * 24 * 3), "ends_at": ago(60 * 24 * 3 - 120),
               "grids": [grid], "members": [members[0], members[1]], "weekly": true,
               "route": {"type": "LineString", "coordinates": [[120.02, 30.78], [120.03, 30.79]]}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{sched}");
    let (_, ss) = get(
        &gw,
        format!("{b}/api/v1/patrols/schedules?team={team_id}&days=14"),
    )
    .await;
    assert_eq!(
        ss["items"][0]["next"].as_array().map(Vec::len),
        Some(2),
        "{ss}"
    );

    // The grid worker logs tonight's patrol: two members, 2 hours, two findings, one a case now.
    let client_id = Uuid::now_v7();
    let log = json!({"client_id": client_id, "team": team_id, "schedule": sched["id"],
    "started_at": ago(180), "ended_at": ago(60), "members": [members[0], members[1]], "grids": [grid],
    "findings": [
        {"text": "小区东门路灯不亮", "category": "C0102", "lat": 30.78412, "lon": 120.02352},
        {"text": "3号楼楼道堆放杂物", "address": "3号楼2单元"}
    ]});
    // The grid worker's work log (民情日志) counts the patrol she logs: read it before and after.
    let shanghai = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let day =
        |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&shanghai).date_naive().to_string();
    let now = chrono::Utc::now();
    let log_url = format!(
        "{b}/api/v1/worklog?from={}&to={}",
        day(now - chrono::Duration::hours(4)),
        day(now)
    );
    let (s, before) = get(&gw, log_url.clone()).await;
    assert_eq!(s, StatusCode::OK, "{before}");
    let (s, v) = post(&gw, format!("{b}/api/v1/patrols"), log.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["minutes"], 120);
    let (_, after) = get(&gw, log_url).await;
    assert_eq!(
        after["total"]["patrols"].as_i64().unwrap(),
        before["total"]["patrols"].as_i64().unwrap() + 1,
        "{after}"
    );
    assert_eq!(
        after["total"]["patrol_minutes"].as_i64().unwrap(),
        before["total"]["patrol_minutes"].as_i64().unwrap() + 120,
        "{after}"
    );
    let case1 = id(&v["findings"][0]["case"]);
    assert!(v["findings"][1]["case"].is_null());
    // The offline queue retries: the first copy answers, nothing doubles.
    let (s, again) = post(&gw, format!("{b}/api/v1/patrols"), log.clone()).await;
    assert_eq!(
        (s, &again["replayed"]),
        (StatusCode::OK, &json!(true)),
        "{again}"
    );
    assert_eq!(again["findings"][0]["case"], v["findings"][0]["case"]);
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM patrol_logs WHERE id = $1",
            &[],
            &[client_id]
        )
        .await,
        1
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM patrol_log_members WHERE log_id = $1",
            &[],
            &[client_id]
        )
        .await,
        2
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM patrol_findings WHERE log_id = $1 AND case_id IS NOT NULL",
            &[],
            &[client_id]
        )
        .await,
        1
    );
    // Linked both ways: the case's report names the log.
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM case_events WHERE action = 'report' AND data LIKE $1 AND case_id = $2", &[&format!("%{client_id}%")], &[case1]).await,
        1
    );
    // The second finding becomes a case later, once.
    let (s, v) = post(
        &dispatcher,
        format!("{b}/api/v1/patrols/{client_id}/findings/1/case"),
        json!({"category": "C0102"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = post(
        &dispatcher,
        format!("{b}/api/v1/patrols/{client_id}/findings/1/case"),
        json!({"category": "C0102"}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM patrol_findings WHERE log_id = $1 AND case_id IS NOT NULL",
            &[],
            &[client_id]
        )
        .await,
        2
    );

    // A second patrol of 45 minutes by members 1 and 3; a manual entry of 90 minutes for member 4.
    let (s, v) = post(
        &gw,
        format!("{b}/api/v1/patrols"),
        json!({"client_id": Uuid::now_v7(), "team": team_id,
        "started_at": ago(50), "ended_at": ago(5), "members": [members[1], members[2]]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let today = chrono::Utc::now()
        .with_timezone(&safegrid::app::time::shanghai())
        .date_naive();
    let (s, v) = post(&dispatcher, format!("{b}/api/v1/teams/{team_id}/hours"),
        json!({"member": members[3], "served_on": today.to_string(), "minutes": 90, "note": "急救培训"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // Hand count: m0 120, m1 120 + 45, m2 45, m3 90 → the team 420 person-minutes.
    let month = today.format("%Y-%m").to_string();
    let (s, roll) = get(
        &gw,
        format!("{b}/api/v1/teams/honour-roll?month={month}&region={village}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{roll}");
    let got: Vec<(Uuid, i64)> = roll["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (id(&l["id"]), l["minutes"].as_i64().unwrap()))
        .collect();
    // Patrols that started late last month would fall out; the story runs at any hour, so allow it.
    let hand = vec![
        (members[1], 165),
        (members[0], 120),
        (members[3], 90),
        (members[2], 45),
    ];
    if ago(180)[..7] == month {
        assert_eq!(got, hand, "{roll}");
        assert_eq!(roll["teams"][0]["minutes"], 420, "{roll}");
    }
    // And the same figures straight from the rows.
    for (m, minutes) in &got {
        let from_rows = count(app, "SELECT COALESCE(CAST(SUM(minutes) AS BIGINT), 0) FROM patrol_log_members WHERE member_id = $1", &[], &[*m]).await
            + count(app, "SELECT COALESCE(CAST(SUM(minutes) AS BIGINT), 0) FROM volunteer_hours WHERE member_id = $1", &[], &[*m]).await;
        assert_eq!(from_rows, *minutes, "member {m}");
    }
    assert_eq!(roll["members"][0]["name"], "李**", "names masked: {roll}");
    let yesterday = today - chrono::Duration::days(1);
    let (s, hours) = get(
        &gw,
        format!("{b}/api/v1/teams/{team_id}/hours?from={yesterday}&to={today}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{hours}");
    let total: i64 = hours["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["minutes"].as_i64().unwrap())
        .sum();
    assert_eq!(
        total,
        count(
            app,
            "SELECT CAST(SUM(minutes) AS BIGINT) FROM patrol_log_members WHERE team_id = $1",
            &[],
            &[team_id]
        )
        .await
            + 90
    );
    // The roll as XLSX: a sheet of members, one of teams.
    let r = gw
        .get(format!(
            "{b}/api/v1/teams/honour-roll/export?month={month}&region={village}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap();
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let names = wb.sheet_names();
    assert_eq!(names.len(), 2);
    let sheet = wb.worksheet_range(&names[0]).unwrap();
    assert_eq!(sheet.height(), got.len() + 1);

    // The work log's count (H1 wires it): the grid worker recorded 2 patrols, 165 minutes.
    let gw_id = app
        .state
        .store
        .user_by_name("demo-gridworker")
        .await
        .unwrap()
        .id;
    let w = app
        .state
        .patrols_for_worklog(
            safegrid::app::patrols::PatrolSubject::Account(gw_id),
            chrono::Utc::now() - chrono::Duration::hours(4),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!((w.patrols, w.minutes), (2, 165));
    let w = app
        .state
        .patrols_for_worklog(
            safegrid::app::patrols::PatrolSubject::Member(members[1]),
            chrono::Utc::now() - chrono::Duration::hours(4),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!((w.patrols, w.minutes), (2, 165));
}

async fn team_scope_and_bad_input(app: &TestApp) {
    let b = &app.base;
    let root = login(app, "demo-admin").await;
    let townships: Vec<String> = {
        let sql = "SELECT code FROM regions WHERE level = 4 AND code LIKE '330502%' ORDER BY code";
        match &app.state.store {
            safegrid_store::Store::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await,
            safegrid_store::Store::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await,
        }
        .unwrap()
    };
    assert!(townships.len() >= 2);
    for (name, region) in [("t-disp-a", &townships[0]), ("t-disp-b", &townships[1])] {
        let (s, v) = post(&root, format!("{b}/api/v1/admin/users"),
            json!({"username": name, "role": "dispatcher", "password": PASSWORD, "regions": [region]})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let a = login(app, "t-disp-a").await;
    let other = login(app, "t-disp-b").await;
    let (s, team) = post(
        &a,
        format!("{b}/api/v1/teams"),
        json!({"name": "平安志愿者服务队", "kind": "volunteer", "region": townships[0]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{team}");
    let team_id = id(&team["id"]);
    // Another township's manager: the team does not exist for them.
    let (s, _) = get(&other, format!("{b}/api/v1/teams/{team_id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, list) = get(&other, format!("{b}/api/v1/teams")).await;
    assert!(
        !list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == json!(team_id))
    );
    let (s, _) = post(
        &other,
        format!("{b}/api/v1/teams/{team_id}/members"),
        json!({"name": "钱多多", "phone": "13905720011", "consent": true}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A resident's sign-up for the team is not theirs either.
    let (s, signed) = post(
        &Client::new(),
        format!("{b}/api/v1/volunteer-applications"),
        json!({"team": team_id, "name": "孔丽", "phone": "13905720012", "consent": true}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{signed}");
    let (_, mine) = get(&a, format!("{b}/api/v1/volunteer-applications")).await;
    let (_, theirs) = get(&other, format!("{b}/api/v1/volunteer-applications")).await;
    let kong = |l: &Value| {
        l["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == "孔丽")
            .map(|x| x["id"].clone())
    };
    assert!(kong(&theirs).is_none(), "{theirs}");
    let kong_id = kong(&mine).unwrap_or_else(|| panic!("{mine}"));
    let (s, _) = post(
        &other,
        format!(
            "{b}/api/v1/volunteer-applications/{}/decline",
            kong_id.as_str().unwrap()
        ),
        json!({"reason": "不是本镇"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Nor may they create a team outside their township.
    let (s, v) = post(
        &other,
        format!("{b}/api/v1/teams"),
        json!({"name": "越界队", "kind": "patrol", "region": townships[0]}),
    )
    .await;
    assert_eq!(
        (s, field(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "region"),
        "{v}"
    );

    // Bad members and sign-ups: each names its field, nothing is written.
    let members_before = count(app, "SELECT COUNT(*) FROM volunteer_members", &[], &[]).await;
    let apps_before = count(app, "SELECT COUNT(*) FROM volunteer_applications", &[], &[]).await;
    let public = Client::new();
    for (body, f) in [
        (json!({"name": "钱多多", "phone": "13905720011"}), "consent"),
        (
            json!({"name": "钱多多", "phone": "12345", "consent": true}),
            "phone",
        ),
        (
            json!({"name": "钱多多", "phone": "13905720011", "skills": ["juggling"], "consent": true}),
            "skills",
        ),
        (
            json!({"name": "钱\u{0}多多", "phone": "13905720011", "consent": true}),
            "name",
        ),
        (
            json!({"name": "钱多多", "phone": "13905720011", "consent": true, "consent_version": "2020-old"}),
            "consent_version",
        ),
    ] {
        let (s, v) = post(
            &a,
            format!("{b}/api/v1/teams/{team_id}/members"),
            body.clone(),
        )
        .await;
        assert_eq!(
            (s, field(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, f),
            "member {body}: {v}"
        );
        let mut signup = body.clone();
        signup["team"] = json!(team_id);
        let (s, v) = post(
            &public,
            format!("{b}/api/v1/volunteer-applications"),
            signup,
        )
        .await;
        assert_eq!(
            (s, field(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, f),
            "sign-up {body}: {v}"
        );
    }
    let (s, v) = post(
        &public,
        format!("{b}/api/v1/volunteer-applications"),
        json!({"name": "钱多多", "phone": "13905720011", "consent": true}),
    )
    .await;
    assert_eq!(
        (s, field(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "team"),
        "neither team nor area: {v}"
    );
    let (s, v) = get(
        &public,
        format!("{b}/api/v1/volunteer-applications/status/VNOSUCHCODE"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM volunteer_members", &[], &[]).await,
        members_before
    );
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM volunteer_applications", &[], &[]).await,
        apps_before
    );

    // Bad patrol logs: end before start, an outsider, no members; nothing written.
    let (_, m) = post(
        &a,
        format!("{b}/api/v1/teams/{team_id}/members"),
        json!({"name": "钱多多", "phone": "13905720011", "consent": true}),
    )
    .await;
    let member = id(&m["id"]);
    let logs_before = count(app, "SELECT COUNT(*) FROM patrol_logs", &[], &[]).await;
    let base = json!({"client_id": Uuid::now_v7(), "team": team_id, "started_at": ago(60), "ended_at": ago(30), "members": [member]});
    for (patch, f) in [
        (
            json!({"started_at": ago(30), "ended_at": ago(60)}),
            "ended_at",
        ),
        (
            json!({"started_at": base["started_at"], "ended_at": base["started_at"]}),
            "ended_at",
        ),
        (
            json!({"findings": [{"text": "井盖缺失", "category": "C0102"}]}),
            "findings[0].address",
        ),
        (json!({"members": []}), "members"),
        (json!({"members": [Uuid::now_v7()]}), "members[0]"),
        (json!({"started_at": "yesterday"}), "started_at"),
        (json!({"findings": [{"text": ""}]}), "findings[0].text"),
        (
            json!({"findings": [{"text": "井盖缺失", "category": "NOPE"}]}),
            "findings[0].category",
        ),
        (json!({"route": "x"}), ""),
    ] {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, v) = post(&a, format!("{b}/api/v1/patrols"), body).await;
        if f.is_empty() {
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "unknown field: {v}");
        } else {
            assert_eq!(
                (s, field(&v)),
                (StatusCode::UNPROCESSABLE_ENTITY, f),
                "{patch}: {v}"
            );
        }
    }
    // Another township's manager cannot log this team's patrols.
    let (s, v) = post(&other, format!("{b}/api/v1/patrols"), base.clone()).await;
    assert_eq!(
        (s, field(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "team"),
        "{v}"
    );
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM patrol_logs", &[], &[]).await,
        logs_before
    );
    // A schedule ending before it starts, or a route that is not a line.
    let (s, v) = post(
        &a,
        format!("{b}/api/v1/patrols/schedules"),
        json!({"team": team_id, "title": "夜巡", "starts_at": ago(10), "ends_at": ago(20)}),
    )
    .await;
    assert_eq!(
        (s, field(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "ended_at"),
        "{v}"
    );
    let (s, v) = post(&a, format!("{b}/api/v1/patrols/schedules"),
        json!({"team": team_id, "title": "夜巡", "starts_at": ago(20), "ends_at": ago(10), "route": {"type": "Point", "coordinates": [120.0, 30.0]}})).await;
    assert_eq!(
        (s, field(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "route"),
        "{v}"
    );
    // The good log goes in once.
    let (s, v) = post(&a, format!("{b}/api/v1/patrols"), base.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = post(&a, format!("{b}/api/v1/patrols"), base.clone()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM patrol_logs", &[], &[]).await,
        logs_before + 1
    );
    // The other township does not see it either.
    let (s, _) = get(
        &other,
        format!("{b}/api/v1/patrols/{}", base["client_id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A grid worker may read but not manage.
    let gw = login(app, "demo-gridworker").await;
    let (s, _) = post(
        &gw,
        format!("{b}/api/v1/teams"),
        json!({"name": "x", "kind": "patrol", "region": townships[0]}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn page(c: &Client, url: String) -> (StatusCode, String) {
    let r = c.get(url).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// The pages, in both languages: a resident signs up on /volunteer (with the form's token) and
/// follows it by code; the command center sees the demo's teams, a team, the sign-ups and the
/// honour roll; the grid worker logs a patrol from the form, and a second press stores nothing.
async fn the_pages_of_teams_patrols_and_sign_ups(app: &TestApp) {
    let b = &app.base;
    let resident = browser();
    let (s, html) = page(&resident, format!("{b}/volunteer")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("志愿者报名") && html.contains("红袖标治安巡防队"),
        "{html}"
    );
    let (_, en) = page(&resident, format!("{b}/volunteer?lang=en")).await;
    assert!(en.contains("Volunteer sign-up"));
    let team = html
        .split("<option value=\"")
        .nth(2)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let form = [
        ("csrf", csrf_of(&html)),
        ("team", team.clone()),
        ("name", "孙悦".into()),
        ("phone", "13905720099".into()),
        ("skills", "first_aid".into()),
        ("skills", "traffic".into()),
        ("consent", "on".into()),
        (
            "consent_version",
            safegrid_domain::team::CONSENT_VERSION.into(),
        ),
    ];
    // Without consent: the form comes back naming it, nothing stored.
    let before = count(app, "SELECT COUNT(*) FROM volunteer_applications", &[], &[]).await;
    let no_consent: Vec<_> = form
        .iter()
        .filter(|(k, _)| *k != "consent")
        .cloned()
        .collect();
    let r = resident
        .post(format!("{b}/volunteer"))
        .form(&no_consent)
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(text.contains("consent:"), "{text}");
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM volunteer_applications", &[], &[]).await,
        before
    );
    let r = resident
        .post(format!("{b}/volunteer"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let (_, html) = page(&resident, format!("{b}{to}")).await;
    assert!(html.contains("待审核"), "{html}");
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM volunteer_applications WHERE name = '孙悦' AND skills = '[\"first_aid\",\"traffic\"]'", &[], &[]).await,
        1
    );

    let staff = web_session(app, "demo-dispatcher", PASSWORD).await;
    for path in [
        "/work/teams",
        &format!("/work/teams/{team}"),
        "/work/teams/applications",
        "/work/patrols",
        "/work/patrols?lang=en",
    ] {
        let (s, html) = page(&staff, format!("{b}{path}")).await;
        assert_eq!(s, StatusCode::OK, "{path}: {html}");
        assert!(!html.contains("…"), "{path}: a missing string");
    }
    // The command center runs the team from its page: a weekly schedule, service hours, a
    // member leaving; a schedule ending before it starts comes back naming the field.
    let (_, html) = page(&staff, format!("{b}/work/teams/{team}")).await;
    let csrf = csrf_of(&html);
    let member = html
        .split(&format!("/work/teams/{team}/members/"))
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("a member's form")
        .to_string();
    let schedules = "SELECT COUNT(*) FROM patrol_schedules WHERE title = '周末夜巡'";
    let post_form = |path: String, form: Vec<(&'static str, String)>| {
        let staff = staff.clone();
        async move { staff.post(path).form(&form).send().await.unwrap() }
    };
    let bad = post_form(
        format!("{b}/work/teams/{team}/schedules"),
        vec![
            ("csrf", csrf.clone()),
            ("title", "周末夜巡".into()),
            ("starts_at", "2026-12-12T20:00".into()),
            ("ends_at", "2026-12-12T19:00".into()),
        ],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("ends_at"));
    assert_eq!(count(app, schedules, &[], &[]).await, 0);
    let r = post_form(
        format!("{b}/work/teams/{team}/schedules"),
        vec![
            ("csrf", csrf.clone()),
            ("title", "周末夜巡".into()),
            ("starts_at", "2026-12-12T20:00".into()),
            ("ends_at", "2026-12-12T22:00".into()),
            ("members", member.clone()),
            ("weekly", "on".into()),
            ("repeat_until", "2027-01-31".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(count(app, schedules, &[], &[]).await, 1);
    let (_, html) = page(&staff, format!("{b}/work/teams/{team}")).await;
    assert!(html.contains("周末夜巡"), "{html}");
    let r = post_form(
        format!("{b}/work/teams/{team}/hours"),
        vec![
            ("csrf", csrf.clone()),
            ("member", member.clone()),
            ("served_on", "2026-12-01".into()),
            ("hours", "1.5".into()),
            ("note", "消防宣传".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM volunteer_hours WHERE minutes = 90 AND note = '消防宣传'",
            &[],
            &[]
        )
        .await,
        1
    );
    let r = post_form(
        format!("{b}/work/teams/{team}/members/{member}/leave"),
        vec![("csrf", csrf.clone()), ("left_on", "".into())],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM volunteer_members WHERE left_on IS NOT NULL AND id = $1",
            &[],
            &[Uuid::parse_str(&member).unwrap()]
        )
        .await,
        1
    );

    let (_, html) = page(&staff, format!("{b}/work/teams/applications")).await;
    assert!(html.contains("孙悦") && html.contains("沈丽华"), "{html}");
    let (_, html) = page(&staff, format!("{b}/work/patrols")).await;
    assert!(
        html.contains("红袖标治安巡防队") || html.contains("吴兴区平安志愿者服务队"),
        "the demo's roll: {html}"
    );

    // The grid worker logs a patrol from the form; pressing twice stores it once.
    let gw = web_session(app, "demo-gridworker", PASSWORD).await;
    let (s, html) = page(&gw, format!("{b}/work/patrols/new?team={team}")).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    let client_id = html
        .split("name=\"client_id\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let member = html
        .split("name=\"members\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let local = |m: i64| {
        (chrono::Utc::now() - chrono::Duration::minutes(m))
            .with_timezone(&safegrid::app::time::shanghai())
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };
    let mut form = vec![
        ("csrf", csrf_of(&html)),
        ("team", team.clone()),
        ("client_id", client_id.clone()),
        ("started_at", local(30)),
        ("ended_at", local(90)),
        ("members", member),
        ("finding", "路口积水".into()),
    ];
    let r = gw
        .post(format!("{b}/work/patrols/new"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(
        text.contains("ended_at"),
        "end before start is named: {text}"
    );
    form[3].1 = local(90);
    form[4].1 = local(30);
    for _ in 0..2 {
        let r = gw
            .post(format!("{b}/work/patrols/new"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let cid = Uuid::parse_str(&client_id).unwrap();
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM patrol_logs WHERE id = $1",
            &[],
            &[cid]
        )
        .await,
        1
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM patrol_findings WHERE log_id = $1",
            &[],
            &[cid]
        )
        .await,
        1
    );
}
