//! Timestamps are stored as unix milliseconds so both backends keep identical values.

use chrono::{DateTime, Utc};

use crate::StoreError;

pub(crate) fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::corrupt(format!("timestamp {ms} is out of range")))
}

/// The current time at the precision the database keeps, so values read back compare equal.
pub(crate) fn now() -> DateTime<Utc> {
    let ms = to_millis(Utc::now());
    DateTime::from_timestamp_millis(ms).expect("the current time is in range")
}
