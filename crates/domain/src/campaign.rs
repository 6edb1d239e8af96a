//! Screening campaigns (专项行动, 隐患排查整治): the checklist a campaign's inspections answer, which
//! answers mean a hazard (隐患) and what case each opens, the campaign's life (draft → published →
//! closed, extended, copied) and the coverage arithmetic of its progress tables (表格化管理).
//! Pure rules: the application layer asks the catalog and the store and hands the answers here.

use crate::calendar::Limit;
use crate::error::FieldError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Most items a checklist may hold (a phone form stays answerable).
pub const MAX_ITEMS: usize = 60;
/// Most options of a choice item.
pub const MAX_OPTIONS: usize = 20;
/// Longest free-text answer, in characters.
pub const MAX_TEXT_ANSWER: usize = 500;

/// How an item is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerType {
    /// 是/否.
    YesNo,
    Number,
    /// One of the item's options.
    Choice,
    Text,
    /// The name of a photo uploaded with the inspection.
    Photo,
}

impl AnswerType {
    pub const ALL: [AnswerType; 5] = [
        AnswerType::YesNo,
        AnswerType::Number,
        AnswerType::Choice,
        AnswerType::Text,
        AnswerType::Photo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AnswerType::YesNo => "yes_no",
            AnswerType::Number => "number",
            AnswerType::Choice => "choice",
            AnswerType::Text => "text",
            AnswerType::Photo => "photo",
        }
    }

    pub fn parse(s: &str, field: &str) -> Result<AnswerType, FieldError> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s.trim())
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    format!(
                        "unknown answer type {s:?}; one of yes_no, number, choice, text, photo"
                    ),
                )
            })
    }
}

/// A hazard's severity: 一般隐患 or 重大隐患 (work-safety law's two grades). A major hazard's
/// case is opened urgent and supervised by name (挂牌督办).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    General,
    Major,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::General => "general",
            Severity::Major => "major",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            Severity::General => "一般隐患",
            Severity::Major => "重大隐患",
        }
    }
}

/// Which answers of an item mean a hazard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HazardWhen {
    /// yes/no: the answer that is a hazard (e.g. `false` for "an extinguisher is present").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<bool>,
    /// number: a hazard below this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    /// number: a hazard above this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<f64>,
    /// choice: the options that are a hazard.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any_of: Vec<String>,
}

/// What a hazard answer opens: a hazard case of `category`, dispatched to the county's department
/// of `department` kind, rectified within `limit` on the official calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HazardRule {
    pub when: HazardWhen,
    pub category: String,
    /// A department kind (departments.toml); the category's own when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default = "general")]
    pub severity: Severity,
    /// The rectification limit (整改时限), e.g. "7 natural_days".
    pub limit: String,
}

fn general() -> Severity {
    Severity::General
}

/// One item of a checklist (检查项).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// Stable key (lower_snake_case): answers, export columns and hazard links name it.
    pub key: String,
    pub text_zh: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_en: Option<String>,
    pub answer: AnswerType,
    /// The choices of a `choice` item.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Must be answered when the place is inspected.
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hazard: Option<HazardRule>,
}

/// What the catalog says of a category code: its case type and default department kind.
pub struct CategoryFacts {
    pub case_type: String,
    pub department: Option<String>,
}

/// A checked checklist (检查表).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Checklist {
    pub items: Vec<Item>,
}

fn text_ok(field: &str, s: &str, max: usize, required: bool) -> Result<(), FieldError> {
    let t = s.trim();
    if required && t.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if t.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if t.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// A key is 1–40 characters of a–z, 0–9 and `_`, starting with a letter.
pub fn check_key(field: &str, key: &str) -> Result<(), FieldError> {
    let ok = (1..=40).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!("{key:?} is not a key: 1-40 of a-z, 0-9, _ starting with a letter"),
        ))
    }
}

