//! Personal data on demand (PIPL): revealing a reporter's contact with a reason, erasing it on a
//! resident's request (by staff, or by the resident with the tracking code). Every reveal and
//! every erasure is in the audit trail.

use super::auth::{CurrentUser, MaybeUser};
use super::cases::load_visible;
use super::json::ApiJson;
use crate::app::error::{AppError, AppResult};
use crate::app::policy::public_rate_limit;
use crate::app::policy::{Perm, require};
use crate::app::privacy::{audit_reveal, reason, refuse_staff_as_resident};
use crate::app::scope::may_reveal;
use crate::app::state::SharedState;
use axum::Json;
use axum::extract::{Path, State};
use safegrid_domain::codes::Phone;
use safegrid_store::{Eraser, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Deserialize, ToSchema)]
#[schema(as = Reason)]
#[serde(deny_unknown_fields)]
struct RevealBody {
    /// Why the contact is needed (4–500 characters; audited).
    #[schema(min_length = 4, max_length = 500)]
    reason: String,
}

/// Shows the reporter's name and phone in the clear to one who must call back, with the stored
/// description and history notes (shown masked everywhere else, `crate::app::pii`), and audits it.
#[utoipa::path(post, path = "/api/v1/cases/{id}/reveal", tag = "privacy",
    summary = "Reveal the reporter's contact, with a reason (audited; command center and handling department)",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "case id (UUID)")),
    request_body(content = RevealBody, content_type = "application/json"),
    responses((status = 200, description = "The contact", body = super::schema::Revealed)))]
async fn reveal(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<RevealBody>,
) -> AppResult<Json<Value>> {
    require(&user, Perm::RevealContact)?;
    let case = load_visible(&st, &id, &user).await?;
    if !may_reveal(&user, &case) {
        return Err(AppError::forbidden(
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

#[derive(Deserialize, ToSchema)]
#[schema(as = Erasure)]
#[serde(deny_unknown_fields)]
struct EraseBody {
    /// One case (exactly one of case_id or phone).
    #[serde(default)]
    #[schema(format = Uuid)]
    case_id: Option<String>,
    /// Every case with this phone (administrators).
    #[serde(default)]
    phone: Option<String>,
    #[schema(min_length = 4)]
    reason: String,
}

/// Erases a resident's contact data at their request: of one case, or of every case they
/// reported with a phone number (administrators only, as it spans the territory).
#[utoipa::path(post, path = "/api/v1/privacy/erasures", tag = "privacy",
    summary = "Erase a resident's contact data on request: one case, or every case with a phone (admin)",
    security(("session" = []), ("bearer" = [])), request_body(content = EraseBody, content_type = "application/json"),
    responses((status = 200, description = "Erased", body = super::schema::Erased)))]
async fn erase(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    ApiJson(b): ApiJson<EraseBody>,
) -> AppResult<Json<Value>> {
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
                return Err(AppError::forbidden(
                    "erasing by phone spans every case: only an administrator may",
                ));
            }
            let phone = Phone::parse(p).map_err(|e| AppError::invalid("phone", e.reason))?;
            st.store
                .erase_contact(None, Some(phone.as_str()), &by)
                .await?
        }
        _ => {
            return Err(AppError::invalid(
                "case_id",
                "give exactly one of case_id or phone",
            ));
        }
    };
    Ok(Json(json!({ "erased": erased.len(), "cases": erased })))
}

/// A resident erases the contact they left on their own report; the tracking code is the proof.
#[utoipa::path(post, path = "/api/v1/track/{code}/erase", tag = "privacy",
    summary = "A resident erases the contact left on their own report (tracking code as proof)",
    params(("code" = String, Path, description = "the tracking code given at filing")),
    responses((status = 200, description = "Erased", body = super::schema::Erased)))]
async fn erase_own(
    State(st): State<SharedState>,
    MaybeUser(user): MaybeUser,
    Path(code): Path<String>,
) -> AppResult<Json<Value>> {
    refuse_staff_as_resident(user.as_ref())?;
    public_rate_limit(&st, "erase")?;
    let case = match st.store.case_by_tracking_code(code.trim()).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => return Err(AppError::not_found("tracking code")),
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

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(reveal))
        .routes(routes!(erase))
        .routes(routes!(erase_own))
}
