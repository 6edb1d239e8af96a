//! Personal data on demand (PIPL): revealing a reporter's contact with a reason, erasing it on a
//! resident's request (by staff, or by the resident with the tracking code). Every reveal and
//! every erasure is in the audit trail.

use super::auth::{CurrentUser, MaybeUser};
use super::cases::{load_visible, may_reveal, public_rate_limit};
use super::error::{ApiError, ApiResult};
use super::json::ApiJson;
use super::policy::{Perm, require};
use crate::state::SharedState;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use safegrid_domain::codes::Phone;
use safegrid_domain::engine::Case;
use safegrid_store::{AuditEntry, Eraser, StoreError, User};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevealBody {
    reason: String,
}

fn reason(r: &str) -> ApiResult<String> {
    let r = r.trim();
    let n = r.chars().count();
    if n < 4 {
        return Err(ApiError::invalid(
            "reason",
            "must say why (at least 4 characters), e.g. 回访核实处理结果",
        ));
    }
    if n > 500 {
        return Err(ApiError::invalid(
            "reason",
            "must be at most 500 characters",
        ));
    }
    Ok(r.to_string())
}

/// Writes the audit entry of a reveal (API or web page), before the contact is sent.
pub async fn audit_reveal(
    st: &SharedState,
    user: &User,
    case: &Case,
    why: &str,
    via: &str,
) -> ApiResult<()> {
    st.store
        .audit(&AuditEntry::new(
            Some(user.id),
            user.username.clone(),
            "privacy.reveal",
            "case",
            Some(case.number.clone()),
            json!({ "id": case.id, "reason": why, "fields": ["name", "phone"], "via": via }),
        ))
        .await?;
    Ok(())
}

/// Shows the reporter's name and phone in the clear to one who must call back, with the stored
/// description and history notes (shown masked everywhere else, `crate::pii`), and audits it.
async fn reveal(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<RevealBody>,
) -> ApiResult<Json<Value>> {
    require(&user, Perm::RevealContact)?;
    let case = load_visible(&st, &id, &user).await?;
    if !may_reveal(&user, &case) {
        return Err(ApiError::forbidden(
            "the reporter asked to stay anonymous: only the command center may call back",
        ));
    }
    let why = reason(&b.reason)?;
    audit_reveal(&st, &user, &case, &why, "api").await?;
    let events = st.store.events(&case).await?;
    Ok(Json(json!({
        "case_id": case.id,
        "number": case.number,
        "name": case.reporter_name,
        "phone": case.reporter_phone,
        "anonymous": case.reporter_anonymous,
        "description": case.description,
        "address": case.address,
        "notes": events.iter().filter(|e| e.note.is_some())
            .map(|e| json!({ "seq": e.seq, "action": e.action, "note": e.note }))
            .collect::<Vec<_>>(),
        "audited": true,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EraseBody {
    #[serde(default)]
    case_id: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    reason: String,
}

/// Erases a resident's contact data at their request: of one case, or of every case they
/// reported with a phone number (administrators only, as it spans the territory).
async fn erase(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    ApiJson(b): ApiJson<EraseBody>,
) -> ApiResult<Json<Value>> {
    require(&user, Perm::EraseContact)?;
    let why = reason(&b.reason)?;
    let by = Eraser {
        actor_id: Some(user.id),
        actor_name: user.username.clone(),
        reason: why,
    };
    let erased = match (b.case_id.as_deref(), b.phone.as_deref()) {
        (Some(id), None) => {
            let case = load_visible(&st, id, &user).await?;
            st.store.erase_contact(Some(case.id), None, &by).await?
        }
        (None, Some(p)) => {
            if user.role != safegrid_domain::Role::Admin {
                return Err(ApiError::forbidden(
                    "erasing by phone spans every case: only an administrator may",
                ));
            }
            let phone = Phone::parse(p).map_err(|e| ApiError::invalid("phone", e.reason))?;
            st.store
                .erase_contact(None, Some(phone.as_str()), &by)
                .await?
        }
        _ => {
            return Err(ApiError::invalid(
                "case_id",
                "give exactly one of case_id or phone",
            ));
        }
    };
    Ok(Json(json!({ "erased": erased.len(), "cases": erased })))
}

/// A resident erases the contact they left on their own report; the tracking code is the proof.
async fn erase_own(
    State(st): State<SharedState>,
    MaybeUser(user): MaybeUser,
    Path(code): Path<String>,
) -> ApiResult<Json<Value>> {
    refuse_staff_as_resident(user.as_ref())?;
    public_rate_limit(&st, "erase")?;
    let case = match st.store.case_by_tracking_code(code.trim()).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => return Err(ApiError::not_found("tracking code")),
        Err(e) => return Err(e.into()),
    };
    let by = Eraser {
        actor_id: None,
        actor_name: "resident".into(),
        reason: "resident's own request by tracking code".into(),
    };
    let erased = st.store.erase_contact(Some(case.id), None, &by).await?;
    Ok(Json(json!({ "erased": erased.len() })))
}

/// The tracking code is the resident's proof, not a door for staff: an action taken with it under
/// a staff session or token is refused, so that nothing staff do is recorded as the resident's.
/// Staff erase through `POST /api/v1/privacy/erasures` and record a call-back's answer with the
/// case's own `rate` action (回访), both audited as themselves.
pub fn refuse_staff_as_resident(user: Option<&User>) -> ApiResult<()> {
    match user {
        Some(u) if u.role != safegrid_domain::Role::Citizen => Err(ApiError::forbidden(
            "staff do not act as the resident with a tracking code; use the case's own actions              (erasure: POST /api/v1/privacy/erasures; a call-back's answer: the rate action)",
        )),
        _ => Ok(()),
    }
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/api/v1/cases/{id}/reveal", post(reveal))
        .route("/api/v1/privacy/erasures", post(erase))
        .route("/api/v1/track/{code}/erase", post(erase_own))
}
