//! Identifiers and small values that arrive as text: region, grid and case codes, map points,
//! phone numbers and names. Each is parsed once at the edge into a type that can only hold a
//! valid value ("parse, don't validate"); failures are [`FieldError`]s naming the field.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// Two-digit prefixes of the provinces, autonomous regions, municipalities and SARs that exist
/// (71 Taiwan, 81 Hong Kong, 82 Macao included, as in the national code table).
const PROVINCES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82",
];

/// Byte ranges of the five parts of a 12-digit code: province, city, county, township, village.
const PARTS: [(usize, usize); 5] = [(0, 2), (2, 4), (4, 6), (6, 9), (9, 12)];
const PART_NAMES: [&str; 5] = ["province", "city", "county", "township", "village"];

/// Level of an administrative division in the five-level statistical code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegionLevel {
    Province,
    City,
    County,
    Township,
    Village,
}

impl RegionLevel {
    pub const ALL: [RegionLevel; 5] = [
        Self::Province,
        Self::City,
        Self::County,
        Self::Township,
        Self::Village,
    ];

    /// 1 for province down to 5 for village.
    pub fn as_u8(self) -> u8 {
        self as u8 + 1
    }

    pub fn from_u8(n: u8) -> Option<RegionLevel> {
        Self::ALL.get(usize::from(n).checked_sub(1)?).copied()
    }

    /// Chinese name of the level as used in the UI.
    pub fn zh(self) -> &'static str {
        ["省", "市", "县", "乡镇", "村社区"][self as usize]
    }

    /// Number of significant leading digits of a code at this level.
    pub fn digits(self) -> usize {
        PARTS[self as usize].1
    }

    fn name(self) -> &'static str {
        PART_NAMES[self as usize]
    }
}

impl fmt::Display for RegionLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A 12-digit statistical division code (统计用区划代码): 6 county digits, 3 township digits and
/// 3 village digits; a code of a higher level is zero-padded. Orders like its digit string, so a
/// subtree is one contiguous range (see [`RegionCode::subtree_bounds`]).
///
/// The hierarchy is strict: a code never skips a level. The few prefecture cities that have no
/// counties (e.g. 东莞 4419) therefore cannot have township codes here.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode([u8; 12]);

impl RegionCode {
    /// Parses a code for the field "region"; see [`RegionCode::parse_field`].
    pub fn parse(s: &str) -> Result<RegionCode, FieldError> {
        Self::parse_field(s, "region")
    }

    /// Parses the 12-digit form or the significant short form of 2, 4, 6 or 9 digits
    /// ("33", "3305", "330502", "330502001"), reporting failures against `field`.
    pub fn parse_field(s: &str, field: &str) -> Result<RegionCode, FieldError> {
        Self::parse_reason(s.trim()).map_err(|reason| FieldError::new(field, reason))
    }

    fn parse_reason(s: &str) -> Result<RegionCode, String> {
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must contain only the digits 0-9".into());
        }
        if ![2, 4, 6, 9, 12].contains(&s.len()) {
            return Err(format!(
                "must have 2, 4, 6, 9 or 12 digits, got {}",
                s.len()
            ));
        }
        let mut digits = [b'0'; 12];
        digits[..s.len()].copy_from_slice(s.as_bytes());
        if !PROVINCES.contains(&&s[..2]) {
            return Err(format!("province prefix {} does not exist", &s[..2]));
        }
        let code = RegionCode(digits);
        // Once a part is zero every later part must be too, or the code would name a place
        // whose parent does not exist in the hierarchy.
        let mut zero_part: Option<usize> = None;
        for (i, part) in (0..5).map(|i| (i, code.part(i))) {
            let is_zero = part.bytes().all(|b| b == b'0');
            match zero_part {
                Some(z) if !is_zero => {
                    return Err(format!(
                        "{} part {part} is set under a zero {} part {}",
                        PART_NAMES[i],
                        PART_NAMES[z],
                        code.part(z)
                    ));
                }
                None if is_zero => zero_part = Some(i),
                _ => {}
            }
        }
        Ok(code)
    }

    fn part(&self, i: usize) -> &str {
        let (a, b) = PARTS[i];
        &self.as_str()[a..b]
    }

    /// The 12-digit form.
    pub fn as_str(&self) -> &str {
        // The bytes are ASCII digits by construction, so this never falls back.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub fn level(&self) -> RegionLevel {
        // Province parts are never zero, so the search always finds a part.
        let last = (0..5)
            .rev()
            .find(|&i| self.part(i).bytes().any(|b| b != b'0'));
        RegionLevel::ALL[last.unwrap_or(0)]
    }

    /// The significant prefix: 2, 4, 6, 9 or 12 digits depending on the level.
    pub fn short(&self) -> &str {
        &self.as_str()[..self.level().digits()]
    }

    /// The code of the enclosing division; `None` for a province.
    pub fn parent(&self) -> Option<RegionCode> {
        let level = self.level() as usize;
        let start = PARTS[level.checked_sub(1)?].1;
        let mut digits = self.0;
        digits[start..].fill(b'0');
        Some(RegionCode(digits))
    }

    /// The chain from the province down to this code (root first, self last).
    pub fn ancestors(&self) -> Vec<RegionCode> {
        let mut chain: Vec<RegionCode> =
            std::iter::successors(Some(*self), |c| c.parent()).collect();
        chain.reverse();
        chain
    }

    /// The 6-digit county code; `None` for provinces and cities.
    pub fn county(&self) -> Option<String> {
        (self.level() >= RegionLevel::County).then(|| self.as_str()[..6].to_string())
    }

    pub fn is_ancestor_or_self_of(&self, other: &RegionCode) -> bool {
        other.as_str().starts_with(self.short())
    }

    /// Inclusive 12-digit bounds of this code's subtree, for `code BETWEEN min AND max`.
    pub fn subtree_bounds(&self) -> (String, String) {
        let short = self.short();
        let max = format!("{short:9<12}");
        (self.as_str().to_string(), max)
    }
}

