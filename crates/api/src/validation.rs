//! Small helpers for turning request fields into domain values.

use vanthu_domain::ValidationError;

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
