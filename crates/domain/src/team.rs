//! Group prevention (群防群治): volunteer and patrol teams, their members, patrols and hours, as
//! plain rules. Members are volunteers, not accounts; a patrol is a planned area or route and a
//! log of what happened, never a record of where a person went.

use crate::error::FieldError;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde_json::Value;
use std::collections::BTreeMap;

/// Team kinds: (code, zh, en).
pub const KINDS: &[(&str, &str, &str)] = &[
    ("volunteer", "平安志愿者队", "Safety volunteers"),
    ("patrol", "巡防队", "Patrol team"),
    ("building_captain", "楼道长", "Building captains"),
    ("good_neighbour", "好邻居", "Good neighbours"),
    ("mediation", "和事佬调解队", "Mediation volunteers"),
    ("other", "其他", "Other"),
];

/// Skills a volunteer may tick (a closed list; anything else goes into their own words):
/// (code, zh, en).
pub const SKILLS: &[(&str, &str, &str)] = &[
    ("patrol", "治安巡逻", "Patrolling"),
    ("first_aid", "急救", "First aid"),
    ("fire", "消防", "Fire safety"),
    ("mediation", "矛盾调解", "Mediation"),
    ("traffic", "交通劝导", "Traffic guidance"),
    ("anti_fraud", "反诈宣传", "Anti-fraud outreach"),
    ("elderly_care", "助老服务", "Care for the elderly"),
    ("dialect", "方言翻译", "Dialect interpreting"),
    ("driving", "驾驶", "Driving"),
    ("it", "信息技术", "IT"),
];

/// The consent text's version a sign-up agrees to. A new wording takes a new version, so what
/// each member agreed to stays known.
pub const CONSENT_VERSION: &str = "2026-12-v1";

/// The consent text (zh, en) of [`CONSENT_VERSION`].
pub const CONSENT_TEXT: (&str, &str) = (
    "我同意平安志愿者组织保存我的姓名、手机号和技能，仅用于队伍联络、排班和服务时长统计；手机号对外脱敏显示，查看完整号码须说明理由并留痕；我可随时申请退出并删除信息。",
    "I agree that the volunteer organisation keeps my name, phone number and skills, only to contact me, plan patrols and count service hours; my number is shown masked, seeing it in full needs a reason and is logged; I may leave and have my data erased at any time.",
);

/// Longest patrol a log may record (a patrol of more than a day is a mistake in the times).
pub const MAX_PATROL_MINUTES: i64 = 24 * 60;

pub fn kind_name(code: &str, en: bool) -> &str {
    KINDS
        .iter()
        .find(|k| k.0 == code)
        .map_or(code, |k| if en { k.2 } else { k.1 })
}

pub fn skill_name(code: &str, en: bool) -> &str {
    SKILLS
        .iter()
        .find(|k| k.0 == code)
        .map_or(code, |k| if en { k.2 } else { k.1 })
}

/// Checks a team kind.
pub fn check_kind(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    KINDS
        .iter()
        .find(|k| k.0 == s)
        .map(|k| k.0.to_string())
        .ok_or_else(|| {
            let codes: Vec<&str> = KINDS.iter().map(|k| k.0).collect();
            FieldError::new("kind", format!("must be one of {}", codes.join(", ")))
        })
}