impl Checklist {
    /// Checks every item; errors name the item by position (`checklist[2].hazard.category`).
    /// `category` answers what the catalog holds for a code; `department_kind` whether a
    /// department kind exists.
    pub fn validate(
        items: Vec<Item>,
        category: &dyn Fn(&str) -> Option<CategoryFacts>,
        department_kind: &dyn Fn(&str) -> bool,
    ) -> Result<Checklist, FieldError> {
        if items.is_empty() {
            return Err(FieldError::new("checklist", "needs at least one item"));
        }
        if items.len() > MAX_ITEMS {
            return Err(FieldError::new(
                "checklist",
                format!("at most {MAX_ITEMS} items"),
            ));
        }
        let mut keys = BTreeSet::new();
        let mut out = Vec::with_capacity(items.len());
        for (i, mut item) in items.into_iter().enumerate() {
            let f = |name: &str| format!("checklist[{i}].{name}");
            check_key(&f("key"), &item.key)?;
            if !keys.insert(item.key.clone()) {
                return Err(FieldError::new(
                    f("key"),
                    format!("{} is used by an earlier item", item.key),
                ));
            }
            text_ok(&f("text_zh"), &item.text_zh, 200, true)?;
            item.text_zh = item.text_zh.trim().to_string();
            if let Some(en) = &item.text_en {
                text_ok(&f("text_en"), en, 200, false)?;
            }
            item.text_en = item
                .text_en
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty());
            match item.answer {
                AnswerType::Choice => {
                    if item.options.len() < 2 || item.options.len() > MAX_OPTIONS {
                        return Err(FieldError::new(
                            f("options"),
                            format!("a choice item needs 2-{MAX_OPTIONS} options"),
                        ));
                    }
                    let mut seen = BTreeSet::new();
                    for (j, o) in item.options.iter_mut().enumerate() {
                        text_ok(&f(&format!("options[{j}]")), o, 50, true)?;
                        *o = o.trim().to_string();
                        if !seen.insert(o.clone()) {
                            return Err(FieldError::new(
                                f(&format!("options[{j}]")),
                                format!("{o} is listed twice"),
                            ));
                        }
                    }
                }
                _ if !item.options.is_empty() => {
                    return Err(FieldError::new(
                        f("options"),
                        "only a choice item has options",
                    ));
                }
                _ => {}
            }
            if let Some(h) = &mut item.hazard {
                check_hazard(
                    &f("hazard"),
                    item.answer,
                    &item.options,
                    h,
                    category,
                    department_kind,
                )?;
            }
            out.push(item);
        }
        Ok(Checklist { items: out })
    }

    pub fn item(&self, key: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.key == key)
    }

    /// Checks an inspection's answers (keyed by item key) and returns the hazards they reveal, in
    /// checklist order. `complete` (the place was inspected) requires every required item;
    /// errors name the answer (`answers.extinguisher`). `photos` are the names of the photos
    /// sent with the inspection, which a photo answer must name.
    pub fn evaluate(
        &self,
        answers: &BTreeMap<String, Value>,
        complete: bool,
        photos: &[String],
    ) -> Result<Vec<Found>, FieldError> {
        for k in answers.keys() {
            if self.item(k).is_none() {
                return Err(FieldError::new(
                    format!("answers.{k}"),
                    "no checklist item has this key",
                ));
            }
        }
        let mut found = vec![];
        for item in &self.items {
            let field = format!("answers.{}", item.key);
            let v = match answers.get(&item.key) {
                None | Some(Value::Null) => {
                    if complete && item.required {
                        return Err(FieldError::new(field, "is required"));
                    }
                    continue;
                }
                Some(v) => v,
            };
            let hazard = match item.answer {
                AnswerType::YesNo => {
                    let b = v
                        .as_bool()
                        .ok_or_else(|| FieldError::new(&field, "must be true or false"))?;
                    item.hazard
                        .as_ref()
                        .is_some_and(|h| h.when.equals == Some(b))
                }
                AnswerType::Number => {
                    let n = v
                        .as_f64()
                        .filter(|n| n.is_finite())
                        .ok_or_else(|| FieldError::new(&field, "must be a number"))?;
                    item.hazard.as_ref().is_some_and(|h| {
                        h.when.below.is_some_and(|b| n < b) || h.when.above.is_some_and(|a| n > a)
                    })
                }
                AnswerType::Choice => {
                    let s = v.as_str().filter(|s| item.options.iter().any(|o| o == s));
                    let s = s.ok_or_else(|| {
                        FieldError::new(
                            &field,
                            format!("must be one of {}", item.options.join(", ")),
                        )
                    })?;
                    item.hazard
                        .as_ref()
                        .is_some_and(|h| h.when.any_of.iter().any(|o| o == s))
                }
                AnswerType::Text => {
                    let s = v
                        .as_str()
                        .ok_or_else(|| FieldError::new(&field, "must be text"))?;
                    text_ok(&field, s, MAX_TEXT_ANSWER, false)?;
                    false
                }
                AnswerType::Photo => {
                    let s = v.as_str().ok_or_else(|| {
                        FieldError::new(&field, "must name a photo sent with the inspection")
                    })?;
                    if !photos.iter().any(|p| p == s) {
                        return Err(FieldError::new(
                            &field,
                            format!("no photo named {s:?} was sent with the inspection"),
                        ));
                    }
                    false
                }
            };
            if hazard && let Some(h) = &item.hazard {
                found.push(Found {
                    item_key: item.key.clone(),
                    item_text: item.text_zh.clone(),
                    category: h.category.clone(),
                    department: h.department.clone(),
                    severity: h.severity,
                    limit: h.limit.parse().expect("checked by validate"),
                });
            }
        }
        Ok(found)
    }
}

