//! Personal data on request (个人信息): the audited reveal of a reporter's contact, and the rule that
//! the tracking code is the resident's door, not staff's.

use crate::app::error::{AppError, AppResult};
use crate::app::state::SharedState;
use safegrid_domain::engine::Case;
use safegrid_store::{AuditEntry, User};
use serde_json::json;

pub fn reason(r: &str) -> AppResult<String> {
    let r = r.trim();
    let n = r.chars().count();
    if n < 4 {
        return Err(AppError::invalid(
            "reason",
            "must say why (at least 4 characters), e.g. 回访核实处理结果",
        ));
    }
    if n > 500 {
        return Err(AppError::invalid(
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
) -> AppResult<()> {
    st.store
        .audit(&AuditEntry::new(
            Some(user.id),
            user.username.clone(),
            "privacy.reveal",
            "case",
            Some(case.number_text()),
            json!({ "id": case.id, "reason": why, "fields": ["name", "phone"], "via": via }),
        ))
        .await?;
    Ok(())
}

/// The tracking code is the resident's proof, not a door for staff: an action taken with it under
/// a staff session or token is refused, so that nothing staff do is recorded as the resident's.
/// Staff erase through `POST /api/v1/privacy/erasures` and record a call-back's answer with the
/// case's own `rate` action (回访), both audited as themselves.
pub fn refuse_staff_as_resident(user: Option<&User>) -> AppResult<()> {
    match user {
        Some(u) if u.role != safegrid_domain::Role::Citizen => Err(AppError::forbidden(
            "staff do not act as the resident with a tracking code; use the case's own actions              (erasure: POST /api/v1/privacy/erasures; a call-back's answer: the rate action)",
        )),
        _ => Ok(()),
    }
}

/// A text search holding a personal identifier (a phone or resident ID number, in any typed form)
/// looks a person up: its results would tell which cases hold the number, although their text
/// shows it masked. Only roles that may reveal contact data run it (403 naming `q` for the others),
/// and each such search is audited, with the number masked.
pub async fn check_identifier_search(
    st: &SharedState,
    user: &User,
    q: &str,
    via: &str,
) -> AppResult<()> {
    let masked = safegrid_domain::pii::mask_free_text(q, &[]);
    if masked == q {
        return Ok(());
    }
    if !crate::app::policy::allows(user.role, crate::app::policy::Perm::RevealContact) {
        return Err(AppError::forbidden(
            "q: searching by a phone or ID number is a look-up of a person; only the roles that call residents back may do it",
        )
        .with_extra(json!({ "field": "q" })));
    }
    st.store
        .audit(&AuditEntry::new(
            Some(user.id),
            user.username.clone(),
            "privacy.search_identifier",
            "case",
            None,
            json!({ "q": masked, "via": via }),
        ))
        .await?;
    Ok(())
}
