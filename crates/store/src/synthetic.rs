//! Synthetic documents in bulk, for the ratio benchmarks and for tests that need a district's
//! year of documents (tens of thousands) without walking each through the API.
//!
//! The rows are written straight into the document tables by `INSERT ... SELECT` over a
//! number series, then the ratio counters are rebuilt from them: what a report then says is
//! what the same rule says of real documents. Never for a live installation's database.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use diesel::prelude::*;
use vanthu_domain::{UnitId, UserId, ValidationError};
use vanthu_routing::VIETNAM_OFFSET_SECONDS;

use crate::db::{per_backend, DbConnection};
use crate::schema::{incoming_documents, outgoing_documents};
use crate::{Database, StoreError};

/// Days past the period's end that deadlines and completions may reach.
const SPILL_DAYS: i64 = 20;

/// How many documents one unit gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Volume {
    /// The unit.
    pub unit: UnitId,
    /// Incoming documents received in the period.
    pub incoming: u64,
    /// Of those, processed on the software (electronic and registered; the rest arrive on
    /// paper and wait in the register). Of the processed: seven in ten completed on time,
    /// two in ten late, one in ten still open with a deadline ten days after arrival.
    pub processed: u64,
    /// Outgoing documents issued in the period.
    pub outgoing: u64,
    /// Of those, signed digitally (the rest issued on paper).
    pub signed: u64,
}

/// Where the synthetic documents fall: every day from `from` to `to`, one calendar year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticPeriod {
    /// The first day.
    pub from: NaiveDate,
    /// The last day; in the same year as `from`.
    pub to: NaiveDate,
}

fn noon_millis(day: NaiveDate) -> i64 {
    let noon = day.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default());
    Utc.from_utc_datetime(&noon).timestamp_millis() - i64::from(VIETNAM_OFFSET_SECONDS) * 1000
}

/// The `WITH` clause naming the series `s(n)` from 1 to `count`.
fn series(conn: &DbConnection, count: u64) -> String {
    match conn {
        DbConnection::Sqlite(_) => format!(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count})"
        ),
        DbConnection::Postgresql(_) => {
            format!("WITH s(n) AS (SELECT generate_series(1, {count}))")
        }
    }
}

fn execute(conn: &mut DbConnection, sql: &str) -> Result<usize, StoreError> {
    Ok(per_backend!(&mut *conn, c => diesel::sql_query(sql).execute(c))?)
}

impl Database {
    /// Writes the documents of `volumes` over `period` (received by, signed by and issued by
    /// `by`), then rebuilds the ratio counters, in one transaction.
    pub fn generate_documents(
        &self,
        period: SyntheticPeriod,
        by: UserId,
        volumes: &[Volume],
    ) -> Result<(), StoreError> {
        if period.from > period.to || period.from.year() != period.to.year() {
            return Err(ValidationError::new(
                "period",
                "runs from a day to a later day of the same year",
            )
            .into());
        }
        for v in volumes {
            if v.processed > v.incoming || v.signed > v.outgoing {
                return Err(ValidationError::new(
                    "volume",
                    "processed and signed documents are among those received and issued",
                )
                .into());
            }
        }
        let days = (period.to - period.from).num_days() + 1;
        let year = period.from.year();
        self.transaction(|conn| {
            execute(
                conn,
                "CREATE TEMPORARY TABLE synthetic_days \
                 (idx BIGINT PRIMARY KEY, day TEXT NOT NULL, noon BIGINT NOT NULL)",
            )?;
            let rows: Vec<String> = (0..days + SPILL_DAYS)
                .map(|i| {
                    let day = period.from + Duration::days(i);
                    format!("({i}, '{}', {})", day.format("%Y-%m-%d"), noon_millis(day))
                })
                .collect();
            for chunk in rows.chunks(500) {
                execute(
                    conn,
                    &format!(
                        "INSERT INTO synthetic_days (idx, day, noon) VALUES {}",
                        chunk.join(", ")
                    ),
                )?;
            }
            for v in volumes {
                insert_incoming(conn, v, by, year, days)?;
                insert_outgoing(conn, v, by, year, days)?;
            }
            execute(conn, "DROP TABLE synthetic_days")?;
            crate::reports::rebuild(conn)?;
            Ok(())
        })
    }
}