fn check_hazard(
    field: &str,
    answer: AnswerType,
    options: &[String],
    h: &mut HazardRule,
    category: &dyn Fn(&str) -> Option<CategoryFacts>,
    department_kind: &dyn Fn(&str) -> bool,
) -> Result<(), FieldError> {
    let w = &h.when;
    let f = |n: &str| format!("{field}.{n}");
    match answer {
        AnswerType::YesNo if w.equals.is_none() => {
            return Err(FieldError::new(
                f("when.equals"),
                "a yes/no item names the answer (true or false) that is a hazard",
            ));
        }
        AnswerType::Number if w.below.is_none() && w.above.is_none() => {
            return Err(FieldError::new(
                f("when"),
                "a number item names a range: below and/or above",
            ));
        }
        AnswerType::Number
            if w.below.is_some_and(|b| !b.is_finite())
                || w.above.is_some_and(|a| !a.is_finite()) =>
        {
            return Err(FieldError::new(
                f("when"),
                "below and above must be numbers",
            ));
        }
        AnswerType::Choice => {
            if w.any_of.is_empty() {
                return Err(FieldError::new(
                    f("when.any_of"),
                    "a choice item lists the options that are a hazard",
                ));
            }
            if let Some(o) = w.any_of.iter().find(|o| !options.contains(o)) {
                return Err(FieldError::new(
                    f("when.any_of"),
                    format!("{o} is not one of the item's options"),
                ));
            }
        }
        AnswerType::Text | AnswerType::Photo => {
            return Err(FieldError::new(
                field,
                "only yes/no, number and choice items can mean a hazard",
            ));
        }
        _ => {}
    }
    let matching = match answer {
        AnswerType::YesNo => w.below.is_none() && w.above.is_none() && w.any_of.is_empty(),
        AnswerType::Number => w.equals.is_none() && w.any_of.is_empty(),
        _ => w.equals.is_none() && w.below.is_none() && w.above.is_none(),
    };
    if !matching {
        return Err(FieldError::new(
            f("when"),
            format!(
                "a {} item's rule uses {}",
                answer.as_str(),
                match answer {
                    AnswerType::YesNo => "equals",
                    AnswerType::Number => "below/above",
                    _ => "any_of",
                }
            ),
        ));
    }
    let code = h.category.trim().to_string();
    let facts = category(&code)
        .ok_or_else(|| FieldError::new(f("category"), format!("unknown category {code}")))?;
    if facts.case_type != "hazard" {
        return Err(FieldError::new(
            f("category"),
            format!(
                "category {code} is not a hazard category (its case type is {})",
                facts.case_type
            ),
        ));
    }
    h.category = code;
    h.department = match h
        .department
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        Some(d) if department_kind(d) => Some(d.to_string()),
        Some(d) => {
            return Err(FieldError::new(
                f("department"),
                format!("unknown department kind {d}"),
            ));
        }
        None => facts.department,
    };
    if h.department.is_none() {
        return Err(FieldError::new(
            f("department"),
            "is required: the category names no department",
        ));
    }
    let limit: Limit = h
        .limit
        .parse()
        .map_err(|e: FieldError| FieldError::new(f("limit"), e.reason))?;
    if limit.amount == 0 {
        return Err(FieldError::new(f("limit"), "must be more than zero"));
    }
    h.limit = limit.to_string();
    Ok(())
}

