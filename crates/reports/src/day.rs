//! Calendar days in Vietnam, as the counters key them.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use vanthu_routing::vietnam_today;

/// A calendar day in Vietnam (UTC+7), as the number of days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Day(i32);

impl Day {
    /// The day in Vietnam at `at`.
    pub fn at(at: DateTime<Utc>) -> Day {
        Day::of(vietnam_today(at))
    }

    /// The day of this date.
    pub fn of(date: NaiveDate) -> Day {
        let days = date.signed_duration_since(NaiveDate::default()).num_days();
        // chrono's dates span ±262,000 years: their day numbers fit in an i32.
        Day(i32::try_from(days).unwrap_or(if days < 0 { i32::MIN } else { i32::MAX }))
    }

    /// The day with this number, as stored.
    pub fn from_number(number: i32) -> Day {
        Day(number)
    }

    /// Its number, as stored.
    pub fn number(self) -> i32 {
        self.0
    }

    /// Its date.
    pub fn date(self) -> NaiveDate {
        NaiveDate::default() + Duration::days(i64::from(self.0))
    }

    /// The day after.
    pub fn next(self) -> Day {
        Day(self.0.saturating_add(1))
    }

    /// The day before.
    pub fn previous(self) -> Day {
        Day(self.0.saturating_sub(1))
    }

    /// The first day of its month: the key of the monthly counters.
    pub fn month_start(self) -> Day {
        let date = self.date();
        Day::of(date.with_day(1).unwrap_or(date))
    }

    /// The first day of the next month.
    pub fn next_month_start(self) -> Day {
        let date = self.date();
        let (year, month) = if date.month() == 12 {
            (date.year() + 1, 1)
        } else {
            (date.year(), date.month() + 1)
        };
        NaiveDate::from_ymd_opt(year, month, 1).map_or(self, Day::of)
    }
}

/// The days from `from` to `to`, both included, as the counters are read: whole months from
/// the monthly counters, the days before the first and after the last whole month from the
/// daily ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// The first day.
    pub from: Day,
    /// The last day.
    pub to: Day,
}

/// Where a [`Period`] reads its counts: month keys and day keys, each an inclusive range.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Split {
    /// First-day keys of the whole months, `(first, last)`.
    pub months: Option<(Day, Day)>,
    /// Day ranges outside the whole months.
    pub days: Vec<(Day, Day)>,
}

impl Period {
    /// Splits the period into whole months and loose days.
    pub fn split(self) -> Split {
        if self.from > self.to {
            return Split::default();
        }
        let first_whole = if self.from == self.from.month_start() {
            self.from
        } else {
            self.from.next_month_start()
        };
        // The first day of the month after the last whole month.
        let after_whole = if self.to.next() == self.to.next().month_start() {
            self.to.next()
        } else {
            self.to.month_start()
        };
        if first_whole >= after_whole {
            return Split {
                months: None,
                days: vec![(self.from, self.to)],
            };
        }
        let mut days = Vec::new();
        if self.from < first_whole {
            days.push((self.from, first_whole.previous()));
        }
        if after_whole <= self.to {
            days.push((after_whole, self.to));
        }
        Split {
            months: Some((first_whole, after_whole.previous().month_start())),
            days,
        }
    }

    /// Everything up to and including `to`, from the beginning of the counts.
    pub fn until(to: Day) -> Period {
        Period {
            from: Day::of(NaiveDate::MIN).month_start(),
            to,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        Day::of(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    #[test]
    fn days_are_vietnam_calendar_days() {
        let late_utc = "2026-12-31T17:30:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(Day::at(late_utc).date().to_string(), "2027-01-01");
        assert_eq!(day("1970-01-02").number(), 1);
        assert_eq!(day("2026-03-15").month_start(), day("2026-03-01"));
        assert_eq!(day("2026-12-15").next_month_start(), day("2027-01-01"));
    }

    #[test]
    fn a_period_splits_into_whole_months_and_loose_days() {
        let p = Period {
            from: day("2026-01-15"),
            to: day("2026-04-10"),
        };
        assert_eq!(
            p.split(),
            Split {
                months: Some((day("2026-02-01"), day("2026-03-01"))),
                days: vec![
                    (day("2026-01-15"), day("2026-01-31")),
                    (day("2026-04-01"), day("2026-04-10"))
                ],
            }
        );
        let year = Period {
            from: day("2026-01-01"),
            to: day("2026-12-31"),
        };
        assert_eq!(
            year.split(),
            Split {
                months: Some((day("2026-01-01"), day("2026-12-01"))),
                days: vec![],
            }
        );
        let inside = Period {
            from: day("2026-05-03"),
            to: day("2026-05-20"),
        };
        assert_eq!(inside.split().months, None);
        assert_eq!(
            inside.split().days,
            vec![(day("2026-05-03"), day("2026-05-20"))]
        );
        let backwards = Period {
            from: day("2026-05-03"),
            to: day("2026-05-02"),
        };
        assert_eq!(backwards.split(), Split::default());
    }

    /// Every day of a period is read exactly once, from a whole month or from a loose day.
    #[test]
    fn splits_cover_every_day_once() {
        let start = day("2025-11-20");
        for len in [0, 1, 5, 11, 12, 40, 41, 70, 400] {
            for offset in 0..40 {
                let from = Day(start.0 + offset);
                let to = Day(from.0 + len);
                let split = Period { from, to }.split();
                let mut covered = Vec::new();
                if let Some((a, b)) = split.months {
                    let mut m = a;
                    while m <= b {
                        let next = m.next_month_start();
                        covered.extend((m.0..next.0).map(Day));
                        m = next;
                    }
                }
                for (a, b) in split.days {
                    covered.extend((a.0..=b.0).map(Day));
                }
                covered.sort();
                let expected: Vec<Day> = (from.0..=to.0).map(Day).collect();
                assert_eq!(covered, expected, "{from:?}..{to:?}");
            }
        }
    }
}
