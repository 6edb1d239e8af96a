//! Case exports as CSV, shared by the CLI and the API: the same columns everywhere, no personal
//! data ever (free text masked, `crate::app::pii`), and cells that a spreadsheet would run as a
//! formula neutralised.

use crate::app::error::{AppError, AppResult};
use crate::app::state::SharedState;
use crate::app::view::CaseView;
use safegrid_store::{CaseFilter, User};
use std::io::Write;

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

/// One case's row in `CASE_COLUMNS` order, from the view its reader may see (free text already
/// masked with every name the case holds, `CaseView::read`). Reporter contact is personal data and
/// never leaves.
pub fn case_row(v: &CaseView) -> [String; 22] {
    let opt = |x: &Option<String>| x.clone().unwrap_or_default();
    [
        v.number.clone(),
        v.id.to_string(),
        v.case_type.clone(),
        v.category.clone(),
        v.status.clone(),
        v.urgency.as_str().to_string(),
        v.channel.clone(),
        v.region_code.clone(),
        opt(&v.grid_code),
        opt(&v.department),
        v.lat.map(|x| x.to_string()).unwrap_or_default(),
        v.lon.map(|x| x.to_string()).unwrap_or_default(),
        v.created_at.clone(),
        opt(&v.registered_at),
        opt(&v.dispatched_at),
        opt(&v.handled_at),
        opt(&v.closed_at),
        opt(&v.due_at),
        v.overdue.to_string(),
        v.rework_count.to_string(),
        v.rating.map(|r| r.to_string()).unwrap_or_default(),
        cell(&v.description),
    ]
}

/// UTF-8's byte-order mark: Excel (and WPS) on Chinese Windows read a CSV file as UTF-8 only
/// when it starts with one; without it every Chinese cell is mojibake.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The export of the cases `f` selects (API and CLI alike): each row as `viewer` may see it
/// (`CaseView::read`; None: the operator at the console), written as CSV after a byte-order mark
/// to `out`, in pages of 1,000. More than `max_rows` matching cases is refused before any row
/// (naming the query); `progress(done, total)` follows each page. Returns the rows written and
/// the writer. The caller audits.
pub async fn write_cases<W: Write>(
    st: &SharedState,
    viewer: Option<&User>,
    mut f: CaseFilter,
    max_rows: Option<i64>,
    mut out: W,
    mut progress: impl FnMut(i64, i64),
) -> AppResult<(i64, W)> {
    let terminal = safegrid_domain::workflow::terminal_states();
    out.write_all(BOM).map_err(AppError::internal)?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CASE_COLUMNS).map_err(AppError::internal)?;
    f.limit = 1000;
    let mut n = 0i64;
    loop {
        let page = st.store.list_cases(&f, &terminal).await?;
        if n == 0
            && let Some(max) = max_rows
            && page.total > max
        {
            return Err(AppError::invalid(
                "query",
                format!(
                    "{} cases match; narrow the filters to at most {max} (or use `safegrid export cases`)",
                    page.total
                ),
            ));
        }
        if page.cases.is_empty() {
            break;
        }
        for c in &page.cases {
            let names = crate::app::pii::case_names(st, c).await?;
            let v = match viewer {
                Some(u) => CaseView::named(st, c, Some(u), &names),
                None => CaseView::for_console(st, c, &names),
            };
            w.write_record(case_row(&v)).map_err(AppError::internal)?;
        }
        n += page.cases.len() as i64;
        f.offset += page.cases.len() as i64;
        progress(n, page.total);
    }
    let out = w.into_inner().map_err(|e| AppError::internal(e.error()))?;
    Ok((n, out))
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
