//! Dispute mediation (人民调解) and petition (信访) records kept beside their cases: committees,
//! mediators, the GB/T 31000 dispute record with its parties, sessions and agreement, grid
//! screening reports, and the petition record. Writes that belong to a case action are
//! [`SideWrite`]s, run by [`Store::update_case_with`] in the case's own transaction, so an action
//! and its record are stored together or not at all.

use crate::time::{from_ms, to_ms};
use crate::{Result, Store, StoreError, unique_to_conflict, with_pool};
use chrono::{DateTime, NaiveDate, Utc};
use safegrid_domain::dispute::{Agreement, DisputeRecord, PetitionRecord, Session};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use uuid::Uuid;

/// A bound value of a [`SideWrite`].
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Uuid(Option<Uuid>),
}

/// One statement to run inside a case write's transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct SideWrite {
    pub sql: &'static str,
    pub args: Vec<Val>,
}

fn t(s: impl Into<String>) -> Val {
    Val::Text(Some(s.into()))
}
fn ot(s: Option<impl Into<String>>) -> Val {
    Val::Text(s.map(Into::into))
}
fn i(v: i64) -> Val {
    Val::Int(Some(v))
}
fn u(v: Uuid) -> Val {
    Val::Uuid(Some(v))
}

macro_rules! bind_vals {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Val::Text(v) => q.bind(v.clone()),
                Val::Int(v) => q.bind(*v),
                Val::Bool(v) => q.bind(*v),
                Val::Uuid(v) => q.bind(*v),
            };
        }
        q
    }};
}
pub(crate) use bind_vals;

/// A mediation committee (人民调解委员会) or judicial office.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Committee {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub region_code: String,
}

/// A mediator (调解员) of a committee, optionally linked to a login.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Mediator {
    pub id: Uuid,
    pub committee_id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    pub user_id: Option<Uuid>,
    pub active: bool,
}

/// The stored dispute record (GB/T 31000 table 30) of a case.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DisputeRow {
    pub region_code: String,
    pub category: String,
    pub scale: String,
    pub grade: String,
    pub people_count: i64,
    pub units_involved: Option<String>,
    pub occurred_on: Option<String>,
    pub found_by: String,
    pub committee_id: Option<Uuid>,
    pub mediator_id: Option<Uuid>,
    pub method: Option<String>,
    pub outcome: Option<String>,
    pub concluded_at: Option<i64>,
    pub destination: Option<String>,
    pub destination_body: Option<String>,
    pub result: Option<String>,
    pub evaluated_at: Option<i64>,
    pub evaluation: Option<String>,
}

/// A stored party (当事人), unmasked: the caller masks.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct PartyRow {
    pub seq: i32,
    pub kind: String,
    pub role: String,
    pub name: String,
    pub phone: Option<String>,
    pub id_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SessionRow {
    pub seq: i32,
    pub held_on: String,
    pub place: String,
    /// JSON array of names.
    pub attendees: String,
    pub notes: Option<String>,
    pub recorded_by: String,
    pub recorded_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AgreementRow {
    pub form: String,
    pub content: String,
    pub obligations: Option<String>,
    pub perform_by: Option<String>,
    pub agreed_at: i64,
    pub confirmation_due_at: i64,
    pub confirmation_reminded_at: Option<i64>,
    pub court: Option<String>,
    pub court_confirmed: Option<bool>,
    pub court_recorded_at: Option<i64>,
    pub honoured: Option<bool>,
    pub followed_up_at: Option<i64>,
}

/// A grid's periodic screening report (矛盾纠纷排查).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ScreeningRow {
    pub id: Uuid,
    pub grid_code: String,
    pub region_code: String,
    pub period_from: String,
    pub period_to: String,
    pub none_found: bool,
    pub notes: Option<String>,
    pub reported_by: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct PetitionRow {
    pub region_code: String,
    pub channel: String,
    pub petitioners: i64,
    pub agent_name: Option<String>,
    pub agent_phone: Option<String>,
    pub agent_relation: Option<String>,
    pub repeat_count: i32,
    pub reply: Option<String>,
    pub replied_at: Option<i64>,
    pub review_answer: Option<String>,
    pub re_review_answer: Option<String>,
    pub leader_id: Option<Uuid>,
    pub leader_name: Option<String>,
}

/// Resolved and concluded disputes of one group (调处成功率 = resolved / concluded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SuccessRow {
    pub key: String,
    pub concluded: i64,
    pub resolved: i64,
}