/// Checks ticked skills against [`SKILLS`]: sorted, each once.
pub fn check_skills(skills: &[String]) -> Result<Vec<String>, FieldError> {
    let mut out = vec![];
    for s in skills {
        let s = s.trim();
        if !SKILLS.iter().any(|k| k.0 == s) {
            let codes: Vec<&str> = SKILLS.iter().map(|k| k.0).collect();
            return Err(FieldError::new(
                "skills",
                format!(
                    "{s:?} is not a listed skill ({}); write others in skills_note",
                    codes.join(", ")
                ),
            ));
        }
        out.push(s.to_string());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Minutes of a patrol from its start and end: the end must come after the start (else the
/// error names `ended_at`), within a day.
pub fn patrol_minutes(started: DateTime<Utc>, ended: DateTime<Utc>) -> Result<i64, FieldError> {
    if ended <= started {
        return Err(FieldError::new("ended_at", "must be after started_at"));
    }
    let minutes = (ended - started).num_minutes();
    if minutes < 1 {
        return Err(FieldError::new(
            "ended_at",
            "a patrol lasts at least a minute; check the times",
        ));
    }
    if minutes > MAX_PATROL_MINUTES {
        return Err(FieldError::new(
            "ended_at",
            "a patrol lasts at most 24 hours; check the times",
        ));
    }
    Ok(minutes)
}

/// Checks a planned route: a GeoJSON LineString (or a Feature holding one) of 2–500 WGS84
/// points. Returns it compacted. Only a plan is kept; nobody's actual track is.
pub fn check_route(text: &str) -> Result<String, FieldError> {
    let err = |r: &str| FieldError::new("route", r.to_string());
    let v: Value =
        serde_json::from_str(text).map_err(|_| err("must be a GeoJSON LineString (JSON)"))?;
    let geom = if v["type"] == "Feature" {
        v["geometry"].clone()
    } else {
        v
    };
    if geom["type"] != "LineString" {
        return Err(err("must be a GeoJSON LineString"));
    }
    let coords = geom["coordinates"]
        .as_array()
        .ok_or_else(|| err("needs coordinates"))?;
    if coords.len() < 2 || coords.len() > 500 {
        return Err(err("needs 2 to 500 points"));
    }
    for c in coords {
        let (Some(lon), Some(lat)) = (c[0].as_f64(), c[1].as_f64()) else {
            return Err(err("each point is [lon, lat]"));
        };
        if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
            return Err(err("a point lies outside [-180, 180] × [-90, 90]"));
        }
    }
    Ok(serde_json::json!({"type": "LineString", "coordinates": coords}).to_string())
}

/// The starts of a schedule's occurrences that begin in `[from, to)`: the first one, and with
/// `weekly` the same time every 7 days up to `until` (a local date, included; `until_end` is
/// the first instant after it).
pub fn occurrences(
    first: DateTime<Utc>,
    weekly: bool,
    until_end: Option<DateTime<Utc>>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let mut out = vec![];
    let mut t = first;
    if weekly && t < from {
        let weeks = (from - t).num_days() / 7;
        t += Duration::weeks(weeks);
    }
    let last = until_end.unwrap_or(to).min(to);
    while t < last && out.len() < 1000 {
        if t >= from {
            out.push(t);
        }
        if !weekly {
            break;
        }
        t += Duration::weeks(1);
    }
    out
}

/// A calendar month `YYYY-MM`: its first day and the first day of the next.
pub fn month(s: &str) -> Result<(NaiveDate, NaiveDate), FieldError> {
    let first = NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d")
        .map_err(|_| FieldError::new("month", "must be a month YYYY-MM"))?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .ok_or_else(|| FieldError::new("month", "is out of range"))?;
    Ok((first, next))
}

/// The top `n` of an honour roll (光荣榜): keys by minutes, most first, ties by key so the
/// order is stable; nobody with no minutes.
pub fn honour_roll<K: Ord + Clone>(minutes: &BTreeMap<K, i64>, n: usize) -> Vec<(K, i64)> {
    let mut v: Vec<(K, i64)> = minutes
        .iter()
        .filter(|(_, m)| **m > 0)
        .map(|(k, m)| (k.clone(), *m))
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

/// Minutes as hours with one decimal (what rolls and tables show).
pub fn hours(minutes: i64) -> f64 {
    (minutes as f64 / 6.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, h, m, 0).unwrap()
    }

    #[test]
    fn a_patrol_ends_after_it_starts() {
        assert_eq!(patrol_minutes(t(10, 0), t(12, 30)).unwrap(), 150);
        assert_eq!(
            patrol_minutes(t(12, 0), t(10, 0)).unwrap_err().field,
            "ended_at"
        );
        assert_eq!(
            patrol_minutes(t(10, 0), t(10, 0)).unwrap_err().field,
            "ended_at"
        );
    }

    #[test]
    fn skills_come_from_the_list() {
        assert_eq!(
            check_skills(&["patrol".into(), "first_aid".into(), "patrol".into()]).unwrap(),
            vec!["first_aid".to_string(), "patrol".to_string()]
        );
        assert_eq!(
            check_skills(&["juggling".into()]).unwrap_err().field,
            "skills"
        );
    }

    #[test]
    fn routes_are_lines() {
        assert!(
            check_route(r#"{"type":"LineString","coordinates":[[120.1,30.8],[120.2,30.9]]}"#)
                .is_ok()
        );
        assert!(check_route(r#"{"type":"Point","coordinates":[120.1,30.8]}"#).is_err());
        assert!(
            check_route(r#"{"type":"LineString","coordinates":[[520.1,30.8],[120.2,30.9]]}"#)
                .is_err()
        );
    }

    #[test]
    fn weekly_occurrences_stop_at_the_last_day() {
        let first = t(12, 0);
        let until = first + Duration::days(15);
        let got = occurrences(first, true, Some(until), first, first + Duration::days(60));
        assert_eq!(got.len(), 3);
        let got = occurrences(
            first,
            true,
            None,
            first + Duration::days(8),
            first + Duration::days(22),
        );
        assert_eq!(
            got,
            vec![first + Duration::days(14), first + Duration::days(21)]
        );
        assert_eq!(
            occurrences(first, false, None, first, first + Duration::days(60)).len(),
            1
        );
    }

    #[test]
    fn honour_roll_ranks_by_minutes_then_key() {
        let m: BTreeMap<&str, i64> = [("b", 60), ("a", 60), ("c", 120), ("d", 0)].into();
        assert_eq!(honour_roll(&m, 3), vec![("c", 120), ("a", 60), ("b", 60)]);
        assert_eq!(month("2026-12").unwrap().1.to_string(), "2027-01-01");
        assert!(month("2026-13").is_err());
        assert_eq!(hours(90), 1.5);
    }
}
