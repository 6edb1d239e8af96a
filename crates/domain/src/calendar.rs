//! The official working calendar (工作日历) and deadline arithmetic (处置时限).
//!
//! Every day the State Council's schedule lists is either a holiday (法定节假日) or a weekend day
//! made a working day (调休上班); any other day is a working day Monday to Friday and a rest day
//! at the weekend. Local time is Asia/Shanghai, a fixed +08:00 (no DST since 1991).
//!
//! Working-time arithmetic runs on a "working clock": the number of working seconds between a
//! fixed origin and an instant. Whole days are counted in closed form (weekdays plus the table's
//! corrections), so a deadline of any length costs a binary search, never a walk over minutes.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, TimeDelta, Timelike, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::FieldError;

const BUILTIN_CSV: &str = include_str!("../../../data/calendar/cn_official_calendar_2004_2026.csv");
const OFFSET_SECS: i64 = 8 * 3600;
const DAY_SECS: i64 = 86_400;
const SHANGHAI: FixedOffset = match FixedOffset::east_opt(OFFSET_SECS as i32) {
    Some(offset) => offset,
    None => panic!("+08:00 is a valid offset"),
};
/// Days on either side of 1970 searched when inverting the working clock; beyond chrono's range.
const SEARCH_DAYS: i64 = 100_000_000;

/// The fixed +08:00 offset of Asia/Shanghai.
pub fn shanghai() -> FixedOffset {
    SHANGHAI
}

/// The instant in Shanghai local time.
pub fn to_local(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&SHANGHAI)
}

/// Whether the schedule makes a date a day off or a working day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DayKind {
    /// An official day off (放假), whatever the weekday.
    Holiday,
    /// A make-up working day (调休上班) on a weekend.
    Workday,
}

/// One line of the schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarEntry {
    pub date: NaiveDate,
    pub kind: DayKind,
    pub name_en: String,
    pub name_zh: String,
}

/// A calendar CSV problem: the 1-based line, the column and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}, {field}: {reason}")]
pub struct CalendarCsvError {
    pub line: usize,
    pub field: String,
    pub reason: String,
}

impl From<CalendarCsvError> for FieldError {
    fn from(e: CalendarCsvError) -> FieldError {
        FieldError::new(e.field, format!("line {}: {}", e.line, e.reason))
    }
}

const COLUMNS: [&str; 4] = ["date", "kind", "holiday_en", "holiday_zh"];

fn csv_err(line: usize, field: &str, reason: String) -> CalendarCsvError {
    let field = field.into();
    CalendarCsvError {
        line,
        field,
        reason,
    }
}

/// Splits a line on commas (the table has no quoting) and decodes each field, naming the
/// column of any invalid UTF-8. Splitting bytes is safe: a comma is never part of a multi-byte
/// UTF-8 sequence.
fn decode_fields(
    raw: &[u8],
    line: usize,
    names: &[String],
) -> Result<Vec<String>, CalendarCsvError> {
    let mut fields = Vec::new();
    for (i, field) in raw.trim_ascii().split(|&b| b == b',').enumerate() {
        let text = std::str::from_utf8(field).map_err(|e| {
            let name = match names.get(i) {
                Some(name) => name.as_str(),
                None if names.is_empty() => "header",
                None => "row",
            };
            let reason = format!("invalid UTF-8 at byte {} of the field", e.valid_up_to());
            csv_err(line, name, reason)
        })?;
        // PostgreSQL cannot store NUL in text: refused here, the same on both databases.
        if text.contains('\0') {
            let name = names.get(i).map_or("row", String::as_str);
            return Err(csv_err(
                line,
                name,
                "must not contain the NUL character (U+0000)".into(),
            ));
        }
        fields.push(text.trim().to_string());
    }
    Ok(fields)
}

/// Parses a calendar table with the header `date,kind,holiday_en,holiday_zh` (columns in any
/// order). Takes bytes so that invalid UTF-8 is reported with its line and column instead of
/// failing the whole file. Blank lines, a BOM and CRLF line ends are accepted.
pub fn parse_calendar_csv(bytes: &[u8]) -> Result<Vec<CalendarEntry>, CalendarCsvError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut lines = (1..)
        .zip(bytes.split(|&b| b == b'\n'))
        .filter(|(_, l)| !l.trim_ascii().is_empty());
    let expected = COLUMNS.join(",");
    let Some((header_line, raw)) = lines.next() else {
        return Err(csv_err(1, "header", format!("empty, expected {expected}")));
    };
    let header = decode_fields(raw, header_line, &[])?;
    let position = |c: &&str| header.iter().position(|h| h == c);
    let missing: Vec<_> = COLUMNS
        .into_iter()
        .filter(|c| position(c).is_none())
        .collect();
    if !missing.is_empty() {
        let reason = format!("missing column {}; expected {expected}", missing.join(", "));
        return Err(csv_err(header_line, "header", reason));
    }
    let idx = COLUMNS.map(|c| position(&c).unwrap_or_default());
    let mut first_seen: HashMap<NaiveDate, usize> = HashMap::new();
    let mut entries = Vec::new();
    for (line, raw) in lines {
        let fields = decode_fields(raw, line, &header)?;
        if fields.len() != header.len() {
            let name = header.get(fields.len()).map_or("row", String::as_str);
            let reason = format!("expected {} fields, found {}", header.len(), fields.len());
            return Err(csv_err(line, name, reason));
        }
        let [date, kind, name_en, name_zh] =
            idx.map(|i| fields.get(i).cloned().unwrap_or_default());
        let Ok(date) = NaiveDate::parse_from_str(&date, "%Y-%m-%d") else {
            let reason = format!("{date:?} is not a date YYYY-MM-DD");
            return Err(csv_err(line, "date", reason));
        };
        let kind = match kind.as_str() {
            "holiday" => DayKind::Holiday,
            "workday" => DayKind::Workday,
            _ => {
                let reason = format!("unknown kind {kind:?}; accepted: holiday, workday");
                return Err(csv_err(line, "kind", reason));
            }
        };
        if let Some(first) = first_seen.insert(date, line) {
            let reason = format!("{date} is already listed on line {first}");
            return Err(csv_err(line, "date", reason));
        }
        let entry = CalendarEntry {
            date,
            kind,
            name_en,
            name_zh,
        };
        entries.push(entry);
    }
    Ok(entries)
}

