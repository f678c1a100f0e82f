//! The pages of a trích sao (an extract, Decree 30/2020 Art. 25): which pages of the document
//! held the clerk copies, written as the clerk types them, `1-2,4`.
//!
//! A selection lists single pages and ranges in the order of the document, each page once: an
//! extract reproduces part of the document as it is, so it neither repeats nor reorders pages.
//! It is checked twice: its syntax when it is read, and against the document's length when
//! the file is at hand ([`PageSelection::within`]).

use std::fmt;
use std::str::FromStr;

use vanthu_domain::ValidationError;

/// The request field a selection comes from.
const FIELD: &str = "pages";

/// The longest selection accepted, in characters.
pub const MAX_SELECTION_LEN: usize = 200;

/// The highest page number a selection may name.
pub const MAX_PAGE: u32 = 99_999;

/// The grammar of a selection, for the API schema: numbers from 1 without leading zeros,
/// single or as `first-last`, separated by commas, no spaces.
pub const SELECTION_PATTERN: &str =
    "^[1-9][0-9]{0,4}(-[1-9][0-9]{0,4})?(,[1-9][0-9]{0,4}(-[1-9][0-9]{0,4})?)*$";

/// A run of consecutive pages, `first..=last`, numbered from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    first: u32,
    last: u32,
}

/// Pages to extract, ascending, each once, as the clerk wrote them (`1-2,4`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSelection {
    runs: Vec<Run>,
}

fn invalid(message: impl Into<String>) -> ValidationError {
    ValidationError::new(FIELD, message)
}

/// A page number as written: digits, from 1, no leading zero.
fn page_number(text: &str, item: &str) -> Result<u32, ValidationError> {
    let well_formed =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0');
    let number = well_formed.then(|| text.parse::<u32>().ok()).flatten();
    match number {
        Some(n) if n <= MAX_PAGE => Ok(n),
        Some(_) => Err(invalid(format!(
            "'{item}' names a page beyond {MAX_PAGE}; name pages of the document"
        ))),
        None => Err(invalid(format!(
            "'{item}' is not a page or a range of pages; write pages from 1 and ranges as \
             first-last, separated by commas, e.g. 1-2,4"
        ))),
    }
}

impl FromStr for PageSelection {
    type Err = ValidationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.trim().is_empty() {
            return Err(invalid(
                "name the pages to extract, e.g. 1-2,4 for pages 1, 2 and 4",
            ));
        }
        if text.chars().count() > MAX_SELECTION_LEN {
            return Err(invalid(format!(
                "the selection is longer than {MAX_SELECTION_LEN} characters; join \
                 consecutive pages into ranges (first-last)"
            )));
        }
        let mut runs: Vec<Run> = Vec::new();
        for item in text.split(',') {
            if item.is_empty() {
                return Err(invalid(
                    "the selection has an empty item (two commas together, or one at an end); \
                     remove it",
                ));
            }
            let run = match item.split_once('-') {
                None => {
                    let page = page_number(item, item)?;
                    Run {
                        first: page,
                        last: page,
                    }
                }
                Some((first, last)) => Run {
                    first: page_number(first, item)?,
                    last: page_number(last, item)?,
                },
            };
            if run.first > run.last {
                return Err(invalid(format!(
                    "the range '{item}' runs backwards; write it from its first page to its \
                     last, {}-{}",
                    run.last, run.first
                )));
            }
            if let Some(previous) = runs.last() {
                if run.first <= previous.last && run.last >= previous.first {
                    return Err(invalid(format!(
                        "'{item}' names a page already selected; name each page once"
                    )));
                }
                if run.first < previous.first {
                    return Err(invalid(format!(
                        "'{item}' comes before the pages named ahead of it; list the pages in \
                         the order of the document"
                    )));
                }
            }
            runs.push(run);
        }
        Ok(PageSelection { runs })
    }
}

