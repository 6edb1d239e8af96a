//! The category catalog (问题分类): department kinds, category classes and categories, each category with its
//! responsible department kind, Open311 attributes and a time limit per urgency and stage; plus the sample report
//! texts the demo generator uses. The data lives in `data/catalog/*.toml`, is embedded at build time and is
//! checked by the tests at the end of this file, so `builtin()` cannot fail in a build that passed them.
//!
//! Limits stay strings ("6 natural_hours") here: the loader only checks their shape; `calendar` turns them into
//! deadlines.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

const DEPARTMENTS_TOML: &str = include_str!("../../../data/catalog/departments.toml");
const CATEGORIES_TOML: &str = include_str!("../../../data/catalog/categories.toml");
const TEXTS_TOML: &str = include_str!("../../../data/catalog/texts.toml");

/// The units a limit may be written in: `"<amount> <unit>"`, amount a positive integer.
pub const LIMIT_UNITS: [&str; 5] = [
    "working_hours",
    "working_days",
    "natural_hours",
    "natural_days",
    "days",
];

/// A closed set of named values: `as_str` is the wire name (serde, `FromStr`, `Display`), `name_zh` the interface
/// name. `FromStr` also accepts the Chinese name.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal {
        $($(#[$vmeta:meta])* $variant:ident = $code:literal, $zh:literal;)+
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $code)] $variant,)+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $code,)+ }
            }

            pub fn name_zh(self) -> &'static str {
                match self { $(Self::$variant => $zh,)+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = FieldError;

            fn from_str(s: &str) -> Result<Self, FieldError> {
                match s {
                    $($code | $zh => Ok(Self::$variant),)+
                    _ => Err(FieldError::new(
                        $field,
                        format!(
                            "unknown value {s:?}; expected one of: {}",
                            Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    )),
                }
            }
        }
    };
}

named_enum! {
    /// How urgent a case is (紧急程度); each urgency has its own limits.
    Urgency, "urgency" {
        Normal = "normal", "一般";
        Urgent = "urgent", "紧急";
        Emergency = "emergency", "特急";
    }
}

named_enum! {
    /// A stage of the case workflow that has its own limit.
    Stage, "stage" {
        /// 立案: accept or reject the report.
        Register = "register", "立案";
        /// 派遣: send it to a department.
        Dispatch = "dispatch", "派遣";
        /// 处置: the department fixes it and reports back.
        Handle = "handle", "处置";
        /// 核查: a grid worker checks the fix on site.
        Verify = "verify", "核查";
        /// 结案: the centre closes the case.
        Close = "close", "结案";
    }
}

named_enum! {
    /// Which workflow a case follows: the city-management one or dispute mediation.
    CaseKind, "case_type" {
        ServiceEvent = "service_event", "事部件";
        Dispute = "dispute", "矛盾纠纷";
        Petition = "petition", "信访";
        /// 隐患: a hazard found by a screening campaign's inspection (隐患排查整治).
        Hazard = "hazard", "隐患";
    }
}

named_enum! {
    /// What a category describes.
    CategoryKind, "kind" {
        /// 部件: a piece of public infrastructure (GB/T 30428.2).
        Component = "component", "部件";
        /// 事件: something that happened or someone did (GB/T 30428.2).
        Event = "event", "事件";
        /// 社情民意: a resident's request, question or suggestion.
        Opinion = "opinion", "社情民意";
        /// 矛盾纠纷: a dispute between parties (GB/T 31000 table 30).
        Dispute = "dispute", "矛盾纠纷";
        /// 信访事项: a petition to the authorities (信访工作条例).
        Petition = "petition", "信访";
        /// 隐患: a hazard a campaign's checklist item finds (fire, gas, partitions, work safety …).
        Hazard = "hazard", "隐患";
    }
}

impl CategoryKind {
    pub fn case_kind(self) -> CaseKind {
        match self {
            Self::Dispute => CaseKind::Dispute,
            Self::Petition => CaseKind::Petition,
            Self::Hazard => CaseKind::Hazard,
            Self::Component | Self::Event | Self::Opinion => CaseKind::ServiceEvent,
        }
    }

    /// First letter of the class and category codes of this kind.
    fn code_prefix(self) -> char {
        match self {
            Self::Component => 'C',
            Self::Event => 'E',
            Self::Opinion => 'P',
            Self::Dispute => 'D',
            // X for 信访 (xinfang): P is taken by opinions.
            Self::Petition => 'X',
            Self::Hazard => 'H',
        }
    }
}

named_enum! {
    /// Open311 attribute datatypes.
    AttributeDatatype, "datatype" {
        String = "string", "文本";
        Number = "number", "数字";
        Datetime = "datetime", "日期时间";
        Text = "text", "长文本";
        SingleValueList = "singlevaluelist", "单选";
        MultiValueList = "multivaluelist", "多选";
    }
}

impl AttributeDatatype {
    pub fn is_list(self) -> bool {
        matches!(self, Self::SingleValueList | Self::MultiValueList)
    }
}

named_enum! {
    /// The kinds of handler note `Texts::note` can produce.
    NoteKind, "note" {
        Handled = "handled", "处置反馈";
        Returned = "returned", "退回";
        Rework = "rework", "返工";
        Rejected = "rejected", "不予立案";
        Extension = "extension", "延期申请";
        Suspended = "suspended", "挂账申请";
        Verified = "verified", "核查意见";
        Satisfied = "satisfied", "满意评价";
        Dissatisfied = "dissatisfied", "不满意评价";
    }
}

/// A kind of department (部门类别); a deployment creates one department of each kind per county and city.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentKind {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// Template with a `{county}` placeholder, e.g. "{county}综合行政执法局".
    pub full_name_zh: String,
}

