//! Disputes (矛盾纠纷多元化解) and petitions (信访) as data: the code tables of the GB/T 31000
//! table 30 dispute record, and the inputs these case types carry beyond a plain case (parties,
//! mediation sessions, agreements, petition channel and agent), each parsed into a checked value
//! whose errors name the field. Pure: the server stores what this module accepted.

use crate::codes::{PersonName, Phone};
use crate::error::FieldError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// One entry of a code table, in zh-CN and en; `method` links a committee kind or a hand-on
/// destination to the resolution method (化解方式) it counts as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Code {
    pub code: String,
    pub zh: String,
    pub en: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// The code tables of `data/disputes/codes.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Codes {
    /// 规模: individual, ordinary group, major group.
    pub scale: Vec<Code>,
    /// 分级: case grade.
    pub grade: Vec<Code>,
    /// 化解方式: resolution method, 2-digit class and 4-digit subclass.
    pub method: Vec<Code>,
    /// Kinds of mediation committee (人民调解委员会).
    pub committee_kind: Vec<Code>,
    /// Where a failed mediation is handed on (诉调对接).
    pub destination: Vec<Code>,
    /// 信访形式: letter, visit, phone, online.
    pub petition_channel: Vec<Code>,
}

const CODES_TOML: &str = include_str!("../../../data/disputes/codes.toml");

/// The built-in code tables (tested, so a failure here is a build defect).
pub fn codes() -> &'static Codes {
    static CODES: OnceLock<Codes> = OnceLock::new();
    CODES.get_or_init(|| toml::from_str(CODES_TOML).expect("data/disputes/codes.toml is valid"))
}

fn find<'a>(table: &'a [Code], code: &str) -> Option<&'a Code> {
    table.iter().find(|c| c.code == code)
}

/// Checks `value` against a code table, naming the field and the accepted codes.
pub fn check_code<'a>(table: &'a [Code], value: &str, field: &str) -> Result<&'a Code, FieldError> {
    find(table, value.trim()).ok_or_else(|| {
        let accepted: Vec<&str> = table.iter().map(|c| c.code.as_str()).collect();
        FieldError::new(
            field,
            format!("unknown code {value:?}; accepted: {}", accepted.join(", ")),
        )
    })
}

fn text(
    v: Option<&str>,
    field: &str,
    max: usize,
    required: bool,
) -> Result<Option<String>, FieldError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None if required => Err(FieldError::new(field, "is required")),
        None => Ok(None),
        Some(s) if s.chars().count() > max => Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        )),
        Some(s) if s.chars().any(|c| c.is_control() && c != '\n') => Err(FieldError::new(
            field,
            "must not contain control characters",
        )),
        Some(s) => Ok(Some(s.to_string())),
    }
}

fn date(v: &str, field: &str) -> Result<NaiveDate, FieldError> {
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, "must be a date YYYY-MM-DD"))
}

/// A party as submitted (当事人): a person or an organisation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyInput {
    /// `person` or `organisation`.
    #[serde(default)]
    pub kind: Option<String>,
    /// `applicant` (申请人) or `respondent` (被申请人).
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    /// 身份证号 or 统一社会信用代码; kept only because an agreement names the parties.
    #[serde(default)]
    pub id_number: Option<String>,
}

/// A checked party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Party {
    pub kind: String,
    pub role: String,
    pub name: String,
    pub phone: Option<String>,
    pub id_number: Option<String>,
}

impl Party {
    /// The party as a viewer who does not need the personal data sees it: a person's name, phone
    /// and ID number masked; an organisation's name is public, its contact masked.
    pub fn masked(&self) -> Party {
        let name = if self.kind == "person" {
            PersonName::parse(&self.name)
                .map(|n| n.masked())
                .unwrap_or_else(|_| "*".into())
        } else {
            self.name.clone()
        };
        Party {
            kind: self.kind.clone(),
            role: self.role.clone(),
            name,
            phone: self.phone.as_deref().map(|p| {
                Phone::parse(p)
                    .map(|p| p.masked())
                    .unwrap_or_else(|_| "****".into())
            }),
            id_number: self.id_number.as_deref().map(mask_id),
        }
    }
}

