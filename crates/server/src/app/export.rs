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

    /// The next page of rows as the viewer may see them, or None at the end.
    pub async fn next_page(&mut self) -> AppResult<Option<Vec<CaseView>>> {
        if self.finished {
            return Ok(None);
        }
        let cases = match self.first.take() {
            Some(c) => c,
            None => {
                self.st
                    .store
                    .list_cases(&self.f, &self.terminal)
                    .await?
                    .cases
            }
        };
        let mut views = Vec::with_capacity(cases.len());
        for c in &cases {
            let names = crate::app::pii::case_names(&self.st, c).await?;
            views.push(match &self.viewer {
                Some(u) => CaseView::named(&self.st, c, Some(u), &names),
                None => CaseView::for_console(&self.st, c, &names),
            });
        }
        self.done += cases.len() as i64;
        match cases.last() {
            Some(last) if cases.len() as i64 == self.f.limit => {
                self.f.after = Some((last.created_at, last.id));
            }
            _ => self.finished = true,
        }
        Ok(Some(views))
    }

    /// The next piece of the CSV file (the first starts with a byte-order mark and the header),
    /// or None at the end.
    pub async fn next_chunk(&mut self) -> AppResult<Option<Vec<u8>>> {
        let head = self.done == 0 && self.first.is_some();
        let Some(views) = self.next_page().await? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(views.len() * 256 + 512);
        if head {
            out.extend_from_slice(BOM);
        }
        let mut w = csv::Writer::from_writer(out);
        if head {
            w.write_record(CASE_COLUMNS).map_err(AppError::internal)?;
        }
        for v in &views {
            w.write_record(case_row(v)).map_err(AppError::internal)?;
        }
        let out = w.into_inner().map_err(|e| AppError::internal(e.error()))?;
        Ok(Some(out))
    }
}

/// Data rows per XLSX sheet: a sheet holds 1,048,576 rows, the first of them the header. A
/// larger export goes on in sheets `cases-2`, `cases-3` …, each with the header again.
pub const XLSX_SHEET_ROWS: u32 = 1_048_575;

/// Columns written as numbers, booleans and date-times in the XLSX (the rest are text).
const NUMBER_COLUMNS: [&str; 4] = ["lat", "lon", "rework_count", "rating"];
const DATE_COLUMNS: [&str; 6] = [
    "created_at",
    "registered_at",
    "dispatched_at",
    "handled_at",
    "closed_at",
    "due_at",
];

/// A stored time as Excel's date-time (Asia/Shanghai wall time, as the CSV shows it).
fn excel_time(text: &str) -> Option<rust_xlsxwriter::ExcelDateTime> {
    use chrono::{Datelike, Timelike};
    let t = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    rust_xlsxwriter::ExcelDateTime::from_ymd(t.year() as u16, t.month() as u8, t.day() as u8)
        .ok()?
        .and_hms(t.hour() as u16, t.minute() as u8, t.second())
        .ok()
}

/// What an XLSX export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XlsxWritten {
    pub rows: i64,
    pub sheets: u32,
}

/// The whole export as an XLSX file at `path`, with typed columns (numbers, booleans, date-times),
/// `sheet_rows` data rows per sheet at most (`XLSX_SHEET_ROWS`; smaller in tests). Rows go to
/// the sheets' temporary files as they are read (constant memory: a page at a time), and the
/// workbook is assembled at the end on a blocking thread. `progress(done, total)` after each page.
pub async fn write_cases_xlsx(
    mut export: CaseExport,
    path: &std::path::Path,
    sheet_rows: u32,
    mut progress: impl FnMut(i64, i64),
) -> AppResult<XlsxWritten> {
    use rust_xlsxwriter::{Format, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| AppError::internal(format!("writing XLSX: {e}"));
    let sheet_rows = sheet_rows.clamp(1, XLSX_SHEET_ROWS);
    let mut wb = Workbook::new();
    let head = Format::new().set_bold();
    let when = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let (mut sheets, mut row) = (0u32, sheet_rows);
    let new_sheet = |wb: &mut Workbook, sheets: &mut u32| -> AppResult<()> {
        *sheets += 1;
        let ws = wb.add_worksheet_with_constant_memory().map_err(err)?;
        ws.set_name(format!("cases-{sheets}")).map_err(err)?;
        for (c, name) in CASE_COLUMNS.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *name, &head)
                .map_err(err)?;
        }
        Ok(())
    };
    while let Some(views) = export.next_page().await? {
        for v in &views {
            if row >= sheet_rows {
                new_sheet(&mut wb, &mut sheets)?;
                row = 0;
            }
            row += 1;
            let ws = wb.worksheet_from_index(sheets as usize - 1).map_err(err)?;
            let mut cells = case_row(v);
            // An XLSX cell is never a formula unless written as one: the text as entered.
            cells[21] = v.description.clone();
            for (c, (name, text)) in CASE_COLUMNS.iter().zip(cells.iter()).enumerate() {
                let c = c as u16;
                if text.is_empty() {
                    continue;
                }
                if NUMBER_COLUMNS.contains(name)
                    && let Ok(x) = text.parse::<f64>()
                {
                    ws.write_number(row, c, x).map_err(err)?;
                } else if DATE_COLUMNS.contains(name)
                    && let Some(t) = excel_time(text)
                {
                    ws.write_datetime_with_format(row, c, &t, &when)
                        .map_err(err)?;
                } else if *name == "overdue" {
                    ws.write_boolean(row, c, text == "true").map_err(err)?;
                } else {
                    ws.write_string(row, c, text).map_err(err)?;
                }
            }
        }
        progress(export.done(), export.total());
    }
    if sheets == 0 {
        new_sheet(&mut wb, &mut sheets)?;
    }
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || wb.save(&path))
        .await
        .map_err(AppError::internal)?
        .map_err(err)?;
    Ok(XlsxWritten {
        rows: export.done(),
        sheets,
    })
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