/// A grid (网格) code: the 12-digit village/community code followed by a 3-digit sequence
/// 001–999 of the grid within it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GridCode([u8; 15]);

impl GridCode {
    /// Parses a code for the field "grid".
    pub fn parse(s: &str) -> Result<GridCode, FieldError> {
        Self::parse_field(s, "grid")
    }

    pub fn parse_field(s: &str, field: &str) -> Result<GridCode, FieldError> {
        let s = s.trim();
        let err = |reason: String| FieldError::new(field, reason);
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("must contain only the digits 0-9".into()));
        }
        if s.len() != 15 {
            return Err(err(format!(
                "must have 15 digits (12-digit village code and 3-digit sequence), got {}",
                s.len()
            )));
        }
        let village = RegionCode::parse_field(&s[..12], field)?;
        let seq = s[12..].parse::<u16>().unwrap_or(0);
        Self::new(&village, seq).map_err(|e| err(e.reason))
    }

    /// Builds the code of grid number `seq` (1..=999) in a village-level `village`.
    pub fn new(village: &RegionCode, seq: u16) -> Result<GridCode, FieldError> {
        if village.level() != RegionLevel::Village {
            let reason = format!(
                "must be a village-level code, not a {} code",
                village.level()
            );
            return Err(FieldError::new("village", reason));
        }
        if !(1..=999).contains(&seq) {
            return Err(FieldError::new("seq", "must be between 001 and 999"));
        }
        let mut digits = [b'0'; 15];
        digits[..12].copy_from_slice(&village.0);
        digits[12..].copy_from_slice(format!("{seq:03}").as_bytes());
        Ok(GridCode(digits))
    }

    pub fn as_str(&self) -> &str {
        // ASCII digits by construction.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub fn village(&self) -> RegionCode {
        let mut digits = [0; 12];
        digits.copy_from_slice(&self.0[..12]);
        RegionCode(digits)
    }

    pub fn seq(&self) -> u16 {
        self.as_str()[12..].parse().unwrap_or(0)
    }

    /// The 6-digit county code.
    pub fn county(&self) -> String {
        self.as_str()[..6].to_string()
    }
}

/// Human-readable case number (案件编号), unique per county and day:
/// `{county:6}{yyyymmdd}{seq:05}`, e.g. "3305022026112100042". Sequences above 99999 simply use
/// more digits; a longer sequence never starts with 0, so every number has one spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaseNumber {
    county: [u8; 6],
    date: NaiveDate,
    seq: u32,
}

impl CaseNumber {
    /// `county` must be a 6-digit county-level code (or a city's or province's own 6-digit code,
    /// for cases held at that level, 市本级), `date` have a 4-digit year and `seq` ≥ 1.
    pub fn new(county: &str, date: NaiveDate, seq: u32) -> Result<CaseNumber, FieldError> {
        let region = RegionCode::parse_field(county, "county")?;
        if county.trim().len() != 6 || region.level() > RegionLevel::County {
            return Err(FieldError::new("county", "must be a 6-digit county code"));
        }
        if !(1000..=9999).contains(&date.year()) {
            return Err(FieldError::new("date", "year must have four digits"));
        }
        if seq == 0 {
            return Err(FieldError::new("seq", "must be at least 1"));
        }
        let mut county = [0; 6];
        county.copy_from_slice(&region.0[..6]);
        Ok(CaseNumber { county, date, seq })
    }

