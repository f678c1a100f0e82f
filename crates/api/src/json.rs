//! JSON request bodies: checks the media type (415), enforces the size limit (413) and names
//! the offending field when the body does not deserialize (400), before a handler runs.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::Limits;

/// A JSON body deserialized into `T`.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = Limits::of(req).json;
        let is_json = has_json_media_type(req);
        let declared = declared_length(req);
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::UnsupportedMediaType(
                    "send the body as JSON, with the header Content-Type: application/json".into(),
                ));
            }
            let too_large = ApiError::PayloadTooLarge {
                limit: limit as u64,
            };
            if declared.is_some_and(|n| n > limit as u64) {
                return Err(too_large);
            }
            let mut body = Vec::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| ApiError::InvalidJson {
                    field: None,
                    detail: format!("the request body could not be read: {e}"),
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large);
                }
                body.extend_from_slice(&chunk);
            }
            parse(&body).map(Json)
        })
    }
}

/// Deserializes `body`, reporting the path of the field at fault.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = if path == "." {
            field_named_in(&inner.to_string())
        } else {
            Some(path)
        };
        let detail = match &field {
            Some(f) => format!("field `{f}`: {inner}"),
            None => format!("the body is not valid JSON: {inner}"),
        };
        ApiError::InvalidJson { field, detail }
    })?;
    de.end().map_err(|e| ApiError::InvalidJson {
        field: None,
        detail: format!("unexpected data after the JSON value: {e}"),
    })?;
    Ok(value)
}

/// serde reports missing and unknown fields at the enclosing object, naming the field in
/// backticks: "missing field `password`".
fn field_named_in(message: &str) -> Option<String> {
    let is_field_error =
        message.starts_with("missing field") || message.starts_with("unknown field");
    if !is_field_error {
        return None;
    }
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}

fn has_json_media_type(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The Content-Length the client announced, if any.
pub(crate) fn declared_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Login {
        username: String,
        password: String,
        roles: Option<Vec<String>>,
    }

    fn field_of(body: &str) -> Option<String> {
        match parse::<Login>(body.as_bytes()).unwrap_err() {
            ApiError::InvalidJson { field, .. } => field,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            field_of(r#"{"username": 5, "password": "x"}"#).as_deref(),
            Some("username")
        );
        assert_eq!(
            field_of(r#"{"username": "a"}"#).as_deref(),
            Some("password")
        );
        assert_eq!(
            field_of(r#"{"username": "a", "password": "b", "pasword": 1}"#).as_deref(),
            Some("pasword")
        );
        assert_eq!(
            field_of(r#"{"username": "a", "password": "b", "roles": ["x", 2]}"#).as_deref(),
            Some("roles[1]")
        );
        assert_eq!(field_of("not json"), None);
        assert!(parse::<Login>(br#"{"username": "a", "password": "b"} {}"#).is_err());
        let login: Login = parse(br#"{"username": "a", "password": "b"}"#).unwrap();
        assert_eq!(
            (login.username.as_str(), login.password.as_str()),
            ("a", "b")
        );
        assert!(login.roles.is_none());
    }
}
