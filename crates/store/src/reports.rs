//! The ratio counters (docs/ratios.md): what each document contributes, per unit and day and
//! per unit and month, kept up to date in the transaction of every step that changes a
//! contribution, rebuilt from the documents on demand, and summed for a report.
//!
//! The rule of what counts is [`vanthu_reports::contributions`]; this module only loads the
//! facts it needs, applies the difference a step made, and reads the sums. A report over a
//! year of a province's thousand units reads at most a few tens of thousands of counter rows,
//! whatever the number of documents.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use vanthu_domain::{IncomingId, OutgoingId, Unit, UnitId};
use vanthu_reports::{
    contributions, Contribution, Counts, Day, Facts, IncomingFacts, Metric, OutgoingFacts, Period,
    Signatures,
};

use crate::db::{per_backend, DbConnection};
use crate::incoming::parse_date;
use crate::schema::{incoming_assignees, incoming_documents, outgoing_documents, report_counts};
use crate::time::from_millis;
use crate::units::subtree_pattern;
use crate::{Database, StoreError};

/// Documents read per query when the counters are rebuilt.
const REBUILD_PAGE: i64 = 20_000;
/// A counter row's key: grain ('d' or 'm'), the day (or the month's first day), the unit.
type RowKey = (char, Day, i64);

/// Counter rows written per statement when the counters are rebuilt.
const WRITE_BATCH: usize = 500;

type IncomingFactsRow = (
    i64,
    i64,
    String,
    i64,
    String,
    String,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
);

/// Which documents' facts to read.
pub(crate) enum FactsOf<'a> {
    /// One document.
    One(i64),
    /// These documents, in id order.
    Ids(&'a [i64]),
    /// A page of `REBUILD_PAGE` documents with ids above this one, in id order.
    After(i64),
}

/// The facts of the incoming documents `which` names.
pub(crate) fn load_incoming_facts(
    conn: &mut DbConnection,
    which: FactsOf<'_>,
) -> Result<Vec<(i64, IncomingFacts)>, StoreError> {
    let query = incoming_documents::table
        .left_join(
            incoming_assignees::table.on(incoming_assignees::document_id
                .eq(incoming_documents::id)
                .and(incoming_assignees::position.eq(0))),
        )
        .select((
            incoming_documents::id,
            incoming_documents::unit_id,
            incoming_documents::medium,
            incoming_documents::received_at,
            incoming_documents::verification,
            incoming_documents::state,
            incoming_documents::registered_at,
            incoming_documents::due_date,
            incoming_documents::completed_at,
            incoming_documents::recall,
            incoming_documents::recall_answered_at,
            incoming_assignees::deadline.nullable(),
        ))
        .into_boxed();
    let query = match which {
        FactsOf::One(id) => query.filter(incoming_documents::id.eq(id)),
        FactsOf::Ids(ids) => query
            .filter(incoming_documents::id.eq_any(ids))
            .order(incoming_documents::id.asc()),
        FactsOf::After(after) => query
            .filter(incoming_documents::id.gt(after))
            .order(incoming_documents::id.asc())
            .limit(REBUILD_PAGE),
    };
    let rows: Vec<IncomingFactsRow> = query.load(conn)?;
    rows.into_iter()
        .map(|row| {
            let (id, unit, medium, received_at, verdict, state, registered_at, due) =
                (row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7);
            let (completed_at, recall, recall_answered_at, lead_deadline) =
                (row.8, row.9, row.10, row.11);
            let electronic = match medium.as_str() {
                "paper" => None,
                _ => Some(Signatures::of_verdict(&verdict).ok_or_else(|| {
                    StoreError::corrupt(format!("incoming document {id}: verdict '{verdict}'"))
                })?),
            };
            let date = |d: Option<String>| d.as_deref().map(parse_date).transpose();
            let time = |t: Option<i64>| t.map(from_millis).transpose();
            let deadline: Option<NaiveDate> = match date(lead_deadline)? {
                Some(d) => Some(d),
                None => date(due)?,
            };
            let recall_accepted_at: Option<DateTime<Utc>> = match recall.as_deref() {
                Some("accepted") => time(recall_answered_at)?,
                _ => None,
            };
            Ok((
                id,
                IncomingFacts {
                    unit,
                    received_at: from_millis(received_at)?,
                    electronic,
                    registered_at: time(registered_at)?,
                    returned: state == "returned",
                    deadline,
                    completed_at: time(completed_at)?,
                    recall_accepted_at,
                },
            ))
        })
        .collect()
}

