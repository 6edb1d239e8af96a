//! Places (场所/点位): the register of what a grid looks after — rental buildings, shops,
//! restaurants, small workplaces, schools, markets, construction sites, units — that screening
//! campaigns inspect. Places and units, never residents: the optional contact is the place's own
//! (a landlord, a shop's manager) and is masked like every contact. Pure: the kinds and statuses
//! as data, and the checked input every face (form, JSON, import row) parses into.

use crate::codes::{GeoPoint, GridCode, PersonName, Phone};
use crate::error::FieldError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What kind of place it is (场所类型). Campaigns select places by these codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    /// 群租房
    GroupRental,
    /// 出租房
    RentalBuilding,
    /// 沿街商铺
    Shop,
    /// 餐饮店
    Restaurant,
    /// 小作坊/小加工
    Workshop,
    /// 小旅馆
    Hostel,
    /// 娱乐场所
    Venue,
    /// 学校
    School,
    /// 市场
    Market,
    /// 建筑工地
    ConstructionSite,
    /// 企事业单位
    Unit,
    /// 其他
    Other,
}

/// One kind as data: its code and its names.
#[derive(Debug, Clone, Copy)]
pub struct KindInfo {
    pub kind: PlaceKind,
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

/// Every kind, in the order lists and templates show them.
pub const KINDS: [KindInfo; 12] = [
    KindInfo {
        kind: PlaceKind::GroupRental,
        code: "group_rental",
        zh: "群租房",
        en: "Group rental",
    },
    KindInfo {
        kind: PlaceKind::RentalBuilding,
        code: "rental_building",
        zh: "出租房",
        en: "Rental building",
    },
    KindInfo {
        kind: PlaceKind::Shop,
        code: "shop",
        zh: "沿街商铺",
        en: "Street shop",
    },
    KindInfo {
        kind: PlaceKind::Restaurant,
        code: "restaurant",
        zh: "餐饮店",
        en: "Restaurant",
    },
    KindInfo {
        kind: PlaceKind::Workshop,
        code: "workshop",
        zh: "小作坊/小加工",
        en: "Small workshop",
    },
    KindInfo {
        kind: PlaceKind::Hostel,
        code: "hostel",
        zh: "小旅馆",
        en: "Small hostel",
    },
    KindInfo {
        kind: PlaceKind::Venue,
        code: "venue",
        zh: "娱乐场所",
        en: "Entertainment venue",
    },
    KindInfo {
        kind: PlaceKind::School,
        code: "school",
        zh: "学校",
        en: "School",
    },
    KindInfo {
        kind: PlaceKind::Market,
        code: "market",
        zh: "市场",
        en: "Market",
    },
    KindInfo {
        kind: PlaceKind::ConstructionSite,
        code: "construction_site",
        zh: "建筑工地",
        en: "Construction site",
    },
    KindInfo {
        kind: PlaceKind::Unit,
        code: "unit",
        zh: "企事业单位",
        en: "Unit (enterprise or institution)",
    },
    KindInfo {
        kind: PlaceKind::Other,
        code: "other",
        zh: "其他",
        en: "Other",
    },
];

impl PlaceKind {
    pub const ALL: [PlaceKind; 12] = {
        let mut all = [PlaceKind::Other; 12];
        let mut i = 0;
        while i < 12 {
            all[i] = KINDS[i].kind;
            i += 1;
        }
        all
    };

    pub fn info(self) -> &'static KindInfo {
        KINDS
            .iter()
            .find(|k| k.kind == self)
            .expect("every kind has its row in KINDS")
    }

    pub fn as_str(self) -> &'static str {
        self.info().code
    }

    pub fn zh(self) -> &'static str {
        self.info().zh
    }

    pub fn en(self) -> &'static str {
        self.info().en
    }

    /// Parses a code for the field "kind".
    pub fn parse(s: &str) -> Result<PlaceKind, FieldError> {
        Self::parse_field(s, "kind")
    }

    /// Accepts the code (`group_rental`) or the Chinese name (`群租房`, as an office's table
    /// writes it), so that a filled-in template imports without recoding.
    pub fn parse_field(s: &str, field: &str) -> Result<PlaceKind, FieldError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        KINDS
            .iter()
            .find(|k| k.code.eq_ignore_ascii_case(t) || k.zh == t)
            .map(|k| k.kind)
            .ok_or_else(|| {
                let codes: Vec<&str> = KINDS.iter().map(|k| k.code).collect();
                FieldError::new(
                    field,
                    format!("unknown place kind {t:?}; accepted: {}", codes.join(", ")),
                )
            })
    }
}

