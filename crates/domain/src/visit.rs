//! Addresses (门牌) and visits (走访). Pure: the kinds of visit, the checked input of an address
//! and of a visit, the coverage period (a quarter by default: "every address once a quarter") and
//! its arithmetic. Addresses are doors, never people: an address carries no name; a visit's
//! optional contact is masked like every contact and can be erased per address.

use crate::codes::{GridCode, PersonName, Phone};
use crate::error::FieldError;
use crate::place::text;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a visit was for (走访类型).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitKind {
    /// 例行走访
    Routine,
    /// 关爱走访 (a family in difficulty): seen only by its worker, the grid's leaders and civil
    /// affairs, purged on the retention schedule, never in an export.
    Care,
    /// 回访 (follow-up of a dispute or a case)
    FollowUp,
    /// 收集民意 (collecting opinions)
    Opinions,
}

impl VisitKind {
    pub const ALL: [VisitKind; 4] = [
        VisitKind::Routine,
        VisitKind::Care,
        VisitKind::FollowUp,
        VisitKind::Opinions,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VisitKind::Routine => "routine",
            VisitKind::Care => "care",
            VisitKind::FollowUp => "follow_up",
            VisitKind::Opinions => "opinions",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            VisitKind::Routine => "例行走访",
            VisitKind::Care => "关爱走访",
            VisitKind::FollowUp => "回访",
            VisitKind::Opinions => "收集民意",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            VisitKind::Routine => "Routine visit",
            VisitKind::Care => "Care visit",
            VisitKind::FollowUp => "Follow-up",
            VisitKind::Opinions => "Collecting opinions",
        }
    }

    /// The code or the Chinese name, for the field "kind".
    pub fn parse(s: &str) -> Result<VisitKind, FieldError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(FieldError::new("kind", "is required"));
        }
        VisitKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(t) || k.zh() == t)
            .ok_or_else(|| {
                FieldError::new(
                    "kind",
                    format!(
                        "unknown visit kind {t:?}; accepted: routine, care, follow_up, opinions"
                    ),
                )
            })
    }
}

/// Whether an address is still a door to visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressStatus {
    Active,
    /// Demolished, merged or no longer lived in: not counted as known.
    Inactive,
}

impl AddressStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AddressStatus::Active => "active",
            AddressStatus::Inactive => "inactive",
        }
    }

    pub fn parse(s: &str) -> Result<AddressStatus, FieldError> {
        match s.trim() {
            "" | "active" | "在用" => Ok(AddressStatus::Active),
            "inactive" | "停用" => Ok(AddressStatus::Inactive),
            _ => Err(FieldError::new("status", "must be active or inactive")),
        }
    }
}

/// Limits of an address's parts and of a visit's text, in characters.
pub const PART_MAX: usize = 40;
pub const RAISED_MAX: usize = 2000;

/// An address as submitted (form, JSON body or import row), every field still text.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AddressInput {
    pub grid_code: String,
    pub building: String,
    pub unit: Option<String>,
    pub door: String,
    pub place_id: Option<String>,
    pub status: Option<String>,
}

/// A checked address input.
#[derive(Debug, Clone, PartialEq)]
pub struct AddressFields {
    pub grid: GridCode,
    pub building: String,
    pub unit: String,
    pub door: String,
    pub place_id: Option<Uuid>,
    pub status: AddressStatus,
}

impl AddressInput {
    /// Checks every field, naming the first one that is wrong.
    pub fn validate(&self) -> Result<AddressFields, FieldError> {
        let grid = GridCode::parse_field(self.grid_code.trim(), "grid_code")?;
        let building = text(&self.building, "building", PART_MAX, true)?.unwrap_or_default();
        let unit = match &self.unit {
            Some(u) => text(u, "unit", PART_MAX, false)?.unwrap_or_default(),
            None => String::new(),
        };
        let door = text(&self.door, "door", PART_MAX, true)?.unwrap_or_default();
        let place_id = match self.place_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(p) => Some(
                Uuid::parse_str(p).map_err(|_| FieldError::new("place_id", "must be a UUID"))?,
            ),
        };
        let status = AddressStatus::parse(self.status.as_deref().unwrap_or(""))?;
        Ok(AddressFields {
            grid,
            building,
            unit,
            door,
            place_id,
            status,
        })
    }
}