/// How success rates are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuccessBy {
    /// The region code cut to this many digits (6 county, 9 township, 12 village).
    Region(usize),
    /// The dispute class (D01…): first three characters of the category.
    Class,
    Category,
    Method,
}

// ----- side writes of case actions -----

/// The dispute record and its parties, written with the new case.
pub fn insert_dispute(
    county: &str,
    case_id: Uuid,
    region: &str,
    category: &str,
    rec: &DisputeRecord,
    now: DateTime<Utc>,
) -> Vec<SideWrite> {
    let mut v = vec![SideWrite {
        sql: "INSERT INTO dispute_records (county_code, case_id, region_code, category, scale, grade, people_count,
              units_involved, occurred_on, found_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        args: vec![
            t(county),
            u(case_id),
            t(region),
            t(category),
            t(&rec.scale),
            t(&rec.grade),
            i(rec.people_count),
            ot(rec.units_involved.clone()),
            ot(rec.occurred_on.map(|d| d.to_string())),
            t(&rec.found_by),
            i(to_ms(now)),
        ],
    }];
    for (n, p) in rec.parties.iter().enumerate() {
        v.push(SideWrite {
            sql: "INSERT INTO dispute_parties (county_code, case_id, seq, kind, role, name, phone, id_number)
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args: vec![
                t(county),
                u(case_id),
                i(n as i64 + 1),
                t(&p.kind),
                t(&p.role),
                t(&p.name),
                ot(p.phone.clone()),
                ot(p.id_number.clone()),
            ],
        });
    }
    v
}

pub fn assign_mediator(
    county: &str,
    case_id: Uuid,
    committee: Uuid,
    mediator: Uuid,
    method: &str,
) -> SideWrite {
    SideWrite {
        sql: "UPDATE dispute_records SET committee_id = $3, mediator_id = $4, method = $5 WHERE county_code = $1 AND case_id = $2",
        args: vec![t(county), u(case_id), u(committee), u(mediator), t(method)],
    }
}

pub fn insert_session(
    county: &str,
    case_id: Uuid,
    s: &Session,
    recorded_by: &str,
    now: DateTime<Utc>,
) -> SideWrite {
    SideWrite {
        sql: "INSERT INTO mediation_sessions (county_code, case_id, seq, held_on, place, attendees, notes, recorded_by, recorded_at)
              SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, $4, $5, $6, $7, $8 FROM mediation_sessions WHERE county_code = $1 AND case_id = $2",
        args: vec![
            t(county),
            u(case_id),
            t(s.held_on.to_string()),
            t(&s.place),
            t(serde_json::to_string(&s.attendees).unwrap_or_else(|_| "[]".into())),
            ot(s.notes.clone()),
            t(recorded_by),
            i(to_ms(now)),
        ],
    }
}

pub fn insert_agreement(
    county: &str,
    case_id: Uuid,
    a: &Agreement,
    now: DateTime<Utc>,
    confirmation_due: DateTime<Utc>,
) -> SideWrite {
    SideWrite {
        sql: "INSERT INTO mediation_agreements (county_code, case_id, form, content, obligations, perform_by, agreed_at, confirmation_due_at)
              VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args: vec![
            t(county),
            u(case_id),
            t(&a.form),
            t(&a.content),
            ot(a.obligations.clone()),
            ot(a.perform_by.map(|d| d.to_string())),
            i(to_ms(now)),
            i(to_ms(confirmation_due)),
        ],
    }
}

pub fn follow_up(county: &str, case_id: Uuid, honoured: bool, now: DateTime<Utc>) -> SideWrite {
    SideWrite {
        sql: "UPDATE mediation_agreements SET honoured = $3, followed_up_at = $4 WHERE county_code = $1 AND case_id = $2",
        args: vec![
            t(county),
            u(case_id),
            Val::Bool(Some(honoured)),
            i(to_ms(now)),
        ],
    }
}

