//! Rules every input obeys, whichever face it came through: no NUL character (U+0000) in any
//! text (PostgreSQL refuses it, so it would otherwise surface as a fault there and pass on
//! SQLite), and pages within a maximum with offsets computed without overflow.

use crate::app::error::AppError;

/// For an optional query parameter that is no string (`open`, `page`, `children`, …): an empty
/// value (`open=`, as an HTML form sends an untouched field) means the parameter is absent, as
/// the API documents; any other value must parse. Use with `#[serde(default, deserialize_with)]`.
pub fn empty_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    use serde::Deserialize;
    match Option::<String>::deserialize(d)?.as_deref() {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("{v:?}: {e}"))),
    }
}

/// The highest page number any list accepts: far beyond any real list, small enough that
/// `(page - 1) * page_size` never overflows.
pub const MAX_PAGE: i64 = 1_000_000;

/// The row offset of `page` (1-based) of `page_size` rows, refusing pages outside 1..=MAX_PAGE.
pub fn page_offset(page: i64, page_size: i64) -> Result<i64, AppError> {
    if !(1..=MAX_PAGE).contains(&page) {
        return Err(AppError::invalid(
            "page",
            format!("must be between 1 and {MAX_PAGE}"),
        ));
    }
    (page - 1)
        .checked_mul(page_size)
        .ok_or_else(|| AppError::invalid("page", "is too large for this page_size"))
}

/// The reason given for a NUL in any field.
pub const NUL_REASON: &str = "must not contain the NUL character (U+0000)";

/// The first parameter of a form-encoded text (a query string, a form body) whose name or value
/// holds a NUL, by its name (`query` when the name itself holds it).
pub fn nul_param(text: &str) -> Option<String> {
    // `%00` is the only way to write NUL in a URL (the URI grammar has no raw NUL).
    if !text
        .as_bytes()
        .windows(3)
        .any(|w| w.eq_ignore_ascii_case(b"%00"))
        && !text.contains('\0')
    {
        return None;
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(text).unwrap_or_default();
    Some(
        pairs
            .into_iter()
            .find(|(k, v)| k.contains('\0') || v.contains('\0'))
            .map(|(k, _)| k)
            .filter(|k| !k.contains('\0'))
            .unwrap_or_else(|| "query".into()),
    )
}

/// The JSON path (`reporter.name`, `parties[1].name`) of the first string holding a NUL, keys
/// included.
pub fn nul_in_json(v: &serde_json::Value) -> Option<String> {
    fn walk(v: &serde_json::Value, path: &mut String) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            serde_json::Value::Object(map) => map.iter().any(|(k, item)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                if k.contains('\0') {
                    path.push_str(&k.replace('\0', "\\u0000"));
                    return true;
                }
                path.push_str(k);
                let found = walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = String::new();
    walk(v, &mut path).then(|| {
        if path.is_empty() {
            "body".to_string()
        } else {
            path
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pages_are_bounded_and_offsets_never_wrap() {
        assert_eq!(page_offset(1, 50).unwrap(), 0);
        assert_eq!(page_offset(3, 50).unwrap(), 100);
        assert_eq!(page_offset(MAX_PAGE, 5000).unwrap(), (MAX_PAGE - 1) * 5000);
        for bad in [0, -1, MAX_PAGE + 1, 4_611_686_018_427_387_905, i64::MAX] {
            let e = page_offset(bad, 2).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("page"), "{bad}");
        }
        assert_eq!(
            page_offset(MAX_PAGE, i64::MAX)
                .unwrap_err()
                .field
                .as_deref(),
            Some("page")
        );
    }

    #[test]
    fn nul_is_found_and_named_in_queries_and_json() {
        assert_eq!(nul_param("a=1&b=2"), None);
        assert_eq!(nul_param("q=%00").as_deref(), Some("q"));
        assert_eq!(nul_param("status=open&grid=x%00y").as_deref(), Some("grid"));
        assert_eq!(nul_param("a%00=1").as_deref(), Some("query"));
        assert_eq!(nul_in_json(&json!({"a": "x", "n": [1, "y"]})), None);
        assert_eq!(
            nul_in_json(&json!({"reporter": {"name": "张\u{0}"}})).as_deref(),
            Some("reporter.name")
        );
        assert_eq!(
            nul_in_json(&json!({"parties": [{"name": "a"}, {"name": "\u{0}"}]})).as_deref(),
            Some("parties[1].name")
        );
        assert_eq!(nul_in_json(&json!("\u{0}")).as_deref(), Some("body"));
        assert!(nul_in_json(&json!({"k\u{0}": 1})).is_some());
    }
}
