//! The mySociety `servicerequestupdates` extension (how FixMyStreet syncs with a back office).
//!
//! Out: every step of a case after its report, as `request_update`s with the extended status of
//! the state reached. In: a resident's update becomes a public note (`comment`) on the case and
//! never changes its state — a resident's FIXED is a claim a grid worker verifies (核查). A
//! resident saying OPEN or REOPEN about a case that is already closed (结案) files a new case
//! (重新反映) linked to the old one, as hotlines do with a repeat complaint: a closed case stays
//! closed, and a note on it would reach no one. Each client's `update_id` is taken once.

use super::filing::{media_url_param, text_param};
use super::format::{Body, Format, Node};
use super::requests::{DEFAULT_DAYS, MAX_PAGE, find_case, note_is_public, public_description};
use super::status;
use super::{Done, Fail, Params, jurisdiction, parse_time};
use crate::app::error::AppError;
use crate::app::service::CreateCase;
use crate::app::state::SharedState;
use crate::app::time::local_time;
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use safegrid_domain::Role;
use safegrid_domain::engine::{Action, Actor, Case, Command};
use safegrid_store::{Open311Client, from_ms};
use serde_json::{Map, Value, json};

/// How often a note is tried again on a case that changed under it.
const MAX_RETRIES: usize = 20;

/// Steps that are not updates: the report itself, residents' own notes (they came from the
/// clients, echoing them back would duplicate them), and the internal supervision marks.
const NOT_UPDATES: [&str; 4] = ["report", "comment", "supervise", "expedite"];

pub async fn list(st: &SharedState, p: &Params, f: Format) -> Done {
    let j = jurisdiction(st, p).await?;
    let mut errors = vec![];
    let mut time = |name: &str, end: bool| match p.get(name) {
        None => None,
        Some(s) => match parse_time(s, name, end) {
            Ok(t) => Some(t),
            Err(e) => {
                errors.extend(e.messages);
                None
            }
        },
    };
    let start = time("start_date", false);
    let end = time("end_date", true);
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        errors.push("end_date: must not be before start_date".into());
    }
    if !errors.is_empty() {
        return Err(Fail {
            status: StatusCode::BAD_REQUEST,
            messages: errors,
            retry_after: None,
        });
    }
    let to = end.unwrap_or_else(Utc::now);
    let from = start.unwrap_or(to - Duration::days(DEFAULT_DAYS));
    let events = st
        .store
        .open311_feed(from, to, Some(j.prefix()), &NOT_UPDATES, MAX_PAGE)
        .await?;
    // Public notes are masked with their case's reporter name: one read per case that has one.
    let mut names: std::collections::HashMap<uuid::Uuid, Vec<String>> = Default::default();
    for e in &events {
        if e.note.is_some()
            && note_is_public(&e.case_type, &e.action)
            && !names.contains_key(&e.case_id)
        {
            let case = st.store.case(e.case_id).await?;
            names.insert(e.case_id, crate::app::pii::reporter_names(&case));
        }
    }
    let none = vec![];
    let items = events
        .iter()
        .map(|e| {
            Node::obj(vec![
                ("update_id", Node::str(format!("{}-{}", e.case_id, e.seq))),
                ("service_request_id", Node::str(e.case_id.to_string())),
                (
                    "status",
                    Node::str(status::extended(&e.case_type, &e.to_status)),
                ),
                ("updated_datetime", Node::str(local_time(from_ms(e.at)))),
                (
                    "description",
                    Node::str(public_description(
                        &e.case_type,
                        &e.action,
                        &e.to_status,
                        e.note.as_deref(),
                        names.get(&e.case_id).unwrap_or(&none),
                    )),
                ),
                ("media_url", Node::str("")),
                ("external_status_code", Node::str(e.to_status.clone())),
            ])
        })
        .collect();
    Ok(Body::List {
        root: "service_request_updates",
        item: "request_update",
        items,
    }
    .render(f, StatusCode::OK))
}