impl std::fmt::Display for PlaceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a place is still there (场所状态). Only active places get inspection tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceStatus {
    /// 在营/在用
    Active,
    /// 歇业/停业: may open again.
    Closed,
    /// 拆除/注销: no longer exists.
    Gone,
}

impl PlaceStatus {
    pub const ALL: [PlaceStatus; 3] = [PlaceStatus::Active, PlaceStatus::Closed, PlaceStatus::Gone];

    pub fn as_str(self) -> &'static str {
        match self {
            PlaceStatus::Active => "active",
            PlaceStatus::Closed => "closed",
            PlaceStatus::Gone => "gone",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            PlaceStatus::Active => "在营",
            PlaceStatus::Closed => "歇业",
            PlaceStatus::Gone => "已注销",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            PlaceStatus::Active => "Active",
            PlaceStatus::Closed => "Closed",
            PlaceStatus::Gone => "Gone",
        }
    }

    pub fn parse(s: &str) -> Result<PlaceStatus, FieldError> {
        Self::parse_field(s, "status")
    }

    /// The code or the Chinese name.
    pub fn parse_field(s: &str, field: &str) -> Result<PlaceStatus, FieldError> {
        let t = s.trim();
        PlaceStatus::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(t) || k.zh() == t)
            .ok_or_else(|| FieldError::new(field, "must be active, closed or gone"))
    }
}

impl std::fmt::Display for PlaceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Limits of the free-text fields, in characters.
pub const NAME_MAX: usize = 100;
pub const ADDRESS_MAX: usize = 200;
pub const TAG_MAX: usize = 20;
pub const TAGS_MAX: usize = 10;
pub const EXTERNAL_REF_MAX: usize = 64;

/// A place as submitted (form, JSON body or import row), every field still text.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PlaceInput {
    pub kind: String,
    pub name: String,
    pub address: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// For an address-only place (no point): the grid it belongs to, given by hand.
    pub grid_code: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub tags: Vec<String>,
    pub status: Option<String>,
    pub external_ref: Option<String>,
}

/// A checked place input: where it lies is not known yet (the locator finds the grid and the
/// region from the point, or the explicit grid gives them).
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceFields {
    pub kind: PlaceKind,
    pub name: String,
    pub address: String,
    pub point: Option<GeoPoint>,
    pub grid_code: Option<GridCode>,
    pub contact_name: Option<PersonName>,
    pub contact_phone: Option<Phone>,
    pub tags: Vec<String>,
    pub status: PlaceStatus,
    pub external_ref: Option<String>,
}