/// A hazard an inspection found: what its case is opened with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Found {
    pub item_key: String,
    pub item_text: String,
    pub category: String,
    pub department: Option<String>,
    pub severity: Severity,
    pub limit: Limit,
}

/// A campaign's state: 草稿 → 进行中 → 已结束.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Published,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Published => "published",
            Status::Closed => "closed",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            Status::Draft => "草稿",
            Status::Published => "进行中",
            Status::Closed => "已结束",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        [Status::Draft, Status::Published, Status::Closed]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// A period of whole local days (Asia/Shanghai), both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

impl Period {
    pub fn new(starts_on: NaiveDate, ends_on: NaiveDate) -> Result<Period, FieldError> {
        if ends_on < starts_on {
            return Err(FieldError::new("ends_on", "must not be before starts_on"));
        }
        if (ends_on - starts_on).num_days() > 366 {
            return Err(FieldError::new(
                "ends_on",
                "a campaign lasts at most a year",
            ));
        }
        Ok(Period { starts_on, ends_on })
    }
}

/// Publishing needs a draft whose period has not ended (`today` is the local date).
pub fn check_publish(status: Status, period: Period, today: NaiveDate) -> Result<(), FieldError> {
    if status != Status::Draft {
        return Err(FieldError::new(
            "status",
            format!(
                "only a draft is published; this campaign is {}",
                status.as_str()
            ),
        ));
    }
    if period.ends_on < today {
        return Err(FieldError::new(
            "ends_on",
            "the period is over; extend it before publishing",
        ));
    }
    Ok(())
}

/// Closing (early or at the end) needs a published campaign.
pub fn check_close(status: Status) -> Result<(), FieldError> {
    if status != Status::Published {
        return Err(FieldError::new(
            "status",
            format!(
                "only a published campaign is closed; this one is {}",
                status.as_str()
            ),
        ));
    }
    Ok(())
}

/// Extending moves the end later, for a draft or a published campaign.
pub fn check_extend(
    status: Status,
    period: Period,
    new_end: NaiveDate,
) -> Result<Period, FieldError> {
    if status == Status::Closed {
        return Err(FieldError::new(
            "status",
            "a closed campaign is not extended; copy it",
        ));
    }
    if new_end <= period.ends_on {
        return Err(FieldError::new(
            "ends_on",
            format!("must be after the current end {}", period.ends_on),
        ));
    }
    Period::new(period.starts_on, new_end)
}

/// Only a draft's title, period, territory, kinds and checklist change.
pub fn check_edit(status: Status) -> Result<(), FieldError> {
    if status != Status::Draft {
        return Err(FieldError::new(
            "status",
            format!(
                "only a draft is edited; this campaign is {}",
                status.as_str()
            ),
        ));
    }
    Ok(())
}

/// The period of a copy: the same length, starting the day after the original ends (next
/// quarter's round), unless the caller gives one.
pub fn copy_period(p: Period) -> Period {
    let len = p.ends_on - p.starts_on;
    let starts_on = p.ends_on.succ_opt().unwrap_or(p.ends_on);
    Period {
        starts_on,
        ends_on: starts_on + len,
    }
}

/// What an inspection found at the place (检查结果).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 已检查: the checklist answered.
    Inspected,
    /// 已停业: the place is closed; counted as checked.
    Closed,
    /// 未找到: no such place at the address.
    NotFound,
    /// 拒绝检查: entry refused.
    RefusedEntry,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Inspected,
        Outcome::Closed,
        Outcome::NotFound,
        Outcome::RefusedEntry,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Inspected => "inspected",
            Outcome::Closed => "closed",
            Outcome::NotFound => "not_found",
            Outcome::RefusedEntry => "refused_entry",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            Outcome::Inspected => "已检查",
            Outcome::Closed => "已停业",
            Outcome::NotFound => "未找到",
            Outcome::RefusedEntry => "拒绝检查",
        }
    }
    pub fn parse(s: &str) -> Result<Outcome, FieldError> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| {
                FieldError::new(
                    "outcome",
                    "must be one of inspected, closed, not_found, refused_entry",
                )
            })
    }
    /// The task's state after this outcome: a place inspected or found closed is checked
    /// (`inspected`); one not found or refusing entry is `unreachable`.
    pub fn task_status(self) -> &'static str {
        match self {
            Outcome::Inspected | Outcome::Closed => "inspected",
            Outcome::NotFound | Outcome::RefusedEntry => "unreachable",
        }
    }
}