type OutgoingFactsRow = (i64, i64, String, Option<String>, Option<i64>);

fn load_outgoing_facts(
    conn: &mut DbConnection,
    only: Option<OutgoingId>,
    after: i64,
) -> Result<Vec<(i64, OutgoingFacts)>, StoreError> {
    let query = outgoing_documents::table
        .select((
            outgoing_documents::id,
            outgoing_documents::unit_id,
            outgoing_documents::medium,
            outgoing_documents::signature,
            outgoing_documents::issued_at,
        ))
        .into_boxed();
    let query = match only {
        Some(id) => query.filter(outgoing_documents::id.eq(id.get())),
        None => query
            .filter(outgoing_documents::id.gt(after))
            .order(outgoing_documents::id.asc())
            .limit(REBUILD_PAGE),
    };
    let rows: Vec<OutgoingFactsRow> = query.load(conn)?;
    rows.into_iter()
        .map(|(id, unit, medium, signature, issued_at)| {
            Ok((
                id,
                OutgoingFacts {
                    unit,
                    issued_at: issued_at.map(from_millis).transpose()?,
                    paper: medium == "paper",
                    signed: signature.is_some(),
                },
            ))
        })
        .collect()
}

/// The document's contributions, or none when it does not exist (yet).
fn incoming_contributions(
    conn: &mut DbConnection,
    id: IncomingId,
) -> Result<Vec<Contribution>, StoreError> {
    Ok(load_incoming_facts(conn, FactsOf::One(id.get()))?
        .first()
        .map(|(_, f)| contributions(&Facts::Incoming(f)))
        .unwrap_or_default())
}

fn outgoing_contributions(
    conn: &mut DbConnection,
    id: OutgoingId,
) -> Result<Vec<Contribution>, StoreError> {
    Ok(load_outgoing_facts(conn, Some(id), 0)?
        .first()
        .map(|(_, f)| contributions(&Facts::Outgoing(f)))
        .unwrap_or_default())
}

/// Runs `change` on the incoming document `id` in the caller's transaction and applies to the
/// counters the difference it made to the document's contributions.
pub(crate) fn track_incoming<T>(
    conn: &mut DbConnection,
    id: IncomingId,
    change: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let before = incoming_contributions(conn, id)?;
    let out = change(conn)?;
    let after = incoming_contributions(conn, id)?;
    apply(conn, difference(before, after))?;
    Ok(out)
}

/// As [`track_incoming`], for an outgoing document.
pub(crate) fn track_outgoing<T>(
    conn: &mut DbConnection,
    id: OutgoingId,
    change: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let before = outgoing_contributions(conn, id)?;
    let out = change(conn)?;
    let after = outgoing_contributions(conn, id)?;
    apply(conn, difference(before, after))?;
    Ok(out)
}

/// Counts a document just inserted in the caller's transaction.
pub(crate) fn count_new_incoming(
    conn: &mut DbConnection,
    id: IncomingId,
) -> Result<(), StoreError> {
    let after = incoming_contributions(conn, id)?;
    apply(conn, difference(Vec::new(), after))
}

/// As [`count_new_incoming`], for an outgoing document.
pub(crate) fn count_new_outgoing(
    conn: &mut DbConnection,
    id: OutgoingId,
) -> Result<(), StoreError> {
    let after = outgoing_contributions(conn, id)?;
    apply(conn, difference(Vec::new(), after))
}

