//! Personal data in free text, as the server shows it (security finding: identifiers typed into
//! descriptions and notes). Every viewer but the one who reveals (audited) or the mediator of a
//! dispute sees free text through `mask`: resident ID numbers, phone numbers and the names the
//! case holds (its reporter; a dispute's person parties; a petition's agent) are masked the way
//! the structured fields are (`safegrid_domain::pii`). The public also sees places coarsened.

use crate::app::state::SharedState;
use safegrid_domain::engine::Case;
use safegrid_domain::pii::mask_free_text;
use safegrid_store::StoreError;
use serde_json::Value;

/// The names a case's free text is searched for. Reporter only: enough for the many cases of a
/// list; one case's page adds the names kept beside it (`case_names`).
pub fn reporter_names(case: &Case) -> Vec<String> {
    case.reporter_name
        .iter()
        .map(|n| n.as_str().to_string())
        .collect()
}

/// Every name a case holds: its reporter, and a dispute's person parties or a petition's agent.
pub async fn case_names(st: &SharedState, case: &Case) -> Result<Vec<String>, StoreError> {
    let mut names = reporter_names(case);
    match case.case_type.as_str() {
        "dispute" => names.extend(
            st.store
                .dispute_parties(&case.county_code, case.id)
                .await?
                .into_iter()
                .filter(|p| p.kind == "person")
                .map(|p| p.name),
        ),
        "petition" => match st.store.petition_record(&case.county_code, case.id).await {
            Ok(r) => names.extend(r.agent_name),
            // A petition stored before its record (or an imported one) has no agent to look for.
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        },
        _ => {}
    }
    Ok(names)
}

/// `text` with identifiers and the given names masked.
pub fn mask(text: &str, names: &[String]) -> String {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    mask_free_text(text, &names).into_owned()
}

/// Masks every string inside a JSON value (event data, nested records) in place.
pub fn mask_json(v: &mut Value, names: &[String]) {
    match v {
        Value::String(s) => {
            let m = mask(s, names);
            if m != *s {
                *s = m;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| mask_json(x, names)),
        Value::Object(o) => o.values_mut().for_each(|x| mask_json(x, names)),
        _ => {}
    }
}

/// A coordinate as the public sees it: 3 decimals, about 100 m, enough to find the street but
/// not the door.
pub fn coarse(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_masked_at_every_depth() {
        let mut v = serde_json::json!({"a": ["张三 13812345678", 5], "b": {"c": "0572-1234567"}});
        mask_json(&mut v, &["张三".into()]);
        assert_eq!(
            v,
            serde_json::json!({"a": ["张* 138****5678", 5], "b": {"c": "0572-***4567"}})
        );
    }

    #[test]
    fn coordinates_are_coarsened_to_about_100_m() {
        assert_eq!(coarse(30.543_21), 30.543);
        assert_eq!(coarse(119.987_65), 119.988);
    }
}