    /// Parses a number for the field "case_number".
    pub fn parse(s: &str) -> Result<CaseNumber, FieldError> {
        Self::parse_field(s, "case_number")
    }

    pub fn parse_field(s: &str, field: &str) -> Result<CaseNumber, FieldError> {
        let s = s.trim();
        let err = |reason: &str| FieldError::new(field, reason);
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("must contain only the digits 0-9"));
        }
        if s.len() < 19 {
            return Err(err(
                "must have at least 19 digits: county (6), date yyyymmdd (8), sequence (5)",
            ));
        }
        let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
        let year = i32::try_from(num(6..10)).unwrap_or(0);
        let date = NaiveDate::from_ymd_opt(year, num(10..12), num(12..14))
            .ok_or_else(|| err("digits 7-14 must be a valid date yyyymmdd"))?;
        let seq_digits = &s[14..];
        if seq_digits.len() > 5 && seq_digits.starts_with('0') {
            return Err(err("a sequence longer than 5 digits must not start with 0"));
        }
        let seq = seq_digits
            .parse::<u32>()
            .map_err(|_| err("sequence is too large"))?;
        Self::new(&s[..6], date, seq).map_err(|e| err(&format!("{}: {}", e.field, e.reason)))
    }

    pub fn county(&self) -> &str {
        // ASCII digits by construction.
        std::str::from_utf8(&self.county).unwrap_or_default()
    }

    pub fn date(&self) -> NaiveDate {
        self.date
    }

    pub fn seq(&self) -> u32 {
        self.seq
    }
}

impl fmt::Display for CaseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (county, date) = (self.county(), self.date.format("%Y%m%d"));
        write!(f, "{county}{date}{:05}", self.seq)
    }
}

/// A WGS-84 point (longitude, latitude in degrees), e.g. where a case was reported. The fields
/// are public for reading; build points with [`GeoPoint::new`] (deserialising goes through it)
/// so that they are finite and in range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawGeoPoint")]
pub struct GeoPoint {
    pub lon: f64,
    pub lat: f64,
}

#[derive(Deserialize)]
struct RawGeoPoint {
    lon: f64,
    lat: f64,
}

impl TryFrom<RawGeoPoint> for GeoPoint {
    type Error = FieldError;
    fn try_from(r: RawGeoPoint) -> Result<Self, Self::Error> {
        GeoPoint::new(r.lon, r.lat)
    }
}

impl GeoPoint {
    pub fn new(lon: f64, lat: f64) -> Result<GeoPoint, FieldError> {
        for (field, value, bound) in [("lon", lon, 180.0), ("lat", lat, 90.0)] {
            if !value.is_finite() {
                return Err(FieldError::new(field, "must be a finite number"));
            }
            if !(-bound..=bound).contains(&value) {
                let reason = format!("must be between -{bound} and {bound}");
                return Err(FieldError::new(field, reason));
            }
        }
        Ok(GeoPoint { lon, lat })
    }
}

/// Whether a [`Phone`] is a mobile or a fixed line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhoneKind {
    Mobile,
    Landline,
    /// Read back from a row stored before numbers were checked on input (see [`Phone::from_stored`]).
    Other,
}

/// A mainland China phone number, normalised: an 11-digit mobile ("13812341234") or a landline
/// with its area code ("0572-2345678"). Input may contain spaces and dashes, and a mobile may
/// carry the +86 country code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone {
    number: String,
    kind: PhoneKind,
}

impl Phone {
    /// Parses a number for the field "phone".
    pub fn parse(s: &str) -> Result<Phone, FieldError> {
        Self::parse_field(s, "phone")
    }

    pub fn parse_field(s: &str, field: &str) -> Result<Phone, FieldError> {
        let (number, kind) = Self::normalise(s).map_err(|r| FieldError::new(field, r))?;
        Ok(Phone { number, kind })
    }