/// Every value below is an integer or a fixed word computed here: nothing from outside
/// reaches the SQL text.
fn insert_incoming(
    conn: &mut DbConnection,
    v: &Volume,
    by: UserId,
    year: i32,
    days: i64,
) -> Result<(), StoreError> {
    if v.incoming == 0 {
        return Ok(());
    }
    let unit = v.unit.get();
    let base: i64 = incoming_documents::table
        .filter(incoming_documents::unit_id.eq(unit))
        .select(diesel::dsl::max(incoming_documents::arrival_number))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0);
    let p = v.processed;
    let sql = format!(
        "{series} INSERT INTO incoming_documents (unit_id, state, medium, issuing_body, \
         number_notation, document_date, document_type, summary, urgency, due_date, search_text, \
         verification, verification_report, received_by, received_at, received_year, \
         arrival_year, arrival_number, registered_at, updated_at, completed_at) \
         SELECT {unit}, \
         CASE WHEN s.n > {p} THEN 'received' WHEN s.n % 10 = 9 THEN 'assigned' ELSE 'completed' END, \
         CASE WHEN s.n > {p} THEN 'paper' ELSE 'electronic' END, \
         'UBND tỉnh', CAST(s.n AS TEXT) || '/UBND-TH', d.day, 'Công văn', 'Văn bản tổng hợp', 0, \
         CASE WHEN s.n > {p} THEN NULL ELSE due.day END, 'ubnd tinh van ban tong hop', \
         CASE WHEN s.n > {p} THEN 'unsigned' WHEN s.n % 25 = 0 THEN 'untrusted' ELSE 'valid' END, \
         '{{}}', {by}, d.noon, {year}, \
         CASE WHEN s.n > {p} THEN NULL ELSE {year} END, \
         CASE WHEN s.n > {p} THEN NULL ELSE {base} + s.n END, \
         CASE WHEN s.n > {p} THEN NULL ELSE d.noon END, d.noon, \
         CASE WHEN s.n > {p} THEN NULL WHEN s.n % 10 < 7 THEN d.noon + 5 * 86400000 \
              WHEN s.n % 10 < 9 THEN d.noon + 15 * 86400000 ELSE NULL END \
         FROM s JOIN synthetic_days d ON d.idx = s.n % {days} \
         JOIN synthetic_days due ON due.idx = s.n % {days} + 10",
        series = series(conn, v.incoming),
        by = by.get(),
    );
    execute(conn, &sql)?;
    Ok(())
}

fn insert_outgoing(
    conn: &mut DbConnection,
    v: &Volume,
    by: UserId,
    year: i32,
    days: i64,
) -> Result<(), StoreError> {
    if v.outgoing == 0 {
        return Ok(());
    }
    let unit = v.unit.get();
    let base: i64 = outgoing_documents::table
        .filter(outgoing_documents::unit_id.eq(unit))
        .select(diesel::dsl::max(outgoing_documents::number))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0);
    let s = v.signed;
    let sql = format!(
        "{series} INSERT INTO outgoing_documents (unit_id, state, medium, document_type, summary, \
         urgency, confidentiality, notation, signer_id, signer_position, authority, search_text, \
         drafted_by, drafted_at, drafted_year, signature, signed_at, register_year, series, \
         number, number_notation, issued_date, issued_at, issued_by, updated_at) \
         SELECT {unit}, 'issued', CASE WHEN s.n > {s} THEN 'paper' ELSE 'electronic' END, \
         'Công văn', 'Văn bản tổng hợp', 0, 'normal', 'UBND-TH', {by}, 'Chủ tịch', 'own', \
         'van ban tong hop', {by}, d.noon, {year}, \
         CASE WHEN s.n > {s} THEN NULL ELSE 'server_key' END, \
         CASE WHEN s.n > {s} THEN NULL ELSE d.noon END, {year}, 'regular', {base} + s.n, \
         CAST({base} + s.n AS TEXT) || '/UBND-TH', d.day, d.noon, {by}, d.noon \
         FROM s JOIN synthetic_days d ON d.idx = s.n % {days}",
        series = series(conn, v.outgoing),
        by = by.get(),
    );
    execute(conn, &sql)?;
    Ok(())
}