const fn hm(h: u32, m: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(h, m, 0) {
        Some(t) => t,
        None => panic!("valid time of day"),
    }
}

/// Office hours of a working day (工作时间): ordered, non-overlapping periods within one day,
/// in whole minutes. Serialised as text like "08:30-12:00,13:30-17:30".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkingHours {
    periods: Vec<(NaiveTime, NaiveTime)>,
}

impl Default for WorkingHours {
    /// 08:30–12:00 and 13:30–17:30, 7.5 hours.
    fn default() -> Self {
        // Evaluated at compile time, so the times are known to be valid.
        const PERIODS: [(NaiveTime, NaiveTime); 2] =
            [(hm(8, 30), hm(12, 0)), (hm(13, 30), hm(17, 30))];
        WorkingHours {
            periods: PERIODS.to_vec(),
        }
    }
}

impl WorkingHours {
    pub fn new(periods: Vec<(NaiveTime, NaiveTime)>) -> Result<WorkingHours, FieldError> {
        let err = |reason: String| Err(FieldError::new("working_hours", reason));
        if periods.is_empty() {
            return err("must list at least one period".into());
        }
        let mut previous_end: Option<NaiveTime> = None;
        for &(start, end) in &periods {
            let period = format!("{}-{}", start.format("%H:%M"), end.format("%H:%M"));
            if start.second() + end.second() + start.nanosecond() + end.nanosecond() != 0 {
                return err(format!("period {period} is not in whole minutes"));
            }
            if start >= end {
                return err(format!("period {period} must end after it starts"));
            }
            if previous_end.is_some_and(|p| start < p) {
                return err(format!("period {period} overlaps the one before"));
            }
            previous_end = Some(end);
        }
        Ok(WorkingHours { periods })
    }

    /// Parses "HH:MM-HH:MM" periods separated by commas, e.g. "08:30-12:00,13:30-17:30".
    pub fn parse(s: &str) -> Result<WorkingHours, FieldError> {
        let bad = || {
            let reason = format!("{s:?} is not a list like 08:30-12:00,13:30-17:30");
            FieldError::new("working_hours", reason)
        };
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
        let mut periods = Vec::new();
        for period in s.split(',') {
            let (a, b) = period.split_once('-').ok_or_else(bad)?;
            periods.push((time(a)?, time(b)?));
        }
        Self::new(periods)
    }

    pub fn periods(&self) -> &[(NaiveTime, NaiveTime)] {
        &self.periods
    }

    /// Working minutes in one working day.
    pub fn minutes_per_day(&self) -> i64 {
        self.day_secs() / 60
    }

    /// Periods as seconds since midnight.
    fn secs(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        let s = |t: &NaiveTime| i64::from(t.num_seconds_from_midnight());
        self.periods.iter().map(move |(a, b)| (s(a), s(b)))
    }

    fn day_secs(&self) -> i64 {
        self.secs().map(|(a, b)| b - a).sum()
    }

    /// Working seconds of a working day that have passed at `tod` seconds after midnight.
    fn offset(&self, tod: i64) -> i64 {
        self.secs().map(|(a, b)| tod.clamp(a, b) - a).sum()
    }

    /// The earliest time of day at which `offset` working seconds (1..=day_secs) have passed:
    /// reaching the end of a period yields that end, not the start of the next one.
    fn time_at(&self, mut offset: i64) -> i64 {
        let mut last_end = 0;
        for (a, b) in self.secs() {
            if offset <= b - a {
                return a + offset;
            }
            offset -= b - a;
            last_end = b;
        }
        last_end
    }
}

impl fmt::Display for WorkingHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (a, b)) in self.periods.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            write!(f, "{sep}{}-{}", a.format("%H:%M"), b.format("%H:%M"))?;
        }
        Ok(())
    }
}

/// Unit of a time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitUnit {
    /// 工作时: hours of working time.
    WorkingHours,
    /// 工作日: working days, counted as that many days' worth of working time.
    WorkingDays,
    /// 自然时: clock hours.
    NaturalHours,
    /// 自然日: 24-hour days.
    NaturalDays,
    /// 日 as statutes count it (民法典 arts. 201–203): the starting day does not count, the period
    /// ends at 24:00 of its last day, and a last day that is a rest day or holiday moves to the
    /// next working day of the official calendar. Used for the statutory clocks of petitions
    /// (信访工作条例) and court confirmation of mediation agreements.
    Days,
}

impl LimitUnit {
    pub const ALL: [LimitUnit; 5] = [
        Self::WorkingHours,
        Self::WorkingDays,
        Self::NaturalHours,
        Self::NaturalDays,
        Self::Days,
    ];