/// `after - before`, by (unit, day), without the keys that did not change.
fn difference(before: Vec<Contribution>, after: Vec<Contribution>) -> HashMap<(i64, Day), Counts> {
    let mut change: HashMap<(i64, Day), Counts> = HashMap::new();
    for c in after {
        *change.entry((c.unit, c.day)).or_default() += c.counts;
    }
    for c in before {
        *change.entry((c.unit, c.day)).or_default() += -c.counts;
    }
    change.retain(|_, counts| !counts.is_zero());
    change
}

/// Adds `change` to the daily and the monthly counters.
fn apply(conn: &mut DbConnection, change: HashMap<(i64, Day), Counts>) -> Result<(), StoreError> {
    if change.is_empty() {
        return Ok(());
    }
    write_rows(conn, &counter_rows(change))
}

/// The daily and monthly counter rows that hold `by_day`, without zero rows, in key order
/// (so that concurrent transactions lock the rows they share in the same order).
fn counter_rows(by_day: HashMap<(i64, Day), Counts>) -> Vec<(RowKey, Counts)> {
    let mut rows: HashMap<RowKey, Counts> = HashMap::new();
    for ((unit, day), counts) in by_day {
        *rows.entry(('d', day, unit)).or_default() += counts;
        *rows.entry(('m', day.month_start(), unit)).or_default() += counts;
    }
    let mut rows: Vec<_> = rows.into_iter().filter(|(_, c)| !c.is_zero()).collect();
    rows.sort_by_key(|((grain, day, unit), _)| (*grain, *day, *unit));
    rows
}

/// Adds each row's counts to the stored row with its key, creating it at zero first.
fn write_rows(conn: &mut DbConnection, rows: &[(RowKey, Counts)]) -> Result<(), StoreError> {
    let columns: Vec<&str> = Metric::ALL.iter().map(|m| m.column()).collect();
    let updates: Vec<String> = columns
        .iter()
        .map(|c| format!("{c} = report_counts.{c} + excluded.{c}"))
        .collect();
    for batch in rows.chunks(WRITE_BATCH) {
        // Every value is an integer this module computed (the grain is 'd' or 'm'), written
        // into the statement as digits: nothing from outside reaches the SQL text.
        let values: Vec<String> = batch
            .iter()
            .map(|((grain, day, unit), counts)| {
                let counts: Vec<String> = counts.values().iter().map(i64::to_string).collect();
                format!(
                    "('{grain}', {}, {unit}, {})",
                    day.number(),
                    counts.join(", ")
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO report_counts (grain, period, unit_id, {}) VALUES {} \
             ON CONFLICT (grain, period, unit_id) DO UPDATE SET {}",
            columns.join(", "),
            values.join(", "),
            updates.join(", ")
        );
        per_backend!(&mut *conn, c => diesel::sql_query(&sql).execute(c))?;
    }
    Ok(())
}

/// What every counter row should hold, computed from the documents (reads only), in key
/// order.
fn computed_rows(
    conn: &mut DbConnection,
) -> Result<(Vec<(RowKey, Counts)>, RebuildSummary), StoreError> {
    let mut days: HashMap<(i64, Day), Counts> = HashMap::new();
    let mut summary = RebuildSummary::default();
    let mut add = |c: Contribution| *days.entry((c.unit, c.day)).or_default() += c.counts;
    let mut after = 0;
    loop {
        let page = load_incoming_facts(conn, FactsOf::After(after))?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        summary.incoming += page.len() as u64;
        for (_, facts) in &page {
            contributions(&Facts::Incoming(facts))
                .into_iter()
                .for_each(&mut add);
        }
    }
    after = 0;
    loop {
        let page = load_outgoing_facts(conn, None, after)?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        summary.outgoing += page.len() as u64;
        for (_, facts) in &page {
            contributions(&Facts::Outgoing(facts))
                .into_iter()
                .for_each(&mut add);
        }
    }
    let rows = counter_rows(days);
    summary.rows = rows.len() as u64;
    Ok((rows, summary))
}

/// Recomputes every counter from the documents, in the caller's transaction.
pub(crate) fn rebuild(conn: &mut DbConnection) -> Result<RebuildSummary, StoreError> {
    let (rows, summary) = computed_rows(conn)?;
    diesel::delete(report_counts::table).execute(conn)?;
    write_rows(conn, &rows)?;
    // Every row was just replaced: fresh statistics, or PostgreSQL's planner takes the
    // table for nearly empty and probes the primary key once per unit across each range of
    // days (447 ms instead of 37 ms for 500 units and two weeks of a 300,000-document fill).
    per_backend!(&mut *conn, c => diesel::sql_query("ANALYZE report_counts").execute(c))?;
    Ok(summary)
}

/// What a rebuild read and wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RebuildSummary {
    /// Incoming documents read.
    pub incoming: u64,
    /// Outgoing documents read.
    pub outgoing: u64,
    /// Counter rows written (daily and monthly).
    pub rows: u64,
}

/// Which units and days a report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportScope {
    /// The unit reported on.
    pub unit: UnitId,
    /// Whether the units below it are included, each with its own counts.
    pub subtree: bool,
    /// The first day (Vietnam calendar).
    pub from: NaiveDate,
    /// The last day, included.
    pub to: NaiveDate,
}

