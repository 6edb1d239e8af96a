//! Petition endpoints (信访): a petition's record with its statutory clocks, the backlog (积案)
//! for the leaders responsible, and petition figures. Petitions are created and moved through
//! `/api/v1/cases` like every case.

use super::auth::CurrentUser;
use super::disputes::{QueryResult, query, visible_case};
use crate::app::disputes::{party_window_states, terminal_states, window_closes};
use crate::app::error::{AppError, AppResult};
use crate::app::scope::region_for;
use crate::app::state::SharedState;
use crate::app::time::{local_time, opt_local_time};
use axum::Json;
use axum::extract::{Path, State};
use chrono::Utc;
use safegrid_domain::Role;
use safegrid_domain::codes::{PersonName, Phone};
use safegrid_domain::dispute;
use safegrid_domain::engine::{self, Case};
use safegrid_store::{User, from_ms};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The statutory clocks of a petition as they stand: the running stage's limit and due time,
/// and the windows open now (objection by the receiving body, review or re-review request).
fn clocks_json(st: &SharedState, case: &Case) -> Value {
    let wf = safegrid_domain::workflow::workflow(&case.case_type);
    let state = wf.and_then(|w| w.state(&case.status));
    let mut windows = serde_json::Map::new();
    for action in ["object", "request_review", "request_re_review"] {
        if let Some(t) = window_closes(case, action, st) {
            windows.insert(action.into(), json!(local_time(t)));
        }
    }
    json!({
        "stage": case.stage,
        "limit": case.stage_limit,
        "started_at": opt_local_time(case.stage_started_at),
        "due_at": opt_local_time(case.stage_due_at),
        "party_window": state.is_some_and(|s| s.party_window),
        "light": engine::live_light(case, Utc::now()),
        "windows": windows,
        "extension_count": case.extension_count,
    })
}

fn sees_agent(user: &User) -> bool {
    matches!(user.role, Role::Dispatcher | Role::Admin)
}

#[utoipa::path(get, path = "/api/v1/petitions/{id}", tag = "petitions",
    summary = "A petition's record (channel, agent, answers) and its statutory clocks and open windows",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "case id (UUID)")),
    responses((status = 200, description = "The petition", body = super::schema::PetitionView)))]
async fn petition_view(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    if user.role == Role::Citizen {
        return Err(AppError::not_found("petition"));
    }
    let case = visible_case(&st, &id, &user, "petition").await?;
    let r = st.store.petition_record(&case.county_code, case.id).await?;
    let full = sees_agent(&user);
    let channel = dispute::codes()
        .petition_channel
        .iter()
        .find(|c| c.code == r.channel)
        .map(|c| json!({"code": c.code, "zh": c.zh, "en": c.en}));
    let agent = r.agent_name.as_ref().map(|n| {
        json!({
            "name": if full { n.clone() } else { PersonName::parse(n).map(|p| p.masked()).unwrap_or_else(|_| "*".into()) },
            "phone": r.agent_phone.as_deref().map(|p| if full { p.to_string() } else {
                Phone::parse(p).map(|p| p.masked()).unwrap_or_else(|_| "****".into())
            }),
            "relation": r.agent_relation,
            "masked": !full,
        })
    });
    // The answers name people and places: masked (`crate::app::pii`) unless the viewer sees the agent.
    let names = crate::app::pii::case_names(&st, &case).await?;
    let answer = |t: &Option<String>| {
        t.as_deref().map(|t| {
            if full {
                t.to_string()
            } else {
                crate::app::pii::mask(t, &names)
            }
        })
    };
    Ok(Json(json!({
        "case": crate::app::view::read_json(&st, &case, Some(&user)).await?,
        "record": {
            "channel": channel,
            "petitioners": r.petitioners,
            "agent": agent,
            "repeat_count": r.repeat_count,
            "reply": answer(&r.reply),
            "review_answer": answer(&r.review_answer),
            "re_review_answer": answer(&r.re_review_answer),
            "leader_in_charge": r.leader_name,
            "last_answer_at": opt_local_time(r.replied_at.map(from_ms)),
        },
        "clocks": clocks_json(&st, &case),
    })))
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct BacklogQuery {
    /// Region code (default: the caller's territory).
    region: Option<String>,
    /// Only the matters the caller took charge of (包案).
    #[serde(default, deserialize_with = "crate::app::input::empty_as_none")]
    #[param(inline, value_type = Option<crate::http_common::openapi::Flag>)]
    mine: Option<bool>,
}

/// 积案: open petitions that ran late or were petitioned again, under the caller's territory,
/// for the leaders responsible (and the intake that follows them up).
#[utoipa::path(get, path = "/api/v1/petitions/backlog", tag = "petitions",
    summary = "Petition backlog (积案): open petitions overdue or petitioned again, for leaders",
    security(("session" = []), ("bearer" = [])), params(BacklogQuery),
    responses((status = 200, description = "The backlog", body = super::schema::Backlog)))]
