//! Tables as offices exchange them (表格化管理): rows read from the bytes of a CSV file (UTF-8 with
//! or without a byte-order mark, or GB18030 as Excel on Chinese Windows saves "CSV") or of an XLSX
//! workbook (its first sheet), and sheets written to XLSX or to CSV with a UTF-8 BOM so that Excel
//! shows Chinese. Registers' imports and every export of tables share these.

use crate::app::error::{AppError, AppResult};
use crate::app::export::cell;
use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::{Format, Workbook};
use std::io::Cursor;

/// The rows of a file: the header row and the data rows, each with its 1-based row number as a
/// spreadsheet shows it (the header is row 1 of a plain file), every cell as trimmed text.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    /// The index of the column whose header is one of `names` (a header cell may hold both the
    /// Chinese and the English name, "名称 name", or either alone).
    pub fn column(&self, names: &[&str]) -> Option<usize> {
        self.header.iter().position(|h| {
            let h = h.trim();
            names.iter().any(|n| {
                h.eq_ignore_ascii_case(n)
                    || h.split(|c: char| c.is_whitespace() || c == '/' || c == '（' || c == '(')
                        .map(|p| p.trim_end_matches([')', '）', '*']))
                        .any(|p| p.eq_ignore_ascii_case(n))
            })
        })
    }
}

/// Whether the bytes are a ZIP container (an XLSX workbook) rather than text.
pub fn is_xlsx(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// Reads a table from CSV or XLSX bytes, told apart by their content (not a file name, which a
/// browser may not send). `field` names the upload in errors. Blank rows are skipped.
pub fn read_table(bytes: &[u8], field: &str) -> AppResult<Table> {
    let mut rows = if is_xlsx(bytes) {
        read_xlsx(bytes, field)?
    } else {
        read_csv(bytes, field)?
    };
    rows.retain(|(_, r)| r.iter().any(|c| !c.is_empty()));
    if rows.is_empty() {
        return Err(AppError::invalid(
            field,
            "the file holds no rows (a header row is needed)",
        ));
    }
    let (_, header) = rows.remove(0);
    Ok(Table { header, rows })
}

/// CSV text: UTF-8 (a BOM is dropped) or, when the bytes are not UTF-8, GB18030 (a superset of
/// GBK and GB2312, what Excel on Chinese Windows writes).
pub fn decode_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GB18030
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

fn read_csv(bytes: &[u8], field: &str) -> AppResult<Vec<(usize, Vec<String>)>> {
    let text = decode_text(bytes);
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    // Row numbers as an editor shows them: the lines before the record's first cell (a quoted
    // cell may span lines, and blank lines are skipped, so records and lines differ). The
    // reader's position may still be on the line ends before the record.
    let line_at = |byte: u64| {
        let b = text.as_bytes();
        let mut end = (byte as usize).min(b.len());
        while end < b.len() && (b[end] == b'\n' || b[end] == b'\r') {
            end += 1;
        }
        b[..end].iter().filter(|&&c| c == b'\n').count() + 1
    };
    let mut out = vec![];
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(i + 1, |p| line_at(p.byte()));
            AppError::invalid(field, format!("row {line}: not readable as CSV: {e}"))
        })?;
        let line = rec.position().map_or(i + 1, |p| line_at(p.byte()));
        out.push((line, rec.iter().map(|c| c.trim().to_string()).collect()));
    }
    Ok(out)
}

fn read_xlsx(bytes: &[u8], field: &str) -> AppResult<Vec<(usize, Vec<String>)>> {
    let bad = |e: &dyn std::fmt::Display| {
        AppError::invalid(field, format!("not a readable XLSX workbook: {e}"))
    };
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).map_err(|e| bad(&e))?;
    let range = match wb.worksheet_range_at(0) {
        Some(r) => r.map_err(|e| bad(&e))?,
        None => return Err(AppError::invalid(field, "the workbook has no sheet")),
    };
    let first = range.start().map_or(0, |(r, _)| r as usize);
    let lead = range.start().map_or(0, |(_, c)| c as usize);
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, row)| {
            // Columns before the range's first one are empty in the sheet: keep them, so that
            // column positions match the header's.
            let mut cells = vec![String::new(); lead];
            cells.extend(row.iter().map(xlsx_cell));
            (first + i + 1, cells)
        })
        .collect())
}

fn xlsx_cell(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        // Whole numbers (a phone or a code typed as a number) without a decimal point.
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        other => other.to_string().trim().to_string(),
    }
}

/// One cell of a written sheet.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Empty, Into::into)
    }
}

impl From<f64> for Cell {
    fn from(v: f64) -> Self {
        Cell::Number(v)
    }
}

impl From<i64> for Cell {
    fn from(v: i64) -> Self {
        Cell::Number(v as f64)
    }
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Number(n) => n.to_string(),
            Cell::Empty => String::new(),
        }
    }
}