/// One unit's counts for a report's period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitCounts {
    /// The unit.
    pub unit: Unit,
    /// What its own documents contributed over the period's days.
    pub period: Counts,
    /// Its own documents open past their deadline at the end of the period's last day.
    pub open_past_deadline: i64,
}

#[derive(QueryableByName)]
#[diesel(table_name = report_counts)]
struct SumRow {
    unit_id: i64,
    incoming_received: i64,
    incoming_paper: i64,
    incoming_processed: i64,
    incoming_returned: i64,
    signatures_valid: i64,
    signatures_untrusted: i64,
    signatures_invalid: i64,
    signatures_unsigned: i64,
    outgoing_issued: i64,
    outgoing_paper: i64,
    outgoing_signed: i64,
    completed_on_time: i64,
    completed_late: i64,
    completed_without_deadline: i64,
    overdue_change: i64,
}

impl SumRow {
    fn counts(&self) -> Counts {
        Counts::from_values([
            self.incoming_received,
            self.incoming_paper,
            self.incoming_processed,
            self.incoming_returned,
            self.signatures_valid,
            self.signatures_untrusted,
            self.signatures_invalid,
            self.signatures_unsigned,
            self.outgoing_issued,
            self.outgoing_paper,
            self.outgoing_signed,
            self.completed_on_time,
            self.completed_late,
            self.completed_without_deadline,
            self.overdue_change,
        ])
    }
}

/// The counters of `units` summed over `period`, by unit.
fn sum_counts(
    conn: &mut DbConnection,
    units: &[i64],
    period: Period,
) -> Result<HashMap<i64, Counts>, StoreError> {
    let split = period.split();
    let mut ranges: Vec<String> = Vec::new();
    if let Some((first, last)) = split.months {
        ranges.push(format!(
            "(grain = 'm' AND period BETWEEN {} AND {})",
            first.number(),
            last.number()
        ));
    }
    for (first, last) in split.days {
        ranges.push(format!(
            "(grain = 'd' AND period BETWEEN {} AND {})",
            first.number(),
            last.number()
        ));
    }
    let mut out = HashMap::new();
    if ranges.is_empty() || units.is_empty() {
        return Ok(out);
    }
    let sums: Vec<String> = Metric::ALL
        .iter()
        .map(|m| format!("CAST(SUM({c}) AS BIGINT) AS {c}", c = m.column()))
        .collect();
    for chunk in units.chunks(WRITE_BATCH) {
        let ids: Vec<String> = chunk.iter().map(i64::to_string).collect();
        // Ids and day numbers are integers, written as digits: no outside text in the SQL.
        let sql = format!(
            "SELECT unit_id, {} FROM report_counts WHERE ({}) AND unit_id IN ({}) \
             GROUP BY unit_id",
            sums.join(", "),
            ranges.join(" OR "),
            ids.join(", ")
        );
        let rows: Vec<SumRow> = per_backend!(&mut *conn, c => diesel::sql_query(&sql).load(c))?;
        for row in rows {
            out.insert(row.unit_id, row.counts());
        }
    }
    Ok(out)
}

