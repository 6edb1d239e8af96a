//! Case exports as CSV, shared by the CLI and the API: the same columns everywhere, no personal
//! data ever (free text masked, `crate::app::pii`), and cells that a spreadsheet would run as a
//! formula neutralised.

use crate::app::error::{AppError, AppResult};
use crate::app::state::SharedState;
use crate::app::view::CaseView;
use safegrid_domain::engine::Case;
use safegrid_store::{CaseFilter, SortOrder, User};
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

/// An export of the cases a filter selects (API and CLI alike), produced page by page so that
/// neither side holds it whole: the API streams each chunk as it comes (no request timeout cuts
/// it, as the timeout ends with the answer's head), the CLI writes it to a file with progress.
/// Pages are keyset-paged in creation order (`CaseFilter::after`), so the last page costs what
/// the first does. Each row is as `viewer` may see it (`CaseView::read`; None: the operator at
/// the console). The caller audits.
pub struct CaseExport {
    st: SharedState,
    viewer: Option<User>,
    f: CaseFilter,
    terminal: Vec<String>,
    total: i64,
    done: i64,
    /// The first page, read with the count by `start`.
    first: Option<Vec<Case>>,
    finished: bool,
}

impl CaseExport {
    /// Counts the matches (refusing more than `max_rows`, naming the query, before any row) and
    /// reads the first page. A filter's sort order other than oldest-first becomes newest-first.
    pub async fn start(
        st: &SharedState,
        viewer: Option<&User>,
        mut f: CaseFilter,
        max_rows: Option<i64>,
    ) -> AppResult<CaseExport> {
        let terminal = safegrid_domain::workflow::terminal_states();
        if f.order != SortOrder::OldestFirst {
            f.order = SortOrder::NewestFirst;
        }
        f.limit = st.settings.export_page_rows.clamp(1, 10_000);
        f.offset = 0;
        f.after = None;
        f.skip_total = false;
        f.count_limit = None;
        let page = st.store.list_cases(&f, &terminal).await?;
        if let Some(max) = max_rows
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
        f.skip_total = true;
        Ok(CaseExport {
            st: st.clone(),
            viewer: viewer.cloned(),
            f,
            terminal,
            total: page.total,
            done: 0,
            first: Some(page.cases),
            finished: false,
        })
    }

    /// The matching count when the export started (rows added meanwhile may follow).
    pub fn total(&self) -> i64 {
        self.total
    }

    /// Rows produced so far.
    pub fn done(&self) -> i64 {
        self.done
    }

    /// The next piece of the CSV file (the first starts with a byte-order mark and the header),
    /// or None at the end.
    pub async fn next_chunk(&mut self) -> AppResult<Option<Vec<u8>>> {
        if self.finished {
            return Ok(None);
        }
        let (cases, head) = match self.first.take() {
            Some(c) => (c, true),
            None => (
                self.st
                    .store
                    .list_cases(&self.f, &self.terminal)
                    .await?
                    .cases,
                false,
            ),
        };
        let mut out = Vec::with_capacity(cases.len() * 256 + 512);
        if head {
            out.extend_from_slice(BOM);
        }
        let mut w = csv::Writer::from_writer(out);
        if head {
            w.write_record(CASE_COLUMNS).map_err(AppError::internal)?;
        }
        for c in &cases {
            let names = crate::app::pii::case_names(&self.st, c).await?;
            let v = match &self.viewer {
                Some(u) => CaseView::named(&self.st, c, Some(u), &names),
                None => CaseView::for_console(&self.st, c, &names),
            };
            w.write_record(case_row(&v)).map_err(AppError::internal)?;
        }
        self.done += cases.len() as i64;
        match cases.last() {
            Some(last) if cases.len() as i64 == self.f.limit => {
                self.f.after = Some((last.created_at, last.id));
            }
            _ => self.finished = true,
        }
        let out = w.into_inner().map_err(|e| AppError::internal(e.error()))?;
        Ok(Some(out))
    }
}

/// The whole export written to `out` (the CLI), `progress(done, total)` after each page. Returns
/// the rows written and the writer.
pub async fn write_cases<W: Write>(
    st: &SharedState,
    viewer: Option<&User>,
    f: CaseFilter,
    max_rows: Option<i64>,
    mut out: W,
    mut progress: impl FnMut(i64, i64),
) -> AppResult<(i64, W)> {
    let mut export = CaseExport::start(st, viewer, f, max_rows).await?;
    while let Some(chunk) = export.next_chunk().await? {
        out.write_all(&chunk).map_err(AppError::internal)?;
        progress(export.done(), export.total());
    }
    Ok((export.done(), out))
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