impl DepartmentKind {
    /// The full name of this kind's department in a county (or city): "吴兴区综合行政执法局".
    pub fn full_name(&self, county: &str) -> String {
        self.full_name_zh.replace("{county}", county)
    }
}

/// A class of categories (大类).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryClass {
    pub code: String,
    pub kind: CategoryKind,
    pub case_type: CaseKind,
    pub name_zh: String,
    pub name_en: String,
    pub icon: String,
}

/// One choice of a list attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeValue {
    pub key: String,
    pub name_zh: String,
    pub name_en: String,
}

/// An extra question asked when reporting in a category (an Open311 service definition attribute).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    pub code: String,
    pub datatype: AttributeDatatype,
    pub required: bool,
    pub order: u32,
    pub description_zh: String,
    pub description_en: String,
    #[serde(default)]
    pub values: Vec<AttributeValue>,
}

/// A category (小类), with everything inherited from its class and the defaults already resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Category {
    pub code: String,
    pub case_type: CaseKind,
    pub kind: CategoryKind,
    pub class_code: String,
    pub name_zh: String,
    pub name_en: String,
    /// Code of the `DepartmentKind` that handles it.
    pub department: String,
    pub keywords: Vec<String>,
    /// ASCII slug naming an icon in the web interface.
    pub icon: String,
    pub attributes: Vec<Attribute>,
    /// Every urgency × stage, as "<amount> <unit>".
    pub limits: BTreeMap<Urgency, BTreeMap<Stage, String>>,
}

impl Category {
    pub fn limit(&self, urgency: Urgency, stage: Stage) -> Option<&str> {
        self.limits.get(&urgency)?.get(&stage).map(String::as_str)
    }
}

/// Why embedded or supplied catalog data was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Not TOML, or not the expected shape (missing field, unknown key, unknown enum value).
    #[error("{file}: cannot be read: {message}")]
    Syntax { file: &'static str, message: String },
    #[error("{file}: {error}")]
    Invalid {
        file: &'static str,
        error: FieldError,
    },
}

/// Department kinds, classes and categories, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Catalog {
    pub departments: Vec<DepartmentKind>,
    pub classes: Vec<CategoryClass>,
    pub categories: Vec<Category>,
}

impl Catalog {
    /// The catalog shipped in `data/catalog/`.
    pub fn builtin() -> Catalog {
        Catalog::parse(DEPARTMENTS_TOML, CATEGORIES_TOML)
            .expect("embedded catalog is valid (tested)")
    }

    /// Reads and checks a catalog: codes well-formed and unique, references resolved, every limit present.
    pub fn parse(departments_toml: &str, categories_toml: &str) -> Result<Catalog, CatalogError> {
        let departments = parse_departments(departments_toml)
            .map_err(|error| error.in_file("departments.toml"))?;
        let (classes, categories) = parse_categories(categories_toml, &departments)
            .map_err(|error| error.in_file("categories.toml"))?;
        Ok(Catalog {
            departments,
            classes,
            categories,
        })
    }

    pub fn category(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }

    pub fn class(&self, code: &str) -> Option<&CategoryClass> {
        self.classes.iter().find(|c| c.code == code)
    }

    pub fn categories_in_class<'a>(
        &'a self,
        class_code: &'a str,
    ) -> impl Iterator<Item = &'a Category> + 'a {
        self.categories
            .iter()
            .filter(move |c| c.class_code == class_code)
    }

    pub fn department_kind(&self, code: &str) -> Option<&DepartmentKind> {
        self.departments.iter().find(|d| d.code == code)
    }

    /// The limit of a stage of a category at an urgency, e.g. `"6 natural_hours"`.
    pub fn limit(&self, category_code: &str, urgency: Urgency, stage: Stage) -> Option<&str> {
        self.category(category_code)?.limit(urgency, stage)
    }
}

/// A parse failure before the file name is known.
enum LoadError {
    Syntax(String),
    Invalid(FieldError),
}

impl LoadError {
    fn in_file(self, file: &'static str) -> CatalogError {
        match self {
            LoadError::Syntax(message) => CatalogError::Syntax { file, message },
            LoadError::Invalid(error) => CatalogError::Invalid { file, error },
        }
    }
}

impl From<FieldError> for LoadError {
    fn from(error: FieldError) -> Self {
        LoadError::Invalid(error)
    }
}

fn from_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, LoadError> {
    toml::from_str(text).map_err(|e| LoadError::Syntax(e.to_string()))
}

// ---------------------------------------------------------------------------------------------------------------
// Loading