impl Database {
    /// The counts of each unit in `scope` (the unit first, then the units below it in path
    /// order when `scope.subtree`), read in one snapshot.
    pub fn report_counts(&self, scope: &ReportScope) -> Result<Vec<UnitCounts>, StoreError> {
        self.snapshot(|conn| {
            let unit = crate::units::load_unit(conn, scope.unit)?;
            let units: Vec<Unit> = if scope.subtree {
                crate::units::units_within(conn, &subtree_pattern(&unit.path))?
            } else {
                vec![unit]
            };
            let ids: Vec<i64> = units.iter().map(|u| u.id.get()).collect();
            let last = Day::of(scope.to);
            let period = sum_counts(
                conn,
                &ids,
                Period {
                    from: Day::of(scope.from),
                    to: last,
                },
            )?;
            let history = sum_counts(conn, &ids, Period::until(last))?;
            Ok(units
                .into_iter()
                .map(|unit| {
                    let id = unit.id.get();
                    UnitCounts {
                        period: period.get(&id).copied().unwrap_or_default(),
                        open_past_deadline: history
                            .get(&id)
                            .map_or(0, |c| c.get(Metric::OverdueChange)),
                        unit,
                    }
                })
                .collect())
        })
    }

    /// Recomputes every ratio counter from the documents, in one transaction.
    pub fn rebuild_report_counts(&self) -> Result<RebuildSummary, StoreError> {
        self.transaction(rebuild)
    }

    /// Where the stored counters differ from what a rebuild from the documents would write:
    /// the differing (grain, period, unit) keys, none when they agree. Reads in one snapshot
    /// and changes nothing.
    pub fn check_report_counts(&self) -> Result<Vec<String>, StoreError> {
        self.snapshot(|conn| {
            let stored = stored_rows(conn)?;
            let (computed, _) = computed_rows(conn)?;
            let computed: HashMap<RowKey, Counts> = computed.into_iter().collect();
            let mut differing: Vec<String> = computed
                .iter()
                .filter(|(key, counts)| stored.get(key) != Some(counts))
                .chain(stored.iter().filter(|(key, _)| !computed.contains_key(key)))
                .map(|(key, _)| describe(key))
                .collect();
            differing.sort();
            differing.dedup();
            Ok(differing)
        })
    }
}

fn describe((grain, day, unit): &RowKey) -> String {
    match grain {
        'm' => format!("unit {unit}, month {}", day.date().format("%Y-%m")),
        _ => format!("unit {unit}, day {}", day.date()),
    }
}

/// Every stored counter row, zero rows left out.
fn stored_rows(conn: &mut DbConnection) -> Result<HashMap<RowKey, Counts>, StoreError> {
    let columns: Vec<&str> = Metric::ALL.iter().map(|m| m.column()).collect();
    let sql = format!(
        "SELECT grain, period, unit_id, {} FROM report_counts",
        columns.join(", ")
    );
    let rows: Vec<StoredRow> = per_backend!(&mut *conn, c => diesel::sql_query(&sql).load(c))?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let grain = if r.grain == "m" { 'm' } else { 'd' };
            let key = (grain, Day::from_number(r.period), r.sums.unit_id);
            (key, r.sums.counts())
        })
        .filter(|(_, counts)| !counts.is_zero())
        .collect())
}

#[derive(QueryableByName)]
#[diesel(table_name = report_counts)]
struct StoredRow {
    grain: String,
    period: i32,
    #[diesel(embed)]
    sums: SumRow,
}