impl PageSelection {
    /// The selected page numbers, ascending, once `page_count` (the document's length) is
    /// known: every page must be in the document, and not every page may be taken (an
    /// extract of the whole document is a sao y).
    pub fn within(&self, page_count: usize) -> Result<Vec<usize>, ValidationError> {
        let last = self.runs.last().map_or(0, |r| r.last) as usize;
        if last > page_count {
            return Err(invalid(format!(
                "the document has {page_count} page(s); page {last} is not in it"
            )));
        }
        let pages: Vec<usize> = self
            .runs
            .iter()
            .flat_map(|r| r.first as usize..=r.last as usize)
            .collect();
        if pages.len() == page_count {
            return Err(invalid(
                "the selection takes every page of the document; make a sao y (form sao_y) to \
                 copy it whole",
            ));
        }
        Ok(pages)
    }
}

impl fmt::Display for PageSelection {
    /// The canonical form, as stored: `3-3` is written `3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, run) in self.runs.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match run.first == run.last {
                true => write!(f, "{}", run.first)?,
                false => write!(f, "{}-{}", run.first, run.last)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages(text: &str, count: usize) -> Result<Vec<usize>, String> {
        let selection: PageSelection = text.parse().map_err(|e: ValidationError| e.message)?;
        selection.within(count).map_err(|e| e.message)
    }

    #[test]
    fn pages_and_ranges_are_read_in_document_order() {
        assert_eq!(pages("1-2,4", 5).unwrap(), [1, 2, 4]);
        assert_eq!(pages("3", 5).unwrap(), [3]);
        assert_eq!(pages("2-2,5", 5).unwrap(), [2, 5]);
        assert_eq!(pages("1,2,3", 4).unwrap(), [1, 2, 3]);
        let read: PageSelection = "1-2,4,6-6".parse().unwrap();
        assert_eq!(read.to_string(), "1-2,4,6");
        assert_eq!(read.to_string().parse::<PageSelection>().unwrap(), read);
    }

    #[test]
    fn malformed_selections_are_refused_naming_the_field() {
        for bad in [
            "",
            " ",
            "1,,2",
            ",1",
            "1,",
            "0",
            "01",
            "a",
            "1-",
            "-2",
            "1-2-3",
            "1 - 2",
            "1;2",
            "+1",
            "1.5",
            "100000",
            "4294967296",
        ] {
            let e = bad.parse::<PageSelection>().unwrap_err();
            assert_eq!(e.field, "pages", "{bad:?}");
        }
        let long = vec!["1"; MAX_SELECTION_LEN].join(",");
        assert!(long.parse::<PageSelection>().is_err());
    }

    #[test]
    fn reversed_repeated_and_unordered_pages_are_refused_with_the_reason() {
        assert!(pages("3-1", 5).unwrap_err().contains("backwards"));
        assert!(pages("1-3,2", 5).unwrap_err().contains("already"));
        assert!(pages("2,2", 5).unwrap_err().contains("already"));
        assert!(pages("4,1-2", 5).unwrap_err().contains("order"));
    }

    #[test]
    fn a_selection_must_lie_within_the_document_and_not_take_all_of_it() {
        assert!(pages("2-4", 3).unwrap_err().contains("3 page(s)"));
        assert!(pages("1-3", 3).unwrap_err().contains("sao_y"));
        assert!(pages("1", 1).unwrap_err().contains("sao_y"));
    }

    #[test]
    fn the_schema_pattern_accepts_exactly_the_well_formed_selections() {
        let pattern = regex::Regex::new(SELECTION_PATTERN).unwrap();
        for text in [
            "1", "1-2,4", "99999", "10-12,15", "2-2,5", "", "1,,2", ",1", "0", "01", "1-", "1-2-3",
            "1 - 2", "100000", "1-05",
        ] {
            // Well-formed, whatever the order of its pages: order is the parser's to judge.
            let well_formed = match text.parse::<PageSelection>() {
                Ok(_) => true,
                Err(e) => {
                    !e.message.contains("not a page")
                        && !e.message.contains("empty")
                        && !e.message.contains("name the pages")
                        && !e.message.contains("beyond")
                }
            };
            assert_eq!(pattern.is_match(text), well_formed, "{text:?}");
        }
    }
}