    fn normalise(s: &str) -> Result<(String, PhoneKind), &'static str> {
        const LANDLINE: &str = "a landline is an area code and 7-8 digits not starting with 0-1";
        const NEITHER: &str = "must be an 11-digit mobile or a landline like 0572-2345678";
        let s = s.trim();
        let (plus86, rest) = match s.strip_prefix('+') {
            Some(rest) => (true, rest.strip_prefix("86").ok_or("only +86 is accepted")?),
            None => (false, s),
        };
        if !rest
            .chars()
            .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
        {
            return Err("may contain only digits, spaces and dashes");
        }
        let d: String = rest.chars().filter(char::is_ascii_digit).collect();
        let b = d.as_bytes();
        match b.first() {
            Some(b'1') if b.len() == 11 && (b'3'..=b'9').contains(&b[1]) => {
                Ok((d, PhoneKind::Mobile))
            }
            Some(b'1') => Err("a mobile number has 11 digits starting with 13-19"),
            Some(b'0') if !plus86 => {
                // Area codes are 010 and 02x (3 digits) or 0[3-9]xx (4 digits).
                let area = match b.get(1) {
                    Some(b'1') if b.get(2) == Some(&b'0') => 3,
                    Some(b'2') => 3,
                    Some(b'3'..=b'9') => 4,
                    _ => return Err("unknown area code"),
                };
                let local = d.get(area..).unwrap_or_default();
                if !(7..=8).contains(&local.len()) || local.starts_with(['0', '1']) {
                    return Err(LANDLINE);
                }
                Ok((format!("{}-{local}", &d[..area]), PhoneKind::Landline))
            }
            _ => Err(NEITHER),
        }
    }

    /// A number read back from storage: parsed as on input, or, for a row written before
    /// numbers were checked, kept as written (trimmed) with kind [`PhoneKind::Other`], so an old
    /// record still reads, masks and can be erased instead of failing to decode.
    pub fn from_stored(s: &str) -> Phone {
        Self::parse(s).unwrap_or_else(|_| Phone {
            number: s.trim().to_string(),
            kind: PhoneKind::Other,
        })
    }

    /// The normalised number.
    pub fn as_str(&self) -> &str {
        &self.number
    }

    pub fn kind(&self) -> PhoneKind {
        self.kind
    }

    /// The number with all but the first 3 (mobile) or the area code (landline) and the last 4
    /// digits hidden, for display to people who may not see it: "138****1234", "0572-***5678".
    pub fn masked(&self) -> String {
        // Counted in characters: a number of kind Other is unchecked text and may hold any.
        let chars: Vec<char> = self.number.chars().collect();
        let head = match self.kind {
            PhoneKind::Mobile => 3,
            PhoneKind::Landline => chars.iter().position(|&c| c == '-').map_or(0, |i| i + 1),
            PhoneKind::Other => 0,
        };
        let tail = chars.len().saturating_sub(4).max(head).min(chars.len());
        let head = head.min(tail);
        let shown = |r: &[char]| r.iter().collect::<String>();
        format!(
            "{}{}{}",
            shown(&chars[..head]),
            "*".repeat(tail - head),
            shown(&chars[tail..])
        )
    }
}

/// Compound surnames (复姓): masking keeps both characters so the surname stays readable.
const COMPOUND_SURNAMES: [&str; 40] = [
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "令狐", "端木", "独孤", "南宫", "西门", "呼延", "万俟", "闻人", "申屠", "太史",
    "赫连", "钟离", "百里", "东郭", "拓跋", "澹台", "公冶", "宗政", "濮阳", "淳于", "单于", "太叔",
    "鲜于", "闾丘", "司空", "第五",
];

/// Separators allowed inside a name besides spaces, e.g. the 间隔号 of "买买提·艾力".
const NAME_SEPARATORS: [char; 6] = ['·', '・', '•', '.', '-', '\''];