/// POST servicerequestupdates: a resident's update, stored as a public note on the case.
pub async fn create(st: &SharedState, p: &Params, client: &Open311Client, f: Format) -> Done {
    let j = jurisdiction(st, p).await?;
    let mut errors = vec![];
    let mut need = |name: &str| {
        let v = p.get(name);
        if v.is_none() {
            errors.push(format!("{name}: is required"));
        }
        v
    };
    let request_id = need("service_request_id");
    let update_id = need("update_id");
    let status_in = need("status");
    let updated = need("updated_datetime");
    let description = need("description");
    if !errors.is_empty() {
        return Err(Fail {
            status: StatusCode::BAD_REQUEST,
            messages: errors,
            retry_after: None,
        });
    }
    let (Some(request_id), Some(update_id), Some(status_in), Some(updated), Some(_)) =
        (request_id, update_id, status_in, updated, description)
    else {
        return Err(Fail::bad("missing parameters"));
    };
    if update_id.chars().count() > 100 {
        return Err(Fail::bad("update_id: must be at most 100 characters"));
    }
    let reported = status_in.to_ascii_lowercase();
    if !status::EXTENDED.contains(&reported.as_str()) {
        return Err(Fail::bad(format!(
            "status: {status_in} is not a status; one of {}",
            status::EXTENDED.map(str::to_ascii_uppercase).join(", ")
        )));
    }
    let updated_at = parse_time(updated, "updated_datetime", false)?;
    let description = text_param(p, "description", 4000)?.unwrap_or_default();
    // The resident's words become a comment (typed once, here, before anything is stored).
    let req = Command::noted(Action::Comment, description.clone()).map_err(AppError::from)?;
    let media_url = media_url_param(p)?;
    let case = find_case(st, request_id, j.prefix()).await?;
    if !st
        .store
        .claim_open311_update(client.id, update_id, &case)
        .await?
    {
        return Err(Fail::bad(format!(
            "update_id: {update_id} was already received from this client"
        )));
    }
    // A closed case the resident says is not fixed: a new case for the intake queue.
    let follow_up = if matches!(reported.as_str(), "open" | "reopen")
        && status::standard(&case.case_type, &case.status) == "closed"
    {
        match file_follow_up(st, &case, &description, client, update_id).await {
            Ok(c) => Some(c),
            Err(e) => {
                let _ = st.store.release_open311_update(client.id, update_id).await;
                return Err(e);
            }
        }
    } else {
        None
    };
    // The resident's own words and what they say the status is; the state stays the staff's call.
    let actor = Actor {
        username: format!("open311:{}", client.name),
        ..Actor::system()
    };
    debug_assert_eq!(actor.role, Role::System);
    let store_note = async |current: &Case| {
        let mut applied = st.apply(current, &req, &actor, Utc::now())?;
        if let Some(m) = applied.event.data.as_object_mut() {
            m.insert("open311_client".into(), json!(client.name));
            m.insert("update_id".into(), json!(update_id));
            m.insert("reported_status".into(), json!(reported));
            m.insert("reported_at".into(), json!(local_time(updated_at)));
            if let Some(u) = &media_url {
                m.insert("media_url".into(), json!(u));
            }
            if let Some(c) = &follow_up {
                m.insert("follow_up".into(), json!(c.id));
            }
        }
        st.commit(current, &applied, &actor, vec![], Utc::now())
            .await
    };
    // A note does not depend on the case's state: when someone changed the case meanwhile
    // (version conflict), read it again and add the note to the new version, after a short
    // random pause so that notes arriving together do not keep colliding.
    let mut current = case.clone();
    let mut stored = store_note(&current).await;
    for _ in 0..MAX_RETRIES {
        match &stored {
            Err(e) if e.kind == crate::app::error::ErrorKind::Conflict => {
                match st.store.case(case.id).await {
                    Ok(c) => {
                        let pause = rand::random_range(1..25);
                        tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                        current = c;
                        stored = store_note(&current).await;
                    }
                    Err(e) => {
                        stored = Err(e.into());
                        break;
                    }
                }
            }
            _ => break,
        }
    }
    let updated_case = match (stored, &follow_up) {
        (Ok(c), _) => c,
        // The new case holds the resident's words already; answer with its report.
        (Err(e), Some(new)) => {
            tracing::warn!(case = %case.id, follow_up = %new.id, error = %e.message, "note on the closed case not stored");
            return Ok(update_answer(f, &format!("{}-1", new.id)));
        }
        (Err(e), None) => {
            // Give the id back so the client can retry the same update.
            let _ = st.store.release_open311_update(client.id, update_id).await;
            return Err(e.into());
        }
    };
    // Our id of the update: the case and the history entry it became.
    let events = st.store.events(&updated_case).await?;
    let seq = events
        .iter()
        .rev()
        .find(|e| {
            let d = serde_json::from_str::<serde_json::Value>(&e.data).unwrap_or_default();
            e.action == "comment"
                && d.get("update_id") == Some(&json!(update_id))
                && d.get("open311_client") == Some(&json!(client.name))
        })
        .map(|e| e.seq)
        .unwrap_or_default();
    Ok(update_answer(f, &format!("{}-{seq}", case.id)))
}

fn update_answer(f: Format, update_id: &str) -> axum::response::Response {
    Body::List {
        root: "service_request_updates",
        item: "request_update",
        items: vec![Node::obj(vec![("update_id", Node::str(update_id))])],
    }
    .render(f, StatusCode::OK)
}

/// Files the new case for a closed one a resident reports again: same category and place, the
/// resident's words, linked to the old case in its report.
async fn file_follow_up(
    st: &SharedState,
    old: &Case,
    text: &str,
    client: &Open311Client,
    update_id: &str,
) -> Result<Case, Fail> {
    let prefix = format!("（重新反映已结案件 {}）", old.number_text());
    let room = 4000 - prefix.chars().count();
    let description = format!("{prefix}{}", text.chars().take(room).collect::<String>());
    let mut o311 = Map::new();
    o311.insert("client".into(), json!(client.name));
    o311.insert("reopens".into(), json!(old.id));
    o311.insert("update_id".into(), json!(update_id));
    o311.insert("attributes".into(), json!({}));
    let mut report_data = Map::new();
    report_data.insert("open311".into(), Value::Object(o311));
    let input = CreateCase {
        category: old.category.clone(),
        description,
        lat: old.lat,
        lon: old.lon,
        channel: Some("open311".into()),
        address: old.address.clone(),
        report_data: Some(report_data),
        region_hint: Some(old.region_code.as_str().to_string()),
        ..Default::default()
    };
    Ok(st.create_case(input, None, Utc::now()).await?)
}