    pub fn as_str(self) -> &'static str {
        [
            "working_hours",
            "working_days",
            "natural_hours",
            "natural_days",
            "days",
        ][self as usize]
    }

    pub fn zh(self) -> &'static str {
        ["工作时", "工作日", "自然时", "自然日", "日"][self as usize]
    }

    /// Whether the unit counts working time only.
    pub fn is_working(self) -> bool {
        matches!(self, Self::WorkingHours | Self::WorkingDays)
    }
}

impl fmt::Display for LimitUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LimitUnit {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        let found = Self::ALL.into_iter().find(|u| u.as_str() == s.trim());
        found.ok_or_else(|| {
            let accepted = Self::ALL.map(Self::as_str).join(", ");
            FieldError::new("unit", format!("unknown unit {s:?}; accepted: {accepted}"))
        })
    }
}

/// A time limit (时限) such as "3 working_days"; serialised in that text form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Limit {
    pub amount: u32,
    pub unit: LimitUnit,
}

impl Limit {
    pub const fn new(amount: u32, unit: LimitUnit) -> Limit {
        Limit { amount, unit }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.unit)
    }
}

impl FromStr for Limit {
    type Err = FieldError;
    /// Parses "<amount> <unit>", e.g. "3 working_days"; errors name the field "limit".
    fn from_str(s: &str) -> Result<Self, FieldError> {
        let err = |reason: String| FieldError::new("limit", reason);
        let mut words = s.split_whitespace();
        let (Some(amount), Some(unit), None) = (words.next(), words.next(), words.next()) else {
            return Err(err(format!("{s:?} is not like \"3 working_days\"")));
        };
        let bad_amount = |_| {
            err(format!(
                "amount {amount:?} is not a whole number 0-{}",
                u32::MAX
            ))
        };
        let amount = amount.parse().map_err(bad_amount)?;
        let unit = unit.parse().map_err(|e: FieldError| err(e.reason))?;
        Ok(Limit { amount, unit })
    }
}

/// `FromStr` delegating to `parse`, and the `String` conversions serde goes through.
macro_rules! text_serde {
    ($($t:ident),*) => {$(
        impl TryFrom<String> for $t {
            type Error = FieldError;
            fn try_from(s: String) -> Result<Self, FieldError> {
                s.parse()
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.to_string()
            }
        }
    )*};
}

text_serde!(WorkingHours, Limit);

impl FromStr for WorkingHours {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        Self::parse(s)
    }
}

/// Traffic light of a time limit (红绿灯).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Light {
    /// 绿灯: in time.
    Green,
    /// 黄灯, 将到期: 80 % of the limit used.
    Yellow,
    /// 红灯, 超期: past the limit.
    Red,
}

impl Light {
    pub fn zh(self) -> &'static str {
        ["绿", "黄", "红"][self as usize]
    }
}

/// Red when `elapsed > limit`, yellow when `elapsed ≥ 80 %` of the limit, else green.
pub fn light(elapsed_minutes: i64, limit_minutes: i64) -> Light {
    // Widened so that the 80 % comparison is exact integer arithmetic and cannot overflow.
    let (elapsed, limit) = (i128::from(elapsed_minutes), i128::from(limit_minutes));
    if elapsed > limit {
        Light::Red
    } else if elapsed * 5 >= limit * 4 {
        Light::Yellow
    } else {
        Light::Green
    }
}

/// Days since 1970-01-01 (a Thursday).
fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - 719_163
}

fn is_weekend(day: i64) -> bool {
    (day + 3).rem_euclid(7) >= 5
}

/// The working calendar: the schedule's entries plus office hours. Working-time results have
/// one-second resolution; the sub-second part of a start instant is ignored for working units.
#[derive(Debug, Clone)]
pub struct WorkCalendar {
    /// Sorted by date, one per date.
    entries: Vec<CalendarEntry>,
    /// (day number, is working) for every entry, sorted.
    days: Vec<(i64, bool)>,
    /// (day number, running sum up to that day of +1 per make-up weekend workday and -1 per
    /// weekday holiday): how far the schedule moves the plain weekday count.
    corrections: Vec<(i64, i64)>,
    hours: WorkingHours,
}

static BUILTIN: LazyLock<WorkCalendar> = LazyLock::new(|| {
    // The embedded table is checked by the test `builtin_table_is_complete`.
    let entries = parse_calendar_csv(BUILTIN_CSV.as_bytes()).unwrap_or_default();
    WorkCalendar::new(entries, WorkingHours::default())
});

impl WorkCalendar {
    /// The embedded 2004–2026 table with the default office hours.
    pub fn builtin() -> WorkCalendar {
        BUILTIN.clone()
    }

    /// A calendar of `entries`; when a date repeats, the later entry wins.
    pub fn new(mut entries: Vec<CalendarEntry>, hours: WorkingHours) -> WorkCalendar {
        // Reverse, stable sort and keep the first of each date: the last given entry wins.
        entries.reverse();
        entries.sort_by_key(|e| e.date);
        entries.dedup_by_key(|e| e.date);
        let day = |e: &CalendarEntry| (day_number(e.date), e.kind == DayKind::Workday);
        let days: Vec<(i64, bool)> = entries.iter().map(day).collect();
        let (mut total, mut corrections) = (0, Vec::new());
        for &(day, working) in &days {
            let delta = i64::from(working) - i64::from(!is_weekend(day));
            total += delta;
            if delta != 0 {
                corrections.push((day, total));
            }
        }
        WorkCalendar {
            entries,
            days,
            corrections,
            hours,
        }
    }