/// Keeps the first 3 and last 2 characters of an ID number.
pub fn mask_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 5 {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..3].iter().collect();
    out.push_str(&"*".repeat(chars.len() - 5));
    out.extend(&chars[chars.len() - 2..]);
    out
}

impl PartyInput {
    pub fn validate(&self, field: &str) -> Result<Party, FieldError> {
        let kind = match self.kind.as_deref().map(str::trim) {
            None | Some("") | Some("person") => "person",
            Some("organisation") => "organisation",
            Some(_) => {
                return Err(FieldError::new(
                    format!("{field}.kind"),
                    "must be person or organisation",
                ));
            }
        };
        let role = match self.role.as_deref().map(str::trim) {
            Some(r @ ("applicant" | "respondent")) => r,
            _ => {
                return Err(FieldError::new(
                    format!("{field}.role"),
                    "must be applicant or respondent",
                ));
            }
        };
        let name = if kind == "person" {
            PersonName::parse_field(&self.name, &format!("{field}.name"))?
                .as_str()
                .to_string()
        } else {
            text(Some(&self.name), &format!("{field}.name"), 100, true)?.unwrap_or_default()
        };
        let phone = match self
            .phone
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            None => None,
            Some(p) => Some(
                Phone::parse(p)
                    .map_err(|e| FieldError::new(format!("{field}.phone"), e.reason))?
                    .to_string(),
            ),
        };
        let id_number = match self
            .id_number
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(s)
                if (6..=18).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                Some(s.to_ascii_uppercase())
            }
            Some(_) => {
                return Err(FieldError::new(
                    format!("{field}.id_number"),
                    "must be 6 to 18 letters or digits (身份证号 or 统一社会信用代码)",
                ));
            }
        };
        Ok(Party {
            kind: kind.into(),
            role: role.into(),
            name,
            phone,
            id_number,
        })
    }
}

/// The dispute part of `POST /api/v1/cases` with `"type": "dispute"` (GB/T 31000 table 30).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDispute {
    /// 规模 code, default "01".
    #[serde(default)]
    pub scale: Option<String>,
    /// 分级 code, default "04".
    #[serde(default)]
    pub grade: Option<String>,
    /// 涉及人数.
    #[serde(default)]
    pub people_count: Option<i64>,
    /// 涉及单位.
    #[serde(default)]
    pub units_involved: Option<String>,
    /// 发生日期.
    #[serde(default)]
    pub occurred_on: Option<String>,
    /// `report` (reported) or `screening` (found by 排查).
    #[serde(default)]
    pub found_by: Option<String>,
    #[serde(default)]
    pub parties: Vec<PartyInput>,
}

/// A checked dispute record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisputeRecord {
    pub scale: String,
    pub grade: String,
    pub people_count: i64,
    pub units_involved: Option<String>,
    pub occurred_on: Option<NaiveDate>,
    pub found_by: String,
    pub parties: Vec<Party>,
}

