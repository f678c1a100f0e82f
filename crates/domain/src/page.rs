use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// Largest page size a client may ask for.
pub const MAX_PER_PAGE: u32 = 200;

/// Which slice of a list to return: 1-based page number and page size (1..=200).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawPage")]
pub struct PageRequest {
    page: u32,
    per_page: u32,
}

#[derive(Deserialize)]
struct RawPage {
    page: u32,
    per_page: u32,
}

impl TryFrom<RawPage> for PageRequest {
    type Error = ValidationError;
    fn try_from(raw: RawPage) -> Result<Self, Self::Error> {
        Self::new(raw.page, raw.per_page)
    }
}

impl PageRequest {
    /// Page size used when the client does not ask for one.
    pub const DEFAULT_PER_PAGE: u32 = 50;

    /// Validates a page request.
    pub fn new(page: u32, per_page: u32) -> Result<Self, ValidationError> {
        if page == 0 {
            return Err(ValidationError::new("page", "must be 1 or more"));
        }
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(ValidationError::new(
                "per_page",
                format!("must be between 1 and {MAX_PER_PAGE}"),
            ));
        }
        Ok(Self { page, per_page })
    }

    /// 1-based page number.
    pub fn page(self) -> u32 {
        self.page
    }

    /// Items per page.
    pub fn per_page(self) -> u32 {
        self.per_page
    }

    /// How many items precede this page.
    pub fn offset(self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.per_page)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: Self::DEFAULT_PER_PAGE,
        }
    }
}

/// One page of a list plus the total number of items the caller may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paged<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// 1-based page number.
    pub page: u32,
    /// Requested page size.
    pub per_page: u32,
    /// Number of items over all pages.
    pub total: u64,
}

impl<T> Paged<T> {
    /// Converts the items, keeping the paging figures.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            items: self.items.into_iter().map(f).collect(),
            page: self.page,
            per_page: self.per_page,
            total: self.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_bounds() {
        assert!(PageRequest::new(0, 10).is_err());
        assert!(PageRequest::new(1, 0).is_err());
        assert!(PageRequest::new(1, 201).is_err());
        let p = PageRequest::new(3, 200).unwrap();
        assert_eq!(p.offset(), 400);
        assert_eq!(PageRequest::default().per_page(), 50);
    }
}