    /// Replaces the entries of every year that `entries` mentions, e.g. to load next year's
    /// schedule when the State Council publishes it.
    pub fn with_entries(self, entries: impl IntoIterator<Item = CalendarEntry>) -> WorkCalendar {
        let new: Vec<CalendarEntry> = entries.into_iter().collect();
        let years: BTreeSet<i32> = new.iter().map(|e| e.date.year()).collect();
        let mut all = self.entries;
        all.retain(|e| !years.contains(&e.date.year()));
        all.extend(new);
        WorkCalendar::new(all, self.hours)
    }

    pub fn with_hours(self, hours: WorkingHours) -> WorkCalendar {
        WorkCalendar { hours, ..self }
    }

    pub fn entries(&self) -> &[CalendarEntry] {
        &self.entries
    }

    pub fn hours(&self) -> &WorkingHours {
        &self.hours
    }

    /// First to last year with entries; empty (`1..=0`) without entries. Outside it every
    /// weekday counts as a working day.
    pub fn covered_years(&self) -> RangeInclusive<i32> {
        match (self.entries.first(), self.entries.last()) {
            (Some(a), Some(b)) => a.date.year()..=b.date.year(),
            _ => RangeInclusive::new(1, 0),
        }
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.working(day_number(date))
    }

    fn working(&self, day: i64) -> bool {
        match self.days.binary_search_by_key(&day, |&(d, _)| d) {
            Ok(i) => self.days[i].1,
            Err(_) => !is_weekend(day),
        }
    }

    /// Working days from an arbitrary origin to the start of `day`: weekdays counted in closed
    /// form, then moved by the schedule's corrections before `day`.
    fn working_days_before(&self, day: i64) -> i64 {
        // Weeks counted from Monday 1969-12-29, day -3.
        let m = day + 3;
        let weekdays = 5 * m.div_euclid(7) + m.rem_euclid(7).min(5);
        let i = self.corrections.partition_point(|&(d, _)| d < day);
        weekdays + i.checked_sub(1).map_or(0, |i| self.corrections[i].1)
    }

    fn day_secs(&self) -> i64 {
        // Never zero for validated hours; the floor keeps the divisions below safe regardless.
        self.hours.day_secs().max(60)
    }

    /// The working clock: working seconds from the origin to instant `t` (whole seconds).
    fn working_clock(&self, t: DateTime<Utc>) -> i64 {
        let local = t.timestamp() + OFFSET_SECS;
        let (day, tod) = (local.div_euclid(DAY_SECS), local.rem_euclid(DAY_SECS));
        let today = self.hours.offset(tod) * i64::from(self.working(day));
        self.working_days_before(day) * self.day_secs() + today
    }