impl NewDispute {
    pub fn validate(&self) -> Result<DisputeRecord, FieldError> {
        let c = codes();
        let scale = check_code(
            &c.scale,
            self.scale.as_deref().unwrap_or("01"),
            "dispute.scale",
        )?;
        let grade = check_code(
            &c.grade,
            self.grade.as_deref().unwrap_or("04"),
            "dispute.grade",
        )?;
        if self.parties.is_empty() {
            return Err(FieldError::new(
                "dispute.parties",
                "at least one party is required",
            ));
        }
        if self.parties.len() > 50 {
            return Err(FieldError::new("dispute.parties", "at most 50 parties"));
        }
        let parties = self
            .parties
            .iter()
            .enumerate()
            .map(|(i, p)| p.validate(&format!("dispute.parties[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let people_count = self.people_count.unwrap_or(parties.len() as i64);
        if !(1..=1_000_000).contains(&people_count) {
            return Err(FieldError::new(
                "dispute.people_count",
                "must be between 1 and 1000000",
            ));
        }
        let found_by = match self.found_by.as_deref().map(str::trim) {
            None | Some("") | Some("report") => "report",
            Some("screening") => "screening",
            Some(_) => {
                return Err(FieldError::new(
                    "dispute.found_by",
                    "must be report or screening",
                ));
            }
        };
        Ok(DisputeRecord {
            scale: scale.code.clone(),
            grade: grade.code.clone(),
            people_count,
            units_involved: text(
                self.units_involved.as_deref(),
                "dispute.units_involved",
                500,
                false,
            )?,
            occurred_on: self
                .occurred_on
                .as_deref()
                .map(|d| date(d, "dispute.occurred_on"))
                .transpose()?,
            found_by: found_by.into(),
            parties,
        })
    }
}

/// A mediation session as submitted with `record_session` (调解记录).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionInput {
    #[serde(default)]
    pub held_on: String,
    #[serde(default)]
    pub place: String,
    /// Who attended (parties, mediators, others), as named in the record.
    #[serde(default)]
    pub attendees: Vec<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// A checked session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    pub held_on: NaiveDate,
    pub place: String,
    pub attendees: Vec<String>,
    pub notes: Option<String>,
}

impl SessionInput {
    pub fn validate(&self, today: NaiveDate) -> Result<Session, FieldError> {
        let held_on = date(&self.held_on, "session.held_on")?;
        if held_on > today {
            return Err(FieldError::new(
                "session.held_on",
                "must not be in the future (record a session once it was held)",
            ));
        }
        let place = text(Some(&self.place), "session.place", 200, true)?.unwrap_or_default();
        if self.attendees.is_empty() || self.attendees.len() > 100 {
            return Err(FieldError::new(
                "session.attendees",
                "name between 1 and 100 attendees",
            ));
        }
        let attendees = self
            .attendees
            .iter()
            .enumerate()
            .map(|(i, a)| {
                text(Some(a), &format!("session.attendees[{i}]"), 100, true)
                    .map(Option::unwrap_or_default)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Session {
            held_on,
            place,
            attendees,
            notes: text(self.notes.as_deref(), "session.notes", 4000, false)?,
        })
    }
}

/// The agreement as submitted with `reach_agreement` (调解协议, arts. 28–30).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementInput {
    /// `written` (书面) or `oral` (口头).
    #[serde(default)]
    pub form: String,
    /// What the parties agreed.
    #[serde(default)]
    pub content: String,
    /// Who does what (履行方式).
    #[serde(default)]
    pub obligations: Option<String>,
    /// By when it is to be performed (履行期限).
    #[serde(default)]
    pub perform_by: Option<String>,
}

/// A checked agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agreement {
    pub form: String,
    pub content: String,
    pub obligations: Option<String>,
    pub perform_by: Option<NaiveDate>,
}

impl AgreementInput {
    pub fn validate(&self) -> Result<Agreement, FieldError> {
        let form = match self.form.trim() {
            f @ ("written" | "oral") => f,
            _ => return Err(FieldError::new("agreement.form", "must be written or oral")),
        };
        Ok(Agreement {
            form: form.into(),
            content: text(Some(&self.content), "agreement.content", 4000, true)?
                .unwrap_or_default(),
            obligations: text(
                self.obligations.as_deref(),
                "agreement.obligations",
                4000,
                false,
            )?,
            perform_by: self
                .perform_by
                .as_deref()
                .map(|d| date(d, "agreement.perform_by"))
                .transpose()?,
        })
    }
}

/// An appointed agent (信访代理) as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    /// e.g. 村干部, 律师, 亲属.
    #[serde(default)]
    pub relation: Option<String>,
}

/// The petition part of `POST /api/v1/cases` with `"type": "petition"`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPetition {
    /// letter | visit | phone | online.
    #[serde(default)]
    pub channel: String,
    /// Number of petitioners (联名/集体访 count more than one).
    #[serde(default)]
    pub petitioners: Option<i64>,
    #[serde(default)]
    pub agent: Option<AgentInput>,
}

