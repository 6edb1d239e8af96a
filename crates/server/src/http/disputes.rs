//! Dispute mediation endpoints (人民调解): code tables, committees and mediators, a dispute's
//! record with parties, sessions and agreement, the printable 调解协议书, grid screening reports
//! (排查) and the success rate (调处成功率). Cases themselves are created and moved through
//! `/api/v1/cases`; this module serves what disputes keep beside them.

use super::auth::CurrentUser;
use super::json::ApiJson;
use crate::app::error::{AppError, AppResult};
use crate::app::scope::region_for;
use crate::app::state::SharedState;
use crate::app::time::{local_time, opt_local_time};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{NaiveDate, TimeDelta, Utc};
use safegrid_domain::Role;
use safegrid_domain::codes::{Phone, RegionCode};
use safegrid_domain::dispute::{self, Party};
use safegrid_domain::engine::Case;
use safegrid_store::disputes::{AgreementRow, DisputeRow, PartyRow, SuccessBy};
use safegrid_store::{StoreError, User, from_ms};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// A query string parsed into `T`, or the JSON error naming what was wrong.
pub type QueryResult<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

pub fn query<T>(q: QueryResult<T>) -> AppResult<T> {
    q.map(|Query(v)| v)
        .map_err(|e| AppError::bad_request(Some("query"), e.body_text()))
}

pub fn staff(u: &User) -> AppResult<()> {
    if matches!(u.role, Role::Citizen) {
        return Err(AppError::forbidden("staff accounts only"));
    }
    Ok(())
}

fn admin(u: &User) -> AppResult<()> {
    if u.role != Role::Admin {
        return Err(AppError::forbidden("administrators only"));
    }
    Ok(())
}

/// A case of `case_type` the user may see; 404 otherwise (as for any case out of scope).
pub async fn visible_case(
    st: &SharedState,
    id: &str,
    user: &User,
    case_type: &str,
) -> AppResult<Case> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::not_found(case_type))?;
    match st.store.case(id).await {
        Ok(c) if c.case_type == case_type && crate::app::scope::in_scope(user, &c) => Ok(c),
        Ok(_) | Err(StoreError::NotFound) => Err(AppError::not_found(case_type)),
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(get, path = "/api/v1/disputes/codes", tag = "disputes",
    summary = "Code tables of the dispute record (GB/T 31000 table 30) and petition channels, zh-CN and en",
    security(("session" = []), ("bearer" = [])), responses((status = 200, description = "The code tables", body = super::schema::DisputeCodes)))]
