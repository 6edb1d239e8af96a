//! Case exports as CSV, shared by the CLI and the API: the same columns everywhere, no personal
//! data ever (free text masked, `crate::app::pii`), and cells that a spreadsheet would run as a
//! formula neutralised.

use crate::app::time::local_time;
use chrono::{DateTime, Utc};
use safegrid_domain::engine::Case;

pub const CASE_COLUMNS: [&str; 22] = [
    "number",
    "id",
    "type",
    "category",
    "status",
    "urgency",
    "channel",
    "region_code",
    "grid_code",
    "department",
    "lat",
    "lon",
    "created_at",
    "registered_at",
    "dispatched_at",
    "handled_at",
    "closed_at",
    "due_at",
    "overdue",
    "rework_count",
    "rating",
    "description",
];

/// A text cell as a spreadsheet will read it: a leading `=`, `+`, `-`, `@`, tab or CR would make
/// Excel or WPS evaluate it (CSV injection), so such cells get a leading apostrophe. What comes
/// before that character and a spreadsheet drops or ignores — a byte-order mark, spaces,
/// zero-width characters — does not hide it.
pub fn cell(s: &str) -> String {
    let ignorable = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '\u{FEFF}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{180E}'
            )
    };
    let starts_formula = s.starts_with(['\t', '\r'])
        || s.trim_start_matches(ignorable)
            .starts_with(['=', '+', '-', '@', '＝', '＋', '－', '＠']);
    if starts_formula {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// One case's row in `CASE_COLUMNS` order. Reporter contact is personal data and never leaves;
/// the description goes with identifiers and `names` (the case's, `pii::case_names`) masked.
pub fn case_row(c: &Case, names: &[String]) -> [String; 22] {
    let t = |x: Option<DateTime<Utc>>| x.map(local_time).unwrap_or_default();
    [
        c.number.clone(),
        c.id.to_string(),
        c.case_type.clone(),
        c.category.clone(),
        c.status.clone(),
        c.urgency.as_str().to_string(),
        c.channel.clone(),
        c.region_code.as_str().to_string(),
        c.grid_code
            .map(|g| g.as_str().to_string())
            .unwrap_or_default(),
        c.department.clone().unwrap_or_default(),
        c.lat.map(|v| v.to_string()).unwrap_or_default(),
        c.lon.map(|v| v.to_string()).unwrap_or_default(),
        t(Some(c.created_at)),
        t(c.registered_at),
        t(c.dispatched_at),
        t(c.handled_at),
        t(c.closed_at),
        t(c.due_at),
        c.ever_overdue.to_string(),
        c.rework_count.to_string(),
        c.rating.map(|r| r.to_string()).unwrap_or_default(),
        cell(&crate::app::pii::mask(&c.description, names)),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(super::cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(super::cell("-1+1"), "'-1+1");
        assert_eq!(super::cell("井盖破损"), "井盖破损");
        for hidden in [
            "\u{FEFF}=1+1",
            " =1+1",
            "\u{200B}@SUM(A1)",
            "\u{FEFF} \u{2060}+1",
            "\t1",
            "\r=1",
            "＝1+1",
        ] {
            assert_eq!(super::cell(hidden), format!("'{hidden}"), "{hidden:?}");
        }
        assert_eq!(super::cell(" 井盖 -1"), " 井盖 -1");
    }
}
