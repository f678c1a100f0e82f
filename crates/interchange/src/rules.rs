//! The rules a value must follow to travel in a package, shared by the writer (which refuses
//! to build what it could not read back) and the reader; and the date formats.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use vanthu_routing::VIETNAM_OFFSET_SECONDS;

/// Date format of PromulgationDate, DueDate and the DocumentId, as the national SDK writes
/// it.
pub(crate) const DATE_FORMAT: &str = "%Y/%m/%d";

/// Checks a free text: at most `max` characters, no control characters but line breaks and
/// tabs. Returns the reason in words.
pub(crate) fn check_text(value: &str, max: usize) -> Result<(), String> {
    let count = value.chars().count();
    if count > max {
        return Err(format!(
            "must be at most {max} characters; this one has {count}"
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("must not contain control characters".to_owned());
    }
    Ok(())
}

/// A date as written in packages.
pub(crate) fn format_date(date: NaiveDate) -> String {
    date.format(DATE_FORMAT).to_string()
}

/// A timestamp as written in packages: RFC 3339 with its offset, so a recipient in any time
/// zone reads the same instant.
pub(crate) fn format_timestamp(at: DateTime<FixedOffset>) -> String {
    at.to_rfc3339()
}

/// How a date was written, when not as the format says.
pub(crate) enum DateReading {
    /// `YYYY/MM/DD`.
    Standard(NaiveDate),
    /// Another unambiguous form; the words say which.
    Tolerated(NaiveDate, &'static str),
}

/// Reads `YYYY/MM/DD`, and tolerates `YYYY-MM-DD`, `DD/MM/YYYY` and a time of day after the
/// date (midnight, as some senders write dates as timestamps): the four-digit year makes
/// each unambiguous, so nothing is lost.
pub(crate) fn read_date(text: &str) -> Option<DateReading> {
    let (day, rest) = match text.split_once([' ', 'T']) {
        Some((day, rest)) => (day, Some(rest)),
        None => (text, None),
    };
    // chrono reads `%Y` with any number of digits; the forms here have four.
    let shape = |sep: u8, at: [usize; 2]| {
        day.len() == 10
            && day.bytes().enumerate().all(|(i, b)| {
                if at.contains(&i) {
                    b == sep
                } else {
                    b.is_ascii_digit()
                }
            })
    };
    let reading = if !(shape(b'/', [4, 7]) || shape(b'-', [4, 7]) || shape(b'/', [2, 5])) {
        return None;
    } else if let Ok(d) = NaiveDate::parse_from_str(day, DATE_FORMAT) {
        DateReading::Standard(d)
    } else if let Ok(d) = NaiveDate::parse_from_str(day, "%Y-%m-%d") {
        DateReading::Tolerated(d, "date written YYYY-MM-DD instead of YYYY/MM/DD")
    } else if let Ok(d) = NaiveDate::parse_from_str(day, "%d/%m/%Y") {
        DateReading::Tolerated(d, "date written DD/MM/YYYY instead of YYYY/MM/DD")
    } else {
        return None;
    };
    match rest {
        None => Some(reading),
        Some(time) if time.trim_start_matches(['0', ':', '.']).is_empty() => {
            let d = match reading {
                DateReading::Standard(d) | DateReading::Tolerated(d, _) => d,
            };
            Some(DateReading::Tolerated(
                d,
                "date followed by a time of day 00:00:00",
            ))
        }
        Some(_) => None,
    }
}

/// How a timestamp was written, when not as the format says.
pub(crate) enum TimestampReading {
    /// RFC 3339 with an offset.
    Standard(DateTime<FixedOffset>),
    /// A local time without offset, read as Vietnam time.
    Tolerated(DateTime<FixedOffset>, &'static str),
}

/// Reads an RFC 3339 timestamp, and tolerates the SDK's `YYYY/MM/DD HH:MM:SS` and
/// `DD/MM/YYYY HH:MM:SS` without offset, read as Vietnam time (UTC+7), the time the axis
/// keeps.
pub(crate) fn read_timestamp(text: &str) -> Option<TimestampReading> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(TimestampReading::Standard(at));
    }
    let vietnam = FixedOffset::east_opt(VIETNAM_OFFSET_SECONDS)?;
    for (format, what) in [
        (
            "%Y/%m/%d %H:%M:%S",
            "timestamp YYYY/MM/DD HH:MM:SS without offset, read as Vietnam time (UTC+7)",
        ),
        (
            "%d/%m/%Y %H:%M:%S",
            "timestamp DD/MM/YYYY HH:MM:SS without offset, read as Vietnam time (UTC+7)",
        ),
        (
            "%Y-%m-%dT%H:%M:%S",
            "timestamp without offset, read as Vietnam time (UTC+7)",
        ),
    ] {
        if let Ok(local) = NaiveDateTime::parse_from_str(text, format) {
            let at = vietnam.from_local_datetime(&local).single()?;
            return Some(TimestampReading::Tolerated(at, what));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn dates_standard_and_tolerated() {
        assert!(
            matches!(read_date("2026/12/02"), Some(DateReading::Standard(d)) if d == day(2026, 12, 2))
        );
        for text in [
            "2026-12-02",
            "02/12/2026",
            "2026/12/02 00:00:00",
            "2026-12-02T00:00:00",
        ] {
            assert!(
                matches!(read_date(text), Some(DateReading::Tolerated(d, _)) if d == day(2026, 12, 2)),
                "{text}"
            );
        }
        for bad in [
            "",
            "2026/13/02",
            "12/02/26",
            "2026/12/02 10:15:00",
            "tomorrow",
        ] {
            assert!(read_date(bad).is_none(), "{bad}");
        }
        assert_eq!(format_date(day(2026, 1, 5)), "2026/01/05");
    }

    #[test]
    fn timestamps_keep_their_instant() {
        let Some(TimestampReading::Standard(at)) = read_timestamp("2026-12-02T10:15:00+07:00")
        else {
            panic!("rfc 3339 not read")
        };
        assert_eq!(format_timestamp(at), "2026-12-02T10:15:00+07:00");
        let Some(TimestampReading::Tolerated(local, _)) = read_timestamp("2026/12/02 10:15:00")
        else {
            panic!("SDK timestamp not read")
        };
        assert_eq!(local, at);
        assert!(read_timestamp("02/12/2026 10:15:00").is_some());
        assert!(read_timestamp("2026/12/02").is_none());
    }

    #[test]
    fn texts_are_bounded_and_clean() {
        assert!(check_text(&"ầ".repeat(500), 500).is_ok());
        assert!(check_text(&"ầ".repeat(501), 500)
            .unwrap_err()
            .contains("501"));
        assert!(check_text("line\nbreak", 10).is_ok());
        assert!(check_text("bell\u{7}", 10).is_err());
    }
}
