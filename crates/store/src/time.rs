//! Times are stored as UTC milliseconds since the epoch on both backends.

use chrono::{DateTime, Utc};

pub fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

pub(crate) fn opt_to_ms(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(to_ms)
}

pub(crate) fn opt_from_ms(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.map(from_ms)
}