/// A stored address.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Address {
    pub county_code: String,
    pub id: Uuid,
    pub grid_code: String,
    pub region_code: String,
    pub building: String,
    pub unit: String,
    pub door: String,
    pub place_id: Option<Uuid>,
    pub status: AddressStatus,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl Address {
    pub fn new(id: Uuid, f: AddressFields, by: Option<Uuid>, now: DateTime<Utc>) -> Address {
        Address {
            county_code: f.grid.county(),
            id,
            grid_code: f.grid.as_str().to_string(),
            region_code: f.grid.village().as_str().to_string(),
            building: f.building,
            unit: f.unit,
            door: f.door,
            place_id: f.place_id,
            status: f.status,
            created_by: by,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// "3幢 2单元 401" as a worker reads it.
    pub fn label(&self) -> String {
        [&self.building, &self.unit, &self.door]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The door's key within its county: the import matches rows to stored doors by it.
    pub fn door_key(&self) -> (String, String, String, String) {
        (
            self.grid_code.clone(),
            self.building.clone(),
            self.unit.clone(),
            self.door.clone(),
        )
    }
}

/// A visit as submitted, every field still text.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct VisitInput {
    pub address_id: Option<String>,
    pub place_id: Option<String>,
    /// The local date, YYYY-MM-DD.
    pub visited_on: String,
    pub kind: String,
    pub raised: String,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
}

/// Where a visit went: a door of the register or a place of the places register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitTarget {
    Address(Uuid),
    Place(Uuid),
}

/// A checked visit input (the target is not looked up yet).
#[derive(Debug, Clone, PartialEq)]
pub struct VisitFields {
    pub target: VisitTarget,
    pub visited_on: NaiveDate,
    pub kind: VisitKind,
    pub raised: String,
    pub contact_name: Option<PersonName>,
    pub contact_phone: Option<Phone>,
}

fn opt(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// How far back a visit may be dated (a worker writing up last month's visits late).
pub const BACKDATE_DAYS: i64 = 92;

impl VisitInput {
    /// Checks every field against `today` (the local date): no future visit, none older than
    /// [`BACKDATE_DAYS`].
    pub fn validate(&self, today: NaiveDate) -> Result<VisitFields, FieldError> {
        let uuid = |s: &str, field: &str| {
            Uuid::parse_str(s).map_err(|_| FieldError::new(field, "must be a UUID"))
        };
        let target = match (opt(&self.address_id), opt(&self.place_id)) {
            (Some(a), None) => VisitTarget::Address(uuid(a, "address_id")?),
            (None, Some(p)) => VisitTarget::Place(uuid(p, "place_id")?),
            (Some(_), Some(_)) => {
                return Err(FieldError::new(
                    "place_id",
                    "give an address_id or a place_id, not both",
                ));
            }
            (None, None) => {
                return Err(FieldError::new(
                    "address_id",
                    "is required (or a place_id for a place of the register)",
                ));
            }
        };
        let visited_on = NaiveDate::parse_from_str(self.visited_on.trim(), "%Y-%m-%d")
            .map_err(|_| FieldError::new("visited_on", "must be a date YYYY-MM-DD"))?;
        if visited_on > today {
            return Err(FieldError::new("visited_on", "must not be in the future"));
        }
        if (today - visited_on).num_days() > BACKDATE_DAYS {
            return Err(FieldError::new(
                "visited_on",
                format!("must be within the last {BACKDATE_DAYS} days"),
            ));
        }
        let kind = VisitKind::parse(&self.kind)?;
        let raised = self.raised.trim();
        if raised.chars().count() > RAISED_MAX {
            return Err(FieldError::new(
                "raised",
                format!("must be at most {RAISED_MAX} characters"),
            ));
        }
        // Line breaks are what a note is made of; any other control character is not.
        if raised
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            return Err(FieldError::new(
                "raised",
                "must not contain control characters",
            ));
        }
        let contact_name = opt(&self.contact_name)
            .map(|n| PersonName::parse_field(n, "contact_name"))
            .transpose()?;
        let contact_phone = opt(&self.contact_phone)
            .map(|p| Phone::parse_field(p, "contact_phone"))
            .transpose()?;
        Ok(VisitFields {
            target,
            visited_on,
            kind,
            raised: raised.to_string(),
            contact_name,
            contact_phone,
        })
    }
}

/// A stored visit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Visit {
    pub county_code: String,
    pub id: Uuid,
    pub grid_code: String,
    pub region_code: String,
    pub address_id: Option<Uuid>,
    pub place_id: Option<Uuid>,
    pub visited_on: NaiveDate,
    pub kind: VisitKind,
    pub raised: String,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub case_id: Option<Uuid>,
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
}