/// A checked petition record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PetitionRecord {
    pub channel: String,
    pub petitioners: i64,
    pub agent_name: Option<String>,
    pub agent_phone: Option<String>,
    pub agent_relation: Option<String>,
}

impl NewPetition {
    pub fn validate(&self) -> Result<PetitionRecord, FieldError> {
        let channel = check_code(&codes().petition_channel, &self.channel, "petition.channel")?;
        let petitioners = self.petitioners.unwrap_or(1);
        if !(1..=100_000).contains(&petitioners) {
            return Err(FieldError::new(
                "petition.petitioners",
                "must be between 1 and 100000",
            ));
        }
        let (agent_name, agent_phone, agent_relation) = match &self.agent {
            None => (None, None, None),
            Some(a) => (
                Some(
                    PersonName::parse_field(&a.name, "petition.agent.name")?
                        .as_str()
                        .to_string(),
                ),
                match a.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
                    None => None,
                    Some(p) => Some(
                        Phone::parse(p)
                            .map_err(|e| FieldError::new("petition.agent.phone", e.reason))?
                            .to_string(),
                    ),
                },
                text(a.relation.as_deref(), "petition.agent.relation", 50, false)?,
            ),
        };
        Ok(PetitionRecord {
            channel: channel.code.clone(),
            petitioners,
            agent_name,
            agent_phone,
            agent_relation,
        })
    }
}

/// The resolution method a hand-on records: the one given (checked to belong to the
/// destination's class) or the destination's default.
pub fn hand_on_method(destination: &str, method: Option<&str>) -> Result<String, FieldError> {
    let c = codes();
    let dest = check_code(&c.destination, destination, "destination")?;
    let default = dest.method.clone().unwrap_or_default();
    match method.map(str::trim).filter(|m| !m.is_empty()) {
        None => Ok(default),
        Some(m) => {
            check_code(&c.method, m, "method")?;
            if !m.starts_with(&default) {
                return Err(FieldError::new(
                    "method",
                    format!("{m} is not a method of {destination} (codes {default}…)"),
                ));
            }
            Ok(m.to_string())
        }
    }
}

