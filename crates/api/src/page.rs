//! `?page=1&per_page=50` on every list endpoint.

use std::collections::HashMap;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::{ready, Ready};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use vanthu_domain::{PageRequest, Paged};

use crate::error::ApiError;

/// Paging parameters as documented in the API description.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-based page number (default 1).
    #[param(minimum = 1, example = 1)]
    pub page: Option<u32>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, example = 50)]
    pub per_page: Option<u32>,
}

/// The validated paging request of a list call.
#[derive(Debug, Clone, Copy)]
pub struct Pagination(pub PageRequest);

impl FromRequest for Pagination {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(parse(req.query_string()).map(Pagination))
    }
}

fn parse(query: &str) -> Result<PageRequest, ApiError> {
    let params = web::Query::<HashMap<String, String>>::from_query(query)
        .map_err(|e| ApiError::InvalidQuery {
            field: "query".into(),
            detail: e.to_string(),
        })?
        .into_inner();
    let number = |field: &str, default: u32| -> Result<u32, ApiError> {
        match params.get(field) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| ApiError::InvalidQuery {
                field: field.to_owned(),
                detail: format!("'{v}' is not a whole number"),
            }),
        }
    };
    let page = number("page", 1)?;
    let per_page = number("per_page", PageRequest::DEFAULT_PER_PAGE)?;
    PageRequest::new(page, per_page).map_err(|e| ApiError::InvalidQuery {
        field: e.field.to_owned(),
        detail: e.message,
    })
}

/// One page of a list: `{"items":[...],"page":1,"per_page":50,"total":N}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    /// The items on this page.
    pub items: Vec<T>,
    /// 1-based page number.
    pub page: u32,
    /// Requested page size.
    pub per_page: u32,
    /// Number of items over all pages.
    pub total: u64,
}

impl<T: ToSchema> Page<T> {
    /// Converts a store page into the response shape.
    pub fn from_paged<S>(paged: Paged<S>, f: impl FnMut(S) -> T) -> Self {
        let paged = paged.map(f);
        Page {
            items: paged.items,
            page: paged.page,
            per_page: paged.per_page,
            total: paged.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(query: &str) -> String {
        match parse(query).unwrap_err() {
            ApiError::InvalidQuery { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_and_bounds() {
        let p = parse("").unwrap();
        assert_eq!((p.page(), p.per_page()), (1, 50));
        let p = parse("page=3&per_page=200&sort=name").unwrap();
        assert_eq!((p.page(), p.per_page()), (3, 200));
        assert_eq!(field_of("page=abc"), "page");
        assert_eq!(field_of("page=0"), "page");
        assert_eq!(field_of("per_page=201"), "per_page");
        assert_eq!(field_of("per_page=-1"), "per_page");
    }
}
