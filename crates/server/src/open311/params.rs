//! Parameters as Open311 sends them: query strings and form bodies (`a=1&a=2` kept in order,
//! an empty value equal to an absent one) and date-times in the forms clients really send.

use super::Fail;
use crate::app::state::SharedState;
use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, Utc};

/// Query or form parameters in the order sent (a name may repeat: `attribute[x][]`).
#[derive(Debug, Default, Clone)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn parse(text: &str) -> Result<Params, Fail> {
        if let Some(name) = crate::app::input::nul_param(text) {
            return Err(Fail::bad(format!(
                "{name}: {}",
                crate::app::input::NUL_REASON
            )));
        }
        serde_urlencoded::from_str::<Vec<(String, String)>>(text)
            .map(Params)
            .map_err(|_| {
                Fail::bad("the parameters are not valid application/x-www-form-urlencoded")
            })
    }

    /// The first non-empty value of `name`, trimmed (an empty parameter equals an absent one).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .find(|v| !v.is_empty())
    }

    /// The items of comma-separated lists given under `name` (possibly repeated).
    pub fn list(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// A date-time parameter: ISO 8601 with `Z` or `±HH:MM` (a `+` that arrived unencoded and was
/// read as a space is taken back), without a zone (Asia/Shanghai), or a bare date (Asia/Shanghai
/// midnight or end of day).
pub fn parse_time(s: &str, field: &str, end_of_day: bool) -> Result<DateTime<Utc>, Fail> {
    let mut t = s.trim().to_string();
    if let Some(i) = t.rfind(' ')
        && i >= 19
    {
        t.replace_range(i..i + 1, "+");
    }
    if let Ok(v) = DateTime::parse_from_rfc3339(&t) {
        return Ok(v.with_timezone(&Utc));
    }
    if let Ok(v) = DateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S%z") {
        return Ok(v.with_timezone(&Utc));
    }
    // Without a zone: the deployment's local time (Asia/Shanghai), rather than refusing a client
    // that forgot it.
    if let Ok(v) = chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok((v - chrono::Duration::hours(8)).and_utc());
    }
    if t.len() == 10 {
        return crate::app::time::parse_day(&t, field, end_of_day).map_err(Fail::from);
    }
    Err(Fail::bad(format!(
        "{field}: must be an ISO 8601 date-time with a zone, e.g. 2026-11-21T08:00:00Z or 2026-11-21T16:00:00+08:00"
    )))
}

/// Reads a POST body (at most the configured size) as form parameters.
pub async fn read_form(
    st: &SharedState,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<Params, Fail> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !mime.is_empty() && mime != "application/x-www-form-urlencoded" {
        // 415 like the JSON API's, in Open311's error shape: the body was not read at all.
        return Err(Fail::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Type: the body must be application/x-www-form-urlencoded, not {mime}"),
        ));
    }
    let limit = st.settings.open311.body_limit_bytes;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        Fail::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {limit} bytes"),
        )
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|_| Fail::bad("the body must be UTF-8"))?;
    Params::parse(text)
}

/// A NUL (`%00`) in a path segment, named as Open311 names that segment: the id of a request
/// or a token, the code of a service.
pub fn nul_in_path(path: &str) -> Option<Fail> {
    let segments: Vec<&str> = path.split('/').collect();
    let at = segments.iter().position(|s| {
        s.as_bytes()
            .windows(3)
            .any(|w| w.eq_ignore_ascii_case(b"%00"))
    })?;
    let name = match at.checked_sub(1).map(|i| segments[i]) {
        Some("requests") => "service_request_id",
        Some("tokens") => "token_id",
        Some("services") => "service_code",
        _ => "path",
    };
    Some(Fail::bad(format!(
        "{name}: {}",
        crate::app::input::NUL_REASON
    )))
}

pub fn query_params(q: &Option<String>) -> Result<Params, Fail> {
    Params::parse(q.as_deref().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_with_z_offsets_unencoded_plus_and_bare_dates() {
        let z = parse_time("2026-11-21T08:00:00Z", "start_date", false).unwrap();
        for s in [
            "2026-11-21T16:00:00+08:00",
            "2026-11-21T16:00:00 08:00",
            "2026-11-21T16:00:00+0800",
            "2026-11-21T16:00:00 0800",
            "2026-11-21T08:00:00+00:00",
            "2026-11-21T08:00:00.000Z",
        ] {
            assert_eq!(parse_time(s, "start_date", false).unwrap(), z, "{s}");
        }
        assert_eq!(
            parse_time("2026-11-21", "start_date", false).unwrap(),
            parse_time("2026-11-20T16:00:00Z", "x", false).unwrap()
        );
        assert_eq!(
            parse_time("2026-11-21T16:00:00", "start_date", false).unwrap(),
            z,
            "no zone: Asia/Shanghai"
        );
        for bad in ["yesterday", "2026-11-21 08:00", "2026-13-01T00:00:00Z", ""] {
            let e = parse_time(bad, "end_date", true).unwrap_err();
            assert!(e.messages[0].starts_with("end_date"), "{bad}: {e:?}");
        }
    }

    #[test]
    fn empty_parameters_equal_absent_ones_and_lists_split() {
        let p = Params::parse("a=&a=%20x%20&s=open,%20closed&s=&s=fixed").unwrap();
        assert_eq!(p.get("a"), Some("x"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.list("s"), ["open", "closed", "fixed"]);
    }

    #[test]
    fn nul_in_parameters_and_paths_is_refused_by_name() {
        let e = Params::parse("service_code=C01%00&lat=1").unwrap_err();
        assert_eq!(
            e.messages[0],
            format!("service_code: {}", crate::app::input::NUL_REASON)
        );
        let e = nul_in_path("/open311/v2/tokens/%00.json").unwrap();
        assert!(e.messages[0].starts_with("token_id: "), "{e:?}");
        let e = nul_in_path("/requests/ab%00.xml").unwrap();
        assert!(e.messages[0].starts_with("service_request_id: "), "{e:?}");
        assert!(nul_in_path("/open311/v2/requests/ABC.json").is_none());
    }
}