/// A mediation method given with `assign`: any 01xx code.
pub fn mediation_method(method: &str) -> Result<String, FieldError> {
    let m = check_code(&codes().method, method, "method")?;
    if !(m.code.len() == 4 && m.code.starts_with("01")) {
        return Err(FieldError::new(
            "method",
            "a mediation is assigned with a mediation method (0101–0199)",
        ));
    }
    Ok(m.code.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_tables_load_with_both_languages() {
        let c = codes();
        assert_eq!(c.scale.len(), 3);
        assert_eq!(c.grade.len(), 4);
        assert!(
            c.method
                .iter()
                .any(|m| m.code == "0203" && m.zh == "劳动人事争议仲裁")
        );
        for t in [
            &c.scale,
            &c.grade,
            &c.method,
            &c.committee_kind,
            &c.destination,
            &c.petition_channel,
        ] {
            for x in t.iter() {
                assert!(!x.zh.is_empty() && !x.en.is_empty(), "{}", x.code);
            }
        }
        for k in c.committee_kind.iter().chain(&c.destination) {
            let m = k.method.as_deref().unwrap();
            assert!(find(&c.method, m).is_some(), "{m}");
        }
    }

    #[test]
    fn parties_are_checked_and_masked() {
        let d = NewDispute {
            parties: vec![
                PartyInput {
                    role: Some("applicant".into()),
                    name: "王小明".into(),
                    phone: Some("13812345678".into()),
                    id_number: Some("330502199001011234".into()),
                    ..Default::default()
                },
                PartyInput {
                    kind: Some("organisation".into()),
                    role: Some("respondent".into()),
                    name: "湖州某物业公司".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(
            (d.scale.as_str(), d.grade.as_str(), d.people_count),
            ("01", "04", 2)
        );
        let m = d.parties[0].masked();
        assert_ne!(m.name, "王小明");
        assert!(!m.phone.unwrap().contains("1234567"));
        assert_eq!(m.id_number.unwrap(), "330*************34");
        assert_eq!(d.parties[1].masked().name, "湖州某物业公司");
        let bad = NewDispute {
            parties: vec![PartyInput {
                role: Some("judge".into()),
                name: "王小明".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(bad.validate().unwrap_err().field, "dispute.parties[0].role");
        assert_eq!(
            NewDispute::default().validate().unwrap_err().field,
            "dispute.parties"
        );
        let bad_scale = NewDispute {
            scale: Some("09".into()),
            ..Default::default()
        };
        assert_eq!(bad_scale.validate().unwrap_err().field, "dispute.scale");
    }

    #[test]
    fn sessions_agreements_and_methods() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let s = SessionInput {
            held_on: "2026-11-22".into(),
            place: "村调委会".into(),
            attendees: vec!["a".into()],
            notes: None,
        };
        assert_eq!(s.validate(today).unwrap_err().field, "session.held_on");
        let a = AgreementInput {
            form: "spoken".into(),
            content: "x".into(),
            ..Default::default()
        };
        assert_eq!(a.validate().unwrap_err().field, "agreement.form");
        assert_eq!(hand_on_method("arbitration", None).unwrap(), "02");
        assert_eq!(hand_on_method("arbitration", Some("0203")).unwrap(), "0203");
        assert_eq!(
            hand_on_method("arbitration", Some("05")).unwrap_err().field,
            "method"
        );
        assert_eq!(
            hand_on_method("court", None).unwrap_err().field,
            "destination"
        );
        assert_eq!(mediation_method("0106").unwrap(), "0106");
        assert!(mediation_method("02").is_err());
    }

    /// The petition workflow's statutory clocks through the engine, at the edges of 国庆 2026.
    #[test]
    fn petition_clocks_follow_the_statute_across_national_day() {
        use crate::calendar::{Limit, WorkCalendar, to_local};
        use crate::catalog::{Stage, Urgency};
        use crate::engine::{
            self, Action, ActionRequest, Actor, Command, Context, EngineError, Limits, NewCase,
        };
        use crate::role::Role;
        use chrono::{DateTime, TimeZone, Utc};

        struct Catalogue;
        impl Limits for Catalogue {
            fn limit(&self, _: &str, _: Urgency, _: Stage) -> Limit {
                "1 working_days".parse().unwrap()
            }
        }
        let cal = WorkCalendar::builtin();
        let at = |s: &str| -> DateTime<Utc> {
            let n = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
            crate::calendar::shanghai()
                .from_local_datetime(&n)
                .unwrap()
                .to_utc()
        };
        let local =
            |t: Option<DateTime<Utc>>| to_local(t.unwrap()).format("%Y-%m-%d %H:%M").to_string();
        let ctx = |now| Context {
            calendar: &cal,
            limits: &Catalogue,
            now,
        };
        let actor = |role: Role, dept: Option<&str>| Actor {
            id: None,
            username: "x".into(),
            role,
            department: dept.map(Into::into),
            grids: vec![],
            regions: vec![],
        };
        let (intake, body, leader) = (
            actor(Role::Dispatcher, None),
            actor(Role::Handler, Some("330502-rsj")),
            actor(Role::Leader, None),
        );
        let req = |a: &str| {
            Command::try_from(ActionRequest {
                action: a.into(),
                ..Default::default()
            })
            .unwrap()
        };
        let noted = |a: &str| {
            Command::try_from(ActionRequest {
                action: a.into(),
                note: Some("理由".into()),
                ..Default::default()
            })
            .unwrap()
        };
        let new = NewCase {
            id: uuid::Uuid::now_v7(),
            county_code: "330502".into(),
            number: None,
            tracking_code: "x".into(),
            case_type: "petition".into(),
            category: "X0102".into(),
            urgency: Urgency::Normal,
            channel: "hotline".into(),
            description: "x".into(),
            address: None,
            lat: None,
            lon: None,
            grid_code: None,
            region_code: crate::codes::RegionCode::parse("330502001001").unwrap(),
            needs_grid: false,
            needs_location: false,
            reporter_name: None,
            reporter_phone: None,
            reporter_user: None,
            reporter_anonymous: false,
        };
        // Received 16 September: 15 日 end on 1 October (国庆), so the decision is due by 8 October.
        let c = engine::create(new, None, &ctx(at("2026-09-16 09:00")))
            .unwrap()
            .case;
        assert_eq!(local(c.stage_due_at), "2026-10-09 00:00");
        // Forwarded on Tuesday 29 September: 5 工作日 to object end Monday 12 October, 10:00.
        let fwd = Command::new(Action::Forward {
            department: "330502-rsj".into(),
        });
        let c = engine::apply(&c, &fwd, &intake, &ctx(at("2026-09-29 10:00")))
            .unwrap()
            .case;
        assert_eq!(
            local(c.stage_due_at),
            "2026-10-15 00:00",
            "15 日 to acknowledge"
        );
        let late = engine::apply(&c, &noted("object"), &body, &ctx(at("2026-10-12 10:01")));
        assert!(
            matches!(late, Err(EngineError::NotAllowed { .. })),
            "{late:?}"
        );
        let objected =
            engine::apply(&c, &noted("object"), &body, &ctx(at("2026-10-12 09:59"))).unwrap();
        assert_eq!(objected.case.status, "received");
        // Acknowledged on 9 October: 60 日 to handle.
        let c = engine::apply(&c, &req("acknowledge"), &body, &ctx(at("2026-10-09 11:00")))
            .unwrap()
            .case;
        assert_eq!(
            (c.stage_limit.as_deref(), local(c.stage_due_at)),
            (Some("60 days"), "2026-12-09 00:00".into())
        );
        // One extension, of at most 30 日.
        let extend_by = |by: &str| {
            Command::noted(
                Action::RequestExtension {
                    extend_by: Some(by.parse().unwrap()),
                },
                "理由",
            )
            .unwrap()
        };
        let ext = extend_by("31 days");
        let e = engine::apply(&c, &ext, &body, &ctx(at("2026-11-20 09:00"))).unwrap_err();
        assert!(
            matches!(e, EngineError::Invalid(ref f) if f.field == "extend_by"),
            "{e:?}"
        );
        let ext = extend_by("30 days");
        let c = engine::apply(&c, &ext, &body, &ctx(at("2026-11-20 09:00")))
            .unwrap()
            .case;
        let c = engine::apply(
            &c,
            &req("approve_extension"),
            &leader,
            &ctx(at("2026-11-21 09:00")),
        )
        .unwrap()
        .case;
        assert_eq!(
            local(c.stage_due_at),
            "2027-01-08 00:00",
            "9 December + 30 日 = 8 January"
        );
        let again = engine::apply(&c, &ext, &body, &ctx(at("2026-11-22 09:00")));
        assert!(matches!(again, Err(EngineError::Invalid(_))));
        // Replied: the petitioner's 30 日 are a window, never an official's delay.
        let c = engine::apply(&c, &noted("reply"), &body, &ctx(at("2026-12-01 10:00")))
            .unwrap()
            .case;
        assert_eq!((c.stage_due_at, c.stage_yellow_at), (None, None));
        assert_eq!(
            engine::live_light(&c, at("2027-02-01 10:00")),
            crate::calendar::Light::Green
        );
        assert!(engine::watch(&c, at("2027-02-01 10:00")).is_none());
        let late = engine::apply(
            &c,
            &req("request_review"),
            &intake,
            &ctx(at("2027-01-01 10:00")),
        );
        assert!(
            matches!(late, Err(EngineError::NotAllowed { .. })),
            "31 December was the last day"
        );
        let c2 =
            engine::apply(&c, &req("conclude"), &intake, &ctx(at("2027-01-05 10:00"))).unwrap();
        assert!(
            !c2.case.ever_overdue && c2.counters.overdue == 0 && c2.counters.closed_on_time == 1
        );
        let c = engine::apply(
            &c,
            &req("request_review"),
            &intake,
            &ctx(at("2026-12-31 18:00")),
        )
        .unwrap()
        .case;
        assert_eq!(
            (c.status.as_str(), c.stage_limit.as_deref()),
            ("review_requested", Some("30 days"))
        );
    }
}