/// A trimmed text field with a bound and no control characters.
pub fn text(
    v: &str,
    field: &str,
    max: usize,
    required: bool,
) -> Result<Option<String>, FieldError> {
    let t = v.trim();
    if t.is_empty() {
        return if required {
            Err(FieldError::new(field, "is required"))
        } else {
            Ok(None)
        };
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
    Ok(Some(t.to_string()))
}

fn opt(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Checks a list of tags: short labels, no duplicates, at most [`TAGS_MAX`].
pub fn parse_tags(tags: &[String]) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let Some(t) = text(t, "tags", TAG_MAX, false)? else {
            continue;
        };
        if t.contains([',', '，', ';', '；']) {
            return Err(FieldError::new(
                "tags",
                "a tag must not contain a comma or semicolon",
            ));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > TAGS_MAX {
        return Err(FieldError::new("tags", format!("at most {TAGS_MAX} tags")));
    }
    Ok(out)
}

/// Splits a cell of tags as a spreadsheet holds them ("三合一, 电动车" or "三合一；电动车").
pub fn split_tags(cell: &str) -> Vec<String> {
    cell.split([',', '，', ';', '；', '、'])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

impl PlaceInput {
    /// Checks every field, naming the first one that is wrong.
    pub fn validate(&self) -> Result<PlaceFields, FieldError> {
        let kind = PlaceKind::parse(&self.kind)?;
        let name = text(&self.name, "name", NAME_MAX, true)?.unwrap_or_default();
        let address = text(&self.address, "address", ADDRESS_MAX, true)?.unwrap_or_default();
        let point = match (self.lat, self.lon) {
            (None, None) => None,
            (Some(lat), Some(lon)) => Some(GeoPoint::new(lon, lat)?),
            (Some(_), None) => return Err(FieldError::new("lon", "is required with lat")),
            (None, Some(_)) => return Err(FieldError::new("lat", "is required with lon")),
        };
        let grid_code = opt(&self.grid_code)
            .map(|g| GridCode::parse_field(g, "grid_code"))
            .transpose()?;
        if point.is_none() && grid_code.is_none() {
            return Err(FieldError::new(
                "lat",
                "give a point (lat and lon) or, for an address-only place, its grid_code",
            ));
        }
        let contact_name = opt(&self.contact_name)
            .map(|n| PersonName::parse_field(n, "contact_name"))
            .transpose()?;
        let contact_phone = opt(&self.contact_phone)
            .map(|p| Phone::parse_field(p, "contact_phone"))
            .transpose()?;
        let tags = parse_tags(&self.tags)?;
        let status = opt(&self.status)
            .map(PlaceStatus::parse)
            .transpose()?
            .unwrap_or(PlaceStatus::Active);
        let external_ref = match opt(&self.external_ref) {
            None => None,
            Some(r) => text(r, "external_ref", EXTERNAL_REF_MAX, false)?,
        };
        Ok(PlaceFields {
            kind,
            name,
            address,
            point,
            grid_code,
            contact_name,
            contact_phone,
            tags,
            status,
            external_ref,
        })
    }
}

/// A stored place. `grid_code` and `region_code` are where it lies: found by the locator from the
/// point, or from the grid given by hand; `region_code` is the 12-digit village or community.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Place {
    pub county_code: String,
    pub id: Uuid,
    pub kind: PlaceKind,
    pub name: String,
    pub address: String,
    pub point: Option<GeoPoint>,
    pub grid_code: Option<String>,
    pub region_code: String,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub tags: Vec<String>,
    pub status: PlaceStatus,
    pub external_ref: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl Place {
    /// A new place (version 1) from checked fields and where it lies.
    pub fn new(
        id: Uuid,
        f: PlaceFields,
        grid_code: Option<String>,
        region_code: String,
        created_by: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Place {
        Place {
            county_code: region_code.get(..6).unwrap_or_default().to_string(),
            id,
            kind: f.kind,
            name: f.name,
            address: f.address,
            point: f.point,
            grid_code,
            region_code,
            contact_name: f.contact_name.map(|n| n.as_str().to_string()),
            contact_phone: f.contact_phone.map(|p| p.as_str().to_string()),
            tags: f.tags,
            status: f.status,
            external_ref: f.external_ref,
            created_by,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// The place with new fields and location, keeping its identity, creation and version (the
    /// store moves the version on when it writes).
    pub fn edited(
        &self,
        f: PlaceFields,
        grid_code: Option<String>,
        region_code: String,
        now: DateTime<Utc>,
    ) -> Result<Place, FieldError> {
        if !region_code.starts_with(&self.county_code) {
            return Err(FieldError::new(
                "lat",
                "a place cannot move to another county; register it there and mark this one gone",
            ));
        }
        let mut p = Place::new(self.id, f, grid_code, region_code, self.created_by, now);
        p.created_at = self.created_at;
        p.version = self.version;
        Ok(p)
    }

    /// The contact's name as a viewer who does not need it sees it ("张*").
    pub fn masked_contact_name(&self) -> Option<String> {
        self.contact_name.as_deref().map(|n| {
            PersonName::parse(n)
                .map(|p| p.masked())
                .unwrap_or_else(|_| "*".into())
        })
    }

    /// The contact's phone masked ("138****1234").
    pub fn masked_contact_phone(&self) -> Option<String> {
        self.contact_phone.as_deref().map(|p| {
            Phone::parse(p)
                .map(|p| p.masked())
                .unwrap_or_else(|_| "****".into())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> PlaceInput {
        PlaceInput {
            kind: "group_rental".into(),
            name: "织里镇大港路88号出租楼".into(),
            address: "湖州市吴兴区织里镇大港路88号".into(),
            lat: Some(30.87),
            lon: Some(120.26),
            contact_name: Some("张三".into()),
            contact_phone: Some("138 1234 1234".into()),
            tags: vec!["电动车".into(), " 三合一 ".into(), "电动车".into()],
            ..Default::default()
        }
    }

    #[test]
    fn kinds_parse_by_code_and_chinese_name() {
        for k in KINDS {
            assert_eq!(PlaceKind::parse(k.code).unwrap(), k.kind);
            assert_eq!(PlaceKind::parse(k.zh).unwrap(), k.kind);
            assert_eq!(k.kind.as_str(), k.code);
        }
        assert_eq!(PlaceKind::ALL.len(), KINDS.len());
        let e = PlaceKind::parse("brothel").unwrap_err();
        assert_eq!(e.field, "kind");
        assert!(e.reason.contains("group_rental"), "{e}");
        assert_eq!(PlaceKind::parse(" ").unwrap_err().reason, "is required");
        assert_eq!(
            serde_json::to_string(&PlaceKind::ConstructionSite).unwrap(),
            "\"construction_site\""
        );
    }

    #[test]
    fn statuses_parse() {
        assert_eq!(PlaceStatus::parse("closed").unwrap(), PlaceStatus::Closed);
        assert_eq!(PlaceStatus::parse("已注销").unwrap(), PlaceStatus::Gone);
        assert_eq!(PlaceStatus::parse("open").unwrap_err().field, "status");
    }

    #[test]
    fn a_valid_place_is_normalised() {
        let f = input().validate().unwrap();
        assert_eq!(f.kind, PlaceKind::GroupRental);
        assert_eq!(f.contact_phone.unwrap().as_str(), "13812341234");
        assert_eq!(f.tags, vec!["电动车", "三合一"]);
        assert_eq!(f.status, PlaceStatus::Active);
    }

    #[test]
    fn each_bad_field_is_named() {
        type Change = Box<dyn Fn(&mut PlaceInput)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|i| i.name = "  ".into()), "name"),
            (Box::new(|i| i.name = "x".repeat(NAME_MAX + 1)), "name"),
            (Box::new(|i| i.address = String::new()), "address"),
            (Box::new(|i| i.address = "a\u{0}b".into()), "address"),
            (Box::new(|i| i.kind = "zoo".into()), "kind"),
            (Box::new(|i| i.lat = Some(91.0)), "lat"),
            (Box::new(|i| i.lon = None), "lon"),
            (
                Box::new(|i| i.contact_phone = Some("12345".into())),
                "contact_phone",
            ),
            (
                Box::new(|i| i.contact_name = Some("张3".into())),
                "contact_name",
            ),
            (Box::new(|i| i.tags = vec!["a".repeat(TAG_MAX + 1)]), "tags"),
            (
                Box::new(|i| i.tags = (0..11).map(|n| n.to_string()).collect()),
                "tags",
            ),
            (Box::new(|i| i.status = Some("open".into())), "status"),
            (
                Box::new(|i| i.grid_code = Some("33050".into())),
                "grid_code",
            ),
            (
                Box::new(|i| {
                    i.lat = None;
                    i.lon = None;
                }),
                "lat",
            ),
        ];
        for (change, field) in cases {
            let mut i = input();
            change(&mut i);
            assert_eq!(i.validate().unwrap_err().field, field, "{i:?}");
        }
    }

    #[test]
    fn an_address_only_place_needs_its_grid() {
        let mut i = input();
        i.lat = None;
        i.lon = None;
        i.grid_code = Some("330502001001001".into());
        assert!(i.validate().unwrap().point.is_none());
    }

    #[test]
    fn contact_is_masked_and_county_comes_from_the_region() {
        let p = Place::new(
            Uuid::nil(),
            input().validate().unwrap(),
            None,
            "330502001001".into(),
            None,
            Utc::now(),
        );
        assert_eq!(p.county_code, "330502");
        assert_eq!(p.masked_contact_name().unwrap(), "张*");
        assert_eq!(p.masked_contact_phone().unwrap(), "138****1234");
        let moved = p.edited(
            input().validate().unwrap(),
            None,
            "330503001001".into(),
            Utc::now(),
        );
        assert_eq!(moved.unwrap_err().field, "lat");
    }

    #[test]
    fn tags_split_from_a_cell() {
        assert_eq!(
            split_tags("三合一, 电动车；出租"),
            vec!["三合一", "电动车", "出租"]
        );
        assert!(split_tags(" ").is_empty());
    }
}