async fn backlog(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<BacklogQuery>,
) -> AppResult<Json<Value>> {
    if !matches!(user.role, Role::Leader | Role::Dispatcher | Role::Admin) {
        return Err(AppError::forbidden(
            "the petition backlog is for leaders and the intake office",
        ));
    }
    let q = query(q)?;
    let prefix = region_for(&user, q.region.as_deref())?;
    let now = Utc::now();
    let rows = st
        .store
        .petition_backlog(
            &prefix,
            now,
            &terminal_states("petition"),
            &party_window_states("petition"),
        )
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for (_, id, repeats) in rows {
        let case = st.store.case(id).await?;
        let record = st.store.petition_record(&case.county_code, case.id).await?;
        if q.mine == Some(true) && record.leader_id != Some(user.id) {
            continue;
        }
        let overdue = case.ever_overdue
            || engine::live_light(&case, now) == safegrid_domain::calendar::Light::Red;
        let mut reasons = vec![];
        if overdue {
            reasons.push("overdue");
        }
        if repeats > 0 {
            reasons.push("repeated");
        }
        items.push(json!({
            "id": case.id, "number": case.number, "category": case.category,
            "status": case.status, "region_code": case.region_code,
            "region_name": st.region_names().get(case.region_code.as_str()),
            "department": case.department, "repeat_count": repeats,
            "reasons": reasons, "due_at": opt_local_time(case.stage_due_at),
            "received_at": local_time(case.created_at), "supervision": case.supervision,
            "leader_in_charge": record.leader_name,
        }));
    }
    Ok(Json(
        json!({ "region": prefix, "total": items.len(), "items": items }),
    ))
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct FiguresQuery {
    /// Region code (default: the caller's territory).
    region: Option<String>,
    /// First day (YYYY-MM-DD).
    from: Option<String>,
    /// Last day (YYYY-MM-DD).
    to: Option<String>,
}

/// Petition figures for petitions received in a period: received (repeats linked to an earlier
/// petition counted apart, not as new matters), not accepted, concluded, answered and answered
/// on time, reviews and re-reviews, still open and overdue; in total and by channel.
#[utoipa::path(get, path = "/api/v1/stats/petitions", tag = "stats",
    summary = "Petition figures: received (repeats apart), not accepted, concluded, answered on time, reviews, overdue; by channel",
    security(("session" = []), ("bearer" = [])), params(FiguresQuery),
    responses((status = 200, description = "The figures", body = super::schema::PetitionFigures)))]
async fn figures(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<FiguresQuery>,
) -> AppResult<Json<Value>> {
    if matches!(user.role, Role::Citizen | Role::Handler) {
        return Err(AppError::forbidden(
            "statistics are for the territory's staff",
        ));
    }
    let q = query(q)?;
    let prefix = region_for(&user, q.region.as_deref())?;
    let today = safegrid_domain::calendar::to_local(Utc::now()).date_naive();
    let day = |s: Option<&str>, field: &str| -> AppResult<Option<chrono::NaiveDate>> {
        s.map(|s| {
            chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| AppError::invalid(field, "must be a date YYYY-MM-DD"))
        })
        .transpose()
    };
    let to = day(q.to.as_deref(), "to")?.unwrap_or(today);
    let from = day(q.from.as_deref(), "from")?.unwrap_or(to - chrono::Duration::days(364));
    if from > to {
        return Err(AppError::invalid("from", "must not be after to"));
    }
    let start = crate::app::time::parse_day(&from.to_string(), "from", false)?;
    let end =
        crate::app::time::parse_day(&to.to_string(), "to", true)? + chrono::TimeDelta::seconds(1);
    let rows = st.store.petition_figures(&prefix, start, end).await?;
    let terminal = terminal_states("petition");
    let sum = |rows: &[&safegrid_store::disputes::PetitionFigures]| {
        let n = |f: &dyn Fn(&safegrid_store::disputes::PetitionFigures) -> i64| {
            rows.iter().map(|r| f(r)).sum::<i64>()
        };
        let of = |states: &[&str]| {
            n(&|r| {
                if states.contains(&r.status.as_str()) {
                    r.count
                } else {
                    0
                }
            })
        };
        let repeats = of(&["merged"]);
        let replied = n(&|r| r.replied);
        let on_time = n(&|r| r.replied_on_time);
        json!({
            "received": n(&|r| r.count) - repeats,
            "repeats": repeats,
            "not_accepted": of(&["not_accepted"]),
            "concluded": of(&["concluded", "re_reviewed"]),
            "open": n(&|r| if terminal.contains(&r.status) { 0 } else { r.count }),
            "replied": replied,
            "replied_on_time": on_time,
            "on_time_reply_rate": if replied > 0 { Some(on_time as f64 / replied as f64) } else { None },
            "overdue": n(&|r| r.overdue),
            "reviewed": n(&|r| r.reviewed),
            "re_reviewed": n(&|r| r.re_reviewed),
        })
    };
    let all: Vec<_> = rows.iter().collect();
    let mut by_channel = serde_json::Map::new();
    for c in &dispute::codes().petition_channel {
        let of: Vec<_> = rows.iter().filter(|r| r.channel == c.code).collect();
        let mut v = sum(&of);
        v["name"] = json!({"zh": c.zh, "en": c.en});
        by_channel.insert(c.code.clone(), v);
    }
    Ok(Json(json!({
        "region": prefix, "from": from, "to": to,
        "total": sum(&all),
        "by_channel": by_channel,
    })))
}

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(figures))
        .routes(routes!(backlog))
        .routes(routes!(petition_view))
}