/// One row of a progress table (进度表): a grid, village, township or county.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// 应查: places given as tasks.
    pub due: i64,
    /// 已查: inspected or found closed.
    pub inspected: i64,
    /// 未能检查: not found or refused entry.
    pub unreachable: i64,
    /// 隐患数: hazard cases opened.
    pub hazards: i64,
    /// 按期整改: rectified no later than the deadline.
    pub rectified_on_time: i64,
    /// 逾期: rectified late, or still open past the deadline.
    pub overdue: i64,
    /// 已销号: closed out after re-inspection.
    pub closed: i64,
}

impl Tally {
    pub fn add(&mut self, o: &Tally) {
        self.due += o.due;
        self.inspected += o.inspected;
        self.unreachable += o.unreachable;
        self.hazards += o.hazards;
        self.rectified_on_time += o.rectified_on_time;
        self.overdue += o.overdue;
        self.closed += o.closed;
    }

    /// 待查: tasks without a visit yet.
    pub fn pending(&self) -> i64 {
        self.due - self.inspected - self.unreachable
    }

    /// 覆盖率 in percent, one decimal: places visited (inspected, closed, not found or refused:
    /// a grid worker went there) over places due; 0 when nothing is due.
    pub fn coverage_percent(&self) -> f64 {
        percent(self.inspected + self.unreachable, self.due)
    }

    /// 整改率 in percent, one decimal: hazards rectified on time over hazards found.
    pub fn on_time_percent(&self) -> f64 {
        percent(self.rectified_on_time, self.hazards)
    }
}

/// `part / whole` in percent, rounded half away from zero to one decimal; 0 for an empty whole.
pub fn percent(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        return 0.0;
    }
    (part as f64 * 1000.0 / whole as f64).round() / 10.0
}

