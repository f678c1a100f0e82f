//! Small helpers for turning request fields into domain values, and the schemas that
//! describe the domain's rules for those fields in the API description.

use utoipa::openapi::schema::{Array, ArrayBuilder, Object, ObjectBuilder, Type};
use vanthu_domain::{Name, Password, Role, UnitCode, UnitLevel, Username, ValidationError};

/// Reports a validation failure under the field name the client used (domain types name
/// their own field generically, e.g. `name` for what the request calls `display_name`).
pub fn named<T>(
    result: Result<T, ValidationError>,
    field: &'static str,
) -> Result<T, ValidationError> {
    result.map_err(|e| ValidationError {
        field,
        message: e.message,
    })
}

fn string_schema(pattern: Option<&str>, min_length: usize, max_length: usize) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(pattern)
        .min_length(Some(min_length))
        .max_length(Some(max_length))
        .build()
}

/// [`Name`]: a person's or a unit's name.
pub fn name_schema() -> Object {
    string_schema(Some(Name::PATTERN), 1, Name::MAX_CHARS)
}

/// [`Username`].
pub fn username_schema() -> Object {
    string_schema(
        Some(Username::PATTERN),
        Username::MIN_LEN,
        Username::MAX_LEN,
    )
}

/// [`UnitCode`].
pub fn unit_code_schema() -> Object {
    string_schema(Some(UnitCode::PATTERN), 3, UnitCode::MAX_LEN)
}

/// [`Password`]: the length rule (the others need the username and the common list).
pub fn password_schema() -> Object {
    let mut schema = string_schema(None, Password::MIN_CHARS, Password::MAX_CHARS);
    schema.format = Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
        utoipa::openapi::schema::KnownFormat::Password,
    ));
    schema
}

/// A string schema limited to `names`, so the API description lists the values the domain
/// defines instead of a copy of them.
pub fn names_schema<'a>(names: impl IntoIterator<Item = &'a str>) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
        .build()
}

/// [`UnitLevel`]: one of its names.
pub fn level_schema() -> Object {
    names_schema(UnitLevel::ALL.map(UnitLevel::as_str))
}

/// A list of [`Role`] names.
pub fn roles_schema() -> Array {
    ArrayBuilder::new()
        .items(names_schema(Role::ALL.map(Role::as_str)))
        .build()
}