impl Visit {
    pub fn masked_contact_name(&self) -> Option<String> {
        self.contact_name.as_deref().map(|n| {
            PersonName::parse(n)
                .map(|p| p.masked())
                .unwrap_or_else(|_| "*".into())
        })
    }

    pub fn masked_contact_phone(&self) -> Option<String> {
        self.contact_phone.as_deref().map(|p| {
            Phone::parse(p)
                .map(|p| p.masked())
                .unwrap_or_else(|_| "****".into())
        })
    }
}

/// The span coverage is counted over (覆盖周期): "every address once a quarter" by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Month,
    Quarter,
    Year,
}

impl Period {
    pub fn parse(s: &str, field: &str) -> Result<Period, FieldError> {
        match s.trim() {
            "month" => Ok(Period::Month),
            "quarter" => Ok(Period::Quarter),
            "year" => Ok(Period::Year),
            _ => Err(FieldError::new(field, "must be month, quarter or year")),
        }
    }

    /// The first and last day of the period holding `day`.
    pub fn bounds(self, day: NaiveDate) -> (NaiveDate, NaiveDate) {
        let (y, m) = (day.year(), day.month());
        let (first_month, months) = match self {
            Period::Month => (m, 1),
            Period::Quarter => ((m - 1) / 3 * 3 + 1, 3),
            Period::Year => (1, 12),
        };
        let from = NaiveDate::from_ymd_opt(y, first_month, 1).expect("first of a month");
        let next = if first_month + months > 12 {
            NaiveDate::from_ymd_opt(y + 1, first_month + months - 12, 1)
        } else {
            NaiveDate::from_ymd_opt(y, first_month + months, 1)
        }
        .expect("first of a month");
        (from, next.pred_opt().expect("a day before"))
    }

    /// The period's name: 2026-12, 2026Q4, 2026.
    pub fn label(self, day: NaiveDate) -> String {
        match self {
            Period::Month => format!("{}-{:02}", day.year(), day.month()),
            Period::Quarter => format!("{}Q{}", day.year(), (day.month() - 1) / 3 + 1),
            Period::Year => day.year().to_string(),
        }
    }
}

/// The share of known addresses visited, 0–1 (0 when nothing is known).
pub fn share(visited: i64, known: i64) -> f64 {
    if known <= 0 {
        0.0
    } else {
        (visited.min(known) as f64) / (known as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn quarters_and_months_have_their_bounds() {
        assert_eq!(
            Period::Quarter.bounds(d("2026-12-07")),
            (d("2026-10-01"), d("2026-12-31"))
        );
        assert_eq!(
            Period::Quarter.bounds(d("2026-02-28")),
            (d("2026-01-01"), d("2026-03-31"))
        );
        assert_eq!(
            Period::Month.bounds(d("2024-02-10")),
            (d("2024-02-01"), d("2024-02-29"))
        );
        assert_eq!(Period::Quarter.label(d("2026-12-07")), "2026Q4");
        assert_eq!(share(6, 10), 0.6);
        assert_eq!(share(0, 0), 0.0);
    }

    #[test]
    fn a_visit_names_its_bad_field() {
        let today = d("2026-12-07");
        let ok = VisitInput {
            address_id: Some(Uuid::nil().to_string()),
            visited_on: "2026-12-07".into(),
            kind: "care".into(),
            raised: "独居老人，需要助餐".into(),
            ..Default::default()
        };
        assert!(ok.validate(today).is_ok());
        let field = |v: VisitInput| v.validate(today).unwrap_err().field;
        assert_eq!(
            field(VisitInput {
                visited_on: "2026-12-08".into(),
                ..ok.clone()
            }),
            "visited_on"
        );
        assert_eq!(
            field(VisitInput {
                kind: "party".into(),
                ..ok.clone()
            }),
            "kind"
        );
        assert_eq!(
            field(VisitInput {
                raised: "a\0b".into(),
                ..ok.clone()
            }),
            "raised"
        );
        assert_eq!(
            field(VisitInput {
                address_id: None,
                ..ok.clone()
            }),
            "address_id"
        );
        assert_eq!(VisitKind::parse("关爱走访").unwrap(), VisitKind::Care);
    }
}
