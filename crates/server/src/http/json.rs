//! A JSON body extractor whose errors name the field: the content type must be JSON (415
//! otherwise, so a browser's cross-site form or `text/plain` post never reaches a handler), the
//! body is parsed as JSON (400 when it is not), no string in it may hold a NUL (422 naming its
//! path), then it is mapped onto the request type with the path of the offending field.

use crate::app::error::AppError;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::Deserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};

pub struct ApiJson<T>(pub T);

/// Whether a `Content-Type` names JSON: `application/json` or any `application/*+json`,
/// parameters (`; charset=utf-8`) aside.
pub fn is_json(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json"
        || mime
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"))
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json(ct) {
            let sent = if ct.is_empty() { "none" } else { ct };
            return Err(AppError {
                field: Some("content-type".into()),
                ..AppError::new(
                    crate::app::error::ErrorKind::UnsupportedMedia,
                    "unsupported_media_type",
                    format!("Content-Type: send the body as application/json (sent: {sent})"),
                )
            });
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::new(
                        crate::app::error::ErrorKind::TooLarge,
                        "too_large",
                        "request body is too large",
                    )
                } else {
                    AppError::bad_request(
                        Some("body"),
                        format!("cannot read the request body: {e}"),
                    )
                }
            })?;
        parse_body(&bytes).map(ApiJson)
    }
}

/// Parses a JSON body into `T`, naming the field that failed.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if bytes.is_empty() {
        return Err(AppError::bad_request(
            Some("body"),
            "body is empty; send a JSON object",
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| AppError::bad_request(Some("body"), format!("body is not valid JSON: {e}")))?;
    // Every body the API reads is an object (and so is every struct in one: `Strict`).
    if !value.is_object() {
        return Err(AppError::invalid("body", "must be a JSON object"));
    }
    // PostgreSQL cannot store NUL in text: refused here for every field, on both databases.
    if let Some(field) = crate::app::input::nul_in_json(&value) {
        return Err(AppError::invalid(field, crate::app::input::NUL_REASON));
    }
    serde_path_to_error::deserialize(Strict(value)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde says "missing field `x`" at the parent's path: name the field itself.
        let field = match inner
            .strip_prefix("missing field `")
            .and_then(|s| s.split('`').next())
        {
            Some(f) if path == "." => f.to_string(),
            Some(f) => format!("{path}.{f}"),
            None => path,
        };
        AppError::invalid(field, inner)
    })
}

/// A JSON value that fills a struct only from an object. serde's derive also fills a struct from
/// an array of its fields in order, so `"reporter": [null, null]` was taken for a reporter with
/// no name and no phone; no client means that (found by the schema fuzzer).
struct Strict(serde_json::Value);

/// Scalars read as `serde_json::Value` reads them: strictness is about containers only.
macro_rules! scalars {
    ($($method:ident),*) => {$(
        fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.0.$method(v)
        }
    )*};
}

impl<'de> Deserializer<'de> for Strict {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            serde_json::Value::Array(items) => {
                let len = items.len();
                let mut seq = StrictSeq(items.into_iter());
                let out = v.visit_seq(&mut seq)?;
                if seq.0.len() == 0 {
                    Ok(out)
                } else {
                    Err(de::Error::invalid_length(len, &"fewer elements"))
                }
            }
            serde_json::Value::Object(map) => v.visit_map(StrictMap {
                entries: map.into_iter(),
                value: None,
            }),
            other => other.deserialize_any(v),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            serde_json::Value::Null => v.visit_none(),
            _ => v.visit_some(self),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            serde_json::Value::Object(_) => self.deserialize_any(v),
            serde_json::Value::Array(_) => Err(de::Error::invalid_type(
                de::Unexpected::Seq,
                &"a JSON object",
            )),
            other => other.deserialize_struct(name, fields, v),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            serde_json::Value::Array(_) => self.deserialize_any(v),
            other => other.deserialize_seq(v),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        v: V,
    ) -> Result<V::Value, Self::Error> {
        self.deserialize_seq(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        v: V,
    ) -> Result<V::Value, Self::Error> {
        self.deserialize_seq(v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            serde_json::Value::Object(_) => self.deserialize_any(v),
            other => other.deserialize_map(v),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, Self::Error> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_enum(name, variants, v)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_unit_struct(name, v)
    }

    scalars!(
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_unit,
        deserialize_identifier,
        deserialize_ignored_any
    );
}

struct StrictSeq(std::vec::IntoIter<serde_json::Value>);

impl<'de> SeqAccess<'de> for StrictSeq {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        self.0
            .next()
            .map(|v| seed.deserialize(Strict(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct StrictMap {
    entries: serde_json::map::IntoIter,
    value: Option<serde_json::Value>,
}

impl<'de> MapAccess<'de> for StrictMap {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(serde_json::Value::String(key)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<T::Value, Self::Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(Strict(v)),
            None => Err(de::Error::custom("a value is missing")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_body;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        phone: Option<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        id: uuid::Uuid,
        #[serde(default)]
        inner: Option<Inner>,
        #[serde(default)]
        list: Vec<Inner>,
        #[serde(default)]
        score: Option<i64>,
    }

    /// Objects, arrays, options and scalars read as they always did.
    #[test]
    fn well_formed_bodies_read_as_before() {
        let b = br#"{"id":"01a250e6-96aa-71db-87e6-7f6632a6c67f","inner":{"name":"x"},"list":[{"phone":"1"}],"score":3}"#;
        let o: Outer = parse_body(b).unwrap();
        assert_eq!(o.inner.unwrap().name.as_deref(), Some("x"));
        assert_eq!(o.list[0].phone.as_deref(), Some("1"));
        assert_eq!(o.score, Some(3));
        let o: Outer =
            parse_body(br#"{"id":"01a250e6-96aa-71db-87e6-7f6632a6c67f","inner":null}"#).unwrap();
        assert_eq!(o.inner, None);
    }

    /// A struct is filled from an object only, at any depth, and the error names where.
    #[test]
    fn an_array_is_no_struct() {
        let e = parse_body::<Outer>(b"[null]").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("body"));
        let e = parse_body::<Outer>(
            br#"{"id":"01a250e6-96aa-71db-87e6-7f6632a6c67f","inner":[null,null]}"#,
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("inner"), "{e:?}");
        let e =
            parse_body::<Outer>(br#"{"id":"01a250e6-96aa-71db-87e6-7f6632a6c67f","list":[["a"]]}"#)
                .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("list[0]"), "{e:?}");
        let e = parse_body::<Outer>(br#"{"id":"01a250e6-96aa-71db-87e6-7f6632a6c67f","nope":1}"#)
            .unwrap_err();
        assert!(e.message.contains("unknown field"), "{e:?}");
    }
}