pub fn court_confirmation(
    county: &str,
    case_id: Uuid,
    court: &str,
    confirmed: bool,
    now: DateTime<Utc>,
) -> SideWrite {
    SideWrite {
        sql: "UPDATE mediation_agreements SET court = $3, court_confirmed = $4, court_recorded_at = $5 WHERE county_code = $1 AND case_id = $2",
        args: vec![
            t(county),
            u(case_id),
            t(court),
            Val::Bool(Some(confirmed)),
            i(to_ms(now)),
        ],
    }
}

pub fn confirmation_reminded(county: &str, case_id: Uuid, now: DateTime<Utc>) -> SideWrite {
    SideWrite {
        sql: "UPDATE mediation_agreements SET confirmation_reminded_at = $3 WHERE county_code = $1 AND case_id = $2",
        args: vec![t(county), u(case_id), i(to_ms(now))],
    }
}

/// Ends a dispute: `outcome` resolved | unresolved | handed_on | not_mediated.
pub fn conclude_dispute(
    county: &str,
    case_id: Uuid,
    outcome: &str,
    result: Option<&str>,
    now: DateTime<Utc>,
    hand_on: Option<(&str, &str, &str)>,
) -> SideWrite {
    let (dest, body, method) = match hand_on {
        Some((d, b, m)) => (Some(d), Some(b), Some(m)),
        None => (None, None, None),
    };
    SideWrite {
        sql: "UPDATE dispute_records SET outcome = $3, concluded_at = $4, destination = COALESCE($5, destination),
              destination_body = COALESCE($6, destination_body), method = COALESCE($7, method), result = $8
              WHERE county_code = $1 AND case_id = $2",
        args: vec![
            t(county),
            u(case_id),
            t(outcome),
            i(to_ms(now)),
            ot(dest),
            ot(body),
            ot(method),
            ot(result),
        ],
    }
}

/// The evaluation of a concluded dispute (评估日期, 评估意见).
pub fn evaluate_dispute(
    county: &str,
    case_id: Uuid,
    opinion: &str,
    now: DateTime<Utc>,
) -> SideWrite {
    SideWrite {
        sql: "UPDATE dispute_records SET evaluation = $3, evaluated_at = $4 WHERE county_code = $1 AND case_id = $2",
        args: vec![t(county), u(case_id), t(opinion), i(to_ms(now))],
    }
}

/// A leader takes charge of a petition (包案).
pub fn petition_leader(county: &str, case_id: Uuid, leader: Option<Uuid>, name: &str) -> SideWrite {
    SideWrite {
        sql: "UPDATE petition_records SET leader_id = $3, leader_name = $4 WHERE county_code = $1 AND case_id = $2",
        args: vec![t(county), u(case_id), Val::Uuid(leader), t(name)],
    }
}

pub fn insert_petition(
    county: &str,
    case_id: Uuid,
    region: &str,
    p: &PetitionRecord,
    now: DateTime<Utc>,
) -> SideWrite {
    SideWrite {
        sql: "INSERT INTO petition_records (county_code, case_id, region_code, channel, petitioners, agent_name, agent_phone,
              agent_relation, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args: vec![
            t(county),
            u(case_id),
            t(region),
            t(&p.channel),
            i(p.petitioners),
            ot(p.agent_name.clone()),
            ot(p.agent_phone.clone()),
            ot(p.agent_relation.clone()),
            i(to_ms(now)),
        ],
    }
}

/// A repeated petition was linked to `original`: count it there.
pub fn petition_repeated(original_county: &str, original: Uuid) -> SideWrite {
    SideWrite {
        sql: "UPDATE petition_records SET repeat_count = repeat_count + 1 WHERE county_code = $1 AND case_id = $2",
        args: vec![t(original_county), u(original)],
    }
}