/// A person's name (姓名): letters in any script with spaces and name separators, at most 50
/// characters; surrounding whitespace is trimmed and inner runs collapsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    /// Parses a name for the field "name".
    pub fn parse(s: &str) -> Result<PersonName, FieldError> {
        Self::parse_field(s, "name")
    }

    pub fn parse_field(s: &str, field: &str) -> Result<PersonName, FieldError> {
        let err = |reason: String| FieldError::new(field, reason);
        let name = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            return Err(err("must not be empty".into()));
        }
        if name.chars().count() > 50 {
            return Err(err("must be at most 50 characters".into()));
        }
        if let Some(c) = name
            .chars()
            .find(|&c| !(c.is_alphabetic() || c == ' ' || NAME_SEPARATORS.contains(&c)))
        {
            return Err(err(format!("{c:?} cannot be part of a name")));
        }
        if !name.chars().any(char::is_alphabetic) {
            return Err(err("must contain a letter".into()));
        }
        Ok(PersonName(name))
    }

    /// A name read back from storage: parsed as on input, or, for a row written before names
    /// were checked (any trimmed text of at most 50 characters was taken), kept as written, so
    /// an old record still reads and masks instead of failing to decode.
    pub fn from_stored(s: &str) -> PersonName {
        Self::parse(s).unwrap_or_else(|_| PersonName(s.trim().to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Keeps the surname and hides the rest: "张三" → "张*", "欧阳娜娜" → "欧阳**". The surname
    /// is the first character, or a known compound surname when the name is 3+ characters long.
    /// A one-character name is hidden completely.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        let compound = chars.len() >= 3
            && COMPOUND_SURNAMES
                .iter()
                .any(|s| s.chars().eq(chars[..2].iter().copied()));
        let keep = match chars.len() {
            0 | 1 => 0,
            _ if compound => 2,
            _ => 1,
        };
        let hidden = chars[keep..].iter().map(|&c| {
            if c == ' ' || NAME_SEPARATORS.contains(&c) {
                c
            } else {
                '*'
            }
        });
        chars[..keep].iter().copied().chain(hidden).collect()
    }
}

/// `Display` through `as_str()` (and, for digit codes, a `Debug` showing the digits).
macro_rules! display_as_str {
    ($($t:ident),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
    (debug $($t:ident),*) => {$(
        display_as_str!($t);
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($t), self.as_str())
            }
        }
    )*};
}