/// A sheet to write: its name (at most 31 characters, none of `[]:*?/\`), a header row, rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// Writes sheets to an XLSX workbook: a bold, frozen header row and columns wide enough for it.
/// Text is written as text (never as a formula), so no cell can run in the reader's spreadsheet.
pub fn write_xlsx(sheets: &[Sheet]) -> AppResult<Vec<u8>> {
    let err = |e: rust_xlsxwriter::XlsxError| AppError::internal(format!("writing XLSX: {e}"));
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    for s in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name(&s.name)).map_err(err)?;
        for (c, h) in s.header.iter().enumerate() {
            let c = c as u16;
            ws.write_string_with_format(0, c, h, &bold).map_err(err)?;
            let width = h
                .chars()
                .map(|ch| if ch.is_ascii() { 1.0 } else { 2.0 })
                .sum::<f64>();
            ws.set_column_width(c, width.clamp(8.0, 40.0) + 2.0)
                .map_err(err)?;
        }
        ws.set_freeze_panes(1, 0).map_err(err)?;
        for (r, row) in s.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, v) in row.iter().enumerate() {
                let c = c as u16;
                match v {
                    Cell::Text(t) => ws.write_string(r, c, t).map(|_| ()),
                    Cell::Number(n) => ws.write_number(r, c, *n).map(|_| ()),
                    Cell::Empty => Ok(()),
                }
                .map_err(err)?;
            }
        }
    }
    wb.save_to_buffer().map_err(err)
}

/// A sheet name Excel accepts.
fn sheet_name(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(31)
        .collect();
    if clean.trim().is_empty() {
        "Sheet".into()
    } else {
        clean
    }
}

/// Writes one sheet as CSV for Excel: a UTF-8 byte-order mark (without it Excel reads Chinese as
/// mojibake), CRLF line ends, and text cells that a spreadsheet would run as a formula neutralised.
pub fn write_csv(sheet: &Sheet) -> AppResult<Vec<u8>> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        w.write_record(sheet.header.iter().map(|h| cell(h)))
            .map_err(AppError::internal)?;
        for row in &sheet.rows {
            w.write_record(row.iter().map(|c| match c {
                Cell::Text(t) => cell(t),
                other => other.text(),
            }))
            .map_err(AppError::internal)?;
        }
        w.flush().map_err(AppError::internal)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet() -> Sheet {
        Sheet {
            name: "场所 places".into(),
            header: vec!["名称 name".into(), "纬度 lat".into()],
            rows: vec![
                vec!["织里镇大港路88号".into(), Cell::Number(30.87)],
                vec!["=HYPERLINK(\"x\")".into(), Cell::Empty],
            ],
        }
    }

    #[test]
    fn csv_round_trips_with_a_bom_and_no_formula() {
        let bytes = write_csv(&sheet()).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let t = read_table(&bytes, "file").unwrap();
        assert_eq!(t.header, vec!["名称 name", "纬度 lat"]);
        assert_eq!(
            t.rows[0],
            (2, vec!["织里镇大港路88号".to_string(), "30.87".to_string()])
        );
        assert!(t.rows[1].1[0].starts_with('\''), "a formula is neutralised");
        assert_eq!(t.column(&["lat"]), Some(1));
        assert_eq!(t.column(&["名称"]), Some(0));
        assert_eq!(t.column(&["address"]), None);
    }

    #[test]
    fn xlsx_round_trips() {
        let mut s = sheet();
        s.rows
            .push(vec!["电话".into(), Cell::Number(13900001111.0)]);
        let bytes = write_xlsx(&[s]).unwrap();
        assert!(is_xlsx(&bytes));
        let t = read_table(&bytes, "file").unwrap();
        assert_eq!(t.rows.len(), 3);
        assert_eq!(t.rows[0].0, 2, "row numbers as the spreadsheet shows them");
        assert_eq!(t.rows[0].1[1], "30.87");
        assert_eq!(
            t.rows[1].1[0], "=HYPERLINK(\"x\")",
            "written as text, read back as text"
        );
        assert_eq!(t.rows[2].1[1], "13900001111");
    }

    #[test]
    fn csv_row_numbers_count_lines() {
        let t = read_table("a,b\n1,\"x\ny\"\n\n2,z\n".as_bytes(), "file").unwrap();
        assert_eq!(t.rows.iter().map(|r| r.0).collect::<Vec<_>>(), vec![2, 5]);
    }

    #[test]
    fn gb18030_csv_is_decoded() {
        let (bytes, _, _) = encoding_rs::GB18030.encode("名称,地址\n群租房,织里镇\n");
        assert!(std::str::from_utf8(&bytes).is_err());
        let t = read_table(&bytes, "file").unwrap();
        assert_eq!(t.header, vec!["名称", "地址"]);
        assert_eq!(
            t.rows,
            vec![(2, vec!["群租房".to_string(), "织里镇".to_string()])]
        );
    }

    #[test]
    fn broken_files_name_the_field() {
        assert_eq!(
            read_table(b"", "file").unwrap_err().field.as_deref(),
            Some("file")
        );
        assert_eq!(
            read_table(b"PK\x03\x04garbage", "file")
                .unwrap_err()
                .field
                .as_deref(),
            Some("file")
        );
        assert_eq!(sheet_name("a/b:c"), "a_b_c");
    }
}