async fn codes(CurrentUser(_): CurrentUser) -> Json<Value> {
    Json(json!({
        "codes": dispute::codes(),
        "categories_note": "the two-level dispute category is the catalog's D classes: GET /api/v1/categories",
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewCommittee {
    name: String,
    /// village, township, judicial_office or sector.
    kind: String,
    /// The region it serves.
    region: String,
}

#[utoipa::path(post, path = "/api/v1/mediation/committees", tag = "disputes", summary = "Add a mediation committee (admin)",
    security(("session" = []), ("bearer" = [])), request_body(content = NewCommittee, content_type = "application/json"),
    responses((status = 201, description = "Added", body = super::schema::Committee)))]
async fn create_committee(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    ApiJson(b): ApiJson<NewCommittee>,
) -> AppResult<Response> {
    admin(&user)?;
    if let Ok(code) = RegionCode::parse(&b.region)
        && !user.covers_region(code.as_str())
    {
        return Err(AppError::not_found("region"));
    }
    let c = st
        .add_committee(&b.name, &b.kind, &b.region, Utc::now())
        .await?;
    Ok((axum::http::StatusCode::CREATED, Json(json!(c))).into_response())
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct RegionQuery {
    /// Region code: committees in its subtree.
    region: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/mediation/committees", tag = "disputes",
    summary = "Mediation committees (人民调解委员会) in the caller's territory",
    security(("session" = []), ("bearer" = [])), params(RegionQuery),
    responses((status = 200, description = "The committees", body = super::schema::CommitteeList)))]
async fn list_committees(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<RegionQuery>,
) -> AppResult<Json<Value>> {
    staff(&user)?;
    let q = query(q)?;
    let asked = match q.region.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(r) => RegionCode::parse(r)
            .map(|c| c.short().to_string())
            .map_err(|e| AppError::invalid("region", e.reason))?,
        None => String::new(),
    };
    let places = committee_places(&st, &user).await?;
    let v: Vec<_> = st
        .store
        .committees(Some(&asked))
        .await?
        .into_iter()
        .filter(|c| serves(&user, &places, &c.region_code))
        .collect();
    Ok(Json(json!({ "items": v, "total": v.len() })))
}

/// Where an account works, for the committees that serve it: its regions, its grids, its
/// department's region.
async fn committee_places(st: &SharedState, user: &User) -> AppResult<Vec<String>> {
    let mut places: Vec<String> = user.regions.iter().chain(&user.grids).cloned().collect();
    if let Some(d) = user.department.as_deref() {
        match st.store.department(d).await {
            Ok(dep) => places.push(dep.region_code),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(places)
}

/// Whether a committee of `region` concerns the account: it lies in the account's territory, or
/// serves a region the account works in (a grid worker's township or county committee). Other
/// counties' committees are not listed (the root administrator sees all).
fn serves(user: &User, places: &[String], region: &str) -> bool {
    let short = RegionCode::parse(region)
        .map(|c| c.short().to_string())
        .unwrap_or_else(|_| region.to_string());
    user.covers_region(region) || places.iter().any(|p| p.starts_with(&short))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewMediator {
    /// The committee's id.
    committee: Uuid,
    name: String,
    #[serde(default)]
    phone: Option<String>,
    /// The mediator's login, so that they see their own cases' parties unmasked.
    #[serde(default)]
    username: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/mediators", tag = "disputes",
    summary = "Add a mediator, optionally linked to a mediator's login (admin)",
    security(("session" = []), ("bearer" = [])), request_body(content = NewMediator, content_type = "application/json"),
    responses((status = 201, description = "Added", body = super::schema::Mediator)))]
async fn create_mediator(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    ApiJson(b): ApiJson<NewMediator>,
) -> AppResult<Response> {
    admin(&user)?;
    match st.store.committee(b.committee).await {
        Ok(c) if user.covers_region(&c.region_code) => {}
        // Out of the territory answers as a missing committee does.
        Ok(_) | Err(StoreError::NotFound) => {
            return Err(AppError::invalid(
                "committee",
                format!("no committee with id {}", b.committee),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let m = st
        .add_mediator(
            b.committee,
            &b.name,
            b.phone.as_deref(),
            b.username.as_deref(),
            Utc::now(),
        )
        .await?;
    Ok((axum::http::StatusCode::CREATED, Json(json!(m))).into_response())
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct MediatorQuery {
    /// A committee's id (a UUID); empty means every committee.
    #[param(value_type = Option<String>)]
    #[serde(default, deserialize_with = "crate::app::input::empty_as_none")]
    committee: Option<Uuid>,
}

#[utoipa::path(get, path = "/api/v1/mediators", tag = "disputes",
    summary = "Mediators (调解员), phones masked except to admins",
    security(("session" = []), ("bearer" = [])), params(MediatorQuery),
    responses((status = 200, description = "The mediators", body = super::schema::MediatorList)))]
async fn list_mediators(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<MediatorQuery>,
) -> AppResult<Json<Value>> {
    staff(&user)?;
    let q = query(q)?;
    let full = user.role == Role::Admin;
    let places = committee_places(&st, &user).await?;
    let visible: std::collections::HashSet<Uuid> = st
        .store
        .committees(None)
        .await?
        .into_iter()
        .filter(|c| serves(&user, &places, &c.region_code))
        .map(|c| c.id)
        .collect();
    let items: Vec<Value> = st
        .store
        .mediators(q.committee)
        .await?
        .into_iter()
        .filter(|m| visible.contains(&m.committee_id))
        .map(|m| {
            json!({
                "id": m.id, "committee_id": m.committee_id, "name": m.name, "active": m.active,
                "phone": m.phone.as_deref().map(|p| if full { p.to_string() } else {
                    Phone::parse(p).map(|p| p.masked()).unwrap_or_else(|_| "****".into())
                }),
                "has_account": m.user_id.is_some(),
            })
        })
        .collect();
    Ok(Json(json!({ "total": items.len(), "items": items })))
}

fn code_name(table: &[dispute::Code], code: Option<&str>) -> Value {
    code.and_then(|c| table.iter().find(|x| x.code == c))
        .map(|c| json!({ "code": c.code, "zh": c.zh, "en": c.en }))
        .unwrap_or(Value::Null)
}

/// Whether `user` sees this dispute's parties unmasked: an administrator, or the mediator the
/// dispute is assigned to (they need the parties to mediate). Every such view of the parties'
/// personal data is written to the audit trail (`privacy.view_parties`) before it is sent.
async fn sees_parties(
    st: &SharedState,
    user: &User,
    rec: &DisputeRow,
    number: &str,
) -> AppResult<bool> {
    let full = match user.role {
        Role::Admin => true,
        Role::Mediator => match rec.mediator_id {
            Some(m) => st.store.mediator(m).await?.user_id == Some(user.id),
            None => false,
        },
        _ => false,
    };
    if full {
        st.store
            .audit(&safegrid_store::AuditEntry::new(
                Some(user.id),
                user.username.clone(),
                "privacy.view_parties",
                "case",
                Some(number.to_string()),
                json!({ "role": user.role }),
            ))
            .await?;
    }
    Ok(full)
}

fn party_json(p: &PartyRow, full: bool) -> Value {
    let party = Party {
        kind: p.kind.clone(),
        role: p.role.clone(),
        name: p.name.clone(),
        phone: p.phone.clone(),
        id_number: p.id_number.clone(),
    };
    let shown = if full { party } else { party.masked() };
    json!({ "seq": p.seq, "kind": shown.kind, "role": shown.role, "name": shown.name,
            "phone": shown.phone, "id_number": shown.id_number, "masked": !full })
}

/// Free text as a viewer without the parties' data sees it: each person party's name masked
/// (the mediator writes names into agreements and notes), and ID numbers and phone numbers in any
/// typed form (`crate::app::pii`); the parties' own phones as stored are hidden whole.
fn redact(text: &str, parties: &[PartyRow], full: bool) -> String {
    if full {
        return text.to_string();
    }
    let mut out = text.to_string();
    for p in parties {
        if let Some(ph) = p.phone.as_deref().filter(|ph| !ph.is_empty()) {
            out = out.replace(ph, "****");
        }
    }
    let names: Vec<String> = parties
        .iter()
        .filter(|p| p.kind == "person")
        .map(|p| p.name.clone())
        .collect();
    crate::app::pii::mask(&out, &names)
}

fn agreement_json(
    a: &AgreementRow,
    now: chrono::DateTime<Utc>,
    parties: &[PartyRow],
    full: bool,
) -> Value {
    let due = from_ms(a.confirmation_due_at);
    let r = |t: &str| redact(t, parties, full);
    json!({
        "form": a.form, "content": r(&a.content), "obligations": a.obligations.as_deref().map(r), "perform_by": a.perform_by,
        "agreed_at": local_time(from_ms(a.agreed_at)),
        "court_confirmation": {
            "window_closes_at": local_time(due),
            "open": now <= due && a.court_recorded_at.is_none(),
            "reminded_at": opt_local_time(a.confirmation_reminded_at.map(from_ms)),
            "court": a.court, "confirmed": a.court_confirmed,
            "recorded_at": opt_local_time(a.court_recorded_at.map(from_ms)),
        },
        "follow_up": { "honoured": a.honoured, "at": opt_local_time(a.followed_up_at.map(from_ms)) },
    })
}

#[utoipa::path(get, path = "/api/v1/disputes/{id}", tag = "disputes",
    summary = "A dispute's record, parties (masked unless admin or its mediator), sessions and agreement",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "case id (UUID)")),
    responses((status = 200, description = "The dispute", body = super::schema::DisputeView)))]
async fn dispute_view(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    staff(&user)?;
    let case = visible_case(&st, &id, &user, "dispute").await?;
    let rec = st.store.dispute_record(&case.county_code, case.id).await?;
    let full = sees_parties(&st, &user, &rec, &case.number_text()).await?;
    let parties = st.store.dispute_parties(&case.county_code, case.id).await?;
    let sessions = st
        .store
        .mediation_sessions(&case.county_code, case.id)
        .await?;
    let agreement = st
        .store
        .mediation_agreement(&case.county_code, case.id)
        .await?;
    let c = dispute::codes();
    let committee = match rec.committee_id {
        Some(cid) => Some(st.store.committee(cid).await?),
        None => None,
    };
    let mediator = match rec.mediator_id {
        Some(mid) => Some(st.store.mediator(mid).await?),
        None => None,
    };
    let cats = st.categories();
    let class = cats
        .get(&case.category)
        .map(|k| json!({"code": k.class_code, "zh": k.class_zh, "en": k.class_en}));
    let now = Utc::now();
    // Whoever sees the parties sees the dispute's text as typed; everyone else masked, with the
    // parties' names as well as the reporter's.
    // (The masked view reads the parties' names; whoever sees the text as typed needs no mask.)
    let mut case_v = if full {
        crate::app::view::case_json(&st, &case, Some(&user))
    } else {
        crate::app::view::read_json(&st, &case, Some(&user)).await?
    };
    let summary = if full {
        case_v["description"] = json!(case.description);
        case_v["address"] = json!(case.address);
        case.description.clone()
    } else {
        case_v["description"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    Ok(Json(json!({
        "case": case_v,
        "record": {
            "name": summary.chars().take(40).collect::<String>(),
            "scale": code_name(&c.scale, Some(&rec.scale)),
            "grade": code_name(&c.grade, Some(&rec.grade)),
            "category": { "class": class, "code": case.category,
                          "zh": cats.get(&case.category).map(|k| k.name_zh.clone()),
                          "en": cats.get(&case.category).map(|k| k.name_en.clone()) },
            "people_count": rec.people_count,
            "units_involved": rec.units_involved,
            "occurred_on": rec.occurred_on,
            "found_by": rec.found_by,
            "method": code_name(&c.method, rec.method.as_deref()),
            "committee": committee.map(|k| json!({"id": k.id, "name": k.name, "kind": k.kind})),
            "mediator": mediator.map(|m| json!({"id": m.id, "name": m.name})),
            "outcome": rec.outcome,
            "result": rec.result.as_deref().map(|r| redact(r, &parties, full)),
            "evaluation": rec.evaluated_at.map(|at| json!({
                "at": local_time(from_ms(at)),
                "opinion": rec.evaluation.as_deref().map(|o| redact(o, &parties, full)),
            })),
            "success": rec.outcome.as_deref().map(|o| o == "resolved"),
            "concluded_at": opt_local_time(rec.concluded_at.map(from_ms)),
            "hand_on": rec.destination.as_ref().map(|d| json!({
                "destination": code_name(&c.destination, Some(d)),
                "body": rec.destination_body,
            })),
            "lat": case.lat, "lon": case.lon,
        },
        "parties": parties.iter().map(|p| party_json(p, full)).collect::<Vec<_>>(),
        "sessions": sessions.iter().map(|s| json!({
            "seq": s.seq, "held_on": s.held_on, "place": redact(&s.place, &parties, full),
            "attendees": serde_json::from_str::<Vec<String>>(&s.attendees).unwrap_or_default()
                .iter().map(|a| redact(a, &parties, full)).collect::<Vec<_>>(),
            "notes": s.notes.as_deref().map(|n| redact(n, &parties, full)), "recorded_by": s.recorded_by, "recorded_at": local_time(from_ms(s.recorded_at)),
        })).collect::<Vec<_>>(),
        "agreement": agreement.as_ref().map(|a| agreement_json(a, now, &parties, full)),
    })))
}

pub fn day(s: &str, field: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::invalid(field, "must be a date YYYY-MM-DD"))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn cn_date(d: chrono::DateTime<Utc>) -> String {
    let l = d.with_timezone(&crate::app::time::shanghai());
    l.format("%Y年%m月%d日").to_string()
}

/// The printable mediation agreement (人民调解协议书), laid out after the Ministry of Justice's
/// model text, from the stored agreement. Names are masked unless the viewer may see them.
#[utoipa::path(get, path = "/api/v1/disputes/{id}/agreement.html", tag = "disputes",
    summary = "The printable mediation agreement (人民调解协议书), HTML with print CSS",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "case id (UUID)")),
    responses((status = 200, description = "The agreement as a printable page", content_type = "text/html", body = String)))]
