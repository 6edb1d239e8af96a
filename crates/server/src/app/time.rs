//! Times as people read them: stored in UTC, shown in Asia/Shanghai (+08:00; China keeps no
//! daylight saving).

use crate::app::error::AppError;
use crate::app::error::AppResult;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// The Asia/Shanghai offset.
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// Times go out in Asia/Shanghai (+08:00), stored in UTC.
pub fn local_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&shanghai())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

pub fn opt_local_time(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(local_time)
}

pub fn parse_day(s: &str, field: &str, end: bool) -> AppResult<chrono::DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| AppError::invalid(field, "must be a date YYYY-MM-DD or an RFC 3339 time"))?;
    let t = if end {
        d.and_hms_opt(23, 59, 59)
    } else {
        d.and_hms_opt(0, 0, 0)
    }
    .expect("valid time");
    Ok((t - chrono::Duration::hours(8)).and_utc())
}