/// Limits as written in the file: urgency → stage → "<amount> <unit>", any of them absent.
type RawLimits = BTreeMap<String, BTreeMap<String, String>>;
/// Limits after their keys and values were checked.
type LimitLayer = BTreeMap<(Urgency, Stage), String>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDepartments {
    department: Vec<DepartmentKind>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategories {
    /// "default" and one entry per category kind.
    #[serde(default)]
    limits: BTreeMap<String, RawLimits>,
    #[serde(default)]
    attribute_sets: BTreeMap<String, Vec<Attribute>>,
    class: Vec<RawClass>,
    category: Vec<RawCategory>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClass {
    code: String,
    kind: CategoryKind,
    case_type: CaseKind,
    name_zh: String,
    name_en: String,
    icon: String,
    department: Option<String>,
    #[serde(default)]
    limits: RawLimits,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    code: String,
    class_code: String,
    name_zh: String,
    name_en: String,
    department: Option<String>,
    icon: String,
    keywords: Vec<String>,
    #[serde(default)]
    attribute_sets: Vec<String>,
    #[serde(default, rename = "attribute")]
    attributes: Vec<Attribute>,
    #[serde(default)]
    limits: RawLimits,
}

fn parse_departments(text: &str) -> Result<Vec<DepartmentKind>, LoadError> {
    let raw: RawDepartments = from_toml(text)?;
    let mut seen = BTreeSet::new();
    for d in &raw.department {
        let field = |name: &str| format!("department[{}].{name}", d.code);
        let well_formed =
            (1..=8).contains(&d.code.len()) && d.code.bytes().all(|b| b.is_ascii_lowercase());
        ensure(
            well_formed,
            field("code"),
            "must be 1 to 8 lowercase ASCII letters",
        )?;
        ensure(
            seen.insert(d.code.as_str()),
            field("code"),
            "duplicate department kind code",
        )?;
        require_text(&field("name_zh"), &d.name_zh)?;
        require_text(&field("name_en"), &d.name_en)?;
        if !d.full_name_zh.contains("{county}") {
            return Err(FieldError::new(
                field("full_name_zh"),
                "must contain the {county} placeholder",
            )
            .into());
        }
    }
    Ok(raw.department)
}

struct ResolvedClass {
    class: CategoryClass,
    department: Option<String>,
    limits: LimitLayer,
}

fn parse_categories(
    text: &str,
    departments: &[DepartmentKind],
) -> Result<(Vec<CategoryClass>, Vec<Category>), LoadError> {
    let raw: RawCategories = from_toml(text)?;
    let department_exists = |code: &str| departments.iter().any(|d| d.code == code);

    let mut default_limits = LimitLayer::new();
    let mut kind_limits: BTreeMap<CategoryKind, LimitLayer> = BTreeMap::new();
    for (key, layer) in &raw.limits {
        let checked = read_limits(&format!("limits.{key}"), layer)?;
        if key == "default" {
            default_limits = checked;
        } else {
            let kind = key.parse::<CategoryKind>().map_err(|e| {
                FieldError::new(
                    format!("limits.{key}"),
                    format!("expected \"default\" or a category kind: {}", e.reason),
                )
            })?;
            kind_limits.insert(kind, checked);
        }
    }

    for (name, set) in &raw.attribute_sets {
        check_attributes(&format!("attribute_sets.{name}"), set)?;
    }

    let mut classes: BTreeMap<String, ResolvedClass> = BTreeMap::new();
    let mut class_order = Vec::new();
    for c in raw.class {
        let field = |name: &str| format!("class[{}].{name}", c.code);
        let well_formed = c.code.len() == 3
            && c.code.starts_with(c.kind.code_prefix())
            && c.code[1..].bytes().all(|b| b.is_ascii_digit());
        ensure(
            well_formed,
            field("code"),
            format!("a {} class code is {}NN", c.kind, c.kind.code_prefix()),
        )?;
        ensure(
            c.case_type == c.kind.case_kind(),
            field("case_type"),
            format!("a {} class has case_type {}", c.kind, c.kind.case_kind()),
        )?;
        require_text(&field("name_zh"), &c.name_zh)?;
        require_text(&field("name_en"), &c.name_en)?;
        check_slug(&field("icon"), &c.icon)?;
        if let Some(d) = c.department.as_deref().filter(|d| !department_exists(d)) {
            return Err(FieldError::new(
                field("department"),
                format!("unknown department kind {d:?}"),
            )
            .into());
        }
        let limits = read_limits(&field("limits"), &c.limits)?;
        let class = CategoryClass {
            code: c.code.clone(),
            kind: c.kind,
            case_type: c.case_type,
            name_zh: c.name_zh,
            name_en: c.name_en,
            icon: c.icon,
        };
        class_order.push(c.code.clone());
        let resolved = ResolvedClass {
            class,
            department: c.department,
            limits,
        };
        ensure(
            classes.insert(c.code.clone(), resolved).is_none(),
            field("code"),
            "duplicate class code",
        )?;
    }

    let mut seen = BTreeSet::new();
    let mut categories = Vec::with_capacity(raw.category.len());
    for c in raw.category {
        let field = |name: &str| format!("category[{}].{name}", c.code);
        let class = classes.get(&c.class_code).ok_or_else(|| {
            FieldError::new(
                field("class_code"),
                format!("unknown class {:?}", c.class_code),
            )
        })?;
        let well_formed = c.code.len() == 5
            && c.code.starts_with(&c.class_code)
            && c.code[3..].bytes().all(|b| b.is_ascii_digit());
        ensure(
            well_formed,
            field("code"),
            "must be the class code followed by two digits",
        )?;
        ensure(
            seen.insert(c.code.clone()),
            field("code"),
            "duplicate category code",
        )?;
        require_text(&field("name_zh"), &c.name_zh)?;
        require_text(&field("name_en"), &c.name_en)?;
        check_slug(&field("icon"), &c.icon)?;
        ensure(
            !c.keywords.is_empty() && c.keywords.iter().all(|k| !k.trim().is_empty()),
            field("keywords"),
            "needs at least one keyword and no empty ones",
        )?;
        let department = c
            .department
            .clone()
            .or_else(|| class.department.clone())
            .ok_or_else(|| {
                FieldError::new(
                    field("department"),
                    "no department on the category or its class",
                )
            })?;
        ensure(
            department_exists(&department),
            field("department"),
            format!("unknown department kind {department:?}"),
        )?;

        let mut attributes = Vec::new();
        for name in &c.attribute_sets {
            let set = raw.attribute_sets.get(name).ok_or_else(|| {
                FieldError::new(
                    field("attribute_sets"),
                    format!("unknown attribute set {name:?}"),
                )
            })?;
            attributes.extend(set.iter().cloned());
        }
        attributes.extend(c.attributes);
        check_attributes(&field("attribute"), &attributes)?;
        attributes.sort_by_key(|a| a.order);

        let own = read_limits(&field("limits"), &c.limits)?;
        let empty = LimitLayer::new();
        let kind_layer = kind_limits.get(&class.class.kind).unwrap_or(&empty);
        let layers = [&own, &class.limits, kind_layer, &default_limits];
        let mut limits: BTreeMap<Urgency, BTreeMap<Stage, String>> = BTreeMap::new();
        for &urgency in Urgency::ALL {
            for &stage in Stage::ALL {
                let limit = layers
                    .iter()
                    .find_map(|layer| layer.get(&(urgency, stage)))
                    .ok_or_else(|| {
                        FieldError::new(
                            field(&format!("limits.{urgency}.{stage}")),
                            "no limit on the category, its class, its kind or the default",
                        )
                    })?;
                limits
                    .entry(urgency)
                    .or_default()
                    .insert(stage, limit.clone());
            }
        }

        categories.push(Category {
            code: c.code,
            case_type: class.class.case_type,
            kind: class.class.kind,
            class_code: c.class_code,
            name_zh: c.name_zh,
            name_en: c.name_en,
            department,
            keywords: c.keywords,
            icon: c.icon,
            attributes,
            limits,
        });
    }

    for code in &class_order {
        ensure(
            categories.iter().any(|c| &c.class_code == code),
            format!("class[{code}]"),
            "has no categories",
        )?;
    }
    let classes = class_order
        .iter()
        .filter_map(|code| classes.remove(code))
        .map(|resolved| resolved.class)
        .collect();
    Ok((classes, categories))
}

fn read_limits(field: &str, raw: &RawLimits) -> Result<LimitLayer, FieldError> {
    let mut layer = LimitLayer::new();
    for (urgency_key, stages) in raw {
        let urgency: Urgency = urgency_key
            .parse()
            .map_err(|e: FieldError| FieldError::new(format!("{field}.{urgency_key}"), e.reason))?;
        for (stage_key, limit) in stages {
            let here = format!("{field}.{urgency_key}.{stage_key}");
            let stage: Stage = stage_key
                .parse()
                .map_err(|e: FieldError| FieldError::new(&here, e.reason))?;
            check_limit(limit).map_err(|reason| FieldError::new(&here, reason))?;
            layer.insert((urgency, stage), limit.clone());
        }
    }
    Ok(layer)
}

/// "<amount> <unit>": amount a positive integer without leading zeros, one space, unit one of `LIMIT_UNITS`.
fn check_limit(text: &str) -> Result<(), String> {
    let shape = || format!("{text:?} is not \"<amount> <unit>\" (e.g. \"3 working_days\")");
    let (amount, unit) = text.split_once(' ').ok_or_else(shape)?;
    if amount.is_empty() || !amount.bytes().all(|b| b.is_ascii_digit()) {
        return Err(shape());
    }
    match amount.parse::<u32>() {
        Ok(0) | Err(_) => return Err(format!("{text:?}: the amount must be a positive integer")),
        Ok(_) if amount.starts_with('0') => return Err(format!("{text:?}: no leading zeros")),
        Ok(_) => {}
    }
    if !LIMIT_UNITS.contains(&unit) {
        return Err(format!(
            "{text:?}: unknown unit {unit:?}; expected one of: {}",
            LIMIT_UNITS.join(", ")
        ));
    }
    Ok(())
}

fn check_attributes(field: &str, attributes: &[Attribute]) -> Result<(), FieldError> {
    let mut codes = BTreeSet::new();
    let mut orders = BTreeSet::new();
    for a in attributes {
        let here = |name: &str| format!("{field}[{}].{name}", a.code);
        check_identifier(&here("code"), &a.code)?;
        ensure(
            codes.insert(a.code.as_str()),
            here("code"),
            "duplicate attribute code",
        )?;
        ensure(
            orders.insert(a.order),
            here("order"),
            "two attributes share this order",
        )?;
        require_text(&here("description_zh"), &a.description_zh)?;
        require_text(&here("description_en"), &a.description_en)?;
        match (a.datatype.is_list(), a.values.is_empty()) {
            (true, true) => {
                return Err(FieldError::new(
                    here("values"),
                    "a list attribute needs values",
                ));
            }
            (false, false) => {
                return Err(FieldError::new(
                    here("values"),
                    "only list attributes have values",
                ));
            }
            _ => {}
        }
        let mut keys = BTreeSet::new();
        for v in &a.values {
            check_identifier(&here("values.key"), &v.key)?;
            ensure(
                keys.insert(v.key.as_str()),
                here("values.key"),
                format!("duplicate key {:?}", v.key),
            )?;
            require_text(&here("values.name_zh"), &v.name_zh)?;
            require_text(&here("values.name_en"), &v.name_en)?;
        }
    }
    Ok(())
}

/// `Ok` if `ok`, else the error naming the field.
fn ensure(ok: bool, field: impl Into<String>, reason: impl Into<String>) -> Result<(), FieldError> {
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(field, reason))
    }
}

