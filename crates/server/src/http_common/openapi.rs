//! Schemas of query parameters that more than one face reads the same way: an empty value (as an
//! untouched HTML form field sends it) is the same as leaving the parameter out.

use utoipa::ToSchema;

/// A query flag: true or false; empty (`open=`) is the same as absent (the API reads it with
/// `app::input::empty_as_none`).
pub struct Flag;

impl utoipa::PartialSchema for Flag {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        empty_or(utoipa::openapi::schema::Type::Boolean)
    }
}

impl ToSchema for Flag {}

/// A whole-number query parameter (`page`, `page_size`): empty is the same as absent.
pub struct Count;

impl utoipa::PartialSchema for Count {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        empty_or(utoipa::openapi::schema::Type::Integer)
    }
}

impl ToSchema for Count {}

fn empty_or(
    kind: utoipa::openapi::schema::Type,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
    AnyOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(kind))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(0)),
        )
        .description(Some("empty is the same as absent"))
        .into()
}