async fn agreement_html(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    staff(&user)?;
    let case = visible_case(&st, &id, &user, "dispute").await?;
    let rec = st.store.dispute_record(&case.county_code, case.id).await?;
    let Some(a) = st
        .store
        .mediation_agreement(&case.county_code, case.id)
        .await?
    else {
        return Err(AppError::not_found("agreement"));
    };
    let full = sees_parties(&st, &user, &rec, &case.number_text()).await?;
    let parties = st.store.dispute_parties(&case.county_code, case.id).await?;
    let committee = match rec.committee_id {
        Some(cid) => st.store.committee(cid).await?.name,
        None => "人民调解委员会".into(),
    };
    let mediator = match rec.mediator_id {
        Some(mid) => st.store.mediator(mid).await?.name,
        None => String::new(),
    };
    let mut rows = String::new();
    for p in &parties {
        let v = party_json(p, full);
        let role = if p.role == "applicant" {
            "申请人"
        } else {
            "被申请人"
        };
        let s = |k: &str| v[k].as_str().map(esc).unwrap_or_default();
        rows.push_str(&format!(
            "<tr><th>{role}</th><td>{}</td><th>联系电话</th><td>{}</td><th>证件号码</th><td>{}</td></tr>\n",
            s("name"),
            s("phone"),
            s("id_number")
        ));
    }
    let form = if a.form == "written" {
        "书面"
    } else {
        "口头"
    };
    let perform = a
        .perform_by
        .as_deref()
        .map(esc)
        .unwrap_or_else(|| "协议生效后即时履行".into());
    let html = format!(
        r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>人民调解协议书 {number}</title>
<style>
body {{ font-family: "SimSun", "Songti SC", serif; max-width: 180mm; margin: 10mm auto; font-size: 12pt; line-height: 1.8; }}
h1 {{ text-align: center; font-size: 20pt; letter-spacing: .3em; margin-bottom: 0; }}
.no {{ text-align: right; }}
table {{ width: 100%; border-collapse: collapse; }}
th, td {{ border: 1px solid #000; padding: 2mm; text-align: left; vertical-align: top; }}
th {{ white-space: nowrap; font-weight: normal; }}
.sign {{ margin-top: 12mm; display: flex; justify-content: space-between; }}
.note {{ font-size: 10pt; }}
@media print {{ body {{ margin: 0 auto; }} .noprint {{ display: none; }} @page {{ size: A4; margin: 20mm; }} }}
</style></head><body>
<h1>人民调解协议书</h1>
<p class="no">编号：{number}</p>
<table>
{rows}<tr><th>纠纷简要情况</th><td colspan="5">{summary}</td></tr>
<tr><th>协议形式</th><td colspan="5">{form}协议</td></tr>
<tr><th>经调解，自愿达成如下协议</th><td colspan="5">{content}</td></tr>
<tr><th>履行方式、时限</th><td colspan="5">{obligations}（履行期限：{perform}）</td></tr>
</table>
<p>本协议一式三份，当事人、人民调解委员会各持一份。本协议自各方当事人签名（盖章）、人民调解员签名并加盖人民调解委员会印章之日起生效。
当事人可以自本协议生效之日起三十日内共同向人民法院申请司法确认（申请期限至 {due}）。</p>
<div class="sign"><div>当事人（签名）：</div><div>人民调解员（签名）：{mediator}</div></div>
<div class="sign"><div>{committee}（印章）</div><div>{date}</div></div>
<p class="note noprint">由平安网格生成 · 案件 {number}{masked}</p>
</body></html>"#,
        number = esc(&case.number_text()),
        rows = rows,
        summary = esc(&if full {
            case.description.clone()
        } else {
            crate::app::pii::mask(
                &redact(&case.description, &parties, full),
                &crate::app::pii::reporter_names(&case),
            )
        }),
        form = form,
        content = esc(&redact(&a.content, &parties, full)),
        obligations = a
            .obligations
            .as_deref()
            .map(|o| esc(&redact(o, &parties, full)))
            .unwrap_or_default(),
        perform = perform,
        due = cn_date(from_ms(a.confirmation_due_at) - TimeDelta::seconds(1)),
        mediator = esc(&mediator),
        committee = esc(&committee),
        date = cn_date(from_ms(a.agreed_at)),
        masked = if full {
            ""
        } else {
            " · 当事人信息已脱敏"
        },
    );
    let mut r = Html(html).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SuccessQuery {
    /// Region code (default: the caller's territory).
    region: Option<String>,
    /// Concluded from this day (YYYY-MM-DD; default a year before `to`).
    from: Option<String>,
    /// Concluded up to this day (YYYY-MM-DD; default today).
    to: Option<String>,
    /// region | class | category | method
    by: Option<String>,
}

/// 调处成功率 = resolved / concluded, grouped by region (the next level down), dispute class,
/// category or resolution method, for disputes concluded in the period.
#[utoipa::path(get, path = "/api/v1/stats/disputes", tag = "stats",
    summary = "Mediation success rate (调处成功率 = resolved / concluded) by region, class, category or method",
    security(("session" = []), ("bearer" = [])), params(SuccessQuery),
    responses((status = 200, description = "The rates", body = super::schema::DisputeSuccess)))]
async fn success(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<SuccessQuery>,
) -> AppResult<Json<Value>> {
    if matches!(user.role, Role::Citizen | Role::Handler) {
        return Err(AppError::forbidden(
            "statistics are for the territory's staff",
        ));
    }
    let q = query(q)?;
    let prefix = region_for(&user, q.region.as_deref())?;
    let today = Utc::now()
        .with_timezone(&crate::app::time::shanghai())
        .date_naive();
    let to =
        q.to.as_deref()
            .map(|s| day(s, "to"))
            .transpose()?
            .unwrap_or(today);
    let from = q
        .from
        .as_deref()
        .map(|s| day(s, "from"))
        .transpose()?
        .unwrap_or(to - chrono::Duration::days(364));
    if from > to {
        return Err(AppError::invalid("from", "must not be after to"));
    }
    let start = crate::app::time::parse_day(&from.to_string(), "from", false)?;
    let end = crate::app::time::parse_day(&to.to_string(), "to", true)? + TimeDelta::seconds(1);
    let by_s = q.by.as_deref().unwrap_or("region");
    let by = match by_s {
        "region" => SuccessBy::Region(match prefix.len() {
            0 => 2,
            2 => 4,
            4 => 6,
            6 => 9,
            _ => 12,
        }),
        "class" => SuccessBy::Class,
        "category" => SuccessBy::Category,
        "method" => SuccessBy::Method,
        _ => {
            return Err(AppError::invalid(
                "by",
                "must be region, class, category or method",
            ));
        }
    };
    let rows = st.store.dispute_success(&prefix, start, end, by).await?;
    let names = st.region_names();
    let cats = st.categories();
    let methods = &dispute::codes().method;
    let rate = |r: i64, c: i64| {
        if c > 0 {
            Some(r as f64 / c as f64)
        } else {
            None
        }
    };
    let (mut concluded, mut resolved) = (0, 0);
    let groups: Vec<Value> = rows
        .iter()
        .map(|r| {
            concluded += r.concluded;
            resolved += r.resolved;
            let name = match by {
                SuccessBy::Region(_) => names.get(&format!("{:0<12}", r.key)).map(|n| json!(n)),
                SuccessBy::Category => cats
                    .get(&r.key)
                    .map(|c| json!({"zh": c.name_zh, "en": c.name_en})),
                SuccessBy::Class => cats
                    .values()
                    .find(|c| c.class_code == r.key)
                    .map(|c| json!({"zh": c.class_zh, "en": c.class_en})),
                SuccessBy::Method => methods
                    .iter()
                    .find(|m| m.code == r.key)
                    .map(|m| json!({"zh": m.zh, "en": m.en})),
            };
            json!({ "key": r.key, "name": name, "concluded": r.concluded, "resolved": r.resolved,
                    "success_rate": rate(r.resolved, r.concluded) })
        })
        .collect();
    Ok(Json(json!({
        "region": prefix, "from": from, "to": to, "by": by_s,
        "concluded": concluded, "resolved": resolved, "success_rate": rate(resolved, concluded),
        "groups": groups,
        "definition": "调处成功率 = resolved / concluded (resolved + not resolved + handed on); refusals of mediation are not mediations",
    })))
}

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .merge(super::screenings::router())
        .routes(routes!(codes))
        .routes(routes!(list_committees, create_committee))
        .routes(routes!(list_mediators, create_mediator))
        .routes(routes!(dispute_view))
        .routes(routes!(agreement_html))
        .routes(routes!(success))
}