/// Where a rectification stands against its deadline, for the tables. `handled_at` is when the
/// rectification was reported, `due_at` its deadline, `now` when the table is read (ms).
pub fn rectification(handled_at: Option<i64>, due_at: Option<i64>, now: i64) -> (bool, bool) {
    match (handled_at, due_at) {
        (Some(h), Some(d)) => (h <= d, h > d),
        (Some(_), None) => (true, false),
        (None, Some(d)) => (false, now > d),
        (None, None) => (false, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cat(code: &str) -> Option<CategoryFacts> {
        match code {
            "H0101" => Some(CategoryFacts {
                case_type: "hazard".into(),
                department: Some("xf".into()),
            }),
            "E0101" => Some(CategoryFacts {
                case_type: "service_event".into(),
                department: Some("cgj".into()),
            }),
            _ => None,
        }
    }
    fn dept(k: &str) -> bool {
        matches!(k, "xf" | "zjj")
    }

    fn items(v: Value) -> Vec<Item> {
        serde_json::from_value(v).unwrap()
    }

    fn fire() -> Checklist {
        Checklist::validate(
            items(json!([
                {"key": "extinguisher", "text_zh": "配备灭火器", "answer": "yes_no", "required": true,
                 "hazard": {"when": {"equals": false}, "category": "H0101", "limit": "7 natural_days"}},
                {"key": "rooms", "text_zh": "隔断间数", "answer": "number",
                 "hazard": {"when": {"above": 4}, "category": "H0101", "department": "zjj",
                            "severity": "major", "limit": "15 natural_days"}},
                {"key": "exit", "text_zh": "疏散通道", "answer": "choice", "options": ["畅通", "部分堵塞", "堵死"],
                 "hazard": {"when": {"any_of": ["部分堵塞", "堵死"]}, "category": "H0101", "limit": "2 natural_days"}},
                {"key": "note", "text_zh": "备注", "answer": "text"},
                {"key": "door", "text_zh": "门头照片", "answer": "photo"}
            ])),
            &cat,
            &dept,
        )
        .unwrap()
    }

    #[test]
    fn a_checklist_is_checked_item_by_item_naming_the_field() {
        let c = fire();
        assert_eq!(
            c.items[0].hazard.as_ref().unwrap().department.as_deref(),
            Some("xf")
        );
        assert_eq!(
            c.items[1].hazard.as_ref().unwrap().department.as_deref(),
            Some("zjj")
        );
        let bad = |v: Value| Checklist::validate(items(v), &cat, &dept).unwrap_err();
        let e = bad(json!([
            {"key": "a", "text_zh": "甲", "answer": "text"},
            {"key": "b", "text_zh": "乙", "answer": "yes_no"},
            {"key": "c", "text_zh": "丙", "answer": "yes_no",
             "hazard": {"when": {"equals": true}, "category": "H0999", "limit": "7 natural_days"}}
        ]));
        assert_eq!(e.field, "checklist[2].hazard.category");
        assert_eq!(e.reason, "unknown category H0999");
        let e = bad(json!([{"key": "c", "text_zh": "丙", "answer": "yes_no",
             "hazard": {"when": {"equals": true}, "category": "E0101", "limit": "7 natural_days"}}]));
        assert_eq!(e.field, "checklist[0].hazard.category");
        let e = bad(json!([{"key": "c", "text_zh": "丙", "answer": "yes_no",
             "hazard": {"when": {"equals": true}, "category": "H0101", "limit": "7 weeks"}}]));
        assert_eq!(e.field, "checklist[0].hazard.limit");
        let e = bad(json!([{"key": "c", "text_zh": "丙", "answer": "yes_no",
             "hazard": {"when": {"equals": true}, "category": "H0101", "department": "zz", "limit": "7 natural_days"}}]));
        assert_eq!(e.field, "checklist[0].hazard.department");
        let e = bad(
            json!([{"key": "c", "text_zh": "丙", "answer": "choice", "options": ["a", "b"],
             "hazard": {"when": {"any_of": ["z"]}, "category": "H0101", "limit": "7 natural_days"}}]),
        );
        assert_eq!(e.field, "checklist[0].hazard.when.any_of");
        let e = bad(json!([{"key": "c", "text_zh": "丙", "answer": "yes_no",
             "hazard": {"when": {"above": 3}, "category": "H0101", "limit": "7 natural_days"}}]));
        assert_eq!(e.field, "checklist[0].hazard.when.equals");
        let e = bad(json!([{"key": "c", "text_zh": "丙", "answer": "text",
             "hazard": {"when": {"equals": true}, "category": "H0101", "limit": "7 natural_days"}}]));
        assert_eq!(e.field, "checklist[0].hazard");
        let e = bad(json!([{"key": "c", "text_zh": "丙", "answer": "choice", "options": ["a"]}]));
        assert_eq!(e.field, "checklist[0].options");
        let e = bad(json!([{"key": "c", "text_zh": "丙", "answer": "text"},
                           {"key": "c", "text_zh": "丁", "answer": "text"}]));
        assert_eq!(e.field, "checklist[1].key");
        let e = bad(json!([{"key": "C!", "text_zh": "丙", "answer": "text"}]));
        assert_eq!(e.field, "checklist[0].key");
        let e = bad(json!([{"key": "c", "text_zh": " ", "answer": "text"}]));
        assert_eq!(e.field, "checklist[0].text_zh");
        assert_eq!(bad(json!([])).field, "checklist");
    }

    #[test]
    fn answers_reveal_the_hazards_their_rules_name() {
        let c = fire();
        let a = |v: Value| -> BTreeMap<String, Value> { serde_json::from_value(v).unwrap() };
        let photos = vec!["door.jpg".to_string()];
        let none = c
            .evaluate(
                &a(json!({"extinguisher": true, "rooms": 4, "exit": "畅通", "door": "door.jpg"})),
                true,
                &photos,
            )
            .unwrap();
        assert!(none.is_empty());
        let found = c
            .evaluate(
                &a(json!({"extinguisher": false, "rooms": 6, "exit": "堵死"})),
                true,
                &photos,
            )
            .unwrap();
        let keys: Vec<_> = found.iter().map(|f| f.item_key.as_str()).collect();
        assert_eq!(keys, ["extinguisher", "rooms", "exit"]);
        assert_eq!(found[1].severity, Severity::Major);
        assert_eq!(found[1].limit.to_string(), "15 natural_days");
        assert_eq!(found[2].limit.to_string(), "2 natural_days");
        let err =
            |v: Value, complete: bool| c.evaluate(&a(v), complete, &photos).unwrap_err().field;
        assert_eq!(err(json!({}), true), "answers.extinguisher");
        assert!(
            c.evaluate(&a(json!({})), false, &photos)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            err(json!({"extinguisher": "yes"}), true),
            "answers.extinguisher"
        );
        assert_eq!(
            err(json!({"extinguisher": true, "rooms": "many"}), true),
            "answers.rooms"
        );
        assert_eq!(
            err(json!({"extinguisher": true, "exit": "ok"}), true),
            "answers.exit"
        );
        assert_eq!(
            err(json!({"extinguisher": true, "door": "x.jpg"}), true),
            "answers.door"
        );
        assert_eq!(
            err(json!({"extinguisher": true, "ghost": 1}), true),
            "answers.ghost"
        );
    }

    #[test]
    fn the_life_of_a_campaign() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let p = Period::new(d("2026-12-01"), d("2026-12-31")).unwrap();
        assert_eq!(
            Period::new(d("2026-12-02"), d("2026-12-01"))
                .unwrap_err()
                .field,
            "ends_on"
        );
        assert!(check_publish(Status::Draft, p, d("2026-12-07")).is_ok());
        assert_eq!(
            check_publish(Status::Draft, p, d("2027-01-01"))
                .unwrap_err()
                .field,
            "ends_on"
        );
        assert_eq!(
            check_publish(Status::Published, p, d("2026-12-07"))
                .unwrap_err()
                .field,
            "status"
        );
        assert!(check_close(Status::Published).is_ok());
        assert!(check_close(Status::Draft).is_err());
        assert_eq!(
            check_extend(Status::Published, p, d("2027-01-15"))
                .unwrap()
                .ends_on,
            d("2027-01-15")
        );
        assert_eq!(
            check_extend(Status::Published, p, d("2026-12-31"))
                .unwrap_err()
                .field,
            "ends_on"
        );
        assert_eq!(
            check_extend(Status::Closed, p, d("2027-01-15"))
                .unwrap_err()
                .field,
            "status"
        );
        assert!(check_edit(Status::Draft).is_ok());
        assert!(check_edit(Status::Published).is_err());
        let next = copy_period(Period::new(d("2026-10-01"), d("2026-12-31")).unwrap());
        assert_eq!(
            (next.starts_on, next.ends_on),
            (d("2027-01-01"), d("2027-04-02"))
        );
        assert_eq!(
            Outcome::parse("refused_entry").unwrap().task_status(),
            "unreachable"
        );
        assert_eq!(Outcome::Closed.task_status(), "inspected");
        assert_eq!(Outcome::parse("gone").unwrap_err().field, "outcome");
    }

    #[test]
    fn coverage_arithmetic_against_hand_counts() {
        // A township of two grids: 12 places (7 inspected, 2 unreachable, 3 pending) and 8
        // places (8 inspected); 3 hazards, 2 rectified on time, 1 late.
        let a = Tally {
            due: 12,
            inspected: 7,
            unreachable: 2,
            hazards: 3,
            rectified_on_time: 2,
            overdue: 1,
            closed: 2,
        };
        let b = Tally {
            due: 8,
            inspected: 8,
            ..Tally::default()
        };
        assert_eq!(a.pending(), 3);
        assert_eq!(a.coverage_percent(), 75.0); // 9 of 12
        assert_eq!(b.coverage_percent(), 100.0);
        let mut t = Tally::default();
        t.add(&a);
        t.add(&b);
        assert_eq!(
            (t.due, t.inspected, t.unreachable, t.pending()),
            (20, 15, 2, 3)
        );
        assert_eq!(t.coverage_percent(), 85.0); // 17 of 20
        assert_eq!(t.on_time_percent(), 66.7); // 2 of 3
        assert_eq!(percent(1, 3), 33.3);
        assert_eq!(percent(0, 0), 0.0);
        // On time, late, open and not yet due, open and past due.
        assert_eq!(rectification(Some(5), Some(10), 20), (true, false));
        assert_eq!(rectification(Some(11), Some(10), 20), (false, true));
        assert_eq!(rectification(None, Some(30), 20), (false, false));
        assert_eq!(rectification(None, Some(10), 20), (false, true));
    }
}