/// `FromStr` through `parse`, and the `String` conversions serde goes through, so every
/// deserialised value has been parsed.
macro_rules! text_conversions {
    ($($t:ident),*) => {$(
        impl FromStr for $t {
            type Err = FieldError;
            fn from_str(s: &str) -> Result<Self, FieldError> {
                Self::parse(s)
            }
        }
        impl TryFrom<String> for $t {
            type Error = FieldError;
            fn try_from(s: String) -> Result<Self, FieldError> {
                Self::parse(&s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.to_string()
            }
        }
    )*};
}

display_as_str!(debug RegionCode, GridCode);
display_as_str!(Phone, PersonName);
text_conversions!(RegionCode, GridCode, CaseNumber, Phone, PersonName);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rc(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    #[test]
    fn short_forms_normalise_to_twelve_digits() {
        for (input, full, level) in [
            ("33", "330000000000", RegionLevel::Province),
            ("3305", "330500000000", RegionLevel::City),
            ("330502", "330502000000", RegionLevel::County),
            ("330502001", "330502001000", RegionLevel::Township),
            ("330502001005", "330502001005", RegionLevel::Village),
            (" 330502 ", "330502000000", RegionLevel::County),
        ] {
            let c = rc(input);
            assert_eq!((c.as_str(), c.level()), (full, level), "{input}");
            assert_eq!(c.short(), input.trim());
        }
        // A short form may also be padded already: "330500" is the city 3305.
        assert_eq!(rc("330500").level(), RegionLevel::City);
    }

    #[test]
    fn bad_region_codes_name_field_and_reason() {
        for (input, reason) in [
            ("33a5", "only the digits"),
            ("", "2, 4, 6, 9 or 12 digits, got 0"),
            ("33050", "got 5"),
            ("19", "province prefix 19"),
            ("00", "province prefix 00"),
            (
                "330502000001",
                "village part 001 is set under a zero township part",
            ),
            (
                "330500001000",
                "township part 001 is set under a zero county part",
            ),
            ("330002", "county part 02 is set under a zero city part 00"),
        ] {
            let e = RegionCode::parse(input).unwrap_err();
            assert_eq!(e.field, "region");
            assert!(e.reason.contains(reason), "{input}: {}", e.reason);
        }
        let e = RegionCode::parse_field("x", "parent").unwrap_err();
        assert_eq!(e.field, "parent");
        for p in ["71", "81", "82", "11", "65"] {
            assert!(RegionCode::parse(p).is_ok(), "{p}");
        }
    }

    #[test]
    fn hierarchy_navigation() {
        let v = rc("330502001005");
        let ancestors = v.ancestors();
        let chain: Vec<&str> = ancestors.iter().map(|c| c.short()).collect();
        assert_eq!(chain, ["33", "3305", "330502", "330502001", "330502001005"]);
        assert_eq!(v.ancestors()[1].as_str(), "330500000000");
        assert_eq!(rc("33").parent(), None);
        assert_eq!(v.county().as_deref(), Some("330502"));
        assert_eq!(rc("3305").county(), None);
        assert!(rc("3305").is_ancestor_or_self_of(&v));
        assert!(v.is_ancestor_or_self_of(&v));
        assert!(!rc("330503").is_ancestor_or_self_of(&v));
        let (lo, hi) = rc("330502001").subtree_bounds();
        assert_eq!((lo.as_str(), hi.as_str()), ("330502001000", "330502001999"));
        assert_eq!(v.subtree_bounds().1, "330502001005");
    }

    #[test]
    fn region_level_numbers_names_and_serde() {
        for l in RegionLevel::ALL {
            assert_eq!(RegionLevel::from_u8(l.as_u8()), Some(l));
        }
        assert_eq!(RegionLevel::from_u8(0), None);
        assert_eq!(RegionLevel::from_u8(6), None);
        assert_eq!(RegionLevel::Village.zh(), "村社区");
        let json = serde_json::to_string(&RegionLevel::Township).unwrap();
        assert_eq!(json, "\"township\"");
    }

    #[test]
    fn serde_uses_strings_and_parses_on_the_way_in() {
        let v = rc("330502001005");
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"330502001005\"");
        let city: RegionCode = serde_json::from_str("\"3305\"").unwrap();
        assert_eq!(city, rc("3305"));
        assert!(serde_json::from_str::<RegionCode>("\"330002\"").is_err());
        let g = GridCode::new(&v, 7).unwrap();
        assert_eq!(serde_json::to_string(&g).unwrap(), "\"330502001005007\"");
        assert!(serde_json::from_str::<GridCode>("\"330502001005000\"").is_err());
        let p: GeoPoint = serde_json::from_str(r#"{"lon":120.1,"lat":30.9}"#).unwrap();
        assert_eq!((p.lon, p.lat), (120.1, 30.9));
        assert!(serde_json::from_str::<GeoPoint>(r#"{"lon":120.1,"lat":91}"#).is_err());
    }

    #[test]
    fn grid_codes() {
        let g = GridCode::parse("330502001005042").unwrap();
        let v = rc("330502001005");
        assert_eq!((g.village(), g.seq(), g.county()), (v, 42, "330502".into()));
        let e = GridCode::new(&rc("330502001"), 1).unwrap_err();
        assert_eq!(e.field, "village");
        assert_eq!(GridCode::new(&v, 0).unwrap_err().field, "seq");
        assert_eq!(GridCode::new(&v, 1000).unwrap_err().field, "seq");
        for bad in [
            "33050200100504",
            "330502001000042",
            "330502001005000",
            "33050200100500x",
        ] {
            assert_eq!(GridCode::parse(bad).unwrap_err().field, "grid", "{bad}");
        }
    }

    #[test]
    fn case_numbers() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let n = CaseNumber::new("330502", d, 42).unwrap();
        assert_eq!(n.to_string(), "3305022026112100042");
        assert_eq!(CaseNumber::parse("3305022026112100042").unwrap(), n);
        let big = CaseNumber::new("330502", d, 123_456).unwrap();
        assert_eq!(big.to_string(), "33050220261121123456");
        assert_eq!(big.to_string().parse::<CaseNumber>(), Ok(big));
        assert_eq!((n.county(), n.date(), n.seq()), ("330502", d, 42));
        assert_eq!(CaseNumber::new("3305", d, 1).unwrap_err().field, "county");
        // A city's own code numbers the cases held at city level (市本级).
        assert_eq!(CaseNumber::new("330500", d, 1).unwrap().county(), "330500");
        assert_eq!(CaseNumber::new("330502", d, 0).unwrap_err().field, "seq");
        for bad in [
            "3305022026113100042",  // 31 November
            "330502202611210004",   // too short
            "33050220261121000042", // 6-digit sequence with a leading zero
            "3305022026112199999999999",
            "9905022026112100042", // no province 99
        ] {
            let e = CaseNumber::parse(bad).unwrap_err();
            assert_eq!(e.field, "case_number", "{bad}");
        }
    }

    #[test]
    fn geo_points() {
        assert!(GeoPoint::new(180.0, -90.0).is_ok());
        let e = GeoPoint::new(120.0, 90.5).unwrap_err();
        assert_eq!(e, FieldError::new("lat", "must be between -90 and 90"));
        let e = GeoPoint::new(-180.01, 0.0).unwrap_err();
        assert_eq!(e, FieldError::new("lon", "must be between -180 and 180"));
        assert_eq!(GeoPoint::new(f64::NAN, 0.0).unwrap_err().field, "lon");
        assert_eq!(GeoPoint::new(0.0, f64::INFINITY).unwrap_err().field, "lat");
    }

    #[test]
    fn phones_normalise_and_mask() {
        for (input, norm, masked) in [
            ("138 1234 1234", "13812341234", "138****1234"),
            ("+86 138-1234-1234", "13812341234", "138****1234"),
            ("0572-2345678", "0572-2345678", "0572-***5678"),
            ("057222345678", "0572-22345678", "0572-****5678"),
            ("010 8765 4321", "010-87654321", "010-****4321"),
            ("020-2345678", "020-2345678", "020-***5678"),
        ] {
            let p = Phone::parse(input).unwrap();
            assert_eq!((p.as_str(), p.masked().as_str()), (norm, masked), "{input}");
        }
        assert_eq!(
            Phone::parse("13812341234").map(|p| p.kind()),
            Ok(PhoneKind::Mobile)
        );
        let bad = [
            "12812341234",
            "1381234123",
            "0572-0345678",
            "011-2345678",
            "+1 555",
        ];
        for bad in bad
            .into_iter()
            .chain(["+86 0572 2345678", "138.1234.1234", ""])
        {
            assert_eq!(Phone::parse(bad).unwrap_err().field, "phone", "{bad}");
        }
    }

    #[test]
    fn names_normalise_and_mask() {
        for (input, norm, masked) in [
            ("张三", "张三", "张*"),
            (" 王  小明 ", "王 小明", "王 **"),
            ("欧阳娜娜", "欧阳娜娜", "欧阳**"),
            ("欧阳", "欧阳", "欧*"),
            ("买买提·艾力", "买买提·艾力", "买**·**"),
            ("李", "李", "*"),
            ("John Smith", "John Smith", "J*** *****"),
        ] {
            let n = PersonName::parse(input).unwrap();
            assert_eq!((n.as_str(), n.masked().as_str()), (norm, masked), "{input}");
        }
        for bad in ["", "   ", "张3", "<script>", "··", &"张".repeat(51)] {
            assert_eq!(PersonName::parse(bad).unwrap_err().field, "name", "{bad}");
        }
    }

    #[test]
    fn stored_contacts_decode_leniently_and_still_mask() {
        // Checked on input: decoded as if parsed.
        assert_eq!(
            Phone::from_stored("138 1234 1234"),
            Phone::parse("13812341234").unwrap()
        );
        assert_eq!(
            PersonName::from_stored("张三"),
            PersonName::parse("张三").unwrap()
        );
        // Written before the checks: kept, masked by character, never shown whole.
        let p = Phone::from_stored("分机 8021");
        assert_eq!(
            (p.kind(), p.as_str(), p.masked().as_str()),
            (PhoneKind::Other, "分机 8021", "***8021")
        );
        let n = PersonName::from_stored("王先生（物业）");
        assert_eq!(
            (n.as_str(), n.masked().as_str()),
            ("王先生（物业）", "王******")
        );
        assert_eq!(PersonName::from_stored(" ").masked(), "");
    }

    /// A valid code of a random level built part by part, never skipping a level.
    fn region_code() -> impl Strategy<Value = RegionCode> {
        let parts = (1u32..100, 1u32..100, 1u32..1000, 1u32..1000);
        (0..PROVINCES.len(), 1u8..=5, parts).prop_map(|(p, level, (c, d, t, v))| {
            let full = format!("{}{c:02}{d:02}{t:03}{v:03}", PROVINCES[p]);
            let short = &full[..RegionLevel::from_u8(level).unwrap().digits()];
            RegionCode::parse(short).unwrap()
        })
    }

    /// A valid code that shares a random-length prefix with `base`, so that it is often but not
    /// always in `base`'s subtree.
    fn related(base: RegionCode) -> impl Strategy<Value = (RegionCode, RegionCode)> {
        (0..=5usize, "[1-9]{12}").prop_map(move |(keep, tail)| {
            let keep_digits = [2, 2, 4, 6, 9, 12][keep].min(base.short().len());
            let s = format!("{}{}", &base.short()[..keep_digits], &tail[keep_digits..]);
            (base, RegionCode::parse(&s).unwrap())
        })
    }

    proptest! {
        #[test]
        fn region_codes_round_trip(c in region_code()) {
            prop_assert_eq!(c.to_string().parse::<RegionCode>().unwrap(), c);
            prop_assert_eq!(RegionCode::parse(c.short()).unwrap(), c);
            let json = serde_json::to_string(&c).unwrap();
            prop_assert_eq!(serde_json::from_str::<RegionCode>(&json).unwrap(), c);
            prop_assert_eq!(c.ancestors().last().copied(), Some(c));
            prop_assert_eq!(c.ancestors().len(), usize::from(c.level().as_u8()));
        }

        #[test]
        fn parent_is_valid_one_level_up(c in region_code()) {
            match c.parent() {
                None => prop_assert_eq!(c.level(), RegionLevel::Province),
                Some(p) => {
                    prop_assert_eq!(RegionCode::parse(p.as_str()).unwrap(), p);
                    prop_assert_eq!(p.level().as_u8() + 1, c.level().as_u8());
                    prop_assert!(p.is_ancestor_or_self_of(&c));
                    prop_assert!(!c.is_ancestor_or_self_of(&p));
                }
            }
        }

        #[test]
        fn subtree_bounds_hold_exactly_the_descendants(
            (a, b) in region_code().prop_flat_map(related)
        ) {
            let (lo, hi) = a.subtree_bounds();
            let inside = lo.as_str() <= b.as_str() && b.as_str() <= hi.as_str();
            prop_assert_eq!(inside, a.is_ancestor_or_self_of(&b));
        }

        #[test]
        fn grid_and_case_numbers_round_trip(
            c in region_code(), seq in 1u16..=999, n in 1u32.., days in 0i64..3_000_000
        ) {
            let village = RegionCode::parse(&format!("{:0<9}{:03}", &c.as_str()[..9], seq)).ok();
            if let Some(v) = village.filter(|v| v.level() == RegionLevel::Village) {
                let g = GridCode::new(&v, seq).unwrap();
                prop_assert_eq!(GridCode::parse(g.as_str()).unwrap(), g);
                prop_assert_eq!(g.village(), v);
            }
            let date = NaiveDate::from_ymd_opt(1000, 1, 1).unwrap() + chrono::Days::new(days as u64);
            if let (Some(county), true) = (c.county(), date.year() <= 9999) {
                let num = CaseNumber::new(&county, date, n).unwrap();
                prop_assert_eq!(num.to_string().parse::<CaseNumber>().unwrap(), num);
            }
        }

        #[test]
        fn digit_strings_parse_or_fail_cleanly(s in "[0-9]{0,21}") {
            if let Ok(c) = RegionCode::parse(&s) {
                // "330000" (GB/T 2260 style) and "33" name the same province.
                prop_assert!(s.starts_with(c.short()));
                prop_assert_eq!(RegionCode::parse(c.short()), Ok(c));
            }
            if let Ok(g) = GridCode::parse(&s) {
                prop_assert_eq!(g.as_str(), s.as_str());
            }
            if let Ok(n) = CaseNumber::parse(&s) {
                prop_assert_eq!(n.to_string(), s.clone());
            }
            if let Ok(p) = Phone::parse(&s) {
                prop_assert_eq!(p.masked().len(), p.as_str().len());
            }
        }

        #[test]
        fn random_text_never_panics(s in "\\PC{0,30}|[0-9 +\\-]{0,20}") {
            let _ = RegionCode::parse(&s);
            let _ = GridCode::parse(&s);
            let _ = CaseNumber::parse(&s);
            let _ = Phone::parse(&s).map(|p| p.masked());
            let _ = PersonName::parse(&s).map(|n| n.masked());
            // What older rows hold is decoded leniently and must mask without panicking.
            let _ = Phone::from_stored(&s).masked();
            let _ = PersonName::from_stored(&s).masked();
        }

        #[test]
        fn geo_point_accepts_exactly_the_finite_in_range(lon in any::<f64>(), lat in any::<f64>()) {
            let ok = lon.is_finite() && lat.is_finite() && lon.abs() <= 180.0 && lat.abs() <= 90.0;
            prop_assert_eq!(GeoPoint::new(lon, lat).is_ok(), ok);
        }

        #[test]
        fn mobile_numbers_survive_separators(d in "1[3-9][0-9]{9}", seps in proptest::collection::vec("[ \\-]?", 11)) {
            let spaced: String = d.chars().zip(seps).map(|(c, s)| format!("{c}{s}")).collect();
            let p = Phone::parse(&spaced).unwrap();
            prop_assert_eq!(p.as_str(), d.as_str());
            prop_assert_eq!(p.masked(), format!("{}****{}", &d[..3], &d[7..]));
        }
    }
}