/// Records a written answer: `column` is reply, review_answer or re_review_answer.
pub fn petition_answer(
    county: &str,
    case_id: Uuid,
    column: &str,
    text: &str,
    now: DateTime<Utc>,
) -> SideWrite {
    let sql = match column {
        "reply" => {
            "UPDATE petition_records SET reply = $3, replied_at = $4 WHERE county_code = $1 AND case_id = $2"
        }
        "review_answer" => {
            "UPDATE petition_records SET review_answer = $3, replied_at = $4 WHERE county_code = $1 AND case_id = $2"
        }
        _ => {
            "UPDATE petition_records SET re_review_answer = $3, replied_at = $4 WHERE county_code = $1 AND case_id = $2"
        }
    };
    SideWrite {
        sql,
        args: vec![t(county), u(case_id), t(text), i(to_ms(now))],
    }
}

fn range(prefix: &str) -> (String, String) {
    (format!("{prefix:0<12}"), format!("{prefix:9<12}"))
}

impl Store {
    pub async fn create_committee(
        &self,
        name: &str,
        kind: &str,
        region_code: &str,
        now: DateTime<Utc>,
    ) -> Result<Committee> {
        let c = Committee {
            id: Uuid::now_v7(),
            name: name.into(),
            kind: kind.into(),
            region_code: region_code.into(),
        };
        with_pool!(self, p => sqlx::query("INSERT INTO mediation_committees (id, name, kind, region_code, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(c.id).bind(&c.name).bind(&c.kind).bind(&c.region_code).bind(to_ms(now)).execute(p).await
            .map(|_| ()).map_err(|e| unique_to_conflict(e, "committee")))?;
        Ok(c)
    }

    /// Committees whose region lies under `prefix` (a significant region-code prefix), or all.
    pub async fn committees(&self, prefix: Option<&str>) -> Result<Vec<Committee>> {
        let (lo, hi) = range(prefix.unwrap_or(""));
        let v: Vec<Committee> = with_pool!(self, p => sqlx::query_as(
            "SELECT id, name, kind, region_code FROM mediation_committees WHERE region_code BETWEEN $1 AND $2 ORDER BY region_code, name")
            .bind(lo).bind(hi).fetch_all(p).await)?;
        Ok(v)
    }

    pub async fn committee(&self, id: Uuid) -> Result<Committee> {
        let v: Option<Committee> = with_pool!(self, p => sqlx::query_as(
            "SELECT id, name, kind, region_code FROM mediation_committees WHERE id = $1").bind(id).fetch_optional(p).await)?;
        v.ok_or(StoreError::NotFound)
    }

    pub async fn create_mediator(
        &self,
        committee_id: Uuid,
        name: &str,
        phone: Option<&str>,
        user_id: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<Mediator> {
        let m = Mediator {
            id: Uuid::now_v7(),
            committee_id,
            name: name.into(),
            phone: phone.map(Into::into),
            user_id,
            active: true,
        };
        with_pool!(self, p => sqlx::query("INSERT INTO mediators (id, committee_id, name, phone, user_id, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(m.id).bind(m.committee_id).bind(&m.name).bind(&m.phone).bind(m.user_id).bind(true).bind(to_ms(now)).execute(p).await
            .map(|_| ()).map_err(|e| unique_to_conflict(e, "committee_id")))?;
        Ok(m)
    }

    pub async fn mediators(&self, committee: Option<Uuid>) -> Result<Vec<Mediator>> {
        let v: Vec<Mediator> = with_pool!(self, p => match committee {
            Some(c) => sqlx::query_as("SELECT id, committee_id, name, phone, user_id, active FROM mediators WHERE committee_id = $1 ORDER BY name")
                .bind(c).fetch_all(p).await,
            None => sqlx::query_as("SELECT id, committee_id, name, phone, user_id, active FROM mediators ORDER BY name").fetch_all(p).await,
        })?;
        Ok(v)
    }

    pub async fn mediator(&self, id: Uuid) -> Result<Mediator> {
        let v: Option<Mediator> = with_pool!(self, p => sqlx::query_as(
            "SELECT id, committee_id, name, phone, user_id, active FROM mediators WHERE id = $1").bind(id).fetch_optional(p).await)?;
        v.ok_or(StoreError::NotFound)
    }

    pub async fn dispute_record(&self, county: &str, case_id: Uuid) -> Result<DisputeRow> {
        let v: Option<DisputeRow> = with_pool!(self, p => sqlx::query_as(
            "SELECT region_code, category, scale, grade, people_count, units_involved, occurred_on, found_by, committee_id,
             mediator_id, method, outcome, concluded_at, destination, destination_body, result, evaluated_at, evaluation FROM dispute_records
             WHERE county_code = $1 AND case_id = $2").bind(county).bind(case_id).fetch_optional(p).await)?;
        v.ok_or(StoreError::NotFound)
    }

    pub async fn dispute_parties(&self, county: &str, case_id: Uuid) -> Result<Vec<PartyRow>> {
        let v: Vec<PartyRow> = with_pool!(self, p => sqlx::query_as(
            "SELECT seq, kind, role, name, phone, id_number FROM dispute_parties WHERE county_code = $1 AND case_id = $2 ORDER BY seq")
            .bind(county).bind(case_id).fetch_all(p).await)?;
        Ok(v)
    }

    pub async fn mediation_sessions(&self, county: &str, case_id: Uuid) -> Result<Vec<SessionRow>> {
        let v: Vec<SessionRow> = with_pool!(self, p => sqlx::query_as(
            "SELECT seq, held_on, place, attendees, notes, recorded_by, recorded_at FROM mediation_sessions
             WHERE county_code = $1 AND case_id = $2 ORDER BY seq").bind(county).bind(case_id).fetch_all(p).await)?;
        Ok(v)
    }

    pub async fn mediation_agreement(
        &self,
        county: &str,
        case_id: Uuid,
    ) -> Result<Option<AgreementRow>> {
        let v: Option<AgreementRow> = with_pool!(self, p => sqlx::query_as(
            "SELECT form, content, obligations, perform_by, agreed_at, confirmation_due_at, confirmation_reminded_at, court,
             court_confirmed, court_recorded_at, honoured, followed_up_at FROM mediation_agreements
             WHERE county_code = $1 AND case_id = $2").bind(county).bind(case_id).fetch_optional(p).await)?;
        Ok(v)
    }

    /// Agreements whose court-confirmation window closes before `horizon`, not yet confirmed or
    /// reminded, on cases still in `states`: (county, case id).
    pub async fn confirmations_to_remind(
        &self,
        horizon: DateTime<Utc>,
        now: DateTime<Utc>,
        states: &[&str],
    ) -> Result<Vec<(String, Uuid)>> {
        let ps: Vec<String> = (0..states.len()).map(|n| format!("${}", n + 3)).collect();
        let sql = format!(
            "SELECT a.county_code, a.case_id FROM mediation_agreements a JOIN cases c ON c.county_code = a.county_code AND c.id = a.case_id
             WHERE a.confirmation_due_at <= $1 AND a.confirmation_due_at > $2 AND a.confirmation_reminded_at IS NULL
             AND a.court_recorded_at IS NULL AND c.status IN ({}) ORDER BY a.confirmation_due_at LIMIT 500",
            ps.join(", ")
        );
        let v: Vec<(String, Uuid)> = with_pool!(self, p => {
            let mut q = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(to_ms(horizon)).bind(to_ms(now));
            for s in states {
                q = q.bind(*s);
            }
            q.fetch_all(p).await
        })?;
        Ok(v)
    }

    /// Success rates (调处成功率) of disputes concluded in [from, to) under a region prefix,
    /// grouped as asked. Concluded = resolved + unresolved + handed on; a refusal of mediation
    /// (not mediated) is no mediation and counts in neither.
    pub async fn dispute_success(
        &self,
        prefix: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        by: SuccessBy,
    ) -> Result<Vec<SuccessRow>> {
        let key = match by {
            SuccessBy::Region(n) => format!("SUBSTR(region_code, 1, {})", n.clamp(2, 12)),
            SuccessBy::Class => "SUBSTR(category, 1, 3)".to_string(),
            SuccessBy::Category => "category".to_string(),
            SuccessBy::Method => "COALESCE(method, '')".to_string(),
        };
        let (lo, hi) = range(prefix);
        let sql = format!(
            "SELECT {key} AS key, COUNT(*) AS concluded, SUM(CASE WHEN outcome = 'resolved' THEN 1 ELSE 0 END) AS resolved
             FROM dispute_records WHERE region_code BETWEEN $1 AND $2 AND concluded_at >= $3 AND concluded_at < $4
             AND outcome IN ('resolved', 'unresolved', 'handed_on') GROUP BY {key} ORDER BY {key}"
        );
        let v: Vec<(String, i64, i64)> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str()))
            .bind(lo).bind(hi).bind(to_ms(from)).bind(to_ms(to)).fetch_all(p).await)?;
        Ok(v.into_iter()
            .map(|(key, concluded, resolved)| SuccessRow {
                key,
                concluded,
                resolved,
            })
            .collect())
    }

    /// Stores a grid's screening report with the disputes it lists, in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_screening(
        &self,
        grid_code: &str,
        region_code: &str,
        period: (NaiveDate, NaiveDate),
        cases: &[(String, Uuid)],
        notes: Option<&str>,
        reported_by: &str,
        now: DateTime<Utc>,
    ) -> Result<ScreeningRow> {
        let row = ScreeningRow {
            id: Uuid::now_v7(),
            grid_code: grid_code.into(),
            region_code: region_code.into(),
            period_from: period.0.to_string(),
            period_to: period.1.to_string(),
            none_found: cases.is_empty(),
            notes: notes.map(Into::into),
            reported_by: reported_by.into(),
            created_at: to_ms(now),
        };
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query("INSERT INTO screening_reports (id, grid_code, region_code, period_from, period_to, none_found, notes, reported_by, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(row.id).bind(&row.grid_code).bind(&row.region_code).bind(&row.period_from).bind(&row.period_to)
                .bind(row.none_found).bind(&row.notes).bind(&row.reported_by).bind(row.created_at)
                .execute(&mut *tx).await.map_err(|e| unique_to_conflict(e, "screening report for this grid and period"))?;
            for (county, id) in cases {
                sqlx::query("INSERT INTO screening_report_cases (report_id, county_code, case_id) VALUES ($1, $2, $3)")
                    .bind(row.id).bind(county).bind(*id).execute(&mut *tx).await
                    .map_err(|e| unique_to_conflict(e, "cases"))?;
            }
            tx.commit().await?;
        });
        Ok(row)
    }

    /// Screening reports under a region prefix whose period overlaps [from, to] (dates, inclusive).
    pub async fn screenings(
        &self,
        prefix: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<(ScreeningRow, Vec<Uuid>)>> {
        let (lo, hi) = range(prefix);
        let rows: Vec<ScreeningRow> = with_pool!(self, p => sqlx::query_as(
            "SELECT id, grid_code, region_code, period_from, period_to, none_found, notes, reported_by, created_at
             FROM screening_reports WHERE region_code BETWEEN $1 AND $2 AND period_to >= $3 AND period_from <= $4
             ORDER BY period_from, grid_code LIMIT 1000").bind(lo).bind(hi).bind(from).bind(to).fetch_all(p).await)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let ids: Vec<(Uuid,)> = with_pool!(self, p => sqlx::query_as(
                "SELECT case_id FROM screening_report_cases WHERE report_id = $1 ORDER BY case_id").bind(r.id).fetch_all(p).await)?;
            out.push((r, ids.into_iter().map(|x| x.0).collect()));
        }
        Ok(out)
    }

    pub async fn petition_record(&self, county: &str, case_id: Uuid) -> Result<PetitionRow> {
        let v: Option<PetitionRow> = with_pool!(self, p => sqlx::query_as(
            "SELECT region_code, channel, petitioners, agent_name, agent_phone, agent_relation, repeat_count, reply, replied_at,
             review_answer, re_review_answer, leader_id, leader_name FROM petition_records WHERE county_code = $1 AND case_id = $2")
            .bind(county).bind(case_id).fetch_optional(p).await)?;
        v.ok_or(StoreError::NotFound)
    }

    /// Petition backlog (积案) under a region prefix: open petitions that ran or run late, or
    /// that were petitioned again. `terminal` lists the petition workflow's terminal states.
    /// Returns (county, case id, repeat count), most repeated first.
    pub async fn petition_backlog(
        &self,
        prefix: &str,
        now: DateTime<Utc>,
        terminal: &[String],
        party_windows: &[String],
    ) -> Result<Vec<(String, Uuid, i32)>> {
        let (lo, hi) = range(prefix);
        let mut n = 3;
        let mut ph = |k: usize| {
            let v: Vec<String> = (0..k).map(|j| format!("${}", n + j + 1)).collect();
            n += k;
            v.join(", ")
        };
        let term = ph(terminal.len());
        let windows = ph(party_windows.len().max(1));
        let sql = format!(
            "SELECT c.county_code, c.id, r.repeat_count FROM cases c JOIN petition_records r ON r.county_code = c.county_code AND r.case_id = c.id
             WHERE c.case_type = 'petition' AND c.region_code BETWEEN $1 AND $2 AND c.status NOT IN ({term})
             AND (c.ever_overdue OR r.repeat_count > 0 OR (c.stage_due_at < $3 AND c.status NOT IN ({windows})))
             ORDER BY r.repeat_count DESC, c.created_at LIMIT 1000"
        );
        let v: Vec<(String, Uuid, i32)> = with_pool!(self, p => {
            let mut q = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(lo.clone()).bind(hi.clone()).bind(to_ms(now));
            for s in terminal {
                q = q.bind(s.clone());
            }
            if party_windows.is_empty() {
                q = q.bind(String::new());
            }
            for s in party_windows {
                q = q.bind(s.clone());
            }
            q.fetch_all(p).await
        })?;
        Ok(v)
    }
}

/// Petitions of one channel and status received in a period, with how many of them ran late,
/// were answered, answered without ever running late, reviewed and re-reviewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PetitionFigures {
    pub channel: String,
    pub status: String,
    pub count: i64,
    pub overdue: i64,
    pub replied: i64,
    pub replied_on_time: i64,
    pub reviewed: i64,
    pub re_reviewed: i64,
}

impl Store {
    pub async fn petition_figures(
        &self,
        prefix: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<PetitionFigures>> {
        let (lo, hi) = range(prefix);
        type Row = (String, String, i64, i64, i64, i64, i64, i64);
        let v: Vec<Row> = with_pool!(self, p => sqlx::query_as(
            "SELECT r.channel, c.status, COUNT(*),
                SUM(CASE WHEN c.ever_overdue THEN 1 ELSE 0 END),
                SUM(CASE WHEN c.handled_at IS NOT NULL THEN 1 ELSE 0 END),
                SUM(CASE WHEN c.handled_at IS NOT NULL AND NOT c.ever_overdue THEN 1 ELSE 0 END),
                SUM(CASE WHEN r.review_answer IS NOT NULL THEN 1 ELSE 0 END),
                SUM(CASE WHEN r.re_review_answer IS NOT NULL THEN 1 ELSE 0 END)
             FROM petition_records r JOIN cases c ON c.county_code = r.county_code AND c.id = r.case_id
             WHERE r.region_code BETWEEN $1 AND $2 AND c.created_at >= $3 AND c.created_at < $4
             GROUP BY r.channel, c.status ORDER BY r.channel, c.status")
            .bind(lo).bind(hi).bind(to_ms(from)).bind(to_ms(to)).fetch_all(p).await)?;
        Ok(v.into_iter()
            .map(
                |(
                    channel,
                    status,
                    count,
                    overdue,
                    replied,
                    replied_on_time,
                    reviewed,
                    re_reviewed,
                )| PetitionFigures {
                    channel,
                    status,
                    count,
                    overdue,
                    replied,
                    replied_on_time,
                    reviewed,
                    re_reviewed,
                },
            )
            .collect())
    }
}

/// Milliseconds to UTC, for callers that format stored times.
pub fn at(ms: i64) -> DateTime<Utc> {
    from_ms(ms)
}