    /// The earliest instant at which the working clock reads `clock`; `None` past chrono's range.
    fn instant_at_clock(&self, clock: i64) -> Option<DateTime<Utc>> {
        let per_day = self.day_secs();
        let (mut lo, mut hi) = (-SEARCH_DAYS, SEARCH_DAYS);
        // Checked first so that the arithmetic below stays far from overflow.
        let range = self.working_days_before(lo) * per_day..self.working_days_before(hi) * per_day;
        if clock <= range.start || clock > range.end {
            return None;
        }
        let index = (clock - 1).div_euclid(per_day);
        let offset = clock - index * per_day;
        // Binary search for the working day with this index: working_days_before steps by one
        // exactly on working days, so the last day whose count is <= index is that day.
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.working_days_before(mid) <= index {
                lo = mid
            } else {
                hi = mid
            }
        }
        let secs = lo * DAY_SECS + self.hours.time_at(offset) - OFFSET_SECS;
        DateTime::from_timestamp(secs, 0)
    }

    /// The length of `limit` in its own clock's minutes.
    pub fn limit_minutes(&self, limit: Limit) -> i64 {
        let per_unit = match limit.unit {
            LimitUnit::WorkingHours | LimitUnit::NaturalHours => 60,
            LimitUnit::WorkingDays => self.hours.minutes_per_day(),
            LimitUnit::NaturalDays | LimitUnit::Days => 24 * 60,
        };
        i64::from(limit.amount) * per_unit
    }

    /// The instant `minutes` of the unit's clock after `start` (before it when negative, e.g. to
    /// resume an overdue case). For working units, time outside office hours and working days
    /// does not count, and the result is the earliest instant the clock reaches the target: a
    /// limit used up at 17:30 is due at 17:30, not at the next morning. Saturates at chrono's
    /// range.
    pub fn add_clock_minutes(
        &self,
        start: DateTime<Utc>,
        minutes: i64,
        unit: LimitUnit,
    ) -> DateTime<Utc> {
        let saturated = if minutes > 0 {
            DateTime::<Utc>::MAX_UTC
        } else {
            DateTime::<Utc>::MIN_UTC
        };
        if minutes == 0 {
            return start;
        }
        if !unit.is_working() {
            return TimeDelta::try_minutes(minutes)
                .and_then(|d| start.checked_add_signed(d))
                .unwrap_or(saturated);
        }
        let clock = self.working_clock(start);
        let target = clock.saturating_add(minutes.saturating_mul(60));
        self.instant_at_clock(target).unwrap_or(saturated)
    }

    /// When a case started at `start` with `limit` is due (到期时间).
    pub fn due(&self, start: DateTime<Utc>, limit: Limit) -> DateTime<Utc> {
        if limit.unit == LimitUnit::Days {
            return self.statutory_due(start, limit.amount);
        }
        self.add_clock_minutes(start, self.limit_minutes(limit), limit.unit)
    }

    /// The end of a period of `days` 日 started at `start`: 24:00 (Asia/Shanghai) of the last day,
    /// the starting day not counted, a last day off work moved to the next working day. An
    /// instant exactly at midnight belongs to the day that just ended, so a period chained onto
    /// another (an extension) starts where the first one ended.
    pub fn statutory_due(&self, start: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        let saturated = DateTime::<Utc>::MAX_UTC;
        let Some(just_before) = start.checked_sub_signed(TimeDelta::seconds(1)) else {
            return start;
        };
        let first = to_local(just_before).date_naive();
        let Some(mut last) = first.checked_add_days(chrono::Days::new(u64::from(days))) else {
            return saturated;
        };
        while !self.is_working_day(last) {
            match last.succ_opt() {
                Some(d) => last = d,
                None => return saturated,
            }
        }
        last.succ_opt()
            .and_then(|d| {
                d.and_time(NaiveTime::MIN)
                    .and_local_timezone(SHANGHAI)
                    .single()
            })
            .map(|t| t.to_utc())
            .unwrap_or(saturated)
    }

    /// When the light turns yellow: the first instant at which [`light`] of the elapsed clock
    /// minutes is no longer green, i.e. when ⌈80 %⌉ of the limit's minutes have passed.
    pub fn yellow_at(&self, start: DateTime<Utc>, limit: Limit) -> DateTime<Utc> {
        let minutes = self.limit_minutes(limit);
        // Rounded up: the light compares whole elapsed minutes with 80 % of the limit.
        self.add_clock_minutes(start, (minutes * 4 + 4) / 5, limit.unit)
    }

    /// Whole minutes of the unit's clock from `start` to `end`; 0 when `end <= start`.
    pub fn clock_minutes_between(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        unit: LimitUnit,
    ) -> i64 {
        if end <= start {
            0
        } else if unit.is_working() {
            (self.working_clock(end) - self.working_clock(start)) / 60
        } else {
            (end - start).num_minutes()
        }
    }

    /// The light at `now` of a limit started at `start`.
    pub fn light_at(&self, start: DateTime<Utc>, limit: Limit, now: DateTime<Utc>) -> Light {
        let elapsed = self.clock_minutes_between(start, now, limit.unit);
        light(elapsed, self.limit_minutes(limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use LimitUnit as U;
    use chrono::NaiveDateTime;
    use proptest::prelude::*;

    /// Shanghai local "YYYY-MM-DD HH:MM" as an instant.
    fn at(s: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        naive.and_local_timezone(shanghai()).unwrap().to_utc()
    }

    fn local(t: DateTime<Utc>) -> String {
        to_local(t).format("%Y-%m-%d %H:%M").to_string()
    }

    fn lim(s: &str) -> Limit {
        s.parse().unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn due_dates_worked_out_by_hand() {
        let cal = WorkCalendar::builtin();
        // Default hours 08:30-12:00 and 13:30-17:30: 450 working minutes a day.
        for (start, limit, due) in [
            // Fri 09-18 10:00 leaves 360 (10:00-12:00, 13:30-17:30); Sat 09-19 is off; Sun
            // 09-20 is a make-up workday (810); Mon 09-21 (1260 of 1350); the last 90 minutes
            // run 08:30-10:00 on Tue 09-22.
            ("2026-09-18 10:00", "3 working_days", "2026-09-22 10:00"),
            // Days 4 and 5 are Wed 09-23 and Thu 09-24; 09-25..27 are 中秋 holidays: Mon 09-28.
            ("2026-09-18 10:00", "6 working_days", "2026-09-28 10:00"),
            // Wed 09-30 16:00 leaves 90; 10-01..07 are 国庆 holidays; Thu 10-08 and Fri 10-09
            // bring 990; the make-up Sat 10-10 gives the last 360: 210 to 12:00, 150 from 13:30.
            ("2026-09-30 16:00", "3 working_days", "2026-10-10 16:00"),
            // 春节: Fri 02-13 15:00 leaves 150; make-up Sat 02-14 (600 of 900); 02-15..23 off;
            // Tue 02-24 needs 300: 210 to 12:00, 90 from 13:30.
            ("2026-02-13 15:00", "2 working_days", "2026-02-24 15:00"),
            // Thu 02-26 09:00 leaves 420, Fri 02-27 870, make-up Sat 02-28 1320: Mon 03-02 09:00.
            ("2026-02-26 09:00", "3 working_days", "2026-03-02 09:00"),
            // One hour to 12:00, lunch does not count, three more from 13:30.
            ("2026-11-18 11:00", "4 working_hours", "2026-11-18 16:30"),
            // Used up exactly at the end of the morning: due 12:00, not 13:30.
            ("2026-11-18 09:00", "3 working_hours", "2026-11-18 12:00"),
            // One minute on Fri 11-20, then Mon 11-23: 210 to 12:00 and 29 from 13:30.
            ("2026-11-20 17:29", "4 working_hours", "2026-11-23 13:59"),
            // The same on Fri 02-13 continues on the make-up Sat 02-14.
            ("2026-02-13 17:29", "4 working_hours", "2026-02-14 13:59"),
            // At closing time nothing is left that day.
            ("2026-11-20 17:30", "1 working_hours", "2026-11-23 09:30"),
            // On a holiday counting starts Thu 10-08 08:30; a whole day ends at 17:30 that day.
            ("2026-10-01 10:00", "1 working_days", "2026-10-08 17:30"),
            // Before opening time counting starts at 08:30.
            ("2026-11-18 06:00", "2 working_hours", "2026-11-18 10:30"),
            ("2026-01-30 10:00", "3 natural_days", "2026-02-02 10:00"),
            ("2026-02-28 22:00", "4 natural_hours", "2026-03-01 02:00"),
            ("2026-12-31 20:00", "1 natural_days", "2027-01-01 20:00"),
            ("2026-11-18 11:00", "0 working_days", "2026-11-18 11:00"),
        ] {
            let got = local(cal.due(at(start), lim(limit)));
            assert_eq!(got, due, "{start} + {limit}");
        }
    }

    #[test]
    fn clock_minutes_between_instants() {
        let cal = WorkCalendar::builtin();
        for (start, end, unit, minutes) in [
            // Fri 17:00-17:30 and Mon 08:30-09:00; 64 hours naturally.
            ("2026-11-20 17:00", "2026-11-23 09:00", U::WorkingHours, 60),
            ("2026-11-20 17:00", "2026-11-23 09:00", U::NaturalDays, 3840),
            ("2026-11-23 09:00", "2026-11-20 17:00", U::WorkingDays, 0),
            // 10-01..07 are holidays: nothing counts from closing time to opening time.
            ("2026-09-30 17:30", "2026-10-08 08:30", U::WorkingDays, 0),
            ("2026-09-30 17:30", "2026-10-08 08:31", U::WorkingDays, 1),
        ] {
            let got = cal.clock_minutes_between(at(start), at(end), unit);
            assert_eq!(got, minutes, "{start} to {end}");
        }
        assert_eq!(cal.limit_minutes(lim("3 working_days")), 1350);
        assert_eq!(cal.limit_minutes(lim("2 natural_days")), 2880);
    }

    #[test]
    fn lights_turn_at_80_and_after_100_percent() {
        // 80 % of 100 is 80; of 7 it is 5.6, so yellow from 6.
        for (elapsed, limit, expected) in [
            (79, 100, Light::Green),
            (80, 100, Light::Yellow),
            (100, 100, Light::Yellow),
            (101, 100, Light::Red),
            (5, 7, Light::Green),
            (6, 7, Light::Yellow),
            (0, 0, Light::Yellow),
            (i64::MAX, i64::MAX, Light::Yellow),
        ] {
            assert_eq!(light(elapsed, limit), expected, "{elapsed}/{limit}");
        }
        // 80 % of 4 working hours from Wed 11:00 is 192 minutes: 60 before lunch, 132 after.
        let cal = WorkCalendar::builtin();
        let (start, limit) = (at("2026-11-18 11:00"), lim("4 working_hours"));
        assert_eq!(local(cal.yellow_at(start, limit)), "2026-11-18 15:42");
        for (now, expected) in [
            ("2026-11-18 15:41", Light::Green),
            ("2026-11-18 15:42", Light::Yellow),
            ("2026-11-18 16:30", Light::Yellow),
            ("2026-11-18 16:31", Light::Red),
        ] {
            assert_eq!(cal.light_at(start, limit, at(now)), expected, "{now}");
        }
        assert_eq!(serde_json::to_string(&Light::Yellow).unwrap(), "\"yellow\"");
    }

    #[test]
    fn builtin_table_is_complete() {
        let cal = WorkCalendar::builtin();
        assert_eq!(cal.entries().len(), BUILTIN_CSV.lines().count() - 1);
        assert_eq!(cal.covered_years(), 2004..=2026);
        for e in cal.entries() {
            let working = e.kind == DayKind::Workday;
            assert_eq!(cal.is_working_day(e.date), working, "{}", e.date);
        }
        // Unlisted days: Monday to Friday work, weekends rest, also beyond the table.
        for (day, working) in [
            ("2026-11-20", true),
            ("2026-11-21", false),
            ("2031-03-03", true),
        ] {
            assert_eq!(cal.is_working_day(date(day)), working, "{day}");
        }
        let noon = to_local(at("2026-01-01 08:00")).to_rfc3339();
        assert_eq!(noon, "2026-01-01T08:00:00+08:00");
    }

    #[test]
    fn with_entries_replaces_whole_years() {
        let entry = |day: &str| CalendarEntry {
            date: date(day),
            kind: DayKind::Holiday,
            name_en: "Test".into(),
            name_zh: "测试".into(),
        };
        let cal = WorkCalendar::builtin().with_entries([entry("2026-11-20"), entry("2027-01-01")]);
        assert_eq!(cal.covered_years(), 2004..=2027);
        // 2026 now holds only 11-20, so 10-01 is an ordinary Thursday; 2025 is untouched.
        assert!(!cal.is_working_day(date("2026-11-20")));
        assert!(cal.is_working_day(date("2026-10-01")));
        assert!(!cal.is_working_day(date("2025-10-01")));
        let empty = WorkCalendar::new(vec![], Default::default());
        assert!(empty.covered_years().is_empty());
    }

    #[test]
    fn csv_errors_name_line_and_field() {
        let row = |r: &str| format!("date,kind,holiday_en,holiday_zh\n{r}").into_bytes();
        let dup = "2026-01-01,holiday,x,y\n\n2026-01-02,holiday,x,y\n2026-01-01,workday,x,y";
        let bad_utf8 = [row("\n2026-01-01,holiday,x,"), b"\xe5\x85\x83\xe6".to_vec()].concat();
        let cases = [
            (vec![], 1, "header", "empty"),
            (
                b"date,kind,holiday_en".to_vec(),
                1,
                "header",
                "missing column holiday_zh",
            ),
            (
                b"da\xfete,kind\n".to_vec(),
                1,
                "header",
                "invalid UTF-8 at byte 2",
            ),
            (row("2026-02-30,holiday,x,y"), 2, "date", "not a date"),
            (
                row("2026-02-03,weekend,x,y"),
                2,
                "kind",
                "accepted: holiday, workday",
            ),
            (
                row("2026-02-03,holiday,x"),
                2,
                "holiday_zh",
                "expected 4 fields",
            ),
            (row("2026-02-03,holiday,x,y,z"), 2, "row", "found 5"),
            (row("2026-02-03,holiday,x,春\0节"), 2, "holiday_zh", "NUL"),
            (
                row(dup),
                5,
                "date",
                "2026-01-01 is already listed on line 2",
            ),
            (bad_utf8, 3, "holiday_zh", "invalid UTF-8 at byte 3"),
        ];
        for (bytes, line, field, reason) in cases {
            let e = parse_calendar_csv(&bytes).unwrap_err();
            assert_eq!((e.line, e.field.as_str()), (line, field), "{e}");
            assert!(e.reason.contains(reason), "{e}");
        }
        let ok = "\u{feff}kind,date,holiday_zh,holiday_en\r\n\r\nholiday,2026-01-01,元旦,x\r\n";
        let entries = parse_calendar_csv(ok.as_bytes()).unwrap();
        assert_eq!(entries[0].name_zh, "元旦");
        assert_eq!(entries[0].kind, DayKind::Holiday);
        let e = FieldError::from(parse_calendar_csv(b"x").unwrap_err());
        assert_eq!(e.field, "header");
    }

    #[test]
    fn working_hours_and_limits_parse() {
        let hours = WorkingHours::default();
        assert_eq!(
            WorkingHours::parse(" 08:30-12:00, 13:30-17:30"),
            Ok(hours.clone())
        );
        assert_eq!(hours.to_string(), "08:30-12:00,13:30-17:30");
        assert_eq!(hours.minutes_per_day(), 450);
        for bad in [
            "",
            "08:30-12:00,11:00-17:30",
            "12:00-08:30",
            "8:3x-12",
            "9:00",
        ] {
            let e = WorkingHours::parse(bad).unwrap_err();
            assert_eq!(e.field, "working_hours", "{bad}");
        }
        for u in LimitUnit::ALL {
            assert_eq!(u.as_str().parse::<LimitUnit>(), Ok(u));
        }
        let e = "day".parse::<LimitUnit>().unwrap_err();
        let accepted = "working_hours, working_days, natural_hours, natural_days, days";
        assert!(e.reason.contains(accepted));
        assert_eq!(lim(" 3  working_days ").to_string(), "3 working_days");
        let json = serde_json::to_string(&(lim("4 natural_hours"), U::WorkingDays));
        assert_eq!(json.unwrap(), r#"["4 natural_hours","working_days"]"#);
        for bad in [
            "3",
            "x working_days",
            "-1 working_days",
            "3 day",
            "3 working_days x",
        ] {
            assert_eq!(bad.parse::<Limit>().unwrap_err().field, "limit", "{bad}");
        }
    }

    /// 日 counts like a statute: start day excluded, end at 24:00, a last day in 春节 or 国庆
    /// (or at a weekend) moved to the next working day; 工作日 skips the holidays and counts the
    /// make-up Saturdays (调休); natural days ignore the calendar.
    #[test]
    fn statutory_days_roll_past_spring_festival_and_national_day() {
        let cal = WorkCalendar::builtin();
        // 15 日 from 31 January 2026: the last day, 15 February, is 春节 (15–23 Feb).
        let due = cal.due(at("2026-01-31 10:00"), lim("15 days"));
        assert_eq!(local(due), "2026-02-25 00:00");
        // 15 日 from 16 September 2026: 1 October is 国庆 (1–7 Oct); Thursday 8 October works.
        let due = cal.due(at("2026-09-16 09:00"), lim("15 days"));
        assert_eq!(local(due), "2026-10-09 00:00");
        // The same span in natural days does not roll.
        let natural = cal.due(at("2026-09-16 09:00"), lim("15 natural_days"));
        assert_eq!(local(natural), "2026-10-01 09:00");
        // A last day on a Saturday moves to Monday.
        let due = cal.due(at("2026-11-06 16:00"), lim("15 days"));
        assert_eq!(local(due), "2026-11-24 00:00");
        // A last day that is a working day stays, even late at night.
        let due = cal.due(at("2026-11-20 23:59"), lim("60 days"));
        assert_eq!(local(due), "2027-01-20 00:00");
        // Chained: an extension of 30 日 starts where the first period ended (midnight belongs to
        // the day that ended), so it adds exactly 30 days unless the new last day is off work.
        // 60 日 from 2 March 2026 end on 1 May, 劳动节 (1–5 May): the period runs to 6 May.
        let due = cal.due(at("2026-03-02 10:00"), lim("60 days"));
        assert_eq!(local(due), "2026-05-07 00:00");
        let first = cal.due(at("2026-03-16 10:00"), lim("60 days"));
        assert_eq!(local(first), "2026-05-16 00:00");
        // 30 more: 14 June is a Sunday, so Monday 15 June is the last day.
        let extended = cal.due(first, lim("30 days"));
        assert_eq!(local(extended), "2026-06-16 00:00");
        // 5 工作日 from Tuesday 29 September 2026, 10:00: 29 and 30 September, then 8, 9 and the
        // make-up Saturday 10 October, ending Monday 12 October at 10:00.
        let due = cal.due(at("2026-09-29 10:00"), lim("5 working_days"));
        assert_eq!(local(due), "2026-10-12 10:00");
        // 5 工作日 from the eve of 春节 2025 (Monday 27 January): 26 Jan was the make-up day,
        // 28 Jan – 4 Feb off, so Wednesday 5 February through Monday 10 February.
        let due = cal.due(at("2025-01-27 17:30"), lim("5 working_days"));
        assert_eq!(local(due), "2025-02-10 17:30");
        assert_eq!("15 days".parse::<Limit>(), Ok(Limit::new(15, U::Days)));
        assert_eq!(U::Days.zh(), "日");
    }

    #[test]
    fn long_and_extreme_limits_neither_hang_nor_panic() {
        let (cal, start) = (WorkCalendar::builtin(), at("2005-03-01 09:00"));
        let due = cal.due(start, lim("365 working_days"));
        let minutes = cal.clock_minutes_between(start, due, U::WorkingDays);
        assert_eq!(minutes, 365 * 450);
        let (min, max) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        for unit in LimitUnit::ALL {
            assert!(cal.due(start, Limit::new(u32::MAX, unit)) > due);
            assert_eq!(cal.add_clock_minutes(max, i64::MAX, unit), max);
            assert_eq!(cal.add_clock_minutes(min, i64::MIN, unit), min);
            assert!(cal.clock_minutes_between(min, max, unit) > 0);
        }
    }

    /// Independent reference for working units: walks day by day and period by period from a
    /// whole-minute local start.
    fn walk(cal: &WorkCalendar, start: NaiveDateTime, mut minutes: i64) -> NaiveDateTime {
        let (mut day, mut from) = (start.date(), start.time());
        loop {
            for &(a, b) in cal
                .hours()
                .periods()
                .iter()
                .filter(|_| cal.is_working_day(day))
            {
                let len = (b - a.max(from)).num_minutes();
                if len > 0 && minutes <= len {
                    return day.and_time(a.max(from)) + TimeDelta::minutes(minutes);
                }
                minutes -= len.max(0);
            }
            (day, from) = (day.succ_opt().unwrap(), NaiveTime::MIN);
        }
    }

    fn start_2005_2026() -> impl Strategy<Value = DateTime<Utc>> {
        let (a, b) = (
            at("2005-01-01 00:00").timestamp(),
            at("2027-01-01 00:00").timestamp(),
        );
        (a / 60..b / 60).prop_map(|m| DateTime::from_timestamp(m * 60, 0).unwrap())
    }

    fn any_limit() -> impl Strategy<Value = Limit> {
        (0u32..=400, 0..4usize).prop_map(|(n, u)| Limit::new(n, LimitUnit::ALL[u]))
    }

    proptest! {
        #[test]
        fn due_uses_exactly_the_limit(start in start_2005_2026(), limit in any_limit()) {
            let cal = WorkCalendar::builtin();
            let (due, minutes) = (cal.due(start, limit), cal.limit_minutes(limit));
            prop_assert_eq!(cal.clock_minutes_between(start, due, limit.unit), minutes);
            if limit.unit.is_working() && minutes > 0 {
                let expected = walk(&cal, to_local(start).naive_local(), minutes);
                prop_assert_eq!(to_local(due).naive_local(), expected);
            }
        }

        #[test]
        fn due_is_monotonic_in_amount(start in start_2005_2026(), a in any_limit(), more in 0u32..50) {
            let cal = WorkCalendar::builtin();
            let b = Limit::new(a.amount + more, a.unit);
            prop_assert!(cal.due(start, a) <= cal.due(start, b));
            prop_assert!(cal.yellow_at(start, a) <= cal.due(start, a));
        }

        #[test]
        fn yellow_at_is_where_the_light_turns(start in start_2005_2026(), limit in any_limit()) {
            let cal = WorkCalendar::builtin();
            let yellow = cal.yellow_at(start, limit);
            prop_assert_ne!(cal.light_at(start, limit, yellow), Light::Green);
            if yellow > start {
                let before = yellow - TimeDelta::seconds(1);
                prop_assert_eq!(cal.light_at(start, limit, before), Light::Green);
            }
        }

        #[test]
        fn negative_minutes_go_back_exactly(start in start_2005_2026(), m in 1i64..300_000, u in 0..4usize) {
            let (cal, unit) = (WorkCalendar::builtin(), LimitUnit::ALL[u]);
            let earlier = cal.add_clock_minutes(start, -m, unit);
            prop_assert_eq!(cal.clock_minutes_between(earlier, start, unit), m);
        }

        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut input = b"date,kind,holiday_en,holiday_zh\n".to_vec();
            input.extend(bytes);
            let _ = parse_calendar_csv(&input);
            let text = String::from_utf8_lossy(&input);
            let _ = (WorkingHours::parse(&text), text.parse::<Limit>());
        }
    }
}