fn require_text(field: &str, value: &str) -> Result<(), FieldError> {
    ensure(!value.trim().is_empty(), field, "must not be empty")
}

/// Icons: lowercase ASCII words joined by single hyphens.
fn check_slug(field: &str, value: &str) -> Result<(), FieldError> {
    let ok = !value.is_empty()
        && value.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    ensure(
        ok,
        field,
        format!("{value:?} is not a slug like \"traffic-light\""),
    )
}

/// Attribute codes and value keys: lowercase ASCII, digits and underscores, starting with a letter.
fn check_identifier(field: &str, value: &str) -> Result<(), FieldError> {
    let ok = value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    ensure(
        ok,
        field,
        format!("{value:?} is not an identifier like \"cover_state\""),
    )
}

// ---------------------------------------------------------------------------------------------------------------
// Report texts

/// The placeholders a template may use.
const PLACEHOLDERS: [&str; 3] = ["{place}", "{time}", "{n}"];
/// `{n}` is drawn from this range: "a small number".
const SMALL_NUMBER_MIN: usize = 2;
const SMALL_NUMBER_COUNT: usize = 8;

/// Sample report descriptions and handler notes, for demo data and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Texts {
    places: Vec<String>,
    times: Vec<String>,
    fallback: Vec<String>,
    templates: BTreeMap<String, Vec<String>>,
    notes: BTreeMap<NoteKind, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTexts {
    places: Vec<String>,
    times: Vec<String>,
    fallback: Vec<String>,
    templates: BTreeMap<String, Vec<String>>,
    notes: RawNotes,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotes {
    handled: Vec<String>,
    returned: Vec<String>,
    rework: Vec<String>,
    rejected: Vec<String>,
    extension: Vec<String>,
    suspended: Vec<String>,
    verified: Vec<String>,
    rating: RawRatings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRatings {
    satisfied: Vec<String>,
    dissatisfied: Vec<String>,
}

impl Texts {
    /// The texts shipped in `data/catalog/texts.toml`.
    pub fn builtin() -> Texts {
        Texts::parse(TEXTS_TOML).expect("embedded texts are valid (tested)")
    }

    /// Reads and checks texts: no empty list, templates use only `{place}`, `{time}` and `{n}`, fillers and notes
    /// use no braces at all.
    pub fn parse(texts_toml: &str) -> Result<Texts, CatalogError> {
        Texts::read(texts_toml).map_err(|error| error.in_file("texts.toml"))
    }

    fn read(text: &str) -> Result<Texts, LoadError> {
        let raw: RawTexts = from_toml(text)?;
        let n = raw.notes;
        let notes = BTreeMap::from([
            (NoteKind::Handled, n.handled),
            (NoteKind::Returned, n.returned),
            (NoteKind::Rework, n.rework),
            (NoteKind::Rejected, n.rejected),
            (NoteKind::Extension, n.extension),
            (NoteKind::Suspended, n.suspended),
            (NoteKind::Verified, n.verified),
            (NoteKind::Satisfied, n.rating.satisfied),
            (NoteKind::Dissatisfied, n.rating.dissatisfied),
        ]);
        let texts = Texts {
            places: raw.places,
            times: raw.times,
            fallback: raw.fallback,
            templates: raw.templates,
            notes,
        };
        check_plain("places", &texts.places)?;
        check_plain("times", &texts.times)?;
        for (kind, notes) in &texts.notes {
            check_plain(&format!("notes.{kind}"), notes)?;
        }
        check_templates("fallback", &texts.fallback)?;
        for (code, templates) in &texts.templates {
            check_templates(&format!("templates.{code}"), templates)?;
        }
        Ok(texts)
    }

    /// The templates written for a category (empty if none).
    pub fn templates(&self, category_code: &str) -> &[String] {
        self.templates
            .get(category_code)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// A report description for the category with every placeholder filled; a generic one for a category without
    /// templates. `pick(n)` must return an index below `n` (out-of-range answers wrap around); it is called for
    /// the template, then for each placeholder the template uses, in the order place, time, number.
    pub fn describe(&self, category_code: &str, pick: &mut dyn FnMut(usize) -> usize) -> String {
        let templates = match self.templates(category_code) {
            [] => self.fallback.as_slice(),
            own => own,
        };
        let template = choose(templates, pick);
        let place = if template.contains("{place}") {
            self.place(pick)
        } else {
            ""
        };
        let time = if template.contains("{time}") {
            choose(&self.times, pick)
        } else {
            ""
        };
        let number = if template.contains("{n}") {
            (SMALL_NUMBER_MIN + index(SMALL_NUMBER_COUNT, pick)).to_string()
        } else {
            String::new()
        };
        template
            .replace("{place}", place)
            .replace("{time}", time)
            .replace("{n}", &number)
    }

    /// A place name fragment, e.g. "凤凰路" or "吉山新村17幢楼下".
    pub fn place(&self, pick: &mut dyn FnMut(usize) -> usize) -> &str {
        choose(&self.places, pick)
    }

    /// A short handler (or citizen, for ratings) note of the given kind.
    pub fn note(&self, kind: NoteKind, pick: &mut dyn FnMut(usize) -> usize) -> &str {
        // Every kind is present and non-empty: `read` builds the map from all of them and checks each.
        choose(&self.notes[&kind], pick)
    }
}

fn index(len: usize, pick: &mut dyn FnMut(usize) -> usize) -> usize {
    pick(len) % len
}

fn choose<'a>(items: &'a [String], pick: &mut dyn FnMut(usize) -> usize) -> &'a str {
    &items[index(items.len(), pick)]
}

/// Fillers and notes: non-empty lists of non-empty strings without braces.
fn check_plain(field: &str, items: &[String]) -> Result<(), FieldError> {
    ensure(!items.is_empty(), field, "must not be empty")?;
    for item in items {
        require_text(field, item)?;
        if item.contains(['{', '}']) {
            return Err(FieldError::new(
                field,
                format!("{item:?} must not contain braces"),
            ));
        }
    }
    Ok(())
}

fn check_templates(field: &str, templates: &[String]) -> Result<(), FieldError> {
    ensure(!templates.is_empty(), field, "must not be empty")?;
    for template in templates {
        require_text(field, template)?;
        let mut rest = PLACEHOLDERS
            .iter()
            .fold(template.clone(), |t, p| t.replace(p, ""));
        rest.retain(|c| c == '{' || c == '}');
        if !rest.is_empty() {
            return Err(FieldError::new(
                field,
                format!(
                    "{template:?} has braces other than {}",
                    PLACEHOLDERS.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Parsed once: the property tests ask for them on every case.
    static CATALOG: std::sync::LazyLock<Catalog> = std::sync::LazyLock::new(Catalog::builtin);
    static TEXTS: std::sync::LazyLock<Texts> = std::sync::LazyLock::new(Texts::builtin);

    const HOUR: u64 = 1;
    const DAY: u64 = 24;

    /// A rough size in hours, only for comparing limits of one stage across urgencies.
    fn rough_hours(limit: &str) -> u64 {
        let (amount, unit) = limit.split_once(' ').unwrap();
        let amount: u64 = amount.parse().unwrap();
        amount * if unit.ends_with("days") { DAY } else { HOUR }
    }

    /// A deterministic stand-in for randomness: a linear congruential generator.
    fn lcg(seed: u64) -> impl FnMut(usize) -> usize {
        let mut state = seed;
        move |n| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as usize) % n
        }
    }

    #[test]
    fn the_builtin_catalog_and_texts_parse() {
        let catalog = Catalog::builtin();
        assert!(catalog.departments.len() >= 20);
        assert!(
            (80..=140).contains(&catalog.categories.len()),
            "{} categories",
            catalog.categories.len()
        );
        Texts::builtin();
    }

    #[test]
    fn a_missing_manhole_cover_is_fixed_within_six_hours_when_urgent() {
        let catalog = Catalog::builtin();
        let sewer = catalog.category("C0102").unwrap();
        assert_eq!(sewer.name_zh, "污水井盖");
        assert_eq!(sewer.case_type, CaseKind::ServiceEvent);
        assert_eq!(
            catalog.limit("C0102", Urgency::Urgent, Stage::Handle),
            Some("6 natural_hours")
        );
        assert_eq!(
            catalog.limit("C0102", Urgency::Emergency, Stage::Handle),
            Some("2 natural_hours")
        );
        let cover_state = &sewer.attributes[0];
        assert_eq!(
            (cover_state.code.as_str(), cover_state.required),
            ("cover_state", true)
        );
        assert_eq!(cover_state.datatype, AttributeDatatype::SingleValueList);
        let keys: Vec<_> = cover_state.values.iter().map(|v| v.key.as_str()).collect();
        assert!(keys.starts_with(&["missing", "broken", "sunken"]));
    }

    #[test]
    fn limits_follow_the_rules_people_work_with() {
        let catalog = Catalog::builtin();
        assert_eq!(
            catalog.limit("E0602", Urgency::Normal, Stage::Handle),
            Some("10 working_days")
        );
        assert_eq!(
            catalog.limit("E0101", Urgency::Normal, Stage::Handle),
            Some("1 working_days")
        );
        assert_eq!(
            catalog.limit("E0106", Urgency::Normal, Stage::Handle),
            Some("3 working_days")
        );
        assert_eq!(
            catalog.limit("P0101", Urgency::Normal, Stage::Handle),
            Some("5 working_days")
        );
        assert_eq!(
            catalog.limit("C0111", Urgency::Normal, Stage::Register),
            Some("2 working_hours")
        );
        for dispute in catalog
            .categories
            .iter()
            .filter(|c| c.kind == CategoryKind::Dispute)
        {
            assert_eq!(
                dispute.limit(Urgency::Normal, Stage::Handle),
                Some("30 natural_days"),
                "{}",
                dispute.code
            );
            assert_eq!(dispute.department, "sfs");
            assert_eq!(dispute.case_type, CaseKind::Dispute);
        }
        let streetlight = catalog.category("C0111").unwrap();
        let pole = streetlight
            .attributes
            .iter()
            .find(|a| a.code == "pole_number")
            .unwrap();
        assert_eq!(
            (pole.datatype, pole.required),
            (AttributeDatatype::String, false)
        );
    }

    #[test]
    fn every_category_has_every_limit_well_formed() {
        for c in &Catalog::builtin().categories {
            for &urgency in Urgency::ALL {
                for &stage in Stage::ALL {
                    let limit = c
                        .limit(urgency, stage)
                        .unwrap_or_else(|| panic!("{} {urgency} {stage}", c.code));
                    check_limit(limit).unwrap();
                }
            }
        }
    }

    #[test]
    fn more_urgent_never_means_more_time() {
        for c in &Catalog::builtin().categories {
            for &stage in Stage::ALL {
                let hours: Vec<u64> = Urgency::ALL
                    .iter()
                    .map(|&u| rough_hours(c.limit(u, stage).unwrap()))
                    .collect();
                assert!(
                    hours.windows(2).all(|w| w[0] >= w[1]),
                    "{} {stage}: {hours:?}",
                    c.code
                );
            }
        }
    }

    #[test]
    fn references_resolve_and_codes_are_unique() {
        let catalog = Catalog::builtin();
        let mut codes = BTreeSet::new();
        for c in &catalog.categories {
            assert!(codes.insert(c.code.as_str()), "duplicate {}", c.code);
            assert!(
                catalog.department_kind(&c.department).is_some(),
                "{} → {}",
                c.code,
                c.department
            );
            let class = catalog.class(&c.class_code).unwrap();
            assert_eq!((class.kind, class.case_type), (c.kind, c.case_type));
        }
        let classes: BTreeSet<_> = catalog.classes.iter().map(|c| &c.code).collect();
        assert_eq!(classes.len(), catalog.classes.len());
        let departments: BTreeSet<_> = catalog.departments.iter().map(|d| &d.code).collect();
        assert_eq!(departments.len(), catalog.departments.len());
        for required in [
            "cgj", "zjj", "jtj", "sthj", "scjg", "yjgl", "pcs", "sfs", "gd", "sw", "mzj", "rsj",
            "zrzy", "wjw", "jyj", "xf", "nync", "rq", "tx", "jd",
        ] {
            assert!(catalog.department_kind(required).is_some(), "{required}");
        }
        let dispute_classes = catalog
            .classes
            .iter()
            .filter(|c| c.kind == CategoryKind::Dispute)
            .count();
        assert_eq!(dispute_classes, 17);
    }

    #[test]
    fn names_are_given_in_both_languages() {
        let catalog = Catalog::builtin();
        for d in &catalog.departments {
            assert!(!d.name_zh.is_empty() && !d.name_en.is_empty(), "{}", d.code);
        }
        for c in &catalog.classes {
            assert!(!c.name_zh.is_empty() && !c.name_en.is_empty(), "{}", c.code);
        }
        for c in &catalog.categories {
            assert!(!c.name_zh.is_empty() && !c.name_en.is_empty(), "{}", c.code);
            assert!(!c.keywords.is_empty() && !c.icon.is_empty(), "{}", c.code);
        }
    }

    #[test]
    fn a_department_kind_names_its_county_department() {
        let catalog = Catalog::builtin();
        assert_eq!(
            catalog.department_kind("cgj").unwrap().full_name("吴兴区"),
            "吴兴区综合行政执法局"
        );
        assert_eq!(
            catalog.department_kind("gd").unwrap().full_name("长兴县"),
            "国网长兴县供电公司"
        );
    }

    #[test]
    fn every_category_has_at_least_three_templates_and_none_is_orphaned() {
        let catalog = Catalog::builtin();
        let texts = Texts::builtin();
        for c in &catalog.categories {
            assert!(
                texts.templates(&c.code).len() >= 3,
                "{} has {}",
                c.code,
                texts.templates(&c.code).len()
            );
        }
        for code in texts.templates.keys() {
            assert!(
                catalog.category(code).is_some(),
                "templates for unknown category {code}"
            );
        }
    }

    #[test]
    fn every_template_fills_completely() {
        let texts = Texts::builtin();
        for (code, templates) in &texts.templates {
            for (i, template) in templates.iter().enumerate() {
                let mut first = true;
                let mut pick = |n: usize| if std::mem::take(&mut first) { i } else { n - 1 };
                let text = texts.describe(code, &mut pick);
                assert!(!text.contains(['{', '}']), "{code}: {text}");
                assert!(
                    text.chars().count() >= 10 && text.chars().count() <= 4000,
                    "{code}: {text}"
                );
                if template.contains("{n}") {
                    assert!(
                        text.contains('9'),
                        "{code}: the largest pick gives 9: {text}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_category_without_templates_gets_a_generic_description() {
        let texts = Texts::builtin();
        let text = texts.describe("X9999", &mut |_| 0);
        assert!(
            text.starts_with(texts.place(&mut |_| 0)) && !text.contains('{'),
            "{text}"
        );
    }

    #[test]
    fn notes_exist_for_every_kind() {
        let texts = Texts::builtin();
        for &kind in NoteKind::ALL {
            assert!(!texts.note(kind, &mut |_| 0).is_empty(), "{kind}");
        }
        assert_eq!(
            texts.note(NoteKind::Returned, &mut |_| 0),
            "该事项不属于本单位职责，建议派至水务部门。"
        );
    }

    proptest! {
        #[test]
        fn describe_never_leaves_a_placeholder(seed in any::<u64>(), which in 0usize..200) {
            let code = &CATALOG.categories[which % CATALOG.categories.len()].code;
            let text = TEXTS.describe(code, &mut lcg(seed));
            prop_assert!(!text.contains(['{', '}']), "{}", text);
        }

        #[test]
        fn out_of_range_picks_wrap_instead_of_panicking(answer in any::<usize>()) {
            let text = TEXTS.describe("C0101", &mut |_| answer);
            prop_assert!(!text.contains(['{', '}']), "{}", text);
            prop_assert!(!TEXTS.place(&mut |_| answer).is_empty());
        }
    }

    #[test]
    fn urgency_and_stage_read_and_write_their_names() {
        assert_eq!("urgent".parse::<Urgency>().unwrap(), Urgency::Urgent);
        assert_eq!("特急".parse::<Urgency>().unwrap(), Urgency::Emergency);
        let error = "high".parse::<Urgency>().unwrap_err();
        assert_eq!(error.field, "urgency");
        assert!(
            error.reason.contains("normal, urgent, emergency"),
            "{}",
            error.reason
        );
        assert_eq!(Urgency::Normal.name_zh(), "一般");
        assert_eq!(Stage::Verify.name_zh(), "核查");
        assert_eq!("close".parse::<Stage>().unwrap(), Stage::Close);
        assert_eq!(
            serde_json::to_string(&Urgency::Emergency).unwrap(),
            "\"emergency\""
        );
        assert_eq!(
            serde_json::to_string(&CaseKind::ServiceEvent).unwrap(),
            "\"service_event\""
        );
        assert_eq!(
            serde_json::from_str::<Stage>("\"dispatch\"").unwrap(),
            Stage::Dispatch
        );
        let catalog = Catalog::builtin();
        let json = serde_json::to_value(&catalog.category("C0101").unwrap().limits).unwrap();
        assert_eq!(json["urgent"]["handle"], "6 natural_hours");
    }

    #[test]
    fn limit_texts_are_checked() {
        for good in [
            "1 working_hours",
            "30 natural_days",
            "6 natural_hours",
            "10 working_days",
        ] {
            assert_eq!(check_limit(good), Ok(()), "{good}");
        }
        for bad in [
            "0 working_days",
            "3 weeks",
            "3working_days",
            "3  working_days",
            "-1 natural_days",
            "03 working_days",
            "three working_days",
            "",
            "99999999999 natural_days",
            "2.5 working_days",
        ] {
            assert!(check_limit(bad).is_err(), "{bad:?} accepted");
        }
    }

    const DEPARTMENTS: &str = r#"
[[department]]
code = "cgj"
name_zh = "城管"
name_en = "Urban management"
full_name_zh = "{county}综合行政执法局"
"#;

    const CATEGORIES: &str = r#"
[limits.default.normal]
register = "2 working_hours"
dispatch = "1 working_hours"
handle = "2 working_days"
verify = "1 working_days"
close = "1 working_days"
[limits.default.urgent]
register = "1 working_hours"
dispatch = "1 working_hours"
handle = "1 working_days"
verify = "4 working_hours"
close = "4 working_hours"
[limits.default.emergency]
register = "1 natural_hours"
dispatch = "1 natural_hours"
handle = "4 natural_hours"
verify = "2 natural_hours"
close = "4 working_hours"

[[class]]
code = "E01"
kind = "event"
case_type = "service_event"
name_zh = "市容环境"
name_en = "City appearance"
department = "cgj"
icon = "broom"
limits.normal.handle = "3 working_days"

[[category]]
code = "E0101"
class_code = "E01"
name_zh = "暴露垃圾"
name_en = "Exposed rubbish"
icon = "garbage"
keywords = ["垃圾"]
limits.urgent.handle = "6 natural_hours"
"#;

    fn invalid(departments: &str, categories: &str) -> FieldError {
        match Catalog::parse(departments, categories) {
            Err(CatalogError::Invalid { error, .. }) => error,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn limits_resolve_from_category_then_class_then_default() {
        let catalog = Catalog::parse(DEPARTMENTS, CATEGORIES).unwrap();
        assert_eq!(
            catalog.limit("E0101", Urgency::Urgent, Stage::Handle),
            Some("6 natural_hours")
        );
        assert_eq!(
            catalog.limit("E0101", Urgency::Normal, Stage::Handle),
            Some("3 working_days")
        );
        assert_eq!(
            catalog.limit("E0101", Urgency::Normal, Stage::Verify),
            Some("1 working_days")
        );
        assert_eq!(catalog.category("E0101").unwrap().department, "cgj");
    }

    #[test]
    fn bad_catalogs_are_refused_naming_the_field() {
        let error = invalid(
            DEPARTMENTS,
            &CATEGORIES.replace("\"6 natural_hours\"", "\"6 hours\""),
        );
        assert_eq!(error.field, "category[E0101].limits.urgent.handle");

        let error = invalid(
            DEPARTMENTS,
            &CATEGORIES.replace("close = \"4 working_hours\"\n\n", "\n"),
        );
        assert_eq!(error.field, "category[E0101].limits.emergency.close");

        let error = invalid(
            DEPARTMENTS,
            &CATEGORIES.replace("department = \"cgj\"", "department = \"zzz\""),
        );
        assert_eq!(error.field, "class[E01].department");

        let error = invalid(
            DEPARTMENTS,
            &CATEGORIES.replace("code = \"E0101\"", "code = \"C0101\""),
        );
        assert_eq!(error.field, "category[C0101].code");

        let error = invalid(
            DEPARTMENTS,
            &CATEGORIES.replace("[limits.default.urgent]", "[limits.default.soon]"),
        );
        assert_eq!(error.field, "limits.default.soon");

        let twice = format!(
            "{CATEGORIES}{}",
            &CATEGORIES[CATEGORIES.find("[[category]]").unwrap()..]
        );
        assert_eq!(invalid(DEPARTMENTS, &twice).field, "category[E0101].code");

        let error = invalid(&DEPARTMENTS.replace("{county}", ""), CATEGORIES);
        assert_eq!(error.field, "department[cgj].full_name_zh");

        let list_without_values = format!(
            "{CATEGORIES}\n[[category.attribute]]\ncode = \"state\"\ndatatype = \"singlevaluelist\"\nrequired = true\n\
             order = 1\ndescription_zh = \"状态\"\ndescription_en = \"State\"\n"
        );
        assert_eq!(
            invalid(DEPARTMENTS, &list_without_values).field,
            "category[E0101].attribute[state].values"
        );

        match Catalog::parse(
            DEPARTMENTS,
            &CATEGORIES.replace("kind = \"event\"", "kind = \"incident\""),
        ) {
            Err(CatalogError::Syntax {
                file: "categories.toml",
                ..
            }) => {}
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn bad_texts_are_refused() {
        let good = "places = [\"红旗路\"]\ntimes = [\"刚才\"]\nfallback = [\"{place}有问题\"]\n[templates]\n\
                    E0101 = [\"{place}{time}有{n}袋垃圾\"]\n[notes]\nhandled = [\"好\"]\nreturned = [\"退\"]\n\
                    rework = [\"返\"]\nrejected = [\"否\"]\nextension = [\"延\"]\nsuspended = [\"挂\"]\n\
                    verified = [\"核\"]\n[notes.rating]\nsatisfied = [\"满意\"]\ndissatisfied = [\"不满意\"]\n";
        let texts = Texts::parse(good).unwrap();
        assert_eq!(texts.describe("E0101", &mut |_| 0), "红旗路刚才有2袋垃圾");
        for (from, to) in [
            ("{n}袋", "{count}袋"),
            ("{place}有问题", "{place有问题"),
            ("\"好\"", "\"好}\""),
            ("[\"刚才\"]", "[]"),
        ] {
            let bad = good.replace(from, to);
            assert!(
                matches!(Texts::parse(&bad), Err(CatalogError::Invalid { .. })),
                "{from} → {to} accepted"
            );
        }
    }
}
